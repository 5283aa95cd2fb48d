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
use super::commands::{parse_reply, Command, Diarienummer, ImyRef, Lang, Parsed};
use super::event::EventKind;
use super::routing::Route;
use super::types::CaseRef;

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
}

/// `sammanfoga PUI-2026-0007`: the case replied to (`source`) is the same
/// incident as the named one and moves into it. Refused when the named case
/// is the source itself, does not exist (`target` None) or is closed (a
/// closed source is refused before this, like every command). The target
/// keeps the earlier awareness of the two: the 72 hours run from the first
/// time the municipality knew of the incident, whichever notice it was in.
/// Returns the target as it becomes and the data of its `merged_from` event.
fn merge_target(
    source: &Case,
    named: &CaseRef,
    target: Option<&Case>,
) -> Result<(Case, bool, serde_json::Value), TransitionError> {
    if *named == source.case_ref {
        return Err(TransitionError::MergeIntoItself);
    }
    let Some(target) = target.filter(|t| t.case_ref == *named) else {
        return Err(TransitionError::MergeTargetMissing {
            target: named.to_string(),
        });
    };
    if target.state == State::Closed {
        return Err(TransitionError::MergeTargetClosed {
            target: named.to_string(),
        });
    }
    let mut next = target.clone();
    let moved = source.aware_at < target.aware_at;
    if moved {
        next.aware_at = source.aware_at;
    }
    let data = json!({
        "from": source.case_ref,
        "aware_at": next.aware_at,
        "previous_aware_at": target.aware_at,
        "aware_at_moved": moved,
        "deadline": clock::deadline(next.aware_at),
        "state": next.state,
    });
    Ok((next, moved, data))
}

/// `diarienummer: KS 2026/0123`: records the registry's number of the case, in
/// any state but closed (the registry may number a case at any point). The state
/// does not change; a new number replaces the old one, which stays on the
/// timeline.
fn register_diarienummer(
    case: &Case,
    next: &mut Case,
    d: &Diarienummer,
) -> (EventKind, serde_json::Value, (String, String)) {
    let r = case.case_ref.as_str();
    next.diarienummer = Some(d.clone());
    (
        EventKind::Diarienummer,
        json!({ "diarienummer": d, "previous": case.diarienummer }),
        (
            format!("Ärende {r} har diarienummer {d}. Det används i alla dokument och ämnesrader framöver."),
            format!("Case {r} has the registry number {d}. It is used in every document and subject from now on."),
        ),
    )
}

/// The next case and what to do about it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Transition {
    pub case: Case,
    pub effects: Vec<Effect>,
}

/// Why a command was refused. [`TransitionError::sv`] and [`TransitionError::en`]
/// give texts for mailing back; `Display` is both, with times in UTC, for logs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "error", rename_all = "snake_case")]
pub enum TransitionError {
    #[error("case is closed")]
    Closed,
    #[error("case is not closed")]
    NotClosed,
    #[error("already acknowledged")]
    AlreadyAcknowledged {
        by: Option<String>,
        at: DateTime<Utc>,
    },
    #[error("decision before assessment")]
    NotAssessed,
    #[error("no-notify decision with assessment {assessment:?}")]
    NoNotifyWithRisk { assessment: Assessment },
    #[error("reported before a decision to notify")]
    NotDecided,
    #[error("reported after a decision not to notify")]
    DecidedNotToNotify,
    #[error("already reported to IMY ({imy_ref})")]
    AlreadyReported { imy_ref: String },
    #[error("reported after the deadline {deadline} without a delay reason")]
    LateWithoutDelayReason { deadline: DateTime<Utc> },
    #[error("{command} before the case is reported")]
    NotReported { command: String },
    #[error("the notification is withdrawn")]
    Withdrawn,
    #[error("cannot close in state {state:?}")]
    CannotClose { state: State },
    #[error("merge into the case itself")]
    MergeIntoItself,
    #[error("merge into {target}, which does not exist")]
    MergeTargetMissing { target: String },
    #[error("merge into {target}, which is closed")]
    MergeTargetClosed { target: String },
    #[error("merged into {target}")]
    MergedInto { target: String },
}

fn local(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string()
}

impl TransitionError {
    /// Swedish text for the sender; times in `tz`.
    pub fn sv(&self, tz: Tz) -> String {
        match self {
            TransitionError::Closed => {
                "Ärendet är stängt. Skriv \"återöppna\" först om det ska hanteras igen.".into()
            }
            TransitionError::NotClosed => "Ärendet är inte stängt.".into(),
            TransitionError::AlreadyAcknowledged { by, at } => format!(
                "Ärendet är redan kvitterat{} {}.",
                by.as_deref().map(|b| format!(" av {b}")).unwrap_or_default(),
                local(*at, tz)
            ),
            TransitionError::NotAssessed => "Gör en bedömning först, t.ex. \"bedömning: risk\", innan beslut.".into(),
            TransitionError::NoNotifyWithRisk { assessment } => format!(
                "Beslutet \"ej anmäl\" kräver bedömningen \"ingen risk\" (bedömningen är nu \"{}\"). Ändra bedömningen först om den inte gäller längre.",
                assessment.sv()
            ),
            TransitionError::NotDecided => "Fatta beslut först (\"beslut: anmäl\" eller \"beslut: anmäl och informera\") innan anmälan registreras.".into(),
            TransitionError::DecidedNotToNotify => "Beslutet i ärendet är \"ej anmäl\". Gör en ny bedömning och ett nytt beslut först om ärendet ändå ska anmälas.".into(),
            TransitionError::AlreadyReported { imy_ref } => format!(
                "Ärendet är redan anmält till IMY ({imy_ref}). Använd \"komplettera\" för nya uppgifter."
            ),
            TransitionError::LateWithoutDelayReason { deadline } => format!(
                "Fristen på 72 timmar gick ut {}. Ange skälet till förseningen först, t.ex. \"försening: leverantörens rapport kom sent\", och skicka sedan \"anmält …\" igen.",
                local(*deadline, tz)
            ),
            TransitionError::NotReported { .. } => "Ärendet är inte anmält till IMY än. Komplettering och återtagande går först efter \"anmält DI-…\".".into(),
            TransitionError::Withdrawn => "Anmälan är återtagen. Ärendet kan bara stängas.".into(),
            TransitionError::CannotClose { state } => format!(
                "Ärendet kan inte stängas i läget \"{}\". Det stängs efter anmälan till IMY eller efter beslutet \"ej anmäl\".",
                state.sv()
            ),
            TransitionError::MergeIntoItself => "Ett ärende kan inte sammanfogas med sig självt. Svara på ett brev i det ärende som ska gå upp i det andra och ange det andra ärendets nummer.".into(),
            TransitionError::MergeTargetMissing { target } => format!(
                "Det finns inget ärende {target}. Kontrollera numret, t.ex. \"sammanfoga PUI-2026-0007\"."
            ),
            TransitionError::MergedInto { target } => format!(
                "Ärendet är sammanfogat med {target} och kan inte återöppnas; dess meddelanden finns i {target}. Fortsätt i det ärendet."
            ),
            TransitionError::MergeTargetClosed { target } => format!(
                "Ärende {target} är stängt. Återöppna det först (\"återöppna\" som svar i det ärendet) om ärendena ska sammanfogas."
            ),
        }
    }

