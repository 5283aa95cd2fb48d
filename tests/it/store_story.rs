//! One story run on both backends: the same ingest pipeline against real SQLite
//! and real PostgreSQL (127.0.0.1:5432, database created per run).

use std::sync::Arc;

use chrono::{Duration, Utc};

use breachwatch::config::Config;
use breachwatch::store::Store;
use breachwatch::workers::clock::fire_due;
use breachwatch::workers::digest::send_digest;
use breachwatch::workers::ingest::{Handled, Pipeline};

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

fn notice(id: &str, extra: &str) -> Vec<u8> {
    format!(
        "From: Staff <staff@example.test>\r\nTo: breach@example.test\r\nSubject: VB: Dataintrång hos Provdata\r\n\
Date: Mon, 21 Jun 2021 07:09:14 +0200\r\nMessage-ID: <{id}>\r\n{extra}\r\n\
Provdata har haft ett dataintrång i ProvWeb.\r\n"
    )
    .into_bytes()
}

/// The `#[tokio::test]`s of one story on each backend: `$sqlite` on a new
/// SQLite file, `$postgres` on a fresh PostgreSQL database
/// (`harness::with_pg`).
macro_rules! on_both_backends {
    ($story:ident, $sqlite:ident, $postgres:ident) => {
        #[tokio::test]
        async fn $sqlite() {
            let dir = tempfile::tempdir().unwrap();
            $story(&format!("sqlite://{}/story.db", dir.path().display())).await;
        }

        #[tokio::test]
        async fn $postgres() {
            crate::harness::with_pg(|url| async move { $story(&url).await }).await;
        }
    };
}

/// `$body` run with `$c` bound to a new direct connection of `$db_url`'s
/// backend (SQLite or PostgreSQL), for reading or spoiling rows the store's
/// API does not show; each backend's row types are decoded inside.
macro_rules! on_a_connection {
    ($db_url:expr, |$c:ident| $body:expr) => {{
        use sqlx::Connection;
        if $db_url.starts_with("sqlite:") {
            let mut $c = sqlx::SqliteConnection::connect($db_url).await.unwrap();
            $body
        } else {
            let mut $c = sqlx::PgConnection::connect($db_url).await.unwrap();
            $body
        }
    }};
}

/// A store on `db_url` (migrated), its pipeline, and an instant shortly
/// after the notices' Date (so the reminder plan lies ahead).
async fn start(db_url: &str) -> (Store, Pipeline, chrono::DateTime<Utc>) {
    let cfg = Arc::new(config(db_url));
    let store = Store::connect(db_url).await.expect("connect + migrate");
    let p = Pipeline::new(cfg, store.clone());
    let now = "2021-06-21T05:30:00Z".parse().unwrap();
    (store, p, now)
}

/// Opens `n` cases, one notice each (Message-IDs `{prefix}{i}@x`) at `now`.
async fn open_cases(p: &Pipeline, prefix: &str, n: usize, now: chrono::DateTime<Utc>) {
    for i in 0..n {
        let h = p
            .handle(&notice(&format!("{prefix}{i}@x"), ""), None, None, now)
            .await
            .unwrap();
        assert!(matches!(h, Handled::Opened(_)), "{h:?}");
    }
}

/// `register verify` finds no problem in the store.
async fn assert_register_verifies(store: &Store) {
    let report = breachwatch::register::verify(store, None).await.unwrap();
    assert!(report.problems().is_empty(), "{:?}", report.problems());
}

async fn story(db_url: &str) {
    let cfg = Arc::new(config(db_url));
    let store = Store::connect(db_url).await.expect("connect + migrate");
    let p = Pipeline::new(cfg, store.clone());
    // Shortly after the notices' Date, so the reminder plan lies ahead.
    let now: chrono::DateTime<Utc> = "2021-06-21T05:30:00Z".parse().unwrap();
    let first = p
        .handle(&notice("n1@x", ""), None, None, now)
        .await
        .unwrap();
    let Handled::Opened(r) = first else {
        panic!("expected a case, got {first:?}")
    };
    assert!(r.starts_with("PUI-"));
    // The same message again (another replica, or a replay) changes nothing.
    assert_eq!(
        p.handle(&notice("n1@x", ""), None, None, now)
            .await
            .unwrap(),
        Handled::Duplicate
    );
    // A reply in the thread attaches.
    let reply = notice("n2@x", "In-Reply-To: <n1@x>\r\n");
    assert_eq!(
        p.handle(&reply, None, None, now).await.unwrap(),
        Handled::Attached(r.clone())
    );
    // A second notice is a second case with the next number.
    let second = p
        .handle(&notice("n3@x", ""), None, None, now)
        .await
        .unwrap();
    let Handled::Opened(r2) = second else {
        panic!("{second:?}")
    };
    assert_ne!(r, r2);
    let list = store.list_cases().await.unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0].messages, 2);
    // Opening notice + acknowledgement for each case; for staff's reply a
    // follow-up notice to the official and an acknowledgement naming the case.
    let mails = store.case_outbox(list[0].id).await.unwrap();
    let purposes: Vec<&str> = mails.iter().map(|m| m.purpose.as_str()).collect();
    assert_eq!(
        purposes,
        vec!["opening", "acknowledgement", "follow_up", "acknowledgement"]
    );
    // Timeline: opened (with the documents' checksums), the reply attached, its
    // text as a follow-up; hash-chained.
    let ev = store.case_events(list[0].id).await.unwrap();
    let kinds: Vec<&str> = ev.iter().map(|e| e.kind.as_str()).collect();
    // The checksums of the opening notice's documents come with the opening.
    assert_eq!(
        kinds,
        vec![
            "case_opened",
            "documents_generated",
            "message_attached",
            "follow_up"
        ]
    );
    for i in 1..ev.len() {
        assert_eq!(ev[i].prev_hash, ev[i - 1].hash);
    }
    // The document assembly reads the case back on this backend too, and an
    // appended event continues the chain.
    let file = breachwatch::casefile::load(&store, &p.cfg, &r, now)
        .await
        .unwrap()
        .expect("the case");
    assert_eq!(file.case_ref.as_str(), r);
    assert_eq!(file.committee, "Kommunstyrelsen");
    assert_eq!(
        file.messages.len(),
        2,
        "notice and reply: {:?}",
        file.messages
    );
    let (_, events) = breachwatch::casefile::draft_attachments(
        &file,
        &p.templates,
        breachwatch::core::documents::Outcome::NoNotify,
    )
    .unwrap();
    let before = ev.len();
    store.append_events(list[0].id, &events, now).await.unwrap();
    let ev = store.case_events(list[0].id).await.unwrap();
    assert_eq!(ev.len(), before + 1);
    assert_eq!(ev[before].kind, "documents_generated");
    assert_eq!(ev[before].prev_hash, ev[before - 1].hash);
    assert!(store.case_by_ref("PUI-1999-9999").await.unwrap().is_none());
    // The outbox hands out each row once.
    let a = store
        .claim_outbox(now, Duration::seconds(60))
        .await
        .unwrap()
        .unwrap();
    let b = store
        .claim_outbox(now, Duration::seconds(60))
        .await
        .unwrap()
        .unwrap();
    assert_ne!(a.id, b.id);
    store.outbox_sent(a.id, now).await.unwrap();
    // A lease that ran out makes a claimed row due again (crash mid-send).
    let later = now + Duration::seconds(61);
    let again = store
        .claim_outbox(later, Duration::seconds(60))
        .await
        .unwrap()
        .unwrap();
    assert_ne!(again.id, a.id);

    // Reminders: a day after awareness the official is reminded and, since
    // nobody acknowledged, the deputy too.
    let case = &list[0];
    let sender = p.sender.clone();
    let plan = p.cfg.clock.clone();
    let day1 = case.aware_at + Duration::hours(25);
    // Both open cases are due.
    assert_eq!(fire_due(&store, &sender, &plan, day1).await.unwrap(), 2);
    assert_eq!(
        fire_due(&store, &sender, &plan, day1).await.unwrap(),
        0,
        "fired once"
    );
    let reminder = last_mail(&store, case.id).await;
    assert_eq!(reminder.purpose, "reminder");
    assert!(
        reminder.recipients.iter().any(|r| r.starts_with("deputy@")),
        "{:?}",
        reminder.recipients
    );

    // The official acknowledges by reply (submitted locally, trusted in local.toml).
    let ack = format!(
        "Received: from vm (localhost [127.0.0.1]) by mail.example.test (Postfix) with ESMTP id 1; Mon, 21 Jun 2021 08:00:00 +0200\r\n\
From: official@example.test\r\nTo: breach@example.test\r\nSubject: SV: [{r}]\r\n\
Date: Mon, 21 Jun 2021 08:00:00 +0200\r\nMessage-ID: <ack@x>\r\nIn-Reply-To: <n1@x>\r\n\r\nkvittera\r\n"
    );
    assert_eq!(
        p.handle(ack.as_bytes(), None, None, day1).await.unwrap(),
        Handled::Attached(r.clone())
    );
    let record = store.case_by_id(case.id).await.unwrap();
    assert_eq!(record.state, "acknowledged");
    assert_eq!(record.version, 1);
    let confirm = last_mail(&store, case.id).await;
    assert_eq!(confirm.purpose, "answer");
    assert_eq!(
        confirm.recipients,
        vec!["official@example.test".to_string()]
    );
    // The next reminder goes to the official and the DPO only.
    let day2 = case.aware_at + Duration::hours(49);
    assert_eq!(fire_due(&store, &sender, &plan, day2).await.unwrap(), 2);
    let reminder = last_mail(&store, case.id).await;
    assert!(
        !reminder.recipients.iter().any(|r| r.starts_with("deputy@")),
        "{:?}",
        reminder.recipients
    );

    // The reminders' events (written for a group of cases at once) chain
    // and seal as one by one would: the register checks out.
    assert_register_verifies(&store).await;

    // The DPO digest is queued once per scheduled instant.
    let run_at = day2;
    assert!(send_digest(&store, &sender, &p.cfg, run_at, day2)
        .await
        .unwrap());
    assert!(!send_digest(&store, &sender, &p.cfg, run_at, day2)
        .await
        .unwrap());
    store.close().await;
}

