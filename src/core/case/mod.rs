//! The case state machine: what an official's command does to a case, and what the
//! shell must do about it, returned as data ([`Effect`]s). Which case a message
//! joins is `core::series`.
//!
//! Pure: no IO, no clock reads (`now` is a parameter), no panics. [`Case::apply`]
//! never changes the case it is given; it returns the next case and the effects,
//! which the shell stores in one transaction (case row, timeline rows, outbox rows,
//! reminder rows), or a [`TransitionError`] whose texts can be mailed back.
//!
//! The reply workflow as one pure step (parse, authorise, apply) is
//! [`handle_reply`]; the shell only reads the mail and stores the outcome.
//!
//! Layout: this file has the types and [`Case::apply_with_target`], which
//! refuses a command on a closed case, hands the command to its own function
//! (one file per command or group: `ack`, `assess`, `decide`, `report`,
//! `close`, `note`, `merge`, `split`) and then adds what every transition does (the
//! acknowledgement implied by a first step, the reminder effects, the timeline
//! record, the confirmation). Every sentence a command sends is in
//! `core::text::case`, the refusals' texts in `core::text::refusal`; the
//! refusals themselves are in `error.rs`.
//!
//! # States and rules
//!
//! | from \ command | ack | assess | decide | reported | supplement | withdraw | close | reopen |
//! |---|---|---|---|---|---|---|---|---|
//! | received | acknowledged | assessed (implies ack) | – | – | – | – | – | – |
//! | acknowledged | – | assessed | – | – | – | – | – | – |
//! | assessed | – | assessed | decided | – | – | – | – | – |
//! | decided (notify) | – | assessed (decision cleared) | decided | reported | – | – | – | – |
//! | decided (no-notify) | – | assessed (decision cleared) | decided | – | – | – | closed | – |
//! | reported | – | – | – | – | supplemented | withdrawn | closed | – |
//! | supplemented | – | – | – | – | supplemented | withdrawn | closed | – |
//! | withdrawn | – | – | – | – | – | – | closed | – |
//! | closed | – | – | – | – | – | – | – | state before closing |
//!
//! `note` works in every state and `delay` in every state but closed; neither
//! changes the state. Every "–" is a [`TransitionError`] with a bilingual text.
//!
//! - **assess from received** is accepted and counts as the acknowledgement: the
//!   escalation exists to make someone look at the case, and an assessment shows
//!   someone did.
//! - **decide needs an assessment** (no decide from received/acknowledged): the
//!   decision document states the risk assessment (Skäl för beslut) and IMY expects
//!   the reasoning, also for not notifying.
//! - **no-notify needs the assessment "no risk"**: art. 33(1) allows not notifying
//!   only when the breach is unlikely to result in a risk. With risk or high risk
//!   the official must change the assessment first, which leaves a record.
//!   Notifying with "no risk", or notifying without informing at high risk (art.
//!   34(3) exceptions), stays the official's call and is accepted.
//! - **reassessing after a decision** (before reporting) clears the decision: it
//!   rested on the old assessment. If the decision was no-notify, the deadline
//!   reminders resume.
//! - **reported needs a decision to notify**, and after the deadline
//!   (`aware_at + 72 h`, on time up to and including that instant) a recorded
//!   delay reason (IMY form question 14).
//! - The deadline reminders run while the case may still need notifying: received,
//!   acknowledged, assessed, decided-to-notify. They stop on reported or on a
//!   no-notify decision, and resume if that decision is replaced.
//! - **supplement** and **withdraw** only after reported; nothing but close after
//!   withdraw. **close** after reported, supplemented, withdrawn, or a no-notify
//!   decision (the documented "document only" outcome).
//! - **reopen** returns a closed case to the state it was closed from, with all its
//!   data; from there the usual rules apply (e.g. reassess a no-notify case and
//!   decide to notify; a late notification then needs a delay reason).
//! - **note** is accepted in every state, closed included (art. 33(5)
//!   documentation); **delay** in every state but closed.
//! - **diarienummer** (`diarienummer: KS 2026/0123`) in every state but closed;
//!   it changes no state, and a corrected number replaces the earlier one.
//! - **NIS2** (`nis2.rs`; `nis2: ja|nej`, `tidig varning skickad`,
//!   `incidentanmälan skickad REF`, `lägesrapport skickad`, `slutrapport
//!   skickad`) in every state, closed included (the final report is due a
//!   month after the incident notification, often after the GDPR case is
//!   closed), but not on a case merged away. They change no state; the NIS2
//!   clocks (`core::regime`) run while NIS2 is suggested or applies.
//! - **split** (`dela`, optionally `dela: why`) in every state but closed,
//!   in reply to a mail about one of the case's messages that is not its
//!   only one: the message moves into a new case with its own clock from its
//!   earliest receipt, route, opening notice and acknowledgement
//!   ([`Effect::SplitOut`]); this case keeps its state and clock.
//! - **merge** (`sammanfoga PUI-2026-0007`) in every state but closed, into a
//!   named case that exists, is another case and is not closed: this case
//!   closes for good (`merged_into`; reopen is refused, its messages are in
//!   the target) and the target takes
//!   the earlier awareness of the two ([`Effect::MergeInto`]).

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::auth::{authorize, AuthConfig, Origin, Verdict};
use super::clock;
use super::commands::{Command, Diarienummer, ImyRef, Lang, Parsed};
use super::event::EventKind;
use super::regime::Nis2;
use super::routing::Route;
use super::text::case as text;
use super::text::Texts;
use super::types::CaseRef;