    /// English text for the sender; times in `tz`.
    pub fn en(&self, tz: Tz) -> String {
        match self {
            TransitionError::Closed => {
                "The case is closed. Write \"reopen\" first if it is to be handled again.".into()
            }
            TransitionError::NotClosed => "The case is not closed.".into(),
            TransitionError::AlreadyAcknowledged { by, at } => format!(
                "The case was already acknowledged{} {}.",
                by.as_deref().map(|b| format!(" by {b}")).unwrap_or_default(),
                local(*at, tz)
            ),
            TransitionError::NotAssessed => "Make an assessment first, e.g. \"assess: risk\", before deciding.".into(),
            TransitionError::NoNotifyWithRisk { assessment } => format!(
                "The decision \"no-notify\" needs the assessment \"no risk\" (it is now \"{}\"). Change the assessment first if it no longer holds.",
                assessment.en()
            ),
            TransitionError::NotDecided => "Decide first (\"decide: notify\" or \"decide: notify-inform\") before recording the notification.".into(),
            TransitionError::DecidedNotToNotify => "The decision in this case is \"do not notify\". Reassess and decide again first if it is to be notified after all.".into(),
            TransitionError::AlreadyReported { imy_ref } => format!(
                "The case is already reported to IMY ({imy_ref}). Use \"supplement\" for new information."
            ),
            TransitionError::LateWithoutDelayReason { deadline } => format!(
                "The 72-hour deadline passed at {}. Record the reason for the delay first, e.g. \"delay: the supplier's report came late\", then send \"reported …\" again.",
                local(*deadline, tz)
            ),
            TransitionError::NotReported { .. } => "The case is not reported to IMY yet. Supplements and withdrawal come only after \"reported DI-…\".".into(),
            TransitionError::Withdrawn => "The notification is withdrawn. The case can only be closed.".into(),
            TransitionError::CannotClose { state } => format!(
                "The case cannot be closed while {}. It is closed after the notification to IMY or after the decision \"do not notify\".",
                state.en()
            ),
            TransitionError::MergeIntoItself => "A case cannot be merged into itself. Reply to a mail of the case that is to be merged away and name the other case.".into(),
            TransitionError::MergeTargetMissing { target } => format!(
                "There is no case {target}. Check the reference, e.g. \"merge PUI-2026-0007\"."
            ),
            TransitionError::MergedInto { target } => format!(
                "The case is merged into {target} and cannot be reopened; its messages are in {target}. Continue in that case."
            ),
            TransitionError::MergeTargetClosed { target } => format!(
                "Case {target} is closed. Reopen it first (\"reopen\" in reply to that case) if the cases are to be merged."
            ),
        }
    }

