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
    step.notify_roster = Some((
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
    Ok((
        EventKind::Decided,
        json!({ "decision": d, "assessment": a, "previous": case.decision }),
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
    ))
}
