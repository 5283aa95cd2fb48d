//! Wiring of the daemon: config → store → workers (mailbox watcher, clock,
//! outbox) under one cancellation token; a stop waits for them a bounded time.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::Config;
use crate::mail::smtp::SmtpSender;
use crate::store::Store;
use crate::workers::{self, ingest::Pipeline};

/// Runs until `shutdown` is cancelled, then stops the workers within the grace.
pub async fn run(cfg: Config, shutdown: CancellationToken) -> anyhow::Result<()> {
    let cfg = Arc::new(cfg);
    let store = Store::connect(&cfg.general.database_url).await?;
    tracing::info!(backend = store.backend(), "store ready");
    let smtp = SmtpSender::new(&cfg.smtp)?;
    let p = Pipeline::new(cfg.clone(), store.clone());
    let tracker = TaskTracker::new();
    tracker.spawn(workers::watch::run(p.clone(), shutdown.clone()));
    tracker.spawn(workers::clock::run(
        store.clone(),
        p.sender.clone(),
        cfg.clock.clone(),
        p.clock_wake.clone(),
        p.outbox_wake.clone(),
        shutdown.clone(),
    ));
    tracker.spawn(workers::outbox::run(
        store.clone(),
        smtp,
        cfg.smtp.clone(),
        p.outbox_wake.clone(),
        shutdown.clone(),
    ));
    tracker.spawn(workers::digest::run(
        store.clone(),
        p.sender.clone(),
        cfg.clone(),
        p.outbox_wake.clone(),
        shutdown.clone(),
    ));
    tracker.close();
    shutdown.cancelled().await;
    tracing::info!("stopping");
    let grace = Duration::from_secs(cfg.general.shutdown_grace_secs);
    if tokio::time::timeout(grace, tracker.wait()).await.is_err() {
        tracing::warn!(
            "workers did not stop within {}s; exiting anyway",
            grace.as_secs()
        );
    }
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}