    /// What the shell does with a refused command from an authorised sender:
    /// record it on the timeline and answer with the reason.
    pub fn effects(&self, command: &Command, tz: Tz) -> Vec<Effect> {
        vec![
            Effect::RecordTimeline {
                kind: EventKind::CommandRefused,
                data: json!({
                    "command": command,
                    "error": self,
                    "reason": self.en(tz),
                }),
            },
            Effect::AnswerRefusal {
                sv: self.sv(tz),
                en: self.en(tz),
            },
        ]
    }
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
        if self.state == State::Closed && !matches!(cmd, Command::Reopen | Command::Note(_)) {
            return Err(TransitionError::Closed);
        }
        let r = self.case_ref.as_str();
        let mut next = self.clone();
        let mut effects = Vec::new();
        let mut notify_roster: Option<(String, String)> = None;
        let (kind, data, confirm): (EventKind, serde_json::Value, (String, String)) = match cmd {
            Command::Note(text) => (
                EventKind::Note,
                json!({ "text": text }),
                (
                    format!("Noteringen är sparad i ärende {r}."),
                    format!("The note is saved in case {r}."),
                ),
            ),
            Command::Ack => {
                if let Some(at) = self.acknowledged_at {
                    return Err(TransitionError::AlreadyAcknowledged {
                        by: self.acknowledged_by.clone(),
                        at,
                    });
                }
                next.acknowledged_at = Some(now);
                next.acknowledged_by = Some(actor.to_string());
                // Only a fresh case moves; a stored case that is further along
                // without an acknowledgement (older data) just gets it recorded.
                if self.state == State::Received {
                    next.state = State::Acknowledged;
                }
                (
                    EventKind::Acknowledged,
                    json!({}),
                    (
                        format!("Ärende {r} är kvitterat. Nästa steg: \"bedömning: ingen risk|risk|hög risk\"."),
                        format!("Case {r} is acknowledged. Next: \"assess: none|risk|high\"."),
                    ),
                )
            }
            Command::Assess(a) => {
                self.refuse_if_reported()?;
                next.state = State::Assessed;
                next.assessment = Some(*a);
                next.assessed_at = Some(now);
                // A decision rested on the previous assessment.
                next.decision = None;
                next.decided_at = None;
                next.decided_by = None;
                (
                    EventKind::Assessed,
                    json!({
                        "assessment": a,
                        "previous": self.assessment,
                        "replaces_decision": self.decision,
                    }),
                    (
                        format!("Bedömningen \"{}\" är registrerad i ärende {r}. Nästa steg: \"beslut: anmäl|anmäl och informera|ej anmäl\".", a.sv()),
                        format!("The assessment \"{}\" is recorded in case {r}. Next: \"decide: notify|notify-inform|no-notify\".", a.en()),
                    ),
                )
            }
            Command::Decide(d) => {
                self.refuse_if_reported()?;
                let Some(a) = self.assessment else {
                    return Err(TransitionError::NotAssessed);
                };
                if *d == Decision::DoNotNotify && a != Assessment::NoRisk {
                    return Err(TransitionError::NoNotifyWithRisk { assessment: a });
                }
                next.state = State::Decided;
                next.decision = Some(*d);
                next.decided_at = Some(now);
                next.decided_by = Some(actor.to_string());
                effects.push(Effect::SendDraft {
                    decision: *d,
                    assessment: a,
                });
                notify_roster = Some((
                    format!("Beslut i ärende {r}: {} (bedömning: {}).", d.sv(), a.sv()),
                    format!("Decision in case {r}: {} (assessment: {}).", d.en(), a.en()),
                ));
                let next_sv = if d.notifies() {
                    "Utkast till beslut skickas till dig. När anmälan är gjord: \"anmält DI-…\"."
                } else {
                    "Utkast till beslut skickas till dig. Påminnelserna om fristen är stoppade; stäng ärendet med \"stäng\" när beslutet är fattat."
                };
                let next_en = if d.notifies() {
                    "A draft decision is on its way to you. Once notified: \"reported DI-…\"."
                } else {
                    "A draft decision is on its way to you. The deadline reminders are stopped; close the case with \"close\" once the decision is signed."
                };
                (
                    EventKind::Decided,
                    json!({ "decision": d, "assessment": a, "previous": self.decision }),
                    (
                        format!(
                            "Beslutet \"{}\" är registrerat i ärende {r}. {next_sv}",
                            d.sv()
                        ),
                        format!(
                            "The decision \"{}\" is recorded in case {r}. {next_en}",
                            d.en()
                        ),
                    ),
                )
            }
            Command::Reported(imy_ref) => {
                self.refuse_if_reported()?;
                match (self.state, self.decision) {
                    (State::Decided, Some(d)) if d.notifies() => {}
                    (State::Decided, Some(_)) => return Err(TransitionError::DecidedNotToNotify),
                    _ => return Err(TransitionError::NotDecided),
                }
                let deadline = self.deadline();
                let late = now > deadline;
                if late && self.delay_reason.is_none() {
                    return Err(TransitionError::LateWithoutDelayReason { deadline });
                }
                next.state = State::Reported;
                next.imy_ref = Some(imy_ref.clone());
                next.reported_at = Some(now);
                notify_roster = Some((
                    format!("Ärende {r} är anmält till IMY ({imy_ref})."),
                    format!("Case {r} is reported to IMY ({imy_ref})."),
                ));
                (
                    EventKind::Reported,
                    json!({
                        "imy_ref": imy_ref,
                        "late": late,
                        "delay_reason": self.delay_reason,
                    }),
                    (
                        format!("Anmälan till IMY ({imy_ref}) är registrerad i ärende {r}. Påminnelserna om fristen är stoppade."),
                        format!("The notification to IMY ({imy_ref}) is recorded in case {r}. The deadline reminders are stopped."),
                    ),
                )
            }
            Command::Delay(reason) => {
                next.delay_reason = Some(reason.clone());
                (
                    EventKind::DelayReason,
                    json!({ "reason": reason, "previous": self.delay_reason }),
                    (
                        format!("Skälet till förseningen är sparat i ärende {r}."),
                        format!("The reason for the delay is saved in case {r}."),
                    ),
                )
            }
            Command::Supplement(text) => {
                match self.state {
                    State::Reported | State::Supplemented => {}
                    State::Withdrawn => return Err(TransitionError::Withdrawn),
                    _ => {
                        return Err(TransitionError::NotReported {
                            command: "supplement".into(),
                        })
                    }
                }
                next.state = State::Supplemented;
                next.supplements = self.supplements.saturating_add(1);
                notify_roster = Some((
                    format!(
                        "Ärende {r}: komplettering nr {} till IMY.",
                        next.supplements
                    ),
                    format!("Case {r}: supplement no. {} to IMY.", next.supplements),
                ));
                (
                    EventKind::Supplemented,
                    json!({ "number": next.supplements, "text": text }),
                    (
                        format!(
                            "Komplettering nr {} är registrerad i ärende {r}.",
                            next.supplements
                        ),
                        format!(
                            "Supplement no. {} is recorded in case {r}.",
                            next.supplements
                        ),
                    ),
                )
            }
            Command::Withdraw(text) => {
                match self.state {
                    State::Reported | State::Supplemented => {}
                    State::Withdrawn => return Err(TransitionError::Withdrawn),
                    _ => {
                        return Err(TransitionError::NotReported {
                            command: "withdraw".into(),
                        })
                    }
                }
                next.state = State::Withdrawn;
                next.withdrawn_at = Some(now);
                notify_roster = Some((
                    format!("Anmälan i ärende {r} är återtagen."),
                    format!("The notification in case {r} is withdrawn."),
                ));
                (
                    EventKind::Withdrawn,
                    json!({ "text": text }),
                    (
                        format!("Återtagandet av anmälan är registrerat i ärende {r}. Stäng ärendet med \"stäng\"."),
                        format!("The withdrawal is recorded in case {r}. Close the case with \"close\"."),
                    ),
                )
            }
            Command::Close => {
                let ok = match self.state {
                    State::Reported | State::Supplemented | State::Withdrawn => true,
                    State::Decided => self.decision == Some(Decision::DoNotNotify),
                    _ => false,
                };
                if !ok {
                    return Err(TransitionError::CannotClose { state: self.state });
                }
                next.state = State::Closed;
                next.closed_at = Some(now);
                next.state_before_close = Some(self.state);
                notify_roster = Some((
                    format!("Ärende {r} är stängt."),
                    format!("Case {r} is closed."),
                ));
                (
                    EventKind::Closed,
                    json!({ "from": self.state }),
                    (
                        format!("Ärende {r} är stängt."),
                        format!("Case {r} is closed."),
                    ),
                )
            }
            Command::Registry(d) => register_diarienummer(self, &mut next, d),
            Command::Merge(named) => {
                let (target, moved, data) = merge_target(self, named, target)?;
                next.state = State::Closed;
                next.closed_at = Some(now);
                next.state_before_close = Some(self.state);
                next.merged_into = Some(named.clone());
                let (moved_sv, moved_en) = if moved {
                    (
                        format!(" Kännedomen i {named} flyttades till den tidigare tidpunkten från {r}; fristen och påminnelserna räknas om från den."),
                        format!(" The awareness of {named} moved to the earlier instant from {r}; the deadline and reminders are recomputed from it."),
                    )
                } else {
                    (String::new(), String::new())
                };
                effects.push(Effect::MergeInto {
                    target: Box::new(target),
                    aware_at_moved: moved,
                    data,
                });
                notify_roster = Some((
                    format!("Ärende {r} är sammanfogat med {named} och stängt.{moved_sv}"),
                    format!("Case {r} is merged into {named} and closed.{moved_en}"),
                ));
                (
                    EventKind::MergedInto,
                    json!({ "target": named, "from": self.state, "aware_at_moved": moved }),
                    (
                        format!("Ärende {r} är sammanfogat med {named}: meddelandena finns nu i {named}, och {r} är stängt.{moved_sv}"),
                        format!("Case {r} is merged into {named}: its messages are now in {named}, and {r} is closed.{moved_en}"),
                    ),
                )
            }
            Command::Reopen => {
                if self.state != State::Closed {
                    return Err(TransitionError::NotClosed);
                }
                // Its messages and awareness live on in the target now.
                if let Some(target) = &self.merged_into {
                    return Err(TransitionError::MergedInto {
                        target: target.to_string(),
                    });
                }
                // Close is only allowed from these states, so the fallback is for a
                // row stored without `state_before_close`: derive it from the data.
                let back = self
                    .state_before_close
                    .unwrap_or(if self.withdrawn_at.is_some() {
                        State::Withdrawn
                    } else if self.imy_ref.is_some() {
                        State::Reported
                    } else {
                        State::Decided
                    });
                next.state = back;
                next.closed_at = None;
                next.state_before_close = None;
                notify_roster = Some((
                    format!("Ärende {r} är återöppnat."),
                    format!("Case {r} is reopened."),
                ));
                (
                    EventKind::Reopened,
                    json!({ "to": back }),
                    (
                        format!("Ärende {r} är återöppnat ({}).", back.sv()),
                        format!("Case {r} is reopened ({}).", back.en()),
                    ),
                )
            }
        };

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

/// A reply to one of breachwatch's mails about a case, as the shell read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply<'a> {
    /// The From address.
    pub sender: &'a str,
    /// Plain text of the reply (mail-parser's `body_text(0)`).
    pub text: &'a str,
    /// The From fields and trace headers authentication reads.
    pub origin: &'a Origin,
}

