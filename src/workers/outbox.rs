//! Outbox worker: sender tasks claim due rows (a batch of [`CLAIM_BATCH`]
//! each, PostgreSQL `SKIP LOCKED`, the nearest deadline first), hand them to
//! SMTP back to back on the task's own connection and mark them sent with the
//! server's reply, or schedule a capped exponential retry. Delivery is at
//! least once; the Message-ID was fixed when the row was written, so a resend
//! is the same mail. The raw mail is read by id (`outbox_raw`, migration
//! 0013), the next row's while one is handed to SMTP: claims and marks touch
//! only the small row, and a sender holds at most two mails.
//!
//! The duplicate window is the time between the server's 250 and its record.
//! On SQLite with a file the record is one line appended to the sent journal
//! (`store::sent_journal`, read at start) right after the reply, and the
//! database marks of a batch follow in one transaction at its end; on
//! PostgreSQL the mark is one statement of its own, right after the reply.
//! Rows of a batch not tried (the connection broke) are given back at once,
//! their attempt not counted. A row left `sending` by a replica that died is
//! due again at once ([`Replica::release_dead_claims`]), not when its lease
//! runs out.
//!
//! Transient failures (connection refused, timeouts, 4xx) are never final.
//! A final refusal (5xx) fails the row and, in the same transaction, queues a
//! mail to the DPO saying so and puts it on the case's timeline; the digest
//! lists such mails too.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::Smtp;
use crate::core::types::{redact_addresses, CaseRef};
use crate::mail::compose::{self, Draft, Sender};
use crate::mail::smtp::{SendOutcome, SmtpSender, SmtpSession};
use crate::store::{Composed, NewEvent, OutboxRow, Replica, Store};
use crate::workers::backoff::Pacer;
use crate::workers::burst::{Burst, Next, MAX_PAUSE};

/// The purpose of the DPO's notice of a refused mail; a refusal of such a
/// notice is only logged (no notice of a notice).
pub const DELIVERY_FAILED: &str = "delivery_failed";

/// How long a claimed row stays ours before another worker (or this one after a
/// crash) may take it: longer than any send can take (the SMTP timeout covers
/// connect and each command). A replica that is gone loses its rows at once
/// (see the module doc); the lease is the fallback for rows of no replica.
pub fn lease(cfg: &Smtp) -> chrono::Duration {
    chrono::Duration::seconds(
        i64::try_from(cfg.timeout_secs)
            .unwrap_or(30)
            .saturating_mul(2)
            + 10,
    )
}

/// How many due rows a sender claims at once and sends back to back on its
/// connection: one claim and (SQLite) one "sent" transaction per batch
/// instead of two writes per mail. Small enough that mail queued meanwhile
/// for a nearer deadline waits at most a batch of sends.
pub const CLAIM_BATCH: i64 = 16;

/// What one step of a sender did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Idle,
    /// A batch was claimed and tried.
    Worked(Tally),
    /// Mail is due but the server cannot be reached (or refuses our login):
    /// no mail was claimed, none lost an attempt.
    Down(String),
}

/// The rows of one claimed batch: sent, retried later, refused for good,
/// given back untried (the connection broke or the claim grew old).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    pub sent: usize,
    pub retried: usize,
    pub failed: usize,
    pub given_back: usize,
}

/// Delay before attempt `attempts + 1`: base * 2^(attempts-1), at most `max`.
pub fn retry_delay(cfg: &Smtp, attempts: u32) -> chrono::Duration {
    let exp = attempts.saturating_sub(1).min(20);
    let secs = cfg
        .retry_base_secs
        .saturating_mul(1u64 << exp)
        .min(cfg.retry_max_secs);
    chrono::Duration::seconds(secs as i64)
}

/// Whether a failed attempt is worth a log line: the first few of a mail and
/// then at attempts 8, 16, 32…, so an outage of any length logs a bounded
/// number of lines per mail (the waiting count is reported by [`run`]).
fn worth_logging(attempts: u32) -> bool {
    attempts <= 2 || attempts.is_power_of_two()
}

/// What the sender tasks of one replica share.
pub struct Outbox {
    pub store: Store,
    pub smtp: SmtpSender,
    pub cfg: Smtp,
    /// Composes the DPO's notice of a refused mail.
    pub sender: Sender,
    /// The DPO told of a refused mail that belongs to no case (the digest).
    pub default_dpo: String,
    pub case_prefix: String,
    /// This replica's id, recorded on the rows it claims.
    pub replica: i64,
    /// The clock's bursts and the watchers' drains: a sender does not claim
    /// while one is written (at most `burst::MAX_PAUSE` at a time), except
    /// the mail of news written meanwhile (the news lane).
    pub burst: Burst,
}

