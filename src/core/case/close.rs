//! `stäng`/`close` and `återöppna`/`reopen` (back to the state before closing).

use super::*;

pub(super) fn close(case: &Case, step: &mut Step<'_>) -> Result<Done, TransitionError> {
    let r = case.case_ref.as_str();
    let ok = match case.state {
        State::Reported | State::Supplemented | State::Withdrawn => true,
        State::Decided => case.decision == Some(Decision::DoNotNotify),
        _ => false,
    };
    if !ok {
        return Err(TransitionError::CannotClose { state: case.state });
    }
    step.next.state = State::Closed;
    step.next.closed_at = Some(step.now);
    step.next.state_before_close = Some(case.state);
    step.notify_roster = Some(text::closed(r));
    Ok((
        EventKind::Closed,
        json!({ "from": case.state }),
        text::closed(r),
    ))
}

pub(super) fn reopen(case: &Case, step: &mut Step<'_>) -> Result<Done, TransitionError> {
    let r = case.case_ref.as_str();
    if case.state != State::Closed {
        return Err(TransitionError::NotClosed);
    }
    // Its messages and awareness live on in the target now.
    if let Some(target) = &case.merged_into {
        return Err(TransitionError::MergedInto {
            target: target.to_string(),
        });
    }
    // Close is only allowed from these states, so the fallback is for a
    // row stored without `state_before_close`: derive it from the data.
    let back = case
        .state_before_close
        .unwrap_or(if case.withdrawn_at.is_some() {
            State::Withdrawn
        } else if case.imy_ref.is_some() {
            State::Reported
        } else {
            State::Decided
        });
    step.next.state = back;
    step.next.closed_at = None;
    step.next.state_before_close = None;
    step.notify_roster = Some(text::roster_reopen(r));
    Ok((
        EventKind::Reopened,
        json!({ "to": back }),
        text::confirm_reopen(r, back),
    ))
}
