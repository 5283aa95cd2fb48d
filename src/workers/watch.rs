//! Mailbox watcher: keeps an IMAP session, ingests every new message in UID
//! order, advances the checkpoint with each message's transaction, moves handled
//! mail to Processed (unreadable mail to Quarantine), then IDLEs. Reconnects with
//! jittered backoff; a UIDVALIDITY change restarts from the top (dedupe by
//! Message-ID and content hash keeps cases single).

use std::time::Duration;

use chrono::Utc;
use tokio_util::sync::CancellationToken;

use crate::mail::imap::{batches, ImapConn, Wake};
use crate::workers::ingest::{Origin, Pipeline};

/// One pass over the mailbox: ingest everything above `last_uid` (with `rescan`,
/// everything still in the mailbox: after a reconnect, a message whose move failed
/// before a crash is found again, recognised as recorded, and moved). Returns the
/// new last UID. Stops at the first message whose transaction fails (it is
/// retried on the next pass), so nothing is skipped.
///
/// The backlog is fetched in batches bounded by `imap.batch_max_messages` and
/// `imap.batch_max_bytes` (first the UIDs and sizes, then one `UID FETCH` per
/// batch), so memory stays bounded whatever the backlog; each batch's handled
/// messages leave the INBOX with one `UID MOVE` per target folder, after their
/// transactions. News reported by IDLE during a drain is fetched by the next
/// pass, right after the backlog known at the start of this one.
pub async fn ingest_pass(
    conn: &mut ImapConn,
    p: &Pipeline,
    uidvalidity: u32,
    last_uid: u32,
    rescan: bool,
    stop: &CancellationToken,
) -> anyhow::Result<u32> {
    let imap = &p.cfg.imap;
    let mut last = last_uid;
    let from = if rescan { 0 } else { last_uid };
    let pending = conn.pending(from).await?;
    for batch in batches(&pending, imap.batch_max_messages, imap.batch_max_bytes) {
        let fetched = conn.fetch_uids(&batch).await?;
        let mut processed = Vec::with_capacity(fetched.len());
        let mut quarantined = Vec::new();
        let mut failed = None;
        for m in fetched {
            // A stop takes no new message: the one in hand was finished above.
            if stop.is_cancelled() {
                break;
            }
            let origin = Origin {
                mailbox: imap.checkpoint_key(),
                uidvalidity,
                uid: m.uid.max(last),
            };
            match p
                .handle(&m.raw, m.internal_date, Some(origin), Utc::now())
                .await
            {
                Ok(handled) => {
                    last = last.max(m.uid);
                    if handled.is_quarantined() {
                        quarantined.push(m.uid);
                    } else {
                        processed.push(m.uid);
                    }
                }
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
        }
        // The handled messages are safely recorded; a failed move only leaves
        // them in the INBOX, where the next pass finds them recorded and moves
        // them again.
        for (uids, target) in [
            (&processed, &imap.processed_mailbox),
            (&quarantined, &imap.quarantine_mailbox),
        ] {
            if let Err(e) = conn.move_set(uids, target).await {
                tracing::warn!(n = uids.len(), "could not move messages to {target}: {e:#}");
            }
        }
        if let Some(e) = failed {
            return Err(e);
        }
        if stop.is_cancelled() {
            break;
        }
    }
    Ok(last)
}

pub async fn run(p: Pipeline, cancel: CancellationToken) {
    let imap = p.cfg.imap.clone();
    // One pacer for the network and the store: the same growing backoff and
    // one line per interval, whichever failed (`workers::backoff`).
    let mut pacer = crate::workers::backoff::Pacer::new("mailbox");
    while !cancel.is_cancelled() {
        let connected = std::sync::atomic::AtomicBool::new(false);
        let session = async {
            let (mut conn, validity, _next) = ImapConn::connect(&imap).await?;
            connected.store(true, std::sync::atomic::Ordering::Relaxed);
            crate::app::HEALTH
                .mailbox_connected
                .store(true, std::sync::atomic::Ordering::Relaxed);
            tracing::info!(mailbox = %imap.mailbox, idle = conn.has_idle(), "IMAP connected");
            let mut last = None;
            let mut rescan = true;
            loop {
                // A store error keeps the IMAP session and waits (growing
                // backoff), instead of logging in again and again.
                let pass = async {
                    let from = match last {
                        Some(l) => l,
                        None => match p.store.checkpoint(&imap.checkpoint_key()).await? {
                            Some(cp) if cp.uidvalidity == validity => cp.last_uid,
                            Some(_) => {
                                tracing::warn!(mailbox = %imap.mailbox, "UIDVALIDITY changed: rescanning the mailbox");
                                0
                            }
                            None => 0,
                        },
                    };
                    ingest_pass(&mut conn, &p, validity, from, rescan, &cancel).await
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
                            return Ok::<(), anyhow::Error>(());
                        }
                        continue;
                    }
                    Err(e) => return Err(e),
                }
                let wake = conn
                    .wait(
                        Duration::from_secs(imap.idle_reissue_secs),
                        Duration::from_secs(imap.poll_interval_secs),
                        &cancel,
                    )
                    .await?;
                if wake == Wake::Cancelled {
                    conn.logout().await;
                    return Ok::<(), anyhow::Error>(());
                }
            }
        };
        let outcome = session.await;
        crate::app::HEALTH
            .mailbox_connected
            .store(false, std::sync::atomic::Ordering::Relaxed);
        match outcome {
            Ok(()) => return,
            Err(e) => {
                // A session that got as far as connecting starts a new streak
                // (a store failure inside it did not end it: see above).
                if connected.load(std::sync::atomic::Ordering::Relaxed) {
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
