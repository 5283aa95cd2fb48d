//! Ingest: one raw message → the notice reader → intake decision → ONE store
//! transaction (message, case, events, outbox, checkpoint). Unreadable mail is
//! recorded and quarantined, never dropped and never fatal.

use std::sync::Arc;

use chrono::{DateTime, Datelike, Utc};
use sha2::{Digest, Sha256};
use tokio::sync::Notify;

use crate::config::Config;
use crate::core::bounded::{cut_text, MAX_STORED_TEXT};
use crate::core::clock;
use crate::core::event::EventKind;
use crate::core::intake::{self, AckTo, Plan};
use crate::core::notice::{self, Notice};
use crate::core::routing::{self, Route};
use crate::core::series;
use crate::mail::compose::{self, CaseFacts, Sender};
use crate::store::{
    CaseChange, Checkpoint, Composed, EarlierAwareness, IngestWrite, NewCase, NewEvent, NewMessage,
    Store,
};
use crate::workers::reply::{self, ReplyMail};

/// Where a message came from, for the register and the checkpoint.
#[derive(Debug, Clone)]
pub struct Origin {
    pub mailbox: String,
    pub uidvalidity: u32,
    pub uid: u32,
}

/// What became of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handled {
    Opened(String),
    Attached(String),
    Recorded(&'static str),
    Duplicate,
    Quarantined(String),
}

impl Handled {
    /// The IMAP folder the message belongs in afterwards.
    pub fn is_quarantined(&self) -> bool {
        matches!(self, Handled::Quarantined(_))
    }
}

#[derive(Clone)]
pub struct Pipeline {
    pub cfg: Arc<Config>,
    pub store: Store,
    pub sender: Sender,
    /// Woken after a commit that queued mail.
    pub outbox_wake: Arc<Notify>,
    /// Woken after a commit that scheduled a reminder.
    pub clock_wake: Arc<Notify>,
    /// The document templates, loaded once (`Config::load` already validated them).
    pub templates: Arc<crate::render::Templates>,
}

pub fn content_hash(raw: &[u8]) -> String {
    hex::encode(Sha256::digest(raw))
}

/// The checkpoint a message's transaction advances to.
fn checkpoint_of(origin: Option<&Origin>) -> Option<(String, Checkpoint)> {
    origin.map(|o| {
        (
            o.mailbox.clone(),
            Checkpoint {
                uidvalidity: o.uidvalidity,
                last_uid: o.uid,
            },
        )
    })
}

/// The register row of a message before anything is known of it: what a
/// quarantined message keeps.
fn unreadable(
    raw: &[u8],
    delivered_at: Option<DateTime<Utc>>,
    origin: Option<&Origin>,
) -> NewMessage {
    NewMessage {
        message_id: None,
        content_hash: content_hash(raw),
        kind: "unreadable".into(),
        disposition: "quarantined".into(),
        subject: None,
        from_address: None,
        received_at: delivered_at,
        mailbox: origin.map(|o| o.mailbox.clone()),
        uidvalidity: origin.map(|o| o.uidvalidity),
        uid: origin.map(|o| o.uid),
        error: None,
        raw: raw.to_vec(),
        notice_message_id: None,
        text_hash: None,
    }
}

fn strip_brackets(s: &str) -> String {
    s.trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .to_string()
}

impl Pipeline {
    pub fn new(cfg: Arc<Config>, store: Store) -> Self {
        let sender = Sender {
            from_address: cfg.smtp.from.clone(),
            from_name: cfg.smtp.from_name.clone(),
            internal_domains: cfg.general.internal_domains.clone(),
            tz: cfg.tz(),
        };
        // check-config and Config::load refuse a broken set, so this fails only
        // if the files changed since: then each case records the failure and
        // its opening notice goes out without documents.
        let templates = cfg.documents.templates().unwrap_or_else(|e| {
            tracing::error!("document templates unavailable: {e}");
            crate::render::Templates::unavailable()
        });
        Pipeline {
            templates: Arc::new(templates),
            cfg,
            store,
            sender,
            outbox_wake: Arc::new(Notify::new()),
            clock_wake: Arc::new(Notify::new()),
        }
    }

