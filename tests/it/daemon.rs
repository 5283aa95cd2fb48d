//! The daemon end to end against the real mail stack: cases, threading,
//! restarts and crashes, SMTP outages, auto-replies and quarantine. Every
//! story runs twice: on the embedded SQLite default and on PostgreSQL (the
//! replicas' store), as `daemon::STORY::sqlite` and `daemon::STORY::postgres`.

use std::time::Duration;

use chrono::{DateTime, Datelike, Utc};

use crate::harness::*;

fn opening_mails(s: &Setup, role: &str) -> Vec<Mail> {
    s.mails(role, "")
        .into_iter()
        .filter(|m| m.subject.contains("Ny personuppgiftsincident"))
        .collect()
}

/// An IMAP session as the daemon's configuration opens it (the breach mailbox).
async fn imap_session(s: &Setup) -> breachwatch::mail::imap::ImapConn {
    let cfg = breachwatch::config::Config::load(&s.config).expect("config");
    let (conn, _, _) = breachwatch::mail::imap::ImapConn::connect(&cfg.imap)
        .await
        .expect("IMAP connect");
    conn
}

fn ts(v: &serde_json::Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().expect("time string"))
        .expect("RFC 3339")
        .with_timezone(&Utc)
}

fn late_forward_opens_one_urgent_case_with_the_original_awareness(db: Option<String>) {
    let s = setup(Knobs {
        database_url: db,
        ..Knobs::default()
    });
    let d = s.start();
    let now = Utc::now();
    // Outlook headers carry minutes only: the supplier's mail arrived 71 h ago.
    let original: DateTime<Utc> =
        DateTime::from_timestamp((now.timestamp() - 71 * 3600) / 60 * 60, 0).unwrap();
    s.send(
        "staff",
        &outlook_forward(&s, original, "Dataintrång hos Provdata", now),
    );

    let opening = wait_for(20, "the opening notice to the official", || {
        opening_mails(&s, "official").into_iter().next()
    });
    assert!(
        opening.subject.contains("BRÅDSKANDE"),
        "{}",
        opening.subject
    );
    assert!(opening.subject.contains("[PUI-"), "{}", opening.subject);
    assert!(
        opening.cc.contains(&s.users.addr("dpo")),
        "DPO on copy: {}",
        opening.cc
    );
    assert_eq!(
        opening.header("Auto-Submitted").as_deref(),
        Some("auto-generated")
    );
    // What happened, from the reader's facts, and the supplier's own text.
    for line in [
        "VAD HAR HÄNT\n",
        "System: ProvWeb\n",
        "Personuppgifter: namn, personnummer och hälso- och sjukvårdsuppgifter\n",
        "> Provdata Sverige AB har drabbats av ett dataintrång",
        "Anmäl till IMY nu med det bifogade utkastet",
    ] {
        assert!(opening.text.contains(line), "{line:?} in\n{}", opening.text);
    }
    // Why the clock started before the forward, in Stockholm time, weekday
    // included: the original's minute exactly, the forward's day (its
    // minute is the delivery's, a few seconds after `now`).
    let sv = |t: DateTime<Utc>| {
        let l = t.with_timezone(&chrono_tz::Europe::Stockholm);
        let wd = [
            "måndag", "tisdag", "onsdag", "torsdag", "fredag", "lördag", "söndag",
        ][l.weekday().num_days_from_monday() as usize];
        let month = [
            "januari",
            "februari",
            "mars",
            "april",
            "maj",
            "juni",
            "juli",
            "augusti",
            "september",
            "oktober",
            "november",
            "december",
        ][l.month0() as usize];
        (
            format!("{wd} {} {month}", l.day()),
            l.format("%H:%M").to_string(),
        )
    };
    let (orig_day, orig_time) = sv(original);
    let (fwd_day, _) = sv(now);
    let why = format!(
        "Leverantörens meddelande kom till kommunen {orig_day} {orig_time}; \
         det vidarebefordrades {fwd_day} "
    );
    assert!(opening.text.contains(&why), "{why:?} in\n{}", opening.text);
    let ack = wait_for(20, "the acknowledgement to the forwarder", || {
        s.mails("staff", "")
            .into_iter()
            .find(|m| m.subject.contains("Mottaget"))
    });
    assert!(ack.subject.contains("[PUI-"));

    let cases = s.cases();
    assert_eq!(cases.len(), 1, "exactly one case: {cases:?}");
    let c = &cases[0];
    assert_eq!(
        ts(&c["aware_at"]),
        original,
        "clock starts at the original receipt"
    );
    assert_eq!(
        ts(&c["deadline_at"]),
        original + chrono::Duration::hours(72)
    );
    assert_eq!(c["reminders_sent"], 0);
    assert_eq!(c["messages"], 1);
    // No burst of past reminders: a few seconds later the official still has
    // only the opening notice.
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(s.mails("official", "").len(), 1, "no reminder burst");
    assert_eq!(s.mails("staff", "").len(), 1);
    // The handled notice moved out of the INBOX.
    wait_for(20, "the notice moved to Processed", || {
        (s.mails("breach", "").is_empty() && s.mails("breach", "Processed").len() == 1)
            .then_some(())
    });
    let stop = d.terminate();
    assert!(stop < Duration::from_secs(10), "stopped in {stop:?}");
}