mod ack;
mod assess;
mod close;
mod decide;
mod error;
mod merge;
mod nis2;
mod note;
mod reply;
mod report;
mod split;
#[cfg(test)]
mod tests;

pub use error::TransitionError;
pub use nis2::Nis2Report;
pub use reply::{handle_reply, Reply, ReplyOutcome};
pub use split::SplitSource;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Received,
    Acknowledged,
    Assessed,
    Decided,
    Reported,
    Supplemented,
    Withdrawn,
    Closed,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Received => "received",
            State::Acknowledged => "acknowledged",
            State::Assessed => "assessed",
            State::Decided => "decided",
            State::Reported => "reported",
            State::Supplemented => "supplemented",
            State::Withdrawn => "withdrawn",
            State::Closed => "closed",
        }
    }

    pub fn sv(self) -> &'static str {
        match self {
            State::Received => "inkommet",
            State::Acknowledged => "kvitterat",
            State::Assessed => "bedömt",
            State::Decided => "beslutat",
            State::Reported => "anmält till IMY",
            State::Supplemented => "kompletterat",
            State::Withdrawn => "återtaget",
            State::Closed => "stängt",
        }
    }

    pub fn en(self) -> &'static str {
        match self {
            State::Received => "received",
            State::Acknowledged => "acknowledged",
            State::Assessed => "assessed",
            State::Decided => "decided",
            State::Reported => "reported to IMY",
            State::Supplemented => "supplemented",
            State::Withdrawn => "withdrawn",
            State::Closed => "closed",
        }
    }
}

/// The official's risk assessment (art. 33(1) and 34(1)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Assessment {
    NoRisk,
    Risk,
    HighRisk,
}

impl Assessment {
    pub fn sv(self) -> &'static str {
        match self {
            Assessment::NoRisk => "ingen risk",
            Assessment::Risk => "risk",
            Assessment::HighRisk => "hög risk",
        }
    }
    pub fn en(self) -> &'static str {
        match self {
            Assessment::NoRisk => "no risk",
            Assessment::Risk => "risk",
            Assessment::HighRisk => "high risk",
        }
    }
}

/// The outcome the official decides; selects the draft decision document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Notify,
    NotifyAndInform,
    DoNotNotify,
}

impl Decision {
    pub fn sv(self) -> &'static str {
        match self {
            Decision::Notify => "anmäl",
            Decision::NotifyAndInform => "anmäl och informera",
            Decision::DoNotNotify => "ej anmäl",
        }
    }
    pub fn en(self) -> &'static str {
        match self {
            Decision::Notify => "notify",
            Decision::NotifyAndInform => "notify and inform",
            Decision::DoNotNotify => "do not notify",
        }
    }
    pub fn notifies(self) -> bool {
        !matches!(self, Decision::DoNotNotify)
    }
}

