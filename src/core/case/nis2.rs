//! The NIS2 commands (issue 16): `nis2: ja|nej` decides whether the NIS2
//! chain of `core::regime` applies (with the reasoning written after it);
//! the report commands record what was sent to the authority, each closing
//! its deadline. None of them changes the case's GDPR state; they are
//! accepted in every state (closed too: the final report often comes after
//! the GDPR case is closed), but not on a case merged away.
//!
//! - `nis2: nej` stops the NIS2 clocks (and their reminders); `nis2: ja`
//!   starts them again, or confirms a suggestion.
//! - a report needs NIS2 to be suggested or to apply (a report sent while it
//!   is only suggested is recorded; the official still decides);
//! - each report once (a second one is refused, naming the first);
//! - the progress and final reports need the incident notification first
//!   (their deadline counts from it).

use chrono::Duration;

use super::*;
use crate::core::commands::Nis2Command;
use crate::core::regime::{self, Nis2Status};

/// Which NIS2 report a command or refusal is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Nis2Report {
    EarlyWarning,
    IncidentNotification,
    ProgressReport,
    FinalReport,
}

impl Nis2Report {
    pub fn sv(self) -> &'static str {
        match self {
            Nis2Report::EarlyWarning => "den tidiga varningen",
            Nis2Report::IncidentNotification => "incidentanmälan",
            Nis2Report::ProgressReport => "lägesrapporten",
            Nis2Report::FinalReport => "slutrapporten",
        }
    }
    pub fn en(self) -> &'static str {
        match self {
            Nis2Report::EarlyWarning => "the early warning",
            Nis2Report::IncidentNotification => "the incident notification",
            Nis2Report::ProgressReport => "the progress report",
            Nis2Report::FinalReport => "the final report",
        }
    }
}

pub(super) fn nis2(
    case: &Case,
    step: &mut Step<'_>,
    c: &Nis2Command,
) -> Result<Done, TransitionError> {
    if let Some(target) = &case.merged_into {
        return Err(TransitionError::MergedInto {
            target: target.to_string(),
        });
    }
    match c {
        Nis2Command::Decide { applies, reasoning } => {
            Ok(decide(case, step, *applies, reasoning.as_deref()))
        }
        Nis2Command::EarlyWarningSent => report(case, step, Nis2Report::EarlyWarning, None),
        Nis2Command::NotificationSent { authority_ref } => report(
            case,
            step,
            Nis2Report::IncidentNotification,
            Some(authority_ref.as_str()),
        ),
        Nis2Command::ProgressReportSent => report(case, step, Nis2Report::ProgressReport, None),
        Nis2Command::FinalReportSent => report(case, step, Nis2Report::FinalReport, None),
        Nis2Command::IncidentHandled => handled(case, step),
    }
}

fn decide(case: &Case, step: &mut Step<'_>, applies: bool, reasoning: Option<&str>) -> Done {
    let r = case.case_ref.as_str();
    let n = &mut step.next.nis2;
    n.status = if applies {
        Nis2Status::Applies
    } else {
        Nis2Status::DoesNotApply
    };
    n.decided_by = Some(step.actor.to_string());
    n.decided_at = Some(step.now);
    n.reasoning = reasoning.map(str::to_string);
    step.notify_roster = Some(text::roster_nis2_decided(r, applies, reasoning));
    (
        EventKind::Nis2Decided,
        json!({
            "applies": applies,
            "reasoning": reasoning,
            "previous": case.nis2.status,
            "suggested_reasons": case.nis2.reasons,
        }),
        text::confirm_nis2_decided(r, applies),
    )
}

fn report(
    case: &Case,
    step: &mut Step<'_>,
    which: Nis2Report,
    authority_ref: Option<&str>,
) -> Result<Done, TransitionError> {
    let r = case.case_ref.as_str();
    let n = &case.nis2;
    if !n.running() {
        return Err(TransitionError::Nis2NotRunning { report: which });
    }
    let sent = match which {
        Nis2Report::EarlyWarning => n.early_warning_sent_at,
        Nis2Report::IncidentNotification => n.notification_sent_at,
        Nis2Report::ProgressReport => n.progress_report_sent_at,
        Nis2Report::FinalReport => n.final_report_sent_at,
    };
    if let Some(at) = sent {
        return Err(TransitionError::Nis2AlreadySent { report: which, at });
    }
    let needs_notification = matches!(which, Nis2Report::ProgressReport | Nis2Report::FinalReport);
    if needs_notification && n.notification_sent_at.is_none() {
        return Err(TransitionError::Nis2NotificationFirst { report: which });
    }
    let due_at = case.nis2_due(which, step.tz);
    let late = due_at.is_some_and(|d| step.now > d);
    let now = step.now;
    let next = &mut step.next.nis2;
    match which {
        Nis2Report::EarlyWarning => next.early_warning_sent_at = Some(now),
        Nis2Report::IncidentNotification => {
            next.notification_sent_at = Some(now);
            next.notification_ref = authority_ref.map(str::to_string);
        }
        Nis2Report::ProgressReport => next.progress_report_sent_at = Some(now),
        Nis2Report::FinalReport => next.final_report_sent_at = Some(now),
    }
    let kind = match which {
        Nis2Report::EarlyWarning => EventKind::Nis2EarlyWarningSent,
        Nis2Report::IncidentNotification => EventKind::Nis2NotificationSent,
        Nis2Report::ProgressReport => EventKind::Nis2ProgressReportSent,
        Nis2Report::FinalReport => EventKind::Nis2FinalReportSent,
    };
    step.notify_roster = Some(text::roster_nis2_report(r, which, authority_ref));
    Ok((
        kind,
        json!({
            "report": which,
            "authority_ref": authority_ref,
            "due_at": due_at,
            "late": late,
            "nis2_status": n.status,
        }),
        text::confirm_nis2_report(r, which, authority_ref, late),
    ))
}

