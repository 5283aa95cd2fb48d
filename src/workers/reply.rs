//! Replies from officials: reads what the pure workflow needs from a reply that
//! attaches to a case (its own text, Authentication-Results, how it was
//! submitted), runs `core::case::handle_reply`, and turns the effects into store
//! writes and mails: the case update (only if the case did not change meanwhile),
//! timeline events, answers to the sender, notices to the roster, drafts, and the
//! reminder schedule.

use chrono::{DateTime, Utc};

use crate::config::Config;
use crate::core::auth::Origin;
use crate::core::case::{handle_reply, Case, Effect, Related, Reply, SplitSource};
use crate::core::clock;
use crate::core::commands::Lang;
use crate::core::documents::CaseFile;
use crate::core::event::EventKind;
use crate::core::notice::Notice;
use crate::core::regime::Nis2Status;
use crate::core::routing::Route;
use crate::core::text::mail as mail_text;
use crate::core::text::timeline as timeline_text;
use crate::mail::compose::{self, Draft, Sender};
use crate::render::Templates;
use crate::store::{
    CaseRecord, CaseUpdate, EarlierAwareness, MergeWrite, NewEvent, OutboxMail, Reminders,
};

/// What the workflow reads of a reply: its sender, its own text and what
/// authentication needs, all from the one read of the message.
#[derive(Debug, Clone)]
pub struct ReplyMail {
    pub sender: String,
    pub subject: String,
    pub message_id: Option<String>,
    pub text: String,
    pub origin: Origin,
}

impl ReplyMail {
    /// The reply as the reader read it (no second parse).
    pub fn from_notice(n: &Notice) -> ReplyMail {
        ReplyMail {
            sender: n.sender.address.clone().unwrap_or_default(),
            subject: n.threading.subject.clone().unwrap_or_default(),
            message_id: n.message_id.as_deref().map(|m| {
                m.trim()
                    .trim_start_matches('<')
                    .trim_end_matches('>')
                    .to_string()
            }),
            text: n.reply_text.clone(),
            origin: n.origin.clone(),
        }
    }
}

/// Everything a reply changes, ready for one transaction.
#[derive(Debug, Clone, Default)]
pub struct ReplyWrite {
    pub update: Option<CaseUpdate>,
    pub events: Vec<NewEvent>,
    pub mails: Vec<OutboxMail>,
    /// The first line was a command (accepted, refused or not authorised).
    pub was_command: bool,
    /// An accepted `merge`: what changes in the target case, in the same
    /// transaction as `update` (which closes this case).
    pub merge: Option<MergeWrite>,
    /// An accepted `split`: the message that leaves the case and the new
    /// case's clock (the ingest path opens the case in the same transaction).
    pub split: Option<SplitOut>,
}

/// What an accepted `split` asks of the shell ([`Effect::SplitOut`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SplitOut {
    pub message_row: i64,
    pub aware_at: DateTime<Utc>,
    pub urgent: bool,
}

fn pick(lang: Option<Lang>, sv: &str, en: &str) -> String {
    match lang {
        Some(Lang::En) => en.to_string(),
        _ => sv.to_string(),
    }
}

/// Why a reply could not be worked at all (recorded as `reply_not_handled`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplyError {
    #[error("stored route: it does not read as a route")]
    UnreadableRoute,
    #[error("merge accepted without its target case")]
    MergeWithoutTarget,
    /// The next case does not encode as JSON (cannot happen with the
    /// core's types; kept as an error rather than a panic).
    #[error("{0}")]
    Encode(String),
}

