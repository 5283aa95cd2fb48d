//! After the decision to notify: `anmält`/`reported` (late only with a delay
//! reason), `försening`/`delay`, `komplettering`/`supplement`, `återtag`/`withdraw`.

use super::*;

pub(super) fn reported(
    case: &Case,
    step: &mut Step<'_>,
    imy_ref: &ImyRef,
) -> Result<Done, TransitionError> {
    let r = case.case_ref.as_str();
    case.refuse_if_reported()?;
    match (case.state, case.decision) {
        (State::Decided, Some(d)) if d.notifies() => {}
        (State::Decided, Some(_)) => return Err(TransitionError::DecidedNotToNotify),
        _ => return Err(TransitionError::NotDecided),
    }
    let deadline = case.deadline();
    let late = step.now > deadline;
    if late && case.delay_reason.is_none() {
        return Err(TransitionError::LateWithoutDelayReason { deadline });
    }
    step.next.state = State::Reported;
    step.next.imy_ref = Some(imy_ref.clone());
    step.next.reported_at = Some(step.now);
    step.notify_roster = Some(text::roster_reported(r, imy_ref));
    Ok((
        EventKind::Reported,
        json!({
            "imy_ref": imy_ref,
            "late": late,
            "delay_reason": case.delay_reason,
        }),
        text::confirm_reported(r, imy_ref),
    ))
}

pub(super) fn delay(
    case: &Case,
    step: &mut Step<'_>,
    reason: &str,
) -> Result<Done, TransitionError> {
    let r = case.case_ref.as_str();
    step.next.delay_reason = Some(reason.to_string());
    Ok((
        EventKind::DelayReason,
        json!({ "reason": reason, "previous": case.delay_reason }),
        text::confirm_delay(r),
    ))
}

pub(super) fn supplement(
    case: &Case,
    step: &mut Step<'_>,
    text: Option<&str>,
) -> Result<Done, TransitionError> {
    let r = case.case_ref.as_str();
    require_reported(case, "supplement")?;
    step.next.state = State::Supplemented;
    step.next.supplements = case.supplements.saturating_add(1);
    step.notify_roster = Some(text::roster_supplement(r, step.next.supplements));
    Ok((
        EventKind::Supplemented,
        json!({ "number": step.next.supplements, "text": text }),
        text::confirm_supplement(r, step.next.supplements),
    ))
}

pub(super) fn withdraw(
    case: &Case,
    step: &mut Step<'_>,
    text: Option<&str>,
) -> Result<Done, TransitionError> {
    let r = case.case_ref.as_str();
    require_reported(case, "withdraw")?;
    step.next.state = State::Withdrawn;
    step.next.withdrawn_at = Some(step.now);
    step.notify_roster = Some(text::roster_withdraw(r));
    Ok((
        EventKind::Withdrawn,
        json!({ "text": text }),
        text::confirm_withdraw(r),
    ))
}

/// Supplements and withdrawal come only after the report to IMY, and never
/// after a withdrawal.
fn require_reported(case: &Case, command: &str) -> Result<(), TransitionError> {
    match case.state {
        State::Reported | State::Supplemented => Ok(()),
        State::Withdrawn => Err(TransitionError::Withdrawn),
        _ => Err(TransitionError::NotReported {
            command: command.into(),
        }),
    }
}
