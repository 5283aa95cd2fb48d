//! Wiring of the daemon: config → store → workers (mailbox watcher, clock,
//! outbox) under one cancellation token; a stop waits for them a bounded time.
//! Under systemd (`Type=notify`) it reports readiness, stopping and a watchdog
//! heartbeat; elsewhere those notifications are no-ops.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::Config;
use crate::mail::smtp::SmtpSender;
use crate::store::Store;
use crate::workers::{self, ingest::Pipeline};

/// How the daemon treats the database schema at start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schema {
    /// Apply pending migrations (a single instance, the default).
    Migrate,
    /// Refuse to start unless every migration is applied: an init step
    /// (`breachwatch migrate`, systemd `ExecStartPre`) owns the schema.
    Require,
}

/// Runs until `shutdown` is cancelled, then stops the workers within the grace.
pub async fn run(cfg: Config, shutdown: CancellationToken) -> anyhow::Result<()> {
    run_with(cfg, Schema::Migrate, shutdown).await
}

/// [`run`] with an explicit schema policy. A schema that is behind with
/// [`Schema::Require`] returns the `StoreError::Schema` itself (no context), so
/// the CLI can tell it from a runtime failure.
pub async fn run_with(
    cfg: Config,
    schema: Schema,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let cfg = Arc::new(cfg);
    let store = match schema {
        Schema::Migrate => Store::connect(&cfg.general.database_url).await?,
        Schema::Require => Store::connect_checked(&cfg.general.database_url).await?,
    };
    tracing::info!(backend = store.backend(), "store ready");
    let smtp = SmtpSender::new(&cfg.smtp)?;
    let p = Pipeline::new(cfg.clone(), store.clone());
    let tracker = TaskTracker::new();
    let shutdown_web = shutdown.clone();
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
    // The web view, JSON API, health and metrics, when `[web]` is configured.
    if let Some(web) = cfg.web.clone() {
        let mut state = crate::web::WebState::new(p.clone(), web)?;
        state.metrics = crate::web::metrics::install();
        let listener = crate::web::bind(&state).await?;
        tracker.spawn(async move {
            if let Err(e) = crate::web::serve_on(listener, state, shutdown_web).await {
                tracing::error!("web view stopped: {e:#}");
            }
        });
    }
    tracker.close();
    // The store is open and every worker is started: tell systemd.
    notify(&[sd_notify::NotifyState::Ready]);
    let watchdog = tokio::spawn(watchdog(shutdown.clone()));
    shutdown.cancelled().await;
    notify(&[sd_notify::NotifyState::Stopping]);
    tracing::info!("stopping");
    let grace = Duration::from_secs(cfg.general.shutdown_grace_secs);
    if tokio::time::timeout(grace, tracker.wait()).await.is_err() {
        tracing::warn!(
            "workers did not stop within {}s; exiting anyway",
            grace.as_secs()
        );
    }
    watchdog.abort();
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// Sends a state to systemd's notify socket when there is one
/// (`$NOTIFY_SOCKET`); without systemd this does nothing. A failure is only
/// logged: the daemon works the same without a supervisor.
fn notify(state: &[sd_notify::NotifyState]) {
    if let Err(e) = sd_notify::notify(state) {
        tracing::warn!("systemd notify failed: {e}");
    }
}

/// With `WatchdogSec=` set, pings systemd at half the interval while the
/// runtime is alive, so a wedged process is restarted. It proves the runtime
/// schedules tasks, not that the mailbox is reachable (the watcher reconnects
/// on its own and logs why).
async fn watchdog(shutdown: CancellationToken) {
    let Some(interval) = sd_notify::watchdog_enabled().filter(|d| !d.is_zero()) else {
        return;
    };
    let every = interval / 2;
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(every) => notify(&[sd_notify::NotifyState::Watchdog]),
        }
    }
}