async fn last_mail(store: &Store, case_id: i64) -> breachwatch::store::OutboxSummary {
    store
        .case_outbox(case_id)
        .await
        .unwrap()
        .pop()
        .expect("a mail")
}

on_both_backends!(story, story_on_sqlite, story_on_postgres);

/// Mail recorded without a case (not read as a notice) is listed in the
/// default DPO's digest, each message in the first digest after it: a notice
/// the reader does not know for one is seen. Automatic mail and notices are
/// not listed.
async fn unplaced_digest_story(db_url: &str) {
    let (store, p, now) = start(db_url).await;
    let mail = |id: &str, from: &str, subject: &str, body: &str| {
        format!(
            "From: {from}\r\nTo: breach@example.test\r\nSubject: {subject}\r\n\
Date: Mon, 21 Jun 2021 07:00:00 +0200\r\nMessage-ID: <{id}>\r\n\r\n{body}\r\n"
        )
        .into_bytes()
    };
    let other = mail(
        "u1@x",
        "Lev <info@lev.example>",
        "Avtal 2022 och priser",
        "Hej, h\u{e4}r kommer avtalet f\u{f6}r n\u{e4}sta \u{e5}r.",
    );
    let auto = mail(
        "u2@x",
        "Lev <info@lev.example>",
        "Automatiskt svar: Avtal",
        "Jag \u{e4}r ledig till 1 juli.",
    );
    for (raw, want) in [
        (&other, Handled::Recorded("not_a_notice")),
        (&auto, Handled::Recorded("automatic")),
    ] {
        assert_eq!(p.handle(raw, None, None, now).await.unwrap(), want);
    }
    assert!(matches!(
        p.handle(&notice("u3@x", ""), None, None, now)
            .await
            .unwrap(),
        Handled::Opened(_)
    ));
    let digest = |n: usize| {
        let db_url = db_url.to_string();
        async move {
            let raws = on_a_connection!(&db_url, |c| {
                sqlx::query_as::<_, (Vec<u8>,)>(
                    "SELECT r.raw FROM outbox AS o JOIN outbox_raw AS r ON r.id = o.id \
                     WHERE o.purpose = 'digest' ORDER BY o.id",
                )
                .fetch_all(&mut c)
                .await
                .unwrap()
            });
            assert_eq!(raws.len(), n, "digests queued");
            let m = mail_parser::MessageParser::default()
                .parse(&raws[n - 1].0)
                .unwrap();
            m.body_text(0).unwrap().into_owned()
        }
    };
    let run1 = now + Duration::hours(1);
    assert!(send_digest(&store, &p.sender, &p.cfg, run1, run1)
        .await
        .unwrap());
    let text = digest(1).await;
    let section = text
        .split("Post utan ärende")
        .nth(1)
        .unwrap_or_else(|| panic!("no section: {text}"));
    assert!(
        section.contains("info@lev.example  Avtal 2022 och priser"),
        "{text}"
    );
    assert!(!section.contains("Automatiskt svar"), "{text}");
    assert!(!section.contains("Dataintrång"), "{text}");
    // The next digest lists only what came after the first.
    let later = mail(
        "u4@x",
        "Lev <info@lev.example>",
        "Fakturafrågor",
        "Hej, en fr\u{e5}ga om er senaste faktura.",
    );
    let at = now + Duration::hours(2);
    assert_eq!(
        p.handle(&later, None, None, at).await.unwrap(),
        Handled::Recorded("not_a_notice")
    );
    let run2 = now + Duration::days(1);
    assert!(send_digest(&store, &p.sender, &p.cfg, run2, run2)
        .await
        .unwrap());
    let text = digest(2).await;
    assert!(text.contains("Fakturafrågor"), "{text}");
    assert!(!text.contains("Avtal 2022"), "{text}");
    let listed = store
        .unplaced_mail(now - Duration::days(1), 10)
        .await
        .unwrap();
    assert_eq!(
        listed
            .iter()
            .map(|u| u.subject.as_deref().unwrap_or(""))
            .collect::<Vec<_>>(),
        ["Fakturafrågor", "Avtal 2022 och priser"]
    );
    store.close().await;
}

on_both_backends!(
    unplaced_digest_story,
    unplaced_mail_is_in_the_digest_on_sqlite,
    unplaced_mail_is_in_the_digest_on_postgres
);