fn replies_and_case_refs_attach_to_the_same_case(db: Option<String>) {
    let s = setup(Knobs {
        database_url: db,
        ..Knobs::default()
    });
    let _d = s.start();
    let now = Utc::now();
    s.forward(2, "Intrång i ProvWeb");
    let opening = wait_for(20, "opening notice", || {
        opening_mails(&s, "official").into_iter().next()
    });
    let case_ref = s.cases()[0]["ref"].as_str().unwrap().to_string();

    // The official answers the opening notice (thread headers only).
    let reply = format!(
        "From: {o}\r\nTo: {b}\r\nSubject: SV: något om incidenten\r\nDate: {d}\r\n\
Message-ID: <reply-{r}@example.test>\r\nIn-Reply-To: <{p}>\r\nReferences: <{p}>\r\n\r\n\
Jag har ringt leverantören, de återkommer i morgon.\r\n",
        o = s.users.addr("official"),
        b = s.users.addr("breach"),
        d = now.to_rfc2822(),
        r = rand::random::<u32>(),
        p = opening.message_id
    );
    s.send("official", reply.as_bytes());
    // Staff sends new information naming only the case reference.
    let by_ref = format!(
        "From: {st}\r\nTo: {b}\r\nSubject: Mer info om {case_ref}\r\nDate: {d}\r\n\
Message-ID: <ref-{r}@example.test>\r\n\r\nLeverantören säger att 40 personer berörs.\r\n",
        st = s.users.addr("staff"),
        b = s.users.addr("breach"),
        d = now.to_rfc2822(),
        r = rand::random::<u32>(),
    );
    s.send("staff", by_ref.as_bytes());

    let c = wait_for(20, "both messages attached", || {
        let c = s.case(&case_ref);
        (c["messages"] == 3).then_some(c)
    });
    assert_eq!(s.cases().len(), 1, "no second case");
    let links: Vec<String> = c["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "message_attached")
        .map(|e| e["data"]["link"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(links, vec!["thread", "case_ref"]);
    // The official hears of the staff's message, not of their own reply.
    wait_for(20, "follow-up notice", || {
        let n = s
            .mails("official", "")
            .iter()
            .filter(|m| m.subject.contains("Ny information"))
            .count();
        (n == 1).then_some(())
    });
    std::thread::sleep(Duration::from_secs(1));
    let notices: Vec<Mail> = s
        .mails("official", "")
        .into_iter()
        .filter(|m| m.subject.contains("Ny information"))
        .collect();
    assert_eq!(notices.len(), 1);
    // Staff learn which case their news joined.
    wait_for(20, "acknowledgement of the attached message", || {
        s.mails("staff", "")
            .into_iter()
            .find(|m| m.subject.contains("Mottaget: Mer info") && m.text.contains("kopplats till"))
    });
    assert!(
        notices[0].text.contains(&s.users.addr("staff")),
        "{}",
        notices[0].text
    );
}

fn restart_and_sigkill_lose_and_duplicate_nothing(db: Option<String>) {
    let s = setup(Knobs {
        database_url: db,
        ..Knobs::default()
    });
    let now = Utc::now();
    let n = 6;
    for i in 0..n {
        s.send(
            "staff",
            // Different suppliers: the same supplier and system would rightly
            // join one case as a status series.
            &outlook_forward_from(
                &s,
                now - chrono::Duration::hours(1 + i),
                &format!("Incident nummer {i}"),
                now,
                &format!("leverantor{i}.example"),
                &format!("System{i}"),
            ),
        );
    }
    wait_for(20, "all notices delivered to the shared mailbox", || {
        (s.mails("breach", "").len() == n as usize).then_some(())
    });
    // Crash as soon as the first case exists, mid-run.
    let d = s.start();
    wait_for(20, "first case", || (!s.cases().is_empty()).then_some(()));
    d.kill9();
    // Restart, stop politely while work may remain, restart again.
    let d = s.start();
    std::thread::sleep(Duration::from_millis(300));
    let stop = d.terminate();
    assert!(stop < Duration::from_secs(10), "SIGTERM stop took {stop:?}");
    let _d = s.start();
    let t0 = std::time::Instant::now();
    while !(s.cases().len() == n as usize && opening_mails(&s, "official").len() >= n as usize) {
        // A kill during a send leaves that row leased (2 x SMTP timeout + 10 s).
        if t0.elapsed() > Duration::from_secs(60) {
            panic!(
                "not every case/opening after 60s: {} cases, {} openings, inbox {}, processed {}\nlog:\n{}",
                s.cases().len(),
                opening_mails(&s, "official").len(),
                s.mails("breach", "").len(),
                s.mails("breach", "Processed").len(),
                _d.log_text()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_secs(2));
    let cases = s.cases();
    assert_eq!(cases.len(), n as usize, "no duplicate case");
    let mut refs: Vec<&str> = cases.iter().map(|c| c["ref"].as_str().unwrap()).collect();
    refs.dedup();
    assert_eq!(refs.len(), n as usize);
    let openings = opening_mails(&s, "official");
    let mut ids: Vec<String> = openings.iter().map(|m| m.message_id.clone()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), n as usize, "one opening notice per case");
    // Delivery is at least once: a kill in the millisecond between the server's
    // 250 and our "sent" mark resends the SAME mail (same Message-ID, which mail
    // clients fold). One kill can cause at most one such resend.
    assert!(
        openings.len() <= n as usize + 1,
        "{} deliveries for {n} opening notices",
        openings.len()
    );
    // Nothing left behind in the INBOX (a kill between a commit and its move is
    // mended by the rescan after the restart).
    wait_for(20, "every notice in Processed", || {
        (s.mails("breach", "").is_empty() && s.mails("breach", "Processed").len() == n as usize)
            .then_some(())
    });
}

/// A TCP forwarder to the real SMTP server, started only when a test wants the
/// "server" back.
fn forward(port: u16, to: u16) {
    let l = std::net::TcpListener::bind(("127.0.0.1", port)).expect("bind proxy port");
    std::thread::spawn(move || {
        for c in l.incoming().flatten() {
            let Ok(up) = std::net::TcpStream::connect(("127.0.0.1", to)) else {
                continue;
            };
            let (mut a, mut b) = (c.try_clone().unwrap(), up.try_clone().unwrap());
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut a, &mut b);
                let _ = b.shutdown(std::net::Shutdown::Both);
            });
            let (mut a, mut b) = (up, c);
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut a, &mut b);
                let _ = b.shutdown(std::net::Shutdown::Both);
            });
        }
    });
}

