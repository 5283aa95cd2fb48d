//! Plan arm "record": the message is kept in the register, nothing else happens.

use super::{Incoming, Outcome, Pipeline, Prepared};
use crate::core::intake::RecordReason;
use crate::store::{CaseChange, Composed, IngestWrite};

impl Pipeline {
    pub(super) fn record(&self, mut inc: Incoming<'_>, reason: RecordReason) -> Prepared {
        let w = IngestWrite {
            message: inc.row(reason.as_str()),
            change: CaseChange::None,
            events: vec![],
            checkpoint: inc.checkpoint.take(),
        };
        Prepared {
            write: w,
            compose: Box::new(|_| Composed::default()),
            outcome: Outcome::Recorded {
                message_id: inc.message_id.clone(),
                reason: reason.as_str(),
            },
        }
    }
}
