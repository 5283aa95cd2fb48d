//! Broken pooled connections are replaced within seconds, not when their
//! lifetime runs out. A SQLite connection opened while the file was read-only
//! stays read-only after the permissions are back, and a PostgreSQL session
//! opened while the database was read-only keeps that setting; both pass the
//! pool's ping. So every store error is looked at once (`From<sqlx::Error>`):
//! one that says the database cannot be written (read-only, disk full, I/O
//! error, the server shutting the session down) sets a mark, and the pools'
//! `before_acquire` hook drops every connection opened before the mark. The
//! next query opens a fresh one, which works as soon as the cause is gone.
//!
//! The mark is process-wide: one daemon has one store; in a test binary with
//! several stores a reset only costs the others a reconnect.
//!
//! SQLite needs more than dropping old connections one by one
//! ([`SqliteStore`]): the connections of one process share the file's
//! WAL index (`-shm`), opened read-only by the first connection that met a
//! read-only file, for as long as ANY of them keeps it open. And SQLite
//! creates `-wal`/`-shm` with the database file's mode: created while the
//! file was read-only they stay read-only after the admin restores it, so no
//! connection of any process could write again. So a SQLite error that
//! breaks connections closes the whole pool (waiting for the connections in
//! use, bounded), gives the side files back the database file's mode when the
//! file is writable again, and opens a new pool: no new connection ever
//! shares state with one opened before the error.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};

fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// Microseconds after [`epoch`] of the last error that broke connections (0: none).
static RESET_AT: AtomicU64 = AtomicU64::new(0);

/// The same for errors of SQLite only (a PostgreSQL fault in the same
/// process must not close SQLite pools).
static SQLITE_RESET_AT: AtomicU64 = AtomicU64::new(0);

fn now_micros() -> u64 {
    u64::try_from(epoch().elapsed().as_micros())
        .unwrap_or(u64::MAX)
        .max(1)
}

/// Whether an error means the connection (or the database under it) cannot
/// be used for writing as it is: SQLite READONLY (8), IOERR (10), FULL (13),
/// CANTOPEN (14) in the primary code; PostgreSQL read-only transaction,
/// disk full, out of memory, admin shutdown, crash shutdown, cannot connect
/// now. Plain I/O errors (a dead socket) too.
pub fn breaks_connection(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_) | sqlx::Error::Protocol(_) => true,
        sqlx::Error::Database(db) => {
            let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
            if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
                // SQLite: extended codes keep the primary code in the low byte.
                code.parse::<u32>()
                    .is_ok_and(|n| matches!(n & 0xff, 8 | 10 | 13 | 14))
            } else {
                matches!(
                    code.as_str(),
                    "25006" | "53100" | "53200" | "57P01" | "57P02" | "57P03" | "08006" | "08003"
                )
            }
        }
        _ => false,
    }
}

/// Notes an error; one that breaks connections sets the mark.
pub fn note(e: &sqlx::Error) {
    if breaks_connection(e) {
        let now = now_micros();
        RESET_AT.store(now, Ordering::Relaxed);
        if is_sqlite(e) {
            SQLITE_RESET_AT.store(now, Ordering::Relaxed);
        }
    }
}

fn is_sqlite(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some())
}

/// For `before_acquire`: false (drop it) when a connection of this age was
/// opened before the last mark.
pub fn keep(age: Duration) -> bool {
    let mark = RESET_AT.load(Ordering::Relaxed);
    if mark == 0 {
        return true;
    }
    let now = epoch().elapsed();
    let opened = now.saturating_sub(age);
    opened > Duration::from_micros(mark)
}

/// A pooled PostgreSQL connection idle for this long is pinged before use.
pub const PING_AFTER_IDLE: Duration = Duration::from_secs(1);

/// For `before_acquire`: whether a connection idle this long is pinged
/// before use. One the server closed while it sat idle (a restart) is then
/// replaced before a query meets it. One used within [`PING_AFTER_IDLE`]
/// is not: its ping was one more round trip before every query (sqlx's
/// `test_before_acquire`, six or seven a group in a drain); if the server
/// went away meanwhile, the query fails with a store error, which sets the
/// mark ([`note`]) so the next acquire replaces every older connection.
pub fn needs_ping(idle_for: Duration) -> bool {
    idle_for >= PING_AFTER_IDLE
}

/// A SQLite pool that is replaced as a whole after an error that broke
/// connections (see the module). Cheap to clone.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<SqliteInner>,
}

struct SqliteInner {
    connect: SqliteConnectOptions,
    max: u32,
    /// The pool in use and when it was made (micros after [`epoch`]).
    current: std::sync::RwLock<(SqlitePool, u64)>,
    /// Held while a pool is closed and replaced: nobody gets a connection
    /// of the new pool before the old one is closed.
    resetting: tokio::sync::Mutex<()>,
}