fn mail_waits_while_smtp_is_down_and_goes_out_when_it_is_back(db: Option<String>) {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    // Two attempts "in all" would once have failed the mails for good after a
    // few seconds of outage: transient failures are never final now.
    let s = setup(Knobs {
        database_url: db,
        smtp_port: Some(port),
        max_attempts: 2,
        ..Knobs::default()
    });
    let d = s.start();
    s.forward(3, "Intrång under avbrott");
    let case_ref = wait_for(20, "case", || {
        s.cases()
            .first()
            .map(|c| c["ref"].as_str().unwrap().to_string())
    });
    // The mails are queued; the senders found the server down (more than
    // once: the backoff is short) without spending an attempt of any mail.
    wait_for(20, "the outage said", || {
        d.log_text().contains("SMTP server").then_some(())
    });
    std::thread::sleep(std::time::Duration::from_secs(4));
    let c = s.case(&case_ref);
    assert!(
        c["mails"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["attempts"] == 0 && m["status"] == "pending"),
        "{c}"
    );
    assert!(opening_mails(&s, "official").is_empty());
    forward(port, s.stack.smtp_port());
    wait_for(30, "opening notice after SMTP came back", || {
        opening_mails(&s, "official").into_iter().next()
    });
    wait_for(30, "acknowledgement after SMTP came back", || {
        s.mails("staff", "")
            .into_iter()
            .find(|m| m.subject.contains("Mottaget"))
    });
    let c = s.case(&case_ref);
    assert!(
        c["mails"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["status"] == "sent"),
        "{c}"
    );
}

