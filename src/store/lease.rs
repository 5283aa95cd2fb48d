//! Replicas: which one watches the mailbox, and which ones are alive.
//!
//! PostgreSQL: each replica keeps one dedicated session (outside the pool)
//! holding a session advisory lock on its replica id (its *presence*), and the
//! leader also holds the mailbox's lock on that session. A session lock is
//! lost when the session ends, so a replica killed with -9, or cut off from
//! the server, loses both at once: a standby's next try (every
//! [`LEASE_CHECK`]) takes the mailbox, and any replica may make the dead
//! one's `sending` outbox rows due again at once
//! ([`Replica::release_dead_claims`]). The leader checks its session every
//! [`LEASE_CHECK`] and stops watching when it is gone.
//!
//! SQLite: the file belongs to one daemon. A second daemon on the same file
//! stands by on an exclusive lock of `PATH.lock` (released by the kernel when
//! the holder dies) and starts only when it gets it.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use sqlx::postgres::PgConnection;
use sqlx::Row;

use super::{Result, Store, StoreError};

/// How often a standby tries to take the mailbox and the leader checks it
/// still holds it: a dead leader is replaced within about this long (plus an
/// IMAP login).
pub const LEASE_CHECK: Duration = Duration::from_secs(2);

/// Advisory lock key spaces (the first of the two int4 keys).
const MAILBOX_CLASS: i32 = 0x6277_0001;
const REPLICA_CLASS: i32 = 0x6277_0002;

