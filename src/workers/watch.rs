//! Mailbox watcher: keeps an IMAP session, ingests every new message in UID
//! order (news first during a drain), advances the checkpoint with each
//! message's transaction, moves handled mail to Processed (unreadable mail to
//! Quarantine) in large UID sets, at the latest when the pass ends, then
//! IDLEs. Reconnects with jittered backoff; a UIDVALIDITY change restarts from
//! the top (dedupe by Message-ID and content hash keeps cases single).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use crate::mail::imap::{batches, ImapConn, Wake};
use crate::workers::ingest::{Handled, Origin, Pipeline, WriteTimes};

/// One pass over the mailbox: ingest everything above `last_uid` (with `rescan`,
/// everything still in the mailbox: after a reconnect, a message whose move failed
/// before a crash is found again, recognised as recorded, and moved). Returns the
/// new last UID. Stops at the first message whose transaction fails (it is
/// retried on the next pass), so nothing is skipped.
///
/// The backlog is fetched in batches bounded by `imap.batch_max_messages` and
/// `imap.batch_max_bytes` (first the UIDs and sizes, then one `UID FETCH` per
/// batch), so memory stays bounded whatever the backlog (at most two
/// batches in hand: the one being written and the next one, fetched and
/// read). A batch is written in group transactions
/// (`ingest::Pipeline::handle_batch`) while the next batch is fetched on the
/// IMAP session and read on the reader threads (`ingest::read_all`). The
/// handled messages (only those: after their transactions) are collected
/// and leave the INBOX with one `UID MOVE` per target folder: every
/// `imap.move_every` (2,000) on a second session while the drain goes on
/// ([`mover`]), and when the queue is empty and at the end of every pass,
/// whatever ended it, on this one. Each batch logs its phase timings at debug level
/// ("drain batch").
///
/// New mail during a drain: before each next batch, one `UID FETCH n:* (UID
/// RFC822.SIZE)` above the highest UID known asks for mail that arrived
/// meanwhile (what IDLE would report; IDLE itself cannot run while the session
/// fetches and moves), and that mail goes first: it is fetched, read and
/// written at once, in a batch of its own (no backlog beside it), before the
/// batch in hand (already fetched and read) is written. So a new notice waits
/// for the batch being written when it arrived, not for the backlog; the
/// older backlog keeps its UID order after it. Every message is recorded with
/// its own UID; the checkpoint never moves back within a UIDVALIDITY
/// (`Store::set_checkpoint`), so it may run ahead of older messages still in
/// the INBOX: a pass that does not finish is always followed by a rescan
/// (store error, reconnect, restart), and the INBOX, not the checkpoint, is
/// what is left to do. A pass that moved mail looks for news once more
/// before it returns (and the watcher waits).
///
/// A pass of more than one batch holds the outbox's senders back until it
/// ends (`workers::burst`): the backlog's own mail, sent beside it, made
/// the drain about twice as long. The cases of news written during it are put
/// in the news lane, so their mail goes out at once.
pub async fn ingest_pass(
    conn: &mut ImapConn,
    p: &Pipeline,
    uidvalidity: u32,
    last_uid: u32,
    rescan: bool,
    stop: &CancellationToken,
) -> anyhow::Result<u32> {
    let mut last = last_uid;
    let mut rescan = rescan;
    loop {
        let (to_mover, from_drain) = tokio::sync::mpsc::unbounded_channel();
        let mut moves = Moves {
            mover: Some(to_mover),
            ..Moves::default()
        };
        let (outcome, left) = {
            let (conn, last, moves) = (&mut *conn, &mut last, &mut moves);
            let drain = async move {
                let r = drain(conn, p, uidvalidity, last, rescan, stop, moves).await;
                // The mover ends when it has moved what it was given.
                moves.mover = None;
                r
            };
            tokio::join!(drain, mover(p, uidvalidity, from_drain))
        };
        let moved = moves.added;
        // Whatever ended the pass, what it handled leaves the INBOX now,
        // with what the mover could not move.
        moves.take_back(left);
        let flushed = moves.flush(conn, p).await;
        outcome?;
        flushed?;
        // The server's word of mail that arrived during a large move can be
        // lost (the library keeps 100 unsolicited answers: a move answers
        // with one per message), and IDLE does not say it again: after
        // moving mail, look once more before waiting.
        if moved == 0 || stop.is_cancelled() {
            return Ok(last);
        }
        rescan = false;
    }
}