fn auto_replies_are_not_answered_and_garbage_is_quarantined(db: Option<String>) {
    let s = setup(Knobs {
        database_url: db,
        ..Knobs::default()
    });
    let _d = s.start();
    let now = Utc::now();
    s.forward(5, "Intrång");
    let ack = wait_for(20, "ack", || {
        s.mails("staff", "")
            .into_iter()
            .find(|m| m.subject.contains("Mottaget"))
    });
    let case_ref = s.cases()[0]["ref"].as_str().unwrap().to_string();
    wait_for(20, "opening", || {
        opening_mails(&s, "official").into_iter().next()
    });

    // Staff's out-of-office answers the acknowledgement.
    let ooo = format!(
        "From: {st}\r\nTo: {b}\r\nSubject: Automatiskt svar: {subj}\r\nDate: {d}\r\n\
Message-ID: <ooo-{r}@example.test>\r\nIn-Reply-To: <{p}>\r\nAuto-Submitted: auto-replied\r\n\r\n\
Jag är på semester till och med måndag.\r\n",
        st = s.users.addr("staff"),
        b = s.users.addr("breach"),
        subj = ack.subject,
        d = now.to_rfc2822(),
        r = rand::random::<u32>(),
        p = ack.message_id
    );
    s.send("staff", ooo.as_bytes());
    wait_for(20, "auto-reply recorded on the case", || {
        (s.case(&case_ref)["messages"] == 2).then_some(())
    });
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        s.mails("staff", "").len(),
        1,
        "the auto-reply is not answered"
    );
    assert_eq!(
        s.mails("official", "").len(),
        1,
        "nobody is told about an auto-reply"
    );

    // Bytes that are not a message at all, put straight into the mailbox.
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let mut conn = imap_session(&s).await;
        conn.append(
            "INBOX",
            b"\x00\x01\x02\xff\xfe binary junk, no header line\x00\r\n",
        )
        .await
        .expect("APPEND");
        conn.logout().await;
    });
    wait_for(20, "garbage in the Quarantine folder", || {
        (s.mails("breach", "Quarantine").len() == 1).then_some(())
    });
    let q: Vec<serde_json::Value> =
        serde_json::from_str(&s.cli(&["quarantine", "list", "--json"])).unwrap();
    assert_eq!(q.len(), 1, "{q:?}");
    assert!(
        q[0]["error"]
            .as_str()
            .unwrap_or_default()
            .contains("not an email"),
        "{q:?}"
    );
    assert_eq!(s.cases().len(), 1, "garbage opened no case");
}

/// A TCP forwarder whose open connections a test can cut, as a network failure
/// or a server restart would.
struct CuttableProxy {
    port: u16,
    conns: std::sync::Arc<std::sync::Mutex<Vec<std::net::TcpStream>>>,
}

impl CuttableProxy {
    fn start(to: u16) -> CuttableProxy {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let port = l.local_addr().unwrap().port();
        let conns: std::sync::Arc<std::sync::Mutex<Vec<std::net::TcpStream>>> = Default::default();
        let keep = conns.clone();
        std::thread::spawn(move || {
            for c in l.incoming().flatten() {
                let Ok(up) = std::net::TcpStream::connect(("127.0.0.1", to)) else {
                    continue;
                };
                if let Ok(mut v) = keep.lock() {
                    v.push(c.try_clone().unwrap());
                    v.push(up.try_clone().unwrap());
                }
                let (mut a, mut b) = (c.try_clone().unwrap(), up.try_clone().unwrap());
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut a, &mut b);
                    let _ = b.shutdown(std::net::Shutdown::Both);
                });
                let (mut a, mut b) = (up, c);
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut a, &mut b);
                    let _ = b.shutdown(std::net::Shutdown::Both);
                });
            }
        });
        CuttableProxy { port, conns }
    }

    /// Drops every connection open now.
    fn cut(&self) -> usize {
        let mut v = self.conns.lock().unwrap();
        for s in v.iter() {
            let _ = s.shutdown(std::net::Shutdown::Both);
        }
        let n = v.len() / 2;
        v.clear();
        n
    }
}