/// `sammanfoga` by reply on one backend: the source's messages move, the
/// target takes the earlier awareness (deadline too), both rows change with
/// their events in one transaction, and the register verifies.
async fn merge_story(db_url: &str) {
    let (store, p, now) = start(db_url).await;
    let open = |id: &'static str, date: &'static str, system: &'static str| {
        format!(
            "From: Staff <staff@example.test>\r\nTo: breach@example.test\r\nSubject: VB: Intrång i {system}\r\n\
Date: {date}\r\nMessage-ID: <{id}>\r\n\r\nProvdata har haft ett dataintrång i {system}.\r\n"
        )
        .into_bytes()
    };
    let Handled::Opened(target) = p
        .handle(
            &open("m1@x", "Mon, 21 Jun 2021 07:09:14 +0200", "ProvWeb"),
            None,
            None,
            now,
        )
        .await
        .unwrap()
    else {
        panic!("first case")
    };
    let Handled::Opened(source) = p
        .handle(
            &open("m2@x", "Sun, 20 Jun 2021 09:00:00 +0200", "eRemiss"),
            None,
            None,
            now,
        )
        .await
        .unwrap()
    else {
        panic!("second case")
    };
    let t0 = store.case_by_ref(&target).await.unwrap().unwrap();
    let s0 = store.case_by_ref(&source).await.unwrap().unwrap();
    assert!(s0.aware_at < t0.aware_at, "the source became known first");
    let merge = format!(
        "Received: from vm (localhost [127.0.0.1]) by mail.example.test (Postfix) with ESMTP id 1; Mon, 21 Jun 2021 08:00:00 +0200\r\n\
From: official@example.test\r\nTo: breach@example.test\r\nSubject: SV: [{source}]\r\n\
Date: Mon, 21 Jun 2021 08:00:00 +0200\r\nMessage-ID: <merge@x>\r\nIn-Reply-To: <m2@x>\r\n\r\nsammanfoga {target}\r\n"
    );
    assert_eq!(
        p.handle(merge.as_bytes(), None, None, now).await.unwrap(),
        Handled::Attached(source.clone())
    );
    let s1 = store.case_by_ref(&source).await.unwrap().unwrap();
    let t1 = store.case_by_ref(&target).await.unwrap().unwrap();
    assert_eq!(s1.state, "closed");
    assert_eq!(t1.state, "received");
    assert_eq!(t1.aware_at, s0.aware_at);
    assert_eq!(t1.deadline_at, s0.deadline_at);
    assert_eq!(t1.version, t0.version + 1);
    let ids = |m: Vec<breachwatch::store::MessageRow>| -> Vec<String> {
        m.into_iter().filter_map(|m| m.message_id).collect()
    };
    assert_eq!(
        ids(store.case_messages(t1.id).await.unwrap()),
        ["m1@x", "m2@x"]
    );
    // The command itself stays on the case it was given in.
    assert_eq!(ids(store.case_messages(s1.id).await.unwrap()), ["merge@x"]);
    let kinds = |e: Vec<breachwatch::store::EventRow>| -> Vec<String> {
        e.into_iter().map(|e| e.kind.to_string()).collect()
    };
    let tk = kinds(store.case_events(t1.id).await.unwrap());
    assert!(
        tk.ends_with(&["merged_from".to_string(), "aware_at_moved".to_string()]),
        "{tk:?}"
    );
    let sk = kinds(store.case_events(s1.id).await.unwrap());
    assert!(sk.contains(&"merged_into".to_string()), "{sk:?}");
    assert_register_verifies(&store).await;
    // The confirmation is queued on the source case, to the official.
    let confirm = store
        .case_outbox(s1.id)
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.purpose == "answer")
        .expect("a confirmation");
    assert_eq!(
        confirm.recipients,
        vec!["official@example.test".to_string()]
    );
    store.close().await;
}

on_both_backends!(merge_story, merge_on_sqlite, merge_on_postgres);

/// Commits leave the WAL to the daemon's checkpointer (`workers::checkpoint`):
/// 10 MB of intake (about 2,500 pages, past SQLite's default automatic
/// checkpoint at 1,000) is all still in the WAL, and one passive checkpoint
/// copies every frame into the database.
#[tokio::test]
async fn commits_leave_the_wal_to_the_background_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/w.db", dir.path().display());
    let store = Store::connect(&url).await.unwrap();
    let p = Pipeline::new(Arc::new(config(&url)), store.clone());
    let filler = "Hej! Vi ses på mötet i morgon. ".repeat(500);
    for i in 0..650 {
        let raw = format!(
            "From: Kim <kim@example.test>\r\nTo: breach@example.test\r\nSubject: Lunch {i}\r\n\
Date: Mon, 21 Jun 2021 07:09:14 +0200\r\nMessage-ID: <wal-{i}@example.test>\r\n\r\n{filler}\r\n"
        );
        let h = p
            .handle(raw.as_bytes(), None, None, Utc::now())
            .await
            .unwrap();
        assert!(matches!(h, Handled::Recorded(_)), "{h:?}");
    }
    // What the watcher does before it moves messages (the WAL synced).
    store.make_durable().await.unwrap();
    let (frames, copied) = store.checkpoint_wal().await.unwrap();
    assert!(
        frames >= 2_000,
        "an automatic checkpoint ran in a commit: {frames} frames left"
    );
    assert_eq!(copied, frames);
    let wal = std::fs::metadata(dir.path().join("w.db-wal"))
        .unwrap()
        .len();
    assert!(
        wal <= breachwatch::store::WAL_AUTOCHECKPOINT_PAGES * 4200,
        "{wal}"
    );
    store.close().await;
}

