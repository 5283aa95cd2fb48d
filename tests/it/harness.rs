//! Test harness: the mail stack's settings, per-test mailbox users (so tests run
//! in parallel without sharing an inbox), a config file, the daemon as a child
//! process, SMTP sending and reading delivered mail from the users' Maildirs.

#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

/// The running stack, from `$MAILSTACK_STATE_DIR/mailstack.env` (what up.sh wrote).
pub struct Stack {
    pub env: HashMap<String, String>,
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn stack() -> Stack {
    let dir = std::env::var("MAILSTACK_STATE_DIR").unwrap_or_else(|_| "/tmp/mailstack".into());
    let path = Path::new(&dir).join("mailstack.env");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "the loopback mail stack is not running ({}: {e}); start it with `make test` or deploy/local/up.sh",
            path.display()
        )
    });
    let env = text
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect::<HashMap<_, _>>();
    let s = Stack { env };
    let port = s.get("MAILSTACK_SMTP_PORT");
    std::net::TcpStream::connect(format!("127.0.0.1:{port}"))
        .unwrap_or_else(|e| panic!("mail stack SMTP on port {port} is not answering: {e}"));
    s
}

impl Stack {
    pub fn get(&self, k: &str) -> String {
        self.env
            .get(k)
            .cloned()
            .unwrap_or_else(|| panic!("{k} missing from mailstack.env"))
    }

    pub fn smtp_port(&self) -> u16 {
        self.get("MAILSTACK_SMTP_PORT").parse().expect("port")
    }
}

/// Mailbox users of one test: `<role>-<tag>@example.test`.
#[derive(Debug, Clone)]
pub struct Users {
    pub tag: String,
}

