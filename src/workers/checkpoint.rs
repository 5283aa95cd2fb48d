//! The WAL checkpointer (SQLite): once a second it copies the committed WAL
//! frames into the database file and fsyncs it, so that no commit on the
//! intake, outbox or clock path pays for that (`Store::checkpoint_wal`).
//! PostgreSQL: nothing to do, the loop ends at once.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::store::Store;

/// How often the WAL is copied into the database.
pub const EVERY: Duration = Duration::from_secs(1);

pub async fn run(store: Store, shutdown: CancellationToken) {
    if !matches!(store, Store::Sqlite(_)) {
        return;
    }
    let mut failing = false;
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(EVERY) => {}
        }
        match store.checkpoint_wal().await {
            Ok(_) => failing = false,
            // The backstop (`WAL_AUTOCHECKPOINT_PAGES`) still bounds the WAL;
            // say it once, not every second.
            Err(e) if !failing => {
                failing = true;
                tracing::warn!("WAL checkpoint failed: {e}");
            }
            Err(_) => {}
        }
    }
}