fn a_dropped_imap_connection_is_reestablished_and_nothing_is_missed(db: Option<String>) {
    let s = setup(Knobs {
        database_url: db,
        ..Knobs::default()
    });
    let proxy = CuttableProxy::start(s.stack.get("MAILSTACK_IMAPS_PORT").parse().unwrap());
    // Point the daemon's IMAP at the proxy (the certificate still names localhost).
    let cfg = std::fs::read_to_string(&s.config).unwrap().replace(
        &format!("port = {}", s.stack.get("MAILSTACK_IMAPS_PORT")),
        &format!("port = {}", proxy.port),
    );
    std::fs::write(&s.config, cfg).unwrap();
    let d = s.start();
    let now = Utc::now();
    s.forward(1, "Första incidenten");
    wait_for(20, "first case", || (s.cases().len() == 1).then_some(()));
    // The connection dies while the daemon IDLEs; a notice arrives meanwhile.
    assert!(proxy.cut() >= 1, "the daemon had an IMAP connection to cut");
    s.send(
        "staff",
        &outlook_forward_from(
            &s,
            now - chrono::Duration::hours(2),
            "Andra incidenten",
            now,
            "annan.example",
            "AnnatSystem",
        ),
    );
    wait_for(30, "second case after the reconnect", || {
        (s.cases().len() == 2).then_some(())
    });
    assert!(
        d.log_text().contains("reconnecting"),
        "the log shows the reconnect:\n{}",
        d.log_text()
    );
    // The move out of the INBOX follows the case's transaction.
    wait_for(20, "both notices moved to Processed", || {
        (s.mails("breach", "").is_empty() && s.mails("breach", "Processed").len() == 2)
            .then_some(())
    });
}

fn without_idle_and_move_the_daemon_polls_and_copies(db: Option<String>) {
    let s = setup(Knobs {
        database_url: db,
        use_idle: false,
        use_move: false,
        ..Knobs::default()
    });
    let d = s.start();
    s.forward(1, "Via polling");
    wait_for(20, "case by polling", || {
        (s.cases().len() == 1).then_some(())
    });
    wait_for(
        20,
        "the notice copied to Processed and expunged from the INBOX",
        || {
            (s.mails("breach", "Processed").len() == 1 && s.mails("breach", "").is_empty())
                .then_some(())
        },
    );
    assert!(d.log_text().contains("idle=false"), "{}", d.log_text());
}

/// Two `breachwatch run` on one SQLite file (an admin starts a second one by
/// mistake, or a unit restarts while the old process lingers): the second
/// says so and stands by; it does nothing until the first is gone, then
/// takes over. No case is opened twice.
#[test]
fn a_second_daemon_on_the_same_sqlite_file_stands_by_and_takes_over() {
    let s = setup(Knobs::default());
    let first = s.start();
    s.forward(2, "Första incidenten");
    wait_for(20, "first case", || (s.cases().len() == 1).then_some(()));
    let second = s.start();
    wait_for(20, "the second daemon says it stands by", || {
        second
            .log_text()
            .contains("another breachwatch uses this database; standing by")
            .then_some(())
    });
    assert!(
        !second
            .log_text()
            .contains("this replica watches the mailbox"),
        "{}",
        second.log_text()
    );
    first.kill9();
    let now = Utc::now();
    s.send(
        "staff",
        &outlook_forward_from(
            &s,
            now - chrono::Duration::hours(1),
            "Andra incidenten",
            now,
            "annan.example",
            "AnnatSystem",
        ),
    );
    wait_for(
        30,
        "the second daemon took over and opened the second case",
        || (s.cases().len() == 2).then_some(()),
    );
    assert!(
        second
            .log_text()
            .contains("this replica watches the mailbox"),
        "{}",
        second.log_text()
    );
    // One acknowledgement per notice, none twice.
    wait_for(20, "two acknowledgements", || {
        (s.mails("staff", "").len() >= 2).then_some(())
    });
    std::thread::sleep(Duration::from_secs(2));
    let acks = s.mails("staff", "");
    let mut ids: Vec<_> = acks.iter().map(|m| m.message_id.clone()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), acks.len(), "no mail twice");
}