/// Default window of the supplier series rule (`core::series`).
pub const DEFAULT_SERIES_WINDOW_DAYS: i64 = super::series::DEFAULT_WINDOW_DAYS;

/// What identified a supplier's status series when a case was opened; kept in
/// stored workflows. Joining itself is decided by `core::series`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeriesKey {
    /// Mail domain of the reporter (the supplier), e.g. "provdata.example".
    pub reporter_domain: String,
    /// Systems named in the opening notice.
    pub systems: Vec<String>,
    pub opened_at: DateTime<Utc>,
}

/// A case as the state machine sees it. The shell stores it (as columns or JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Case {
    pub case_ref: CaseRef,
    pub state: State,
    /// When the municipality became aware (the clock's start).
    pub aware_at: DateTime<Utc>,
    pub opened_at: DateTime<Utc>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub acknowledged_by: Option<String>,
    pub assessment: Option<Assessment>,
    pub assessed_at: Option<DateTime<Utc>>,
    pub decision: Option<Decision>,
    pub decided_at: Option<DateTime<Utc>>,
    pub decided_by: Option<String>,
    pub imy_ref: Option<ImyRef>,
    pub reported_at: Option<DateTime<Utc>>,
    /// Why the notification is later than 72 hours (IMY form question 14).
    pub delay_reason: Option<String>,
    /// Number of supplements sent to IMY.
    pub supplements: u32,
    pub withdrawn_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    /// The state `close` came from; `reopen` returns to it.
    pub state_before_close: Option<State>,
    pub series: Option<SeriesKey>,
    /// The registry's number (`diarienummer: KS 2026/0123`); rows stored
    /// before it existed read as None.
    #[serde(default)]
    pub diarienummer: Option<Diarienummer>,
    /// The case this one was merged into (`sammanfoga`); such a case stays
    /// closed, its messages are in the target. Absent in older rows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged_into: Option<CaseRef>,
    /// The NIS2 regime of the case (`core::regime`): suggested by the reader
    /// at opening, decided and reported by reply (`nis2.rs`). Absent in older
    /// rows and in cases NIS2 was never raised for.
    #[serde(default, skip_serializing_if = "Nis2::is_unset")]
    pub nis2: Nis2,
}

/// What the shell must do after a transition. Stored with the case in one
/// transaction; the outbox and reminder workers carry them out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "effect", rename_all = "snake_case")]
pub enum Effect {
    /// Append an event to the case timeline (`timeline::append` with the actor
    /// and `now` of the call).
    RecordTimeline {
        kind: EventKind,
        data: serde_json::Value,
    },
    /// On opening: mail the new-case notice to the official and deputy, copy to
    /// the DPO and coordinator. `urgent` when less than 12 h are left.
    SendOpeningNotice { urgent: bool, overdue: bool },
    /// On opening: schedule the deadline reminders from
    /// `clock::next_after(aware_at, plan, now)`.
    StartDeadlineReminders { aware_at: DateTime<Utc> },
    /// On opening: schedule the "not acknowledged" escalation.
    StartAckEscalation,
    /// Delete the pending "not acknowledged" escalation.
    StopAckEscalation,
    /// Delete the pending deadline reminders: the case no longer needs notifying
    /// (reported, or decided not to notify).
    StopDeadlineReminders,
    /// Schedule the deadline reminders again from
    /// `clock::next_after(aware_at, plan, now)` (a no-notify decision was replaced).
    ResumeDeadlineReminders { aware_at: DateTime<Utc> },
    /// Render the draft decision for this outcome and mail it to the official
    /// (with the IMY form draft when it notifies).
    SendDraft {
        decision: Decision,
        assessment: Assessment,
    },
    /// Answer the sender of the command: it was carried out.
    Confirm { sv: String, en: String },
    /// Answer the sender of the command: it was refused, and why.
    AnswerRefusal { sv: String, en: String },
    /// Inform the rest of the roster (official, deputy, DPO, coordinator; not the
    /// actor) of a step that matters to them.
    NotifyRoster { sv: String, en: String },
    /// `sammanfoga`/`merge`: in the same transaction as this (source) case's
    /// closing, move the source's messages into `target`, store `target` (the
    /// named case with the earlier awareness of the two) and append a
    /// `merged_from` event with `data` to the target's timeline. When
    /// `aware_at_moved`, the shell recomputes the target's deadline and next
    /// reminder from `target.aware_at` with `clock`.
    MergeInto {
        target: Box<Case>,
        aware_at_moved: bool,
        data: serde_json::Value,
    },
    /// `dela`/`split`: in the same transaction as this case's `case_split`
    /// event, open a new case from the message in `message_row` (its own
    /// number, route, opening notice and acknowledgement, clock from
    /// `aware_at`) and move the message into it.
    SplitOut {
        message_row: i64,
        aware_at: DateTime<Utc>,
        urgent: bool,
    },
}

