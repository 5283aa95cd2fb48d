//! The command line as an admin meets it, without servers.

use std::process::Command;

use crate::harness::{bin, repo};

#[test]
fn check_config_lists_every_problem_with_its_key_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let bad = std::fs::read_to_string(repo().join("config/local.toml"))
        .unwrap()
        .replace(
            "timezone = \"Europe/Stockholm\"",
            "timezone = \"Europe/Atlantis\"",
        )
        .replace(
            "address = \"deputy@example.test\"",
            "address = \"deputy@elsewhere.example\"",
        )
        .replace("port = 2525", "port = 2525\nmax_attempts = 0");
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, bad).unwrap();
    let out = Command::new(bin())
        .args(["check-config"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8_lossy(&out.stdout);
    for key in [
        "general.timezone",
        "routing.default.deputy.address",
        "smtp.max_attempts",
    ] {
        assert!(text.contains(key), "missing {key} in:\n{text}");
    }
    // `run` refuses the same file the same way, before touching anything.
    let out = Command::new(bin())
        .args(["run", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("general.timezone"));
}

#[test]
fn config_comes_from_the_environment_when_no_flag_is_given() {
    let out = Command::new(bin())
        .args(["check-config"])
        .env("BREACHWATCH_CONFIG", repo().join("config/example.toml"))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("example.toml: ok"));
}

#[test]
fn rules_test_names_the_rule_and_the_route() {
    let dir = tempfile::tempdir().unwrap();
    let eml = dir.path().join("n.eml");
    std::fs::write(
        &eml,
        "From: drift@larmnord.example\r\nTo: breach@example.test\r\nSubject: Cyberattack\r\n\
Date: Fri, 18 Jun 2021 20:05:00 +0200\r\n\r\nTrygghetslarm i hemtjänsten påverkas.\r\n",
    )
    .unwrap();
    let out = Command::new(bin())
        .args(["rules", "test"])
        .arg(&eml)
        .arg("--config")
        .arg(repo().join("config/local.toml"))
        .env("BREACHWATCH_IMAP_CA_FILE", repo().join("Cargo.toml"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("rule: vard-och-omsorg"), "{text}");
    assert!(text.contains("Vård- och omsorgsnämnden"), "{text}");
    assert!(text.contains("trygghetslarm"), "{text}");
}

/// A config from the shipped local.toml with its own database and an IMAP
/// port nobody listens on: the daemon starts, opens the store, starts its
/// workers and keeps retrying the mailbox, without touching the shared one.
fn offline_config(dir: &std::path::Path, db_url: &str) -> std::path::PathBuf {
    let text = std::fs::read_to_string(repo().join("config/local.toml"))
        .unwrap()
        .replace("port = 3993", "port = 9")
        .replace(
            "[general]",
            &format!("[general]\ndatabase_url = \"{db_url}\""),
        )
        .replace("database_url = \"sqlite://var/breachwatch.db\"", "");
    // Without the demo's web view: two of these daemons run at once (and a
    // demo may hold 127.0.0.1:8080).
    let text = without_web(&text);
    let path = dir.join("bw.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// The TOML text without the `[web]` section and its `[[web.…]]` tables.
fn without_web(text: &str) -> String {
    let mut out = String::new();
    let mut skipping = false;
    for line in text.lines() {
        if line.starts_with('[') {
            skipping = line == "[web]" || line.starts_with("[web.") || line.starts_with("[[web.");
        }
        if !skipping {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

fn bw(config: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(bin())
        .args(args)
        .arg("--config")
        .arg(config)
        .env("BREACHWATCH_IMAP_CA_FILE", repo().join("Cargo.toml"))
        .env_remove("BREACHWATCH_DATABASE_URL")
        .env_remove("NOTIFY_SOCKET")
        .output()
        .unwrap()
}

fn text(o: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Starts `run --no-migrate` with a systemd notify socket of our own and
/// waits for READY=1 and a watchdog ping; then SIGTERM and STOPPING=1, exit 0.
/// This is what `Type=notify` and `WatchdogSec=` rely on.
fn run_until_ready_then_stop(dir: &std::path::Path, config: &std::path::Path) {
    use std::os::unix::net::UnixDatagram;
    use std::time::Duration;
    let sock_path = dir.join("notify.sock");
    let sock = UnixDatagram::bind(&sock_path).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let log = dir.join("run.log");
    let mut child = Command::new(bin())
        .args(["run", "--no-migrate", "--config"])
        .arg(config)
        .env("BREACHWATCH_IMAP_CA_FILE", repo().join("Cargo.toml"))
        .env_remove("BREACHWATCH_DATABASE_URL")
        .env("NOTIFY_SOCKET", &sock_path)
        // WatchdogSec=0.4s: pings every 0.2 s.
        .env("WATCHDOG_USEC", "400000")
        .env_remove("WATCHDOG_PID")
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let mut buf = [0u8; 512];
    let n = sock.recv(&mut buf).unwrap_or_else(|e| {
        let _ = child.kill();
        panic!(
            "no READY from the daemon ({e}); log:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        )
    });
    assert_eq!(String::from_utf8_lossy(&buf[..n]).trim(), "READY=1");
    let log_text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(log_text.contains("store ready"), "{log_text}");
    let n = sock.recv(&mut buf).unwrap();
    assert_eq!(String::from_utf8_lossy(&buf[..n]).trim(), "WATCHDOG=1");
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    // Watchdog pings sent before the signal arrived may come first.
    let stopping = (0..50).any(|_| {
        let n = sock.recv(&mut buf).unwrap_or(0);
        String::from_utf8_lossy(&buf[..n]).trim() == "STOPPING=1"
    });
    assert!(stopping, "no STOPPING=1 after SIGTERM");
    let status = child.wait().unwrap();
    assert_eq!(
        status.code(),
        Some(0),
        "{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
}

/// `run --no-migrate` refuses a schema that is behind (exit 2, naming the
/// command to run); `migrate` applies the migrations and says which; then the
/// daemon starts without migrating and reports readiness.
fn migrate_story(db_url: &str) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = offline_config(dir.path(), db_url);
    let o = bw(&cfg, &["run", "--no-migrate"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("breachwatch migrate"), "{}", text(&o));
    assert!(text(&o).contains("behind"), "{}", text(&o));

    let o = bw(&cfg, &["migrate"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("migrated: applied 1, 2"),
        "{}",
        text(&o)
    );
    let o = bw(&cfg, &["migrate"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("schema up to date"),
        "{}",
        text(&o)
    );
    run_until_ready_then_stop(dir.path(), &cfg);
}

#[test]
fn migrate_then_run_without_migrating_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/m.db", dir.path().display());
    migrate_story(&db);

    // A database migrated by a newer release is refused too.
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        use sqlx::Connection;
        let mut c = sqlx::SqliteConnection::connect(&db).await.unwrap();
        sqlx::query(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
             VALUES (9999, 'from the future', 1, x'00', 0)",
        )
        .execute(&mut c)
        .await
        .unwrap();
    });
    let cfg = offline_config(dir.path(), &db);
    let o = bw(&cfg, &["run", "--no-migrate"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("newer release"), "{}", text(&o));
}

#[test]
fn migrate_then_run_without_migrating_on_postgres() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let admin = std::env::var("BREACHWATCH_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let db = format!("bw_migrate_{:08x}", rand::random::<u32>());
    rt.block_on(async {
        use sqlx::Connection;
        let mut c = sqlx::PgConnection::connect(&admin)
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL at {admin} is required for this test: {e}"));
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {db}")))
            .execute(&mut c)
            .await
            .unwrap();
    });
    let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
    migrate_story(&format!("{base}/{db}"));
    let o = {
        let dir = tempfile::tempdir().unwrap();
        let cfg = offline_config(dir.path(), &format!("{base}/{db}"));
        bw(&cfg, &["backup", "--out", "/tmp/never-written.db"])
    };
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("pg_dump"), "{}", text(&o));
    rt.block_on(async {
        use sqlx::Connection;
        let mut c = sqlx::PgConnection::connect(&admin).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE {db} WITH (FORCE)"
        )))
        .execute(&mut c)
        .await
        .unwrap();
    });
}

/// A store with cases and their timelines, copied by `backup`; the copy is a
/// working database: `register verify` passes and `cases list` is the same.
#[test]
fn backup_copies_a_store_that_verifies_and_lists_the_same_cases() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/live.db", dir.path().display());
    let cfg = offline_config(dir.path(), &db);
    for (i, body) in [
        "Provdata har haft ett dataintrång i ProvWeb.",
        "Larmnord: obehörig åtkomst till trygghetslarm, personnummer kan ha lästs.",
    ]
    .iter()
    .enumerate()
    {
        let eml = dir.path().join(format!("n{i}.eml"));
        std::fs::write(
            &eml,
            format!(
                "From: Staff <staff@example.test>\r\nTo: breach@example.test\r\n\
Subject: VB: Incident {i}\r\nDate: Mon, 21 Jun 2021 07:09:14 +0200\r\n\
Message-ID: <backup-{i}@x>\r\n\r\n{body}\r\n"
            ),
        )
        .unwrap();
        let o = bw(&cfg, &["ingest", eml.to_str().unwrap()]);
        assert!(o.status.success(), "{}", text(&o));
    }
    let before = bw(&cfg, &["cases", "list", "--json"]);
    let cases: serde_json::Value = serde_json::from_slice(&before.stdout).unwrap();
    assert_eq!(cases.as_array().map(Vec::len), Some(2), "{cases}");

    let copy = dir.path().join("copy.db");
    let o = bw(&cfg, &["backup", "--out", copy.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    // Never over an existing file.
    let o = bw(&cfg, &["backup", "--out", copy.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));

    // The live database goes away; the copy stands alone.
    for f in ["live.db", "live.db-wal", "live.db-shm"] {
        let _ = std::fs::remove_file(dir.path().join(f));
    }
    let restored_dir = tempfile::tempdir().unwrap();
    let restored = offline_config(restored_dir.path(), &format!("sqlite://{}", copy.display()));
    let o = bw(&restored, &["register", "verify"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("2 case(s)"),
        "{}",
        text(&o)
    );
    assert!(String::from_utf8_lossy(&o.stdout).contains("register intact"));
    let after = bw(&restored, &["cases", "list", "--json"]);
    assert!(after.status.success(), "{}", text(&after));
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&after.stdout).unwrap(),
        cases
    );
}

/// check-config as an admin reads it: every problem with its full key, in
/// words, the count first, all on stdout; a deprecated key as a warning.
#[test]
fn check_config_speaks_an_admins_language() {
    let dir = tempfile::tempdir().unwrap();
    let bad = std::fs::read_to_string(repo().join("config/local.toml"))
        .unwrap()
        .replace("port = 3993", "port = \"3993\"")
        .replace("username = ", "usernme = ")
        .replace("hours_after_awareness", "before_deadline_hours")
        .replace(
            "timezone = \"Europe/Stockholm\"",
            "timezone = \"Europe/Atlantis\"",
        );
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, bad).unwrap();
    let out = Command::new(bin())
        .args(["check-config"])
        .arg(&path)
        .env("BREACHWATCH_IMAP_CA_FILE", repo().join("Cargo.toml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines[0].ends_with("bad.toml: 4 problem(s)"), "{stdout}");
    for want in [
        "imap.port: expected a whole number from 0 to 65535, found the text \"3993\"",
        "imap.usernme: unknown setting; did you mean username?",
        "imap.username: is required but missing",
        "general.timezone: unknown time zone \"Europe/Atlantis\"",
        "warning: clock.before_deadline_hours: is deprecated",
    ] {
        assert!(stdout.contains(want), "missing {want:?} in:\n{stdout}");
    }
    assert!(!stdout.contains("digest.cron"), "{stdout}");
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Commands that never talk to the mail servers do not demand their
/// settings: `ingest` and `cases list` work with the IMAP CA file missing and
/// no password; `run` refuses the same file.
#[test]
fn offline_commands_do_not_need_the_mailbox_settings() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/o.db", dir.path().display());
    let cfg = offline_config(dir.path(), &db);
    let text_cfg = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("password = \"secret\"", "");
    std::fs::write(&cfg, text_cfg).unwrap();
    let eml = dir.path().join("n.eml");
    std::fs::write(
        &eml,
        "From: Staff <staff@example.test>\r\nTo: breach@example.test\r\nSubject: VB: Incident\r\n\
Date: Mon, 21 Jun 2021 07:09:14 +0200\r\nMessage-ID: <offline@x>\r\n\r\nDataintrång i ProvWeb.\r\n",
    )
    .unwrap();
    let run = |args: &[&str]| {
        Command::new(bin())
            .args(args)
            .arg("--config")
            .arg(&cfg)
            .env("BREACHWATCH_IMAP_CA_FILE", "/nonexistent/ca.pem")
            .env_remove("BREACHWATCH_IMAP_PASSWORD")
            .env_remove("BREACHWATCH_DATABASE_URL")
            .output()
            .unwrap()
    };
    for args in [
        vec!["ingest", eml.to_str().unwrap()],
        vec!["cases", "list"],
        vec!["register", "verify"],
        vec!["inspect", eml.to_str().unwrap()],
    ] {
        let o = run(&args);
        assert!(o.status.success(), "{args:?}: {}", text(&o));
    }
    let o = run(&["run"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("imap.ca_file"), "{}", text(&o));
    assert!(text(&o).contains("imap.password"), "{}", text(&o));
}

/// `stats` over cases opened from real notices: the numbers agree with what
/// `cases list` holds, the year is the year of awareness, and a year out of
/// range is refused.
#[test]
fn stats_counts_the_cases_of_the_year_of_awareness() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/stats.db", dir.path().display());
    let cfg = offline_config(dir.path(), &db);
    let fixtures = repo().join("tests/fixtures/notices");
    // 01 (2021, LabPortalen), its final report 03 (joins 01), 04 (2023).
    for f in [
        "01-labportal-intrang-vb-helg.eml",
        "03-labportal-slutrapport.eml",
        "04-trygghetslarm-cyberattack-natt.eml",
    ] {
        let o = bw(&cfg, &["ingest", fixtures.join(f).to_str().unwrap()]);
        assert!(o.status.success(), "{}", text(&o));
    }
    let list: serde_json::Value =
        serde_json::from_slice(&bw(&cfg, &["cases", "list", "--json"]).stdout).unwrap();
    let in_2021 = list
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| {
            c["aware_at"]
                .as_str()
                .is_some_and(|a| a.starts_with("2021"))
        })
        .count();
    assert_eq!(in_2021, 1, "{list}");

    let o = bw(&cfg, &["stats", "--year", "2021", "--format", "json"]);
    assert!(o.status.success(), "{}", text(&o));
    let s: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(s["cases"], 1, "{s}");
    assert_eq!(s["per_month"][5], 1, "aware in June 2021: {s}");
    assert_eq!(s["per_cause"][0]["label"], "attack", "{s}");
    assert_eq!(s["per_supplier"][0]["label"], "Provdata Sverige AB", "{s}");
    assert_eq!(s["outcomes"][4]["outcome"], "undecided", "{s}");
    assert_eq!(s["outcomes"][4]["count"], 1, "{s}");
    assert_eq!(s["reported"], 0, "{s}");

    let o = bw(&cfg, &["stats", "--year", "2023"]);
    assert!(o.status.success(), "{}", text(&o));
    let t = String::from_utf8_lossy(&o.stdout);
    assert!(t.contains("Antal incidenter: 1"), "{t}");
    assert!(t.contains("Tryggvakt Norden AB"), "{t}");
    assert!(t.contains("Antagonistiskt angrepp"), "{t}");

    let o = bw(&cfg, &["stats", "--year", "2023", "--format", "html"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("<svg"));

    let o = bw(&cfg, &["stats", "--year", "1"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}

/// `cases nis2-draft`: the NIS2 drafts of a case the reader suggested for
/// NIS2 (a cyberattack on the alarm centre), written to a directory, listed
/// with their SHA-256 as `sha256sum -c` reads them and recorded on the
/// timeline; an unknown case exits 2.
#[test]
fn cases_nis2_draft_writes_the_early_warning_and_the_notification_and_records_them() {
    use sha2::{Digest, Sha256};
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/nis2.db", dir.path().display());
    let cfg = offline_config(dir.path(), &db);
    let notice = repo().join("tests/fixtures/notices/04-trygghetslarm-cyberattack-natt.eml");
    let o = bw(&cfg, &["ingest", notice.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let list: serde_json::Value =
        serde_json::from_slice(&bw(&cfg, &["cases", "list", "--json"]).stdout).unwrap();
    let r = list[0]["ref"].as_str().unwrap().to_string();
    let out = dir.path().join("nis2");
    let o = bw(
        &cfg,
        &["cases", "nis2-draft", &r, "--out", out.to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", text(&o));
    let listing = String::from_utf8_lossy(&o.stdout).to_string();
    let mut names = Vec::new();
    for line in listing.lines() {
        let (sum, path) = line.split_once("  ").expect("sha256sum format");
        let bytes = std::fs::read(path).unwrap();
        assert_eq!(hex::encode(Sha256::digest(&bytes)), sum, "{path}");
        names.push(
            std::path::Path::new(path)
                .file_name()
                .unwrap()
                .to_string_lossy()
                .to_string(),
        );
    }
    for want in [
        format!("NIS2-tidig-varning-{r}.txt"),
        format!("NIS2-tidig-varning-{r}.html"),
        format!("NIS2-tidig-varning-{r}.json"),
        format!("NIS2-incidentanmalan-{r}.txt"),
        format!("NIS2-incidentanmalan-{r}.html"),
        format!("NIS2-incidentanmalan-{r}.json"),
        format!("Tidsfrister-NIS2-{r}.ics"),
    ] {
        assert!(names.contains(&want), "{want} missing from {names:?}");
    }
    // The early warning: to MCF, prefilled from the case, blanks marked.
    let ew = std::fs::read_to_string(out.join(format!("NIS2-tidig-varning-{r}.txt"))).unwrap();
    assert!(ew.contains("Myndigheten för civilt försvar"), "{ew}");
    assert!(ew.contains(&format!("Ärende: {r}")), "{ew}");
    assert!(ew.contains("angrepp misstänks"), "{ew}");
    assert!(ew.contains("gränsöverskridande"), "{ew}");
    assert!(ew.contains("[att fylla i]"), "{ew}");
    assert!(ew.contains("Att fylla i innan rapporten skickas:"), "{ew}");
    let inc = std::fs::read_to_string(out.join(format!("NIS2-incidentanmalan-{r}.txt"))).unwrap();
    for q in [
        "Allvarlighetsgrad",
        "Indikatorer på kompromettering",
        "Vidtagna och planerade åtgärder",
    ] {
        assert!(inc.contains(q), "{q}: {inc}");
    }
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.join(format!("NIS2-incidentanmalan-{r}.json"))).unwrap(),
    )
    .unwrap();
    assert_eq!(json["schema"], "breachwatch.nis2/1");
    assert_eq!(json["report"], "incident-notification");
    // One calendar entry per NIS2 deadline that has an instant (the final
    // report has none before the notification is sent).
    let ics = std::fs::read_to_string(out.join(format!("Tidsfrister-NIS2-{r}.ics"))).unwrap();
    assert_eq!(ics.matches("BEGIN:VEVENT").count(), 2, "{ics}");
    assert!(
        ics.contains(&format!("UID:{r}-nis2-early-warning@breachwatch")),
        "{ics}"
    );
    // The checksums are on the timeline.
    let show: serde_json::Value =
        serde_json::from_slice(&bw(&cfg, &["cases", "show", &r, "--json"]).stdout).unwrap();
    let ev = show["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|e| e["kind"] == "documents_generated" && e["data"]["via"] == "cli")
        .cloned()
        .expect("documents_generated by the cli");
    assert_eq!(ev["data"]["outcome"], "nis2");
    assert_eq!(
        ev["data"]["documents"].as_array().unwrap().len(),
        names.len()
    );
    let o = bw(
        &cfg,
        &[
            "cases",
            "nis2-draft",
            "PUI-1999-9999",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}

/// `[web]` on a free loopback port appended to a config; returns the port.
fn add_web(config: &std::path::Path) -> u16 {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap();
    let mut text = std::fs::read_to_string(config).unwrap();
    text.push_str(&format!(
        "\n[web]\nlisten = \"127.0.0.1:{port}\"\ncookie_key = \"{}\"\n",
        "5a".repeat(64)
    ));
    std::fs::write(config, text).unwrap();
    port
}

/// `probe` (the image's HEALTHCHECK): against a daemon whose `[web]` serves
/// and whose mailbox is watched, `/readyz` and `/healthz` → 0; against a
/// daemon whose IMAP server does not answer, `/healthz` → 0 but `/readyz` → 1
/// with the reason; against a closed port → 1; without `[web]`, the store
/// (migrated → 0, missing → 1).
#[test]
fn probe_asks_the_daemon_and_exits_0_only_when_it_says_200() {
    use crate::harness::{setup, wait_for, Knobs};
    let probe = |cfg: &std::path::Path, extra: &[&str]| {
        let mut args = vec!["probe"];
        args.extend_from_slice(extra);
        bw(cfg, &args)
    };

    // A daemon on the real stack, its own mailbox.
    let s = setup(Knobs::default());
    let port = add_web(&s.config);
    let d = s.start();
    let o = wait_for(30, "probe → 0", || {
        let o = probe(&s.config, &[]);
        (o.status.code() == Some(0)).then_some(o)
    });
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(
        out.contains(&format!("http://127.0.0.1:{port}/readyz: 200")),
        "{out}"
    );
    assert_eq!(out.lines().count(), 1, "{out}");
    let o = probe(&s.config, &["--live"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("/healthz: 200"), "{}", text(&o));
    d.terminate();
    // Stopped: nobody listens there any more.
    let o = probe(&s.config, &[]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));

    // A closed port, by --url (no configuration is read).
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let o = Command::new(bin())
        .args([
            "probe",
            "--url",
            &format!("http://127.0.0.1:{closed}/readyz"),
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert_eq!(text(&o).trim().lines().count(), 1, "{}", text(&o));

    // A daemon that serves but cannot reach its mailbox: live, not ready.
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/p.db", dir.path().display());
    let cfg = offline_config(dir.path(), &db);
    // Without [web]: the store. Missing → 1 (and not created); migrated → 0.
    let o = probe(&cfg, &[]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("does not exist"), "{}", text(&o));
    assert!(!dir.path().join("p.db").exists());
    assert_eq!(bw(&cfg, &["migrate"]).status.code(), Some(0));
    let o = probe(&cfg, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("no [web]"), "{}", text(&o));

    add_web(&cfg);
    let mut child = Command::new(bin())
        .args(["run", "--config"])
        .arg(&cfg)
        .env("BREACHWATCH_IMAP_CA_FILE", repo().join("Cargo.toml"))
        .env_remove("BREACHWATCH_DATABASE_URL")
        .env_remove("NOTIFY_SOCKET")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let live = (0..300).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(100));
        probe(&cfg, &["--live"]).status.code() == Some(0)
    });
    // The lease is taken and the IMAP connection fails within a few seconds.
    let mut ready = probe(&cfg, &[]);
    for _ in 0..150 {
        if text(&ready).contains("mailbox") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
        ready = probe(&cfg, &[]);
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(live, "the daemon never answered /healthz");
    assert_eq!(ready.status.code(), Some(1), "{}", text(&ready));
    assert!(text(&ready).contains("503"), "{}", text(&ready));
    assert!(text(&ready).contains("mailbox"), "{}", text(&ready));
}

/// How the daemon's executable is linked: read from its ELF dynamic section
/// (ELF64, little-endian, as build.rs links it for linux-gnu).
#[cfg(all(
    target_os = "linux",
    target_env = "gnu",
    target_pointer_width = "64",
    target_endian = "little"
))]
mod linking {
    use super::bin;

    /// The executable's dynamic section: (tag, value) pairs (ELF64,
    /// little-endian), read from its program headers.
    fn dynamic_entries(elf: &[u8]) -> Vec<(u64, u64)> {
        let u16_at = |o: usize| u16::from_le_bytes(elf[o..o + 2].try_into().unwrap()) as usize;
        let u64_at = |o: usize| u64::from_le_bytes(elf[o..o + 8].try_into().unwrap());
        assert_eq!(&elf[..4], b"\x7fELF", "not an ELF file");
        let (phoff, phentsize, phnum) = (u64_at(0x20) as usize, u16_at(0x36), u16_at(0x38));
        let mut out = Vec::new();
        for i in 0..phnum {
            let ph = phoff + i * phentsize;
            // PT_DYNAMIC
            if u32::from_le_bytes(elf[ph..ph + 4].try_into().unwrap()) == 2 {
                let (off, size) = (u64_at(ph + 8) as usize, u64_at(ph + 0x20) as usize);
                for e in (off..off + size).step_by(16) {
                    out.push((u64_at(e), u64_at(e + 8)));
                }
            }
        }
        out
    }

    /// build.rs links the daemon with its relative relocations packed (DT_RELR):
    /// the loader's table is a few kilobytes instead of 1.3 MB read at every
    /// start and kept resident.
    #[test]
    fn the_daemon_is_linked_with_packed_relocations() {
        const DT_RELASZ: u64 = 8;
        const DT_RELR: u64 = 36;
        let elf = std::fs::read(bin()).expect("the daemon's executable");
        let dynamic = dynamic_entries(&elf);
        assert!(
            dynamic.iter().any(|&(tag, _)| tag == DT_RELR),
            "no DT_RELR in the daemon's dynamic section: {dynamic:?}"
        );
        let rela = dynamic
            .iter()
            .find(|&&(tag, _)| tag == DT_RELASZ)
            .map_or(0, |&(_, v)| v);
        assert!(
            rela < 64 * 1024,
            "{rela} bytes of RELA relocations are left"
        );
    }
}
