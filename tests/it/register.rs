//! The art. 33(5) register under attack, on both backends: an edited case row, a
//! truncated timeline with its head reset, a deleted case, and a consistent
//! rewrite that only an anchor saved outside the database (the DPO digest) can
//! expose. Each attack is one an attacker used against `register verify`.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use breachwatch::config::Config;
use breachwatch::core::timeline;
use breachwatch::register::{read_anchor, verify, Report};
use breachwatch::store::Store;
use breachwatch::workers::digest::send_digest;
use breachwatch::workers::ingest::{Handled, Pipeline};

use crate::harness::bin;

const CA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml");

fn config(db_url: &str) -> Config {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config/local.toml")).unwrap();
    Config::from_toml(&text, |k| match k {
        "BREACHWATCH_DATABASE_URL" => Some(db_url.to_string()),
        "BREACHWATCH_IMAP_CA_FILE" => Some(CA.to_string()),
        _ => None,
    })
    .unwrap()
}

fn notice(id: &str) -> Vec<u8> {
    format!(
        "From: Staff <staff@example.test>\r\nTo: breach@example.test\r\nSubject: VB: Dataintrång hos Provdata\r\n\
Date: Mon, 21 Jun 2021 07:09:14 +0200\r\nMessage-ID: <{id}>\r\n\r\n\
Provdata har haft ett dataintrång i ProvWeb.\r\n"
    )
    .into_bytes()
}

/// A command from the official, submitted locally (trusted in local.toml).
fn command(case_ref: &str, id: &str, parent: &str, line: &str) -> Vec<u8> {
    format!(
        "Received: from vm (localhost [127.0.0.1]) by mail.example.test (Postfix) with ESMTP id 1; Mon, 21 Jun 2021 08:00:00 +0200\r\n\
From: official@example.test\r\nTo: breach@example.test\r\nSubject: SV: [{case_ref}]\r\n\
Date: Mon, 21 Jun 2021 08:00:00 +0200\r\nMessage-ID: <{id}>\r\nIn-Reply-To: <{parent}>\r\n\r\n{line}\r\n"
    )
    .into_bytes()
}

async fn open(p: &Pipeline, id: &str, now: DateTime<Utc>) -> String {
    match p.handle(&notice(id), None, None, now).await.unwrap() {
        Handled::Opened(r) => r,
        other => panic!("expected a case, got {other:?}"),
    }
}

async fn attach(p: &Pipeline, raw: &[u8], now: DateTime<Utc>) {
    let h = p.handle(raw, None, None, now).await.unwrap();
    assert!(matches!(h, Handled::Attached(_)), "{h:?}");
}

/// The first problem verify names, or a text saying it found none (so that a
/// failing assertion shows what happened).
fn first_problem(r: &Report) -> String {
    r.problems()
        .first()
        .cloned()
        .unwrap_or_else(|| "(verify found no problem)".into())
}

fn problems(r: &Report) -> String {
    r.problems().join("\n")
}

/// `breachwatch register verify [--anchor FILE]` on this database: exit code and
/// output.
fn cli_verify(db_url: &str, anchor: Option<&std::path::Path>) -> (i32, String) {
    let mut cmd = std::process::Command::new(bin());
    cmd.args(["register", "verify", "--config"])
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/config/local.toml"))
        .env("BREACHWATCH_DATABASE_URL", db_url)
        .env("BREACHWATCH_IMAP_CA_FILE", CA);
    if let Some(a) = anchor {
        cmd.arg("--anchor").arg(a);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// Runs `sql` with the given text binds on the same database.
async fn exec(store: &Store, sql: &str, binds: &[&str]) {
    match store {
        Store::Sqlite(p) => {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.to_string()));
            for b in binds {
                q = q.bind(b.to_string());
            }
            q.execute(&p.pool().await).await.unwrap();
        }
        Store::Postgres(p) => {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.to_string()));
            for b in binds {
                q = q.bind(b.to_string());
            }
            q.execute(p).await.unwrap();
        }
    }
}