/// Takes this replica's presence lock on a new session. A session this
/// replica has just closed (a resignation, a broken session given up) may
/// hold it for a moment more, until its server process has exited; without
/// the lock the replica's claimed rows would look dead to the others. So it
/// tries for up to [`LEASE_CHECK`] before deciding that another replica holds
/// the same id.
async fn take_presence(conn: &mut PgConnection, id: i64) -> Result<bool> {
    let until = tokio::time::Instant::now() + LEASE_CHECK;
    loop {
        let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1, $2)")
            .bind(REPLICA_CLASS)
            .bind(id as i32)
            .fetch_one(&mut *conn)
            .await?;
        if got || tokio::time::Instant::now() >= until {
            return Ok(got);
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// One running daemon's membership of the replica set.
pub struct Replica {
    /// Recorded in `outbox.claimed_by` for the rows this replica sends.
    pub id: i64,
    store: Store,
    inner: tokio::sync::Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    pg: Option<PgConnection>,
    lock_file: Option<std::fs::File>,
    /// The mailbox key whose lock this replica holds, if it leads.
    leading: Option<i32>,
}

/// A stable lock key for a mailbox (server, user and folder name).
pub fn mailbox_key(name: &str) -> i32 {
    let d = Sha256::digest(name.as_bytes());
    i32::from_be_bytes([d[0], d[1], d[2], d[3]]) & 0x7fff_ffff
}

impl Replica {
    pub fn new(store: &Store) -> Replica {
        Replica {
            id: i64::from(rand::random::<u32>() & 0x7fff_ffff).max(1),
            store: store.clone(),
            inner: tokio::sync::Mutex::new(Inner::default()),
        }
    }

    /// The dedicated session with the presence lock, opened when missing.
    async fn session<'a>(&self, inner: &'a mut Inner) -> Result<&'a mut PgConnection> {
        let Store::Postgres(pool) = &self.store else {
            return Err(StoreError::Other("not PostgreSQL".into()));
        };
        if inner.pg.is_none() {
            let mut conn = pool.acquire().await?.detach();
            if !take_presence(&mut conn, self.id).await? {
                tracing::warn!(
                    replica = self.id,
                    "another replica has the same id; its mail may be sent twice"
                );
            }
            inner.leading = None;
            inner.pg = Some(conn);
        }
        inner
            .pg
            .as_mut()
            .ok_or_else(|| StoreError::Other("no lease session".into()))
    }

    /// Joins the replica set: opens the presence session (PostgreSQL).
    pub async fn join(&self) -> Result<()> {
        if let Store::Postgres(_) = self.store {
            let mut inner = self.inner.lock().await;
            self.session(&mut inner).await?;
        }
        Ok(())
    }

    /// Tries once to become the one replica that watches `mailbox`.
    pub async fn try_lead(&self, mailbox: &str) -> Result<bool> {
        let key = mailbox_key(mailbox);
        let mut inner = self.inner.lock().await;
        if inner.leading == Some(key) {
            return Ok(true);
        }
        match &self.store {
            Store::Postgres(_) => {
                let conn = self.session(&mut inner).await;
                let got = match conn {
                    Ok(conn) => {
                        sqlx::query_scalar::<_, bool>("SELECT pg_try_advisory_lock($1, $2)")
                            .bind(MAILBOX_CLASS)
                            .bind(key)
                            .fetch_one(conn)
                            .await
                    }
                    Err(e) => return Err(e),
                };
                match got {
                    Ok(true) => {
                        inner.leading = Some(key);
                        Ok(true)
                    }
                    Ok(false) => Ok(false),
                    Err(e) => {
                        // The session is broken: open a new one next time.
                        inner.pg = None;
                        Err(e.into())
                    }
                }
            }
            Store::Sqlite(pool) => {
                let path = pool
                    .current()
                    .connect_options()
                    .get_filename()
                    .to_path_buf();
                if path.as_os_str().is_empty() || path.to_string_lossy().contains(":memory:") {
                    inner.leading = Some(key);
                    return Ok(true);
                }
                let mut lock = path.into_os_string();
                lock.push(".lock");
                let f = std::fs::OpenOptions::new()
                    .create(true)
                    .truncate(false)
                    .write(true)
                    .open(&lock)
                    .map_err(|e| StoreError::Other(format!("lock file: {e}")))?;
                match f.try_lock() {
                    Ok(()) => {
                        inner.lock_file = Some(f);
                        inner.leading = Some(key);
                        Ok(true)
                    }
                    Err(std::fs::TryLockError::WouldBlock) => Ok(false),
                    Err(std::fs::TryLockError::Error(e)) => {
                        Err(StoreError::Other(format!("lock file: {e}")))
                    }
                }
            }
        }
    }

    /// Whether this replica still holds the mailbox (PostgreSQL: its session
    /// answers and holds the lock, within 5 s). A lost session drops the
    /// lead: the caller stops watching.
    pub async fn still_leading(&self) -> bool {
        let mut inner = self.inner.lock().await;
        let Some(key) = inner.leading else {
            return false;
        };
        let Some(conn) = inner.pg.as_mut() else {
            // SQLite: the file lock lasts as long as the process.
            return matches!(self.store, Store::Sqlite(_));
        };
        let check = sqlx::query(
            "SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND granted \
             AND pid = pg_backend_pid() AND classid::bigint = $1 AND objid::bigint = $2 AND objsubid = 2",
        )
        .bind(i64::from(MAILBOX_CLASS))
        .bind(i64::from(key))
        .fetch_one(conn);
        match tokio::time::timeout(Duration::from_secs(5), check).await {
            Ok(Ok(r)) if r.get::<i64, _>(0) == 1 => true,
            _ => {
                inner.pg = None;
                inner.leading = None;
                false
            }
        }
    }

    /// Gives the mailbox up (a clean stop), so a standby takes it at once.
    pub async fn resign(&self) {
        let mut inner = self.inner.lock().await;
        if let Some(key) = inner.leading.take() {
            if let Some(conn) = inner.pg.as_mut() {
                let _ = sqlx::query("SELECT pg_advisory_unlock($1, $2)")
                    .bind(MAILBOX_CLASS)
                    .bind(key)
                    .execute(conn)
                    .await;
            }
        }
        if let Some(conn) = inner.pg.take() {
            use sqlx::Connection;
            let _ = conn.close().await;
        }
        inner.lock_file = None;
    }

    /// Outbox rows left `sending` by a replica that is gone are due at once:
    /// resent (same Message-ID) now, not when their lease runs out.
    /// PostgreSQL: rows whose claimer holds no presence lock in this
    /// database. SQLite: every such row (this daemon holds the file).
    pub async fn release_dead_claims(&self, now: DateTime<Utc>) -> Result<u64> {
        match &self.store {
            Store::Sqlite(_) => self.store.release_sending(now).await,
            Store::Postgres(pool) => {
                // Our own presence first: after a database restart this
                // replica's session is new, and its rows must not look dead.
                self.ensure_presence().await?;
                Ok(sqlx::query(
                "UPDATE outbox SET status = 'pending', next_attempt_at = $1, claimed_by = NULL \
                 WHERE status = 'sending' AND claimed_by IS NOT NULL AND NOT EXISTS ( \
                   SELECT 1 FROM pg_locks l WHERE l.locktype = 'advisory' AND l.granted \
                   AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
                   AND l.classid::bigint = $2 AND l.objid::bigint = outbox.claimed_by AND l.objsubid = 2)",
            )
            .bind(now)
            .bind(i64::from(REPLICA_CLASS))
            .execute(pool)
            .await?
            .rows_affected())
            }
        }
    }

    /// Checks the presence session (PostgreSQL) and opens a new one when it
    /// is gone.
    async fn ensure_presence(&self) -> Result<()> {
        let mut inner = self.inner.lock().await;
        if let Some(conn) = inner.pg.as_mut() {
            let ok = tokio::time::timeout(
                Duration::from_secs(5),
                sqlx::query("SELECT 1").execute(conn),
            )
            .await;
            if !matches!(ok, Ok(Ok(_))) {
                inner.pg = None;
                inner.leading = None;
            }
        }
        self.session(&mut inner).await?;
        Ok(())
    }
}
