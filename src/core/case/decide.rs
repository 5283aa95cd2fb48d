//! `beslut`/`decide`: needs an assessment, and "no-notify" needs "no risk";
//! the official gets the draft decision.

use super::*;

pub(super) fn decide(
    case: &Case,
    step: &mut Step<'_>,
    d: &Decision,
) -> Result<Done, TransitionError> {
    let r = case.case_ref.as_str();
    case.refuse_if_reported()?;
    let Some(a) = case.assessment else {
        return Err(TransitionError::NotAssessed);
    };
    if *d == Decision::DoNotNotify && a != Assessment::NoRisk {
        return Err(TransitionError::NoNotifyWithRisk { assessment: a });
    }
    step.next.state = State::Decided;
    step.next.decision = Some(*d);
    step.next.decided_at = Some(step.now);
    step.next.decided_by = Some(step.actor.to_string());
    step.effects.push(Effect::SendDraft {
        decision: *d,
        assessment: a,
    });
    step.notify_roster = Some(text::roster_decide(r, *d, a));
    Ok((
        EventKind::Decided,
        json!({ "decision": d, "assessment": a, "previous": case.decision }),
        text::confirm_decide(r, *d),
    ))
}