impl Outbox {
    pub fn new(
        cfg: &crate::config::Config,
        store: Store,
        smtp: SmtpSender,
        replica: i64,
        burst: Burst,
    ) -> Self {
        Outbox {
            store,
            smtp,
            cfg: cfg.smtp.clone(),
            sender: Sender {
                from_address: cfg.smtp.from.clone(),
                from_name: cfg.smtp.from_name.clone(),
                internal_domains: cfg.general.internal_domains.clone(),
                tz: cfg.tz(),
            },
            default_dpo: cfg.routing.default.dpo.address.clone(),
            case_prefix: cfg.general.case_prefix.clone(),
            replica,
            burst,
        }
    }
}

/// Claims up to [`CLAIM_BATCH`] due mails (nearest deadline first) and sends
/// them back to back on the session's connection. A transient failure
/// (connection refused, timeout, 4xx) is never final: the mail is retried
/// with capped backoff until it goes out, and the rest of the batch is given
/// back untried (due at once, no attempt counted). Only a permanent refusal
/// (5xx) ends a mail.
///
/// Each 250 is recorded at once: on SQLite with a file in the sent journal
/// (one appended line) and in the database for the whole batch in one
/// transaction at its end; elsewhere in the database, row by row. A crash
/// between the 250 and the database mark thus never resends on SQLite (the
/// journal is read at start), and on PostgreSQL the window is one statement.
///
/// `news`: while the senders are held back (`workers::burst`), only the mail
/// of these cases is claimed; when it filled the claim, the cases go back in
/// the lane for the rest.
pub async fn send_batch(
    ob: &Outbox,
    session: &mut SmtpSession,
    now: DateTime<Utc>,
    news: Option<Vec<String>>,
) -> anyhow::Result<Step> {
    // Mail due and no connection: connect before claiming. While the server
    // is down no mail is attempted (none drifts to a later retry), so when
    // it is back every waiting mail is due and goes out nearest deadline
    // first.
    if !session.is_open() && ob.store.next_outbox_at().await?.is_some_and(|t| t <= now) {
        if let Err(SendOutcome::Retry(e) | SendOutcome::Permanent(e)) = ob.smtp.ready(session).await
        {
            return Ok(Step::Down(redact_addresses(&e)));
        }
    }
    let lease = lease(&ob.cfg);
    let rows = match news {
        None => {
            ob.store
                .claim_outbox_batch(now, lease, ob.replica, CLAIM_BATCH)
                .await?
        }
        Some(refs) => {
            let rows = ob
                .store
                .claim_outbox_for_cases(now, lease, ob.replica, CLAIM_BATCH, &refs)
                .await?;
            if rows.len() as i64 == CLAIM_BATCH {
                ob.burst.news(refs);
            }
            rows
        }
    };
    if rows.is_empty() {
        return Ok(Step::Idle);
    }
    let claimed = std::time::Instant::now();
    let defer = ob.store.defers_sent_marks();
    let mut marks: Vec<(i64, DateTime<Utc>, String)> = Vec::new();
    let mut tally = Tally::default();
    let mut untried: Vec<i64> = Vec::new();
    let mut result = Ok(());
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let mut ahead = ReadAhead::default();
    for (i, row) in rows.into_iter().enumerate() {
        // A claim is ours for `lease`: past half of it (a slow server), the
        // rest goes back rather than risk a sibling taking a row we send.
        if claimed.elapsed() > (lease / 2).to_std().unwrap_or(Duration::ZERO) {
            untried.extend_from_slice(&ids[i..]);
            break;
        }
        let next = ids.get(i + 1).copied();
        match send_row(ob, session, row, defer, &mut marks, &mut ahead, next).await {
            Ok(RowOutcome::Sent) => tally.sent += 1,
            Ok(RowOutcome::Failed) => tally.failed += 1,
            Ok(RowOutcome::Retry) => {
                // The connection is gone or the server defers: the rest
                // waits for the next claim (after a reconnect).
                tally.retried += 1;
                untried.extend_from_slice(&ids[i + 1..]);
                break;
            }
            Err(e) => {
                untried.extend_from_slice(&ids[i + 1..]);
                result = Err(e);
                break;
            }
        }
    }
    // The batch's "sent" marks first (journaled already): asked again for a
    // minute if the store fails now, as the row stays ours meanwhile and a
    // resend would be a duplicate.
    if !marks.is_empty() {
        let mut tries = 0;
        while let Err(e) = ob.store.outbox_delivered_many(&marks).await {
            tries += 1;
            if tries >= 60 {
                return Err(e.into());
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
    if !untried.is_empty() {
        tally.given_back = untried.len();
        // On failure the rows stay `sending` until the lease runs out (or the
        // start of the next daemon): later, never lost.
        if let Err(e) = ob
            .store
            .outbox_unclaim(&untried, ob.replica, Utc::now())
            .await
        {
            result = result.and(Err(e.into()));
        }
    }
    result.map(|()| Step::Worked(tally))
}

/// What became of one row of a batch.
enum RowOutcome {
    Sent,
    Retry,
    Failed,
}

/// The next row's mail, read while the current one is handed to SMTP. When
/// a batch ends early (a lease half gone, a failed connection) the mail read
/// ahead is dropped unsent: one mail's read, no more.
#[derive(Default)]
struct ReadAhead(Option<(i64, Vec<u8>)>);

impl ReadAhead {
    /// The mail read ahead, if it is row `id`'s.
    fn take(&mut self, id: i64) -> Option<Vec<u8>> {
        match self.0.take() {
            Some((ahead, raw)) if ahead == id => Some(raw),
            _ => None,
        }
    }
}

/// Sends one claimed row: reads its raw mail (or takes it from `ahead`),
/// hands it to SMTP while the `next` row's mail is read into `ahead`, and
/// records the outcome (a 250 in `marks` when they are deferred, else at
/// once). At most two mails a sender are in memory: the one sent and the
/// next one.
async fn send_row(
    ob: &Outbox,
    session: &mut SmtpSession,
    mut row: OutboxRow,
    defer: bool,
    marks: &mut Vec<(i64, DateTime<Utc>, String)>,
    ahead: &mut ReadAhead,
    next: Option<i64>,
) -> anyhow::Result<RowOutcome> {
    let cfg = &ob.cfg;
    // The claim counted this attempt already.
    let attempts = row.attempts;
    let raw = match ahead.take(row.id) {
        Some(raw) => Some(raw),
        None => ob.store.outbox_raw(row.id).await?,
    };
    let Some(raw) = raw else {
        // Cannot happen (the row and its raw are written together); a row
        // without its mail is refused for good rather than tried forever.
        let err = "the queued mail's bytes are missing (outbox_raw)".to_string();
        let notice = refusal_notice(ob, &row, &err).await;
        ob.store
            .outbox_refused(row.id, attempts, &err, Utc::now(), row.case_id, notice)
            .await?;
        tracing::error!(message_id = %row.message_id, purpose = %row.purpose, "{err}");
        return Ok(RowOutcome::Failed);
    };
    row.raw = raw;
    let t0 = std::time::Instant::now();
    // The next mail is read beside the SMTP exchange (a store round trip
    // less between two mails). A read that fails or finds nothing leaves
    // `ahead` empty: the next row reads its mail itself, and meets the
    // error or the missing mail there.
    let (sent, read) = tokio::join!(
        ob.smtp
            .send_on(session, &row.envelope_from, &row.recipients, &row.raw),
        async {
            let id = next?;
            let raw = ob.store.outbox_raw(id).await.ok().flatten()?;
            Some((id, raw))
        }
    );
    *ahead = ReadAhead(read);
    match sent {
        SendOutcome::Sent(reply) => {
            let smtp_ms = t0.elapsed().as_millis() as u64;
            if defer {
                // One appended line now; the database mark with the batch's.
                ob.store.outbox_journal_sent(row.id);
                marks.push((row.id, Utc::now(), reply.clone()));
            } else {
                // At once, on its own: this is the duplicate window. A store
                // that fails now (a database restart) is asked again for a
                // minute: the row stays ours meanwhile, and a resend would be
                // a duplicate.
                let mut tries = 0;
                while let Err(e) = ob.store.outbox_delivered(row.id, Utc::now(), &reply).await {
                    tries += 1;
                    if tries >= 60 {
                        return Err(e.into());
                    }
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
            let mark_ms = (t0.elapsed().as_millis() as u64).saturating_sub(smtp_ms);
            tracing::info!(message_id = %row.message_id, attempts, smtp_ms, mark_ms, reply = %reply, "mail sent");
            Ok(RowOutcome::Sent)
        }
        SendOutcome::Retry(err) => {
            let next = Utc::now() + retry_delay(cfg, attempts);
            ob.store.outbox_retry(row.id, attempts, next, &err).await?;
            if attempts >= cfg.max_attempts && worth_logging(attempts) {
                tracing::error!(message_id = %row.message_id, attempts, %next, "mail still not sent, retrying until the server takes it: {}", redact_addresses(&err));
            } else if worth_logging(attempts) {
                tracing::warn!(message_id = %row.message_id, attempts, %next, "send failed, will retry: {}", redact_addresses(&err));
            }
            Ok(RowOutcome::Retry)
        }
        SendOutcome::Permanent(err) => {
            let notice = refusal_notice(ob, &row, &err).await;
            ob.store
                .outbox_refused(row.id, attempts, &err, Utc::now(), row.case_id, notice)
                .await?;
            tracing::error!(message_id = %row.message_id, attempts, purpose = %row.purpose, "mail refused for good; the DPO is told: {}", redact_addresses(&err));
            Ok(RowOutcome::Failed)
        }
    }
}

/// The DPO's mail about a refused mail and the case's event, composed before
/// the row's transaction. Nothing for a refused notice of this kind (the
/// digest still lists it).
async fn refusal_notice(ob: &Outbox, row: &OutboxRow, err: &str) -> Composed {
    let event = NewEvent {
        kind: crate::core::event::EventKind::MailRefused,
        actor: "breachwatch".into(),
        data: serde_json::json!({
            "message_id": row.message_id,
            "purpose": row.purpose,
            "error": redact_addresses(err),
        }),
    };
    if row.purpose == DELIVERY_FAILED {
        return Composed {
            mails: Vec::new(),
            events: vec![event],
        };
    }
    let (tag, dpo) = match row.case_id {
        Some(id) => match ob.store.case_by_id(id).await {
            Ok(rec) => {
                let dpo = rec
                    .route
                    .as_ref()
                    .map(|r| r.dpo.address.clone())
                    .unwrap_or_else(|| ob.default_dpo.clone());
                (rec.case_ref, dpo)
            }
            Err(_) => (
                CaseRef::from_stored(format!("{}-POST", ob.case_prefix)),
                ob.default_dpo.clone(),
            ),
        },
        None => (
            CaseRef::from_stored(format!("{}-POST", ob.case_prefix)),
            ob.default_dpo.clone(),
        ),
    };
    let text = crate::core::text::mail::delivery_failed_text(
        &row.purpose,
        &row.message_id,
        &row.recipients.join(", "),
        err,
    );
    let d = Draft {
        dedupe_key: format!("{}/{DELIVERY_FAILED}", row.message_id),
        purpose: DELIVERY_FAILED.into(),
        to: vec![dpo],
        cc: vec![],
        subject: crate::core::text::mail::DELIVERY_FAILED_SUBJECT.into(),
        text,
        in_reply_to: None,
        attachments: vec![],
    };
    match compose::format(&ob.sender, &tag, d) {
        Ok(m) => Composed {
            mails: vec![m],
            events: vec![event],
        },
        Err(e) => Composed {
            mails: Vec::new(),
            events: vec![event, compose::dropped_event(&e)],
        },
    }
}

/// One sender task: sends until nothing is due, then sleeps until the next
/// due row, a wake-up or at most 30 s. A claimed row wakes a sibling, so a
/// backlog is sent by every task in parallel.
async fn sender(
    ob: Arc<Outbox>,
    pacer: Arc<tokio::sync::Mutex<Pacer>>,
    down: Arc<tokio::sync::Mutex<Pacer>>,
    wake: Arc<Notify>,
    cancel: CancellationToken,
) {
    let mut session = SmtpSession::default();
    loop {
        if cancel.is_cancelled() {
            return;
        }
        // Reminders falling due by the thousand, and a backlog, are written
        // first; the mail of news written meanwhile is not held back.
        let news = tokio::select! {
            next = ob.burst.next(MAX_PAUSE) => match next {
                Next::Claim => None,
                Next::News(refs) => Some(refs),
            },
            _ = cancel.cancelled() => return,
        };
        let step = send_batch(&ob, &mut session, Utc::now(), news).await;
        let sleep_for = match step {
            Ok(Step::Idle) => {
                // Nothing due: give the connection back to the server (kept
                // only while mail goes out back to back; an idle one would
                // hold one of the relay's server processes).
                session = SmtpSession::default();
                pacer.lock().await.succeeded();
                crate::app::HEALTH.store_ok.store(true, Ordering::Relaxed);
                let next = ob.store.next_outbox_at().await.ok().flatten();
                next.map(|t| (t - Utc::now()).to_std().unwrap_or(Duration::ZERO))
                    .unwrap_or(Duration::from_secs(30))
                    .min(Duration::from_secs(30))
            }
            Ok(Step::Down(e)) => {
                // The server is unreachable: the growing backoff (at most
                // smtp.retry_max_secs), said once per interval for all
                // sender tasks; the mail waits unclaimed.
                crate::app::HEALTH.store_ok.store(true, Ordering::Relaxed);
                let wait = down
                    .lock()
                    .await
                    .failed(&anyhow::anyhow!("SMTP server: {e}"));
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = cancel.cancelled() => return,
                }
                continue;
            }
            Ok(_) => {
                pacer.lock().await.succeeded();
                down.lock().await.succeeded();
                wake.notify_one();
                continue;
            }
            Err(e) => {
                // The store failed: the growing backoff, said once per
                // interval for all sender tasks, and no wake-up cuts it short.
                crate::app::HEALTH.store_ok.store(false, Ordering::Relaxed);
                let wait = pacer.lock().await.failed(&e);
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = cancel.cancelled() => return,
                }
                continue;
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(sleep_for) => {}
            _ = wake.notified() => {}
            _ = cancel.cancelled() => return,
        }
    }
}

/// Runs `cfg.senders` sender tasks, and every few seconds makes the rows of
/// replicas that are gone due again and says (once a minute) when mail waits.
pub async fn run(ob: Outbox, replica: Arc<Replica>, wake: Arc<Notify>, cancel: CancellationToken) {
    let ob = Arc::new(ob);
    let release = |quiet: bool| {
        let replica = replica.clone();
        async move {
            match replica.release_dead_claims(Utc::now()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(
                    mails = n,
                    "mails interrupted mid-send by a stopped replica are due again"
                ),
                Err(e) if !quiet => tracing::error!("outbox: {e:#}"),
                Err(_) => {}
            }
        }
    };
    release(false).await;
    let tasks = TaskTracker::new();
    let pacer = Arc::new(tokio::sync::Mutex::new(Pacer::new("outbox")));
    let down = Arc::new(tokio::sync::Mutex::new(Pacer::with_cap(
        "outbox",
        Duration::from_secs(ob.cfg.retry_max_secs.max(1)),
    )));
    for _ in 0..ob.cfg.senders.max(1) {
        tasks.spawn(sender(
            ob.clone(),
            pacer.clone(),
            down.clone(),
            wake.clone(),
            cancel.clone(),
        ));
    }
    tasks.close();
    let pg = matches!(ob.store, Store::Postgres(_));
    let mut last_report = std::time::Instant::now();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(3)) => {}
            _ = cancel.cancelled() => break,
        }
        // SQLite: the file is this daemon's; its own rows were released at start.
        if pg {
            release(true).await;
            wake.notify_one();
        }
        if last_report.elapsed() >= Duration::from_secs(60) {
            last_report = std::time::Instant::now();
            report_waiting(&ob).await;
        }
    }
    tasks.wait().await;
}

/// Mail that has waited more than a minute: said once a minute, and in the
/// readiness state.
async fn report_waiting(ob: &Outbox) {
    if let Ok((n, oldest)) = ob.store.outbox_waiting().await {
        let stuck = oldest.is_some_and(|t| Utc::now() - t > chrono::Duration::minutes(1));
        crate::app::HEALTH
            .outbox_stuck
            .store(stuck, Ordering::Relaxed);
        if stuck {
            tracing::warn!(waiting = n, oldest = ?oldest, "outbox: mail is waiting for the SMTP server");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mail_read_ahead_is_given_only_to_its_own_row() {
        // Another row's mail sent as this row's would reach the wrong
        // recipients: a mismatch reads afresh, and the mail read ahead is
        // used at most once.
        let mut ahead = ReadAhead(Some((7, b"mail of row 7".to_vec())));
        assert_eq!(ahead.take(8), None);
        assert_eq!(ahead.take(7), None, "a mismatch drops what was read ahead");
        let mut ahead = ReadAhead(Some((7, b"mail of row 7".to_vec())));
        assert_eq!(ahead.take(7).as_deref(), Some(&b"mail of row 7"[..]));
        assert_eq!(ahead.take(7), None);
        assert_eq!(ReadAhead::default().take(7), None);
    }

    #[test]
    fn retries_back_off_exponentially_up_to_the_cap() {
        let text =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config/example.toml"))
                .unwrap();
        let cfg = crate::config::Config::from_toml(&text, |_| None)
            .unwrap()
            .smtp;
        let secs: Vec<i64> = (1..=9)
            .map(|a| retry_delay(&cfg, a).num_seconds())
            .collect();
        assert_eq!(secs, vec![5, 10, 20, 40, 80, 160, 320, 600, 600]);
        assert_eq!(cfg.senders, 4);
    }
}
