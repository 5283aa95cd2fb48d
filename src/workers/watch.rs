//! Mailbox watcher: keeps an IMAP session, ingests every new message in UID
//! order, advances the checkpoint with each message's transaction, moves handled
//! mail to Processed (unreadable mail to Quarantine), then IDLEs. Reconnects with
//! jittered backoff; a UIDVALIDITY change restarts from the top (dedupe by
//! Message-ID and content hash keeps cases single).

use std::time::Duration;

use chrono::Utc;
use tokio_util::sync::CancellationToken;

use crate::mail::imap::{ImapConn, Wake};
use crate::workers::ingest::{Origin, Pipeline};

/// One pass over the mailbox: ingest everything above `last_uid` (with `rescan`,
/// everything still in the mailbox: after a reconnect, a message whose move failed
/// before a crash is found again, recognised as recorded, and moved). Returns the
/// new last UID. Stops at the first message whose transaction fails (it is
/// retried on the next pass), so nothing is skipped.
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
    for m in conn.fetch_after(from).await? {
        // A stop takes no new message: the one in hand was finished above.
        if stop.is_cancelled() {
            break;
        }
        let origin = Origin {
            mailbox: imap.checkpoint_key(),
            uidvalidity,
            uid: m.uid.max(last),
        };
        let handled = p
            .handle(&m.raw, m.internal_date, Some(origin), Utc::now())
            .await?;
        last = last.max(m.uid);
        let target = if handled.is_quarantined() {
            &imap.quarantine_mailbox
        } else {
            &imap.processed_mailbox
        };
        // The message is safely recorded; a failed move only leaves it in the
        // INBOX, where the next pass finds it recorded and moves it again.
        if let Err(e) = conn.move_to(m.uid, target).await {
            tracing::warn!(uid = m.uid, "could not move message to {target}: {e:#}");
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