/// Runs the workflow for one reply. `documents` (the case file as stored, and
/// the templates) makes the attachments of a draft decision; None sends the
/// draft without them and records why. `merge_target` is the stored case a
/// `merge` command names, None if there is none; `split` the message a
/// `split` command takes out (the shell reads both from
/// [`crate::core::commands::Parsed::needs`]). `parsed` is the reply's text
/// as [`crate::core::commands::parse_reply`] read it, the one parse both the
/// shell's look-ups and the case machine use.
#[allow(clippy::too_many_arguments)]
pub fn prepare(
    cfg: &Config,
    sender: &Sender,
    record: &CaseRecord,
    reply: &ReplyMail,
    parsed: &crate::core::commands::Parsed,
    now: DateTime<Utc>,
    documents: Option<(&CaseFile, &Templates)>,
    merge_target: Option<&CaseRecord>,
    split: Option<&SplitSource>,
) -> Result<ReplyWrite, ReplyError> {
    let case = record.case();
    let target_case = merge_target.map(CaseRecord::case);
    let route: Route = record.route.clone().ok_or(ReplyError::UnreadableRoute)?;
    let r = Reply {
        sender: &reply.sender,
        parsed,
        origin: &reply.origin,
    };
    let out = handle_reply(
        &case,
        &route,
        &cfg.auth,
        &r,
        now,
        cfg.tz(),
        Related {
            merge_target: target_case.as_ref(),
            split,
        },
    );
    prepare_outcome(
        cfg,
        sender,
        record,
        reply,
        now,
        documents,
        merge_target,
        &case,
        &route,
        out,
    )
}

/// The store writes and mails of a state machine outcome (a reply's, or a
/// web action's, whose `reply` is the signed-in person and the form's command).
#[allow(clippy::too_many_arguments)]
pub fn prepare_outcome(
    cfg: &Config,
    sender: &Sender,
    record: &CaseRecord,
    reply: &ReplyMail,
    now: DateTime<Utc>,
    documents: Option<(&CaseFile, &Templates)>,
    merge_target: Option<&CaseRecord>,
    case: &Case,
    route: &Route,
    out: crate::core::case::ReplyOutcome,
) -> Result<ReplyWrite, ReplyError> {
    let next = out.case.as_ref();
    let mut w = Writer {
        cfg,
        sender,
        rec: record,
        reply,
        now,
        case,
        next,
        route,
        lang: out.lang,
        // The registry's number as of this command (it may be the one just set).
        dnr: next
            .unwrap_or(case)
            .diarienummer
            .as_ref()
            .map(|d| d.to_string()),
        n: 0,
        reminders: Reminders::Keep,
        work: ReplyWrite {
            was_command: !matches!(out.effects.first(), Some(Effect::RecordTimeline { kind, .. }) if *kind == EventKind::FollowUp),
            ..ReplyWrite::default()
        },
    };
    for e in &out.effects {
        w.effect(e, documents, merge_target)?;
    }
    let Writer {
        mut work,
        reminders,
        ..
    } = w;
    if let Some(next) = next {
        work.update = Some(CaseUpdate {
            state: next.state.as_str().to_string(),
            workflow: serde_json::to_value(next).map_err(|e| ReplyError::Encode(e.to_string()))?,
            expected_version: record.version,
            reminders,
            // The NIS2 reminders follow the case as the command leaves it
            // (`nis2: nej` or a report stops or moves them).
            nis2_reminder: next.next_nis2_reminder(cfg.tz(), now).map(|r| r.at),
            // The lists' order (migration 0012), as the command leaves the case.
            next_deadline_at: next.next_deadline(cfg.tz()).map(|(_, at)| at),
        });
    }
    Ok(work)
}

/// Turns the effects of one outcome into [`ReplyWrite`], one small method per
/// effect.
struct Writer<'a> {
    cfg: &'a Config,
    sender: &'a Sender,
    rec: &'a CaseRecord,
    reply: &'a ReplyMail,
    now: DateTime<Utc>,
    /// The case before the command, and after it (None: unchanged).
    case: &'a Case,
    next: Option<&'a Case>,
    route: &'a Route,
    lang: Option<Lang>,
    dnr: Option<String>,
    /// Counts the mails of this reply, for their dedupe keys.
    n: usize,
    reminders: Reminders,
    work: ReplyWrite,
}

