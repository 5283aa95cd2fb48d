//! Intake of a backlog: bounded batches against the real mail stack. A backlog
//! several times larger than the memory bound drains under the bound; one
//! poisonous message in a batch does not keep the others from being recorded.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use chrono::Utc;

use crate::harness::*;

/// The daemon's peak RSS bound during a drain, the goal of issue #10: 64 MB
/// for the release build, which `make test` builds and names in
/// `BREACHWATCH_RELEASE_BIN` (deploy/test.sh).
const PEAK_RSS_BOUND_KB: u64 = 64 * 1024;

/// Without a release build (a bare `cargo test`), the debug build is held to
/// a looser bound: it holds more (unoptimised code and frames): 83–102 MB
/// measured here with 8 MiB batches, the higher figures while other builds
/// loaded the machine (4 MiB batches saved only 6 MB: the batch is not most
/// of it), so it gets 112 MB: still under two fifths of the 300 MB backlog,
/// which the unbounded fetch held whole.
const DEBUG_PEAK_RSS_BOUND_KB: u64 = 112 * 1024;

/// The build the memory test runs, and the bound it is held to.
fn measured_build() -> (String, u64, &'static str) {
    match std::env::var("BREACHWATCH_RELEASE_BIN") {
        Ok(b) if !b.is_empty() => (b, PEAK_RSS_BOUND_KB, "release"),
        _ if cfg!(debug_assertions) => (bin().to_string(), DEBUG_PEAK_RSS_BOUND_KB, "debug"),
        _ => (bin().to_string(), PEAK_RSS_BOUND_KB, "release"),
    }
}

fn maildir(s: &Setup, role: &str) -> PathBuf {
    PathBuf::from(s.stack.get("MAILSTACK_MAIL_DIR"))
        .join("example.test")
        .join(s.users.local(role))
        .join("Maildir")
}

/// Puts messages straight into the shared mailbox's INBOX, all at once (as a
/// backlog that arrived while the daemon was down). The Maildir must exist:
/// deliver one message over SMTP first.
fn backlog(s: &Setup, msgs: impl IntoIterator<Item = Vec<u8>>) -> usize {
    use std::os::unix::fs::MetadataExt;
    let dir = maildir(s, "breach");
    let meta = std::fs::metadata(&dir).expect("the breach Maildir exists");
    let (uid, gid) = (meta.uid(), meta.gid());
    let mut n = 0;
    for (i, raw) in msgs.into_iter().enumerate() {
        let name = format!(
            "{}.M{i}P{}.backlog,S={}",
            Utc::now().timestamp(),
            std::process::id(),
            raw.len()
        );
        let tmp = dir.join("tmp").join(&name);
        std::fs::write(&tmp, &raw).expect("write message");
        std::os::unix::fs::chown(&tmp, Some(uid), Some(gid)).expect("chown message");
        std::fs::rename(&tmp, dir.join("new").join(&name)).expect("deliver message");
        n += 1;
    }
    n
}

/// Waits until the INBOX is empty and `total` messages are in Processed
/// and Quarantine together.
fn wait_handled(s: &Setup, total: usize, secs: u64, what: &str) {
    wait_for(secs, what, || {
        (s.mails("breach", "").is_empty()
            && s.mails("breach", "Processed").len() + s.mails("breach", "Quarantine").len()
                == total)
            .then_some(())
    });
}

fn first_delivery(s: &Setup) {
    let now = Utc::now();
    s.send(
        "staff",
        &outlook_forward_from(
            s,
            now - chrono::Duration::hours(2),
            "Första incidenten",
            now,
            "forsta.example",
            "Forstasys",
        ),
    );
    wait_for(20, "the first notice delivered", || {
        (s.mails("breach", "").len() == 1).then_some(())
    });
}

/// A small newsletter to the shared mailbox (not a notice: recorded, no
/// case), number `i` with its own Message-ID.
fn newsletter(s: &Setup, i: usize) -> Vec<u8> {
    format!(
        "From: Nyhetsbrev <brev@lista.example>\r\nTo: {breach}\r\nSubject: Veckobrev {i}\r\n\
Date: {date}\r\nMessage-ID: <brev-{i}-{r}@lista.example>\r\n\r\nVeckans nyheter, nummer {i}.\r\n",
        breach = s.users.addr("breach"),
        date = Utc::now().to_rfc2822(),
        r = rand::random::<u64>(),
    )
    .into_bytes()
}