/// How long a reset waits for the old pool's connections in use.
const CLOSE_WAIT: Duration = Duration::from_secs(10);

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("file", &self.inner.connect.get_filename())
            .finish()
    }
}

impl SqliteStore {
    /// Wraps a pool opened with `connect` and these pool settings (`max`
    /// connections); an in-memory database (one connection) is never reset.
    pub fn new(pool: SqlitePool, connect: SqliteConnectOptions, max: u32) -> SqliteStore {
        SqliteStore {
            inner: Arc::new(SqliteInner {
                connect,
                max,
                current: std::sync::RwLock::new((pool, now_micros())),
                resetting: tokio::sync::Mutex::new(()),
            }),
        }
    }

    /// The pool options of every SQLite pool of the store.
    pub fn pool_options(max: u32) -> SqlitePoolOptions {
        SqlitePoolOptions::new()
            .max_connections(max)
            .acquire_timeout(Duration::from_secs(10))
            // A SQLite connection is in the process: its ping only asked
            // the connection's thread for an answer, one more hand-off
            // before every query. What breaks it is a store error, which
            // replaces the pool (above).
            .test_before_acquire(false)
            // Idle connections close soon: fewer to wait for in a reset.
            .idle_timeout((max > 1).then_some(Duration::from_secs(5)))
    }

    /// The pool in use now, without a reset (for the file name and the
    /// journal beside it).
    pub fn current(&self) -> SqlitePool {
        self.read().0
    }

    fn read(&self) -> (SqlitePool, u64) {
        match self.inner.current.read() {
            Ok(g) => g.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The pool to run a query on: a new one when a SQLite error broke
    /// connections since the current one was made.
    pub async fn pool(&self) -> SqlitePool {
        let (pool, born) = self.read();
        if self.inner.max <= 1 || SQLITE_RESET_AT.load(Ordering::Relaxed) < born {
            return pool;
        }
        let _guard = self.inner.resetting.lock().await;
        let (old, born_now) = self.read();
        if born_now != born {
            // Replaced while this task waited.
            return old;
        }
        if tokio::time::timeout(CLOSE_WAIT, old.close()).await.is_err() {
            tracing::warn!(
                "the database pool's connections were not returned within {}s; opening new ones anyway",
                CLOSE_WAIT.as_secs()
            );
        }
        let file = self.inner.connect.get_filename().to_path_buf();
        repair_side_files(&file);
        let new = Self::pool_options(self.inner.max).connect_lazy_with(self.inner.connect.clone());
        let mut w = match self.inner.current.write() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        *w = (new.clone(), now_micros());
        tracing::debug!("the database pool was replaced after a store error");
        new
    }

    pub async fn close(&self) {
        self.current().close().await;
    }
}

/// SQLite gives `-wal` and `-shm` the database file's mode when it creates
/// them. Created while the file was read-only, they stay so after the file
/// is writable again, and the database can never be written: give them the
/// file's mode again (only when the file is writable for this process; a
/// file of another owner is left, and the error says why).
pub fn repair_side_files(db: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let writable = std::fs::OpenOptions::new().write(true).open(db).is_ok();
    let Ok(meta) = std::fs::metadata(db) else {
        return;
    };
    if !writable {
        return;
    }
    let mode = meta.permissions().mode() & 0o777;
    for suffix in ["-wal", "-shm"] {
        let mut side = db.as_os_str().to_owned();
        side.push(suffix);
        let side = Path::new(&side);
        let Ok(m) = std::fs::metadata(side) else {
            continue;
        };
        let side_writable = std::fs::OpenOptions::new().write(true).open(side).is_ok();
        if !side_writable && m.permissions().mode() & 0o777 != mode {
            match std::fs::set_permissions(side, std::fs::Permissions::from_mode(mode)) {
                Ok(()) => tracing::info!(
                    "{suffix} file of the database was read-only (made while the database was); given the database file's mode again"
                ),
                Err(e) => tracing::warn!("{suffix} file of the database is read-only and cannot be changed: {e}"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connection_older_than_the_mark_is_dropped_a_newer_one_kept() {
        let _ = epoch();
        std::thread::sleep(Duration::from_millis(5));
        let e = sqlx::Error::Io(std::io::Error::other("gone"));
        note(&e);
        // Opened 1 s ago: before the mark.
        assert!(!keep(Duration::from_secs(1)));
        std::thread::sleep(Duration::from_millis(5));
        // Opened just now: after it.
        assert!(keep(Duration::from_micros(1)));
        assert!(!breaks_connection(&sqlx::Error::RowNotFound));
    }
}
