//! Plan arm "record": the message is kept in the register, nothing else happens.

use super::{Handled, Incoming, Pipeline};
use crate::core::intake::RecordReason;
use crate::store::{CaseChange, Composed, IngestWrite};

impl Pipeline {
    pub(super) async fn record(
        &self,
        mut inc: Incoming<'_>,
        reason: RecordReason,
    ) -> anyhow::Result<Handled> {
        let w = IngestWrite {
            message: inc.row(reason.as_str()),
            change: CaseChange::None,
            events: vec![],
            checkpoint: inc.checkpoint.take(),
        };
        let res = self
            .store
            .commit_ingest(w, &self.cfg.general.case_prefix, inc.now, |_| {
                Composed::default()
            })
            .await?;
        if res.duplicate {
            return Ok(Handled::Duplicate);
        }
        tracing::info!(
            message_id = inc.message_id.as_deref().unwrap_or("-"),
            reason = reason.as_str(),
            "message recorded, no case"
        );
        Ok(Handled::Recorded(reason.as_str()))
    }
}