fn proc_kb(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// A 1 MB message with an attachment of random bytes (base64), each different.
fn large_message(s: &Setup, i: usize) -> Vec<u8> {
    use base64_like::encode;
    let mut bytes = vec![0u8; 768 * 1024];
    for b in bytes.iter_mut() {
        *b = rand::random();
    }
    format!(
        "From: Sam Staff <{staff}>\r\n\
To: {breach}\r\n\
Subject: Skannade protokoll {i}\r\n\
Date: {date}\r\n\
Message-ID: <large-{i}-{r}@staff.example.test>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"b-{r}\"\r\n\
\r\n\
--b-{r}\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
\r\n\
Protokollen från förra veckan, inskannade.\r\n\
--b-{r}\r\n\
Content-Type: application/pdf; name=\"protokoll-{i}.pdf\"\r\n\
Content-Transfer-Encoding: base64\r\n\
Content-Disposition: attachment; filename=\"protokoll-{i}.pdf\"\r\n\
\r\n\
{body}\r\n\
--b-{r}--\r\n",
        staff = s.users.addr("staff"),
        breach = s.users.addr("breach"),
        date = Utc::now().to_rfc2822(),
        r = rand::random::<u64>(),
        body = encode(&bytes),
    )
    .into_bytes()
}

/// Base64 with 76-character lines, enough for a test attachment.
mod base64_like {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    pub fn encode(b: &[u8]) -> String {
        let mut out = String::with_capacity(b.len() * 4 / 3 + b.len() / 57 * 2 + 4);
        for (n, c) in b.chunks(3).enumerate() {
            if n > 0 && n % 19 == 0 {
                out.push_str("\r\n");
            }
            let v = (u32::from(c[0]) << 16)
                | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
                | u32::from(*c.get(2).unwrap_or(&0));
            for k in 0..4 {
                if k <= c.len() {
                    out.push(A[(v >> (18 - 6 * k) & 63) as usize] as char);
                } else {
                    out.push('=');
                }
            }
        }
        out
    }
}

#[test]
fn a_backlog_larger_than_the_memory_bound_drains_under_it() {
    let s = setup(Knobs::default());
    first_delivery(&s);
    let n = 300;
    let total = 1 + backlog(&s, (0..n).map(|i| large_message(&s, i)));
    let (build, bound, which) = measured_build();
    let d = s.start_bin(&build);
    let pid = d.child.id();
    let t0 = Instant::now();
    let mut peak = 0;
    loop {
        peak = peak.max(proc_kb(pid, "VmHWM"));
        if s.mails("breach", "").is_empty() && s.mails("breach", "Processed").len() == total {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(600),
            "backlog not drained after 600 s: inbox {}, processed {}\n{}",
            s.mails("breach", "").len(),
            s.mails("breach", "Processed").len(),
            d.log_text()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    peak = peak.max(proc_kb(pid, "VmHWM"));
    eprintln!(
        "{total} messages (≈{n} MB) drained in {:.1} s by the {which} build, peak RSS {} kB \
         (bound {bound} kB)",
        t0.elapsed().as_secs_f64(),
        peak
    );
    let recorded: Vec<serde_json::Value> =
        serde_json::from_str(&s.cli(&["cases", "list", "--json"])).unwrap();
    assert_eq!(recorded.len(), 1, "only the first notice opens a case");
    drop(d);
    // 300 MB of scratch mail: do not leave it in the shared stack.
    let _ = std::fs::remove_dir_all(maildir(&s, "breach").join(".Processed"));
    assert!(
        peak > 0 && peak <= bound,
        "peak RSS {peak} kB of the {which} build over the bound of {bound} kB"
    );
}

#[test]
fn a_poisonous_message_does_not_keep_its_batch_from_being_recorded() {
    let s = setup(Knobs::default());
    first_delivery(&s);
    let now = Utc::now();
    let notice = |i: usize| {
        outlook_forward_from(
            &s,
            now - chrono::Duration::hours(3),
            &format!("Incident {i} i batchen"),
            now,
            &format!("batch{i}.example"),
            &format!("Batchsys{i}"),
        )
    };
    let msgs = vec![
        notice(1),
        notice(2),
        b"\x00\x01\x02\xff\xfe binary junk, no header line\x00\r\n".to_vec(),
        notice(3),
        notice(4),
    ];
    let total = 1 + backlog(&s, msgs);
    let d = s.start();
    wait_handled(&s, total, 60, "the batch handled");
    assert_eq!(s.mails("breach", "Quarantine").len(), 1, "{}", d.log_text());
    assert_eq!(s.mails("breach", "Processed").len(), total - 1);
    assert_eq!(
        s.cases().len(),
        5,
        "every notice but the junk opened a case"
    );
}

/// A notice that arrives during a drain is fetched, read and written before
/// the rest of the backlog (before the batch already in hand), and every
/// message keeps its own IMAP UID in the register: news first once gave the
/// backlog after it the news's UID (the checkpoint's floor). It leaves the
/// INBOX with the backlog on the mover's session, which opened before it
/// arrived (a move of UIDs that session had not seen once moved nothing).
#[test]
fn news_during_a_drain_goes_first_and_every_message_keeps_its_uid() {
    let s = setup(Knobs::default());
    first_delivery(&s);
    // Large enough that the notice, sent once the mover has moved its first
    // set, arrives with many batches still to go (the debug build drains
    // these small mails in a few seconds).
    let n = 10_000;
    let total = 2 + backlog(&s, (0..n).map(|i| newsletter(&s, i)));
    let d = s.start();
    // The mover's session is open and has moved a set: the notice arrives
    // after it last looked at the INBOX, and its move must still find it.
    wait_for(120, "the mover's first set moved", || {
        (!s.mails("breach", "Processed").is_empty()).then_some(())
    });
    let now = Utc::now();
    s.send(
        "staff",
        &outlook_forward_from(
            &s,
            now - chrono::Duration::hours(1),
            "Intrång mitt i kön",
            now,
            "mittikon.example",
            "Kösystemet",
        ),
    );
    wait_for(300, "the backlog and the notice handled", || {
        (s.mails("breach", "").is_empty() && s.mails("breach", "Processed").len() == total)
            .then_some(())
    });
    let log = d.log_text();
    assert!(
        log.contains("new mail during a drain"),
        "the backlog was drained before the notice arrived: make it larger\n{log}"
    );
    assert_eq!(s.cases().len(), 2, "{log}");
    // After the notice's case, backlog batches were still written.
    let opened = log.rfind("case opened").expect("the notice's case opened");
    let full_batches_after = log[opened..].matches("drain batch").count();
    eprintln!("{full_batches_after} batches written after the notice's case opened");
    assert!(
        full_batches_after >= 2,
        "the notice waited for the backlog ({full_batches_after} batches after it)\n{log}"
    );
    drop(d);
    // Each recorded message has its own UID.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (rows, distinct): (i64, i64) = rt.block_on(async {
        let store = breachwatch::store::Store::connect_unmigrated(&s.db_url)
            .await
            .unwrap();
        let breachwatch::store::Store::Sqlite(pool) = &store else {
            unreachable!("the intake tests run on SQLite")
        };
        let r = sqlx::query_as(
            "SELECT COUNT(*), COUNT(DISTINCT uid) FROM messages WHERE uid IS NOT NULL",
        )
        .fetch_one(&pool.pool().await)
        .await
        .unwrap();
        store.close().await;
        r
    });
    assert_eq!(rows, total as i64, "every message recorded with its UID");
    assert_eq!(distinct, rows, "no two messages share a UID");
}

/// A drain of more than one batch holds the outbox's senders back (the
/// backlog's own mail, sent beside it, made the drain about twice as long),
/// but not the mail of a notice that arrives meanwhile: it is
/// written in a batch of its own and its case goes in the news lane
/// (`workers::burst`), so its acknowledgement goes out while the backlog
/// still drains. Without the hold the backlog's acknowledgements would all be
/// sent before it (they are due first); without the lane the news's would
/// wait for the backlog.
#[test]
fn a_drain_holds_its_own_mail_back_but_not_the_mail_of_news() {
    let s = setup(Knobs::default());
    first_delivery(&s);
    let now = Utc::now();
    let notices = 120;
    let plain = 10_000;
    let backlog_notices = (0..notices).map(|i| {
        outlook_forward_from(
            &s,
            now - chrono::Duration::hours(3),
            &format!("Intrång i kön {i}"),
            now,
            &format!("kon{i}.example"),
            &format!("Kösystem {i}"),
        )
    });
    let plain_mails = (0..plain).map(|i| newsletter(&s, i));
    // The notices come first in UID order: they are in the first batch.
    let total = 1 + backlog(&s, backlog_notices) + backlog(&s, plain_mails);
    let d = s.start();
    wait_for(120, "the first batch of the backlog written", || {
        d.log_text().contains("drain batch").then_some(())
    });
    let sent_at = Instant::now();
    s.send(
        "staff",
        &outlook_forward_from(
            &s,
            now - chrono::Duration::hours(1),
            "Nyhet mitt i kön",
            Utc::now(),
            "nyhet.example",
            "Nyhetssystemet",
        ),
    );
    let acks = |s: &Setup| -> (usize, usize) {
        let mails = s.mails("staff", "");
        let news = mails
            .iter()
            .filter(|m| m.subject.contains("Mottaget:") && m.subject.contains("Nyhet mitt i kön"))
            .count();
        let backlog = mails
            .iter()
            .filter(|m| m.subject.contains("Mottaget:") && m.subject.contains("Intrång i kön"))
            .count();
        (news, backlog)
    };
    let (backlog_acked, batches_then) = loop {
        let (news, backlog) = acks(&s);
        if news == 1 {
            break (backlog, d.log_text().matches("drain batch").count());
        }
        assert!(
            sent_at.elapsed() < Duration::from_secs(120),
            "the news not acknowledged in 120 s ({backlog} backlog acknowledgements)\n{}",
            d.log_text()
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let took = sent_at.elapsed();
    eprintln!(
        "news acknowledged {took:?} after it was sent; by then {backlog_acked} of {notices} \
         backlog acknowledgements delivered and {batches_then} batches written"
    );
    // Held back: at most one claim per sender per MAX_PAUSE went out beside
    // the drain; unheld, every one of them was due before the news.
    assert!(
        backlog_acked < notices / 2,
        "{backlog_acked} of {notices} backlog acknowledgements were sent during the drain"
    );
    // When the drain ends, the held mail goes out: every notice acknowledged.
    wait_for(
        300,
        "the backlog drained and every notice acknowledged",
        || {
            let (news, backlog) = acks(&s);
            (s.mails("breach", "").is_empty()
                && s.mails("breach", "Processed").len() == total + 1
                && news == 1
                && backlog == notices)
                .then_some(())
        },
    );
    let log = d.log_text();
    assert!(
        log.contains("new mail during a drain"),
        "the backlog was drained before the notice arrived: make it larger\n{log}"
    );
    // The lane: the news was acknowledged while the backlog still drained.
    let batches_after = log.matches("drain batch").count() - batches_then;
    eprintln!("{batches_after} batches written after the news was acknowledged");
    assert!(
        batches_after >= 2,
        "the news was acknowledged only when the drain ended ({batches_after} batches after it)"
    );
}

/// A drain moves what it has written out of the INBOX on a second IMAP
/// session while it goes on (`imap.move_every`), and the rest on its own
/// session when the queue is empty. `sessions`: how many IMAP connections
/// the server (a proxy in front of Dovecot) accepts; with one, the mover
/// cannot log in and its sets are moved by the watcher's session at the end.
/// Either way every message leaves the INBOX once, to where it belongs.
fn moves_beside_a_drain(sessions: usize) {
    let proxy = Proxy::start(stack().get("MAILSTACK_IMAPS_PORT").parse().unwrap());
    proxy
        .accept_at_most
        .store(sessions, std::sync::atomic::Ordering::Relaxed);
    let s = setup(Knobs {
        imap_port: Some(proxy.port),
        move_every: Some(10),
        ..Knobs::default()
    });
    first_delivery(&s);
    let mut msgs: Vec<Vec<u8>> = (0..120).map(|i| newsletter(&s, i)).collect();
    msgs.insert(
        60,
        b"\x00\x01\x02\xff\xfe binary junk, no header line\x00\r\n".to_vec(),
    );
    // Three batches (50, 50, 22): the first two go to the mover.
    let total = 1 + backlog(&s, msgs);
    let d = s.start();
    wait_handled(&s, total, 120, "the backlog drained");
    std::thread::sleep(Duration::from_millis(500));
    assert!(s.mails("breach", "").is_empty());
    assert_eq!(s.mails("breach", "Quarantine").len(), 1, "{}", d.log_text());
    assert_eq!(s.mails("breach", "Processed").len(), total - 1);
    assert_eq!(s.cases().len(), 1, "only the first notice opens a case");
    let accepted = proxy.accepted.load(std::sync::atomic::Ordering::Relaxed);
    let log = d.log_text();
    let left = log.contains("moves left to the watcher's session");
    if sessions == 1 {
        assert_eq!(accepted, 1);
        assert!(left, "the mover says it could not log in:\n{log}");
    } else {
        assert_eq!(accepted, 2, "the watcher's session and the mover's:\n{log}");
        assert!(!left, "{log}");
    }
}

#[test]
fn a_drain_moves_its_mail_on_a_second_session_beside_it() {
    moves_beside_a_drain(usize::MAX);
}

#[test]
fn a_drain_moves_its_mail_itself_when_a_second_session_is_refused() {
    moves_beside_a_drain(1);
}