/// Due cases in several write groups (of 7 here; the daemon's are
/// `clock::WRITE_GROUP`): the groups are read and composed ahead while the
/// one before is written. Every case
/// gets its reminder once, in the right order of the timeline; a case whose
/// route cannot be read (in the middle group) gets none and is reported,
/// and the others still go; the register verifies. Several groups are a
/// burst for the senders (on both backends), ended also when the call
/// fails; one group is not.
async fn reminders_in_several_groups(db_url: &str) {
    use breachwatch::workers::clock::{fire_due_waking, Firing, OutboxLink};
    const GROUP: usize = 7;
    let (store, p, now) = start(db_url).await;
    let n = 3 * GROUP + 4;
    open_cases(&p, "g", n, now).await;
    let mut list = store.list_cases().await.unwrap();
    assert_eq!(list.len(), n);
    list.sort_by_key(|c| c.id);
    let broken = &list[GROUP + 3];
    // The route as stored, spoilt and later put back (the old one returned).
    let set_route = |route: String| async move {
        on_a_connection!(db_url, |c| {
            let old: String = sqlx::query_scalar("SELECT route FROM cases WHERE id = $1")
                .bind(broken.id)
                .fetch_one(&mut c)
                .await
                .unwrap();
            sqlx::query("UPDATE cases SET route = $1 WHERE id = $2")
                .bind(route)
                .bind(broken.id)
                .execute(&mut c)
                .await
                .unwrap();
            old
        })
    };
    let route = set_route("not json".into()).await;
    // Each case row's version on PostgreSQL (`xmin`: the transaction that
    // wrote it): a reminder writes only the case's narrow plan row
    // (migration 0018), never the wide case row, which it only locks.
    let row_versions = || async {
        if db_url.starts_with("sqlite:") {
            return Vec::new();
        }
        on_a_connection!(db_url, |c| {
            sqlx::query_as::<_, (i64, String)>("SELECT id, xmin::text FROM cases ORDER BY id")
                .fetch_all(&mut c)
                .await
                .unwrap()
        })
    };
    let before = row_versions().await;
    let day1 = list[0].aware_at + Duration::hours(25);
    let link = OutboxLink::default();
    let begun = link.burst.begun();
    let err = fire_due_waking(
        &store,
        &p.sender,
        &p.cfg.clock,
        day1,
        Firing::now(Some(&link), GROUP),
    )
    .await
    .expect_err("the broken case is reported");
    assert!(err.to_string().contains(broken.case_ref.as_str()), "{err}");
    // A burst holds the senders back, on both backends.
    assert_eq!(link.burst.begun(), begun + 1, "four groups are a burst");
    assert!(!link.burst.active(), "the burst ended with the call");
    for c in &list {
        let purposes: Vec<String> = store
            .case_outbox(c.id)
            .await
            .unwrap()
            .into_iter()
            .map(|m| m.purpose)
            .collect();
        let reminders = purposes.iter().filter(|p| *p == "reminder").count();
        let want = usize::from(c.id != broken.id);
        assert_eq!(reminders, want, "{}: {purposes:?}", c.case_ref);
        let kinds: Vec<String> = store
            .case_events(c.id)
            .await
            .unwrap()
            .iter()
            .map(|e| e.kind.as_str().to_string())
            .collect();
        let reminder_events = kinds.iter().filter(|k| *k == "reminder").count();
        assert_eq!(reminder_events, want, "{}: {kinds:?}", c.case_ref);
        if want == 1 {
            assert_eq!(kinds.last().map(String::as_str), Some("reminder"));
        }
    }
    assert_eq!(row_versions().await, before, "no case row written");
    // The plan moved: one reminder sent, the next one later.
    for c in store.list_cases().await.unwrap() {
        let sent = i64::from(c.id != broken.id);
        assert_eq!(c.reminders_sent, sent, "{}", c.case_ref);
        assert!(
            c.next_reminder_at
                .is_some_and(|t| (t > day1) == (sent == 1)),
            "{}: {:?}",
            c.case_ref,
            c.next_reminder_at
        );
    }
    // Fired once: with the route put back, the same instant queues the
    // broken case's reminder and no other.
    set_route(route).await;
    for want in [1, 0] {
        let fired = fire_due_waking(
            &store,
            &p.sender,
            &p.cfg.clock,
            day1,
            Firing::now(Some(&link), GROUP),
        )
        .await
        .unwrap();
        assert_eq!(fired, want);
    }
    assert_eq!(link.burst.begun(), begun + 1, "one group is no burst");
    // The groups' reminders were queued in the groups' order (the cases'),
    // each with its case's deadline as its send priority (the senders'
    // order; the row id only breaks ties).
    let rows = on_a_connection!(db_url, |c| {
        sqlx::query_as::<_, (i64, bool)>(
            "SELECT o.case_id, o.priority_at = c.deadline_at FROM outbox AS o \
             JOIN cases AS c ON c.id = o.case_id WHERE o.purpose = 'reminder' ORDER BY o.id",
        )
        .fetch_all(&mut c)
        .await
        .unwrap()
    });
    assert_eq!(rows.len(), n, "{rows:?}");
    assert!(
        rows.iter().all(|&(_, p)| p),
        "priority is the case's deadline: {rows:?}"
    );
    let first_pass: Vec<i64> = rows[..n - 1].iter().map(|&(id, _)| id).collect();
    if db_url.starts_with("sqlite:") {
        let mut sorted = first_pass.clone();
        sorted.sort_unstable();
        assert_eq!(first_pass, sorted, "queued in the groups' order");
    } else {
        // Two groups are written at once (`Store::reminder_writers`): the
        // rows of two groups may interleave, each group's in its order.
        for group in list.chunks(GROUP) {
            let ids: Vec<i64> = group
                .iter()
                .map(|c| c.id)
                .filter(|id| *id != broken.id)
                .collect();
            let queued: Vec<i64> = first_pass
                .iter()
                .copied()
                .filter(|id| ids.contains(id))
                .collect();
            assert_eq!(
                queued, ids,
                "a group's reminders queued in its order: {first_pass:?}"
            );
        }
    }
    assert_eq!(
        rows[n - 1].0,
        broken.id,
        "the broken case's reminder came last"
    );
    assert_register_verifies(&store).await;
    store.close().await;
}

on_both_backends!(
    reminders_in_several_groups,
    reminders_in_several_groups_on_sqlite,
    reminders_in_several_groups_on_postgres
);

/// The lists' order after an upgrade or a change of zone: every open case's
/// stored next deadline is stale, and `refresh_next_deadlines` writes them
/// again in parts of `store::UPDATE_ROWS` (more than two parts here), each
/// the deadline the core computes; a second call finds nothing to do.
async fn stale_next_deadlines_written_again(db_url: &str) {
    let cfg = Arc::new(config(db_url));
    let tz = cfg.tz();
    let store = Store::connect(db_url).await.expect("connect + migrate");
    let p = Pipeline::new(cfg, store.clone());
    let now: chrono::DateTime<Utc> = "2021-10-30T22:30:00Z".parse().unwrap();
    let n = 2 * breachwatch::store::UPDATE_ROWS + 5;
    open_cases(&p, "nd", n, now).await;
    assert_eq!(store.refresh_next_deadlines(tz).await.unwrap(), 0);
    // Stale: none stored, except one case whose value is wrong (its GDPR
    // deadline a day early).
    const STALE: [&str; 2] = [
        "UPDATE cases SET next_deadline_at = NULL",
        "UPDATE cases SET next_deadline_at = opened_at WHERE id = (SELECT MIN(id) FROM cases)",
    ];
    let read = |stmts: &'static [&'static str]| async move {
        on_a_connection!(db_url, |c| {
            for q in stmts {
                sqlx::query(*q).execute(&mut c).await.unwrap();
            }
            let rows: Vec<(i64, Option<chrono::DateTime<Utc>>)> =
                sqlx::query_as("SELECT id, next_deadline_at FROM cases")
                    .fetch_all(&mut c)
                    .await
                    .unwrap();
            rows
        })
    };
    let before = read(&STALE).await;
    assert_eq!(before.iter().filter(|(_, at)| at.is_some()).count(), 1);
    let written = store.refresh_next_deadlines(tz).await.unwrap();
    assert_eq!(written as usize, n, "every stale row, in parts");
    assert_eq!(store.refresh_next_deadlines(tz).await.unwrap(), 0);
    let after: std::collections::HashMap<i64, Option<i64>> = read(&[])
        .await
        .into_iter()
        .map(|(id, at)| (id, at.map(|t| t.timestamp())))
        .collect();
    let open = store.open_cases().await.unwrap();
    assert_eq!(open.len(), n);
    for c in open {
        let want = c.case().next_deadline(tz).map(|(_, at)| at.timestamp());
        assert!(want.is_some(), "{}", c.case_ref);
        assert_eq!(after[&c.id], want, "{}", c.case_ref);
    }
    store.close().await;
}

on_both_backends!(
    stale_next_deadlines_written_again,
    stale_next_deadlines_written_again_on_sqlite,
    stale_next_deadlines_written_again_on_postgres
);

