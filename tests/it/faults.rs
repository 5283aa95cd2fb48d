//! The fault suite: replicas sharing one database, crashes, a restarted
//! database, a read-only database and a stop during a drain, against the real
//! Dovecot, Postfix, SQLite and PostgreSQL. What must hold: exactly one case
//! per notice, every message recorded once, every mail delivered (duplicates
//! counted, at most 1 %), and the daemon recovering by itself.
//!
//! Bounded for CI (the whole file in a few minutes; the kill drains use 100
//! notices and 8 kills, the soak's density of kills). The soak
//! (300 notices, 25 kills) runs with `BREACHWATCH_SOAK=1`; `BREACHWATCH_SOAK_NOTICES`
//! and `BREACHWATCH_SOAK_KILLS` set other sizes. Each drain test prints one
//! line `FAULT|…` with its figures (`cargo test --test it faults -- --nocapture`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;

use breachwatch::config::Config;
use breachwatch::store::{Replica, Store};
use breachwatch::workers::clock::fire_due;
use breachwatch::workers::digest::send_digest;
use breachwatch::workers::ingest::{Handled, Pipeline};

use crate::harness::*;

fn config(db_url: &str) -> Config {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config/local.toml")).unwrap();
    Config::from_toml(&text, |k| match k {
        "BREACHWATCH_DATABASE_URL" => Some(db_url.to_string()),
        "BREACHWATCH_IMAP_CA_FILE" => {
            Some(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml").to_string())
        }
        _ => None,
    })
    .unwrap()
}

fn notice(i: usize) -> Vec<u8> {
    format!(
        "From: Staff <staff@example.test>\r\nTo: breach@example.test\r\nSubject: VB: Intrång {i}\r\n\
Date: Mon, 21 Jun 2021 07:09:14 +0200\r\nMessage-ID: <replica-{i}@x>\r\n\r\n\
Leverantör{i} AB har haft ett dataintrång i System{i}. Namn och personnummer berörs.\r\n"
    )
    .into_bytes()
}

/// Two replicas (two stores, two pipelines) on one database with `n` cases.
async fn two_replicas(url: &str, n: usize) -> (Pipeline, Pipeline) {
    let a = Store::connect(url).await.expect("replica A");
    let b = Store::connect(url).await.expect("replica B");
    let cfg = Arc::new(config(url));
    let pa = Pipeline::new(cfg.clone(), a);
    let pb = Pipeline::new(cfg, b);
    let now: chrono::DateTime<Utc> = "2021-06-21T05:30:00Z".parse().unwrap();
    for i in 0..n {
        let h = pa.handle(&notice(i), None, None, now).await.unwrap();
        assert!(matches!(h, Handled::Opened(_)), "{h:?}");
    }
    (pa, pb)
}

/// Outbox rows are handed out once across replicas and parallel senders;
/// reminders and the digest fire once per instant whichever replica gets
/// there first.
async fn once_across_replicas(url: &str) {
    let (pa, pb) = two_replicas(url, 6).await;
    let stores = [pa.store.clone(), pb.store.clone()];
    let now: chrono::DateTime<Utc> = "2021-06-21T05:31:00Z".parse().unwrap();
    // Eight senders, four per replica, claim until nothing is due.
    let mut tasks = Vec::new();
    for k in 0..8 {
        let s = stores[k % 2].clone();
        tasks.push(tokio::spawn(async move {
            let mut got = Vec::new();
            while let Some(r) = s
                .claim_outbox_by(now, chrono::Duration::seconds(600), k as i64 + 1)
                .await
                .unwrap()
            {
                got.push(r.id);
            }
            got
        }));
    }
    let mut ids = Vec::new();
    for t in tasks {
        ids.extend(t.await.unwrap());
    }
    let total = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), total, "a row was claimed twice");
    assert_eq!(total, 12, "an opening and an acknowledgement per case");

    // Both replicas' clocks fire at the first reminder's instant at once.
    let plan = pa.cfg.clock.clone();
    let later: chrono::DateTime<Utc> = "2021-06-22T06:00:00Z".parse().unwrap();
    let (fa, fb) = tokio::join!(
        fire_due(&pa.store, &pa.sender, &plan, later),
        fire_due(&pb.store, &pb.sender, &plan, later)
    );
    assert_eq!(fa.unwrap() + fb.unwrap(), 6, "one reminder per case");
    for c in pa.store.list_cases().await.unwrap() {
        let n = pa
            .store
            .case_events(c.id)
            .await
            .unwrap()
            .iter()
            .filter(|e| e.kind == "reminder")
            .count();
        assert_eq!(n, 1, "{}: one reminder event", c.case_ref);
        assert_eq!(c.reminders_sent, 1);
    }

    // Both replicas' digests for the same scheduled instant: one is sent.
    let run_at: chrono::DateTime<Utc> = "2021-06-22T05:30:00Z".parse().unwrap();
    let (da, db) = tokio::join!(
        send_digest(&pa.store, &pa.sender, &pa.cfg, run_at, later),
        send_digest(&pb.store, &pb.sender, &pb.cfg, run_at, later)
    );
    let (da, db) = (da.unwrap(), db.unwrap());
    assert!(da ^ db, "exactly one replica sends the digest: {da} {db}");
    // The next instant is another digest.
    let next = run_at + chrono::Duration::days(1);
    assert!(send_digest(&pb.store, &pb.sender, &pb.cfg, next, later)
        .await
        .unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replicas_on_postgres_claim_remind_and_digest_once() {
    with_pg(|url| async move { once_across_replicas(&url).await }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replicas_on_sqlite_claim_remind_and_digest_once() {
    let dir = tempfile::tempdir().unwrap();
    once_across_replicas(&format!("sqlite://{}/bw.db", dir.path().display())).await;
}

/// Ends the database sessions of this database that hold a breachwatch
/// advisory lock (the replica's presence and the mailbox lease), as a kill -9
/// of that replica or a cut network would.
async fn cut_lease_sessions(url: &str) -> u64 {
    use sqlx::Connection;
    let mut c = sqlx::PgConnection::connect(url).await.unwrap();
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(pg_terminate_backend(pid)) FROM (SELECT DISTINCT pid FROM pg_locks \
         WHERE locktype = 'advisory' AND classid::bigint IN (1651965953, 1651965954) \
         AND database = (SELECT oid FROM pg_database WHERE datname = current_database())) s",
    )
    .fetch_one(&mut c)
    .await
    .unwrap();
    n as u64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_mailbox_lease_passes_to_a_standby_and_a_dead_replicas_mail_is_due_at_once() {
    with_pg(|url| async move {
        let (pa, pb) = two_replicas(&url, 2).await;
        let a = Replica::new(&pa.store);
        let b = Replica::new(&pb.store);
        a.join().await.unwrap();
        b.join().await.unwrap();
        assert!(a.try_lead("imap/breach/INBOX").await.unwrap());
        assert!(!b.try_lead("imap/breach/INBOX").await.unwrap());
        // Another mailbox is another lease.
        assert!(b.try_lead("imap/other/INBOX").await.unwrap());
        assert!(a.still_leading().await);
        b.resign().await;
        b.join().await.unwrap();

        // A is sending a row, B another one.
        let now = Utc::now();
        let lease = chrono::Duration::seconds(600);
        let ra = pa
            .store
            .claim_outbox_by(now, lease, a.id)
            .await
            .unwrap()
            .unwrap();
        let rb = pb
            .store
            .claim_outbox_by(now, lease, b.id)
            .await
            .unwrap()
            .unwrap();
        // Nobody is gone: nothing to release.
        assert_eq!(b.release_dead_claims(now).await.unwrap(), 0);

        // A's session ends (kill -9): B takes the mailbox at its next try.
        let t0 = Instant::now();
        assert!(cut_lease_sessions(&url).await >= 1);
        assert!(!a.still_leading().await, "A sees that it lost the lease");
        // The cut took B's session too; B opens a new one and leads.
        let took = loop {
            if b.try_lead("imap/breach/INBOX").await.unwrap_or(false) {
                break t0.elapsed();
            }
            assert!(
                t0.elapsed() < Duration::from_secs(10),
                "no takeover in 10 s"
            );
            tokio::time::sleep(breachwatch::store::LEASE_CHECK).await;
        };
        // A's row is due again at once; B's (B is alive again) is not.
        assert_eq!(b.release_dead_claims(Utc::now()).await.unwrap(), 1);
        // A, alive after all (only its session was cut), rejoins as a standby.
        assert!(
            !a.try_lead("imap/breach/INBOX").await.unwrap(),
            "A stands by now"
        );
        let mut due = Vec::new();
        while let Some(r) = pb
            .store
            .claim_outbox_by(Utc::now(), lease, b.id)
            .await
            .unwrap()
        {
            due.push(r);
        }
        let again = due.iter().find(|r| r.id == ra.id).expect("A's row is due");
        assert_eq!(again.attempts, 2, "the resend counts as an attempt");
        assert!(due.iter().all(|r| r.id != rb.id), "B's row stays B's");
        println!("FAULT|lease takeover (store level)|postgres|took {took:?}");
    })
    .await;
}

/// A replica that resigns and joins again at once opens a new session while
/// the old one's server process may still hold its presence lock. It waits
/// for that lock instead of going on without it: otherwise its claimed rows
/// look dead and another replica sends them again (CI of 1c7c4be saw that
/// race in the lease test above). Here another session holds the lock, as
/// the exiting one would, and lets it go after 300 ms.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejoining_replica_takes_its_presence_once_the_old_session_lets_go() {
    with_pg(|url| async move {
        use sqlx::Connection;
        let (pa, _pb) = two_replicas(&url, 1).await;
        let a = Replica::new(&pa.store);
        let mut old = sqlx::PgConnection::connect(&url).await.unwrap();
        // The presence key: `store::lease`'s REPLICA_CLASS and the id.
        let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1, $2)")
            .bind(0x6277_0002_i32)
            .bind(a.id as i32)
            .fetch_one(&mut old)
            .await
            .unwrap();
        assert!(got);
        let letting_go = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            old.close().await.unwrap();
        });
        let t0 = Instant::now();
        a.join().await.unwrap();
        let waited = t0.elapsed();
        letting_go.await.unwrap();
        assert!(waited >= Duration::from_millis(250), "{waited:?}");
        // A claims a row; nobody is gone, so nothing is released.
        let now = Utc::now();
        let r = pa
            .store
            .claim_outbox_by(now, chrono::Duration::seconds(600), a.id)
            .await
            .unwrap();
        assert!(r.is_some(), "the acknowledgement is due");
        assert_eq!(a.release_dead_claims(now).await.unwrap(), 0);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_daemon_on_a_sqlite_file_stands_by() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/bw.db", dir.path().display());
    let a = Replica::new(&Store::connect(&url).await.unwrap());
    let b = Replica::new(&Store::connect(&url).await.unwrap());
    assert!(a.try_lead("m").await.unwrap());
    assert!(!b.try_lead("m").await.unwrap());
    a.resign().await;
    assert!(b.try_lead("m").await.unwrap());
}

// ---------------------------------------------------------------------------
// The daemon under faults.

/// A fresh PostgreSQL database on the test server, for a synchronous test;
/// dropped when the guard goes.
pub struct PgDb {
    pub url: String,
    admin: String,
    name: String,
}

impl PgDb {
    pub fn create() -> PgDb {
        let admin = std::env::var("BREACHWATCH_TEST_PG")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        PgDb::create_on(&admin)
    }

    pub fn create_on(admin: &str) -> PgDb {
        let name = format!("bw_fault_{:08x}", rand::random::<u32>());
        psql(admin, &format!("CREATE DATABASE {name}"));
        let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(admin);
        PgDb {
            url: format!("{base}/{name}"),
            admin: admin.to_string(),
            name,
        }
    }
}

impl Drop for PgDb {
    fn drop(&mut self) {
        let _ = std::process::Command::new("psql")
            .arg(&self.admin)
            .args([
                "-Atqc",
                &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
            ])
            .output();
    }
}

pub fn psql(url: &str, sql: &str) -> String {
    let out = std::process::Command::new("psql")
        .arg(url)
        .args(["-Atqc", sql])
        .output()
        .expect("psql");
    assert!(
        out.status.success(),
        "psql {sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// How many duplicate mails `kills` kills during a drain of `mails` may
/// cost. SMTP delivery is at least once (RFC 1047): a kill after the end of
/// a mail's DATA and before the server's 250 reaches the sent journal (on
/// PostgreSQL: the row's mark) resends that mail, so a kill costs at most
/// one mail per sender in flight (`smtp.senders`, 4), and mail the server
/// took and the journal holds costs nothing. In the short CI run 8 kills
/// fall in a drain of about 5 s where the senders are always busy: measured
/// 0-5 duplicates of 200 (mean 0.6-1.1 per run, session 18), over the 2 %
/// (4) once in CI. So the CI run allows one per kill or 2 %, whichever is
/// more; the soak keeps the 1 % of all mails. These drains cannot
/// tell a broken sent journal from that window (with the journal switched
/// off one run cost 8 of 200, session 19): the journal has its own test,
/// `store_story::a_crash_between_the_250_and_the_mark_does_not_resend_on_sqlite`.
fn kill_duplicate_limit(mails: usize, kills: usize) -> usize {
    let by_rate = duplicate_limit_pct() * mails / 100;
    if std::env::var("BREACHWATCH_SOAK").is_ok_and(|v| v == "1") {
        by_rate
    } else {
        by_rate.max(kills)
    }
}

/// How many duplicate mails in a hundred a drain may cost: 1 %
/// in the soak (300 notices, 25 kills); 2 % in the short CI run, where 100
/// notices drain in about 5 s and one kill in a busy second can cost two
/// mails (measured 0–3 of 200 after batched intake; before the
/// `TCP_NODELAY` fix the same drains cost 2–7 of 80).
fn duplicate_limit_pct() -> usize {
    if std::env::var("BREACHWATCH_SOAK").is_ok_and(|v| v == "1") {
        1
    } else {
        2
    }
}

/// The sizes of a drain: `(notices, kills)`.
fn soak(ci: (usize, usize)) -> (usize, usize) {
    let var = |k: &str| std::env::var(k).ok().and_then(|v| v.parse().ok());
    if std::env::var("BREACHWATCH_SOAK").is_ok_and(|v| v == "1") {
        (
            var("BREACHWATCH_SOAK_NOTICES").unwrap_or(300),
            var("BREACHWATCH_SOAK_KILLS").unwrap_or(25),
        )
    } else {
        ci
    }
}

/// `m` forwarded notices of different suppliers, straight into the shared
/// mailbox's Maildir (as Dovecot's LMTP would put them; SMTP for hundreds
/// would only measure Postfix).
fn fill_inbox(s: &Setup, m: usize) {
    let now = Utc::now();
    let dir = std::path::PathBuf::from(s.stack.get("MAILSTACK_MAIL_DIR"))
        .join("example.test")
        .join(s.users.local("breach"))
        .join("Maildir");
    let tmp = dir.join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    std::fs::create_dir_all(dir.join("new")).unwrap();
    for i in 0..m {
        let raw = outlook_forward_from(
            s,
            now - chrono::Duration::hours(1 + (i as i64 % 60)),
            &format!("Incident {i}"),
            now,
            &format!("lev{i}.example"),
            &format!("System{i}"),
        );
        let name = format!("{}.fault{i}.{}", now.timestamp(), s.users.tag);
        std::fs::write(tmp.join(&name), &raw).unwrap();
        std::fs::rename(tmp.join(&name), dir.join("new").join(&name)).unwrap();
    }
    // The Maildir belongs to the mail user, who owns the stack's mail
    // directory (up.sh); so does the domain's directory, which this may
    // have made (no mail delivered yet on a fresh stack).
    let user = dir.parent().unwrap();
    let domain = user.parent().unwrap();
    let owner = std::fs::metadata(domain.parent().unwrap())
        .map(|m| {
            use std::os::unix::fs::MetadataExt;
            (m.uid(), m.gid())
        })
        .unwrap();
    for (args, path) in [(&["-R"][..], user), (&[][..], domain)] {
        let status = std::process::Command::new("chown")
            .args(args)
            .arg(format!("{}:{}", owner.0, owner.1))
            .arg(path)
            .status()
            .expect("chown runs");
        assert!(status.success(), "chown {}", path.display());
    }
}

/// What the drain left: cases, messages recorded, and for acknowledgements
/// and opening notices how many were delivered beyond one per case.
#[derive(Debug)]
struct Tally {
    cases: usize,
    acks: usize,
    openings: usize,
    ack_ids: usize,
    opening_ids: usize,
}

impl Tally {
    fn duplicates(&self) -> usize {
        (self.acks - self.ack_ids) + (self.openings - self.opening_ids)
    }
}

fn tally(s: &Setup) -> Tally {
    let count = |role: &str, what: &str| {
        let mails: Vec<Mail> = s
            .mails(role, "")
            .into_iter()
            .filter(|m| m.subject.contains(what))
            .collect();
        let mut ids: Vec<String> = mails.iter().map(|m| m.message_id.clone()).collect();
        ids.sort();
        ids.dedup();
        (mails.len(), ids.len())
    };
    let (acks, ack_ids) = count("staff", "Mottaget");
    let (openings, opening_ids) = count("official", "Ny personuppgiftsincident");
    Tally {
        cases: s.cases().len(),
        acks,
        openings,
        ack_ids,
        opening_ids,
    }
}

/// Waits until every notice has a case and both its mails were delivered.
fn wait_drained(s: &Setup, m: usize, secs: u64, log: impl Fn() -> String) -> Tally {
    let t0 = Instant::now();
    loop {
        let t = tally(s);
        if t.cases >= m && t.ack_ids >= m && t.opening_ids >= m {
            return t;
        }
        if t0.elapsed() > Duration::from_secs(secs) {
            panic!("not drained after {secs}s: {t:?}\nlog:\n{}", log());
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// Every notice recorded once: one message row per notice, all moved out of
/// the INBOX.
fn assert_recorded_once(s: &Setup, m: usize) {
    let cases = s.cases();
    assert_eq!(cases.len(), m, "exactly one case per notice");
    let msgs: i64 = cases.iter().map(|c| c["messages"].as_i64().unwrap()).sum();
    assert_eq!(msgs as usize, m, "every message recorded once");
    wait_for(60, "every notice out of the INBOX", || {
        (s.mails("breach", "").is_empty() && s.mails("breach", "Processed").len() == m)
            .then_some(())
    });
}

/// What the replica holding the mailbox lease logs when it takes it.
const LEADS: &str = "this replica watches the mailbox";

/// The faults' daemons move every batch of a drain on the mover's second
/// session (`imap.move_every` below the batch), so a kill, an outage or a
/// restart mid-drain also finds sets there, handed off and not yet moved.
fn fast_knobs(db: Option<String>) -> Knobs {
    Knobs {
        database_url: db,
        move_every: Some(10),
        ..Knobs::default()
    }
}

/// Kills a daemon (or the leader of two) with SIGKILL at `kills` random
/// moments while `m` notices drain; returns the figures.
fn kill_during_drain(s: &Setup, m: usize, kills: usize, replicas: usize) -> (Tally, Duration) {
    if let Ok(n) = std::env::var("BREACHWATCH_FAULT_SENDERS") {
        let cfg = std::fs::read_to_string(&s.config).unwrap().replace(
            "timeout_secs = 5\n",
            &format!("timeout_secs = 5\nsenders = {n}\n"),
        );
        std::fs::write(&s.config, cfg).unwrap();
    }
    fill_inbox(s, m);
    let t0 = Instant::now();
    let mut daemons: Vec<Daemon> = (0..replicas).map(|_| s.start()).collect();
    let mut done_kills = 0;
    let mut max_gap = Duration::ZERO;
    let mut max_takeover = Duration::ZERO;
    while done_kills < kills {
        // A random moment while work remains.
        std::thread::sleep(Duration::from_millis(rand::random_range(300..1500)));
        let t = tally(s);
        if t.cases >= m && t.ack_ids >= m && t.opening_ids >= m {
            break;
        }
        // Kill the replica that holds the mailbox (with one replica: it).
        let leader = daemons
            .iter()
            .position(|d| d.log_text().contains(LEADS))
            .unwrap_or(0);
        let d = daemons.remove(leader);
        let cases_before = t.cases;
        let leads = |ds: &[Daemon]| -> usize {
            ds.iter().map(|d| d.log_text().matches(LEADS).count()).sum()
        };
        let leads_before = leads(&daemons);
        d.kill9();
        let k0 = Instant::now();
        done_kills += 1;
        daemons.push(s.start());
        // With replicas: the takeover (a surviving or restarted replica says it
        // watches the mailbox), and how long until the next case appears (the
        // takeover plus an IMAP login and the next message under load).
        if replicas > 1 && cases_before < m {
            while leads(&daemons) == leads_before && k0.elapsed() < Duration::from_secs(20) {
                std::thread::sleep(Duration::from_millis(50));
            }
            max_takeover = max_takeover.max(k0.elapsed());
            while tally(s).cases == cases_before && k0.elapsed() < Duration::from_secs(40) {
                std::thread::sleep(Duration::from_millis(100));
            }
            max_gap = max_gap.max(k0.elapsed());
        }
    }
    let log = || {
        daemons
            .iter()
            .map(|d| d.log_text())
            .collect::<Vec<_>>()
            .join("\n----\n")
    };
    let t = wait_drained(s, m, 240, log);
    let took = t0.elapsed();
    assert_recorded_once(s, m);
    // Late resends would land now: look again after the outbox is idle.
    std::thread::sleep(Duration::from_secs(2));
    let t = Tally {
        cases: t.cases,
        ..tally(s)
    };
    println!(
        "FAULT|kill -9 x{done_kills} during a drain of {m}|{}|replicas {replicas}|cases {}|lost 0|duplicates {} (acks {}, openings {})|drained in {:.1}s|longest takeover {:.1}s, next case after a kill {:.1}s",
        if s.db_url.starts_with("postgres") { "postgres" } else { "sqlite" },
        t.cases,
        t.duplicates(),
        t.acks - t.ack_ids,
        t.openings - t.opening_ids,
        took.as_secs_f32(),
        max_takeover.as_secs_f32(),
        max_gap.as_secs_f32(),
    );
    let mut smtp_ms = Vec::new();
    let mut mark_ms = Vec::new();
    for e in std::fs::read_dir(s.dir.path()).unwrap().flatten() {
        let text = std::fs::read_to_string(e.path()).unwrap_or_default();
        for l in text.lines().filter(|l| l.contains("mail sent")) {
            let num = |k: &str| {
                l.split(k)
                    .nth(1)
                    .and_then(|r| r.split(' ').next())
                    .and_then(|v| v.parse::<u64>().ok())
            };
            smtp_ms.extend(num("smtp_ms="));
            mark_ms.extend(num("mark_ms="));
        }
    }
    smtp_ms.sort();
    mark_ms.sort();
    let med = |v: &[u64]| v.get(v.len() / 2).copied().unwrap_or(0);
    println!(
        "FAULT|send times|smtp median {} ms, p90 {} ms|sent-mark median {} ms, max {} ms",
        med(&smtp_ms),
        smtp_ms.get(smtp_ms.len() * 9 / 10).copied().unwrap_or(0),
        med(&mark_ms),
        mark_ms.last().copied().unwrap_or(0)
    );
    if t.duplicates() > 0 {
        let mut seen = std::collections::HashMap::new();
        for mm in s
            .mails("staff", "")
            .into_iter()
            .chain(s.mails("official", ""))
        {
            *seen.entry(mm.message_id.clone()).or_insert(0) += 1;
        }
        for (id, n) in seen.iter().filter(|(_, n)| **n > 1) {
            println!("duplicate {id} x{n}:");
            for e in std::fs::read_dir(s.dir.path()).unwrap().flatten() {
                let name = e.file_name().to_string_lossy().to_string();
                if name.starts_with("daemon-") {
                    let text = std::fs::read_to_string(e.path()).unwrap_or_default();
                    for l in text.lines().filter(|l| l.contains(id.as_str())) {
                        println!("  {name}: {l}");
                    }
                }
            }
        }
    }
    let limit = kill_duplicate_limit(2 * m, done_kills);
    assert!(
        t.duplicates() <= limit,
        "more than {limit} duplicates ({} % or one per kill): {} of {} mails after {done_kills} kills",
        duplicate_limit_pct(),
        t.duplicates(),
        2 * m
    );
    if replicas > 1 {
        // The bound is on the takeover: a standby holds the mailbox
        // within 10 s of the leader dying. The next case after it also waits
        // for an IMAP login and the message in hand on a loaded machine
        // (6.8 s alone, 13 s with the whole suite running, 19.6 s with four
        // builds beside it on two cores), so it is reported and only bounded
        // loosely.
        assert!(
            max_takeover < Duration::from_secs(10),
            "takeover took {max_takeover:?}"
        );
        assert!(
            max_gap < Duration::from_secs(30),
            "the next case came {max_gap:?} after the kill"
        );
    }
    (t, took)
}

#[test]
fn kill_9_during_a_drain_on_sqlite() {
    let (m, kills) = soak((100, 8));
    let s = setup(fast_knobs(None));
    kill_during_drain(&s, m, kills, 1);
}

#[test]
fn kill_9_during_a_drain_on_postgres() {
    let (m, kills) = soak((100, 8));
    let db = PgDb::create();
    let s = setup(fast_knobs(Some(db.url.clone())));
    kill_during_drain(&s, m, kills, 1);
}

#[test]
fn kill_9_of_the_leader_of_two_replicas_on_postgres() {
    let (m, kills) = soak((100, 8));
    let db = PgDb::create();
    let s = setup(fast_knobs(Some(db.url.clone())));
    kill_during_drain(&s, m, kills, 2);
}

#[test]
fn sigterm_during_a_drain_stops_at_once_and_loses_nothing() {
    let m = 40;
    let s = setup(fast_knobs(None));
    fill_inbox(&s, m);
    let d = s.start();
    wait_for(60, "the drain under way", || {
        (s.cases().len() >= 3).then_some(())
    });
    let stop = d.terminate();
    let at_stop = s.cases().len();
    assert!(stop < Duration::from_secs(10), "stopped in {stop:?}");
    assert!(
        at_stop < m,
        "the drain was still under way ({at_stop} of {m})"
    );
    let d = s.start();
    let t = wait_drained(&s, m, 120, || d.log_text());
    assert_recorded_once(&s, m);
    println!(
        "FAULT|SIGTERM during a drain of {m}|sqlite|cases {}|lost 0|duplicates {}|stopped in {:.2}s with {at_stop} cases",
        t.cases,
        t.duplicates(),
        stop.as_secs_f32()
    );
    assert!(t.duplicates() * 100 <= duplicate_limit_pct() * 2 * m);
}

/// Counts the log lines that say a failure.
fn warn_lines(log: &str) -> usize {
    log.lines()
        .filter(|l| l.contains("WARN") || l.contains("ERROR"))
        .count()
}

#[test]
fn a_read_only_postgres_keeps_mail_in_the_inbox_and_recovers_by_itself() {
    let db = PgDb::create();
    let s = setup(fast_knobs(Some(db.url.clone())));
    let d = s.start();
    s.forward(2, "Före skrivskyddet");
    wait_for(30, "the first case", || {
        (s.cases().len() == 1).then_some(())
    });
    // The database turns read-only, and sessions open now keep it so.
    let name = db.url.rsplit('/').next().unwrap().to_string();
    psql(
        &db.admin,
        &format!("ALTER DATABASE {name} SET default_transaction_read_only = on"),
    );
    psql(
        &db.admin,
        &format!("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' AND pid <> pg_backend_pid() \
                 AND pid NOT IN (SELECT pid FROM pg_locks WHERE locktype = 'advisory')"),
    );
    let t_ro = Instant::now();
    let now = Utc::now();
    s.send(
        "staff",
        &outlook_forward_from(
            &s,
            now - chrono::Duration::hours(3),
            "Under skrivskyddet",
            now,
            "annan.example",
            "AnnatSystem",
        ),
    );
    // The notice is seen and stays in the INBOX, unrecorded.
    wait_for(30, "the watcher backing off on the store", || {
        d.log_text().contains("cause=\"store\"").then_some(())
    });
    std::thread::sleep(Duration::from_secs(8));
    // (The CLI would migrate, i.e. write: count with psql.)
    let cases = || psql(&db.url, "SELECT COUNT(*) FROM cases");
    assert_eq!(cases(), "1");
    assert_eq!(
        s.mails("breach", "").len(),
        1,
        "the notice stays in the INBOX"
    );
    let lines_ro = warn_lines(&d.log_text());
    let logins_ro = d.log_text().matches("IMAP connected").count();
    // Writable again: recovered within seconds, no restart.
    psql(
        &db.admin,
        &format!("ALTER DATABASE {name} SET default_transaction_read_only = off"),
    );
    let t0 = Instant::now();
    while cases() != "2" {
        if t0.elapsed() > Duration::from_secs(45) {
            panic!("no recovery in 45 s; log:\n{}", d.log_text());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let recovery = t0.elapsed();
    wait_for(30, "the notice moved", || {
        s.mails("breach", "").is_empty().then_some(())
    });
    println!(
        "FAULT|PostgreSQL read-only {:.0}s|postgres|cases 2|lost 0|duplicates 0|{} WARN/ERROR lines, {} IMAP logins meanwhile|recovered {:.1}s after",
        t_ro.elapsed().as_secs_f32() - recovery.as_secs_f32(),
        lines_ro,
        logins_ro,
        recovery.as_secs_f32()
    );
    assert_eq!(logins_ro, 1, "no IMAP login again and again");
    assert!(
        lines_ro <= 12,
        "said once per interval, not a flood: {lines_ro}"
    );
    // Recovery is bounded by the backoff (at most 80 s), not a pool lifetime.
    assert!(recovery < Duration::from_secs(90), "{recovery:?}");
}

#[test]
fn a_recipient_refused_for_good_is_told_to_the_dpo() {
    let s = setup(fast_knobs(None));
    // The route names an official the server does not know: a 550 for that
    // recipient, final. Everything else works.
    let official = s.users.addr("official");
    let gone = format!("nosuch-{}@example.test", s.users.tag);
    let cfg = std::fs::read_to_string(&s.config)
        .unwrap()
        .replace(&official, &gone);
    std::fs::write(&s.config, cfg).unwrap();
    let d = s.start();
    s.forward(2, "Mottagaren finns inte");
    let notice = wait_for(30, "the DPO's notice of the refused mail", || {
        s.mails("dpo", "")
            .into_iter()
            .find(|m| m.subject.contains("kunde inte levereras"))
    });
    assert!(notice.text.contains(&gone), "{}", notice.text);
    assert!(notice.text.contains("550"), "{}", notice.text);
    let case_ref = s.cases()[0]["ref"].as_str().unwrap().to_string();
    assert!(notice.subject.contains(&case_ref), "{}", notice.subject);
    let c = s.case(&case_ref);
    let mails = c["mails"].as_array().unwrap();
    let opening = mails.iter().find(|m| m["purpose"] == "opening").unwrap();
    assert_eq!(opening["status"], "failed", "{c}");
    assert_eq!(opening["attempts"], 1, "a 5xx is not retried");
    assert!(
        c["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "mail_refused"),
        "{c}"
    );
    // The acknowledgement to staff went out as usual; the DPO's notice once.
    wait_for(30, "the acknowledgement", || {
        s.mails("staff", "")
            .into_iter()
            .find(|m| m.subject.contains("Mottaget"))
    });
    std::thread::sleep(Duration::from_secs(2));
    let n = s
        .mails("dpo", "")
        .iter()
        .filter(|m| m.subject.contains("kunde inte levereras"))
        .count();
    assert_eq!(n, 1, "{}", d.log_text());
    digest_lists_the_refusal(&s);
}

/// The digest repeats what the server refused (run in-process on the
/// daemon's database; the daemon sends it).
fn digest_lists_the_refusal(s: &Setup) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let cfg = Config::load(&s.config).expect("config");
        let store = Store::connect(&s.db_url).await.unwrap();
        let p = Pipeline::new(Arc::new(cfg), store.clone());
        let now = Utc::now();
        assert!(send_digest(&store, &p.sender, &p.cfg, now, now)
            .await
            .unwrap());
        store.close().await;
    });
    let digest = wait_for(30, "the digest", || {
        s.mails("dpo", "")
            .into_iter()
            .find(|m| m.subject.contains("Sammanställning"))
    });
    assert!(
        digest.text.contains("Meddelanden som inte kunde levereras")
            && digest.text.contains("opening"),
        "{}",
        digest.text
    );
}

/// A PostgreSQL cluster of the test's own on a free port (initdb + pg_ctl as
/// the postgres user), so restarting it disturbs nobody else's server.
struct OwnCluster {
    dir: std::path::PathBuf,
    bin: std::path::PathBuf,
    port: u16,
}

impl OwnCluster {
    fn start() -> OwnCluster {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .expect("PostgreSQL server binaries in /usr/lib/postgresql")
            .flatten()
            .map(|e| e.path().join("bin"))
            .filter(|p| p.join("initdb").exists())
            .max()
            .expect("initdb");
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let dir = std::path::PathBuf::from(format!("/tmp/bw-pg-{port}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let c = OwnCluster { dir, bin, port };
        c.as_postgres(
            &["chown", "-R", "postgres:postgres"],
            &[c.dir.to_str().unwrap()],
            true,
        );
        let data = c.dir.join("data");
        c.run(&format!(
            "{}/initdb -D {} -U postgres --auth=trust -E UTF8 >/dev/null",
            c.bin.display(),
            data.display()
        ));
        c.ctl("start");
        c
    }

    fn as_postgres(&self, cmd: &[&str], args: &[&str], root: bool) {
        let mut command = if root {
            std::process::Command::new(cmd[0])
        } else {
            std::process::Command::new("runuser")
        };
        if root {
            command.args(&cmd[1..]);
        } else {
            command.args(["-u", "postgres", "--"]).args(cmd);
        }
        let st = command.args(args).status().expect("run");
        assert!(st.success(), "{cmd:?} {args:?}");
    }

    fn run(&self, sh: &str) {
        self.as_postgres(&["sh", "-c", sh], &[], false);
    }

    fn ctl(&self, what: &str) {
        let data = self.dir.join("data");
        self.run(&format!(
            "{}/pg_ctl -D {} -l {}/log -w -t 30 -o '-p {} -k {} -c listen_addresses=127.0.0.1' {what} >/dev/null",
            self.bin.display(),
            data.display(),
            self.dir.display(),
            self.port,
            self.dir.display()
        ));
    }

    /// Stops the server the way a crash does (immediate mode: no clean
    /// shutdown, clients' connections cut).
    fn crash_stop(&self) {
        self.run(&format!(
            "{}/pg_ctl -D {}/data -m immediate -w stop >/dev/null",
            self.bin.display(),
            self.dir.display()
        ));
    }

    fn admin(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for OwnCluster {
    fn drop(&mut self) {
        let data = self.dir.join("data");
        let _ = std::process::Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(self.bin.join("pg_ctl"))
            .args([
                "-D",
                data.to_str().unwrap_or_default(),
                "-m",
                "immediate",
                "stop",
            ])
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn postgres_restarted_mid_drain_loses_nothing_and_no_worker_sticks() {
    let m = 40;
    let pg = OwnCluster::start();
    let db = PgDb::create_on(&pg.admin());
    let s = setup(fast_knobs(Some(db.url.clone())));
    fill_inbox(&s, m);
    let d = s.start();
    let cases = || {
        std::process::Command::new("psql")
            .arg(&db.url)
            .args(["-Atqc", "SELECT COUNT(*) FROM cases"])
            .output()
            .ok()
            .and_then(|o| {
                String::from_utf8_lossy(&o.stdout)
                    .trim()
                    .parse::<usize>()
                    .ok()
            })
            .unwrap_or(0)
    };
    wait_for(60, "the drain under way", || (cases() >= 5).then_some(()));
    // A crash restart of the server (immediate stop: no clean shutdown).
    let t0 = Instant::now();
    pg.crash_stop();
    std::thread::sleep(Duration::from_secs(3));
    pg.ctl("start");
    let down = t0.elapsed();
    let back = Instant::now();
    let before = cases();
    while cases() == before && before < m {
        assert!(
            back.elapsed() < Duration::from_secs(90),
            "no progress after the restart:\n{}",
            d.log_text()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let recovery = back.elapsed();
    let t = wait_drained(&s, m, 180, || d.log_text());
    assert_recorded_once(&s, m);
    std::thread::sleep(Duration::from_secs(2));
    let t = Tally {
        cases: t.cases,
        ..tally(&s)
    };
    println!(
        "FAULT|PostgreSQL crash-restarted mid-drain of {m} (down {:.1}s)|postgres|cases {}|lost 0|duplicates {}|next case {:.1}s after it was back",
        down.as_secs_f32(),
        t.cases,
        t.duplicates(),
        recovery.as_secs_f32()
    );
    assert!(
        t.duplicates() * 100 <= duplicate_limit_pct() * 2 * m,
        "{t:?}"
    );
    drop(d);
    drop(db);
}

/// A pooled PostgreSQL connection that sat idle while the server
/// restarted is pinged and replaced before use (`store::pool_health::needs_ping`):
/// the first query after the restart works. The pool no longer pings every
/// connection before every query (one round trip a query), only one idle
/// for a second or more.
#[test]
fn a_postgres_connection_idle_over_a_restart_is_replaced_before_use() {
    let pg = OwnCluster::start();
    let db = PgDb::create_on(&pg.admin());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let store = rt.block_on(Store::connect(&db.url)).expect("store");
    rt.block_on(store.checkpoint("INBOX"))
        .expect("a query before");
    pg.crash_stop();
    pg.ctl("start");
    std::thread::sleep(Duration::from_millis(1500));
    // Every pooled connection was opened before the restart: each is dead.
    rt.block_on(store.checkpoint("INBOX"))
        .expect("the first query after the restart");
    rt.block_on(store.close());
    drop(db);
}

/// The daemon as the unprivileged user `nobody` (root ignores file modes),
/// with `run ARGS`.
fn start_as_nobody(s: &Setup, args: &[&str]) -> Daemon {
    let n = std::fs::read_dir(s.dir.path())
        .map(|d| d.count())
        .unwrap_or(0);
    let log = s.dir.path().join(format!("daemon-{n}.log"));
    let f = std::fs::File::create(&log).expect("log file");
    let child = std::process::Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(bin())
        .args(["run", "--config"])
        .arg(&s.config)
        .args(args)
        .env_remove("BREACHWATCH_DATABASE_URL")
        .env_remove("BREACHWATCH_IMAP_CA_FILE")
        .env("BREACHWATCH_LOG", "info,breachwatch=debug,sqlx=warn")
        .stdout(std::process::Stdio::null())
        .stderr(f)
        .spawn()
        .expect("start breachwatch run as nobody");
    Daemon { child, log }
}

/// The daemon restarted on a read-only SQLite file. It used to pass alone
/// and hang under load (no recovery in 100 s): SQLite creates `-wal`/`-shm`
/// with the database file's mode, so side files made while the file was
/// read-only stayed read-only for good, and a process's connections share
/// the WAL index opened read-only while any of them lives. Whether the side
/// files were left by the first daemon or made by the second decided the
/// outcome. The store now closes its SQLite pool as a whole on such an
/// error and gives the side files the file's mode back
/// (`store::pool_health::SqliteStore`); this test makes the side files on
/// the read-only file every time (the first daemon stops cleanly, so they
/// are gone) and checks that they are writable after the recovery.
#[test]
fn a_read_only_sqlite_file_keeps_mail_in_the_inbox_and_recovers_by_itself() {
    use std::os::unix::fs::PermissionsExt;
    let s = setup(fast_knobs(None));
    let dir = s.dir.path();
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let chown = |p: &std::path::Path| {
        std::process::Command::new("chown")
            .args(["-R", "65534:65534"])
            .arg(p)
            .status()
            .unwrap()
    };
    chown(dir);
    let d = start_as_nobody(&s, &[]);
    s.forward(2, "Före skrivskyddet");
    wait_for(30, "the first notice processed", || {
        (s.mails("breach", "Processed").len() == 1).then_some(())
    });
    let stop = d.terminate();
    assert!(stop < Duration::from_secs(10));
    // The file turns read-only; the daemon starts on it (as after a restart).
    let db = dir.join("bw.db");
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o444)).unwrap();
    let d = start_as_nobody(&s, &["--no-migrate"]);
    let now = Utc::now();
    s.send(
        "staff",
        &outlook_forward_from(
            &s,
            now - chrono::Duration::hours(3),
            "Under skrivskyddet",
            now,
            "annan.example",
            "AnnatSystem",
        ),
    );
    wait_for(30, "the watcher backing off on the store", || {
        d.log_text().contains("cause=\"store\"").then_some(())
    });
    let t_ro = Instant::now();
    std::thread::sleep(Duration::from_secs(8));
    assert_eq!(
        s.mails("breach", "").len(),
        1,
        "the notice stays in the INBOX"
    );
    assert_eq!(s.mails("breach", "Processed").len(), 1);
    let lines_ro = warn_lines(&d.log_text());
    let logins_ro = d.log_text().matches("IMAP connected").count();
    // Writable again: the daemon recovers by itself.
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
    let t0 = Instant::now();
    while !(s.mails("breach", "").is_empty() && s.mails("breach", "Processed").len() == 2) {
        if t0.elapsed() > Duration::from_secs(100) {
            panic!("no recovery in 100 s; log:\n{}", d.log_text());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let recovery = t0.elapsed();
    wait_for(30, "the acknowledgement of the second notice", || {
        (s.mails("staff", "")
            .iter()
            .filter(|m| m.subject.contains("Mottaget"))
            .count()
            == 2)
            .then_some(())
    });
    // The side files of the running daemon are writable again.
    for side in ["bw.db-wal", "bw.db-shm"] {
        let m = std::fs::metadata(dir.join(side)).expect("side file of a WAL database");
        assert_eq!(m.permissions().mode() & 0o200, 0o200, "{side} writable");
    }
    d.terminate();
    chown(dir);
    assert_eq!(s.cases().len(), 2);
    println!(
        "FAULT|SQLite file read-only {:.0}s (daemon restarted on it)|sqlite|cases 2|lost 0|duplicates 0|{} WARN/ERROR lines, {} IMAP logins meanwhile|recovered {:.1}s after",
        t_ro.elapsed().as_secs_f32() - recovery.as_secs_f32(),
        lines_ro,
        logins_ro,
        recovery.as_secs_f32()
    );
    assert_eq!(logins_ro, 1, "no IMAP login again and again");
    assert!(
        lines_ro <= 12,
        "said once per interval, not a flood: {lines_ro}"
    );
    assert!(recovery < Duration::from_secs(90), "{recovery:?}");
}

/// A tmpfs of `mb` MiB mounted on a fresh directory, unmounted on drop.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(mb: u32) -> SmallDisk {
        let dir = tempfile::tempdir().expect("tempdir");
        let ok = std::process::Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={mb}m,mode=0755"),
                "tmpfs",
            ])
            .arg(dir.path())
            .status()
            .expect("run mount");
        assert!(ok.success(), "mount a tmpfs (the test runs as root)");
        SmallDisk { dir }
    }

    fn path(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// Writes a filler file until the file system says it is full.
    fn fill(&self) -> std::path::PathBuf {
        use std::io::Write;
        let p = self.path().join("filler");
        let mut f = std::fs::File::create(&p).expect("filler");
        let chunk = vec![0u8; 64 * 1024];
        loop {
            if let Err(e) = f.write_all(&chunk).and_then(|_| f.sync_all()) {
                assert_eq!(e.raw_os_error(), Some(28), "ENOSPC, not {e}");
                break;
            }
        }
        p
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

/// The SQLite file on a disk that fills up under the running daemon: the
/// notice that arrives meanwhile stays in the INBOX (never moved
/// unrecorded), the watcher backs off on the store without logging in to
/// IMAP again and again, and when space is freed the daemon recovers by
/// itself.
#[test]
fn a_full_disk_keeps_mail_in_the_inbox_and_recovers_by_itself() {
    let disk = SmallDisk::mount(16);
    let s = setup(fast_knobs(Some(format!(
        "sqlite://{}/bw.db",
        disk.path().display()
    ))));
    let d = s.start();
    s.forward(2, "Före den fulla disken");
    wait_for(30, "the first notice processed", || {
        (s.mails("breach", "Processed").len() == 1).then_some(())
    });
    wait_for(30, "the first acknowledgement", || {
        (s.mails("staff", "").len() == 1).then_some(())
    });
    let filler = disk.fill();
    let logins_before = d.log_text().matches("IMAP connected").count();
    let lines_before = warn_lines(&d.log_text());
    let now = Utc::now();
    let mut during = outlook_forward_from(
        &s,
        now - chrono::Duration::hours(3),
        "Medan disken är full",
        now,
        "annan.example",
        "AnnatSystem",
    );
    // A pasted log of 3 MB: its record needs new disk space. A small one can
    // still commit on a full disk, into WAL space that earlier commits
    // allocated and the checkpointer (workers/checkpoint.rs) made free.
    during.extend(
        format!(
            "\r\nInklistrad logg:\r\n{}",
            "2026-11-30 12:00:00 GET /provsvar 200\r\n".repeat(80_000)
        )
        .as_bytes(),
    );
    s.send("staff", &during);
    wait_for(30, "the watcher backing off on the store", || {
        d.log_text().contains("cause=\"store\"").then_some(())
    });
    let t_full = Instant::now();
    std::thread::sleep(Duration::from_secs(8));
    assert_eq!(
        s.mails("breach", "").len(),
        1,
        "the notice stays in the INBOX"
    );
    assert_eq!(s.mails("breach", "Processed").len(), 1);
    let log = d.log_text();
    let lines_full = warn_lines(&log) - lines_before;
    let logins_full = log.matches("IMAP connected").count() - logins_before;
    // Space again: the daemon recovers by itself.
    std::fs::remove_file(&filler).unwrap();
    let t0 = Instant::now();
    while !(s.mails("breach", "").is_empty() && s.mails("breach", "Processed").len() == 2) {
        if t0.elapsed() > Duration::from_secs(100) {
            panic!("no recovery in 100 s; log:\n{}", d.log_text());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let recovery = t0.elapsed();
    wait_for(30, "the acknowledgement of the second notice", || {
        (s.mails("staff", "")
            .iter()
            .filter(|m| m.subject.contains("Mottaget"))
            .count()
            == 2)
            .then_some(())
    });
    d.terminate();
    assert_eq!(s.cases().len(), 2);
    println!(
        "FAULT|disk full {:.0}s under a running daemon|sqlite|cases 2|lost 0|duplicates 0|{} WARN/ERROR lines, {} IMAP logins meanwhile|recovered {:.1}s after",
        t_full.elapsed().as_secs_f32() - recovery.as_secs_f32(),
        lines_full,
        logins_full,
        recovery.as_secs_f32()
    );
    assert!(
        logins_full <= 1,
        "no IMAP login again and again: {logins_full}"
    );
    assert!(
        lines_full <= 12,
        "said once per interval, not a flood: {lines_full}"
    );
    assert!(recovery < Duration::from_secs(90), "{recovery:?}");
}

/// One SMTP session of a front that refuses for now: greets, answers EHLO
/// and NOOP, and answers MAIL FROM with a 451, then hangs up.
fn refuse_for_now(c: std::net::TcpStream, refused: &std::sync::atomic::AtomicUsize) {
    use std::io::{BufRead, BufReader, Write};
    let _ = c.set_read_timeout(Some(Duration::from_secs(30)));
    let Ok(read) = c.try_clone() else {
        return;
    };
    let mut r = BufReader::new(read);
    let mut w = c;
    let _ = w.write_all(b"220 front.example.test ESMTP\r\n");
    let mut line = String::new();
    loop {
        line.clear();
        if r.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let cmd = line.to_ascii_uppercase();
        let reply: &[u8] = if cmd.starts_with("MAIL") {
            refused.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let _ = w.write_all(b"451 4.3.0 Temporary local problem, try again later\r\n");
            return;
        } else if cmd.starts_with("QUIT") {
            let _ = w.write_all(b"221 2.0.0 Bye\r\n");
            return;
        } else if cmd.starts_with("EHLO") || cmd.starts_with("HELO") {
            b"250 front.example.test\r\n"
        } else {
            b"250 2.0.0 Ok\r\n"
        };
        if w.write_all(reply).is_err() {
            return;
        }
    }
}

/// An SMTP front on loopback: the first `refusals` mails get a 451 (after
/// the outbox claimed them, so each costs an attempt), every later
/// connection is passed on to Postfix.
fn refusing_front(refusals: usize, postfix: u16) -> (u16, Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::Ordering;
    let front = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = front.local_addr().unwrap().port();
    let refused = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = refused.clone();
    std::thread::spawn(move || {
        for c in front.incoming().flatten() {
            let count = count.clone();
            std::thread::spawn(move || {
                if count.load(Ordering::SeqCst) < refusals {
                    return refuse_for_now(c, &count);
                }
                let Ok(up) = std::net::TcpStream::connect(("127.0.0.1", postfix)) else {
                    return;
                };
                let (Ok(mut c_r), Ok(up_w)) = (c.try_clone(), up.try_clone()) else {
                    return;
                };
                let t = std::thread::spawn(move || {
                    let _ = std::io::copy(&mut c_r, &mut &up_w);
                    let _ = up_w.shutdown(std::net::Shutdown::Write);
                });
                let _ = std::io::copy(&mut &up, &mut &c);
                let _ = c.shutdown(std::net::Shutdown::Write);
                let _ = t.join();
            });
        }
    });
    (port, refused)
}

/// Transient refusals (4xx) are never final: with `smtp.max_attempts = 2`
/// and five 451s after the claim, a mail goes past its attempts, is logged as
/// still waiting, and is delivered when the server takes it; nothing is
/// failed for good and the DPO gets no refusal notice.
#[test]
fn transient_refusals_past_max_attempts_are_never_final() {
    let refusals = 5;
    let stack = stack();
    let (port, refused) = refusing_front(refusals, stack.smtp_port());
    let s = setup(Knobs {
        smtp_port: Some(port),
        max_attempts: 2,
        ..fast_knobs(None)
    });
    let d = s.start();
    let t0 = Instant::now();
    s.forward(3, "Intrång medan servern ber oss vänta");
    let case_ref = wait_for(30, "case", || {
        s.cases()
            .first()
            .map(|c| c["ref"].as_str().unwrap().to_string())
    });
    let sent = wait_for(90, "every mail of the case sent", || {
        let c = s.case(&case_ref);
        let mails = c["mails"].as_array().cloned().unwrap_or_default();
        (!mails.is_empty() && mails.iter().all(|m| m["status"] == "sent")).then_some(mails)
    });
    let took = t0.elapsed();
    // A session opened while the front still refused answers its MAIL with
    // a 451 too: `refused` counts every 451 given.
    let refused = refused.load(std::sync::atomic::Ordering::SeqCst);
    assert!(refused >= refusals, "the front refused {refused}");
    let attempts: Vec<u64> = sent
        .iter()
        .map(|m| m["attempts"].as_u64().unwrap_or(0))
        .collect();
    // Five refusals over the case's mails: at least one went past two.
    assert!(
        attempts.iter().any(|&a| a > 2),
        "a mail past smtp.max_attempts: {attempts:?}"
    );
    assert_eq!(
        attempts.iter().sum::<u64>(),
        (refused + sent.len()) as u64,
        "every attempt counted: {attempts:?}, {refused} refused"
    );
    wait_for(30, "the acknowledgement delivered", || {
        s.mails("staff", "")
            .into_iter()
            .find(|m| m.subject.contains("Mottaget"))
    });
    let log = d.log_text();
    assert!(
        log.contains("retrying until the server takes it"),
        "said that the mail still waits:\n{log}"
    );
    assert!(!log.contains("refused for good"), "{log}");
    assert!(
        s.mails("dpo", "")
            .iter()
            .all(|m| !m.subject.contains("kunde inte levereras")),
        "no refusal notice to the DPO"
    );
    d.terminate();
    println!(
        "FAULT|SMTP 451 x{refused} after the claim, smtp.max_attempts 2|sqlite|cases 1|lost 0|duplicates 0|attempts {attempts:?}, {} WARN/ERROR lines|all sent {:.1}s after the notice",
        warn_lines(&log),
        took.as_secs_f32()
    );
}

/// The outage of a fault test: the length in the soak
/// (`BREACHWATCH_SOAK=1`), a short one in CI (the mechanism is the same:
/// the senders' backoff is capped at `smtp.retry_max_secs`).
fn outage(soak_secs: u64, ci_secs: u64) -> Duration {
    Duration::from_secs(if std::env::var_os("BREACHWATCH_SOAK").is_some() {
        soak_secs
    } else {
        ci_secs
    })
}

/// The Message-IDs of the mails sent through a proxy, in the order sent.
fn message_ids_sent(bytes: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(bytes)
        .lines()
        .filter(|l| l.to_ascii_lowercase().starts_with("message-id:"))
        .filter_map(|l| {
            let (_, rest) = l.split_once('<')?;
            Some(rest.split('>').next()?.to_string())
        })
        .collect()
}

#[test]
fn smtp_down_with_mail_queued_delivers_everything_after_in_deadline_order() {
    let proxy = Proxy::start(stack().smtp_port());
    let s = setup(Knobs {
        smtp_port: Some(proxy.port),
        ..fast_knobs(None)
    });
    // One sender: the order on the wire is the order of the claims.
    let cfg = std::fs::read_to_string(&s.config)
        .unwrap()
        .replace("timeout_secs = 5\n", "timeout_secs = 5\nsenders = 1\n");
    std::fs::write(&s.config, cfg).unwrap();
    proxy.set_up(false);
    let t_down = Instant::now();
    let down_for = outage(120, 15);
    // Notices that reached the municipality at different times: their
    // deadlines are in another order than their arrival.
    let hours = [5, 40, 12, 60, 1, 30];
    let now = Utc::now();
    for (i, h) in hours.iter().enumerate() {
        s.send(
            "staff",
            &outlook_forward_from(
                &s,
                now - chrono::Duration::hours(*h),
                &format!("Avbrott {i}"),
                now,
                &format!("leverantor{i}.example"),
                &format!("System{i}"),
            ),
        );
    }
    // All in the INBOX before the daemon starts: one pass reads them (a
    // notice arriving while a pass runs may wait for the next IDLE: see the
    // report of issue 11).
    wait_for(60, "the notices in the INBOX", || {
        (s.mails("breach", "").len() == hours.len()).then_some(())
    });
    let d = s.start();
    let t_cases = Instant::now();
    while s.cases().len() < hours.len() {
        if t_cases.elapsed() > Duration::from_secs(60) {
            panic!(
                "{} cases of {} notices in 60 s (inbox {}, processed {}, quarantine {}):\n{}",
                s.cases().len(),
                hours.len(),
                s.mails("breach", "").len(),
                s.mails("breach", "Processed").len(),
                s.mails("breach", "Quarantine").len(),
                d.log_text()
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let rest = down_for.saturating_sub(t_down.elapsed());
    std::thread::sleep(rest);
    // Nothing went out, nothing failed for good, no mail lost an attempt.
    let mails = |s: &Setup| -> Vec<(String, String, serde_json::Value)> {
        s.cases()
            .iter()
            .flat_map(|c| {
                let r = c["ref"].as_str().unwrap().to_string();
                let deadline = c["deadline_at"].as_str().unwrap().to_string();
                let case = s.case(&r);
                case["mails"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
                    .into_iter()
                    .map(move |m| (r.clone(), deadline.clone(), m))
            })
            .collect()
    };
    let queued = mails(&s);
    assert_eq!(
        queued.len(),
        2 * hours.len(),
        "an ack and an opening per case"
    );
    for (_, _, m) in &queued {
        assert_eq!(m["status"], "pending", "{m}");
        assert_eq!(m["attempts"], 0, "no attempt while the server is down: {m}");
    }
    assert!(s.mails("official", "").is_empty());
    let log_down = d.log_text();
    let lines_down = warn_lines(&log_down);
    assert!(
        log_down.contains("SMTP server"),
        "the outage is said: {log_down}"
    );
    proxy.take_sent();
    proxy.set_up(true);
    let t_up = Instant::now();
    wait_for(60, "every queued mail sent", || {
        mails(&s)
            .iter()
            .all(|(_, _, m)| m["status"] == "sent")
            .then_some(())
    });
    let recovery = t_up.elapsed();
    let sent = message_ids_sent(&proxy.take_sent());
    let deadline_of = |id: &str| {
        queued
            .iter()
            .find(|(_, _, m)| m["message_id"] == id)
            .map(|(_, dl, _)| chrono::DateTime::parse_from_rfc3339(dl).unwrap())
    };
    let order: Vec<_> = sent.iter().filter_map(|id| deadline_of(id)).collect();
    assert_eq!(order.len(), queued.len(), "each mail sent once: {sent:?}");
    assert!(
        order.windows(2).all(|w| w[0] <= w[1]),
        "sent in deadline order: {order:?}"
    );
    wait_for(30, "the openings in the official's mailbox", || {
        (s.mails("official", "").len() == hours.len()).then_some(())
    });
    println!(
        "FAULT|SMTP down {:.0}s with {} mails queued|sqlite|cases {}|lost 0|duplicates 0|{} WARN/ERROR lines while down, 0 attempts spent|all sent {:.1}s after it was back, in deadline order",
        down_for.as_secs_f32(),
        queued.len(),
        hours.len(),
        lines_down,
        recovery.as_secs_f32()
    );
    assert!(
        lines_down <= 4,
        "said once per interval: {lines_down}\n{log_down}"
    );
    assert!(recovery < Duration::from_secs(10), "{recovery:?}");
    d.terminate();
}

#[test]
fn imap_down_reconnects_with_bounded_lines_and_news_within_10s_of_its_return() {
    let stack = stack();
    let proxy = Proxy::start(stack.get("MAILSTACK_IMAPS_PORT").parse().unwrap());
    let s = setup(Knobs {
        imap_port: Some(proxy.port),
        ..fast_knobs(None)
    });
    let d = s.start();
    let now = Utc::now();
    let notice = |subject: &str, supplier: &str| {
        s.send(
            "staff",
            &outlook_forward_from(
                &s,
                now - chrono::Duration::hours(2),
                subject,
                now,
                &format!("{supplier}.example"),
                supplier,
            ),
        )
    };
    notice("Före avbrottet", "Forsta");
    wait_for(30, "the first case", || {
        (s.cases().len() == 1).then_some(())
    });
    proxy.set_up(false);
    let down_for = outage(60, 20);
    let t_down = Instant::now();
    notice("Under avbrottet", "Andra");
    std::thread::sleep(down_for.saturating_sub(t_down.elapsed()));
    assert_eq!(s.cases().len(), 1, "nothing read while the server is down");
    let log_down = d.log_text();
    let lines_down = warn_lines(&log_down);
    proxy.set_up(true);
    let t_up = Instant::now();
    while s.cases().len() < 2 {
        if t_up.elapsed() > Duration::from_secs(30) {
            panic!(
                "the notice sent during the outage not read in 30 s:\n{}",
                d.log_text()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let news = t_up.elapsed();
    let logins = d.log_text().matches("IMAP connected").count();
    println!(
        "FAULT|IMAP server down {:.0}s|sqlite|cases 2|lost 0|duplicates 0|{} WARN/ERROR lines while down, {} IMAP logins in all|news processed {:.1}s after it was back",
        down_for.as_secs_f32(),
        lines_down,
        logins,
        news.as_secs_f32()
    );
    assert!(lines_down <= 5, "no flood: {lines_down}\n{log_down}");
    assert_eq!(logins, 2, "one login before, one after");
    assert!(news <= Duration::from_secs(10), "{news:?}");
    d.terminate();
}

/// `f` on the pool of a test's SQLite database, from the test's thread.
fn on_sqlite<T>(
    url: &str,
    f: impl FnOnce(sqlx::SqlitePool) -> futures::future::BoxFuture<'static, T>,
) -> T {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = Store::connect_unmigrated(url).await.unwrap();
        let Store::Sqlite(p) = &store else {
            unreachable!()
        };
        let out = f(p.pool().await).await;
        store.close().await;
        out
    })
}

/// Statements on a test's database, SQLite or PostgreSQL (the daemon may run).
fn db_exec(url: &str, sql: &str) {
    if url.starts_with("postgres") {
        psql(url, sql);
        return;
    }
    let sql = sql.to_string();
    on_sqlite(url, |pool| {
        Box::pin(async move {
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                .execute(&pool)
                .await
                .unwrap();
        })
    })
}

/// The first column of a query's rows, as text.
fn db_texts(url: &str, sql: &str) -> Vec<String> {
    if url.starts_with("postgres") {
        let out = psql(url, sql);
        return out
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect();
    }
    let sql = sql.to_string();
    on_sqlite(url, |pool| {
        Box::pin(async move {
            use sqlx::Row;
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .fetch_all(&pool)
                .await
                .unwrap()
                .iter()
                .map(|r| {
                    r.try_get::<String, _>(0)
                        .or_else(|_| r.try_get::<i64, _>(0).map(|v| v.to_string()))
                        .unwrap()
                })
                .collect()
        })
    })
}

/// A burst of reminders sent in batches while the daemon is killed: `m`
/// notices drain, their cases are copied to `copies` times as many open
/// cases whose +24 h reminder is due at once (as `make bench-daemon` does),
/// and the daemon is killed with SIGKILL at `kills` random moments while the
/// reminders are queued and sent. Every reminder is queued exactly once (one
/// event per case, across restarts) and delivered (none lost); duplicates
/// (a kill between the server's 250 and its record) stay within the limit.
fn kill_during_reminder_burst(s: &Setup, m: usize, copies: usize, kills: usize) {
    fill_inbox(s, m);
    let d = s.start();
    wait_drained(s, m, 240, || d.log_text());
    d.terminate();
    let url = s.db_url.as_str();
    let pg = url.starts_with("postgres");
    let cols = db_texts(
        url,
        if pg {
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'cases' \
             AND column_name <> 'id' ORDER BY ordinal_position"
        } else {
            "SELECT name FROM pragma_table_info('cases') WHERE name <> 'id' ORDER BY cid"
        },
    );
    let sel: Vec<String> = cols
        .iter()
        .map(|c| {
            if c == "ref" {
                "c.ref || '-R' || k.i".to_string()
            } else {
                format!("c.{c}")
            }
        })
        .collect();
    let ks = if pg {
        format!("WITH k(i) AS (SELECT generate_series(1, {}))", copies - 1)
    } else {
        format!(
            "WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < {})",
            copies - 1
        )
    };
    let due = Utc::now() + chrono::Duration::seconds(3);
    let ts = |t: chrono::DateTime<Utc>| t.format("%Y-%m-%dT%H:%M:%S%.6f+00:00").to_string();
    let aware = due - chrono::Duration::hours(24);
    let deadline = aware + chrono::Duration::hours(72);
    db_exec(
        url,
        &format!(
            "INSERT INTO cases ({}) {ks} SELECT {} FROM cases c, k; \
             INSERT INTO case_plans (case_id) SELECT id FROM cases \
             WHERE id NOT IN (SELECT case_id FROM case_plans); \
             UPDATE cases SET state = 'received', aware_at = '{}', deadline_at = '{}'; \
             UPDATE case_plans SET next_reminder_at = '{}', next_reminder_seq = 0, reminders_sent = 0",
            cols.join(", "),
            sel.join(", "),
            ts(aware),
            ts(deadline),
            ts(due)
        ),
    );
    let n = m * copies;
    let mut daemons = vec![s.start()];
    let reminders = || -> Vec<String> {
        db_texts(
            url,
            "SELECT message_id FROM outbox WHERE purpose = 'reminder' AND status = 'sent'",
        )
    };
    let mut done_kills = 0;
    while done_kills < kills {
        std::thread::sleep(Duration::from_millis(rand::random_range(300..1200)));
        if reminders().len() >= n {
            break;
        }
        daemons.pop().unwrap().kill9();
        done_kills += 1;
        daemons.push(s.start());
    }
    let log = || {
        daemons
            .iter()
            .map(|d| d.log_text())
            .collect::<Vec<_>>()
            .join("\n----\n")
    };
    let t0 = Instant::now();
    while reminders().len() < n {
        assert!(
            t0.elapsed() < Duration::from_secs(240),
            "{} of {n} reminders sent after 240 s\nlog:\n{}",
            reminders().len(),
            log()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    // Queued exactly once: one reminder event per case, the plan moved once.
    let events = db_texts(url, "SELECT COUNT(*) FROM events WHERE kind = 'reminder'");
    let cases = db_texts(
        url,
        "SELECT COUNT(DISTINCT case_id) FROM events WHERE kind = 'reminder'",
    );
    let sent_once = db_texts(
        url,
        "SELECT COUNT(*) FROM case_plans WHERE reminders_sent = 1",
    );
    assert_eq!(events, vec![n.to_string()], "one reminder event per case");
    assert_eq!(cases, vec![n.to_string()]);
    assert_eq!(sent_once, vec![n.to_string()]);
    // Delivered, none lost: every reminder's Message-ID in the official's
    // mailbox (Postfix may still be delivering the last ones).
    let ids: std::collections::HashSet<String> = reminders()
        .into_iter()
        .map(|i| i.trim_matches(|c| c == '<' || c == '>').to_string())
        .collect();
    assert_eq!(ids.len(), n);
    let delivered = || -> Vec<String> {
        s.mails("official", "")
            .into_iter()
            .map(|m| m.message_id)
            .filter(|i| ids.contains(i))
            .collect()
    };
    wait_for(120, "every reminder delivered", || {
        let d = delivered();
        let distinct: std::collections::HashSet<&String> = d.iter().collect();
        (distinct.len() == n).then_some(())
    });
    std::thread::sleep(Duration::from_secs(2));
    let d = delivered();
    let duplicates = d.len() - n;
    println!(
        "FAULT|kill -9 x{done_kills} during a burst of {n} reminders|{}|lost 0|duplicates {duplicates}|queued once",
        if pg { "postgres" } else { "sqlite" },
    );
    assert!(
        duplicates * 100 <= duplicate_limit_pct() * n,
        "more than {} % duplicates: {duplicates} of {n} reminders",
        duplicate_limit_pct()
    );
}

#[test]
fn kill_9_during_a_reminder_burst_on_sqlite() {
    let s = setup(fast_knobs(None));
    kill_during_reminder_burst(&s, 30, 20, 5);
}

#[test]
fn kill_9_during_a_reminder_burst_on_postgres() {
    let db = PgDb::create();
    let s = setup(fast_knobs(Some(db.url.clone())));
    kill_during_reminder_burst(&s, 30, 20, 5);
}