/// What a command may need beyond the case itself, as the shell found it:
/// the case a `merge` names, the message a `split` takes out.
#[derive(Debug, Clone, Copy, Default)]
pub struct Related<'a> {
    pub merge_target: Option<&'a Case>,
    pub split: Option<&'a SplitSource>,
}

/// The next case and what to do about it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Transition {
    pub case: Case,
    pub effects: Vec<Effect>,
}

/// What one command records: the timeline event's kind and data, and the
/// confirmation to the sender.
type Done = (EventKind, serde_json::Value, Texts);

/// A command being applied: the next case as the command leaves it, the
/// effects it adds before the common ones, and what the rest of the roster
/// hears. Each command's function (one per file in this folder) fills it in;
/// [`Case::apply_with_target`] adds what every transition does.
struct Step<'a> {
    next: Case,
    effects: Vec<Effect>,
    notify_roster: Option<Texts>,
    actor: &'a str,
    now: DateTime<Utc>,
    /// The configured zone: the NIS2 month clocks count in it.
    tz: Tz,
}

impl Case {
    /// A new case from a breach notice. Returns the case and the effects of "a case
    /// opened": timeline, opening notice, deadline reminders, ack escalation.
    pub fn open(
        case_ref: CaseRef,
        aware_at: DateTime<Utc>,
        now: DateTime<Utc>,
        series: Option<SeriesKey>,
    ) -> (Case, Vec<Effect>) {
        let case = Case {
            case_ref,
            state: State::Received,
            aware_at,
            opened_at: now,
            acknowledged_at: None,
            acknowledged_by: None,
            assessment: None,
            assessed_at: None,
            decision: None,
            decided_at: None,
            decided_by: None,
            imy_ref: None,
            reported_at: None,
            delay_reason: None,
            supplements: 0,
            withdrawn_at: None,
            closed_at: None,
            state_before_close: None,
            series,
            diarienummer: None,
            merged_into: None,
            nis2: Nis2::default(),
        };
        let deadline = clock::deadline(aware_at);
        let effects = vec![
            Effect::RecordTimeline {
                kind: EventKind::CaseOpened,
                data: json!({
                    "aware_at": aware_at,
                    "deadline": deadline,
                    "series": case.series,
                }),
            },
            Effect::SendOpeningNotice {
                urgent: clock::is_urgent(aware_at, now),
                overdue: now > deadline,
            },
            Effect::StartDeadlineReminders { aware_at },
            Effect::StartAckEscalation,
        ];
        (case, effects)
    }

    pub fn deadline(&self) -> DateTime<Utc> {
        clock::deadline(self.aware_at)
    }

    /// Whether the deadline reminders should run: the case may still need
    /// notifying to IMY.
    pub fn deadline_clock_running(&self) -> bool {
        match self.state {
            State::Received | State::Acknowledged | State::Assessed => true,
            State::Decided => self.decision.is_none_or(Decision::notifies),
            State::Reported | State::Supplemented | State::Withdrawn | State::Closed => false,
        }
    }

