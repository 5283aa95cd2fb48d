//! `bedömning`/`assess`: the risk assessment; it clears a decision that rested
//! on the previous one.

use super::*;

pub(super) fn assess(
    case: &Case,
    step: &mut Step<'_>,
    a: &Assessment,
) -> Result<Done, TransitionError> {
    let r = case.case_ref.as_str();
    case.refuse_if_reported()?;
    step.next.state = State::Assessed;
    step.next.assessment = Some(*a);
    step.next.assessed_at = Some(step.now);
    // A decision rested on the previous assessment.
    step.next.decision = None;
    step.next.decided_at = None;
    step.next.decided_by = None;
    Ok((
        EventKind::Assessed,
        json!({
            "assessment": a,
            "previous": case.assessment,
            "replaces_decision": case.decision,
        }),
        text::confirm_assess(r, *a),
    ))
}