/// The batches of one pass (see [`ingest_pass`]); `last` follows the
/// handled messages, `moves` collects them.
async fn drain(
    conn: &mut ImapConn,
    p: &Pipeline,
    uidvalidity: u32,
    last: &mut u32,
    rescan: bool,
    stop: &CancellationToken,
    moves: &mut Moves,
) -> anyhow::Result<()> {
    let imap = &p.cfg.imap;
    let from = if rescan { 0 } else { *last };
    let mut queue: VecDeque<(u32, u32)> = conn.pending(from).await?.into();
    let mut seen = queue
        .iter()
        .map(|&(u, _)| u)
        .max()
        .unwrap_or(from)
        .max(from);
    let first = take_batch(&mut queue, imap.batch_max_messages, imap.batch_max_bytes);
    if first.is_empty() {
        return Ok(());
    }
    // More than one batch: the senders hold back until the backlog is
    // written (news excepted, see `workers::burst`), at most
    // `burst::MAX_PAUSE` at a time. A pass of one batch holds nothing.
    let _hold = (!queue.is_empty()).then(|| p.burst.begin());
    let mut batch = fetch_and_read(conn, p, uidvalidity, &first).await?;
    let mut trimmer = crate::memory::Trimmer::default();
    while !batch.uids.is_empty() {
        // Mail that arrived meanwhile goes first (see above): fetched, read
        // and written now, before the batch in hand.
        let t_news = Instant::now();
        let fresh = take_news(conn, &mut seen, &mut queue).await?;
        let news = t_news.elapsed();
        if fresh > 0 && !stop.is_cancelled() {
            let uids = next_batch(
                &mut queue,
                fresh,
                imap.batch_max_messages,
                imap.batch_max_bytes,
            );
            let news = fetch_and_read(conn, p, uidvalidity, &uids).await?;
            write_alone(p, &news, last, moves, stop).await?;
        }
        if stop.is_cancelled() {
            break;
        }
        let next = take_batch(&mut queue, imap.batch_max_messages, imap.batch_max_bytes);
        let Batch { uids, reads, .. } = &batch;
        let mut times = WriteTimes::default();
        let t_round = Instant::now();
        // Writing this batch, fetching and reading the next overlap: the
        // store, the IMAP session and the reader threads work at once.
        let (((handled, failed), write), fetched) = tokio::join!(
            async {
                let t = Instant::now();
                let r = p.handle_batch_timed(reads, stop, None, &mut times).await;
                (r, t.elapsed())
            },
            fetch_and_read(conn, p, uidvalidity, &next),
        );
        let round = t_round.elapsed();
        // Only for the debug line: not worked out when it is not logged.
        let next_depends = match &fetched {
            Ok(n) if tracing::enabled!(tracing::Level::DEBUG) => p.depending_on(reads, &n.reads),
            _ => 0,
        };
        moves.add(&handled, uids, last);
        let t_move = Instant::now();
        if next.is_empty() {
            moves.flush(conn, p).await?;
        } else if moves.len() >= imap.move_every {
            // Committed: moved on the mover's session while the drain goes on.
            moves.hand_off();
        }
        let phases = Phases {
            news,
            write,
            round,
            moved: t_move.elapsed(),
            next_depends,
        };
        log_batch(&batch, handled.len(), &times, &phases);
        if let Some(e) = failed {
            return Err(e);
        }
        if stop.is_cancelled() {
            break;
        }
        batch = fetched?;
        // The written batch is dropped: over the budget, its freed pages
        // go back now, not when the drain ends (`memory::Trimmer`).
        trimmer.after_batch();
    }
    // A drain's buffers are free now: give them back (idle RSS).
    drop(batch);
    crate::memory::trim();
    tracing::debug!(
        trims = trimmer.trims,
        "drain's memory trims between batches"
    );
    Ok(())
}

