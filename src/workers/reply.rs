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
use crate::core::routing::Route;
use crate::core::text::mail as mail_text;
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
pub struct ReplyWork {
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

/// The case a reply's `merge` command names, normalised, so the shell can
/// look it up before running [`work`]; None for any other reply.
pub fn merge_target_ref(reply: &ReplyMail) -> Option<crate::core::types::CaseRef> {
    match crate::core::commands::parse_reply(&reply.text) {
        crate::core::commands::Parsed::Command {
            command: crate::core::commands::Command::Merge(r),
            ..
        } => Some(r),
        _ => None,
    }
}

/// Whether a reply's first line is a `dela`/`split` command: the shell then
/// looks up the message it is about before running [`work`].
pub fn split_requested(reply: &ReplyMail) -> bool {
    matches!(
        crate::core::commands::parse_reply(&reply.text),
        crate::core::commands::Parsed::Command {
            command: crate::core::commands::Command::Split(_),
            ..
        }
    )
}

/// The case as the state machine knows it; a case without recorded workflow
/// (opened before any command) starts as received.
pub fn load_case(wf: &CaseRecord) -> Case {
    wf.case()
}

fn pick(lang: Option<Lang>, sv: &str, en: &str) -> String {
    match lang {
        Some(Lang::En) => en.to_string(),
        _ => sv.to_string(),
    }
}

/// Queues a mail, or records why it could not be composed: a mail that cannot
/// be composed never fails the reply's transaction.
fn queue(
    work: &mut ReplyWork,
    sender: &Sender,
    case_ref: &crate::core::types::CaseRef,
    diarienummer: Option<&str>,
    d: Draft,
) {
    match compose::format_registered(sender, case_ref, diarienummer, d) {
        Ok(m) => work.mails.push(m),
        Err(e) => work.events.push(compose::dropped_event(&e)),
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
/// `merge` command names (see [`merge_target_ref`]), None if there is none;
/// `split` the message a `split` command takes out (see [`split_requested`]).
#[allow(clippy::too_many_arguments)]
pub fn work(
    cfg: &Config,
    sender: &Sender,
    wf: &CaseRecord,
    reply: &ReplyMail,
    now: DateTime<Utc>,
    documents: Option<(&CaseFile, &Templates)>,
    merge_target: Option<&CaseRecord>,
    split: Option<&SplitSource>,
) -> Result<ReplyWork, ReplyError> {
    let case = load_case(wf);
    let target_case = merge_target.map(load_case);
    let route: Route = wf.route.clone().ok_or(ReplyError::UnreadableRoute)?;
    let r = Reply {
        sender: &reply.sender,
        text: &reply.text,
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
    outcome_work(
        cfg,
        sender,
        wf,
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
pub fn outcome_work(
    cfg: &Config,
    sender: &Sender,
    wf: &CaseRecord,
    reply: &ReplyMail,
    now: DateTime<Utc>,
    documents: Option<(&CaseFile, &Templates)>,
    merge_target: Option<&CaseRecord>,
    case: &Case,
    route: &Route,
    out: crate::core::case::ReplyOutcome,
) -> Result<ReplyWork, ReplyError> {
    let mut work = ReplyWork {
        was_command: !matches!(out.effects.first(), Some(Effect::RecordTimeline { kind, .. }) if *kind == EventKind::FollowUp),
        ..ReplyWork::default()
    };
    let case_ref = &wf.case_ref;
    // The registry's number as of this command (it may be the one just set).
    let dnr: Option<String> = out
        .case
        .as_ref()
        .unwrap_or(case)
        .diarienummer
        .as_ref()
        .map(|d| d.to_string());
    let mut reminders = Reminders::Keep;
    let mut n = 0;
    let mut key = |what: &str| {
        n += 1;
        format!(
            "{case_ref}/reply/{}/{what}/{n}",
            reply.message_id.as_deref().unwrap_or("no-id")
        )
    };
    let answer = |key: String, subject: String, text: String| Draft {
        dedupe_key: key,
        purpose: "answer".into(),
        to: vec![reply.sender.clone()],
        cc: vec![],
        subject,
        text,
        in_reply_to: reply.message_id.clone(),
        attachments: vec![],
    };
    for e in &out.effects {
        match e {
            Effect::RecordTimeline { kind, data } => work.events.push(NewEvent {
                kind: kind.clone(),
                actor: reply.sender.clone(),
                data: data.clone(),
            }),
            Effect::Confirm { sv, en } => {
                let d = answer(
                    key("confirm"),
                    mail_text::answer_subject(out.lang, true, &reply.subject),
                    mail_text::answer_text(&pick(out.lang, sv, en)),
                );
                // `nis2: ja` on a case NIS2 did not apply to: the drafts of
                // the early warning and the incident notification (and the
                // NIS2 deadlines' calendar) go with the answer.
                let decided_nis2 = out.case.as_ref().filter(|next| {
                    next.nis2.status == crate::core::regime::Nis2Status::Applies
                        && case.nis2.status != crate::core::regime::Nis2Status::Applies
                });
                match (decided_nis2, documents) {
                    (Some(next), Some((file, templates))) => {
                        let mut file = file.clone();
                        crate::casefile::apply_workflow(&mut file, next);
                        let (attachments, ev) =
                            crate::casefile::nis2_attachments(&file, templates, &next.nis2, "mail");
                        let with_docs = Draft {
                            attachments,
                            ..d.clone()
                        };
                        match compose::format_registered(
                            sender,
                            case_ref,
                            dnr.as_deref(),
                            with_docs,
                        ) {
                            Ok(m) => {
                                work.mails.push(m);
                                work.events.push(ev);
                            }
                            Err(e) => {
                                work.events
                                    .push(crate::casefile::documents_failed_event(&e.to_string()));
                                queue(&mut work, sender, case_ref, dnr.as_deref(), d);
                            }
                        }
                    }
                    _ => queue(&mut work, sender, case_ref, dnr.as_deref(), d),
                }
            }
            Effect::AnswerRefusal { sv, en } => {
                let d = answer(
                    key("refusal"),
                    mail_text::answer_subject(out.lang, false, &reply.subject),
                    mail_text::answer_text(&pick(out.lang, sv, en)),
                );
                queue(&mut work, sender, case_ref, dnr.as_deref(), d);
            }
            Effect::NotifyRoster { sv, en: _ } => {
                let mut to: Vec<String> = route.roster().map(|(_, c)| c.address.clone()).collect();
                to.retain(|a| !a.eq_ignore_ascii_case(&reply.sender));
                if to.is_empty() {
                    continue;
                }
                let d = Draft {
                    dedupe_key: key("roster"),
                    purpose: "roster".into(),
                    to,
                    cc: vec![],
                    subject: mail_text::roster_subject(&reply.sender),
                    text: mail_text::answer_text(sv),
                    in_reply_to: None,
                    attachments: vec![],
                };
                queue(&mut work, sender, case_ref, dnr.as_deref(), d);
            }
            Effect::SendDraft {
                decision,
                assessment,
            } => {
                let d = Draft {
                    dedupe_key: key("draft"),
                    purpose: "draft".into(),
                    to: vec![route.official.address.clone()],
                    cc: vec![],
                    subject: mail_text::draft_subject(*decision),
                    text: mail_text::draft_text(*decision, *assessment),
                    in_reply_to: None,
                    attachments: vec![],
                };
                // The draft documents of the case after this command (so the
                // assessment just recorded is in them), checksums on the
                // timeline. A failure never holds the draft mail back.
                let (attachments, doc_events) = match documents {
                    Some((file, templates)) => crate::casefile::decision_attachments(
                        file,
                        out.case.as_ref(),
                        *decision,
                        templates,
                    ),
                    None => (
                        vec![],
                        vec![crate::casefile::documents_failed_event(
                            "the case file could not be read",
                        )],
                    ),
                };
                let with_docs = Draft {
                    attachments,
                    ..d.clone()
                };
                match compose::format_registered(sender, case_ref, dnr.as_deref(), with_docs) {
                    Ok(m) => {
                        work.mails.push(m);
                        work.events.extend(doc_events);
                    }
                    Err(e) => {
                        tracing::error!(case = %case_ref, "draft with documents could not be formatted: {e}");
                        work.events
                            .push(crate::casefile::documents_failed_event(&e.to_string()));
                        queue(&mut work, sender, case_ref, dnr.as_deref(), d);
                    }
                }
            }
            Effect::StopDeadlineReminders => reminders = Reminders::Stop,
            Effect::ResumeDeadlineReminders { aware_at } => {
                reminders = match clock::next_after(*aware_at, &cfg.clock, now) {
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
                let Some(rec) = merge_target else {
                    return Err(ReplyError::MergeWithoutTarget);
                };
                let workflow = rec.workflow_with_aware_at(target.aware_at);
                let mut events = vec![NewEvent {
                    kind: EventKind::MergedFrom,
                    actor: reply.sender.clone(),
                    data: data.clone(),
                }];
                if *aware_at_moved {
                    events.push(NewEvent {
                        kind: EventKind::AwareAtMoved,
                        actor: "breachwatch".into(),
                        data: serde_json::json!({
                            "from": rec.aware_at,
                            "to": target.aware_at,
                            "deadline_at": clock::deadline(target.aware_at),
                            "merged_from": case_ref,
                            "why": "ett ärende om samma incident sammanfogades hit; kännedom räknas från den tidigaste mottagningen",
                        }),
                    });
                }
                work.merge = Some(MergeWrite {
                    source_id: wf.id,
                    target: EarlierAwareness {
                        case_id: rec.id,
                        aware_at: target.aware_at,
                        deadline_at: clock::deadline(target.aware_at),
                        // Applied only while the target's reminders run; from
                        // its (possibly earlier) awareness, as for a copy.
                        next_reminder: clock::next_after(target.aware_at, &cfg.clock, now)
                            .map(|r| (r.due_at, r.seq)),
                        nis2_reminder: target.next_nis2_reminder(cfg.tz(), now).map(|r| r.at),
                        next_deadline_at: target.next_deadline(cfg.tz()).map(|(_, at)| at),
                        workflow,
                        expected_version: rec.version,
                    },
                    events,
                });
            }
            Effect::SplitOut {
                message_row,
                aware_at,
                urgent,
            } => {
                work.split = Some(SplitOut {
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
    }
    if let Some(next) = out.case {
        work.update = Some(CaseUpdate {
            state: next.state.as_str().to_string(),
            workflow: serde_json::to_value(&next).map_err(|e| ReplyError::Encode(e.to_string()))?,
            expected_version: wf.version,
            reminders,
            // The NIS2 reminders follow the case as the command leaves it
            // (`nis2: nej` or a report stops or moves them).
            nis2_reminder: next.next_nis2_reminder(cfg.tz(), now).map(|r| r.at),
            next_deadline_at: next.next_deadline(cfg.tz()).map(|(_, at)| at),
        });
    }
    Ok(work)
}