impl Users {
    pub fn create(stack: &Stack) -> Users {
        // add-user.sh edits Postfix's recipient map read-modify-write: one at a time.
        static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let _guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
        let tag = format!("{:08x}", rand::random::<u32>());
        let u = Users { tag };
        for role in ["breach", "staff", "official", "deputy", "dpo"] {
            let out = Command::new(repo().join("deploy/local/add-user.sh"))
                .arg(u.local(role))
                .env("STATE_DIR", stack.get("MAILSTACK_STATE_DIR"))
                .output()
                .expect("run add-user.sh");
            assert!(
                out.status.success(),
                "add-user.sh {} failed: {}",
                u.local(role),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        u
    }

    pub fn local(&self, role: &str) -> String {
        format!("{role}-{}", self.tag)
    }

    pub fn addr(&self, role: &str) -> String {
        format!("{}@example.test", self.local(role))
    }
}

/// Knobs a test may turn in the generated config.
#[derive(Debug, Clone)]
pub struct Knobs {
    pub smtp_port: Option<u16>,
    /// The IMAPS port the daemon connects to (a [`Proxy`] in front of Dovecot).
    pub imap_port: Option<u16>,
    pub retry_base_secs: u64,
    pub retry_max_secs: u64,
    /// `smtp.max_attempts`.
    pub max_attempts: u32,
    pub database_url: Option<String>,
    /// `auth.trust_local_submission`: replies submitted on 127.0.0.1 may command.
    pub trust_local: bool,
    /// `imap.use_idle` and `imap.use_move`.
    pub use_idle: bool,
    pub use_move: bool,
    /// `imap.move_every` (None: the daemon's default).
    pub move_every: Option<usize>,
}

impl Default for Knobs {
    fn default() -> Self {
        Knobs {
            smtp_port: None,
            imap_port: None,
            retry_base_secs: 1,
            retry_max_secs: 2,
            max_attempts: 12,
            database_url: None,
            trust_local: true,
            use_idle: true,
            use_move: true,
            move_every: None,
        }
    }
}

/// A test's own directory, config and database.
pub struct Setup {
    pub stack: Stack,
    pub users: Users,
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    pub db_url: String,
}

pub fn setup(knobs: Knobs) -> Setup {
    let stack = stack();
    let users = Users::create(&stack);
    let dir = tempfile::tempdir().expect("tempdir");
    let db_url = knobs
        .database_url
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}/bw.db", dir.path().display()));
    let u = |r: &str| users.addr(r);
    let cfg = format!(
        r#"
[general]
timezone = "Europe/Stockholm"
case_prefix = "PUI"
internal_domains = ["example.test"]
database_url = "{db_url}"
shutdown_grace_secs = 8

[imap]
host = "127.0.0.1"
port = {imaps}
tls = "implicit"
server_name = "localhost"
ca_file = "{ca}"
username = "{breach}"
password = "{pw}"
idle_reissue_secs = 60
poll_interval_secs = 1
command_timeout_secs = 10
use_idle = {use_idle}
use_move = {use_move}
{move_every}
[smtp]
host = "127.0.0.1"
port = {smtp}
tls = "none"
from = "{breach}"
from_name = "breachwatch"
retry_base_secs = {rb}
retry_max_secs = {rm}
max_attempts = {ma}
timeout_secs = 5

[auth]
trusted_authserv_ids = ["mail.example.test"]
trust_local_submission = {trust}

[routing.default]
committee = {{ name = "Kommunstyrelsen", diarie_prefix = "KS", delegation_point = "1.5" }}
official = {{ name = "Olivia Official", address = "{official}" }}
deputy = {{ name = "Dennis Deputy", address = "{deputy}" }}
dpo = {{ name = "Dora DPO", address = "{dpo}" }}
"#,
        imaps = knobs
            .imap_port
            .map(|p| p.to_string())
            .unwrap_or_else(|| stack.get("MAILSTACK_IMAPS_PORT")),
        ca = stack.get("MAILSTACK_TLS_CA"),
        pw = stack.get("MAILSTACK_PASSWORD"),
        smtp = knobs.smtp_port.unwrap_or(stack.smtp_port()),
        rb = knobs.retry_base_secs,
        rm = knobs.retry_max_secs,
        ma = knobs.max_attempts,
        trust = knobs.trust_local,
        use_idle = knobs.use_idle,
        use_move = knobs.use_move,
        move_every = knobs
            .move_every
            .map(|n| format!("move_every = {n}\n"))
            .unwrap_or_default(),
        breach = u("breach"),
        official = u("official"),
        deputy = u("deputy"),
        dpo = u("dpo"),
    );
    let config = dir.path().join("breachwatch.toml");
    std::fs::write(&config, cfg).expect("write config");
    Setup {
        stack,
        users,
        dir,
        config,
        db_url,
    }
}

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_breachwatch")
}

/// The daemon as a child process.
pub struct Daemon {
    pub child: Child,
    pub log: PathBuf,
}

impl Setup {
    pub fn start(&self) -> Daemon {
        self.start_bin(bin())
    }

    /// [`Setup::start`] with another build of the daemon (the release one).
    pub fn start_bin(&self, bin: &str) -> Daemon {
        let n = std::fs::read_dir(self.dir.path())
            .map(|d| d.count())
            .unwrap_or(0);
        let log = self.dir.path().join(format!("daemon-{n}.log"));
        let f = std::fs::File::create(&log).expect("log file");
        let child = Command::new(bin)
            .args(["run", "--config"])
            .arg(&self.config)
            .env_remove("BREACHWATCH_DATABASE_URL")
            .env_remove("BREACHWATCH_IMAP_CA_FILE")
            .env("BREACHWATCH_LOG", "info,breachwatch=debug,sqlx=warn")
            .stdout(Stdio::null())
            .stderr(f)
            .spawn()
            .expect("start breachwatch run");
        Daemon { child, log }
    }

