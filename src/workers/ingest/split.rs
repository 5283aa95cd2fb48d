//! `dela`/`split` by reply: the message the reply is about leaves its case
//! and opens a new one (own number, route, clock, opening notice and
//! acknowledgement), in the reply's transaction (`attach.rs`). The core
//! decides (`core::case`); this file finds the message and builds the write.

use chrono::{DateTime, Utc};

use super::open::Opening;
use super::{reporter_label, strip_brackets, Incoming, Pipeline};
use crate::core::bounded::short_subject;
use crate::core::case::SplitSource;
use crate::core::clock;
use crate::core::event::EventKind;
use crate::core::intake::{self, AckTo, Plan};
use crate::core::notice::{self, Notice};
use crate::core::routing::{self, RouteDecision};
use crate::store::{CaseRecord, NewEvent, OutboxMail, SplitWrite};
use crate::workers::reply::SplitOut;

/// The message a `split` reply is about, read again as intake read it.
pub(super) struct Found {
    pub source: SplitSource,
    notice: Notice,
    routed: RouteDecision,
    ack: AckTo,
}

impl Pipeline {
    /// The case message the reply's thread headers point at (None: the
    /// reply is not about one of this case's messages; the core refuses).
    /// The message is read again from its stored bytes with the same reader.
    pub(super) async fn split_found(
        &self,
        inc: &Incoming<'_>,
        record: &CaseRecord,
    ) -> anyhow::Result<Option<Found>> {
        let parents: Vec<String> = inc
            .n
            .threading
            .parent_ids
            .iter()
            .map(|p| strip_brackets(p))
            .collect();
        let Some(m) = self.store.split_message(record.id, &parents).await? else {
            return Ok(None);
        };
        let mut opts = self.cfg.read_options();
        opts.delivered_at = m.received_at;
        // Stored messages were read once already; a message that no longer
        // reads (a reader change) is not split, the core says why.
        let Ok(n) = std::panic::catch_unwind(|| notice::read(&m.raw, &opts)) else {
            return Ok(None);
        };
        let Ok(n) = n else {
            return Ok(None);
        };
        let now = inc.now;
        let routed = routing::route(&self.cfg.routing.rules, &self.cfg.routing.default, &n);
        let id_domain = self.sender.id_domain();
        let ctx = intake::Context {
            internal_domains: &self.cfg.general.internal_domains,
            own_address: &self.cfg.smtp.from,
            own_id_domain: &id_domain,
            series_window: self.series_window(),
            tz: self.cfg.tz(),
        };
        // As if it arrived alone: the plan intake gives a message that
        // belongs to no case, for its clock and who is acknowledged.
        let alone = intake::Lookup::default();
        let (aware_at, ack) = match intake::plan(&n, &alone, &routed, &ctx, &self.cfg.clock, now) {
            Plan::Open { aware_at, ack, .. } => (aware_at, ack),
            _ => (
                n.aware_at.or(n.received_at).unwrap_or(now).min(now),
                AckTo::Dpo,
            ),
        };
        let subject = short_subject(
            m.subject
                .as_deref()
                .or(n.threading.subject.as_deref())
                .unwrap_or("(utan ämne)"),
        );
        Ok(Some(Found {
            source: SplitSource {
                row: m.row,
                message_id: m.message_id.clone(),
                subject,
                aware_at,
                messages_in_case: u32::try_from(m.messages_in_case).unwrap_or(u32::MAX),
            },
            notice: n,
            routed,
            ack,
        }))
    }

    /// The new case's row, its first events and its opening mails, for an
    /// accepted split of `found` out of `source_ref` by `actor`.
    pub(super) fn split_write(
        &self,
        found: Found,
        out: SplitOut,
        source_ref: &str,
        actor: &str,
        source_mails: Vec<OutboxMail>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<(SplitWrite, Opening)> {
        let Found {
            source,
            notice: n,
            routed,
            ack,
        } = found;
        let aware_at = out.aware_at;
        let next = clock::next_after(aware_at, &self.cfg.clock, now);
        let case = self.case_row(&n, &routed, now, aware_at, next)?;
        let events = vec![
            NewEvent {
                kind: EventKind::CaseOpened,
                actor: "breachwatch".into(),
                data: serde_json::json!({
                    "message_id": source.message_id,
                    "aware_at": aware_at,
                    "deadline_at": clock::deadline(aware_at),
                    "urgent": out.urgent,
                    "rule": routed.rule,
                    "reasons": routed.reasons,
                    "forwarded": n.forwarded,
                    "ignored_chain_times": n.ignored_chain_times,
                    "split_from": source_ref,
                }),
            },
            NewEvent {
                kind: EventKind::SplitFrom,
                actor: actor.to_string(),
                data: serde_json::json!({
                    "from": source_ref,
                    "message_id": source.message_id,
                    "subject": source.subject,
                }),
            },
        ];
        let opening = Opening {
            sender: self.sender.clone(),
            route: routed.route.clone(),
            rule: routed.rule.clone(),
            subject: source.subject.clone(),
            reporter: reporter_label(&n),
            notice_id: source.message_id.clone(),
            may_belong: None,
            split_from: Some(source_ref.to_string()),
            aware_at,
            ack,
            templates: self.templates.clone(),
            docs_cfg: self.cfg.documents.clone(),
            tz: self.cfg.tz(),
            nis2_reasons: Vec::new(),
            notice: n,
            now,
        };
        Ok((
            SplitWrite {
                message_row: source.row,
                case,
                events,
                source_mails,
            },
            opening,
        ))
    }
}
