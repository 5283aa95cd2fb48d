//! The lookups for a read message (thread, case reference, then the same
//! notice or the supplier's open cases), the route, and the core's plan.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};

use super::{strip_brackets, Pipeline, Planned};
use crate::core::clock;
use crate::core::event::EventKind;
use crate::core::intake;
use crate::core::notice::Notice;
use crate::core::routing;
use crate::core::series;
use crate::store::{EarlierAwareness, NewEvent, NoticeMatch, NoticeRow, SeriesRow, GROUP_ROWS_MAX};

impl Pipeline {
    pub(super) fn series_window(&self) -> chrono::Duration {
        chrono::Duration::days(self.cfg.workflow.series_window_days)
    }

    /// What intake needs to place a message that names no case: a case
    /// already holding the same notice (from the group's one notice query),
    /// else the supplier's open cases around the message's time (from the
    /// group's one series query, `store::SERIES_QUERY` for a group). Only
    /// incident messages are looked up; colleagues are not suppliers.
    async fn join_lookup(
        &self,
        n: &Notice,
        identity: &series::Identity,
        found: &Found,
        now: DateTime<Utc>,
    ) -> anyhow::Result<(Option<intake::SameNotice>, Vec<series::Candidate>)> {
        if !n.kind.is_incident() {
            return Ok((None, Vec::new()));
        }
        if let Some(same) = self.same_notice(n, identity, found, now).await? {
            return Ok((Some(same), Vec::new()));
        }
        Ok((None, self.series_of(n, found, now).await?))
    }