    /// Runs a CLI subcommand against this setup's config; returns stdout.
    pub fn cli(&self, args: &[&str]) -> String {
        let out = Command::new(bin())
            .args(args)
            .arg("--config")
            .arg(&self.config)
            .env_remove("BREACHWATCH_DATABASE_URL")
            .env_remove("BREACHWATCH_IMAP_CA_FILE")
            .output()
            .expect("run breachwatch");
        assert!(
            out.status.success(),
            "breachwatch {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn cases(&self) -> Vec<serde_json::Value> {
        serde_json::from_str(&self.cli(&["cases", "list", "--json"])).expect("cases json")
    }

    pub fn case(&self, r: &str) -> serde_json::Value {
        serde_json::from_str(&self.cli(&["cases", "show", r, "--json"])).expect("case json")
    }

    /// Every message in a user's folder (`""` for INBOX, `"Processed"`, …).
    pub fn mails(&self, role: &str, folder: &str) -> Vec<Mail> {
        let mut root = PathBuf::from(self.stack.get("MAILSTACK_MAIL_DIR"))
            .join("example.test")
            .join(self.users.local(role))
            .join("Maildir");
        if !folder.is_empty() {
            root = root.join(format!(".{folder}"));
        }
        let mut out = Vec::new();
        for sub in ["new", "cur"] {
            let Ok(rd) = std::fs::read_dir(root.join(sub)) else {
                continue;
            };
            for e in rd.flatten() {
                if let Ok(raw) = std::fs::read(e.path()) {
                    out.push(Mail::new(raw));
                }
            }
        }
        out
    }

    pub fn send(&self, from_role_or_addr: &str, raw: &[u8]) {
        let from = if from_role_or_addr.contains('@') {
            from_role_or_addr.to_string()
        } else {
            self.users.addr(from_role_or_addr)
        };
        smtp_send(
            self.stack.smtp_port(),
            &from,
            &self.users.addr("breach"),
            raw,
        );
    }
}

impl Daemon {
    /// SIGTERM, then waits; returns how long the stop took.
    pub fn terminate(mut self) -> Duration {
        let t0 = Instant::now();
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        loop {
            if let Ok(Some(_)) = self.child.try_wait() {
                return t0.elapsed();
            }
            if t0.elapsed() > Duration::from_secs(30) {
                let _ = self.child.kill();
                let _ = self.child.wait();
                return t0.elapsed();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A delivered mail with the headers tests look at.
#[derive(Debug, Clone)]
pub struct Mail {
    pub raw: Vec<u8>,
    pub subject: String,
    pub message_id: String,
    pub to: String,
    pub cc: String,
    pub text: String,
}

impl Mail {
    pub fn new(raw: Vec<u8>) -> Mail {
        let m = mail_parser::MessageParser::default().parse(&raw);
        let (subject, message_id, to, cc, text) = match &m {
            Some(m) => (
                m.subject().unwrap_or_default().to_string(),
                m.message_id().unwrap_or_default().to_string(),
                addrs(m.to()),
                addrs(m.cc()),
                m.body_text(0).map(|c| c.into_owned()).unwrap_or_default(),
            ),
            None => Default::default(),
        };
        Mail {
            raw,
            subject,
            message_id,
            to,
            cc,
            text,
        }
    }

    pub fn header(&self, name: &str) -> Option<String> {
        let m = mail_parser::MessageParser::default().parse(&self.raw)?;
        m.header_raw(name).map(|s| s.trim().to_string())
    }
}

fn addrs(a: Option<&mail_parser::Address<'_>>) -> String {
    a.map(|a| {
        a.iter()
            .filter_map(|x| x.address())
            .collect::<Vec<_>>()
            .join(",")
    })
    .unwrap_or_default()
}

/// Plain SMTP to the stack, as a mail client would.
pub fn smtp_send(port: u16, from: &str, to: &str, raw: &[u8]) {
    use std::io::{BufRead, BufReader, Write};
    let s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect SMTP");
    // Generous: a loaded CI machine runs many tests against one Postfix.
    s.set_read_timeout(Some(Duration::from_secs(60))).ok();
    let mut r = BufReader::new(s.try_clone().expect("clone"));
    let mut w = s;
    let mut line = String::new();
    let mut expect = |r: &mut BufReader<std::net::TcpStream>, code: &str| {
        loop {
            line.clear();
            r.read_line(&mut line).expect("SMTP reply");
            if line.len() < 4 || &line[3..4] != "-" {
                break;
            }
        }
        assert!(line.starts_with(code), "SMTP expected {code}, got {line}");
    };
    expect(&mut r, "220");
    write!(w, "EHLO test\r\n").unwrap();
    expect(&mut r, "250");
    write!(w, "MAIL FROM:<{from}>\r\n").unwrap();
    expect(&mut r, "250");
    write!(w, "RCPT TO:<{to}>\r\n").unwrap();
    expect(&mut r, "250");
    write!(w, "DATA\r\n").unwrap();
    expect(&mut r, "354");
    let text = String::from_utf8_lossy(raw).replace("\r\n", "\n");
    for l in text.lines() {
        let l = if l.starts_with('.') {
            format!(".{l}")
        } else {
            l.to_string()
        };
        write!(w, "{l}\r\n").unwrap();
    }
    write!(w, ".\r\n").unwrap();
    expect(&mut r, "250");
    write!(w, "QUIT\r\n").unwrap();
}

/// Polls `f` until it returns Some, or panics with `what` after `secs`.
pub fn wait_for<T>(secs: u64, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let t0 = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        if t0.elapsed() > Duration::from_secs(secs) {
            panic!("timed out after {secs}s waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// "den 20 november 2026 09:24" in Europe/Stockholm, as Outlook (sv) writes it.
pub fn sv_outlook_date(t: DateTime<Utc>) -> String {
    let l = t.with_timezone(&chrono_tz::Europe::Stockholm);
    format!(
        "den {} {}",
        breachwatch::core::documents::words::date_long(l.date_naive()),
        l.format("%H:%M")
    )
}

/// A supplier's notice forwarded by staff with Outlook (Swedish), the supplier's
/// mail having reached the municipality at `original`.
pub fn outlook_forward(
    setup: &Setup,
    original: DateTime<Utc>,
    subject: &str,
    now: DateTime<Utc>,
) -> Vec<u8> {
    outlook_forward_from(setup, original, subject, now, "provdata.example", "ProvWeb")
}

/// Like [`outlook_forward`], from another supplier about another system.
pub fn outlook_forward_from(
    setup: &Setup,
    original: DateTime<Utc>,
    subject: &str,
    now: DateTime<Utc>,
    supplier_domain: &str,
    system: &str,
) -> Vec<u8> {
    let id = format!("<fwd-{}@staff.example.test>", rand::random::<u64>());
    format!(
        "From: Sam Staff <{staff}>\r\n\
To: {breach}\r\n\
Subject: VB: {subject}\r\n\
Date: {date}\r\n\
Message-ID: {id}\r\n\
MIME-Version: 1.0\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
Content-Transfer-Encoding: 8bit\r\n\
\r\n\
Hej! Det här låg i funktionsbrevlådan, ingen läste det förrän nu.\r\n\
\r\n\
Sam Staff\r\n\
\r\n\
________________________________\r\n\
Från: Kundservice <noreply@{supplier_domain}>\r\n\
Skickat: {orig}\r\n\
Till: IT-support <it-support@example.test>\r\n\
Ämne: {subject}\r\n\
\r\n\
Till våra kunder\r\n\
\r\n\
Provdata Sverige AB har drabbats av ett dataintrång i driftmiljön där tjänsten {system} körs.\r\n\
Intrånget upptäcktes och angriparens åtkomst är stängd. Databasen innehåller patienters namn,\r\n\
personnummer och provsvar.\r\n\
\r\n\
Med vänliga hälsningar\r\n\
Provdata Sverige AB\r\n",
        staff = setup.users.addr("staff"),
        breach = setup.users.addr("breach"),
        date = now.to_rfc2822(),
        orig = sv_outlook_date(original),
        supplier_domain = supplier_domain,
        system = system,
    )
    .into_bytes()
}

impl Setup {
    /// A reply (or any mail) to the shared mailbox from a role, optionally in a
    /// thread; returns its Message-ID (without brackets).
    pub fn reply(
        &self,
        role: &str,
        in_reply_to: Option<&str>,
        subject: &str,
        body: &str,
    ) -> String {
        let id = format!("r-{}@example.test", rand::random::<u64>());
        let thread = in_reply_to
            .map(|p| format!("In-Reply-To: <{p}>\r\nReferences: <{p}>\r\n"))
            .unwrap_or_default();
        let raw = format!(
            "From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nDate: {date}\r\nMessage-ID: <{id}>\r\n{thread}\
MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{body}\r\n",
            from = self.users.addr(role),
            to = self.users.addr("breach"),
            date = Utc::now().to_rfc2822(),
        );
        self.send(role, raw.as_bytes());
        id
    }

    /// The official answers `parent` (a breachwatch mail) with `text`; waits for
    /// the timeline event `kind` it causes and returns it.
    pub fn command(
        &self,
        case_ref: &str,
        parent: &Mail,
        text: &str,
        kind: &str,
    ) -> serde_json::Value {
        let n = self.events(case_ref).len();
        self.reply(
            "official",
            Some(&parent.message_id),
            &format!("SV: {}", parent.subject),
            text,
        );
        self.wait_event(case_ref, n, kind)
    }

    /// Staff forward (Outlook, Swedish) a supplier's notice that reached the
    /// municipality `hours_ago` hours ago.
    pub fn forward(&self, hours_ago: i64, subject: &str) {
        let now = Utc::now();
        self.send(
            "staff",
            &outlook_forward(self, now - chrono::Duration::hours(hours_ago), subject, now),
        );
    }

    /// Timeline events of a case, as `cases show --json` gives them.
    pub fn events(&self, case_ref: &str) -> Vec<serde_json::Value> {
        self.case(case_ref)["timeline"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// Waits until the case's timeline has an event of `kind` beyond the first
    /// `seen` events; returns it.
    pub fn wait_event(&self, case_ref: &str, seen: usize, kind: &str) -> serde_json::Value {
        wait_for(20, &format!("event {kind} on {case_ref}"), || {
            self.events(case_ref)
                .into_iter()
                .skip(seen)
                .find(|e| e["kind"] == kind)
        })
    }
}

/// Runs `f` with the URL of a fresh PostgreSQL database on the server
/// `BREACHWATCH_TEST_PG` names (a loud failure when there is none), then
/// drops the database.
pub async fn with_pg<F, Fut>(f: F)
where
    F: FnOnce(String) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    use sqlx::Connection;
    let admin = std::env::var("BREACHWATCH_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let mut c = sqlx::PgConnection::connect(&admin)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL at {admin} is required for this test: {e}"));
    let db = format!("bw_test_{:08x}", rand::random::<u32>());
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {db}")))
        .execute(&mut c)
        .await
        .unwrap();
    let base = admin
        .rsplit_once('/')
        .map(|(b, _)| b)
        .unwrap_or(&admin)
        .to_string();
    f(format!("{base}/{db}")).await;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE {db} WITH (FORCE)"
    )))
    .execute(&mut c)
    .await
    .unwrap();
}

/// A TCP proxy a test switches off and on in front of one of the real
/// servers (Postfix, Dovecot, PostgreSQL): an outage of that server for the
/// daemon under test only, while other tests keep using it. Off, it cuts the
/// connections it carries and closes new ones at once (as a server that
/// crashed and restarts). What clients sent through it is recorded.
pub struct Proxy {
    pub port: u16,
    up: std::sync::Arc<std::sync::atomic::AtomicBool>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    open: std::sync::Arc<std::sync::Mutex<Vec<std::net::TcpStream>>>,
    sent: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
    /// Connections accepted while up.
    pub accepted: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    /// At most this many connections are accepted in all; later ones are
    /// closed at once (a server that allows one session per user).
    pub accept_at_most: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl Proxy {
    /// A proxy on a free loopback port to `127.0.0.1:to`, up.
    pub fn start(to: u16) -> Proxy {
        use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
        use std::sync::{Arc, Mutex};
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        l.set_nonblocking(true).expect("nonblocking proxy");
        let port = l.local_addr().unwrap().port();
        let up = Arc::new(AtomicBool::new(true));
        let stop = Arc::new(AtomicBool::new(false));
        let open: Arc<Mutex<Vec<std::net::TcpStream>>> = Arc::default();
        let sent: Arc<Mutex<Vec<u8>>> = Arc::default();
        let accepted = Arc::new(AtomicUsize::new(0));
        let accept_at_most = Arc::new(AtomicUsize::new(usize::MAX));
        let (up2, stop2, open2, sent2, acc2, most2) = (
            up.clone(),
            stop.clone(),
            open.clone(),
            sent.clone(),
            accepted.clone(),
            accept_at_most.clone(),
        );
        std::thread::spawn(move || {
            while !stop2.load(Ordering::Relaxed) {
                let c = match l.accept() {
                    Ok((c, _)) => c,
                    Err(_) => {
                        std::thread::sleep(Duration::from_millis(10));
                        continue;
                    }
                };
                let _ = c.set_nonblocking(false);
                if !up2.load(Ordering::Relaxed)
                    || acc2.load(Ordering::Relaxed) >= most2.load(Ordering::Relaxed)
                {
                    drop(c);
                    continue;
                }
                let Ok(server) = std::net::TcpStream::connect(("127.0.0.1", to)) else {
                    continue;
                };
                acc2.fetch_add(1, Ordering::Relaxed);
                let _ = c.set_nodelay(true);
                let _ = server.set_nodelay(true);
                {
                    let mut o = open2.lock().unwrap();
                    o.push(c.try_clone().unwrap());
                    o.push(server.try_clone().unwrap());
                }
                let pipe = |mut from: std::net::TcpStream,
                            mut to: std::net::TcpStream,
                            record: Option<Arc<Mutex<Vec<u8>>>>| {
                    std::thread::spawn(move || {
                        use std::io::{Read, Write};
                        let mut buf = [0u8; 16 * 1024];
                        loop {
                            match from.read(&mut buf) {
                                Ok(0) | Err(_) => break,
                                Ok(n) => {
                                    if let Some(r) = &record {
                                        r.lock().unwrap().extend_from_slice(&buf[..n]);
                                    }
                                    if to.write_all(&buf[..n]).is_err() {
                                        break;
                                    }
                                }
                            }
                        }
                        let _ = to.shutdown(std::net::Shutdown::Both);
                        let _ = from.shutdown(std::net::Shutdown::Both);
                    });
                };
                pipe(
                    c.try_clone().unwrap(),
                    server.try_clone().unwrap(),
                    Some(sent2.clone()),
                );
                pipe(server, c, None);
            }
        });
        Proxy {
            port,
            up,
            stop,
            open,
            sent,
            accepted,
            accept_at_most,
        }
    }

    /// Switches the server off (cutting what the proxy carries) or on.
    pub fn set_up(&self, on: bool) {
        self.up.store(on, std::sync::atomic::Ordering::Relaxed);
        if !on {
            for c in self.open.lock().unwrap().drain(..) {
                let _ = c.shutdown(std::net::Shutdown::Both);
            }
        }
    }

    /// What clients sent through the proxy since the last call.
    pub fn take_sent(&self) -> Vec<u8> {
        std::mem::take(&mut *self.sent.lock().unwrap())
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.set_up(false);
    }
}
