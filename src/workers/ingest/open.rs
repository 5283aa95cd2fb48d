//! Plan arm "open": the message opens a case. The opening notice (with its
//! draft documents) and the acknowledgement are composed inside the case's
//! transaction, once the case has its number.

use chrono::{DateTime, Datelike, Utc};

use super::{refused_sender, reporter_label, Incoming, Outcome, Pipeline, Prepared};
use crate::core::clock;
use crate::core::event::EventKind;
use crate::core::intake::AckTo;
use crate::core::notice::Notice;
use crate::core::routing::Route;
use crate::core::series;
use crate::mail::compose::{self, CaseFacts, Sender};
use crate::store::{CaseChange, CaseKey, Composed, IngestWrite, NewCase, NewEvent};

/// How the case opens (the fields of `Plan::Open`).
pub(super) struct How {
    pub aware_at: DateTime<Utc>,
    pub urgent: bool,
    pub next_reminder: Option<clock::Reminder>,
    pub ack: AckTo,
    pub may_belong_to: Option<series::Choice>,
}

impl Pipeline {
    pub(super) fn open(&self, mut inc: Incoming<'_>, how: How) -> anyhow::Result<Prepared> {
        let n = inc.n;
        let now = inc.now;
        // The reader's NIS2 suggestion (`core::regime`), recorded with its
        // reasons; the early-warning reminders start with it.
        let nis2_reasons = if self.cfg.nis2.enabled {
            crate::core::regime::suggest_nis2(n, &self.cfg.nis2.services)
        } else {
            Vec::new()
        };
        let mut case = self.new_case(&inc, &how)?;
        let nis2_event = self.with_nis2_suggestion(&mut case, &how, &nis2_reasons, now)?;
        let opened = opened_event(&inc, &how);
        let w = IngestWrite {
            message: inc.row("opened_case"),
            change: CaseChange::Open(Box::new(case)),
            events: std::iter::once(opened)
                .chain(nis2_event)
                .chain(refused_sender(n))
                .collect(),
            checkpoint: inc.checkpoint.take(),
        };
        let opening = Opening {
            sender: self.sender.clone(),
            route: inc.routed.route.clone(),
            rule: inc.routed.rule.clone(),
            subject: inc.subject.clone(),
            reporter: reporter_label(n),
            notice_id: inc.message_id.clone(),
            notice: n.clone(),
            may_belong: how.may_belong_to.map(|c| (c.case_ref, c.why)),
            split_from: None,
            aware_at: how.aware_at,
            ack: how.ack,
            templates: self.templates.clone(),
            docs_cfg: self.cfg.documents.clone(),
            tz: self.cfg.tz(),
            nis2_reasons,
            now,
        };
        Ok(Prepared {
            write: w,
            compose: Box::new(move |k| opening.compose(k)),
            outcome: Outcome::Opened {
                message_id: inc.message_id.clone(),
                urgent: how.urgent,
            },
        })
    }

    /// Records the reader's NIS2 suggestion in the opening case's workflow
    /// and schedules its first NIS2 reminder; the event that says so (None:
    /// not suggested).
    fn with_nis2_suggestion(
        &self,
        case: &mut NewCase,
        how: &How,
        reasons: &[crate::core::regime::Nis2Reason],
        now: DateTime<Utc>,
    ) -> anyhow::Result<Option<NewEvent>> {
        let (opened_case, event) = crate::core::case::Case::open(
            crate::core::types::CaseRef::new("", 0, 0),
            how.aware_at,
            now,
            None,
        )
        .0
        .with_nis2_suggestion(reasons.to_vec());
        let Some((kind, data)) = event else {
            return Ok(None);
        };
        case.workflow = Some(serde_json::to_value(&opened_case)?);
        case.nis2_reminder = opened_case
            .next_nis2_reminder(self.cfg.tz(), now)
            .map(|r| r.at);
        // The early warning (24 h) comes before the GDPR deadline.
        case.next_deadline_at = opened_case.next_deadline(self.cfg.tz()).map(|(_, at)| at);
        Ok(Some(NewEvent {
            kind,
            actor: "breachwatch".into(),
            data,
        }))
    }

    /// The case row as it opens.
    fn new_case(&self, inc: &Incoming<'_>, how: &How) -> anyhow::Result<NewCase> {
        self.case_row(inc.n, &inc.routed, inc.now, how.aware_at, how.next_reminder)
    }