    /// Handles one message. An error means the store could not be written: the
    /// caller must not advance past this message. A case changed by someone else
    /// meanwhile (another replica) is re-read and the message handled again.
    pub async fn handle(
        &self,
        raw: &[u8],
        delivered_at: Option<DateTime<Utc>>,
        origin: Option<Origin>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Handled> {
        use futures::FutureExt;
        let checkpoint = checkpoint_of(origin.as_ref());
        let base = unreadable(raw, delivered_at, origin.as_ref());
        // The one read of the message; a retry after a conflict reuses it. The
        // reader is total by design; catching a panic anyway keeps one odd
        // message from ever taking the daemon down.
        let mut opts = self.cfg.read_options();
        opts.delivered_at = delivered_at;
        let n = match std::panic::catch_unwind(|| notice::read(raw, &opts)) {
            Ok(Ok(n)) => n,
            Ok(Err(e)) => return self.quarantine(base, e.to_string(), checkpoint, now).await,
            Err(_) => {
                let why = "the reader failed on this message".to_string();
                return self.quarantine(base, why, checkpoint, now).await;
            }
        };
        let mut attempt = 0;
        loop {
            // A bug must not turn one message into a dead watcher or an endless
            // retry: the message is quarantined with the reason and work goes on.
            let once = std::panic::AssertUnwindSafe(self.handle_once(
                &n,
                base.clone(),
                checkpoint.clone(),
                now,
            ))
            .catch_unwind()
            .await;
            let once = match once {
                Ok(r) => r,
                Err(_) => {
                    tracing::error!(content_hash = %content_hash(raw), "internal error while handling a message; quarantining it");
                    return self
                        .quarantine_after_panic(raw, delivered_at, origin, now)
                        .await;
                }
            };
            match once {
                Err(e)
                    if attempt < 3
                        && matches!(
                            e.downcast_ref::<crate::store::StoreError>(),
                            Some(crate::store::StoreError::Conflict(_))
                        ) =>
                {
                    attempt += 1;
                }
                r => return r,
            }
        }
    }

    /// One attempt at a read message: look up, plan, one transaction.
    async fn handle_once(
        &self,
        n: &Notice,
        base: NewMessage,
        checkpoint: Option<(String, Checkpoint)>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Handled> {
        let hash = base.content_hash.clone();
        let message_id = n.message_id.as_deref().map(strip_brackets);
        if self
            .store
            .message_known(message_id.as_deref(), &hash)
            .await?
        {
            if let Some((mb, cp)) = &checkpoint {
                self.store.set_checkpoint(mb, *cp).await?;
            }
            tracing::info!(
                message_id = message_id.as_deref().unwrap_or("-"),
                "duplicate message, already recorded"
            );
            return Ok(Handled::Duplicate);
        }
        let Planned {
            identity,
            decision,
            plan,
        } = self.plan(n, now).await?;
        let kind = serde_json::to_value(n.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_else(|| "other".into());
        // The subject as stored (register row, timeline) is bounded like any
        // outside text; the raw message keeps the whole of it.
        let subject = n
            .threading
            .subject
            .as_deref()
            .map(|s| cut_text(s, MAX_STORED_TEXT).into_owned());
        let message = NewMessage {
            message_id: message_id.clone(),
            kind,
            disposition: String::new(),
            subject: subject.clone(),
            from_address: n.sender.address.clone(),
            received_at: n.received_at,
            notice_message_id: identity.notice_message_id.clone(),
            text_hash: identity.text_hash.clone(),
            ..base
        };
        let subject = subject.unwrap_or_default();
        let reporter = reporter_label(n);
        match plan {
            Plan::Record { reason } => {
                let w = IngestWrite {
                    message: NewMessage {
                        disposition: reason.as_str().into(),
                        ..message
                    },
                    change: CaseChange::None,
                    events: vec![],
                    checkpoint,
                };
                let res = self
                    .store
                    .commit_ingest(w, &self.cfg.general.case_prefix, now, |_| {
                        Composed::default()
                    })
                    .await?;
                if res.duplicate {
                    return Ok(Handled::Duplicate);
                }
                tracing::info!(
                    message_id = message_id.as_deref().unwrap_or("-"),
                    reason = reason.as_str(),
                    "message recorded, no case"
                );
                Ok(Handled::Recorded(reason.as_str()))
            }
            Plan::Attach {
                case_id,
                link,
                notify_official,
                series,
                earlier_aware_at,
            } => {
                let from = n.sender.address.clone().unwrap_or_default();
                let mut events = vec![NewEvent {
                    kind: EventKind::MessageAttached,
                    actor: from.clone(),
                    data: serde_json::json!({
                        "message_id": message_id,
                        "link": link.as_str(),
                        "kind": n.kind,
                        "subject": subject,
                        "received_at": n.received_at,
                        "why": join_reason(link, series.as_ref()),
                        "series": series,
                        // What a final report found ({0, 0}: none of ours),
                        // for the withdrawal draft (`casefile`).
                        "data_subjects": n.incident.data_subjects,
                    }),
                }];
                let earlier = match earlier_aware_at {
                    Some(at) => Some(
                        self.earlier_awareness(case_id, at, message_id.as_deref(), now)
                            .await?,
                    ),
                    None => None,
                };
                if let Some((_, ev)) = &earlier {
                    events.push(ev.clone());
                }
                let mut mails = Vec::new();
                let mut update = None;
                let mut merge = None;
                // Automatic mail never commands and is never answered.
                if notify_official {
                    let wf = self.store.case_workflow(case_id).await?;
                    let route: Option<Route> = wf.route.clone();
                    let mut was_command = false;
                    let reply = ReplyMail::from_notice(n);
                    {
                        // A decision's draft documents need the case as stored;
                        // unreadable, the draft goes without them (recorded).
                        let file = crate::casefile::load(
                            &self.store,
                            &self.cfg,
                            wf.case_ref.as_str(),
                            now,
                        )
                        .await
                        .unwrap_or_else(|e| {
                            tracing::warn!(case = %wf.case_ref, "case file unavailable for documents: {e}");
                            None
                        });
                        let docs = file.as_ref().map(|f| (f, self.templates.as_ref()));
                        // A case whose stored workflow cannot be used is a fault
                        // of the case, not of this message: the message is still
                        // recorded on it, with the reason.
                        // A merge names another case: read it as stored first
                        // (not found: the core refuses and says so).
                        let merge_target = match reply::merge_target_ref(&reply) {
                            Some(r) => self.store.case_record(r.as_str()).await?,
                            None => None,
                        };
                        match reply::work(
                            &self.cfg,
                            &self.sender,
                            &wf,
                            &reply,
                            now,
                            docs,
                            merge_target.as_ref(),
                        ) {
                            Ok(w) => {
                                was_command = w.was_command;
                                events.extend(w.events);
                                mails.extend(w.mails);
                                update = w.update;
                                merge = w.merge;
                            }
                            Err(e) => {
                                tracing::error!(case = %wf.case_ref, "reply could not be handled: {e}");
                                events.push(NewEvent {
                                    kind: EventKind::ReplyNotHandled,
                                    actor: "breachwatch".into(),
                                    data: serde_json::json!({ "error": e }),
                                });
                            }
                        }
                    }
                    if let Some(route) = route {
                        let tell = intake::attach_notices(
                            &route,
                            &from,
                            was_command,
                            &self.cfg.general.internal_domains,
                        );
                        let key = &hash[..16];
                        let mut drafts = Vec::new();
                        if tell.official {
                            drafts.push(compose::follow_up_notice(
                                &wf.case_ref,
                                &route,
                                &subject,
                                &from,
                                key,
                            ));
                        }
                        if tell.sender {
                            drafts.push(compose::attached_acknowledgement(
                                &wf.case_ref,
                                &subject,
                                &from,
                                message_id.as_deref(),
                                key,
                            ));
                        }
                        for d in drafts {
                            match compose::format_registered(
                                &self.sender,
                                &wf.case_ref,
                                crate::workers::reply::load_case(&wf)
                                    .diarienummer
                                    .as_ref()
                                    .map(|n| n.as_str()),
                                d,
                            ) {
                                Ok(m) => mails.push(m),
                                Err(e) => events.push(compose::dropped_event(&e)),
                            }
                        }
                    }
                }
                let w = IngestWrite {
                    message: NewMessage {
                        disposition: "attached".into(),
                        ..message
                    },
                    change: match earlier {
                        // A copy of the notice is never a command: no workflow update.
                        Some((e, _)) => CaseChange::AttachEarlier(Box::new(e)),
                        None => match (update, merge) {
                            (Some(update), Some(m)) => CaseChange::AttachMerge {
                                case_id,
                                update,
                                merge: Box::new(m),
                            },
                            (update, _) => CaseChange::Attach { case_id, update },
                        },
                    },
                    events,
                    checkpoint,
                };
                let res = self
                    .store
                    .commit_ingest(w, &self.cfg.general.case_prefix, now, move |_| {
                        Composed::mails(mails)
                    })
                    .await?;
                if res.duplicate {
                    return Ok(Handled::Duplicate);
                }
                self.outbox_wake.notify_one();
                let r = res.case_ref.map(|r| r.to_string()).unwrap_or_default();
                tracing::info!(case = %r, message_id = message_id.as_deref().unwrap_or("-"), link = link.as_str(), "message attached to case");
                Ok(Handled::Attached(r))
            }
            Plan::Open {
                aware_at,
                urgent,
                next_reminder,
                ack,
                may_belong_to,
            } => {
                let tz = self.cfg.tz();
                let supplier = series::supplier_key(n, &self.cfg.general.internal_domains);
                let reporter_address = n.reporter.address.clone().or(n.sender.address.clone());
                let case = NewCase {
                    year: now.with_timezone(&tz).year(),
                    aware_at,
                    deadline_at: clock::deadline(aware_at),
                    opened_at: now,
                    reporter_name: n.reporter.name.clone(),
                    reporter_domain: reporter_address
                        .as_deref()
                        .and_then(|a| a.rsplit_once('@'))
                        .map(|(_, d)| d.to_lowercase()),
                    reporter_address,
                    reporter_organisation: n.reporter.organisation.clone(),
                    supplier_domain: supplier.domain.clone(),
                    supplier_org: supplier.org.clone(),
                    systems: n.incident.systems.clone(),
                    rule_name: decision.rule.clone(),
                    route: serde_json::to_value(&decision.route)?,
                    facts: crate::core::notice::present::to_contract_json(n, tz),
                    next_reminder: next_reminder.map(|r| (r.due_at, r.seq)),
                };
                let w = IngestWrite {
                    message: NewMessage {
                        disposition: "opened_case".into(),
                        ..message
                    },
                    change: CaseChange::Open(Box::new(case)),
                    events: std::iter::once(NewEvent {
                        kind: EventKind::CaseOpened,
                        actor: "breachwatch".into(),
                        data: serde_json::json!({
                            "message_id": message_id,
                            "aware_at": aware_at,
                            "deadline_at": clock::deadline(aware_at),
                            "urgent": urgent,
                            "rule": decision.rule,
                            "reasons": decision.reasons,
                            "forwarded": n.forwarded,
                            "ignored_chain_times": n.ignored_chain_times,
                            "may_belong_to": may_belong_to.as_ref().map(|c| serde_json::json!({
                                "case": c.case_ref,
                                "why": c.why,
                                "overlap": c.overlap,
                            })),
                        }),
                    })
                    .chain(refused_sender(n))
                    .collect(),
                    checkpoint,
                };
                let sender = self.sender.clone();
                let route = decision.route.clone();
                let rule = decision.rule.clone();
                let systems = n.incident.systems.clone();
                let notice_id = message_id.clone();
                let templates = self.templates.clone();
                let docs_cfg = self.cfg.documents.clone();
                let notice = n.clone();
                let ignored = n.ignored_chain_times.clone();
                let may_belong = may_belong_to.map(|c| (c.case_ref, c.why));
                let forwarded_at = if n.forwarded { n.received_at } else { None };
                let res = self
                    .store
                    .commit_ingest(w, &self.cfg.general.case_prefix, now, move |k| {
                        let f = CaseFacts {
                            case_ref: &k.case_ref,
                            subject: &subject,
                            reporter: &reporter,
                            aware_at,
                            route: &route,
                            rule: rule.as_deref(),
                            systems: &systems,
                            notice_message_id: notice_id.as_deref(),
                            ignored_chain_times: &ignored,
                            may_belong_to: may_belong.as_ref().map(|(r, w)| (r.as_str(), w.as_str())),
                            incident: &notice.incident,
                            notice_text: &notice.body_text,
                            forwarded_at,
                        };
                        // The notify draft, the IMY form draft and the deadline
                        // .ics go with the notice; their checksums join the
                        // timeline in this transaction. A rendering failure
                        // never holds the notice back.
                        let file = crate::casefile::for_new_case(
                            &notice,
                            &route,
                            &k.case_ref,
                            aware_at,
                            clock::deadline(aware_at),
                            &docs_cfg,
                            tz,
                            now,
                        );
                        let (attachments, doc_event) =
                            crate::casefile::opening_attachments(&file, &templates);
                        // The text names the drafts it carries; the bare one
                        // says how to get them instead.
                        let with_docs = compose::opening_notice(&sender, &f, now, attachments);
                        let bare = compose::opening_notice(&sender, &f, now, Vec::new());
                        // A mail that cannot be composed is dropped with an
                        // event; the case opens all the same.
                        let mut events = Vec::new();
                        let mut mails = Vec::new();
                        match compose::format(&sender, &k.case_ref, with_docs) {
                            Ok(m) => {
                                mails.push(m);
                                events.push(doc_event);
                            }
                            Err(e) => {
                                tracing::error!(case = %k.case_ref, "opening notice with documents could not be formatted: {e}");
                                if doc_event.kind != EventKind::DocumentsFailed {
                                    events.push(crate::casefile::documents_failed_event(&e.to_string()));
                                } else {
                                    events.push(doc_event);
                                }
                                match compose::format(&sender, &k.case_ref, bare) {
                                    Ok(m) => mails.push(m),
                                    Err(e) => events.push(compose::dropped_event(&e)),
                                }
                            }
                        }
                        let ack_draft = match &ack {
                            AckTo::Forwarder(a) => {
                                Some(compose::acknowledgement(&sender, &f, a, false))
                            }
                            AckTo::Dpo => Some(compose::acknowledgement(
                                &sender,
                                &f,
                                &route.dpo.address,
                                true,
                            )),
                            AckTo::Nobody => None,
                        };
                        if let Some(d) = ack_draft {
                            match compose::format(&sender, &k.case_ref, d) {
                                Ok(m) => mails.push(m),
                                Err(e) => events.push(compose::dropped_event(&e)),
                            }
                        }
                        Composed { mails, events }
                    })
                    .await?;
                if res.duplicate {
                    return Ok(Handled::Duplicate);
                }
                self.outbox_wake.notify_one();
                self.clock_wake.notify_one();
                let r = res.case_ref.map(|r| r.to_string()).unwrap_or_default();
                tracing::info!(case = %r, message_id = message_id.as_deref().unwrap_or("-"), urgent, "case opened");
                Ok(Handled::Opened(r))
            }
        }
    }

    fn series_window(&self) -> chrono::Duration {
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
    async fn earlier_awareness(
        &self,
        case_id: i64,
        aware_at: DateTime<Utc>,
        message_id: Option<&str>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<(EarlierAwareness, NewEvent)> {
        let wf = self.store.case_workflow(case_id).await?;
        let workflow = wf.workflow_with_aware_at(aware_at);
        let deadline_at = clock::deadline(aware_at);
        let change = EarlierAwareness {
            case_id,
            aware_at,
            deadline_at,
            next_reminder: clock::next_after(aware_at, &self.cfg.clock, now)
                .map(|r| (r.due_at, r.seq)),
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
    async fn plan(&self, n: &Notice, now: DateTime<Utc>) -> anyhow::Result<Planned> {
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
                why: join_reason(link, series.as_ref()),
                earlier_aware_at,
            },
            Plan::Open { may_belong_to, .. } => Placement::Open {
                may_belong_to: may_belong_to.map(|c| (c.case_ref, c.why)),
            },
        })
    }

    async fn quarantine_after_panic(
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

    async fn quarantine(
        &self,
        base: NewMessage,
        error: String,
        checkpoint: Option<(String, Checkpoint)>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Handled> {
        let hash = base.content_hash.clone();
        let w = IngestWrite {
            message: NewMessage {
                error: Some(error.clone()),
                ..base
            },
            change: CaseChange::None,
            events: vec![],
            checkpoint,
        };
        self.store
            .commit_ingest(w, &self.cfg.general.case_prefix, now, |_| {
                Composed::default()
            })
            .await?;
        tracing::warn!(content_hash = %hash, "message quarantined: {error}");
        Ok(Handled::Quarantined(error))
    }
}

/// The record of a sender that is never mailed because its address is not a
/// plain address (quotes, `%`, `!`, route syntax, too long…): the
/// acknowledgement goes to the DPO instead.
fn refused_sender(n: &Notice) -> Option<NewEvent> {
    let a = n.sender.address.as_deref()?;
    let why = crate::core::types::PlainAddress::parse(a).err()?;
    let shown: String = a.chars().take(320).collect();
    Some(NewEvent {
        kind: EventKind::RecipientRefused,
        actor: "breachwatch".into(),
        data: serde_json::json!({ "address": shown, "reason": why.to_string() }),
    })
}

/// What [`Pipeline::plan`] decided for a read message.
struct Planned {
    identity: series::Identity,
    decision: routing::RouteDecision,
    plan: Plan,
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

/// Why a message joined its case, in the officials' language, for the timeline.
fn join_reason(link: intake::Link, series: Option<&series::Choice>) -> String {
    match (link, series) {
        (intake::Link::Thread, _) => "svar i tråden".into(),
        (intake::Link::CaseRef, _) => "ärendenumret nämns".into(),
        (intake::Link::SameMessage, _) => "samma anmälan (samma Message-ID)".into(),
        (intake::Link::SameText, _) => "samma anmälan (samma text)".into(),
        (intake::Link::Series, Some(c)) => c.why.clone(),
        (intake::Link::Series, None) => "samma leverantör och incident".into(),
    }
}

fn reporter_label(n: &Notice) -> String {
    let r = &n.reporter;
    match (&r.organisation, &r.address) {
        (Some(o), Some(a)) => format!("{o} <{a}>"),
        (Some(o), None) => o.clone(),
        (None, Some(a)) => match &r.name {
            Some(name) => format!("{name} <{a}>"),
            None => a.clone(),
        },
        (None, None) => "okänd avsändare".into(),
    }
}
