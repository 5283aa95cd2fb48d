//! The lookups for a read message (thread, case reference, then the same
//! notice or the supplier's open cases), the route, and the core's plan.

use chrono::{DateTime, Utc};

use super::{strip_brackets, Pipeline, Planned};
use crate::core::clock;
use crate::core::event::EventKind;
use crate::core::intake;
use crate::core::notice::{self, Notice};
use crate::core::routing;
use crate::core::series;
use crate::store::{EarlierAwareness, NewEvent};

impl Pipeline {
    pub(super) fn series_window(&self) -> chrono::Duration {
        chrono::Duration::days(self.cfg.workflow.series_window_days)
    }

    /// What intake needs to place a message that names no case: a case
    /// already holding the same notice (one indexed query on the notice's
    /// identity), else the supplier's open cases around the message's time
    /// (one indexed query, `store::SERIES_QUERY`). Only incident messages are
    /// looked up; colleagues are not suppliers.
    async fn join_lookup(
        &self,
        n: &Notice,
        identity: &series::Identity,
        now: DateTime<Utc>,
    ) -> anyhow::Result<(Option<intake::SameNotice>, Vec<series::Candidate>)> {
        if !matches!(n.kind, notice::Kind::BreachNotice | notice::Kind::FollowUp) {
            return Ok((None, Vec::new()));
        }
        let same = self
            .store
            .case_by_notice(
                identity.notice_message_id.as_deref(),
                identity.text_hash.as_deref(),
            )
            .await?;
        if let Some(m) = same {
            let link = if m.by_message_id {
                intake::Link::SameMessage
            } else {
                intake::Link::SameText
            };
            let same = intake::SameNotice {
                case_id: m.case_id,
                link,
                case_aware_at: m.aware_at,
            };
            return Ok((Some(same), Vec::new()));
        }
        let key = series::supplier_key(n, &self.cfg.general.internal_domains);
        if key.is_empty() {
            return Ok((None, Vec::new()));
        }
        let window = self.series_window();
        let times = series::Incoming::of(n, now).times;
        let (Some(lo), Some(hi)) = (times.iter().min(), times.iter().max()) else {
            return Ok((None, Vec::new()));
        };
        let rows = self
            .store
            .series_candidates(
                key.domain.as_deref(),
                key.org.as_deref(),
                *lo - window,
                *hi + window,
                series::MAX_CANDIDATES as i64,
            )
            .await?;
        let candidates = rows
            .into_iter()
            .map(|r| {
                series::Candidate {
                    case_id: r.id,
                    case_ref: r.case_ref,
                    aware_at: r.aware_at,
                    opened_at: r.opened_at,
                    systems: r.systems,
                    discovered_at: None,
                    occurred_from: None,
                    occurred_to: None,
                    data_categories: Vec::new(),
                    cause: None,
                }
                .with_facts(&r.facts)
            })
            .collect();
        Ok((None, candidates))
    }

    /// The case's clock restarted from `aware_at`, the earlier receipt shown
    /// by another copy of its notice, and the timeline event that says why.
    pub(super) async fn earlier_awareness(
        &self,
        case_id: i64,
        aware_at: DateTime<Utc>,
        message_id: Option<&str>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<(EarlierAwareness, NewEvent)> {
        let wf = self.store.case_workflow(case_id).await?;
        let workflow = wf.workflow_with_aware_at(aware_at);
        let deadline_at = clock::deadline(aware_at);
        // The NIS2 deadlines count from awareness too: their reminders move.
        let mut moved = wf.case();
        moved.aware_at = aware_at;
        let change = EarlierAwareness {
            case_id,
            aware_at,
            deadline_at,
            next_reminder: clock::next_after(aware_at, &self.cfg.clock, now)
                .map(|r| (r.due_at, r.seq)),
            nis2_reminder: moved.next_nis2_reminder(self.cfg.tz(), now).map(|r| r.at),
            workflow,
            expected_version: wf.version,
        };
        let event = NewEvent {
            kind: EventKind::AwareAtMoved,
            actor: "breachwatch".into(),
            data: serde_json::json!({
                "from": wf.aware_at,
                "to": aware_at,
                "deadline_at": deadline_at,
                "message_id": message_id,
                "why": "en annan kopia av ärendets anmälan togs emot tidigare; kännedom räknas från den tidigaste mottagningen",
            }),
        };
        Ok((change, event))
    }

    /// The lookups (thread, case reference, then the same notice or the
    /// supplier's open cases), the route and the intake decision for a read
    /// message: shared by [`Pipeline::handle`] and [`Pipeline::placement`].
    pub(super) async fn plan(&self, n: &Notice, now: DateTime<Utc>) -> anyhow::Result<Planned> {
        let parents: Vec<String> = n
            .threading
            .parent_ids
            .iter()
            .map(|p| strip_brackets(p))
            .collect();
        let by_thread = self.store.case_by_message_ids(&parents).await?;
        let by_ref = match &n.case_ref {
            Some(r) => self.store.case_id_by_ref(r).await?,
            None => None,
        };
        let identity = series::identity(n);
        let (same_notice, series) = if by_thread.is_none() && by_ref.is_none() {
            self.join_lookup(n, &identity, now).await?
        } else {
            (None, Vec::new())
        };
        let found = intake::Lookup {
            by_thread,
            by_ref,
            same_notice,
            series,
        };
        let decision = routing::route(&self.cfg.routing.rules, &self.cfg.routing.default, n);
        let id_domain = self.sender.id_domain();
        let ctx = intake::Context {
            internal_domains: &self.cfg.general.internal_domains,
            own_address: &self.cfg.smtp.from,
            own_id_domain: &id_domain,
            series_window: self.series_window(),
        };
        let plan = intake::plan(n, &found, &decision, &ctx, &self.cfg.clock, now);
        Ok(Planned {
            identity,
            decision,
            plan,
        })
    }
}
