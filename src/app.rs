//! Wiring of the daemon: config → store → workers (mailbox watcher, clock,
//! outbox) under one cancellation token; a stop waits for them a bounded time.
//! Under systemd (`Type=notify`) it reports readiness, stopping and a watchdog
//! heartbeat; elsewhere those notifications are no-ops.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::Config;
use crate::mail::smtp::SmtpSender;
use crate::store::{Replica, Store, LEASE_CHECK};
use crate::workers::{self, ingest::Pipeline};

/// What the daemon knows of its own readiness (for `/readyz` and the logs).
/// One per process: the daemon has one store, one mailbox and one outbox.
#[derive(Debug)]
pub struct Health {
    /// This replica holds the mailbox lease (watches the mailbox).
    pub leader: AtomicBool,
    /// The watcher has a working IMAP session (meaningful on the leader).
    pub mailbox_connected: AtomicBool,
    /// The last store access of the outbox worked.
    pub store_ok: AtomicBool,
    /// Mail has waited more than a minute for the SMTP server.
    pub outbox_stuck: AtomicBool,
}

impl Health {
    const fn new() -> Health {
        Health {
            leader: AtomicBool::new(false),
            mailbox_connected: AtomicBool::new(false),
            store_ok: AtomicBool::new(true),
            outbox_stuck: AtomicBool::new(false),
        }
    }

    /// Ready: the store works, mail is not stuck, and the leader has its
    /// mailbox (a standby is ready without one).
    pub fn ready(&self) -> bool {
        self.store_ok.load(Ordering::Relaxed)
            && !self.outbox_stuck.load(Ordering::Relaxed)
            && (!self.leader.load(Ordering::Relaxed)
                || self.mailbox_connected.load(Ordering::Relaxed))
    }
}

/// The readiness state of this process.
pub static HEALTH: Health = Health::new();

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
    // The lists' order (migration 0012) in this configuration's zone.
    match store.refresh_next_deadlines(cfg.tz()).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(cases = n, "next deadlines computed again"),
        Err(e) => tracing::warn!("next deadlines not computed again: {e}"),
    }
    crate::mail::oauth::use_database(&store);
    let smtp = SmtpSender::new(&cfg.smtp)?;
    let p = Pipeline::new(cfg.clone(), store.clone());
    let replica = Arc::new(Replica::new(&store));
    let lease_name = format!(
        "{}:{}/{}/{}",
        cfg.imap.host, cfg.imap.port, cfg.imap.username, cfg.imap.mailbox
    );
    match store {
        // SQLite: one daemon per file; a second one stands by until the
        // first is gone, then runs every worker.
        Store::Sqlite(_) => {
            if !stand_by(&replica, &lease_name, &shutdown).await {
                store.close().await;
                return Ok(());
            }
        }
        // PostgreSQL: every replica sends mail and fires the clock; only the
        // mailbox is watched by one (the lease, below).
        Store::Postgres(_) => replica.join().await?,
    }
    let tracker = TaskTracker::new();
    let shutdown_web = shutdown.clone();
    tracker.spawn(mailbox(
        p.clone(),
        replica.clone(),
        lease_name,
        shutdown.clone(),
    ));
    // Each `[[mailboxes]]` entry: its own watcher, the same store, the same
    // outbox and clock (so their wake-ups are shared). On PostgreSQL each has
    // its own lease (a replica session of its own), so one replica watches it;
    // SQLite's daemon already holds the whole file.
    for (name, c) in cfg.extra_mailboxes() {
        tracing::info!(mailbox = %name, "watching another mailbox");
        let lease = format!(
            "{}:{}/{}/{}",
            c.imap.host, c.imap.port, c.imap.username, c.imap.mailbox
        );
        let mut extra = Pipeline::new(Arc::new(c), store.clone());
        extra.outbox_wake = p.outbox_wake.clone();
        extra.burst = p.burst.clone();
        extra.clock_wake = p.clock_wake.clone();
        match store {
            Store::Sqlite(_) => {
                tracker.spawn(workers::watch::run(extra, shutdown.clone()));
            }
            Store::Postgres(_) => {
                let own = Arc::new(Replica::new(&store));
                own.join().await?;
                tracker.spawn(mailbox(extra, own, lease, shutdown.clone()));
            }
        }
    }
    tracker.spawn(workers::checkpoint::run(store.clone(), shutdown.clone()));
    // The senders hold back while the clock writes a burst of reminders and
    // while a watcher drains a backlog.
    let link = workers::clock::OutboxLink {
        wake: p.outbox_wake.clone(),
        burst: p.burst.clone(),
    };
    let outbox =
        workers::outbox::Outbox::new(&cfg, store.clone(), smtp, replica.id, link.burst.clone());
    tracker.spawn(workers::clock::run(
        store.clone(),
        p.sender.clone(),
        cfg.clock.clone(),
        p.clock_wake.clone(),
        link,
        shutdown.clone(),
    ));
    tracker.spawn(workers::outbox::run(
        outbox,
        replica.clone(),
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
    replica.resign().await;
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// Waits until this replica holds the lease (SQLite: the database file);
/// false when asked to stop first.
async fn stand_by(replica: &Replica, name: &str, shutdown: &CancellationToken) -> bool {
    let mut said = false;
    loop {
        match replica.try_lead(name).await {
            Ok(true) => return true,
            Ok(false) if !said => {
                tracing::info!("another breachwatch uses this database; standing by");
                said = true;
            }
            Ok(false) => {}
            Err(e) => tracing::warn!("lease: {e:#}"),
        }
        tokio::select! {
            _ = tokio::time::sleep(LEASE_CHECK) => {}
            _ = shutdown.cancelled() => return false,
        }
    }
}

/// Watches the mailbox while this replica holds its lease: stands by until
/// it gets it, checks it every [`LEASE_CHECK`], and stops the watcher (which
/// finishes the message in hand) when it is lost, e.g. the database session
/// died. On a stop the lease is given up so a standby takes over at once.
async fn mailbox(p: Pipeline, replica: Arc<Replica>, name: String, shutdown: CancellationToken) {
    let mut pacer = workers::backoff::Pacer::new("mailbox lease");
    let mut said = false;
    while !shutdown.is_cancelled() {
        let wait = match replica.try_lead(&name).await {
            Ok(true) => None,
            Ok(false) => {
                pacer.succeeded();
                if !said {
                    tracing::info!("another replica watches the mailbox; standing by");
                    said = true;
                }
                Some(LEASE_CHECK)
            }
            Err(e) => Some(pacer.failed(&anyhow::Error::from(e)).min(LEASE_CHECK * 5)),
        };
        if let Some(wait) = wait {
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = shutdown.cancelled() => return,
            }
            continue;
        }
        pacer.succeeded();
        said = false;
        HEALTH.leader.store(true, Ordering::Relaxed);
        tracing::info!(replica = replica.id, "this replica watches the mailbox");
        let session = shutdown.child_token();
        let watcher = tokio::spawn(workers::watch::run(p.clone(), session.clone()));
        loop {
            tokio::select! {
                _ = tokio::time::sleep(LEASE_CHECK) => {
                    if !replica.still_leading().await {
                        tracing::warn!("lost the mailbox lease (database session gone); stopping the watcher");
                        session.cancel();
                        break;
                    }
                }
                _ = shutdown.cancelled() => break,
            }
        }
        let _ = watcher.await;
        HEALTH.leader.store(false, Ordering::Relaxed);
        HEALTH.mailbox_connected.store(false, Ordering::Relaxed);
    }
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