/// Writes a batch of news on its own (nothing is fetched beside it) and
/// collects its handled messages for the move.
async fn write_alone(
    p: &Pipeline,
    batch: &Batch,
    last: &mut u32,
    moves: &mut Moves,
    stop: &CancellationToken,
) -> anyhow::Result<()> {
    let mut times = WriteTimes::default();
    let t = Instant::now();
    let (handled, failed) = p
        .handle_batch_timed(&batch.reads, stop, None, &mut times)
        .await;
    let write = t.elapsed();
    // Its mail is not held back by the drain.
    p.burst.news(handled.iter().filter_map(|h| match h {
        Handled::Opened(r) | Handled::Attached(r) => Some(r.clone()),
        _ => None,
    }));
    moves.add(&handled, &batch.uids, last);
    let phases = Phases {
        news: Duration::ZERO,
        write,
        round: write,
        moved: Duration::ZERO,
        next_depends: 0,
    };
    log_batch(batch, handled.len(), &times, &phases);
    match failed {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// A batch fetched and read: the UIDs fetched (in order) and what the
/// reader made of each, with what fetching and reading took.
struct Batch {
    uids: Vec<u32>,
    reads: Vec<crate::workers::ingest::Read>,
    fetch: Duration,
    read: Duration,
}

/// Fetches the messages `uids` (one `UID FETCH`) and reads them on the
/// reader threads. Each keeps its own UID: the checkpoint a transaction
/// writes never moves back within a UIDVALIDITY (`Store::set_checkpoint`),
/// so news written before older backlog is safe.
async fn fetch_and_read(
    conn: &mut ImapConn,
    p: &Pipeline,
    uidvalidity: u32,
    uids: &[u32],
) -> anyhow::Result<Batch> {
    let t = Instant::now();
    let fetched = conn.fetch_uids(uids).await?;
    let fetch = t.elapsed();
    let t = Instant::now();
    let uids: Vec<u32> = fetched.iter().map(|m| m.uid).collect();
    let msgs: Vec<_> = fetched
        .into_iter()
        .map(|m| {
            let origin = Origin {
                mailbox: p.cfg.imap.checkpoint_key(),
                uidvalidity,
                uid: m.uid,
            };
            (m.raw, m.internal_date, Some(origin))
        })
        .collect();
    let reads = match msgs.is_empty() {
        true => Vec::new(),
        false => crate::workers::ingest::read_all(p.cfg.read_options(), msgs).await,
    };
    Ok(Batch {
        uids,
        reads,
        fetch,
        read: t.elapsed(),
    })
}

/// What the rest of a batch's round took (beside [`Batch`] and [`WriteTimes`]).
struct Phases {
    news: Duration,
    write: Duration,
    /// Writing this batch and fetching and reading the next, together.
    round: Duration,
    moved: Duration,
    /// Messages of the next batch that depend on this one's writes
    /// (`Pipeline::depending_on`).
    next_depends: usize,
}

/// The drain's phase timings: one debug line per batch, counts and
/// durations only.
fn log_batch(b: &Batch, handled: usize, w: &WriteTimes, ph: &Phases) {
    let ms = |d: Duration| d.as_millis() as u64;
    tracing::debug!(
        messages = b.uids.len(),
        handled,
        groups = w.groups,
        fallbacks = w.fallbacks,
        case_reads = w.case_reads,
        fetch_ms = ms(b.fetch),
        read_ms = ms(b.read),
        news_ms = ms(ph.news),
        write_ms = ms(ph.write),
        // What the store then waited for the next batch's fetch and read.
        wait_ms = ms(ph.round.saturating_sub(ph.write)),
        lookups_ms = ms(w.lookups),
        commit_ms = ms(w.commit),
        move_ms = ms(ph.moved),
        next_depends = ph.next_depends,
        "drain batch"
    );
}

/// Puts mail that arrived above `seen` at the front of the queue; returns
/// how many.
async fn take_news(
    conn: &mut ImapConn,
    seen: &mut u32,
    queue: &mut VecDeque<(u32, u32)>,
) -> anyhow::Result<usize> {
    let news = conn.pending(*seen).await?;
    let n = news.len();
    if let Some(&(max, _)) = news.iter().max_by_key(|&&(u, _)| u) {
        *seen = (*seen).max(max);
        tracing::debug!(n = news.len(), "new mail during a drain: taken first");
        for item in news.into_iter().rev() {
            queue.push_front(item);
        }
    }
    Ok(n)
}

/// The handled messages not moved yet: recorded ones go to the processed
/// mailbox, quarantined ones to the quarantine. Only messages whose
/// transactions committed are ever added, so a message still leaves the INBOX
/// only after its transaction.
#[derive(Default)]
struct Moves {
    set: MoveSet,
    /// How many were added in all (moved or still to move).
    added: usize,
    /// The pass's mover, while the drain runs (see [`mover`]).
    mover: Option<Mover>,
}

impl Moves {
    /// Adds a batch's handled messages (`handled[i]` is the message `uids[i]`)
    /// and moves `last` up to the highest of them.
    fn add(&mut self, handled: &[crate::workers::ingest::Handled], uids: &[u32], last: &mut u32) {
        for (h, &uid) in handled.iter().zip(uids) {
            *last = (*last).max(uid);
            self.added += 1;
            if h.is_quarantined() {
                self.set.quarantined.push(uid);
            } else {
                self.set.processed.push(uid);
            }
        }
    }

    fn len(&self) -> usize {
        self.set.processed.len() + self.set.quarantined.len()
    }

    /// Gives what was collected to the mover (see [`mover`]); without one,
    /// it stays for [`Moves::flush`].
    fn hand_off(&mut self) {
        let Some(mover) = &self.mover else { return };
        let set = std::mem::take(&mut self.set);
        // A mover that has ended (it never ends before the drain) would leave
        // them in the INBOX, recorded: the next rescan moves them.
        let _ = mover.send(set);
    }

    /// Takes back what the mover could not move, for the watcher's session.
    fn take_back(&mut self, left: Vec<MoveSet>) {
        for set in left {
            self.set.processed.extend(set.processed);
            self.set.quarantined.extend(set.quarantined);
        }
    }

    /// Moves what was collected, one `UID MOVE` per target folder, once
    /// their transactions are on disk (`Store::make_durable`: a power cut
    /// must not lose a record whose message already left the INBOX). The
    /// messages are safely recorded; a failed sync or move only leaves them in
    /// the INBOX, where a later pass finds them recorded and moves them again.
    /// A failed sync is a store error (the pass ends and the next one rescans
    /// the INBOX); what was collected stays for the next flush.
    async fn flush(&mut self, conn: &mut ImapConn, p: &Pipeline) -> anyhow::Result<()> {
        if self.len() == 0 {
            return Ok(());
        }
        let imap = &p.cfg.imap;
        p.store.make_durable().await?;
        for (uids, target) in self.set.folders(imap) {
            if let Err(e) = conn.move_set(uids, target).await {
                tracing::warn!(n = uids.len(), "could not move messages to {target}: {e:#}");
            }
            uids.clear();
        }
        Ok(())
    }
}

/// Handled messages whose transactions committed: recorded ones for the
/// processed mailbox, quarantined ones for the quarantine.
#[derive(Default)]
struct MoveSet {
    processed: Vec<u32>,
    quarantined: Vec<u32>,
}

impl MoveSet {
    /// Each folder's UIDs with the folder they go to, sorted and without
    /// repeats (news first breaks UID order; a set is built from sorted UIDs).
    fn folders<'a>(
        &'a mut self,
        imap: &'a crate::config::Imap,
    ) -> [(&'a mut Vec<u32>, &'a str); 2] {
        for uids in [&mut self.processed, &mut self.quarantined] {
            uids.sort_unstable();
            uids.dedup();
        }
        [
            (&mut self.processed, &imap.processed_mailbox),
            (&mut self.quarantined, &imap.quarantine_mailbox),
        ]
    }
}

/// Where a drain sends its committed messages to be moved.
type Mover = tokio::sync::mpsc::UnboundedSender<MoveSet>;

/// Moves a drain's handled messages out of the INBOX on a second IMAP
/// session while the drain goes on (a `UID MOVE` of 2,000 messages costs
/// Dovecot about 70 ms, time the drain spent waiting). The sets arrive only
/// after their transactions committed, and each is moved only after the
/// store made them durable (`Store::make_durable`), as on the watcher's
/// session, and after a `NOOP` has shown this session the mail that arrived
/// since it last looked (`ImapConn::sync_view`: news written during the
/// drain is in the sets too, and a server moves only UIDs it has shown).
/// The session is opened at the first set (a pass of news sends none) and
/// must show the drain's UIDVALIDITY. If it cannot be opened, or a sync or
/// a move fails, that set and every later one are returned, left to the
/// watcher's session at the end of the pass (which reports a failed sync),
/// so a server that allows one session per user still has its mail moved.
async fn mover(
    p: &Pipeline,
    uidvalidity: u32,
    mut sets: tokio::sync::mpsc::UnboundedReceiver<MoveSet>,
) -> Vec<MoveSet> {
    let imap = &p.cfg.imap;
    let mut session: Option<ImapConn> = None;
    let mut left = Vec::new();
    while let Some(mut set) = sets.recv().await {
        if !left.is_empty() {
            left.push(set);
            continue;
        }
        if session.is_none() {
            match ImapConn::connect(imap).await {
                Ok((conn, validity, _)) if validity == uidvalidity => session = Some(conn),
                Ok((conn, _, _)) => {
                    tracing::warn!("the moving session shows another UIDVALIDITY: moves left to the watcher's session");
                    conn.logout().await;
                }
                Err(e) => tracing::warn!(
                    "could not open a second IMAP session for moves ({e:#}): moves left to the watcher's session"
                ),
            }
        }
        let Some(conn) = session.as_mut() else {
            left.push(set);
            continue;
        };
        if let Err(e) = p.store.make_durable().await {
            tracing::warn!("could not sync the store before a move: {e:#}");
            left.push(set);
            continue;
        }
        // The set may hold mail that arrived after this session last looked
        // (news written during the drain): the server must show it first.
        if let Err(e) = conn.sync_view().await {
            tracing::warn!(
                "the moving session failed ({e:#}): moves left to the watcher's session"
            );
            left.push(set);
            continue;
        }
        let mut failed = false;
        for (uids, target) in set.folders(imap) {
            if failed || uids.is_empty() {
                continue;
            }
            match conn.move_set(uids, target).await {
                Ok(()) => uids.clear(),
                Err(e) => {
                    tracing::warn!(
                        n = uids.len(),
                        "could not move messages to {target} on the moving session: {e:#}"
                    );
                    failed = true;
                }
            }
        }
        if failed {
            left.push(set);
        }
    }
    if let Some(conn) = session {
        conn.logout().await;
    }
    left
}

/// The next batch: the `fresh` messages at the front of the queue (news,
/// see [`take_news`]) in a batch of their own, fetched, read and written
/// without a batch of the backlog beside them; else a full batch.
fn next_batch(
    queue: &mut VecDeque<(u32, u32)>,
    fresh: usize,
    max_messages: usize,
    max_bytes: u64,
) -> Vec<u32> {
    let max = match fresh {
        0 => max_messages,
        n => n.min(max_messages),
    };
    take_batch(queue, max, max_bytes)
}

/// The next batch from the front of the queue, bounded like [`batches`].
fn take_batch(queue: &mut VecDeque<(u32, u32)>, max_messages: usize, max_bytes: u64) -> Vec<u32> {
    let n = queue.len().min(max_messages.max(1));
    let head: Vec<(u32, u32)> = queue.iter().take(n).copied().collect();
    let first = batches(&head, max_messages, max_bytes)
        .into_iter()
        .next()
        .unwrap_or_default();
    queue.drain(..first.len());
    first
}

pub async fn run(p: Pipeline, cancel: CancellationToken) {
    // One pacer for the network and the store: the same growing backoff and
    // one line per interval, whichever failed (`workers::backoff`).
    let mut pacer = crate::workers::backoff::Pacer::new("mailbox");
    while !cancel.is_cancelled() {
        let connected = AtomicBool::new(false);
        let outcome = session(&p, &mut pacer, &connected, &cancel).await;
        crate::app::HEALTH
            .mailbox_connected
            .store(false, Ordering::Relaxed);
        match outcome {
            Ok(()) => return,
            Err(e) => {
                // A session that got as far as connecting starts a new streak
                // (a store failure inside it did not end it: see `session`).
                if connected.load(Ordering::Relaxed) {
                    pacer.reset_count();
                }
                let wait = pacer.failed(&e.context("IMAP (reconnecting)"));
                metrics::counter!("breachwatch_imap_reconnects_total").increment(1);
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = cancel.cancelled() => return,
                }
            }
        }
    }
}