/// Each story as two tests: `STORY::sqlite` (a file in the test's directory)
/// and `STORY::postgres` (a fresh database on `BREACHWATCH_TEST_PG`, dropped
/// afterwards).
macro_rules! on_both_stores {
    ($($story:ident),* $(,)?) => {$(
        mod $story {
            #[test]
            fn sqlite() {
                super::$story(None);
            }

            #[test]
            fn postgres() {
                let db = crate::faults::PgDb::create();
                super::$story(Some(db.url.clone()));
            }
        }
    )*};
}

on_both_stores!(
    late_forward_opens_one_urgent_case_with_the_original_awareness,
    replies_and_case_refs_attach_to_the_same_case,
    restart_and_sigkill_lose_and_duplicate_nothing,
    mail_waits_while_smtp_is_down_and_goes_out_when_it_is_back,
    auto_replies_are_not_answered_and_garbage_is_quarantined,
    a_dropped_imap_connection_is_reestablished_and_nothing_is_missed,
    without_idle_and_move_the_daemon_polls_and_copies,
);

/// `fetch_uids` answers every UID it is asked for whatever their order: the
/// drain puts mail that arrived meanwhile (higher UIDs) before the backlog's,
/// and a lookup that assumed a sorted list left such a notice out of its
/// batch (it waited for the next wake-up, up to 30 s). Against Dovecot.
#[test]
fn a_fetch_of_uids_in_any_order_returns_each_message_once_in_uid_order() {
    let s = setup(Knobs::default());
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let mut conn = imap_session(&s).await;
        for i in 0..5 {
            let raw = format!(
                "From: a@example.test\r\nSubject: m{i}\r\nMessage-ID: <order-{i}@example.test>\r\n\r\nbody {i}\r\n"
            );
            conn.append("INBOX", raw.as_bytes()).await.expect("APPEND");
        }
        let uids: Vec<u32> = conn.pending(0).await.expect("pending").iter().map(|&(u, _)| u).collect();
        assert_eq!(uids.len(), 5, "{uids:?}");
        // The news-first order: the newest two first, then the backlog.
        let asked = [uids[4], uids[3], uids[0], uids[1], uids[2], uids[4]];
        let got = conn.fetch_uids(&asked).await.expect("UID FETCH");
        let got_uids: Vec<u32> = got.iter().map(|f| f.uid).collect();
        assert_eq!(got_uids, uids, "each asked message once, in UID order");
        for (i, f) in got.iter().enumerate() {
            let text = String::from_utf8_lossy(&f.raw);
            assert!(text.contains(&format!("body {i}")), "{text}");
        }
        conn.logout().await;
    });
}

#[test]
fn mail_that_arrives_between_commands_ends_the_next_idle_at_once() {
    let s = setup(Knobs::default());
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let mut watcher = imap_session(&s).await;
        let mut other = imap_session(&s).await;
        assert!(watcher.has_idle(), "Dovecot offers IDLE");
        let before = watcher.pending(0).await.expect("pending").len();
        // Delivered while the watcher runs no command: the server tells it
        // when its next command (IDLE) begins.
        other
            .append("INBOX", b"From: a@example.test\r\nSubject: between\r\nMessage-ID: <between@example.test>\r\n\r\nbody\r\n")
            .await
            .expect("APPEND");
        tokio::time::sleep(Duration::from_millis(300)).await;
        let cancel = tokio_util::sync::CancellationToken::new();
        let t = std::time::Instant::now();
        let wake = watcher
            .wait(Duration::from_secs(30), Duration::from_secs(30), &cancel)
            .await
            .expect("IDLE");
        assert!(
            matches!(wake, breachwatch::mail::imap::Wake::Changed) && t.elapsed() < Duration::from_secs(10),
            "IDLE should end at once with news, not at its reissue: {wake:?} after {:?}",
            t.elapsed()
        );
        assert_eq!(watcher.pending(0).await.expect("pending").len(), before + 1);
        other.logout().await;
        watcher.logout().await;
    });
}
