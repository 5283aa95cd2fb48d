//! Where a message would go, and why, without recording anything.

use chrono::{DateTime, Utc};

use super::{content_hash, strip_brackets, Pipeline};
use crate::core::intake::Plan;
use crate::core::notice;

impl Pipeline {
    /// Where a message would go, and why, without recording anything (for
    /// `breachwatch rules test`): the same reader, lookups and intake decision
    /// as [`Pipeline::handle`].
    pub async fn placement(&self, raw: &[u8], now: DateTime<Utc>) -> anyhow::Result<Placement> {
        let n = notice::read(raw, &self.cfg.read_options())?;
        let message_id = n.message_id.as_deref().map(strip_brackets);
        if self
            .store
            .message_known(message_id.as_deref(), &content_hash(raw))
            .await?
        {
            return Ok(Placement::Duplicate);
        }
        let planned = self.plan(&n, now).await?;
        Ok(match planned.plan {
            Plan::Record { reason } => Placement::Record(reason.as_str()),
            Plan::Attach {
                case_id,
                link,
                series,
                earlier_aware_at,
                ..
            } => Placement::Attach {
                case_ref: self
                    .store
                    .case_workflow(case_id)
                    .await?
                    .case_ref
                    .to_string(),
                link: link.as_str(),
                why: crate::core::text::timeline::join_reason(link, series.as_ref()),
                earlier_aware_at,
            },
            Plan::Open { may_belong_to, .. } => Placement::Open {
                may_belong_to: may_belong_to.map(|c| (c.case_ref, c.why)),
            },
        })
    }
}

/// What `breachwatch rules test FILE` and the admin's web page answer for a
/// message: the route (rule, reasons, committee, official…) from the one
/// reader and the admin's rules, without the database.
pub fn route_of(
    cfg: &crate::config::Config,
    raw: &[u8],
) -> Result<crate::core::routing::RouteDecision, notice::ReadError> {
    let n = notice::read(raw, &cfg.read_options())?;
    Ok(crate::core::routing::route(
        &cfg.routing.rules,
        &cfg.routing.default,
        &n,
    ))
}

/// Where a message would go ([`Pipeline::placement`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement {
    /// Already recorded.
    Duplicate,
    /// Only recorded, for this reason.
    Record(&'static str),
    /// Joins a case.
    Attach {
        case_ref: String,
        link: &'static str,
        why: String,
        earlier_aware_at: Option<DateTime<Utc>>,
    },
    /// Opens a case; it may belong to another (its reference and why).
    Open {
        may_belong_to: Option<(String, String)>,
    },
}

impl std::fmt::Display for Placement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Placement::Duplicate => write!(f, "already recorded (duplicate)"),
            Placement::Record(r) => write!(f, "only recorded ({r})"),
            Placement::Attach {
                case_ref,
                link,
                why,
                earlier_aware_at,
            } => {
                write!(f, "joins {case_ref} ({link}: {why})")?;
                if let Some(a) = earlier_aware_at {
                    write!(f, "; moves its aware_at to {}", a.to_rfc3339())?;
                }
                Ok(())
            }
            Placement::Open {
                may_belong_to: Some((r, why)),
            } => write!(f, "opens a new case; it may belong to {r} ({why})"),
            Placement::Open {
                may_belong_to: None,
            } => write!(f, "opens a new case"),
        }
    }
}