impl Writer<'_> {
    fn effect(
        &mut self,
        e: &Effect,
        documents: Option<(&CaseFile, &Templates)>,
        merge_target: Option<&CaseRecord>,
    ) -> Result<(), ReplyError> {
        match e {
            Effect::RecordTimeline { kind, data } => self.work.events.push(NewEvent {
                kind: kind.clone(),
                actor: self.reply.sender.clone(),
                data: data.clone(),
            }),
            Effect::Confirm { sv, en } => self.confirm(sv, en, documents),
            Effect::AnswerRefusal { sv, en } => {
                let d = self.answer("refusal", false, &pick(self.lang, sv, en));
                self.queue(d);
            }
            Effect::NotifyRoster { sv, en: _ } => self.notify_roster(sv),
            Effect::SendDraft {
                decision,
                assessment,
            } => self.send_draft(*decision, *assessment, documents),
            Effect::StopDeadlineReminders => self.reminders = Reminders::Stop,
            Effect::ResumeDeadlineReminders { aware_at } => {
                self.reminders = match clock::next_after(*aware_at, &self.cfg.clock, self.now) {
                    Some(r) => Reminders::Set(r.due_at, r.seq),
                    None => Reminders::Stop,
                }
            }
            Effect::MergeInto {
                target,
                aware_at_moved,
                data,
            } => {
                // The core accepts a merge only with the target in hand.
                let rec = merge_target.ok_or(ReplyError::MergeWithoutTarget)?;
                self.merge(rec, target, *aware_at_moved, data);
            }
            Effect::SplitOut {
                message_row,
                aware_at,
                urgent,
            } => {
                self.work.split = Some(SplitOut {
                    message_row: *message_row,
                    aware_at: *aware_at,
                    urgent: *urgent,
                });
            }
            // The "not acknowledged" escalation is derived from the case state by
            // the clock worker; opening effects are the ingest path's.
            Effect::StartAckEscalation
            | Effect::StopAckEscalation
            | Effect::SendOpeningNotice { .. }
            | Effect::StartDeadlineReminders { .. } => {}
        }
        Ok(())
    }

    /// A dedupe key for the next mail of this reply.
    fn key(&mut self, what: &str) -> String {
        self.n += 1;
        format!(
            "{}/reply/{}/{what}/{}",
            self.rec.case_ref,
            self.reply.message_id.as_deref().unwrap_or("no-id"),
            self.n
        )
    }

    /// An answer to the reply's sender (a confirmation or a refusal).
    fn answer(&mut self, what: &str, accepted: bool, text: &str) -> Draft {
        Draft {
            dedupe_key: self.key(what),
            purpose: "answer".into(),
            to: vec![self.reply.sender.clone()],
            cc: vec![],
            subject: mail_text::answer_subject(self.lang, accepted, &self.reply.subject),
            text: mail_text::answer_text(text),
            in_reply_to: self.reply.message_id.clone(),
            attachments: vec![],
        }
    }

    /// Queues a mail, or records why it could not be composed: a mail that
    /// cannot be composed never fails the reply's transaction.
    fn queue(&mut self, d: Draft) {
        match compose::format_registered(self.sender, &self.rec.case_ref, self.dnr.as_deref(), d) {
            Ok(m) => self.work.mails.push(m),
            Err(e) => self.work.events.push(compose::dropped_event(&e)),
        }
    }

    /// Queues `d` with its documents and records `doc_events`; if the mail
    /// with documents cannot be composed, records why and queues it without.
    fn queue_with_documents(
        &mut self,
        d: Draft,
        attachments: Vec<compose::Attachment>,
        doc_events: Vec<NewEvent>,
    ) {
        let with_docs = Draft {
            attachments,
            ..d.clone()
        };
        match compose::format_registered(
            self.sender,
            &self.rec.case_ref,
            self.dnr.as_deref(),
            with_docs,
        ) {
            Ok(m) => {
                self.work.mails.push(m);
                self.work.events.extend(doc_events);
            }
            Err(e) => {
                tracing::error!(case = %self.rec.case_ref, "mail with documents could not be formatted: {e}");
                self.work
                    .events
                    .push(crate::casefile::documents_failed_event(&e.to_string()));
                self.queue(d);
            }
        }
    }

    /// The confirmation to the sender. After `nis2: ja` on a case NIS2 did not
    /// apply to, the drafts of the early warning and the incident
    /// notification (and the NIS2 deadlines' calendar) go with it.
    fn confirm(&mut self, sv: &str, en: &str, documents: Option<(&CaseFile, &Templates)>) {
        let d = self.answer("confirm", true, &pick(self.lang, sv, en));
        let decided_nis2 = self.next.filter(|next| {
            next.nis2.status == Nis2Status::Applies && self.case.nis2.status != Nis2Status::Applies
        });
        match (decided_nis2, documents) {
            (Some(next), Some((file, templates))) => {
                let mut file = file.clone();
                crate::casefile::apply_workflow(&mut file, next);
                let (attachments, ev) =
                    crate::casefile::nis2_attachments(&file, templates, &next.nis2, "mail");
                self.queue_with_documents(d, attachments, vec![ev]);
            }
            _ => self.queue(d),
        }
    }

    /// The roster (but the sender) is told what the sender did.
    fn notify_roster(&mut self, sv: &str) {
        let mut to: Vec<String> = self
            .route
            .roster()
            .map(|(_, c)| c.address.clone())
            .collect();
        to.retain(|a| !a.eq_ignore_ascii_case(&self.reply.sender));
        if to.is_empty() {
            return;
        }
        let d = Draft {
            dedupe_key: self.key("roster"),
            purpose: "roster".into(),
            to,
            cc: vec![],
            subject: mail_text::roster_subject(&self.reply.sender),
            text: mail_text::answer_text(sv),
            in_reply_to: None,
            attachments: vec![],
        };
        self.queue(d);
    }

    /// The draft decision to the official, with the draft documents of the
    /// case after this command (so the assessment just recorded is in them)
    /// and their checksums on the timeline. A failure never holds the draft
    /// mail back.
    fn send_draft(
        &mut self,
        decision: crate::core::case::Decision,
        assessment: crate::core::case::Assessment,
        documents: Option<(&CaseFile, &Templates)>,
    ) {
        let d = Draft {
            dedupe_key: self.key("draft"),
            purpose: "draft".into(),
            to: vec![self.route.official.address.clone()],
            cc: vec![],
            subject: mail_text::draft_subject(decision),
            text: mail_text::draft_text(decision, assessment),
            in_reply_to: None,
            attachments: vec![],
        };
        let (attachments, doc_events) = match documents {
            Some((file, templates)) => {
                crate::casefile::decision_attachments(file, self.next, decision, templates)
            }
            None => (
                vec![],
                vec![crate::casefile::documents_failed_event(
                    timeline_text::CASE_FILE_UNREADABLE,
                )],
            ),
        };
        self.queue_with_documents(d, attachments, doc_events);
    }

    /// An accepted merge: the target case takes the earlier awareness (if
    /// this case's is earlier) and records where the case came from.
    fn merge(
        &mut self,
        rec: &CaseRecord,
        target: &Case,
        aware_at_moved: bool,
        data: &serde_json::Value,
    ) {
        let mut events = vec![NewEvent {
            kind: EventKind::MergedFrom,
            actor: self.reply.sender.clone(),
            data: data.clone(),
        }];
        if aware_at_moved {
            events.push(NewEvent {
                kind: EventKind::AwareAtMoved,
                actor: "breachwatch".into(),
                data: serde_json::json!({
                    "from": rec.aware_at,
                    "to": target.aware_at,
                    "deadline_at": clock::deadline(target.aware_at),
                    "merged_from": self.rec.case_ref,
                    "why": timeline_text::WHY_MERGED_HERE,
                }),
            });
        }
        self.work.merge = Some(MergeWrite {
            source_id: self.rec.id,
            target: EarlierAwareness {
                case_id: rec.id,
                aware_at: target.aware_at,
                deadline_at: clock::deadline(target.aware_at),
                // Applied only while the target's reminders run; from
                // its (possibly earlier) awareness, as for a copy.
                next_reminder: clock::next_after(target.aware_at, &self.cfg.clock, self.now)
                    .map(|r| (r.due_at, r.seq)),
                nis2_reminder: target
                    .next_nis2_reminder(self.cfg.tz(), self.now)
                    .map(|r| r.at),
                next_deadline_at: target.next_deadline(self.cfg.tz()).map(|(_, at)| at),
                workflow: rec.workflow_with_aware_at(target.aware_at),
                expected_version: rec.version,
            },
            events,
        });
    }
}
