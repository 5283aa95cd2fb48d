//! Clock worker: sleeps until shortly before the next reminder falls due (or
//! a wake-up), reads and composes the reminders due then, and at the due
//! instant sends the latest due reminder of each case (never a burst of past
//! ones) and schedules the next: the due cases from one range scan, in
//! transactions of [`WRITE_GROUP`] cases, the next groups' mails composed
//! while one is written (two written at once on PostgreSQL,
//! `Store::reminder_writers`).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::core::clock::{self, ReminderPlan};
use crate::core::event::EventKind;
use crate::core::routing::Route;
use crate::mail::compose::{self, Sender};
use crate::store::{CaseRecord, Composed, NewEvent, ReminderItem, Store};
use crate::workers::burst::Burst;

/// How many cases' reminders one transaction writes: large enough that the
/// per-transaction cost is spread (one statement per kind of write for the
/// group) and the senders' claims and marks (SQLite has one writer) come
/// between few of them, small enough that they wait about a tenth of a
/// second behind one. Measured at 10,000 reminders due at once with four
/// senders (SQLite, `make bench-daemon`): queued p99 3.6-4.0 s with groups
/// of 200, 2.9-3.2 s with 500, 3.2 s with 1,000.
pub const WRITE_GROUP: usize = 500;

/// What the clock tells the outbox's senders: a group was written (`wake`),
/// a burst is being written (`burst`).
#[derive(Clone, Default)]
pub struct OutboxLink {
    pub wake: Arc<Notify>,
    pub burst: Burst,
}

/// Fires every due reminder; returns how many were queued. See [`fire_due_waking`].
pub async fn fire_due(
    store: &Store,
    sender: &Sender,
    plan: &ReminderPlan,
    now: DateTime<Utc>,
) -> anyhow::Result<usize> {
    fire_due_waking(store, sender, plan, now, Firing::now(None, WRITE_GROUP)).await
}

/// How far ahead of a due time the daemon's clock reads and composes the
/// reminders due then ([`run`]): a burst's mails are ready when it falls
/// due, so the writes start at the due instant instead of a read and a
/// compose after it. Short, because a case changed in the meantime has its
/// reminder composed again (`Store::commit_reminders` writes a reminder only
/// from the row version it was composed from).
pub const PREPARE_AHEAD: Duration = Duration::from_secs(2);

/// How many composed groups wait for their write at most (besides the one
/// being composed): all of a call's (`store::DUE_SCAN`), so a burst
/// prepared ahead is composed before it falls due and its writes do not
/// share the two cores with composing. What that costs: about 3.5 KB a
/// waiting reminder (its mail, event and seal), 35 MB at 10,000 (the
/// reminder burst of `make bench-daemon` peaked at 118 MB RSS against 97 MB
/// with 8 groups and 83 MB with one, queued p99 0.87 s against 1.03 s and
/// 1.30-1.43 s; session 27), handed back after the burst
/// (`memory::trim`).
pub const STAGED_GROUPS: usize = (crate::store::DUE_SCAN as usize).div_ceil(WRITE_GROUP);

/// How one call of [`fire_due_waking`] runs.
#[derive(Clone, Copy)]
pub struct Firing<'a> {
    /// Woken after each group; its burst held while more than one is written.
    pub outbox: Option<&'a OutboxLink>,
    /// Cases per write group (the daemon: [`WRITE_GROUP`]).
    pub group: usize,
    /// The reminders are read and composed for `now + ahead` and written
    /// from then on (the call waits); zero: for `now`, written at once.
    pub ahead: Duration,
    /// Ends a wait for the due instant (nothing is written then).
    pub cancel: Option<&'a CancellationToken>,
}