/// Sets a timestamp column of a case (bound as a timestamp, as the store does).
async fn set_aware_at(store: &Store, case_ref: &str, t: DateTime<Utc>) {
    let sql = "UPDATE cases SET aware_at = $1 WHERE ref = $2";
    match store {
        Store::Sqlite(p) => {
            sqlx::query(sql)
                .bind(t)
                .bind(case_ref)
                .execute(&p.pool().await)
                .await
                .unwrap();
        }
        Store::Postgres(p) => {
            sqlx::query(sql)
                .bind(t)
                .bind(case_ref)
                .execute(p)
                .await
                .unwrap();
        }
    }
}

async fn digest_raw(store: &Store) -> Vec<u8> {
    let sql = "SELECT r.raw FROM outbox o JOIN outbox_raw r ON r.id = o.id \
               WHERE o.purpose = 'digest' ORDER BY o.id DESC LIMIT 1";
    match store {
        Store::Sqlite(p) => sqlx::query_scalar(sql)
            .fetch_one(&p.pool().await)
            .await
            .unwrap(),
        Store::Postgres(p) => sqlx::query_scalar(sql).fetch_one(p).await.unwrap(),
    }
}

/// Rewrites a case's whole timeline as an attacker with the code would: one
/// event's data changed, every hash after it recomputed, the head reset.
async fn rewrite_consistently(store: &Store, case_ref: &str) {
    let record = store.case_by_ref(case_ref).await.unwrap().unwrap();
    let chain = store.case_chain(record.id, &record.case_ref).await.unwrap();
    let mut out: Vec<timeline::StoredEvent> = Vec::new();
    for (i, e) in chain.iter().enumerate() {
        let mut ev = e.event.clone();
        if i == 0 {
            ev.data["forged"] = serde_json::json!(true);
        }
        let s = timeline::append_sealed(out.last(), ev, e.seal.clone());
        out.push(s);
    }
    for s in &out {
        let seq = s.event.seq.to_string();
        let id = record.id.to_string();
        let sql_pg = "UPDATE events SET data = $1, prev_hash = $2, hash = $3 WHERE case_id = CAST($4 AS BIGINT) AND seq = CAST($5 AS BIGINT)";
        exec(
            store,
            sql_pg,
            &[&s.event.data.to_string(), &s.prev_hash, &s.hash, &id, &seq],
        )
        .await;
    }
    let head = out.last().unwrap().hash.clone();
    exec(
        store,
        "UPDATE case_plans SET timeline_head = $1 WHERE case_id = (SELECT id FROM cases WHERE ref = $2)",
        &[&head, case_ref],
    )
    .await;
}

/// Turns a case opened by this code into one written before migration 0003:
/// unsealed events hashed the old way, and the register counter as it was.
async fn make_legacy(store: &Store, case_ref: &str) {
    let record = store.case_by_ref(case_ref).await.unwrap().unwrap();
    let chain = store.case_chain(record.id, &record.case_ref).await.unwrap();
    let mut out: Vec<timeline::StoredEvent> = Vec::new();
    for e in &chain {
        let s = timeline::append(out.last(), e.event.clone());
        out.push(s);
    }
    let id = record.id.to_string();
    for s in &out {
        let seq = s.event.seq.to_string();
        exec(
            store,
            "UPDATE events SET seal = NULL, prev_hash = $1, hash = $2 WHERE case_id = CAST($3 AS BIGINT) AND seq = CAST($4 AS BIGINT)",
            &[&s.prev_hash, &s.hash, &id, &seq],
        )
        .await;
    }
    let head = out.last().unwrap().hash.clone();
    exec(
        store,
        "UPDATE case_plans SET timeline_head = $1 WHERE case_id = (SELECT id FROM cases WHERE ref = $2)",
        &[&head, case_ref],
    )
    .await;
    exec(store, "UPDATE register_counter SET last = 0", &[]).await;
}

