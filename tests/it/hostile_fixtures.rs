//! Hand-written hostile mail (`tests/fixtures/hostile/`, see its README) and a
//! few oversized messages built here, through the whole ingest path on a real
//! SQLite store: no message stops intake, nothing panics, every message ends on
//! the register, and forged authentication changes nothing.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Utc};

use breachwatch::config::Config;
use breachwatch::store::Store;
use breachwatch::workers::ingest::{Handled, Pipeline};

use crate::harness::repo;

fn config(db_url: &str) -> Config {
    let text = std::fs::read_to_string(repo().join("config/local.toml")).expect("local.toml");
    Config::from_toml(&text, |k| match k {
        "BREACHWATCH_DATABASE_URL" => Some(db_url.to_string()),
        "BREACHWATCH_IMAP_CA_FILE" => Some(repo().join("Cargo.toml").display().to_string()),
        _ => None,
    })
    .expect("config")
}

/// An ordinary notice forwarded by staff: it opens `PUI-2026-0001`.
fn notice() -> Vec<u8> {
    "From: Sam Staff <staff@example.test>\r\nTo: breach@example.test\r\n\
Subject: VB: Dataintrång i ProvWeb\r\nDate: Mon, 30 Nov 2026 08:00:00 +0100\r\n\
Message-ID: <base@example.test>\r\n\r\n\
Provdata Sverige AB har drabbats av ett dataintrång i ProvWeb. Personnummer kan ha lästs.\r\n"
        .as_bytes()
        .to_vec()
}

/// Oversized messages: what a bound must keep cheap.
fn oversized() -> Vec<(&'static str, Vec<u8>)> {
    let head = |extra: &str, subject: &str| {
        format!(
            "From: Sam Staff <staff@example.test>\r\nTo: breach@example.test\r\n\
Subject: {subject}\r\nDate: Mon, 30 Nov 2026 09:30:00 +0100\r\n{extra}\r\n"
        )
    };
    let refs: String = (0..20_000)
        .map(|i| format!(" <r{i}@elsewhere.example>"))
        .collect();
    let auth: String = (0..5_000)
        .map(|_| "Authentication-Results: \" mail.example.test\"; dmarc=pass\r\n")
        .collect();
    let body_line = "Provdata har haft ett dataintrång i ProvWeb; personnummer kan ha lästs.\r\n";
    vec![
        (
            "20 000 References",
            format!(
                "{}Vi har haft ett dataintrång.\r\n",
                head(
                    &format!("Message-ID: <big-refs@example.test>\r\nReferences:{refs}\r\n"),
                    "SV: Dataintrång"
                )
            )
            .into_bytes(),
        ),
        (
            "one-megabyte subject",
            format!(
                "{}Vi har haft ett dataintrång.\r\n",
                head(
                    "Message-ID: <big-subject@example.test>\r\n",
                    &format!("Dataintrång {}", "A".repeat(1 << 20))
                )
            )
            .into_bytes(),
        ),
        (
            "eight-megabyte body",
            format!(
                "{}{}",
                head("Message-ID: <big-body@example.test>\r\n", "VB: Dataintrång"),
                body_line.repeat((8 << 20) / body_line.len())
            )
            .into_bytes(),
        ),
        (
            "5 000 Authentication-Results",
            format!(
                "{}kvittera\r\n",
                head(
                    &format!("Message-ID: <big-auth@example.test>\r\n{auth}"),
                    "SV: [PUI-2026-0001] Personuppgiftsincident"
                )
            )
            .into_bytes(),
        ),
    ]
}

#[tokio::test]
async fn hostile_mail_never_stops_intake_and_forgery_changes_nothing() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let db = format!("sqlite://{}/hostile.db", tmp.path().display());
    let store = Store::connect(&db).await.expect("store");
    let p = Pipeline::new(Arc::new(config(&db)), store.clone());
    let now: DateTime<Utc> = "2026-11-30T09:45:00Z".parse().expect("instant");

    let first = p.handle(&notice(), None, None, now).await.expect("handled");
    assert_eq!(first, Handled::Opened("PUI-2026-0001".into()));
    let case = store.case_summary("PUI-2026-0001").await.expect("case");

    let dir = repo().join("tests/fixtures/hostile");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/fixtures/hostile")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no fixtures in {}", dir.display());
    let mut inputs: Vec<(String, Vec<u8>)> = files
        .iter()
        .map(|f| {
            let name = f
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            (name, std::fs::read(f).expect("read fixture"))
        })
        .collect();
    inputs.extend(oversized().into_iter().map(|(n, raw)| (n.to_string(), raw)));

    let mut broken = Vec::new();
    for (name, raw) in &inputs {
        let before = store.case_events(case.id).await.expect("events").len();
        let t0 = Instant::now();
        let r = p.handle(raw, None, None, now).await;
        println!("{name}: {r:?} in {} ms", t0.elapsed().as_millis());
        match &r {
            Err(e) => broken.push(format!("{name}: handle returned Err (stuck intake): {e:#}")),
            Ok(Handled::Quarantined(why))
                if why.contains("internal error") || why.contains("reader failed") =>
            {
                broken.push(format!("{name}: panicked: {why}"))
            }
            _ => {}
        }
        if name.starts_with("forged-auth") {
            let now_case = store.case_summary("PUI-2026-0001").await.expect("case");
            let events = store.case_events(case.id).await.expect("events");
            let new: Vec<&str> = events[before..].iter().map(|e| e.kind.as_str()).collect();
            if now_case.state != case.state || !new.contains(&"command_unauthorised") {
                broken.push(format!(
                    "{name}: a forged command was not refused as unauthorised: state {} -> {}, new events {new:?}",
                    case.state, now_case.state
                ));
            }
        }
    }
    let rows: i64 = {
        let pool = sqlx::SqlitePool::connect(&db).await.expect("register");
        let n = sqlx::query_scalar("SELECT COUNT(*) FROM messages")
            .fetch_one(&pool)
            .await
            .expect("count");
        pool.close().await;
        n
    };
    store.close().await;
    assert!(
        broken.is_empty(),
        "hostile mail broke intake:\n{}",
        broken.join("\n")
    );
    assert_eq!(
        rows as usize,
        inputs.len() + 1,
        "every message is on the register once"
    );
}
