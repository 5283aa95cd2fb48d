//! A message that cannot be read (or that made a step fail unexpectedly) is
//! recorded with the reason and moved to the quarantine folder, never dropped.

use chrono::{DateTime, Utc};

use super::{checkpoint_of, unreadable, Handled, Origin, Outcome, Pipeline, Prepared};
use crate::store::{CaseChange, Checkpoint, Composed, IngestWrite, NewMessage};

impl Pipeline {
    pub(super) async fn quarantine_after_panic(
        &self,
        raw: &[u8],
        delivered_at: Option<DateTime<Utc>>,
        origin: Option<Origin>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Handled> {
        let base = unreadable(raw, delivered_at, origin.as_ref());
        let checkpoint = checkpoint_of(origin.as_ref());
        self.quarantine(
            base,
            "internal error while handling this message (see the log)".into(),
            checkpoint,
            now,
        )
        .await
    }

    pub(super) async fn quarantine(
        &self,
        base: NewMessage,
        error: String,
        checkpoint: Option<(String, Checkpoint)>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Handled> {
        self.commit_one(quarantined(base, error, checkpoint), now)
            .await
    }
}

/// The write that records a message in quarantine with the reason.
pub(super) fn quarantined(
    base: NewMessage,
    error: String,
    checkpoint: Option<(String, Checkpoint)>,
) -> Prepared {
    let w = IngestWrite {
        message: NewMessage {
            error: Some(error.clone()),
            ..base
        },
        change: CaseChange::None,
        events: vec![],
        checkpoint,
    };
    Prepared {
        write: w,
        compose: Box::new(|_| Composed::default()),
        outcome: Outcome::Quarantined(error),
    }
}