async fn story(db_url: &str) {
    let cfg = Arc::new(config(db_url));
    let store = Store::connect(db_url).await.expect("connect + migrate");
    let p = Pipeline::new(cfg, store.clone());
    let now: DateTime<Utc> = "2021-06-21T05:30:00Z".parse().unwrap();
    let dir = tempfile::tempdir().unwrap();

    // A case from before the upgrade: it verifies, its row is not yet sealed.
    let legacy = open(&p, "legacy@x", now).await;
    make_legacy(&store, &legacy).await;
    let r = verify(&store, None).await.unwrap();
    assert!(r.problems().is_empty(), "{}", problems(&r));
    assert_eq!(r.unsealed_rows, 1);

    let a = open(&p, "a@x", now).await;
    let b = open(&p, "b@x", now).await;
    // The official acknowledges, assesses and decides case A.
    for (i, line) in ["kvittera", "bedömning: risk", "beslut: anmäl"]
        .iter()
        .enumerate()
    {
        attach(&p, &command(&a, &format!("cmd{i}@x"), "a@x", line), now).await;
    }
    // A later event seals the legacy case's row too.
    attach(
        &p,
        &command(&legacy, "legacy-ack@x", "legacy@x", "kvittera"),
        now,
    )
    .await;
    let wf_a = store.case_by_ref(&a).await.unwrap().unwrap();
    assert_eq!(wf_a.state, "decided");
    let r = verify(&store, None).await.unwrap();
    assert!(r.problems().is_empty(), "{}", problems(&r));
    assert_eq!(r.unsealed_rows, 0);
    let (code, out) = cli_verify(db_url, None);
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("register intact: 3 case(s)"), "{out}");

    // The DPO digest carries the anchor; the DPO saves the mail.
    assert!(send_digest(&store, &p.sender, &p.cfg, now, now)
        .await
        .unwrap());
    let eml = dir.path().join("digest.eml");
    std::fs::write(&eml, digest_raw(&store).await).unwrap();
    let anchor = read_anchor(&std::fs::read(&eml).unwrap()).unwrap();
    assert_eq!(anchor.cases, 3);
    // A file holding only the anchor line works the same.
    let line = dir.path().join("anchor.txt");
    std::fs::write(&line, format!("{}\n", anchor.line())).unwrap();

    // The register grows legitimately: a note on A, a new case C.
    attach(
        &p,
        &command(&a, "note@x", "a@x", "notering: leverantören ringd"),
        now,
    )
    .await;
    let c = open(&p, "c@x", now + Duration::minutes(5)).await;
    let r = verify(&store, Some(&anchor)).await.unwrap();
    assert!(r.problems().is_empty(), "{}", problems(&r));
    assert!(r.anchor_held.is_some());
    for f in [&eml, &line] {
        let (code, out) = cli_verify(db_url, Some(f));
        assert_eq!(code, 0, "{out}");
        assert!(out.contains("anchor of") && out.contains("holds"), "{out}");
    }

    // A file without an anchor is bad input (exit 2), not a broken register.
    let junk = dir.path().join("junk.txt");
    std::fs::write(&junk, "Hej, inget ankare här.\n").unwrap();
    let (code, out) = cli_verify(db_url, Some(&junk));
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("no line starting with breachwatch-register-anchor/1"),
        "{out}"
    );

    // (a) Edited case row fields are named, and undoing the edit heals it.
    exec(
        &store,
        "UPDATE cases SET state = 'closed' WHERE ref = $1",
        &[&a],
    )
    .await;
    let r = verify(&store, None).await.unwrap();
    let first = first_problem(&r);
    assert!(
        first.starts_with(&format!("{a}: case row field `state`")),
        "{first}"
    );
    let (code, out) = cli_verify(db_url, None);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("`state`") && out.contains(&a), "{out}");
    exec(
        &store,
        "UPDATE cases SET state = 'decided' WHERE ref = $1",
        &[&a],
    )
    .await;
    assert!(verify(&store, None).await.unwrap().problems().is_empty());

    set_aware_at(&store, &a, wf_a.aware_at + Duration::hours(30)).await;
    let first = first_problem(&verify(&store, None).await.unwrap());
    assert!(
        first.starts_with(&format!("{a}: case row field `aware_at`")),
        "{first}"
    );
    set_aware_at(&store, &a, wf_a.aware_at).await;
    assert!(verify(&store, None).await.unwrap().problems().is_empty());

    let mut workflow = store
        .case_by_ref(&a)
        .await
        .unwrap()
        .unwrap()
        .stored
        .workflow;
    let original = workflow.to_string();
    assert_eq!(workflow["decision"], "notify");
    workflow["decision"] = serde_json::json!("do_not_notify");
    exec(
        &store,
        "UPDATE cases SET workflow = $1 WHERE ref = $2",
        &[&workflow.to_string(), &a],
    )
    .await;
    let first = first_problem(&verify(&store, None).await.unwrap());
    assert!(
        first.starts_with(&format!("{a}: case row field `decision`")),
        "{first}"
    );
    exec(
        &store,
        "UPDATE cases SET workflow = $1 WHERE ref = $2",
        &[&original, &a],
    )
    .await;
    assert!(verify(&store, None).await.unwrap().problems().is_empty());

    // A consistent rewrite of case B (every hash recomputed) passes the internal
    // checks; only the anchor saved outside exposes it.
    let wf_b = store.case_by_ref(&b).await.unwrap().unwrap();
    let saved_b = store.case_chain(wf_b.id, &wf_b.case_ref).await.unwrap();
    rewrite_consistently(&store, &b).await;
    assert!(verify(&store, None).await.unwrap().problems().is_empty());
    let r = verify(&store, Some(&anchor)).await.unwrap();
    assert!(problems(&r).contains("were rewritten"), "{}", problems(&r));
    let (code, out) = cli_verify(db_url, Some(&eml));
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("rewritten"), "{out}");
    // Put B back as it was.
    let id_b = wf_b.id.to_string();
    for s in &saved_b {
        let seq = s.event.seq.to_string();
        exec(
            &store,
            "UPDATE events SET data = $1, prev_hash = $2, hash = $3 WHERE case_id = CAST($4 AS BIGINT) AND seq = CAST($5 AS BIGINT)",
            &[&s.event.data.to_string(), &s.prev_hash, &s.hash, &id_b, &seq],
        )
        .await;
    }
    let head_b = saved_b.last().unwrap().hash.clone();
    exec(
        &store,
        "UPDATE case_plans SET timeline_head = $1 WHERE case_id = (SELECT id FROM cases WHERE ref = $2)",
        &[&head_b, &b],
    )
    .await;
    assert!(verify(&store, Some(&anchor))
        .await
        .unwrap()
        .problems()
        .is_empty());

    // (b) A's last events deleted and its head reset to the event before: the
    // chain and head agree, but the register sequence has a hole.
    let id_a = wf_a.id.to_string();
    let chain_a = store.case_chain(wf_a.id, &wf_a.case_ref).await.unwrap();
    let keep = chain_a.len() - 2;
    exec(
        &store,
        "DELETE FROM events WHERE case_id = CAST($1 AS BIGINT) AND seq > CAST($2 AS BIGINT)",
        &[&id_a, &keep.to_string()],
    )
    .await;
    exec(
        &store,
        "UPDATE case_plans SET timeline_head = $1 WHERE case_id = (SELECT id FROM cases WHERE ref = $2)",
        &[&chain_a[keep - 1].hash, &a],
    )
    .await;
    let r = verify(&store, None).await.unwrap();
    let first = first_problem(&r);
    assert!(first.contains("missing: events were deleted"), "{first}");
    let (code, out) = cli_verify(db_url, None);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("missing"), "{out}");

    // (c) Case C deleted whole: its number is missing.
    let id_c = store.case_by_ref(&c).await.unwrap().unwrap().id.to_string();
    for table in ["events", "outbox", "messages", "case_plans"] {
        exec(
            &store,
            &format!("DELETE FROM {table} WHERE case_id = CAST($1 AS BIGINT)"),
            &[&id_c],
        )
        .await;
    }
    exec(&store, "DELETE FROM cases WHERE ref = $1", &[&c]).await;
    let r = verify(&store, None).await.unwrap();
    let first = first_problem(&r);
    assert!(
        first.starts_with(&format!("case {c} is missing")),
        "{first}"
    );
    store.close().await;
}