    fn refuse_if_reported(&self) -> Result<(), TransitionError> {
        match self.state {
            State::Reported | State::Supplemented | State::Withdrawn => {
                Err(TransitionError::AlreadyReported {
                    imy_ref: self
                        .imy_ref
                        .as_ref()
                        .map(|r| r.to_string())
                        .unwrap_or_default(),
                })
            }
            _ => Ok(()),
        }
    }
    /// Applies an authorised official's command. `actor` is the sender's address.
    /// A merge needs the named case: use [`Case::apply_with_target`].
    pub fn apply(
        &self,
        cmd: &Command,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Transition, TransitionError> {
        self.apply_with_target(cmd, actor, now, None)
    }

    /// [`Case::apply`] with the case a `merge` names, as stored (None: there
    /// is no such case). Other commands ignore `target`.
    pub fn apply_with_target(
        &self,
        cmd: &Command,
        actor: &str,
        now: DateTime<Utc>,
        target: Option<&Case>,
    ) -> Result<Transition, TransitionError> {
        let related = Related {
            merge_target: target,
            split: None,
        };
        self.apply_in(cmd, actor, now, related, chrono_tz::Europe::Stockholm)
    }

    /// [`Case::apply`] with what a `merge` or `split` needs ([`Related`]).
    pub fn apply_with(
        &self,
        cmd: &Command,
        actor: &str,
        now: DateTime<Utc>,
        related: Related<'_>,
    ) -> Result<Transition, TransitionError> {
        self.apply_in(cmd, actor, now, related, chrono_tz::Europe::Stockholm)
    }

    /// [`Case::apply_with`] with the configured zone `tz` (the NIS2
    /// month clocks, `core::regime::one_month_after`, count in it); the shell
    /// always calls this one.
    pub fn apply_in(
        &self,
        cmd: &Command,
        actor: &str,
        now: DateTime<Utc>,
        related: Related<'_>,
        tz: Tz,
    ) -> Result<Transition, TransitionError> {
        let target = related.merge_target;
        // The NIS2 reports outlive the GDPR case: the final report is due a
        // month after the incident notification, often after closing.
        if self.state == State::Closed
            && !matches!(cmd, Command::Reopen | Command::Note(_) | Command::Nis2(_))
        {
            return Err(TransitionError::Closed);
        }
        let mut step = Step {
            next: self.clone(),
            effects: Vec::new(),
            notify_roster: None,
            actor,
            now,
            tz,
        };
        let (kind, data, confirm) = match cmd {
            Command::Note(text) => note::note(self, text),
            Command::Ack => ack::ack(self, &mut step)?,
            Command::Assess(a) => assess::assess(self, &mut step, a)?,
            Command::Decide(d) => decide::decide(self, &mut step, d)?,
            Command::Reported(imy_ref) => report::reported(self, &mut step, imy_ref)?,
            Command::Delay(reason) => report::delay(self, &mut step, reason)?,
            Command::Supplement(text) => report::supplement(self, &mut step, text.as_deref())?,
            Command::Withdraw(text) => report::withdraw(self, &mut step, text.as_deref())?,
            Command::Close => close::close(self, &mut step)?,
            Command::Registry(d) => note::diarienummer(self, &mut step, d),
            Command::Merge(named) => merge::merge(self, &mut step, named, target)?,
            Command::Split(why) => split::split(self, &mut step, why.as_deref(), related.split)?,
            Command::Reopen => close::reopen(self, &mut step)?,
            Command::Nis2(c) => nis2::nis2(self, &mut step, c)?,
        };
        let Step {
            mut next,
            mut effects,
            notify_roster,
            ..
        } = step;

        // An assessment from "received" is the acknowledgement too.
        if self.state == State::Received && next.state != State::Received {
            next.acknowledged_at.get_or_insert(now);
            next.acknowledged_by
                .get_or_insert_with(|| actor.to_string());
        }
        if self.acknowledged_at.is_none() && next.acknowledged_at.is_some() {
            effects.push(Effect::StopAckEscalation);
        }
        match (self.deadline_clock_running(), next.deadline_clock_running()) {
            (true, false) => effects.push(Effect::StopDeadlineReminders),
            (false, true) => effects.push(Effect::ResumeDeadlineReminders {
                aware_at: self.aware_at,
            }),
            _ => {}
        }
        let mut data = data;
        if let serde_json::Value::Object(m) = &mut data {
            m.insert("state".into(), json!(next.state));
        }
        effects.insert(0, Effect::RecordTimeline { kind, data });
        effects.push(Effect::Confirm {
            sv: confirm.0,
            en: confirm.1,
        });
        if let Some((sv, en)) = notify_roster {
            effects.push(Effect::NotifyRoster { sv, en });
        }
        Ok(Transition {
            case: next,
            effects,
        })
    }
}