/// News is written before older backlog (`workers::watch`): within one
/// UIDVALIDITY the checkpoint a transaction writes never moves back, and
/// each message keeps its own UID; a new UIDVALIDITY starts over.
async fn checkpoint_moves_only_forward(db_url: &str) {
    use breachwatch::store::Checkpoint;
    use breachwatch::workers::ingest::Origin;
    let (store, p, now) = start(db_url).await;
    let origin = |uid| Origin {
        mailbox: "INBOX".into(),
        uidvalidity: 7,
        uid,
    };
    let at = |uidvalidity, last_uid| Checkpoint {
        uidvalidity,
        last_uid,
    };
    // The news (UID 20) first, then a backlog message (UID 15).
    p.handle(&notice("news@x", ""), None, Some(origin(20)), now)
        .await
        .unwrap();
    assert_eq!(store.checkpoint("INBOX").await.unwrap(), Some(at(7, 20)));
    p.handle(
        &notice("old@x", "In-Reply-To: <news@x>\r\n"),
        None,
        Some(origin(15)),
        now,
    )
    .await
    .unwrap();
    assert_eq!(store.checkpoint("INBOX").await.unwrap(), Some(at(7, 20)));
    store.set_checkpoint("INBOX", at(7, 3)).await.unwrap();
    assert_eq!(store.checkpoint("INBOX").await.unwrap(), Some(at(7, 20)));
    store.set_checkpoint("INBOX", at(7, 21)).await.unwrap();
    assert_eq!(store.checkpoint("INBOX").await.unwrap(), Some(at(7, 21)));
    // A new UIDVALIDITY: the mailbox was recreated, its UIDs start over.
    store.set_checkpoint("INBOX", at(8, 2)).await.unwrap();
    assert_eq!(store.checkpoint("INBOX").await.unwrap(), Some(at(8, 2)));
    store.close().await;
}

on_both_backends!(
    checkpoint_moves_only_forward,
    checkpoint_moves_only_forward_on_sqlite,
    checkpoint_moves_only_forward_on_postgres
);

/// The clock composes a group's reminders before the write (one group ahead,
/// or ahead of their due time) and seals them from that read
/// (`ReminderItem::sealed`); a row changed between the read and the write
/// (a command's write moves its version) gets no reminder from that write:
/// it stays due and the next call composes it from the row as it is now.
/// `register verify` finds no problem.
async fn reminder_composed_from_a_row_changed_since_is_composed_again(db_url: &str) {
    use breachwatch::core::event::EventKind;
    use breachwatch::store::{Composed, NewEvent, ReminderItem, SealedRead};
    let (store, p, now) = start(db_url).await;
    for i in 0..2 {
        p.handle(&notice(&format!("s{i}@x"), ""), None, None, now)
            .await
            .unwrap();
    }
    let mut list = store.list_cases().await.unwrap();
    list.sort_by_key(|c| c.id);
    let day1 = list[0].aware_at + Duration::hours(25);
    let page = store.due_reminder_page(day1, None, 10).await.unwrap();
    assert_eq!(page.cases.len(), 2);
    let (due, read): (Vec<_>, Vec<_>) = page.cases.into_iter().unzip();
    let ids: Vec<i64> = due.iter().map(|d| d.case_id).collect();
    let sealed = |id: i64| {
        read.iter()
            .find(|r| r.id == id)
            .map(SealedRead::of)
            .expect("the case was read")
    };
    let items: Vec<ReminderItem> = due
        .into_iter()
        .map(|due| ReminderItem {
            sealed: sealed(due.case_id),
            next: None,
            event: NewEvent {
                kind: EventKind::Reminder,
                actor: "breachwatch".into(),
                data: serde_json::json!({"test": true}),
            },
            composed: Composed::default(),
            due,
        })
        .collect();
    // The first case's sealed reporter changes after the read (as a
    // command's write would, with its version).
    let sql =
        "UPDATE cases SET reporter_name = 'Ändrad Rapportör', version = version + 1 WHERE id = $1";
    match &store {
        Store::Sqlite(pool) => {
            sqlx::query(sql)
                .bind(ids[0])
                .execute(&pool.pool().await)
                .await
                .unwrap();
        }
        Store::Postgres(pool) => {
            sqlx::query(sql).bind(ids[0]).execute(pool).await.unwrap();
        }
    }
    let done = store.commit_reminders(items, day1).await.unwrap();
    assert_eq!(done, vec![false, true]);
    let last_kind = |id: i64| {
        let store = store.clone();
        async move {
            store
                .case_events(id)
                .await
                .unwrap()
                .last()
                .map(|e| e.kind.as_str().to_string())
        }
    };
    assert_ne!(last_kind(ids[0]).await.as_deref(), Some("reminder"));
    assert_eq!(last_kind(ids[1]).await.as_deref(), Some("reminder"));
    // Still due: the next call composes it from the changed row.
    assert_eq!(
        fire_due(&store, &p.sender, &p.cfg.clock, day1)
            .await
            .unwrap(),
        1
    );
    assert_eq!(last_kind(ids[0]).await.as_deref(), Some("reminder"));
    assert_register_verifies(&store).await;
    store.close().await;
}

on_both_backends!(
    reminder_composed_from_a_row_changed_since_is_composed_again,
    reminder_composed_from_a_row_changed_since_is_composed_again_on_sqlite,
    reminder_composed_from_a_row_changed_since_is_composed_again_on_postgres
);