/// One IMAP session: connect, then passes and waits until cancelled (Ok) or
/// the connection fails (Err). A store error keeps the session and waits
/// with the pacer's growing backoff, instead of logging in again and again.
async fn session(
    p: &Pipeline,
    pacer: &mut crate::workers::backoff::Pacer,
    connected: &AtomicBool,
    cancel: &CancellationToken,
) -> anyhow::Result<()> {
    let imap = &p.cfg.imap;
    let (mut conn, validity, _next) = ImapConn::connect(imap).await?;
    connected.store(true, Ordering::Relaxed);
    crate::app::HEALTH
        .mailbox_connected
        .store(true, Ordering::Relaxed);
    tracing::info!(mailbox = %imap.mailbox, idle = conn.has_idle(), "IMAP connected");
    let mut last = None;
    let mut rescan = true;
    loop {
        let pass = async {
            let from = match last {
                Some(l) => l,
                None => start_uid(p, validity).await?,
            };
            ingest_pass(&mut conn, p, validity, from, rescan, cancel).await
        };
        match pass.await {
            Ok(l) => {
                last = Some(l);
                rescan = false;
                pacer.succeeded();
            }
            Err(e) if crate::workers::backoff::is_store_error(&e) => {
                let wait = pacer.failed(&e);
                rescan = true;
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = cancel.cancelled() => {}
                }
                if cancel.is_cancelled() {
                    conn.logout().await;
                    return Ok(());
                }
                continue;
            }
            Err(e) => return Err(e),
        }
        let wake = conn
            .wait(
                Duration::from_secs(imap.idle_reissue_secs),
                Duration::from_secs(imap.poll_interval_secs),
                cancel,
            )
            .await?;
        if wake == Wake::Cancelled {
            conn.logout().await;
            return Ok(());
        }
    }
}

