//! `kvittera`/`ack`: someone has looked at the case; the escalation stops.

use super::*;

pub(super) fn ack(case: &Case, step: &mut Step<'_>) -> Result<Done, TransitionError> {
    let r = case.case_ref.as_str();
    if let Some(at) = case.acknowledged_at {
        return Err(TransitionError::AlreadyAcknowledged {
            by: case.acknowledged_by.clone(),
            at,
        });
    }
    step.next.acknowledged_at = Some(step.now);
    step.next.acknowledged_by = Some(step.actor.to_string());
    // Only a fresh case moves; a stored case that is further along
    // without an acknowledgement (older data) just gets it recorded.
    if case.state == State::Received {
        step.next.state = State::Acknowledged;
    }
    Ok((EventKind::Acknowledged, json!({}), text::confirm_ack(r)))
}