/// The daemon's clock reads and composes the reminders due within
/// `clock::PREPARE_AHEAD` before they fall due (`Firing::ahead`) and writes
/// them at the due instant, not before. A case acknowledged in the meantime
/// gets no reminder composed before the acknowledgement: it is composed
/// again from the row the reply left (to the official, not the deputy). A
/// shutdown during the wait writes nothing; the reminders stay due.
async fn reminders_prepared_ahead(db_url: &str) {
    use breachwatch::workers::clock::{fire_due_waking, Firing};
    use std::time::{Duration as Wait, Instant};
    let (store, p, now) = start(db_url).await;
    let mut refs = Vec::new();
    for i in 0..3 {
        let h = p
            .handle(&notice(&format!("a{i}@x"), ""), None, None, now)
            .await
            .unwrap();
        let Handled::Opened(r) = h else {
            panic!("expected a case, got {h:?}")
        };
        refs.push(r);
    }
    let mut list = store.list_cases().await.unwrap();
    list.sort_by_key(|c| c.id);
    let due = store
        .next_reminder_at()
        .await
        .unwrap()
        .expect("a reminder planned");
    let reminders = |id: i64| {
        let store = store.clone();
        async move {
            store
                .case_events(id)
                .await
                .unwrap()
                .into_iter()
                .filter(|e| e.kind.as_str() == "reminder")
                .map(|e| e.at)
                .collect::<Vec<_>>()
        }
    };
    // Two groups (of two and one), prepared for `due` from 1.5 s before it.
    let firing = |ahead: Wait, cancel| Firing {
        outbox: None,
        group: 2,
        ahead,
        cancel,
    };
    let ahead = Wait::from_millis(1500);
    let before = due - Duration::milliseconds(1500);
    // A shutdown during the wait.
    let cancel = tokio_util::sync::CancellationToken::new();
    let stop = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Wait::from_millis(300)).await;
        stop.cancel();
    });
    let t = Instant::now();
    let fired = fire_due_waking(
        &store,
        &p.sender,
        &p.cfg.clock,
        before,
        firing(ahead, Some(&cancel)),
    )
    .await
    .unwrap();
    assert_eq!(fired, 0);
    assert!(t.elapsed() < ahead, "the shutdown ended the wait");
    for c in &list {
        assert!(reminders(c.id).await.is_empty(), "{}", c.case_ref);
    }
    // Prepared 3 s ahead; the first case is acknowledged by reply 1 s in,
    // after its reminder was composed.
    let ahead = Wait::from_secs(3);
    let before = due - Duration::seconds(3);
    let ack = format!(
        "Received: from vm (localhost [127.0.0.1]) by mail.example.test (Postfix) with ESMTP id 1; Tue, 22 Jun 2021 07:00:00 +0200\r\n\
From: official@example.test\r\nTo: breach@example.test\r\nSubject: SV: [{r}]\r\n\
Date: Tue, 22 Jun 2021 07:00:00 +0200\r\nMessage-ID: <ack-a0@x>\r\nIn-Reply-To: <a0@x>\r\n\r\nkvittera\r\n",
        r = refs[0]
    );
    let t = Instant::now();
    let (fired, acked) = tokio::join!(
        fire_due_waking(&store, &p.sender, &p.cfg.clock, before, firing(ahead, None)),
        async {
            tokio::time::sleep(Wait::from_secs(1)).await;
            p.handle(ack.as_bytes(), None, None, before).await.unwrap()
        }
    );
    assert!(
        t.elapsed() >= ahead,
        "written at the due instant, not before"
    );
    assert_eq!(acked, Handled::Attached(refs[0].clone()));
    assert_eq!(fired.unwrap(), 2, "the acknowledged case's reminder waits");
    assert!(reminders(list[0].id).await.is_empty());
    for c in &list[1..] {
        let at = reminders(c.id).await;
        assert_eq!(at.len(), 1, "{}", c.case_ref);
        assert!(
            at[0] >= due,
            "{}: written at {} before {due}",
            c.case_ref,
            at[0]
        );
        let mail = last_mail(&store, c.id).await;
        assert!(
            mail.recipients.iter().any(|r| r.starts_with("deputy@")),
            "unacknowledged: {:?}",
            mail.recipients
        );
    }
    // Composed again, from the acknowledged case.
    assert_eq!(
        fire_due(&store, &p.sender, &p.cfg.clock, due + Duration::seconds(1))
            .await
            .unwrap(),
        1
    );
    assert_eq!(reminders(list[0].id).await.len(), 1);
    let mail = last_mail(&store, list[0].id).await;
    assert_eq!(mail.purpose, "reminder");
    assert!(
        !mail.recipients.iter().any(|r| r.starts_with("deputy@")),
        "acknowledged: {:?}",
        mail.recipients
    );
    assert_register_verifies(&store).await;
    store.close().await;
}

on_both_backends!(
    reminders_prepared_ahead,
    reminders_prepared_ahead_on_sqlite,
    reminders_prepared_ahead_on_postgres
);