/// Where a session's first pass starts: the stored checkpoint, or 0 (the
/// whole mailbox) when there is none or the UIDVALIDITY changed.
async fn start_uid(p: &Pipeline, validity: u32) -> anyhow::Result<u32> {
    let imap = &p.cfg.imap;
    Ok(match p.store.checkpoint(&imap.checkpoint_key()).await? {
        Some(cp) if cp.uidvalidity == validity => cp.last_uid,
        Some(_) => {
            tracing::warn!(mailbox = %imap.mailbox, "UIDVALIDITY changed: rescanning the mailbox");
            0
        }
        None => 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn news_goes_in_a_batch_of_its_own_and_the_backlog_in_full_ones() {
        // A backlog of 500 small messages, UIDs 1..=500, then news 900, 901
        // put in front by take_news.
        let mut q: VecDeque<(u32, u32)> = (1..=500).map(|u| (u, 1000)).collect();
        q.push_front((901, 1000));
        q.push_front((900, 1000));
        assert_eq!(next_batch(&mut q, 2, 200, 16 << 20), vec![900, 901]);
        assert_eq!(
            next_batch(&mut q, 0, 200, 16 << 20),
            (1..=200).collect::<Vec<_>>()
        );
        // More news than a batch holds: bounded like any batch.
        let mut q: VecDeque<(u32, u32)> = (1..=300).map(|u| (u, 1000)).collect();
        assert_eq!(next_batch(&mut q, 250, 200, 16 << 20).len(), 200);
        assert_eq!(
            next_batch(&mut q, 50, 200, 16 << 20),
            (201..=250).collect::<Vec<_>>()
        );
        // ... and by bytes.
        let mut q: VecDeque<(u32, u32)> = (1..=10).map(|u| (u, 8 << 20)).collect();
        assert_eq!(next_batch(&mut q, 3, 200, 16 << 20), vec![1, 2]);
    }
}