    /// The row of a case opened from notice `n` (by intake, or by `split`).
    pub(super) fn case_row(
        &self,
        n: &Notice,
        routed: &crate::core::routing::RouteDecision,
        now: DateTime<Utc>,
        aware_at: DateTime<Utc>,
        next_reminder: Option<clock::Reminder>,
    ) -> anyhow::Result<NewCase> {
        let tz = self.cfg.tz();
        let supplier = series::supplier_key(n, &self.cfg.general.internal_domains);
        let reporter_address = n.reporter.address.clone().or(n.sender.address.clone());
        Ok(NewCase {
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
            rule_name: routed.rule.clone(),
            route: serde_json::to_value(&routed.route)?,
            facts: {
                // The facts with the quotes they were read from: the case
                // page shows them (a web report's are the form's own lines).
                let mut f = crate::core::notice::present::to_contract_json(n, tz);
                if let serde_json::Value::Object(m) = &mut f {
                    m.insert("evidence".into(), serde_json::to_value(&n.evidence)?);
                    // The attached form the facts were also read from: the
                    // case page says so beside them.
                    if let Some(file) = &n.document_read {
                        m.insert("document_read".into(), file.as_str().into());
                    }
                }
                f
            },
            next_reminder: next_reminder.map(|r| (r.due_at, r.seq)),
            workflow: None,
            nis2_reminder: None,
            // A case opens received: its GDPR clock runs (NIS2's, when the
            // reader suggests it, are set by the caller with the workflow).
            next_deadline_at: crate::core::case::Case::open(
                crate::core::types::CaseRef::new("", 0, 0),
                aware_at,
                now,
                None,
            )
            .0
            .next_deadline(tz)
            .map(|(_, at)| at),
        })
    }
}

/// `case_opened`: why and from when the clock runs.
fn opened_event(inc: &Incoming<'_>, how: &How) -> NewEvent {
    let mut opened = NewEvent {
        kind: EventKind::CaseOpened,
        actor: "breachwatch".into(),
        data: serde_json::json!({
            "message_id": inc.message_id,
            "aware_at": how.aware_at,
            "deadline_at": clock::deadline(how.aware_at),
            "urgent": how.urgent,
            "rule": inc.routed.rule,
            "reasons": inc.routed.reasons,
            "forwarded": inc.n.forwarded,
            "ignored_chain_times": inc.n.ignored_chain_times,
            "may_belong_to": how.may_belong_to.as_ref().map(|c| serde_json::json!({
                "case": c.case_ref,
                "why": c.why,
                "overlap": c.overlap,
            })),
        }),
    };
    if let (Some(via), serde_json::Value::Object(m)) = (inc.via.clone(), &mut opened.data) {
        m.insert("via".into(), via);
    }
    opened
}

/// What the opening mail needs, moved into the transaction that gives the
/// case its number.
pub(super) struct Opening {
    pub(super) sender: Sender,
    pub(super) route: Route,
    pub(super) rule: Option<String>,
    pub(super) subject: String,
    pub(super) reporter: String,
    pub(super) notice_id: Option<String>,
    pub(super) notice: Notice,
    /// The case it may belong to (or, split by reply, came from) and why.
    pub(super) may_belong: Option<(String, String)>,
    /// The case it was split from by reply (`dela`/`split`).
    pub(super) split_from: Option<String>,
    pub(super) aware_at: DateTime<Utc>,
    pub(super) ack: AckTo,
    pub(super) templates: std::sync::Arc<crate::render::Templates>,
    pub(super) docs_cfg: crate::config::Documents,
    pub(super) tz: chrono_tz::Tz,
    /// The reader's NIS2 reasons (empty: NIS2 not suggested).
    pub(super) nis2_reasons: Vec<crate::core::regime::Nis2Reason>,
    pub(super) now: DateTime<Utc>,
}