/// On PostgreSQL the clock writes two reminder groups at once, and a group
/// queues its mails before it takes the register counter
/// (`Store::reminder_writers`, `Store::commit_reminders`): while another
/// transaction holds the counter's row, two of the clock's group
/// transactions wait for it, each with its outbox rows already inserted
/// (its `RowExclusiveLock` on `outbox`). Released, every case gets its
/// reminder once and the register verifies.
#[tokio::test]
async fn two_reminder_groups_wait_for_the_counter_at_once_on_postgres() {
    crate::harness::with_pg(|url| async move {
        use breachwatch::workers::clock::{fire_due_waking, Firing};
        use sqlx::Connection;
        const GROUP: usize = 3;
        let (store, p, now) = start(&url).await;
        let n = 3 * GROUP;
        open_cases(&p, "w", n, now).await;
        let list = store.list_cases().await.unwrap();
        assert_eq!(list.len(), n);
        let day1 = list.iter().map(|c| c.aware_at).max().unwrap() + Duration::hours(25);
        // The counter's row held by another transaction.
        let mut holder = sqlx::PgConnection::connect(&url).await.unwrap();
        let mut held = holder.begin().await.unwrap();
        sqlx::query("UPDATE register_counter SET last = last WHERE id = 1")
            .execute(&mut *held)
            .await
            .unwrap();
        let fire = tokio::spawn({
            let (store, sender, plan) = (store.clone(), p.sender.clone(), p.cfg.clock.clone());
            async move { fire_due_waking(&store, &sender, &plan, day1, Firing::now(None, GROUP)).await }
        });
        // The clock's transactions waiting for the counter, each with
        // whether it holds the outbox table's insert lock.
        let mut watcher = sqlx::PgConnection::connect(&url).await.unwrap();
        let t0 = std::time::Instant::now();
        let waiting: Vec<(i32, bool)> = loop {
            let rows: Vec<(i32, bool)> = sqlx::query_as(
                "SELECT a.pid, EXISTS (SELECT 1 FROM pg_locks l WHERE l.pid = a.pid \
                 AND l.relation = 'outbox'::regclass AND l.mode = 'RowExclusiveLock') \
                 FROM pg_stat_activity a WHERE a.datname = current_database() \
                 AND a.wait_event_type = 'Lock' AND a.query LIKE 'UPDATE register_counter%'",
            )
            .fetch_all(&mut watcher)
            .await
            .unwrap();
            if rows.len() >= 2 || t0.elapsed() > std::time::Duration::from_secs(10) {
                break rows;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        };
        assert_eq!(waiting.len(), 2, "group transactions waiting for the counter: {waiting:?}");
        assert!(
            waiting.iter().all(|(_, outbox)| *outbox),
            "a group waits for the counter before queuing its mails: {waiting:?}"
        );
        held.rollback().await.unwrap();
        let fired = fire.await.unwrap().unwrap();
        assert_eq!(fired, n);
        for c in &list {
            let reminders = store
                .case_outbox(c.id)
                .await
                .unwrap()
                .into_iter()
                .filter(|m| m.purpose == "reminder")
                .count();
            assert_eq!(reminders, 1, "{}", c.case_ref);
        }
        assert_register_verifies(&store).await;
        watcher.close().await.unwrap();
        holder.close().await.unwrap();
        store.close().await;
    })
    .await;
}

/// Migration 0014: a raw mail large enough to be compressed is stored with
/// lz4 (not pglz, the slower default) and reads back byte for byte.
#[tokio::test]
async fn raw_mail_is_compressed_with_lz4_on_postgres() {
    crate::harness::with_pg(|url| async move {
        use sqlx::Connection;
        let cfg = Arc::new(config(&url));
        let store = Store::connect(&url).await.expect("connect + migrate");
        let p = Pipeline::new(cfg, store.clone());
        let now: chrono::DateTime<Utc> = "2021-06-21T05:30:00Z".parse().unwrap();
        // A compressible body well over the 2 kB TOAST threshold.
        let pad = "Provdata har haft ett dataintrång i ProvWeb. ".repeat(200);
        let raw = notice("lz4@x", "")
            .into_iter()
            .chain(pad.into_bytes())
            .collect::<Vec<u8>>();
        p.handle(&raw, None, None, now).await.unwrap();
        let mut c = sqlx::PgConnection::connect(&url).await.unwrap();
        let (method, stored): (Option<String>, Vec<u8>) = sqlx::query_as(
            "SELECT pg_column_compression(raw), raw FROM messages WHERE message_id = 'lz4@x'",
        )
        .fetch_one(&mut c)
        .await
        .unwrap();
        assert_eq!(method.as_deref(), Some("lz4"));
        assert_eq!(stored, raw);
        c.close().await.unwrap();
        store.close().await;
    })
    .await;
}

/// The store's PostgreSQL connections have TCP_NODELAY (`store::pg_nodelay`:
/// with Nagle's algorithm on, statements and each connection's TLS handshake
/// waited 40 ms for the server's delayed ACK). sqlx sets it as it connects
/// since 0.9.1 (0.9.0 did not, and the daemon set it afterwards): every
/// connection to the database is checked.
#[tokio::test]
async fn postgres_connections_have_tcp_nodelay() {
    crate::harness::with_pg(|url| async move {
        use breachwatch::store::pg_nodelay::nodelay_of_database_sockets;
        use std::str::FromStr;
        let opts = sqlx::postgres::PgConnectOptions::from_str(&url).unwrap();
        let host = opts.get_host().parse().ok();
        let store = Store::connect(&url).await.expect("connect + migrate");
        assert!(store.list_cases().await.unwrap().is_empty());
        // Another test's connection may be between its connect and sqlx's
        // setting the option: look again for a moment.
        let mut sockets = nodelay_of_database_sockets(host, opts.get_port());
        for _ in 0..20 {
            if sockets.iter().all(|on| *on) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            sockets = nodelay_of_database_sockets(host, opts.get_port());
        }
        assert!(
            !sockets.is_empty() && sockets.iter().all(|on| *on),
            "a connection to the database without TCP_NODELAY: {sockets:?}"
        );
        store.close().await;
    })
    .await;
}

/// Two notices of different suppliers: two cases, each with mail queued.
async fn two_cases(db_url: &str) -> (Store, Pipeline, Vec<(String, i64)>) {
    let store = Store::connect(db_url).await.expect("connect + migrate");
    let p = Pipeline::new(Arc::new(config(db_url)), store.clone());
    let now = Utc::now();
    let mut cases = Vec::new();
    for (i, supplier) in ["Provdata", "Annandata"].iter().enumerate() {
        let raw = format!(
            "From: Staff <staff@example.test>\r\nTo: breach@example.test\r\n\
Subject: VB: Dataintrång hos {supplier}\r\nDate: {date}\r\nMessage-ID: <lane-{i}-{r}@x>\r\n\r\n\
{supplier} har haft ett dataintrång i {supplier}Web.\r\n",
            date = now.to_rfc2822(),
            r = rand::random::<u64>(),
        );
        let Handled::Opened(r) = p.handle(raw.as_bytes(), None, None, now).await.unwrap() else {
            panic!("a case expected")
        };
        let id = store.case_by_ref(&r).await.unwrap().unwrap().id;
        assert!(!store.case_outbox(id).await.unwrap().is_empty());
        cases.push((r, id));
    }
    (store, p, cases)
}

/// The news lane (`workers::burst`): a held sender claims the due mail of
/// the cases named, and nothing of any other case, in send order; what it
/// claimed is not handed out again.
async fn the_news_lane_claims_only_its_cases_mail(db_url: &str) {
    let (store, _p, cases) = two_cases(db_url).await;
    let (news_ref, news_id) = &cases[1];
    let lease = Duration::seconds(60);
    let now = Utc::now() + Duration::seconds(1);
    let rows = store
        .claim_outbox_for_cases(now, lease, 1, 16, std::slice::from_ref(news_ref))
        .await
        .unwrap();
    let queued = store.case_outbox(*news_id).await.unwrap().len();
    assert_eq!(rows.len(), queued, "all of the news's mail");
    assert!(rows.iter().all(|r| r.case_id == Some(*news_id)), "{rows:?}");
    assert!(store
        .claim_outbox_for_cases(now, lease, 1, 16, std::slice::from_ref(news_ref))
        .await
        .unwrap()
        .is_empty());
    // No such case, or none named: nothing.
    for refs in [vec!["PUI-1999-9999".to_string()], vec![]] {
        assert!(store
            .claim_outbox_for_cases(now, lease, 1, 16, &refs)
            .await
            .unwrap()
            .is_empty());
    }
    // The other case's mail is still there for the usual claim.
    let rest = store.claim_outbox_batch(now, lease, 1, 16).await.unwrap();
    assert!(!rest.is_empty());
    assert!(
        rest.iter().all(|r| r.case_id == Some(cases[0].1)),
        "{rest:?}"
    );
    store.close().await;
}

on_both_backends!(
    the_news_lane_claims_only_its_cases_mail,
    the_news_lane_claims_only_its_cases_mail_on_sqlite,
    the_news_lane_claims_only_its_cases_mail_on_postgres
);

/// SQLite's sent journal: a mail the server took (its id journaled after
/// the 250) whose database mark a crash prevented is marked sent at the next
/// start, not sent again; a claimed mail not journaled is due again. The
/// crash tests (`faults::kill_9_*`) cannot tell a broken journal from SMTP's
/// own duplicate window with a few kills; this does.
#[tokio::test]
async fn a_crash_between_the_250_and_the_mark_does_not_resend_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/j.db", dir.path().display());
    let (store, _p, _cases) = two_cases(&url).await;
    assert!(store.defers_sent_marks());
    let now = Utc::now() + Duration::seconds(1);
    let rows = store
        .claim_outbox_batch(now, Duration::seconds(600), 1, 16)
        .await
        .unwrap();
    assert!(rows.len() >= 3, "{rows:?}");
    // The server took the first two; the crash came before the batch's marks.
    store.outbox_journal_sent(rows[0].id);
    store.outbox_journal_sent(rows[1].id);
    store.close().await;
    let store = Store::connect(&url).await.unwrap();
    store.release_sending(now).await.unwrap();
    let again: Vec<i64> = store
        .claim_outbox_batch(now, Duration::seconds(600), 2, 16)
        .await
        .unwrap()
        .iter()
        .map(|r| r.id)
        .collect();
    assert!(
        !again.contains(&rows[0].id) && !again.contains(&rows[1].id),
        "{again:?}"
    );
    let rest: Vec<i64> = rows[2..].iter().map(|r| r.id).collect();
    assert!(
        rest.iter().all(|id| again.contains(id)),
        "{rest:?} not in {again:?}"
    );
    // The journal was emptied: a second start marks nothing again.
    let journal = dir.path().join("j.db-sent");
    assert_eq!(std::fs::read_to_string(&journal).unwrap_or_default(), "");
    store.close().await;
}

/// Every pooled SQLite connection runs with the daemon's page cache bound
/// (`store::SQLITE_CACHE_KIB`), not SQLite's default of 2,000 KiB; a write
/// transaction spills its dirty pages into the WAL only beyond
/// `store::SQLITE_SPILL_KIB` (not at the cache's bound).
#[tokio::test]
async fn every_sqlite_connection_has_the_page_cache_bound() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect(&format!("sqlite://{}/p.db", dir.path().display()))
        .await
        .expect("connect + migrate");
    let Store::Sqlite(pool) = &store else {
        panic!("a sqlite URL opens SQLite")
    };
    let pool = pool.pool().await;
    // Two connections held at once: the pool's pragmas run on each.
    let mut a = pool.acquire().await.unwrap();
    let mut b = pool.acquire().await.unwrap();
    for conn in [&mut a, &mut b] {
        let kib: i64 = sqlx::query_scalar("PRAGMA cache_size")
            .fetch_one(&mut **conn)
            .await
            .unwrap();
        assert_eq!(kib, -i64::from(breachwatch::store::SQLITE_CACHE_KIB));
        // In pages (of 4 KiB and the cache's own bytes for each).
        let spill: i64 = sqlx::query_scalar("PRAGMA cache_spill")
            .fetch_one(&mut **conn)
            .await
            .unwrap();
        let kib = i64::from(breachwatch::store::SQLITE_SPILL_KIB);
        assert!(
            spill > kib / 8 && spill <= kib / 4,
            "cache_spill {spill} pages"
        );
    }
    drop((a, b));
    store.close().await;
}