/// What a reply does: the next case if it changed, and the effects. A refused
/// command leaves `case` None.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReplyOutcome {
    pub case: Option<Case>,
    pub effects: Vec<Effect>,
    /// The language the command was written in: send `Confirm`/`AnswerRefusal`
    /// in it (None when nothing is answered; Swedish is the default elsewhere).
    pub lang: Option<Lang>,
}

/// The whole reply workflow in one pure step, in this order:
/// 1. parse the first line ([`parse_reply`]);
/// 2. not a command: the text goes on the timeline as a follow-up, whoever sent
///    it (a supplier may answer in the thread too); nothing is answered;
/// 3. a command (valid or not) needs [`authorize`]; refused: recorded with the
///    reason and NOT answered, the case is unchanged (a forger learns nothing);
/// 4. an invalid command from an authorised sender: recorded and answered with
///    the bilingual error;
/// 5. a valid command: [`Case::apply`]; its timeline record carries the rest of
///    the reply as `body`; a refused transition is recorded and answered.
///
/// `tz` is the zone for times in answers. `merge_target` is the case a
/// `merge` command names, as the shell found it (None: no such case).
pub fn handle_reply(
    case: &Case,
    route: &Route,
    cfg: &AuthConfig,
    reply: &Reply<'_>,
    now: DateTime<Utc>,
    tz: Tz,
    merge_target: Option<&Case>,
) -> ReplyOutcome {
    let parsed = parse_reply(reply.text);
    let (command, body, lang) = match parsed {
        Parsed::NotACommand { body } => {
            return ReplyOutcome {
                case: None,
                effects: vec![Effect::RecordTimeline {
                    kind: EventKind::FollowUp,
                    data: json!({ "from": reply.sender, "body": body }),
                }],
                lang: None,
            };
        }
        Parsed::Invalid { error, body } => {
            let lang = error.lang;
            (Err(error), body, lang)
        }
        Parsed::Command {
            command,
            body,
            lang,
        } => (Ok(command), body, lang),
    };
    let unchanged = |effects| ReplyOutcome {
        case: None,
        effects,
        lang: Some(lang),
    };
    let verdict = authorize(cfg, route, reply.origin);
    let (role, via) = match verdict {
        Verdict::Allowed { role, via } => (role, via),
        Verdict::Refused(reason) => {
            return ReplyOutcome {
                case: None,
                lang: None,
                effects: vec![Effect::RecordTimeline {
                    kind: EventKind::CommandUnauthorised,
                    data: json!({
                        "from": reply.sender,
                        "reason": reason,
                        "why": reason.to_string(),
                        "command": command.as_ref().ok(),
                        "body": body,
                    }),
                }],
            };
        }
    };
    let command = match command {
        Ok(c) => c,
        Err(error) => {
            return unchanged(vec![
                Effect::RecordTimeline {
                    kind: EventKind::CommandInvalid,
                    data: json!({ "from": reply.sender, "error": error, "body": body }),
                },
                Effect::AnswerRefusal {
                    sv: error.sv,
                    en: error.en,
                },
            ]);
        }
    };
    match case.apply_with_target(&command, reply.sender, now, merge_target) {
        Ok(mut t) => {
            if let Some(Effect::RecordTimeline {
                data: serde_json::Value::Object(m),
                ..
            }) = t.effects.first_mut()
            {
                m.insert("role".into(), json!(role));
                m.insert("via".into(), json!(via));
                if !body.is_empty() {
                    m.insert("body".into(), json!(body));
                }
            }
            ReplyOutcome {
                case: Some(t.case),
                effects: t.effects,
                lang: Some(lang),
            }
        }
        Err(e) => unchanged(e.effects(&command, tz)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::commands::ImyRef;
    use chrono::{Duration, TimeZone};
    use chrono_tz::Europe::Stockholm;

    fn aware() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 27, 9, 0, 0).unwrap()
    }

    fn imy() -> ImyRef {
        ImyRef::parse("DI-2026-1234").unwrap()
    }

    fn opened() -> Case {
        Case::open(
            CaseRef::new("PUI", 2026, 7),
            aware(),
            aware() + Duration::hours(1),
            None,
        )
        .0
    }

    /// Drives a fresh case through commands, two hours after awareness.
    fn at(path: &[Command]) -> Case {
        let mut c = opened();
        for cmd in path {
            c = c
                .apply(cmd, "anna@kommun.example", aware() + Duration::hours(2))
                .unwrap_or_else(|e| panic!("setup step {cmd:?} failed: {e}"))
                .case;
        }
        c
    }

    fn kinds(effects: &[Effect]) -> Vec<&'static str> {
        effects
            .iter()
            .map(|e| match e {
                Effect::RecordTimeline { .. } => "timeline",
                Effect::SendOpeningNotice { .. } => "opening",
                Effect::StartDeadlineReminders { .. } => "start_reminders",
                Effect::StartAckEscalation => "start_ack",
                Effect::StopAckEscalation => "stop_ack",
                Effect::StopDeadlineReminders => "stop_reminders",
                Effect::ResumeDeadlineReminders { .. } => "resume_reminders",
                Effect::SendDraft { .. } => "draft",
                Effect::Confirm { .. } => "confirm",
                Effect::AnswerRefusal { .. } => "refusal",
                Effect::NotifyRoster { .. } => "roster",
                Effect::MergeInto { .. } => "merge",
            })
            .collect()
    }

    use Assessment as A;
    use Command as C;
    use Decision as D;

    fn ack() -> C {
        C::Ack
    }
    fn assess(a: A) -> C {
        C::Assess(a)
    }
    fn decide(d: D) -> C {
        C::Decide(d)
    }
    fn reported() -> C {
        C::Reported(imy())
    }

    /// The setups every command is tried from.
    fn setups() -> Vec<(&'static str, Vec<C>)> {
        vec![
            ("received", vec![]),
            ("acknowledged", vec![ack()]),
            ("assessed_risk", vec![ack(), assess(A::Risk)]),
            ("assessed_none", vec![ack(), assess(A::NoRisk)]),
            (
                "decided_notify",
                vec![ack(), assess(A::Risk), decide(D::Notify)],
            ),
            (
                "decided_no_notify",
                vec![ack(), assess(A::NoRisk), decide(D::DoNotNotify)],
            ),
            (
                "reported",
                vec![ack(), assess(A::Risk), decide(D::Notify), reported()],
            ),
            (
                "supplemented",
                vec![
                    ack(),
                    assess(A::Risk),
                    decide(D::Notify),
                    reported(),
                    C::Supplement(None),
                ],
            ),
            (
                "withdrawn",
                vec![
                    ack(),
                    assess(A::Risk),
                    decide(D::Notify),
                    reported(),
                    C::Withdraw(None),
                ],
            ),
            (
                "closed_reported",
                vec![
                    ack(),
                    assess(A::Risk),
                    decide(D::Notify),
                    reported(),
                    C::Close,
                ],
            ),
            (
                "closed_no_notify",
                vec![ack(), assess(A::NoRisk), decide(D::DoNotNotify), C::Close],
            ),
        ]
    }

    /// The expected outcome of one command in one setup: Ok(new state) or the error.
    type Expect = Result<State, TransitionError>;

    fn already() -> TransitionError {
        TransitionError::AlreadyReported {
            imy_ref: "DI-2026-1234".into(),
        }
    }

    fn not_reported(c: &str) -> TransitionError {
        TransitionError::NotReported { command: c.into() }
    }

    fn expected(setup: &str, cmd: &C) -> Expect {
        use State as S;
        use TransitionError as E;
        let acked = |by: &str| E::AlreadyAcknowledged {
            by: Some(by.into()),
            at: aware() + Duration::hours(2),
        };
        let closed = matches!(setup, "closed_reported" | "closed_no_notify");
        match cmd {
            C::Note(_) => Ok(match setup {
                "received" => S::Received,
                "acknowledged" => S::Acknowledged,
                "assessed_risk" | "assessed_none" => S::Assessed,
                "decided_notify" | "decided_no_notify" => S::Decided,
                "reported" => S::Reported,
                "supplemented" => S::Supplemented,
                "withdrawn" => S::Withdrawn,
                _ => S::Closed,
            }),
            _ if closed && *cmd != C::Reopen => Err(E::Closed),
            // Bookkeeping like a note, but refused on a closed case.
            C::Registry(_) => expected(setup, &C::Note("x".into())),
            // Plain `apply` has no target at hand (see `mod merge`).
            C::Merge(t) => Err(E::MergeTargetMissing {
                target: t.to_string(),
            }),
            C::Reopen => match setup {
                "closed_reported" => Ok(S::Reported),
                "closed_no_notify" => Ok(S::Decided),
                _ => Err(E::NotClosed),
            },
            C::Ack => match setup {
                "received" => Ok(S::Acknowledged),
                _ => Err(acked("anna@kommun.example")),
            },
            C::Assess(_) => match setup {
                "reported" | "supplemented" | "withdrawn" => Err(already()),
                _ => Ok(S::Assessed),
            },
            C::Decide(d) => match setup {
                "received" | "acknowledged" => Err(E::NotAssessed),
                "reported" | "supplemented" | "withdrawn" => Err(already()),
                "assessed_risk" | "decided_notify" if *d == D::DoNotNotify => {
                    Err(E::NoNotifyWithRisk {
                        assessment: A::Risk,
                    })
                }
                _ => Ok(S::Decided),
            },
            C::Reported(_) => match setup {
                "decided_notify" => Ok(S::Reported),
                "decided_no_notify" => Err(E::DecidedNotToNotify),
                "reported" | "supplemented" | "withdrawn" => Err(already()),
                _ => Err(E::NotDecided),
            },
            C::Delay(_) => Ok(match setup {
                "received" => S::Received,
                "acknowledged" => S::Acknowledged,
                "assessed_risk" | "assessed_none" => S::Assessed,
                "decided_notify" | "decided_no_notify" => S::Decided,
                "reported" => S::Reported,
                "supplemented" => S::Supplemented,
                _ => S::Withdrawn,
            }),
            C::Supplement(_) => match setup {
                "reported" | "supplemented" => Ok(S::Supplemented),
                "withdrawn" => Err(E::Withdrawn),
                _ => Err(not_reported("supplement")),
            },
            C::Withdraw(_) => match setup {
                "reported" | "supplemented" => Ok(S::Withdrawn),
                "withdrawn" => Err(E::Withdrawn),
                _ => Err(not_reported("withdraw")),
            },
            C::Close => match setup {
                "reported" | "supplemented" | "withdrawn" | "decided_no_notify" => Ok(S::Closed),
                "received" => Err(E::CannotClose { state: S::Received }),
                "acknowledged" => Err(E::CannotClose {
                    state: S::Acknowledged,
                }),
                "assessed_risk" | "assessed_none" => Err(E::CannotClose { state: S::Assessed }),
                _ => Err(E::CannotClose { state: S::Decided }),
            },
        }
    }

    fn all_commands() -> Vec<C> {
        vec![
            C::Ack,
            C::Assess(A::NoRisk),
            C::Assess(A::Risk),
            C::Assess(A::HighRisk),
            C::Decide(D::Notify),
            C::Decide(D::NotifyAndInform),
            C::Decide(D::DoNotNotify),
            C::Reported(imy()),
            C::Delay("sent".into()),
            C::Supplement(None),
            C::Withdraw(None),
            C::Close,
            C::Reopen,
            C::Note("x".into()),
        ]
    }

    #[test]
    fn every_command_in_every_state_matches_the_table() {
        let mut checked = 0;
        for (setup, path) in setups() {
            let case = at(&path);
            for cmd in all_commands() {
                let got = case
                    .apply(&cmd, "bo@kommun.example", aware() + Duration::hours(3))
                    .map(|t| t.case.state);
                assert_eq!(got, expected(setup, &cmd), "{cmd:?} in {setup}");
                checked += 1;
            }
        }
        assert_eq!(checked, 11 * 14);
    }

    #[test]
    fn the_diarienummer_is_recorded_in_every_open_state_and_keeps_the_state() {
        let d = |s: &str| Diarienummer::parse(s).expect("valid");
        for (setup, path) in setups() {
            let case = at(&path);
            let got = case.apply(
                &C::Registry(d("KS 2026/0123")),
                "bo@kommun.example",
                aware() + Duration::hours(3),
            );
            assert_eq!(
                got.clone().map(|t| t.case.state),
                expected(setup, &C::Registry(d("KS 2026/0123"))),
                "{setup}"
            );
            let Ok(t) = got else { continue };
            assert_eq!(t.case.diarienummer, Some(d("KS 2026/0123")), "{setup}");
            assert_eq!(
                kinds(&t.effects),
                ["timeline", "confirm"],
                "{setup}: recorded and confirmed, nothing else"
            );
            let Effect::RecordTimeline { kind, data } = &t.effects[0] else {
                unreachable!()
            };
            assert_eq!(kind, "diarienummer");
            assert_eq!(data["diarienummer"], "KS 2026/0123");
            // A corrected number replaces the first; the first stays on the timeline.
            let t2 = t
                .case
                .apply(
                    &C::Registry(d("KS 2026/0124")),
                    "bo@kommun.example",
                    aware() + Duration::hours(4),
                )
                .expect("again");
            assert_eq!(t2.case.diarienummer, Some(d("KS 2026/0124")));
            let Effect::RecordTimeline { data, .. } = &t2.effects[0] else {
                unreachable!()
            };
            assert_eq!(data["previous"], "KS 2026/0123");
        }
        // Older rows without the field read back as None.
        let mut v = serde_json::to_value(opened()).unwrap();
        v.as_object_mut().unwrap().remove("diarienummer");
        let back: Case = serde_json::from_value(v).unwrap();
        assert_eq!(back.diarienummer, None);
    }

    #[test]
    fn case_and_effects_round_trip_through_json() {
        let path = [
            ack(),
            assess(A::Risk),
            decide(D::Notify),
            reported(),
            C::Supplement(None),
        ];
        let c = at(&path);
        let back: Case = serde_json::from_str(&serde_json::to_string(&c).unwrap()).unwrap();
        assert_eq!(back, c);
        let t = at(&[ack(), assess(A::HighRisk)])
            .apply(&decide(D::NotifyAndInform), "a", aware())
            .unwrap();
        for e in t.effects {
            let back: Effect = serde_json::from_str(&serde_json::to_string(&e).unwrap()).unwrap();
            assert_eq!(back, e);
        }
    }

    #[test]
    fn a_refused_command_changes_nothing() {
        let case = at(&[ack()]);
        let before = case.clone();
        assert!(case.apply(&C::Close, "a@b", aware()).is_err());
        assert_eq!(case, before);
    }

    #[test]
    fn opening_schedules_reminders_escalation_and_notice() {
        let now = aware() + Duration::hours(61);
        let (case, effects) = Case::open(CaseRef::new("PUI", 2026, 1), aware(), now, None);
        assert_eq!(case.state, State::Received);
        assert_eq!(
            kinds(&effects),
            vec!["timeline", "opening", "start_reminders", "start_ack"]
        );
        assert!(matches!(
            effects[1],
            Effect::SendOpeningNotice {
                urgent: true,
                overdue: false
            }
        ));
        let (_, late) = Case::open(
            CaseRef::new("PUI", 2026, 2),
            aware(),
            aware() + Duration::hours(80),
            None,
        );
        assert!(matches!(
            late[1],
            Effect::SendOpeningNotice { overdue: true, .. }
        ));
    }

    #[test]
    fn effects_of_each_step() {
        let now = aware() + Duration::hours(3);
        let table: Vec<(Vec<C>, C, Vec<&str>)> = vec![
            (vec![], ack(), vec!["timeline", "stop_ack", "confirm"]),
            // Assess straight from received is also the acknowledgement.
            (
                vec![],
                assess(A::Risk),
                vec!["timeline", "stop_ack", "confirm"],
            ),
            (vec![ack()], assess(A::Risk), vec!["timeline", "confirm"]),
            (
                vec![ack(), assess(A::Risk)],
                decide(D::Notify),
                vec!["timeline", "draft", "confirm", "roster"],
            ),
            (
                vec![ack(), assess(A::NoRisk)],
                decide(D::DoNotNotify),
                vec!["timeline", "draft", "stop_reminders", "confirm", "roster"],
            ),
            (
                vec![ack(), assess(A::Risk), decide(D::Notify)],
                reported(),
                vec!["timeline", "stop_reminders", "confirm", "roster"],
            ),
            // Reassessing a no-notify case restarts the clock.
            (
                vec![ack(), assess(A::NoRisk), decide(D::DoNotNotify)],
                assess(A::Risk),
                vec!["timeline", "resume_reminders", "confirm"],
            ),
            (
                vec![ack(), assess(A::NoRisk), decide(D::DoNotNotify)],
                C::Close,
                vec!["timeline", "confirm", "roster"],
            ),
            (
                vec![ack(), assess(A::Risk), decide(D::Notify), reported()],
                C::Supplement(None),
                vec!["timeline", "confirm", "roster"],
            ),
            (
                vec![ack()],
                C::Note("x".into()),
                vec!["timeline", "confirm"],
            ),
            (vec![], C::Delay("x".into()), vec!["timeline", "confirm"]),
        ];
        for (path, cmd, want) in table {
            let t = at(&path).apply(&cmd, "bo@kommun.example", now).unwrap();
            assert_eq!(kinds(&t.effects), want, "{cmd:?} after {path:?}");
        }
    }

    #[test]
    fn decide_sends_the_matching_draft() {
        for (a, d) in [
            (A::Risk, D::Notify),
            (A::HighRisk, D::NotifyAndInform),
            (A::NoRisk, D::DoNotNotify),
            (A::NoRisk, D::Notify),
            (A::HighRisk, D::Notify),
        ] {
            let t = at(&[ack(), assess(a)])
                .apply(&decide(d), "bo@kommun.example", aware())
                .unwrap();
            assert!(
                t.effects.contains(&Effect::SendDraft {
                    decision: d,
                    assessment: a
                }),
                "{a:?} {d:?}"
            );
            assert_eq!(t.case.decided_by.as_deref(), Some("bo@kommun.example"));
        }
    }

    #[test]
    fn no_notify_needs_no_risk_also_after_high_risk() {
        let err = at(&[ack(), assess(A::HighRisk)])
            .apply(&decide(D::DoNotNotify), "a", aware())
            .unwrap_err();
        assert_eq!(
            err,
            TransitionError::NoNotifyWithRisk {
                assessment: A::HighRisk
            }
        );
        assert!(err.sv(Stockholm).contains("ingen risk"));
    }

    #[test]
    fn reassessing_clears_the_decision() {
        let c = at(&[
            ack(),
            assess(A::Risk),
            decide(D::Notify),
            assess(A::HighRisk),
        ]);
        assert_eq!(c.state, State::Assessed);
        assert_eq!(c.decision, None);
        assert_eq!(c.assessment, Some(A::HighRisk));
        // And a report now needs a new decision.
        assert_eq!(
            c.apply(&reported(), "a", aware()).unwrap_err(),
            TransitionError::NotDecided
        );
    }

    #[test]
    fn after_the_deadline_reported_needs_a_delay_reason() {
        let decided = at(&[ack(), assess(A::Risk), decide(D::Notify)]);
        let deadline = aware() + Duration::hours(72);
        // Exactly at the deadline is still on time.
        assert!(decided.apply(&reported(), "a", deadline).is_ok());
        let late = deadline + Duration::seconds(1);
        let err = decided.apply(&reported(), "a", late).unwrap_err();
        assert_eq!(err, TransitionError::LateWithoutDelayReason { deadline });
        // Deadline 2026-03-30 09:00Z is 11:00 summer time in Stockholm.
        assert!(
            err.sv(Stockholm).contains("2026-03-30 11:00"),
            "{}",
            err.sv(Stockholm)
        );
        assert!(err.sv(Stockholm).contains("försening:"));
        assert!(err.en(Stockholm).contains("delay:"));
        // The reason may be recorded before or after the deadline passes.
        let with_reason = decided
            .apply(
                &C::Delay("Leverantören rapporterade sent".into()),
                "a",
                late,
            )
            .unwrap()
            .case;
        assert_eq!(decided.state, with_reason.state);
        let t = with_reason.apply(&reported(), "a", late).unwrap();
        assert_eq!(t.case.state, State::Reported);
        assert_eq!(t.case.imy_ref, Some(imy()));
        match &t.effects[0] {
            Effect::RecordTimeline { kind, data } => {
                assert_eq!(kind, "reported");
                assert_eq!(data["late"], json!(true));
                assert_eq!(
                    data["delay_reason"],
                    json!("Leverantören rapporterade sent")
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn supplements_are_counted() {
        let c = at(&[
            ack(),
            assess(A::Risk),
            decide(D::Notify),
            reported(),
            C::Supplement(None),
            C::Supplement(Some("antal".into())),
            C::Supplement(None),
        ]);
        assert_eq!(c.state, State::Supplemented);
        assert_eq!(c.supplements, 3);
    }

    #[test]
    fn reopen_returns_to_the_state_before_closing_with_its_data() {
        let base = vec![ack(), assess(A::Risk), decide(D::Notify), reported()];
        for (extra, want) in [
            (vec![], State::Reported),
            (vec![C::Supplement(None)], State::Supplemented),
            (vec![C::Withdraw(None)], State::Withdrawn),
        ] {
            let mut path = base.clone();
            path.extend(extra);
            path.push(C::Close);
            path.push(C::Reopen);
            let c = at(&path);
            assert_eq!(c.state, want);
            assert_eq!(c.imy_ref, Some(imy()));
            assert_eq!(c.closed_at, None);
        }
        // A reopened no-notify case can be reassessed and notified; the clock
        // resumes on the reassessment.
        let c = at(&[
            ack(),
            assess(A::NoRisk),
            decide(D::DoNotNotify),
            C::Close,
            C::Reopen,
        ]);
        assert_eq!(
            (c.state, c.decision),
            (State::Decided, Some(D::DoNotNotify))
        );
        assert!(!c.deadline_clock_running());
        let t = c.apply(&assess(A::Risk), "a", aware()).unwrap();
        assert!(t.case.deadline_clock_running());
    }

    #[test]
    fn ack_records_who_and_when_and_a_second_ack_says_so() {
        let t = opened()
            .apply(&ack(), "anna@kommun.example", aware() + Duration::hours(2))
            .unwrap();
        assert_eq!(
            t.case.acknowledged_by.as_deref(),
            Some("anna@kommun.example")
        );
        let err = t
            .case
            .apply(&ack(), "bo@kommun.example", aware() + Duration::hours(3))
            .unwrap_err();
        // 11:00Z is 12:00 in Stockholm on 27 March (winter time).
        assert_eq!(
            err.sv(Stockholm),
            "Ärendet är redan kvitterat av anna@kommun.example 2026-03-27 12:00."
        );
    }

    #[test]
    fn ack_on_an_older_row_without_acknowledgement_keeps_its_state() {
        let mut c = at(&[ack(), assess(A::Risk)]);
        c.acknowledged_at = None;
        c.acknowledged_by = None;
        let t = c.apply(&ack(), "bo@kommun.example", aware()).unwrap();
        assert_eq!(t.case.state, State::Assessed);
        assert_eq!(t.case.acknowledged_by.as_deref(), Some("bo@kommun.example"));
        assert!(t.effects.contains(&Effect::StopAckEscalation));
    }

    #[test]
    fn error_texts_exist_in_both_languages_for_every_error() {
        use TransitionError as E;
        let all = vec![
            E::Closed,
            E::NotClosed,
            E::AlreadyAcknowledged {
                by: None,
                at: aware(),
            },
            E::NotAssessed,
            E::NoNotifyWithRisk {
                assessment: A::Risk,
            },
            E::NotDecided,
            E::DecidedNotToNotify,
            already(),
            E::LateWithoutDelayReason { deadline: aware() },
            not_reported("supplement"),
            E::Withdrawn,
            E::CannotClose {
                state: State::Received,
            },
            E::MergeIntoItself,
            E::MergeTargetMissing {
                target: "PUI-2026-0009".into(),
            },
            E::MergeTargetClosed {
                target: "PUI-2026-0009".into(),
            },
            E::MergedInto {
                target: "PUI-2026-0009".into(),
            },
        ];
        for e in all {
            let (sv, en) = (e.sv(Stockholm), e.en(Stockholm));
            assert!(!sv.is_empty() && !en.is_empty() && sv != en, "{e:?}");
            let fx = e.effects(&C::Close, Stockholm);
            assert!(
                matches!(&fx[0], Effect::RecordTimeline { kind, .. } if kind == "command_refused")
            );
            assert!(matches!(&fx[1], Effect::AnswerRefusal { .. }));
        }
        assert!(already()
            .sv(Stockholm)
            .starts_with("Ärendet är redan anmält till IMY"));
        assert!(already()
            .en(Stockholm)
            .starts_with("The case is already reported"));
    }

    mod merge {
        use super::*;

        fn named(seq: u32) -> CaseRef {
            CaseRef::new("PUI", 2026, seq)
        }

        /// Case `seq`, opened `hours` after [`aware`] with that awareness.
        fn case(seq: u32, hours: i64) -> Case {
            let at = aware() + Duration::hours(hours);
            Case::open(named(seq), at, at, None).0
        }

        fn merge(
            source: &Case,
            target: Option<&Case>,
            seq: u32,
        ) -> Result<Transition, TransitionError> {
            source.apply_with_target(
                &C::Merge(named(seq)),
                "anna@kommun.example",
                aware() + Duration::hours(30),
                target,
            )
        }

        #[test]
        fn the_source_closes_and_the_target_takes_the_earlier_awareness() {
            // Source 8 became known 5 h before target 7 (opened from a later
            // forward): the earlier awareness wins and the target says so.
            let source = case(8, 0);
            let target = case(7, 5);
            let t = merge(&source, Some(&target), 7).unwrap();
            assert_eq!(t.case.state, State::Closed);
            assert_eq!(t.case.state_before_close, Some(State::Received));
            assert!(t.case.closed_at.is_some());
            assert_eq!(
                kinds(&t.effects),
                vec![
                    "timeline",
                    "merge",
                    "stop_ack",
                    "stop_reminders",
                    "confirm",
                    "roster"
                ]
            );
            match &t.effects[0] {
                Effect::RecordTimeline { kind, data } => {
                    assert_eq!(kind, "merged_into");
                    assert_eq!(data["target"], json!("PUI-2026-0007"));
                    assert_eq!(data["aware_at_moved"], json!(true));
                    assert_eq!(data["state"], json!("closed"));
                }
                other => panic!("{other:?}"),
            }
            match &t.effects[1] {
                Effect::MergeInto {
                    target: next,
                    aware_at_moved,
                    data,
                } => {
                    assert!(*aware_at_moved);
                    assert_eq!(next.case_ref, named(7));
                    assert_eq!(next.aware_at, source.aware_at);
                    assert_eq!(next.state, target.state);
                    assert_eq!(data["from"], json!("PUI-2026-0008"));
                    assert_eq!(data["previous_aware_at"], json!(target.aware_at));
                    assert_eq!(data["deadline"], json!(clock::deadline(source.aware_at)));
                }
                other => panic!("{other:?}"),
            }
            let confirm = t.effects.iter().find_map(|e| match e {
                Effect::Confirm { sv, en } => Some((sv.clone(), en.clone())),
                _ => None,
            });
            let (sv, en) = confirm.unwrap();
            assert!(
                sv.contains("sammanfogat med PUI-2026-0007") && sv.contains("tidigare"),
                "{sv}"
            );
            assert!(
                en.contains("merged into PUI-2026-0007") && en.contains("earlier"),
                "{en}"
            );
        }

        #[test]
        fn a_later_source_leaves_the_target_awareness_and_says_nothing_of_it() {
            let source = case(8, 5);
            let target = case(7, 0);
            let t = merge(&source, Some(&target), 7).unwrap();
            match &t.effects[1] {
                Effect::MergeInto {
                    target: next,
                    aware_at_moved,
                    ..
                } => {
                    assert!(!*aware_at_moved);
                    assert_eq!(next.as_ref(), &target);
                }
                other => panic!("{other:?}"),
            }
            assert!(t
                .effects
                .iter()
                .any(|e| matches!(e, Effect::Confirm { sv, .. } if !sv.contains("tidigare"))));
        }

        #[test]
        fn refusals_leave_the_case_and_say_why() {
            let source = case(8, 0);
            let mut closed = case(7, 0);
            closed.state = State::Closed;
            let other = case(9, 0);
            for (target, seq, want) in [
                (Some(&source), 8, TransitionError::MergeIntoItself),
                (
                    None,
                    7,
                    TransitionError::MergeTargetMissing {
                        target: "PUI-2026-0007".into(),
                    },
                ),
                // A case found under another reference is not the named one.
                (
                    Some(&other),
                    7,
                    TransitionError::MergeTargetMissing {
                        target: "PUI-2026-0007".into(),
                    },
                ),
                (
                    Some(&closed),
                    7,
                    TransitionError::MergeTargetClosed {
                        target: "PUI-2026-0007".into(),
                    },
                ),
            ] {
                assert_eq!(merge(&source, target, seq).unwrap_err(), want);
            }
            // The merged-away case stays closed: reopening is refused, a note
            // still goes on its timeline.
            let merged = merge(&source, Some(&case(7, 0)), 7).unwrap().case;
            assert_eq!(merged.merged_into, Some(named(7)));
            assert_eq!(
                merged.apply(&C::Reopen, "a", aware()).unwrap_err(),
                TransitionError::MergedInto {
                    target: "PUI-2026-0007".into()
                }
            );
            assert!(merged.apply(&C::Note("x".into()), "a", aware()).is_ok());
            // A closed source is refused like every command on a closed case.
            let mut gone = case(8, 0);
            gone.state = State::Closed;
            assert_eq!(
                merge(&gone, Some(&case(7, 0)), 7).unwrap_err(),
                TransitionError::Closed
            );
            // Without the target at hand (plain apply) a merge is refused.
            assert!(matches!(
                source.apply(&C::Merge(named(7)), "a", aware()),
                Err(TransitionError::MergeTargetMissing { .. })
            ));
        }
    }

    mod reply {
        use super::*;
        use crate::core::routing::{Committee, Contact};

        fn contact(a: &str) -> Contact {
            Contact {
                name: a.into(),
                address: a.into(),
                title: None,
            }
        }

        fn route() -> Route {
            Route {
                committee: Committee {
                    name: "Kommunstyrelsen".into(),
                    diarie_prefix: "KS".into(),
                    delegation_point: "1.4.2".into(),
                    delegation_point_art34: None,
                },
                official: contact("anna@kommun.example"),
                deputy: contact("bo@kommun.example"),
                dpo: contact("dso@dpo.example"),
                coordinator: None,
            }
        }

        fn cfg() -> AuthConfig {
            AuthConfig {
                trusted_authserv_ids: vec!["mx.kommun.example".into()],
                trust_local_submission: false,
                ..Default::default()
            }
        }

        const PASS: &[&str] = &["mx.kommun.example; dmarc=pass header.from=kommun.example"];
        const FORGED: &[&str] = &["mx.evil.example; dmarc=pass header.from=kommun.example"];

        fn run(sender: &str, text: &str, auth: &[&str]) -> ReplyOutcome {
            let origin = crate::core::auth::Origin {
                from_fields: 1,
                from_addresses: vec![sender.to_lowercase()],
                trace: auth
                    .iter()
                    .map(|a| crate::core::auth::TraceHeader::AuthenticationResults(a.to_string()))
                    .collect(),
            };
            let reply = Reply {
                sender,
                text,
                origin: &origin,
            };
            handle_reply(
                &opened(),
                &route(),
                &cfg(),
                &reply,
                aware() + Duration::hours(2),
                Stockholm,
                None,
            )
        }

        fn timeline_kind(o: &ReplyOutcome) -> &str {
            match &o.effects[0] {
                Effect::RecordTimeline { kind, .. } => kind.as_str(),
                other => panic!("{other:?}"),
            }
        }

        #[test]
        fn an_authenticated_command_moves_the_case_and_keeps_the_body() {
            let o = run(
                "Anna@Kommun.example",
                "Kvittera\nJag tittar på det i dag.\n\n> Ny incident",
                PASS,
            );
            assert_eq!(o.case.as_ref().map(|c| c.state), Some(State::Acknowledged));
            assert_eq!(timeline_kind(&o), "acknowledged");
            match &o.effects[0] {
                Effect::RecordTimeline { data, .. } => {
                    assert_eq!(data["body"], json!("Jag tittar på det i dag."));
                    assert_eq!(data["role"], json!("official"));
                    assert_eq!(data["via"]["via"], json!("dmarc"));
                }
                other => panic!("{other:?}"),
            }
            assert!(o.effects.contains(&Effect::StopAckEscalation));
            assert_eq!(o.lang, Some(Lang::Sv));
            let o = run("anna@kommun.example", "decide: maybe", PASS);
            assert_eq!(o.lang, Some(Lang::En));
        }

        #[test]
        fn a_forged_command_changes_nothing_and_is_not_answered() {
            for (sender, auth) in [
                ("anna@kommun.example", FORGED),
                ("mallory@evil.example", PASS),
                ("anna@kommun.example", &[][..]),
            ] {
                for text in ["beslut: ej anmäl", "beslut: kanske"] {
                    let o = run(sender, text, auth);
                    assert_eq!(o.case, None, "{sender} {text}");
                    assert_eq!(o.effects.len(), 1, "{sender} {text}: {:?}", o.effects);
                    assert_eq!(timeline_kind(&o), "command_unauthorised");
                    assert_eq!(o.lang, None);
                }
            }
        }

        #[test]
        fn a_follow_up_from_anyone_goes_on_the_timeline_only() {
            let o = run(
                "support@supplier.example",
                "Hej, här är vår slutrapport.",
                &[],
            );
            assert_eq!(o.case, None);
            assert_eq!(o.effects.len(), 1);
            assert_eq!(timeline_kind(&o), "follow_up");
        }

        #[test]
        fn invalid_or_refused_commands_from_the_roster_are_answered() {
            let o = run("bo@kommun.example", "beslut: kanske", PASS);
            assert_eq!(o.case, None);
            assert_eq!(timeline_kind(&o), "command_invalid");
            assert!(
                matches!(&o.effects[1], Effect::AnswerRefusal { sv, .. } if sv.contains("ej anmäl"))
            );

            let o = run("bo@kommun.example", "beslut: anmäl", PASS);
            assert_eq!(o.case, None);
            assert_eq!(timeline_kind(&o), "command_refused");
            assert!(
                matches!(&o.effects[1], Effect::AnswerRefusal { sv, .. } if sv.contains("bedömning"))
            );
        }
    }
}