/// While cases are opened and events appended from several tasks (replicas),
/// the register numbers stay gapless and `verify` run meanwhile raises no
/// false alarm.
async fn concurrent(db_url: &str) {
    let cfg = Arc::new(config(db_url));
    let store = Store::connect(db_url).await.expect("connect + migrate");
    let p = Pipeline::new(cfg, store.clone());
    let now: DateTime<Utc> = "2021-06-21T05:30:00Z".parse().unwrap();
    let first = open(&p, "first@x", now).await;
    let id = store.case_by_ref(&first).await.unwrap().unwrap().id;
    let mut writers = Vec::new();
    for w in 0..2 {
        let store = store.clone();
        writers.push(tokio::spawn(async move {
            for i in 0..15 {
                let ev = breachwatch::store::NewEvent {
                    kind: "note".into(),
                    actor: "official@example.test".into(),
                    data: serde_json::json!({"writer": w, "i": i}),
                };
                store.append_events(id, &[ev], now).await.unwrap();
            }
        }));
    }
    let p2 = Pipeline::new(p.cfg.clone(), store.clone());
    writers.push(tokio::spawn(async move {
        for i in 0..4 {
            open(&p2, &format!("more{i}@x"), now).await;
        }
    }));
    // Notes by reply change the case row and then append: the other lock order
    // from a bare append, which must not deadlock with it.
    let p3 = Pipeline::new(p.cfg.clone(), store.clone());
    let case = first.clone();
    writers.push(tokio::spawn(async move {
        for i in 0..8 {
            let raw = command(
                &case,
                &format!("note{i}@x"),
                "first@x",
                &format!("notering: {i}"),
            );
            attach(&p3, &raw, now).await;
        }
    }));
    let mut rounds = 0;
    while writers.iter().any(|w| !w.is_finished()) || rounds == 0 {
        let r = verify(&store, None).await.unwrap();
        assert!(r.problems().is_empty(), "during writes: {}", problems(&r));
        rounds += 1;
    }
    for w in writers {
        w.await.unwrap();
    }
    let r = verify(&store, None).await.unwrap();
    assert!(r.problems().is_empty(), "{}", problems(&r));
    assert_eq!(r.cases.len(), 5);
    assert!(r.reg_counter >= 38, "{}", r.summary());
    store.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_writers_leave_a_gapless_register_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    concurrent(&format!("sqlite://{}/c.db", dir.path().display())).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_writers_leave_a_gapless_register_on_postgres() {
    crate::harness::with_pg(|url| async move { concurrent(&url).await }).await;
}

/// Writes, with `pool`, a case as the version before migration 0003 left it:
/// events chained without seals, the head on the row.
macro_rules! write_legacy_case {
    ($pool:expr) => {{
        let pool = $pool;
        let t: DateTime<Utc> = "2021-06-21T05:30:00Z".parse().unwrap();
        let case_ref = breachwatch::core::types::CaseRef::new("PUI", 2021, 1);
        let mut chain: Vec<timeline::StoredEvent> = Vec::new();
        for (i, kind) in ["case_opened", "message_attached"].iter().enumerate() {
            let ev = timeline::Event {
                seq: 0,
                case_ref: case_ref.clone(),
                at: t + Duration::minutes(i as i64),
                kind: breachwatch::core::event::EventKind::parse(kind),
                actor: "breachwatch".into(),
                data: serde_json::json!({"i": i}),
            };
            let s = timeline::append(chain.last(), ev);
            chain.push(s);
        }
        let route = serde_json::json!({"committee": {"name": "Kommunstyrelsen"}});
        sqlx::query("INSERT INTO case_counters (prefix, year, last) VALUES ('PUI', 2021, 1)")
            .execute(pool)
            .await
            .unwrap();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO cases (ref, state, aware_at, deadline_at, opened_at, route, timeline_head) \
             VALUES ($1, 'received', $2, $3, $2, $4, $5) RETURNING id",
        )
        .bind(case_ref.as_str())
        .bind(t)
        .bind(t + Duration::hours(72))
        .bind(route.to_string())
        .bind(&chain[1].hash)
        .fetch_one(pool)
        .await
        .unwrap();
        for s in &chain {
            sqlx::query(
                "INSERT INTO events (case_id, seq, at, kind, actor, data, prev_hash, hash) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(id)
            .bind(s.event.seq as i64)
            .bind(s.event.at)
            .bind(s.event.kind.as_str())
            .bind(&s.event.actor)
            .bind(s.event.data.to_string())
            .bind(&s.prev_hash)
            .bind(&s.hash)
            .execute(pool)
            .await
            .unwrap();
        }
        id
    }};
}

/// A database written by the version before the register seal: migrations 0001
/// and 0002 only, one case. Opening it migrates (0003); it verifies, its row is
/// sealed from its next event on, and from then on an edit of it is caught.
async fn upgrade(db_url: &str) {
    let dir = tempfile::tempdir().unwrap();
    let backend = if db_url.starts_with("sqlite:") {
        "sqlite"
    } else {
        "postgres"
    };
    for f in ["0001_init.sql", "0002_workflow.sql"] {
        let src = format!("{}/migrations/{backend}/{f}", env!("CARGO_MANIFEST_DIR"));
        std::fs::copy(src, dir.path().join(f)).unwrap();
    }
    let old = sqlx::migrate::Migrator::new(dir.path()).await.unwrap();
    let id = if backend == "sqlite" {
        let opts: sqlx::sqlite::SqliteConnectOptions = db_url.parse().unwrap();
        let pool = sqlx::SqlitePool::connect_with(opts.create_if_missing(true))
            .await
            .unwrap();
        old.run(&pool).await.unwrap();
        let id = write_legacy_case!(&pool);
        pool.close().await;
        id
    } else {
        let pool = sqlx::PgPool::connect(db_url).await.unwrap();
        old.run(&pool).await.unwrap();
        let id = write_legacy_case!(&pool);
        pool.close().await;
        id
    };
    let store = Store::connect(db_url).await.expect("migrates to 0003");
    let r = verify(&store, None).await.unwrap();
    assert!(r.problems().is_empty(), "{}", problems(&r));
    assert_eq!((r.unsealed_rows, r.reg_counter), (1, 0));
    assert!(
        r.summary().contains("1 case row(s) not yet sealed"),
        "{}",
        r.summary()
    );
    let note = breachwatch::store::NewEvent {
        kind: "note".into(),
        actor: "official@example.test".into(),
        data: serde_json::json!({"text": "efter uppgraderingen"}),
    };
    let now: DateTime<Utc> = "2021-06-22T05:30:00Z".parse().unwrap();
    store.append_events(id, &[note], now).await.unwrap();
    let r = verify(&store, None).await.unwrap();
    assert!(r.problems().is_empty(), "{}", problems(&r));
    assert_eq!((r.unsealed_rows, r.reg_counter), (0, 1));
    exec(
        &store,
        "UPDATE cases SET state = 'closed' WHERE ref = 'PUI-2021-0001'",
        &[],
    )
    .await;
    let first = first_problem(&verify(&store, None).await.unwrap());
    assert!(first.contains("case row field `state`"), "{first}");
    store.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_database_from_before_the_seal_migrates_and_verifies_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    upgrade(&format!("sqlite://{}/u.db", dir.path().display())).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_database_from_before_the_seal_migrates_and_verifies_on_postgres() {
    crate::harness::with_pg(|url| async move { upgrade(&url).await }).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn register_attacks_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    story(&format!("sqlite://{}/r.db", dir.path().display())).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn register_attacks_on_postgres() {
    crate::harness::with_pg(|url| async move { story(&url).await }).await;
}
