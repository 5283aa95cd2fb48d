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
use crate::core::intake::{self, AckTo, Plan};
use crate::core::notice::{self, Notice};
use crate::core::routing::{self, Route};
use crate::mail::compose::{self, CaseFacts, Sender};
use crate::store::{
    CaseChange, Checkpoint, Composed, IngestWrite, NewCase, NewEvent, NewMessage, Store,
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
        let mut attempt = 0;
        loop {
            // A bug must not turn one message into a dead watcher or an endless
            // retry: the message is quarantined with the reason and work goes on.
            let once = std::panic::AssertUnwindSafe(self.handle_once(
                raw,
                delivered_at,
                origin.clone(),
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

    async fn handle_once(
        &self,
        raw: &[u8],
        delivered_at: Option<DateTime<Utc>>,
        origin: Option<Origin>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Handled> {
        let hash = content_hash(raw);
        let mut opts = self.cfg.read_options();
        opts.delivered_at = delivered_at;
        // The reader is total by design; catching a panic anyway keeps one odd
        // message from ever taking the daemon down.
        let read = std::panic::catch_unwind(|| notice::read(raw, &opts));
        let checkpoint = checkpoint_of(origin.as_ref());
        let base = unreadable(raw, delivered_at, origin.as_ref());
        let n = match read {
            Ok(Ok(n)) => n,
            Ok(Err(e)) => return self.quarantine(base, e.to_string(), checkpoint, now).await,
            Err(_) => {
                return self
                    .quarantine(
                        base,
                        "the reader failed on this message".into(),
                        checkpoint,
                        now,
                    )
                    .await
            }
        };
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
        let by_series = if by_thread.is_none() && by_ref.is_none() && !n.threading.never_answer {
            self.series_case(&n, now).await?
        } else {
            None
        };
        let found = intake::Lookup {
            by_thread,
            by_ref,
            by_series,
        };
        let decision = routing::route(&self.cfg.routing.rules, &self.cfg.routing.default, &n);
        let id_domain = self.sender.id_domain();
        let ctx = intake::Context {
            internal_domains: &self.cfg.general.internal_domains,
            own_address: &self.cfg.smtp.from,
            own_id_domain: &id_domain,
        };
        let plan = intake::plan(&n, &found, &decision, &ctx, &self.cfg.clock, now);
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
            ..base
        };
        let subject = subject.unwrap_or_default();
        let reporter = reporter_label(&n);
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
            } => {
                let from = n.sender.address.clone().unwrap_or_default();
                let mut events = vec![NewEvent {
                    kind: "message_attached".into(),
                    actor: from.clone(),
                    data: serde_json::json!({
                        "message_id": message_id,
                        "link": link.as_str(),
                        "kind": n.kind,
                        "subject": subject,
                        "received_at": n.received_at,
                    }),
                }];
                let mut mails = Vec::new();
                let mut update = None;
                // Automatic mail never commands and is never answered.
                if notify_official {
                    let wf = self.store.case_workflow(case_id).await?;
                    let route: Option<Route> = serde_json::from_value(wf.route.clone()).ok();
                    let mut was_command = false;
                    let reply = ReplyMail::from_notice(&n);
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
                        match reply::work(&self.cfg, &self.sender, &wf, &reply, now, docs) {
                            Ok(w) => {
                                was_command = w.was_command;
                                events.extend(w.events);
                                mails.extend(w.mails);
                                update = w.update;
                            }
                            Err(e) => {
                                tracing::error!(case = %wf.case_ref, "reply could not be handled: {e}");
                                events.push(NewEvent {
                                    kind: "reply_not_handled".into(),
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
                    change: CaseChange::Attach { case_id, update },
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
            } => {
                let tz = self.cfg.tz();
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
                    systems: n.incident.systems.clone(),
                    rule_name: decision.rule.clone(),
                    route: serde_json::to_value(&decision.route)?,
                    facts: crate::core::notice::present::to_contract_json(&n, tz),
                    next_reminder: next_reminder.map(|r| (r.due_at, r.seq)),
                };
                let w = IngestWrite {
                    message: NewMessage {
                        disposition: "opened_case".into(),
                        ..message
                    },
                    change: CaseChange::Open(Box::new(case)),
                    events: std::iter::once(NewEvent {
                        kind: "case_opened".into(),
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
                        }),
                    })
                    .chain(refused_sender(&n))
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
                        let bare = compose::opening_notice(&sender, &f, now);
                        let with_docs = compose::Draft {
                            attachments,
                            ..bare.clone()
                        };
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
                                if doc_event.kind != crate::casefile::EVENT_DOCUMENTS_FAILED {
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

    /// An open case of the same supplier about the same system within the series
    /// window (`core::case::joins_series`), if any.
    async fn series_case(&self, n: &Notice, now: DateTime<Utc>) -> anyhow::Result<Option<i64>> {
        let Some(domain) = n
            .reporter
            .address
            .as_deref()
            .and_then(|a| a.rsplit_once('@'))
            .map(|(_, d)| d.to_lowercase())
        else {
            return Ok(None);
        };
        if n.incident.systems.is_empty() || self.cfg.is_internal(&format!("x@{domain}")) {
            return Ok(None);
        }
        let window = chrono::Duration::days(self.cfg.workflow.series_window_days);
        let received = n.received_at.unwrap_or(now);
        for wf in self.store.open_workflows().await? {
            let Some(d) = &wf.reporter_domain else {
                continue;
            };
            let key = crate::core::case::SeriesKey {
                reporter_domain: d.clone(),
                systems: wf.systems.clone(),
                opened_at: wf.opened_at,
            };
            if crate::core::case::joins_series(
                &key,
                (&domain, &n.incident.systems, received),
                window,
            ) {
                return Ok(Some(wf.id));
            }
        }
        Ok(None)
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
        kind: "recipient_refused".into(),
        actor: "breachwatch".into(),
        data: serde_json::json!({ "address": shown, "reason": why.to_string() }),
    })
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