impl<'a> Firing<'a> {
    /// Reminders due at the call's `now`, written at once.
    pub fn now(outbox: Option<&'a OutboxLink>, group: usize) -> Firing<'a> {
        Firing {
            outbox,
            group,
            ahead: Duration::ZERO,
            cancel: None,
        }
    }
}

/// Fires every reminder due at `now + firing.ahead`; returns how many were
/// queued. The due cases come from one indexed range scan
/// (`cases_next_reminder`, at most `store::DUE_SCAN` a call) read a page of
/// `firing.group` cases at a time, whole rows: pages are read and their
/// mails composed (off the async workers) while the groups before them wait
/// or are written, at most [`STAGED_GROUPS`] ahead, each group written in
/// one transaction (each case only from the plan position and row version
/// it was read at; a case changed since is left for the next call).
/// Nothing is written before `now + firing.ahead`: the call waits for it
/// after the first page is composed.
/// `outbox` is woken after each group; while more than one group is
/// written (a burst), its senders claim nothing new (`workers::burst`). A
/// group's events carry the time it was written: `now` plus the time spent
/// since the call.
pub async fn fire_due_waking(
    store: &Store,
    sender: &Sender,
    plan: &ReminderPlan,
    now: DateTime<Utc>,
    firing: Firing<'_>,
) -> anyhow::Result<usize> {
    let started = std::time::Instant::now();
    let group = firing.group.max(1);
    let due_at = now + chrono::Duration::from_std(firing.ahead).unwrap_or_default();
    // The due cases a page (a group) at a time, whole rows, in due order:
    // the first group is read, composed (off the async workers) and written
    // while the rest is still to be read. Groups are prepared ahead: the
    // reading and composing of the next overlap the wait for the due
    // instant and the writing of this one.
    // The producer stops when this side stops listening (an error returned
    // below drops `prepared`), after `store::DUE_SCAN` cases (the rest
    // waits for the next call), or at a page that is not full.
    let (tx, mut prepared) = tokio::sync::mpsc::channel::<anyhow::Result<Prepared>>(STAGED_GROUPS);
    let (s, p, st) = (sender.clone(), plan.clone(), store.clone());
    tokio::spawn(async move {
        let mut after = None;
        let mut read_total: i64 = 0;
        let limit = i64::try_from(group).unwrap_or(i64::MAX);
        while read_total < crate::store::DUE_SCAN {
            let t = std::time::Instant::now();
            let page = match st
                .due_reminder_page(
                    due_at,
                    after,
                    limit.min(crate::store::DUE_SCAN - read_total),
                )
                .await
            {
                Ok(page) => page,
                Err(e) => {
                    let _ = tx.send(Err(e.into())).await;
                    return;
                }
            };
            let Some(next_after) = page.after else {
                return;
            };
            if after.is_none() {
                tracing::debug!(
                    first_page = page.cases.len(),
                    scan_ms = started.elapsed().as_millis() as u64,
                    "due reminders read"
                );
            }
            after = Some(next_after);
            let n = page.cases.len() as i64;
            read_total += n;
            let full = n == limit;
            let next = prepare(&s, &p, due_at, page.cases, t.elapsed(), full).await;
            let failed = next.is_err();
            if tx.send(next).await.is_err() || failed || !full {
                return;
            }
        }
    });
    // Nothing is written before the due instant; a cancelled wait writes
    // nothing (the reminders stay due).
    let due_in = started + firing.ahead;
    let wait = || async move {
        let Some(cancel) = firing.cancel else {
            tokio::time::sleep_until(due_in.into()).await;
            return true;
        };
        tokio::select! {
            _ = tokio::time::sleep_until(due_in.into()) => true,
            _ = cancel.cancelled() => false,
        }
    };
    // More than one group is a burst: the senders claim nothing new until
    // it is written (`workers::burst`), on both backends. A full first page
    // is taken for one.
    let mut burst = None;
    let mut fired = 0;
    let mut broken = None;
    let mut waited = false;
    // Groups being written, at most `Store::reminder_writers` at once (two
    // on PostgreSQL: one locks its cases and queues its mails while the
    // other holds the register counter), their results taken in order.
    let writers = store.reminder_writers().max(1);
    let mut writing = futures::stream::FuturesOrdered::new();
    let mut open = true;
    loop {
        // A write's end is awaited when no other may start (as many as
        // may be written, or no more groups to come); else the next group
        // or a write's end, whichever comes first.
        if writing.len() >= writers || (!open && !writing.is_empty()) {
            if let Some(w) = writing.next().await {
                fired += written(w?, firing.outbox, started);
            }
            continue;
        }
        if !open {
            break;
        }
        let next = if writing.is_empty() {
            prepared.recv().await
        } else {
            tokio::select! {
                biased;
                Some(w) = writing.next() => {
                    fired += written(w?, firing.outbox, started);
                    continue;
                }
                g = prepared.recv() => g,
            }
        };
        let Some(group) = next else {
            open = false;
            continue;
        };
        let Prepared {
            items,
            logged,
            error,
            read,
            composed,
            more,
        } = group?;
        if !waited {
            waited = true;
            if !wait().await {
                return Ok(fired);
            }
        }
        if burst.is_none() && more {
            burst = firing.outbox.map(|o| o.burst.begin());
        }
        if let Some(e) = error {
            // The other cases' reminders still go; the clock backs off and
            // says why.
            broken.get_or_insert(e);
        }
        let at = now + chrono::Duration::from_std(started.elapsed()).unwrap_or_default();
        let store = store.clone();
        writing.push_back(async move {
            let t = std::time::Instant::now();
            let done = store.commit_reminders(items, at).await?;
            anyhow::Ok(Written {
                done,
                logged,
                read,
                composed,
                write: t.elapsed(),
            })
        });
    }
    if burst.take().is_some() {
        // The burst's mails, events and rows are freed: back to the kernel.
        crate::memory::trim();
    }
    if let Some(e) = broken {
        return Err(e);
    }
    if !waited && !wait().await {
        return Ok(fired);
    }
    fired += fire_due_nis2(store, sender, due_at).await?;
    Ok(fired)
}

/// A group's write, done.
struct Written {
    /// Per reminder whether it was queued (`Store::commit_reminders`).
    done: Vec<bool>,
    logged: Vec<Fired>,
    read: Duration,
    composed: Duration,
    write: Duration,
}

/// Logs a written group's reminders and wakes the outbox; how many were
/// queued.
fn written(w: Written, outbox: Option<&OutboxLink>, started: std::time::Instant) -> usize {
    tracing::debug!(
        cases = w.done.len(),
        read_ms = w.read.as_millis() as u64,
        compose_ms = w.composed.as_millis() as u64,
        write_ms = w.write.as_millis() as u64,
        since_scan_ms = started.elapsed().as_millis() as u64,
        "reminder group written"
    );
    let mut fired = 0;
    for (done, (case_ref, seq, overdue)) in w.done.into_iter().zip(w.logged) {
        if done {
            fired += 1;
            tracing::info!(case = %case_ref, seq, overdue, "reminder queued");
        }
    }
    if let Some(o) = outbox {
        o.wake.notify_one();
    }
    fired
}

/// A group of due reminders ready to write: the items, what the log says of
/// each once committed (same order), and the first case that could not be
/// prepared (its reminder waits; the clock reports it).
struct Prepared {
    items: Vec<ReminderItem>,
    logged: Vec<Fired>,
    error: Option<anyhow::Error>,
    /// Time spent reading the group's rows and composing its mails.
    read: Duration,
    composed: Duration,
    /// The group's page was full: more may follow (a burst).
    more: bool,
}

/// Composes a page of due cases' reminders on a blocking thread (pure, CPU
/// only); `read` is the time the page took to read, `more` whether more
/// pages may follow.
async fn prepare(
    sender: &Sender,
    plan: &ReminderPlan,
    now: DateTime<Utc>,
    page: Vec<(crate::store::DueReminder, CaseRecord)>,
    read: Duration,
    more: bool,
) -> anyhow::Result<Prepared> {
    let (sender, plan) = (sender.clone(), plan.clone());
    let composed = tokio::task::spawn_blocking(move || {
        let t = std::time::Instant::now();
        let mut out = Prepared {
            items: Vec::with_capacity(page.len()),
            logged: Vec::with_capacity(page.len()),
            error: None,
            read,
            composed: Duration::ZERO,
            more,
        };
        for (due, record) in page {
            match reminder_item(due, &record, &sender, &plan, now) {
                Ok(Some((item, log))) => {
                    out.items.push(item);
                    out.logged.push(log);
                }
                Ok(None) => {}
                Err(e) => {
                    out.error.get_or_insert(e);
                }
            }
        }
        out.composed = t.elapsed();
        out
    })
    .await?;
    Ok(composed)
}

/// What the log says of a reminder once committed: case, seq, overdue.
type Fired = (String, u32, bool);

/// The reminder of one due case (None: nothing is due at `now`), and what
/// the log says of it once committed. A case whose stored route cannot be
/// read is an error of that case only.
fn reminder_item(
    due: crate::store::DueReminder,
    record: &CaseRecord,
    sender: &Sender,
    plan: &ReminderPlan,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<(ReminderItem, Fired)>> {
    let Some(r) = clock::latest_due(due.aware_at, plan, now) else {
        return Ok(None);
    };
    let next = clock::next_after(due.aware_at, plan, now).map(|n| (n.due_at, n.seq));
    let case = record.case();
    let Some(route) = record.route.as_ref() else {
        anyhow::bail!("{}: the stored route cannot be read", record.case_ref);
    };
    // Nobody has acknowledged the case yet: the reminder escalates to the deputy.
    let unacknowledged = case.acknowledged_at.is_none();
    let event = NewEvent {
        kind: if r.overdue {
            EventKind::OverdueReminder
        } else {
            EventKind::Reminder
        },
        actor: "breachwatch".into(),
        data: serde_json::json!({
            "seq": r.seq,
            "offset_hours": r.offset_hours,
            "due_at": r.due_at,
            "skipped_from_seq": due.next_seq,
            "unacknowledged": unacknowledged,
        }),
    };
    metrics::histogram!("breachwatch_reminder_lateness_seconds")
        .record((now - r.due_at).num_milliseconds().max(0) as f64 / 1000.0);
    let aware = due.aware_at;
    let dnr = case.diarienummer.as_ref().map(|d| d.to_string());
    let log = (due.case_ref.to_string(), r.seq, r.overdue);
    let d = compose::reminder(sender, &due.case_ref, route, aware, &r, unacknowledged, now);
    // A reminder that cannot be composed is dropped with an event; the plan
    // moves on all the same.
    let composed = compose::registered_or_dropped(sender, &due.case_ref, dnr.as_deref(), d);
    let item = ReminderItem {
        due,
        next,
        event,
        composed,
        // Sealed here, on the blocking thread, not inside the write.
        sealed: crate::store::SealedRead::of(record),
    };
    Ok(Some((item, log)))
}

/// Fires every due NIS2 reminder (`core::regime`): one mail naming every
/// open NIS2 deadline, then the next from the case as stored; returns how
/// many were queued. A case whose NIS2 clocks stopped meanwhile gets none.
pub async fn fire_due_nis2(
    store: &Store,
    sender: &Sender,
    now: DateTime<Utc>,
) -> anyhow::Result<usize> {
    let tz = sender.tz;
    let mut fired = 0;
    for due in store.due_nis2_reminders(now).await? {
        let record = store.case_by_id(due.case_id).await?;
        let case = record.case();
        let route: Route = record.route.clone().ok_or_else(|| {
            anyhow::anyhow!("{}: the stored route cannot be read", record.case_ref)
        })?;
        // The reminder planned for `due.at` (recomputed from the case as it is
        // now); the daemon may have been down over several: one mail, never a
        // burst, and overdue if the deadline has passed meanwhile.
        let current = case
            .next_nis2_reminder(tz, due.at - chrono::Duration::seconds(1))
            .filter(|r| r.at <= now)
            .map(|mut r| {
                r.overdue |= now >= r.due_at;
                r
            });
        let next = case.next_nis2_reminder(tz, now).map(|r| r.at);
        let Some(r) = current else {
            // Nothing due any more (a report or `nis2: nej` came meanwhile, or
            // the plan moved): plan the next, without a mail.
            store
                .commit_nis2_reminder(&due, record.version, next, None, now, |_| {
                    Composed::mails(Vec::new())
                })
                .await?;
            continue;
        };
        let event = NewEvent {
            kind: if r.overdue {
                EventKind::Nis2OverdueReminder
            } else {
                EventKind::Nis2Reminder
            },
            actor: "breachwatch".into(),
            data: serde_json::json!({
                "clock": r.clock,
                "article": r.clock.article(),
                "due_at": r.due_at,
                "planned_at": r.at,
                "seq": due.sent,
                "nis2_status": case.nis2.status,
                "unacknowledged": case.acknowledged_at.is_none(),
            }),
        };
        let dnr = case.diarienummer.as_ref().map(|d| d.to_string());
        let s = sender.clone();
        let seq = due.sent;
        let done = store
            .commit_nis2_reminder(&due, record.version, next, Some(event), now, move |k| {
                let d = crate::mail::nis2::reminder(s.tz, &k.case_ref, &route, &case, &r, seq, now);
                compose::registered_or_dropped(&s, &k.case_ref, dnr.as_deref(), d)
            })
            .await?;
        if done {
            fired += 1;
            tracing::info!(case = %due.case_ref, clock = ?r.clock, overdue = r.overdue, "NIS2 reminder queued");
        }
    }
    Ok(fired)
}

pub async fn run(
    store: Store,
    sender: Sender,
    plan: ReminderPlan,
    wake: Arc<Notify>,
    outbox: OutboxLink,
    cancel: CancellationToken,
) {
    let mut pacer = crate::workers::backoff::Pacer::new("clock");
    // The next due time read before a timer's sleep, used again when the
    // timer ends: nothing woke the clock meanwhile (this process's changes
    // of a plan wake it), so it is not read twice. Another replica's plans
    // are read by the round itself, as before.
    let mut carried: Option<Option<DateTime<Utc>>> = None;
    loop {
        if cancel.is_cancelled() {
            return;
        }
        // Reminders due within `PREPARE_AHEAD` are read and composed now
        // and written at their due instant; the rest when they are due.
        let now = Utc::now();
        let next = match carried.take() {
            Some(next) => Ok(next),
            None => store.next_reminder_at().await,
        };
        let ahead = match next {
            Ok(Some(next)) => (next - now)
                .to_std()
                .ok()
                .filter(|d| *d <= PREPARE_AHEAD)
                .unwrap_or_default(),
            _ => Duration::ZERO,
        };
        let firing = Firing {
            outbox: Some(&outbox),
            group: WRITE_GROUP,
            ahead,
            cancel: Some(&cancel),
        };
        match fire_due_waking(&store, &sender, &plan, now, firing).await {
            Ok(n) => {
                pacer.succeeded();
                if n > 0 {
                    outbox.wake.notify_one();
                }
            }
            Err(e) => {
                // Reminders wait for the store, said once per interval; a
                // reminder is never lost, only late (`latest_due`).
                let wait = pacer.failed(&e);
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = cancel.cancelled() => return,
                }
                continue;
            }
        }
        // Woken `PREPARE_AHEAD` before the next due time (at once if it is
        // that close, or a case left for later is due).
        let next = store.next_reminder_at().await.ok().flatten();
        let sleep_for = next
            .map(|t| {
                (t - Utc::now())
                    .to_std()
                    .unwrap_or(Duration::ZERO)
                    .saturating_sub(PREPARE_AHEAD)
            })
            .unwrap_or(Duration::from_secs(60))
            .min(Duration::from_secs(60));
        tokio::select! {
            _ = tokio::time::sleep(sleep_for) => carried = Some(next),
            _ = wake.notified() => {}
            _ = cancel.cancelled() => return,
        }
    }
}
