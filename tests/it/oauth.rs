//! Mailbox and relay over OAuth2, for real: the daemon logs in to Dovecot with
//! IMAP `AUTHENTICATE OAUTHBEARER` (or XOAUTH2, when configured so) and sends
//! through Postfix's submission port
//! (SASL through Dovecot, which refuses unauthenticated clients), with tokens
//! from the loopback OAuth2 server (`deploy/local/oauth-server.py`) that
//! Dovecot introspects. Each test registers its own client there, so tests
//! run in parallel without sharing tokens or counters.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::*;

/// One request to the loopback OAuth2 server; returns (status, headers, body).
fn http(
    s: &Stack,
    method: &str,
    path: &str,
    auth: Option<&str>,
    body: &str,
) -> (u16, String, String) {
    // A stack started by an older up.sh has no OAuth2 server: say so.
    let port = s.env.get("MAILSTACK_OAUTH_PORT").cloned().unwrap_or_else(|| {
        panic!(
            "the mail stack in {} has no OAuth2 server (MAILSTACK_OAUTH_PORT missing): it was started by an up.sh without it; run deploy/local/up.sh from this tree",
            s.get("MAILSTACK_STATE_DIR")
        )
    });
    let mut c = std::net::TcpStream::connect(format!("127.0.0.1:{port}"))
        .unwrap_or_else(|e| panic!("OAuth2 test server on {port} is not answering: {e}"));
    c.set_read_timeout(Some(Duration::from_secs(10))).ok();
    let auth = auth
        .map(|a| format!("Authorization: {a}\r\n"))
        .unwrap_or_default();
    write!(
        c,
        "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    c.read_to_string(&mut out).expect("HTTP answer");
    let (head, body) = out.split_once("\r\n\r\n").unwrap_or((&out, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, head.to_string(), body.to_string())
}

struct Client {
    id: String,
    secret: String,
    reg_token: String,
}

fn register(s: &Stack, email: &str, lifetime: u64, redirect: Option<&str>) -> Client {
    let redirect = redirect
        .map(|r| format!(r#", "redirect_uris": ["{r}"]"#))
        .unwrap_or_default();
    let (status, _, body) = http(
        s,
        "POST",
        "/register",
        None,
        &format!(r#"{{"email": "{email}", "access_token_lifetime": {lifetime}{redirect}}}"#),
    );
    assert_eq!(status, 201, "register: {body}");
    let v: serde_json::Value = serde_json::from_str(&body).expect("json");
    Client {
        id: v["client_id"].as_str().unwrap().into(),
        secret: v["client_secret"].as_str().unwrap().into(),
        reg_token: v["registration_access_token"].as_str().unwrap().into(),
    }
}

fn stats(s: &Stack, c: &Client) -> serde_json::Value {
    let (_, _, body) = http(s, "GET", &format!("/stats/{}", c.id), None, "");
    serde_json::from_str(&body).expect("stats json")
}

fn count(v: &serde_json::Value, k: &str) -> u64 {
    v[k].as_u64().unwrap_or(0)
}

/// Rewrites the harness's password config to XOAUTH2 for IMAP and SMTP
/// (the submission port). `extra` goes into both `oauth2` sections.
fn use_oauth(setup: &Setup, c: &Client, extra: &str) {
    let secret_file = setup.dir.path().join("client-secret");
    std::fs::write(&secret_file, &c.secret).unwrap();
    let url = setup.stack.get("MAILSTACK_OAUTH_URL");
    let section = format!(
        "token_url = \"{url}/token\"\nclient_id = \"{id}\"\nclient_secret_file = \"{f}\"\nscope = \"mail\"\n{extra}",
        id = c.id,
        f = secret_file.display()
    );
    let text = std::fs::read_to_string(&setup.config).unwrap();
    let pw_line = format!("password = \"{}\"\n", setup.stack.get("MAILSTACK_PASSWORD"));
    assert!(text.contains(&pw_line));
    let text = text.replacen(&pw_line, "auth = \"oauth2\"\n", 1);
    let text = text.replacen(
        "\n[smtp]\n",
        &format!("\n[imap.oauth2]\n{section}\n[smtp]\n"),
        1,
    );
    let smtp_port = format!("port = {}\n", setup.stack.smtp_port());
    let text = text.replacen(
        &smtp_port,
        &format!(
            "port = {}\nauth = \"oauth2\"\nusername = \"{}\"\n",
            setup.stack.get("MAILSTACK_SUBMISSION_PORT"),
            setup.users.addr("breach")
        ),
        1,
    );
    let text = text.replacen(
        "\n[auth]\n",
        &format!("\n[smtp.oauth2]\n{section}\n[auth]\n"),
        1,
    );
    std::fs::write(&setup.config, text).unwrap();
}

/// The daemon with `BREACHWATCH_LOG` as given.
fn start_with_log(setup: &Setup, level: &str) -> Daemon {
    let log = setup
        .dir
        .path()
        .join(format!("daemon-{}.log", rand::random::<u32>()));
    let f = std::fs::File::create(&log).expect("log file");
    let child = Command::new(bin())
        .args(["run", "--config"])
        .arg(&setup.config)
        .env_remove("BREACHWATCH_DATABASE_URL")
        .env_remove("BREACHWATCH_IMAP_CA_FILE")
        .env("BREACHWATCH_LOG", level)
        .stdout(Stdio::null())
        .stderr(f)
        .spawn()
        .expect("start breachwatch run");
    Daemon { child, log }
}

fn opening(s: &Setup, n: usize) -> Mail {
    wait_for(30, "opening notice", || {
        let v: Vec<Mail> = s
            .mails("official", "")
            .into_iter()
            .filter(|m| m.subject.contains("Ny personuppgiftsincident"))
            .collect();
        (v.len() >= n).then(|| v.into_iter().next().unwrap())
    })
}

/// Closes the daemon's IMAP session from the server side (Dovecot's `kick`),
/// so the daemon must log in again.
fn kick(s: &Setup) {
    let out = Command::new("doveadm")
        .args(["-c", &s.stack.get("MAILSTACK_DOVECOT_CONF"), "kick"])
        .arg(s.users.addr("breach"))
        .output()
        .expect("doveadm kick");
    assert!(
        out.status.success(),
        "doveadm kick: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The SASL mechanisms the servers themselves logged for `user`: Dovecot's
/// IMAP logins (`method=`) and Postfix submission's accepted mail
/// (`sasl_method=`).
fn server_methods(s: &Setup, user: &str) -> (Vec<String>, Vec<String>) {
    let dir = std::path::PathBuf::from(s.stack.get("MAILSTACK_LOG_DIR"));
    let read = |f: &str| {
        String::from_utf8_lossy(&std::fs::read(dir.join(f)).unwrap_or_default()).into_owned()
    };
    let imap = read("dovecot.log")
        .lines()
        .filter(|l| l.contains(&format!("Login: user=<{user}>")))
        .filter_map(|l| l.split("method=").nth(1))
        .map(|m| m.split(',').next().unwrap_or("").to_string())
        .collect();
    let smtp = read("postfix.log")
        .lines()
        .filter(|l| l.contains(&format!("sasl_username={user}")))
        .filter_map(|l| l.split("sasl_method=").nth(1))
        .map(|m| m.split(',').next().unwrap_or("").to_string())
        .collect();
    (imap, smtp)
}

fn logins(d: &Daemon) -> usize {
    d.log_text().matches("IMAP connected").count()
}

#[test]
fn notice_to_case_to_command_over_oauthbearer_and_no_secret_in_trace_logs() {
    let s = setup(Knobs::default());
    let c = register(&s.stack, &s.users.addr("breach"), 3600, None);
    use_oauth(&s, &c, "");
    let d = start_with_log(&s, "trace");

    s.forward(2, "Dataintrång hos Provdata");
    // The opening notice went out through the submission port, which refuses
    // clients that did not authenticate: XOAUTH2 worked for SMTP too.
    let open = opening(&s, 1);
    let r = s.cases()[0]["ref"].as_str().unwrap().to_string();
    s.command(&r, &open, "Kvittera\n\nJag tar ärendet.", "acknowledged");
    wait_for(30, "confirmation", || {
        s.mails("official", "")
            .into_iter()
            .find(|m| m.subject.contains("Utfört"))
    });

    let st = stats(&s.stack, &c);
    // One token serves IMAP and SMTP (one source per client in the process).
    assert_eq!(count(&st, "token_requests"), 1, "{st}");
    assert!(count(&st, "introspections") >= 2, "{st}");
    assert_eq!(count(&st, "token_errors"), 0, "{st}");

    let log = d.log_text();
    assert!(log.contains("IMAP connected"), "{log}");
    assert!(
        log.contains("OAuth2 access token fetched"),
        "trace log is on: {log}"
    );
    assert!(!log.contains(&c.secret), "client secret in the log");
    let token_like = regex::Regex::new(r"\b(at|rt)-[A-Za-z0-9_-]{20,}").unwrap();
    assert!(!token_like.is_match(&log), "a token in the log");
    assert!(!log.contains("Bearer"), "an XOAUTH2 string in the log");
    d.terminate();

    // Both servers offer OAUTHBEARER, so `auto` chose it: as the servers saw it.
    let (imap, smtp) = server_methods(&s, &s.users.addr("breach"));
    assert!(
        !imap.is_empty() && imap.iter().all(|m| m == "OAUTHBEARER"),
        "Dovecot: {imap:?}"
    );
    assert!(
        !smtp.is_empty() && smtp.iter().all(|m| m == "OAUTHBEARER"),
        "Postfix: {smtp:?}"
    );
}

#[test]
fn notice_to_case_to_command_over_xoauth2_when_config_forces_it() {
    let s = setup(Knobs::default());
    let c = register(&s.stack, &s.users.addr("breach"), 3600, None);
    use_oauth(&s, &c, "sasl_mechanism = \"xoauth2\"\n");
    let d = s.start();
    s.forward(2, "Dataintrång hos Provdata");
    // Notice -> case -> opening notice -> reply command -> confirmation.
    let open = opening(&s, 1);
    let r = s.cases()[0]["ref"].as_str().unwrap().to_string();
    s.command(&r, &open, "Kvittera\n\nJag tar ärendet.", "acknowledged");
    wait_for(30, "confirmation", || {
        s.mails("official", "")
            .into_iter()
            .find(|m| m.subject.contains("Utfört"))
    });
    let log = d.log_text();
    assert!(
        log.contains("mechanism=\"XOAUTH2\"") || log.contains("mechanism=XOAUTH2"),
        "{log}"
    );
    d.terminate();
    let (imap, smtp) = server_methods(&s, &s.users.addr("breach"));
    assert!(
        !imap.is_empty() && imap.iter().all(|m| m == "XOAUTH2"),
        "Dovecot: {imap:?}"
    );
    assert!(
        !smtp.is_empty() && smtp.iter().all(|m| m == "XOAUTH2"),
        "Postfix: {smtp:?}"
    );
}

#[test]
fn a_token_revoked_mid_session_is_replaced_once_and_idle_resumes() {
    let s = setup(Knobs::default());
    let c = register(&s.stack, &s.users.addr("breach"), 3600, None);
    use_oauth(&s, &c, "");
    let d = s.start();
    wait_for(20, "IMAP login", || (logins(&d) == 1).then_some(()));
    assert_eq!(count(&stats(&s.stack, &c), "token_requests"), 1);

    // The provider ends the token early; the open IMAP session is not asked
    // again (IMAP authenticates once), so nothing happens until a new login.
    let (st, _, body) = http(&s.stack, "POST", &format!("/expire/{}", c.id), None, "");
    assert_eq!(st, 200, "{body}");
    kick(&s);
    wait_for(30, "a second IMAP login", || {
        (logins(&d) >= 2).then_some(())
    });
    let log = d.log_text();
    assert!(
        log.contains("refused") && log.contains("fetching a new token"),
        "the cached token was refused and replaced: {log}"
    );
    let after = stats(&s.stack, &c);
    assert_eq!(count(&after, "token_requests"), 2, "one refresh: {after}");

    // IDLE resumed on the new session: a notice opens a case (and the opening
    // notice goes out over SMTP with the new token).
    s.forward(2, "Dataintrång hos Provdata");
    opening(&s, 1);
    assert_eq!(logins(&d), 2, "no further reconnects");
    d.terminate();
}

#[test]
fn a_deleted_client_fails_with_a_clear_error_and_backs_off() {
    let s = setup(Knobs::default());
    let c = register(&s.stack, &s.users.addr("breach"), 3600, None);
    use_oauth(&s, &c, "");
    let d = s.start();
    wait_for(20, "IMAP login", || (logins(&d) == 1).then_some(()));

    let (st, _, _) = http(
        &s.stack,
        "DELETE",
        &format!("/register/{}", c.id),
        Some(&format!("Bearer {}", c.reg_token)),
        "",
    );
    assert_eq!(st, 204);
    let t0 = Instant::now();
    kick(&s);
    let t_wait = Instant::now();
    while !d.log_text().contains("invalid_client") {
        assert!(
            t_wait.elapsed() < Duration::from_secs(20),
            "no refusal in the log after 20 s:\n{}",
            d.log_text()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let log = d.log_text();
    let line = log
        .lines()
        .find(|l| l.contains("invalid_client"))
        .unwrap()
        .to_string();
    assert!(line.contains("imap.oauth2"), "names the config key: {line}");
    assert!(!log.contains(&c.secret));
    // The ordinary reconnect backoff (2 s, 4 s, 8 s … with jitter), not a loop.
    std::thread::sleep(Duration::from_secs(10).saturating_sub(t0.elapsed()));
    let errors = count(&stats(&s.stack, &c), "token_errors");
    assert!(
        (1..=4).contains(&errors),
        "{errors} token requests in 10 s after the client was deleted"
    );
    d.terminate();
}

#[test]
fn login_saves_a_refresh_token_and_the_daemon_rotates_it() {
    let s = setup(Knobs::default());
    let redirect = "http://127.0.0.1:1/callback";
    let c = register(&s.stack, &s.users.addr("breach"), 3600, Some(redirect));
    let rt_file = s.dir.path().join("refresh-token");
    let url = s.stack.get("MAILSTACK_OAUTH_URL");
    use_oauth(
        &s,
        &c,
        &format!(
            "auth_url = \"{url}/authorize\"\nredirect_url = \"{redirect}\"\nrefresh_token_file = \"{}\"\n",
            rt_file.display()
        ),
    );

    // The admin's step: open the printed address, paste where the browser landed.
    let mut login = Command::new(bin())
        .args(["login", "--mailbox", "default", "--config"])
        .arg(&s.config)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("breachwatch login");
    let mut out = BufReader::new(login.stdout.take().unwrap());
    let mut consent = String::new();
    let mut line = String::new();
    while out.read_line(&mut line).unwrap() > 0 {
        if line.starts_with("http") {
            consent = line.trim().to_string();
            break;
        }
        line.clear();
    }
    assert!(consent.contains("code_challenge="), "PKCE: {consent}");
    let path = consent.trim_start_matches(&url);
    let (st, head, _) = http(&s.stack, "GET", path, None, "");
    assert_eq!(st, 302, "{head}");
    let landed = head
        .lines()
        .find_map(|l| l.strip_prefix("Location: "))
        .expect("redirect")
        .to_string();
    let mut stdin = login.stdin.take().unwrap();
    writeln!(stdin, "{landed}").unwrap();
    drop(stdin);
    let mut rest = String::new();
    out.read_to_string(&mut rest).ok();
    let status = login.wait().unwrap();
    let mut err = String::new();
    login.stderr.take().unwrap().read_to_string(&mut err).ok();
    assert!(status.success(), "login failed: {err}");
    assert!(rest.contains("refresh token saved"), "{rest}");
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(&rt_file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let first = std::fs::read_to_string(&rt_file).unwrap();

    let d = s.start();
    s.forward(2, "Dataintrång hos Provdata");
    opening(&s, 1);
    // The daemon's refresh spent the first refresh token; the rotated one is saved.
    let now = std::fs::read_to_string(&rt_file).unwrap();
    assert_ne!(first.trim(), now.trim(), "rotated refresh token saved");
    assert_eq!(
        std::fs::metadata(&rt_file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let st = stats(&s.stack, &c);
    // The code exchange and one refresh (IMAP and SMTP share it).
    assert_eq!(count(&st, "token_requests"), 2, "{st}");
    d.terminate();
}

#[test]
fn a_token_that_expires_mid_session_is_renewed_before_use_and_idle_goes_on() {
    let s = setup(Knobs::default());
    // Tokens live 4 s: the IDLE session outlives its token.
    let c = register(&s.stack, &s.users.addr("breach"), 4, None);
    use_oauth(&s, &c, "");
    let d = s.start();
    wait_for(20, "IMAP login", || (logins(&d) == 1).then_some(()));
    std::thread::sleep(Duration::from_secs(5));
    assert_eq!(count(&stats(&s.stack, &c), "token_requests"), 1);

    // IMAP authenticated once: the session (IDLE) goes on with its token
    // expired; the opening notice needs SMTP, which fetches a new token first.
    s.forward(2, "Dataintrång hos Provdata");
    opening(&s, 1);
    assert_eq!(logins(&d), 1, "the IDLE session went on");
    let after = count(&stats(&s.stack, &c), "token_requests");
    assert_eq!(after, 2, "a new token for SMTP, fetched before use");

    // A new IMAP login after expiry fetches anew without being refused first.
    std::thread::sleep(Duration::from_secs(5));
    kick(&s);
    wait_for(30, "a second IMAP login", || {
        (logins(&d) >= 2).then_some(())
    });
    assert!(!d.log_text().contains("refused"), "{}", d.log_text());
    assert_eq!(count(&stats(&s.stack, &c), "token_requests"), 3);
    // IDLE resumed on the new session: another supplier's notice opens a case.
    let now = chrono::Utc::now();
    s.send(
        "staff",
        &outlook_forward_from(
            &s,
            now - chrono::Duration::hours(1),
            "Incident hos Skolplattformen",
            now,
            "skolplattform.example",
            "Elevregistret",
        ),
    );
    opening(&s, 2);
    d.terminate();
}

#[test]
fn smtp_replaces_a_token_the_server_refused_and_sends() {
    let s = setup(Knobs::default());
    let c = register(&s.stack, &s.users.addr("breach"), 3600, None);
    use_oauth(&s, &c, "");
    let d = s.start();
    wait_for(20, "IMAP login", || (logins(&d) == 1).then_some(()));

    // The provider ends the token the daemon holds; the IMAP session goes on,
    // and the first mail (the opening notice) meets a refusal at SMTP AUTH.
    let (st, _, _) = http(&s.stack, "POST", &format!("/expire/{}", c.id), None, "");
    assert_eq!(st, 200);
    s.forward(2, "Dataintrång hos Provdata");
    opening(&s, 1);
    let log = d.log_text();
    // Postfix offers OAUTHBEARER: its refusal (a 334 error challenge, our
    // %x01, then 535) is recognised like XOAUTH2's.
    assert!(log.contains("SMTP OAUTHBEARER refused"), "{log}");
    // Replaced within the same send: no mail needed a second outbox attempt.
    assert!(
        log.contains("attempts=1") && !log.contains("attempts=2"),
        "{log}"
    );
    assert_eq!(count(&stats(&s.stack, &c), "token_requests"), 2);
    d.terminate();
}

/// `breachwatch login --device` as the admin runs it; `approve` plays the
/// person who enters the code at the provider (the test server's
/// `/device/approve`). Returns the login's exit status, stdout and stderr.
fn device_login(s: &Setup, approve: impl FnOnce(&str)) -> (bool, String, String) {
    let mut login = Command::new(bin())
        .args(["login", "--device", "--mailbox", "default", "--config"])
        .arg(&s.config)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("breachwatch login --device");
    let mut out = BufReader::new(login.stdout.take().unwrap());
    let mut shown = String::new();
    let mut line = String::new();
    let mut code = None;
    while out.read_line(&mut line).unwrap() > 0 {
        shown.push_str(&line);
        if line.starts_with("Waiting") {
            break;
        }
        let t = line.trim();
        if t.len() == 9 && t.as_bytes()[4] == b'-' {
            code = Some(t.to_string());
        }
        line.clear();
    }
    let Some(code) = code else {
        let _ = login.wait();
        let mut err = String::new();
        login.stderr.take().unwrap().read_to_string(&mut err).ok();
        panic!("no user code shown: {shown}\n{err}");
    };
    // The login polls meanwhile: it must wait, not fail, while pending.
    std::thread::sleep(Duration::from_secs(2));
    approve(&code);
    let mut rest = String::new();
    out.read_to_string(&mut rest).ok();
    let status = login.wait().unwrap();
    let mut err = String::new();
    login.stderr.take().unwrap().read_to_string(&mut err).ok();
    (status.success(), format!("{shown}{rest}"), err)
}

#[test]
fn device_login_saves_a_refresh_token_the_daemon_uses_and_a_denial_is_named() {
    let s = setup(Knobs::default());
    let c = register(&s.stack, &s.users.addr("breach"), 3600, None);
    let rt_file = s.dir.path().join("refresh-token");
    let url = s.stack.get("MAILSTACK_OAUTH_URL");
    use_oauth(
        &s,
        &c,
        &format!(
            "device_authorization_url = \"{url}/device_authorization\"\nrefresh_token_file = \"{}\"\n",
            rt_file.display()
        ),
    );

    // Denied first: the login names the provider's error code and saves nothing.
    let (ok, out, err) = device_login(&s, |code| {
        let (st, _, body) = http(
            &s.stack,
            "POST",
            "/device/approve",
            None,
            &format!("user_code={code}&deny=1"),
        );
        assert_eq!(st, 200, "{body}");
    });
    assert!(!ok, "{out}");
    assert!(
        err.contains("access_denied") && err.contains("imap.oauth2"),
        "{err}"
    );
    assert!(!rt_file.exists());

    let (ok, out, err) = device_login(&s, |code| {
        let (st, _, body) = http(
            &s.stack,
            "POST",
            "/device/approve",
            None,
            &format!("user_code={}", code.to_lowercase()),
        );
        assert_eq!(st, 200, "{body}");
    });
    assert!(ok, "{out}\n{err}");
    assert!(out.contains(&format!("{url}/device")), "{out}");
    assert!(out.contains("refresh token saved"), "{out}");
    use std::os::unix::fs::PermissionsExt as _;
    assert_eq!(
        std::fs::metadata(&rt_file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let first = std::fs::read_to_string(&rt_file).unwrap();
    assert!(!out.contains(first.trim()) && !err.contains(first.trim()));

    // The daemon logs in with it (and rotates it).
    let d = s.start();
    s.forward(2, "Dataintrång hos Provdata");
    opening(&s, 1);
    let now = std::fs::read_to_string(&rt_file).unwrap();
    assert_ne!(first.trim(), now.trim(), "rotated refresh token saved");
    d.terminate();
}