    /// A case that already holds the same notice (by the inner Message-ID,
    /// else by the normalised text when it is a copy, not a template:
    /// `series::same_text_is_a_copy`).
    async fn same_notice(
        &self,
        n: &Notice,
        identity: &series::Identity,
        found: &Found,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Option<intake::SameNotice>> {
        let matches: Vec<NoticeMatch> = match &found.notices {
            Some(rows) => {
                let by_id = rows.iter().find(|r| {
                    identity.notice_message_id.is_some()
                        && r.notice_message_id == identity.notice_message_id
                });
                let by_text = rows
                    .iter()
                    .find(|r| identity.text_hash.is_some() && r.text_hash == identity.text_hash);
                [(by_id, true), (by_text, false)]
                    .into_iter()
                    .filter_map(|(r, by_message_id)| {
                        r.map(|r| NoticeMatch {
                            case_id: r.case_id,
                            by_message_id,
                            aware_at: r.aware_at,
                            reporter: r.reporter.clone(),
                            reporter_organisation: r.reporter_organisation.clone(),
                        })
                    })
                    .collect()
            }
            None => {
                self.store
                    .case_by_notice(
                        identity.notice_message_id.as_deref(),
                        identity.text_hash.as_deref(),
                    )
                    .await?
            }
        };
        // The Message-ID's match first (SQL does not promise the arms' order).
        let mut matches = matches;
        matches.sort_by_key(|m| !m.by_message_id);
        let times = series::Incoming::of(n, now, self.cfg.tz()).times;
        let same = matches.into_iter().find(|m| {
            m.by_message_id
                || series::same_text_is_a_copy(
                    &times,
                    (
                        n.reporter.address.as_deref(),
                        n.reporter.organisation.as_deref(),
                    ),
                    m.aware_at,
                    (m.reporter.as_deref(), m.reporter_organisation.as_deref()),
                    self.series_window(),
                    &self.cfg.general.internal_domains,
                )
        });
        Ok(same.map(|m| intake::SameNotice {
            case_id: m.case_id,
            link: if m.by_message_id {
                intake::Link::SameMessage
            } else {
                intake::Link::SameText
            },
            case_aware_at: m.aware_at,
        }))
    }

    /// The supplier's open cases around the message's time, as the series
    /// rule's candidates.
    async fn series_of(
        &self,
        n: &Notice,
        found: &Found,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Vec<series::Candidate>> {
        let key = series::supplier_key(n, &self.cfg.general.internal_domains);
        if key.is_empty() {
            return Ok(Vec::new());
        }
        let Some((lo, hi)) = self.series_span(n, now) else {
            return Ok(Vec::new());
        };
        let rows = match &found.series {
            Some(rows) => rows
                .iter()
                .filter(|(d, o, r)| {
                    ((key.domain.is_some() && *d == key.domain)
                        || (key.org.is_some() && *o == key.org))
                        && r.aware_at <= hi
                        && r.opened_at >= lo
                })
                .take(series::MAX_CANDIDATES)
                .map(|(_, _, r)| r.clone())
                .collect(),
            None => {
                self.store
                    .series_candidates(
                        key.domain.as_deref(),
                        key.org.as_deref(),
                        lo,
                        hi,
                        series::MAX_CANDIDATES as i64,
                    )
                    .await?
            }
        };
        Ok(rows
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
            .collect())
    }

    /// The span of open cases a message can join: its times widened by the
    /// series window on both sides.
    fn series_span(
        &self,
        n: &Notice,
        now: DateTime<Utc>,
    ) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        let window = self.series_window();
        let times = series::Incoming::of(n, now, self.cfg.tz()).times;
        let (lo, hi) = (times.iter().min()?, times.iter().max()?);
        Some((*lo - window, *hi + window))
    }

    /// The keys of a group's look-ups, sorted and without repeats.
    fn keys(&self, msgs: &[(&Notice, &str)], now: DateTime<Utc>) -> Keys {
        let mut k = Keys::default();
        for (n, hash) in msgs {
            k.hashes.push(hash.to_string());
            k.ids.extend(n.message_id.as_deref().map(strip_brackets));
            let ps: Vec<String> = n
                .threading
                .parent_ids
                .iter()
                .map(|p| strip_brackets(p))
                .collect();
            k.parents
                .extend(crate::store::lookup_ids(&ps).iter().cloned());
            k.refs.extend(n.case_ref.as_ref().map(|r| r.to_string()));
            if !n.kind.is_incident() {
                continue;
            }
            let identity = series::identity(n);
            k.notice_ids.extend(identity.notice_message_id);
            k.text_hashes.extend(identity.text_hash);
            let key = series::supplier_key(n, &self.cfg.general.internal_domains);
            if key.is_empty() {
                continue;
            }
            if let Some((lo, hi)) = self.series_span(n, now) {
                k.domains.extend(key.domain);
                k.orgs.extend(key.org);
                k.span = Some(match k.span {
                    Some((a, b)) => (a.min(lo), b.max(hi)),
                    None => (lo, hi),
                });
            }
        }
        for v in [
            &mut k.ids,
            &mut k.parents,
            &mut k.refs,
            &mut k.notice_ids,
            &mut k.text_hashes,
            &mut k.domains,
            &mut k.orgs,
        ] {
            v.sort();
            v.dedup();
        }
        k
    }

    /// Every look-up a group of read messages needs, one indexed query per
    /// kind for the whole group (dedupe, thread, case reference, same notice,
    /// series). A look-up that reaches `store::GROUP_ROWS_MAX` rows is left to
    /// each message (`None`), exact and bounded per message.
    pub(super) async fn lookups(
        &self,
        msgs: &[(&Notice, &str)],
        now: DateTime<Utc>,
    ) -> anyhow::Result<Found> {
        let Keys {
            ids,
            hashes,
            parents,
            refs,
            notice_ids,
            text_hashes,
            domains,
            orgs,
            span,
        } = self.keys(msgs, now);
        // The five queries are independent reads: they run at once, each on
        // its own pooled connection, so a group waits for the slowest of them
        // rather than for their sum (on PostgreSQL a round trip each).
        let series = async {
            let Some((lo, hi)) = span else {
                return Ok(Some(Vec::new()));
            };
            let rows = self
                .store
                .series_candidates_many(&domains, &orgs, lo, hi, GROUP_ROWS_MAX)
                .await?;
            Ok::<_, crate::store::StoreError>(
                (rows.len() < GROUP_ROWS_MAX as usize).then_some(rows),
            )
        };
        let (known, parents_found, refs_found, notices, series) = tokio::try_join!(
            self.store.known_messages(&ids, &hashes),
            self.store.cases_by_message_ids(&parents),
            self.store.case_ids_by_refs(&refs),
            self.store.cases_by_notices(&notice_ids, &text_hashes),
            series,
        )?;
        let mut by_message_id = HashMap::new();
        for (m, c) in parents_found {
            by_message_id.entry(m).or_insert(c);
        }
        let by_ref = refs_found.into_iter().collect();
        let notices = (notices.len() < GROUP_ROWS_MAX as usize).then_some(notices);
        Ok(Found {
            known_ids: known
                .iter()
                .filter_map(|k| {
                    let id = k.message_id.clone()?;
                    Some((id, (k.from_address.clone(), k.received_at)))
                })
                .collect(),
            known_hashes: known.into_iter().map(|k| k.content_hash).collect(),
            by_message_id,
            by_ref,
            notices,
            series,
        })
    }

    /// The case's clock restarted from `aware_at`, the earlier receipt shown
    /// by another copy of its notice, and the timeline event that says why.
    pub(super) async fn earlier_awareness(
        &self,
        case_id: i64,
        aware_at: DateTime<Utc>,
        message_id: Option<&str>,
        now: DateTime<Utc>,
        records: &super::Records,
    ) -> anyhow::Result<(EarlierAwareness, NewEvent)> {
        let record = self.case_record(records, case_id).await?;
        let workflow = record.workflow_with_aware_at(aware_at);
        let deadline_at = clock::deadline(aware_at);
        // The NIS2 deadlines count from awareness too: their reminders move.
        let mut moved = record.case();
        moved.aware_at = aware_at;
        let change = EarlierAwareness {
            case_id,
            aware_at,
            deadline_at,
            next_reminder: clock::next_after(aware_at, &self.cfg.clock, now)
                .map(|r| (r.due_at, r.seq)),
            nis2_reminder: moved.next_nis2_reminder(self.cfg.tz(), now).map(|r| r.at),
            next_deadline_at: moved.next_deadline(self.cfg.tz()).map(|(_, at)| at),
            workflow,
            expected_version: record.version,
        };
        let event = NewEvent {
            kind: EventKind::AwareAtMoved,
            actor: "breachwatch".into(),
            data: serde_json::json!({
                "from": record.aware_at,
                "to": aware_at,
                "deadline_at": deadline_at,
                "message_id": message_id,
                "why": crate::core::text::timeline::WHY_EARLIER_COPY,
            }),
        };
        Ok((change, event))
    }

    /// Whether an incident message that names case `case_id` (by thread
    /// headers or its reference) is another incident
    /// (`core::series::another_incident`): the case's facts and supplier
    /// are read for it (one query; only incident messages from off the
    /// case's roster ask). Its roster's replies are news of the case, their
    /// commands included.
    async fn another_incident(
        &self,
        n: &Notice,
        case_id: i64,
        via_thread: bool,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Option<series::Choice>> {
        if !n.kind.is_incident() {
            return Ok(None);
        }
        let record = self.store.case_by_id(case_id).await?;
        let sender = n.sender.address.as_deref().unwrap_or_default();
        if record
            .route
            .as_ref()
            .is_some_and(|r| crate::core::auth::roster_role(r, sender).is_some())
        {
            return Ok(None);
        }
        let internal = &self.cfg.general.internal_domains;
        let named = series::Named {
            case: series::Candidate {
                case_id: record.id,
                case_ref: record.case_ref.to_string(),
                aware_at: record.aware_at,
                opened_at: record.opened_at,
                systems: record.systems.clone(),
                discovered_at: None,
                occurred_from: None,
                occurred_to: None,
                data_categories: Vec::new(),
                cause: None,
            }
            .with_facts(&record.stored.facts),
            supplier: series::supplier_key_of(
                record.reporter_address.as_deref(),
                record.reporter_organisation.as_deref(),
                internal,
            ),
        };
        Ok(series::another_incident(
            &series::Incoming::of(n, now, self.cfg.tz()),
            n.says_new_incident,
            &series::supplier_key(n, internal),
            &named,
            via_thread,
        ))
    }

    /// The lookups (thread, case reference, then the same notice or the
    /// supplier's open cases), the route and the intake decision for a read
    /// message, on its own (`placement`).
    pub(super) async fn plan(&self, n: &Notice, now: DateTime<Utc>) -> anyhow::Result<Planned> {
        let found = self.lookups(&[(n, "")], now).await?;
        self.plan_found(n, &found, now).await
    }

    /// The intake decision for a read message from its group's look-ups:
    /// shared by [`Pipeline::handle`], the group commit and
    /// [`Pipeline::placement`].
    pub(super) async fn plan_found(
        &self,
        n: &Notice,
        found: &Found,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Planned> {
        let parents: Vec<String> = n
            .threading
            .parent_ids
            .iter()
            .map(|p| strip_brackets(p))
            .collect();
        // The first parent in the message's order that has a case wins, as a
        // look-up id by id would find it.
        let by_thread = crate::store::lookup_ids(&parents)
            .iter()
            .find_map(|p| found.by_message_id.get(p).copied());
        let by_ref = n
            .case_ref
            .as_ref()
            .and_then(|r| found.by_ref.get(&r.to_string()).copied());
        let identity = series::identity(n);
        // A message naming a case by thread or reference is news of it,
        // unless it shows it is another incident: then it is placed as if
        // it named none, never in that case.
        let named_not_joined = match by_thread.or(by_ref) {
            Some(case_id) => {
                self.another_incident(n, case_id, by_thread.is_some(), now)
                    .await?
            }
            None => None,
        };
        let (by_thread, by_ref) = match &named_not_joined {
            Some(_) => (None, None),
            None => (by_thread, by_ref),
        };
        let (same_notice, mut series) = if by_thread.is_none() && by_ref.is_none() {
            self.join_lookup(n, &identity, found, now).await?
        } else {
            (None, Vec::new())
        };
        if let Some(named) = &named_not_joined {
            series.retain(|c| c.case_id != named.case_id);
        }
        let found = intake::Lookup {
            by_thread,
            by_ref,
            same_notice,
            series,
            named_not_joined,
        };
        let routed = routing::route(&self.cfg.routing.rules, &self.cfg.routing.default, n);
        let id_domain = self.sender.id_domain();
        let ctx = intake::Context {
            internal_domains: &self.cfg.general.internal_domains,
            own_address: &self.cfg.smtp.from,
            own_id_domain: &id_domain,
            series_window: self.series_window(),
            tz: self.cfg.tz(),
        };
        let plan = intake::plan(n, &found, &routed, &ctx, &self.cfg.clock, now);
        Ok(Planned {
            identity,
            routed,
            plan,
        })
    }
}

/// An open case with its supplier keys (domain, organisation).
type SupplierRow = (Option<String>, Option<String>, SeriesRow);

/// What a group's look-ups found ([`Pipeline::lookups`]).
pub(super) struct Found {
    /// Recorded Message-IDs with their sender and receipt.
    known_ids: HashMap<String, (Option<String>, Option<DateTime<Utc>>)>,
    known_hashes: HashSet<String>,
    by_message_id: HashMap<String, i64>,
    by_ref: HashMap<String, i64>,
    /// None: too many rows for the group; each message asks on its own.
    notices: Option<Vec<NoticeRow>>,
    series: Option<Vec<SupplierRow>>,
}

impl Found {
    /// Is this message already recorded (by Message-ID or by its bytes)?
    pub(super) fn known(&self, n: &Notice, content_hash: &str) -> Seen {
        if self.known_hashes.contains(content_hash) {
            return Seen::Copy;
        }
        let id = n.message_id.as_deref().map(strip_brackets);
        match id.as_deref().and_then(|m| self.known_ids.get(m)) {
            None => Seen::New,
            Some((from, received)) => {
                if intake::a_copy_of(
                    (from.as_deref(), *received),
                    (n.sender.address.as_deref(), n.received_at),
                ) {
                    Seen::Copy
                } else {
                    Seen::ReusedId
                }
            }
        }
    }
}

/// Whether a read message is already recorded ([`Found::known`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Seen {
    New,
    /// The same bytes, or another copy of the recorded message with its
    /// Message-ID (from another address, a replay): nothing to write.
    Copy,
    /// Another message that carries a recorded message's Message-ID (another
    /// sender, or received days apart): recorded as a message of its own,
    /// without that Message-ID (`intake::a_copy_of`).
    ReusedId,
}

/// What a group of messages is looked up by ([`Pipeline::lookups`]).
#[derive(Default)]
struct Keys {
    ids: Vec<String>,
    hashes: Vec<String>,
    parents: Vec<String>,
    refs: Vec<String>,
    notice_ids: Vec<String>,
    text_hashes: Vec<String>,
    domains: Vec<String>,
    orgs: Vec<String>,
    span: Option<(DateTime<Utc>, DateTime<Utc>)>,
}