/// `incident hanterad` / `incident handled` (art. 23(4)(e)): records when
/// the incident was handled. Handled within a month of the incident
/// notification, the final report stays due at the one-month mark and no
/// progress report is needed; handled later (still ongoing at the mark), the
/// final report is due one month from now, and the reminders follow.
fn handled(case: &Case, step: &mut Step<'_>) -> Result<Done, TransitionError> {
    let r = case.case_ref.as_str();
    let n = &case.nis2;
    if !n.running() {
        return Err(TransitionError::Nis2HandledNotRunning);
    }
    if let Some(at) = n.handled_at {
        return Err(TransitionError::Nis2AlreadyHandled { at });
    }
    let now = step.now;
    let tz = step.tz;
    step.next.nis2.handled_at = Some(now);
    let due_of = |c: &Case, clock: regime::Clock| {
        regime::deadlines(c.aware_at, None, &c.nis2, tz)
            .into_iter()
            .find(|d| d.clock == clock)
            .and_then(|d| d.due_at)
    };
    let final_due = due_of(&step.next, regime::Clock::FinalReport);
    let progress_due = due_of(case, regime::Clock::ProgressReport);
    let progress_needed = step
        .next
        .deadlines(tz)
        .iter()
        .any(|d| d.clock == regime::Clock::ProgressReport);
    step.notify_roster = Some(text::roster_nis2_handled(r));
    Ok((
        EventKind::Nis2IncidentHandled,
        json!({
            "handled_at": now,
            "notification_sent_at": n.notification_sent_at,
            "progress_report_due_at": progress_due.filter(|_| progress_needed),
            "final_report_due_at": final_due,
            "nis2_status": n.status,
        }),
        text::confirm_nis2_handled(r, final_due, n.notification_sent_at.is_some(), tz),
    ))
}

impl Case {
    /// The deadline of one NIS2 report (None when it cannot be computed yet).
    /// The month clocks count in the configured zone `tz`
    /// (`regime::one_month_after`).
    fn nis2_due(&self, which: Nis2Report, tz: Tz) -> Option<DateTime<Utc>> {
        let clock = match which {
            Nis2Report::EarlyWarning => regime::Clock::EarlyWarning,
            Nis2Report::IncidentNotification => regime::Clock::IncidentNotification,
            Nis2Report::ProgressReport => regime::Clock::ProgressReport,
            Nis2Report::FinalReport => regime::Clock::FinalReport,
        };
        regime::deadlines(self.aware_at, None, &self.nis2, tz)
            .into_iter()
            .find(|d| d.clock == clock)
            .and_then(|d| d.due_at)
    }

    /// Every deadline of the case, GDPR's and NIS2's, with what closed them.
    pub fn deadlines(&self, tz: Tz) -> Vec<regime::Due> {
        regime::deadlines(self.aware_at, self.reported_at, &self.nis2, tz)
    }

    /// The case's nearest open deadline of any regime: GDPR art. 33's while
    /// its clock runs, and every open NIS2 deadline (none for a case merged
    /// away). The case lists sort by it (`cases.next_deadline_at`, written
    /// with every change of the case row); None when no clock runs.
    pub fn next_deadline(&self, tz: Tz) -> Option<(regime::Clock, DateTime<Utc>)> {
        let gdpr = self
            .deadline_clock_running()
            .then(|| (regime::Clock::ImyNotification, self.deadline()));
        let nis2 = if self.merged_into.is_some() {
            Vec::new()
        } else {
            regime::open_nis2(self.aware_at, &self.nis2, tz)
        };
        gdpr.into_iter()
            .chain(
                nis2.iter()
                    .filter_map(|d| d.pending().map(|at| (d.clock, at))),
            )
            .min_by_key(|(_, at)| *at)
    }

    /// The case's next NIS2 reminder strictly after `after` (None for a case
    /// merged away, or when NIS2 does not run).
    pub fn next_nis2_reminder(&self, tz: Tz, after: DateTime<Utc>) -> Option<regime::Nis2Reminder> {
        if self.merged_into.is_some() {
            return None;
        }
        regime::next_nis2_reminder(self.aware_at, &self.nis2, tz, after)
    }

    /// The case as opened with the reader's NIS2 suggestion: the status and
    /// the reasons, and the timeline event that records them. No reasons, no
    /// change.
    pub fn with_nis2_suggestion(
        mut self,
        reasons: Vec<regime::Nis2Reason>,
    ) -> (Case, Option<(EventKind, serde_json::Value)>) {
        if reasons.is_empty() {
            return (self, None);
        }
        let early = self
            .aware_at
            .checked_add_signed(Duration::hours(24))
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        let data = json!({
            "reasons": reasons,
            "early_warning_due_at": early,
            "why": "läsaren fann tecken på en betydande incident enligt NIS2 (art. 23); påminnelserna om den tidiga varningen (24 timmar) går från nu, tills tjänstepersonen svarar \"nis2: ja\" eller \"nis2: nej\"",
        });
        self.nis2.status = Nis2Status::Suggested;
        self.nis2.reasons = reasons;
        (self, Some((EventKind::Nis2Suggested, data)))
    }
}
