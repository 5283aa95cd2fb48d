//! NIS2 mail: the deadline reminder as a draft (its words are in
//! `core::text::nis2`, like the opening notice's NIS2 block).

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::compose::Draft;
use crate::core::case::Case;
use crate::core::regime::Nis2Reminder;
use crate::core::routing::Route;
use crate::core::text::nis2 as text;
pub use crate::core::text::nis2::{clock_sv, opening_block, reason_sv, with_opening_block};
use crate::core::types::CaseRef;

/// A NIS2 deadline reminder: to the official, the DPO in copy, the deputy too
/// when overdue or nobody has acknowledged the case (the GDPR escalation).
pub fn reminder(
    tz: Tz,
    case_ref: &CaseRef,
    route: &Route,
    case: &Case,
    r: &Nis2Reminder,
    seq: i64,
    now: DateTime<Utc>,
) -> Draft {
    let unacknowledged = case.acknowledged_at.is_none();
    let (subject, text) = text::reminder(tz, case_ref, case, r, now);
    let mut cc = vec![route.dpo.address.clone()];
    if r.overdue || unacknowledged {
        cc.push(route.deputy.address.clone());
    }
    Draft {
        dedupe_key: format!("{case_ref}/nis2-reminder/{seq}"),
        purpose: if r.overdue {
            "nis2-overdue"
        } else {
            "nis2-reminder"
        }
        .into(),
        to: vec![route.official.address.clone()],
        cc,
        subject,
        text,
        in_reply_to: None,
        attachments: Vec::new(),
    }
}