/// `Pipeline::depending_on`, the drain's debug figure of how many messages
/// of the next batch depend on this batch's writes: the same message again,
/// another forward of the same notice (same text, same supplier) and a reply
/// to one of the batch do; a reply to something else and unrelated mail do
/// not, and nothing depends on an empty batch.
#[tokio::test]
async fn a_later_batch_depends_on_an_earlier_ones_writes() {
    use breachwatch::workers::ingest::read_all;
    let dir = tempfile::tempdir().unwrap();
    let (_store, p, _) = start(&format!("sqlite://{}/dep.db", dir.path().display())).await;
    let mail = |id: &str, parent: &str, subject: &str| {
        format!(
            "From: Kim <official@example.test>\r\nTo: breach@example.test\r\nSubject: {subject}\r\n\
Date: Mon, 21 Jun 2021 09:00:00 +0200\r\nMessage-ID: <{id}>\r\n{parent}\r\nOk, tack.\r\n"
        )
        .into_bytes()
    };
    // A notice long enough for its text to identify it (`series::text_hash`).
    let long = |id: &str| {
        format!(
            "From: Staff <staff@example.test>\r\nTo: breach@example.test\r\n\
Subject: VB: Dataintrång hos Provdata\r\nDate: Mon, 21 Jun 2021 07:09:14 +0200\r\n\
Message-ID: <{id}>\r\n\r\nProvdata har haft ett dataintrång i ProvWeb. Obehöriga har \
kommit åt personuppgifter om elever och vårdnadshavare under helgen.\r\n"
        )
        .into_bytes()
    };
    let raws = vec![
        long("a@x"),
        long("b@x"),
        mail(
            "r1@y",
            "In-Reply-To: <a@x>\r\n",
            "Re: VB: Dataintrång hos Provdata",
        ),
        mail("r2@y", "In-Reply-To: <z@x>\r\n", "Re: Lunch"),
        mail("l@y", "", "Lunch"),
    ];
    let reads = read_all(
        p.cfg.read_options(),
        raws.into_iter().map(|r| (r, None, None)).collect(),
    )
    .await;
    let [a, b, reply_a, reply_z, lunch] = [0, 1, 2, 3, 4].map(|i| &reads[i..=i]);
    assert_eq!(p.depending_on(a, a), 1, "the same message");
    assert_eq!(p.depending_on(a, b), 1, "another forward of the notice");
    assert_eq!(p.depending_on(a, reply_a), 1, "a reply to it");
    assert_eq!(p.depending_on(a, reply_z), 0, "a reply to another");
    assert_eq!(p.depending_on(a, lunch), 0, "unrelated mail");
    assert_eq!(p.depending_on(lunch, a), 0, "a notice after unrelated mail");
    assert_eq!(p.depending_on(&[], &reads), 0);
    assert_eq!(p.depending_on(a, &reads), 3);
}

/// The outbox claim walks the send order's index and stops after its
/// limit, and finds the claimed rows by primary key, whatever the server
/// knows of the table: PostgreSQL planned a sort of every due row and a
/// hash join over them again when its statistics lagged a burst (a table
/// never analysed that grew to thousands of due rows in seconds, or one
/// analysed when all its mail was sent), at every claim of 16. The claims
/// themselves still go in send order, each row to one claimer.
async fn the_outbox_claim_walks_its_index(db_url: &str) {
    let store = Store::connect(db_url).await.unwrap();
    let now = Utc::now();
    let due = now - Duration::hours(1);
    let pg = !db_url.starts_with("sqlite:");
    let fill = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000) \
                INSERT INTO outbox (case_id, dedupe_key, message_id, purpose, envelope_from, recipients, \
                subject, status, attempts, next_attempt_at, created_at, priority_at) \
                SELECT NULL, 'k' || i, 'm' || i || '@test.invalid', 'ack', 'bw@test.invalid', '[]', 's', \
                'pending', 0, $1, $1, $1 FROM n";
    on_a_connection!(db_url, |c| {
        if pg {
            // No analyse behind the test's back.
            sqlx::query("ALTER TABLE outbox SET (autovacuum_enabled = false)")
                .execute(&mut c)
                .await
                .unwrap();
        }
        sqlx::query(fill).bind(due).execute(&mut c).await.unwrap();
    });
    let check = |plan: &str, when: &str| {
        let lines: Vec<&str> = plan.lines().collect();
        let has = |s: &str| lines.iter().any(|l| l.contains(s));
        if pg {
            assert!(has("Index Scan using outbox_claim"), "{when}:\n{plan}");
            assert!(!has("Sort"), "{when}: a sort in the claim:\n{plan}");
            assert!(!has("Hash"), "{when}: a hash join in the claim:\n{plan}");
            assert!(has("outbox_pkey"), "{when}:\n{plan}");
        } else {
            assert!(has("USING INDEX outbox_claim"), "{when}:\n{plan}");
            assert!(!has("TEMP B-TREE"), "{when}: a sort in the claim:\n{plan}");
            assert!(has("INTEGER PRIMARY KEY"), "{when}:\n{plan}");
        }
    };
    check(
        &store.explain_outbox_claim(now, 16).await.unwrap(),
        "never analysed",
    );
    // Statistics taken while every row was sent: nothing looks due.
    on_a_connection!(db_url, |c| {
        for sql in [
            "UPDATE outbox SET status = 'sent'",
            "ANALYZE outbox",
            "UPDATE outbox SET status = 'pending'",
        ] {
            sqlx::query(sql).execute(&mut c).await.unwrap();
        }
    });
    check(
        &store.explain_outbox_claim(now, 16).await.unwrap(),
        "analysed when all was sent",
    );
    let lease = Duration::seconds(600);
    let first = store.claim_outbox_batch(now, lease, 1, 16).await.unwrap();
    let second = store.claim_outbox_batch(now, lease, 2, 16).await.unwrap();
    let ids =
        |rows: &[breachwatch::store::OutboxRow]| rows.iter().map(|r| r.id).collect::<Vec<_>>();
    // One priority for all: the send order is by id.
    assert_eq!(ids(&first), (1..=16).collect::<Vec<i64>>());
    assert_eq!(ids(&second), (17..=32).collect::<Vec<i64>>());
    // Claimers at once (PostgreSQL: on as many connections, the claim's
    // UPDATE without a status test of its own): each row to one of them,
    // and together the next rows in order.
    let claims: Vec<_> = (3..11)
        .map(|claimer| {
            let store = store.clone();
            tokio::spawn(async move { store.claim_outbox_batch(now, lease, claimer, 16).await })
        })
        .collect();
    let mut taken: Vec<i64> = Vec::new();
    for c in claims {
        let rows = c.await.unwrap().unwrap();
        assert_eq!(rows.len(), 16);
        taken.extend(ids(&rows));
    }
    taken.sort_unstable();
    assert_eq!(taken, (33..=160).collect::<Vec<i64>>());
    store.close().await;
}

on_both_backends!(
    the_outbox_claim_walks_its_index,
    the_outbox_claim_walks_its_index_on_sqlite,
    the_outbox_claim_walks_its_index_on_postgres
);