impl Opening {
    /// The opening notice to the official (with the draft documents) and the
    /// acknowledgement. A mail that cannot be composed is dropped with an
    /// event; the case opens all the same.
    pub(super) fn compose(&self, k: &CaseKey) -> Composed {
        let f = self.facts(k);
        let mut out = Composed {
            mails: Vec::new(),
            events: Vec::new(),
        };
        self.opening_notice(k, &f, &mut out);
        let ack_draft = match &self.ack {
            AckTo::Forwarder(a) => Some(compose::acknowledgement(&self.sender, &f, a, false)),
            AckTo::Dpo => Some(compose::acknowledgement(
                &self.sender,
                &f,
                &self.route.dpo.address,
                true,
            )),
            AckTo::Nobody => None,
        };
        if let Some(d) = ack_draft {
            match compose::format(&self.sender, &k.case_ref, d) {
                Ok(m) => out.mails.push(m),
                Err(e) => out.events.push(compose::dropped_event(&e)),
            }
        }
        out
    }

    /// What the opening mails say of the case.
    fn facts<'a>(&'a self, k: &'a CaseKey) -> CaseFacts<'a> {
        CaseFacts {
            case_ref: &k.case_ref,
            subject: &self.subject,
            reporter: &self.reporter,
            aware_at: self.aware_at,
            route: &self.route,
            rule: self.rule.as_deref(),
            systems: &self.notice.incident.systems,
            notice_message_id: self.notice_id.as_deref(),
            ignored_chain_times: &self.notice.ignored_chain_times,
            may_belong_to: self
                .may_belong
                .as_ref()
                .map(|(r, w)| (r.as_str(), w.as_str())),
            split_from: self.split_from.as_deref(),
            incident: &self.notice.incident,
            notice_text: &self.notice.body_text,
            forwarded_at: if self.notice.forwarded {
                self.notice.received_at
            } else {
                None
            },
            documents: &self.notice.documents,
            document_read: self.notice.document_read.as_deref(),
        }
    }

    /// The draft documents of the opening notice: the notify draft, the IMY
    /// form draft and the deadline .ics, and with NIS2 suggested the drafts
    /// of the early warning and the incident notification and the NIS2
    /// calendar; with the events that record their checksums.
    fn documents(&self, k: &CaseKey) -> (Vec<compose::Attachment>, Vec<NewEvent>) {
        let file = crate::casefile::for_new_case(
            &self.notice,
            &self.route,
            &k.case_ref,
            self.aware_at,
            clock::deadline(self.aware_at),
            &self.docs_cfg,
            self.tz,
            self.now,
        );
        let (mut attachments, doc_event) =
            crate::casefile::opening_attachments(&file, &self.templates);
        let mut events = vec![doc_event];
        if !self.nis2_reasons.is_empty() {
            let state = crate::core::regime::Nis2 {
                status: crate::core::regime::Nis2Status::Suggested,
                reasons: self.nis2_reasons.clone(),
                ..Default::default()
            };
            let (more, ev) =
                crate::casefile::nis2_attachments(&file, &self.templates, &state, "opening_notice");
            attachments.extend(more);
            events.push(ev);
        }
        (attachments, events)
    }

    /// The opening notice with its documents; their checksums join the
    /// timeline in this transaction. A rendering or formatting failure never
    /// holds the notice back: it then goes without them (the text says how to
    /// get them) and the failure is recorded.
    fn opening_notice(&self, k: &CaseKey, f: &CaseFacts<'_>, out: &mut Composed) {
        let (attachments, doc_events) = self.documents(k);
        let mut with_docs = compose::opening_notice(&self.sender, f, self.now, attachments);
        let mut bare = compose::opening_notice(&self.sender, f, self.now, Vec::new());
        if !self.nis2_reasons.is_empty() {
            let block = crate::mail::nis2::opening_block(
                &self.nis2_reasons,
                self.aware_at,
                self.tz,
                self.now,
            );
            for d in [&mut with_docs, &mut bare] {
                d.text = crate::mail::nis2::with_opening_block(&d.text, &block);
            }
        }
        match compose::format(&self.sender, &k.case_ref, with_docs) {
            Ok(m) => {
                out.mails.push(m);
                out.events.extend(doc_events);
            }
            Err(e) => {
                tracing::error!(case = %k.case_ref, "opening notice with documents could not be formatted: {e}");
                let failed = doc_events
                    .into_iter()
                    .next()
                    .filter(|ev| ev.kind == EventKind::DocumentsFailed)
                    .unwrap_or_else(|| crate::casefile::documents_failed_event(&e.to_string()));
                out.events.push(failed);
                match compose::format(&self.sender, &k.case_ref, bare) {
                    Ok(m) => out.mails.push(m),
                    Err(e) => out.events.push(compose::dropped_event(&e)),
                }
            }
        }
    }
}
