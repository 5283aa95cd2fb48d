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

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// Microseconds after [`epoch`] of the last error that broke connections (0: none).
static RESET_AT: AtomicU64 = AtomicU64::new(0);

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
        let now = u64::try_from(epoch().elapsed().as_micros()).unwrap_or(u64::MAX);
        RESET_AT.store(now.max(1), Ordering::Relaxed);
    }
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
