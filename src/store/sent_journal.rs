//! SQLite's record of the SMTP 250 that never waits behind ingest.
//!
//! SQLite has one writer: while the watcher drains a backlog, the "sent" mark
//! of a mail waits for the ingest transactions ahead of it, and a crash in
//! that wait resends the mail after the restart. So the id of a row the
//! server took is first appended to `PATH-sent` (one short line, no lock
//! shared with ingest), then marked in the database. At start, before rows
//! left `sending` are made due again, the rows named in the file are marked
//! sent and the file is emptied. A line torn by a crash does not parse and is
//! ignored (that mail may be sent twice, as before).

use std::io::Write;
use std::path::PathBuf;

use sqlx::sqlite::SqlitePool;

/// The journal beside the database file (none for an in-memory database).
pub fn path(pool: &SqlitePool) -> Option<PathBuf> {
    let f = pool.connect_options().get_filename().to_path_buf();
    if f.as_os_str().is_empty() || f.to_string_lossy().contains(":memory:") {
        return None;
    }
    let mut p = f.into_os_string();
    p.push("-sent");
    Some(PathBuf::from(p))
}

/// Appends the id of a row the server took. A failure is logged only: the
/// database mark follows anyway.
pub fn append(pool: &SqlitePool, id: i64) {
    let Some(p) = path(pool) else {
        return;
    };
    let r = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&p)
        .and_then(|mut f| f.write_all(format!("{id}\n").as_bytes()));
    if let Err(e) = r {
        tracing::warn!("sent journal {}: {e}", p.display());
    }
}

/// The ids in the journal (complete lines only).
pub fn read(pool: &SqlitePool) -> Vec<i64> {
    let Some(p) = path(pool) else {
        return Vec::new();
    };
    let text = std::fs::read_to_string(&p).unwrap_or_default();
    text.split_inclusive('\n')
        .filter(|l| l.ends_with('\n'))
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

/// Empties the journal once its ids are marked in the database.
pub fn clear(pool: &SqlitePool) {
    if let Some(p) = path(pool) {
        if p.exists() {
            if let Err(e) = std::fs::write(&p, b"") {
                tracing::warn!("sent journal {}: {e}", p.display());
            }
        }
    }
}
