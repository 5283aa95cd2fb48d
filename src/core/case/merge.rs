//! `sammanfoga`/`merge`: this case closes for good and the named one takes the
//! earlier awareness of the two.

use super::*;

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

pub(super) fn merge(
    case: &Case,
    step: &mut Step<'_>,
    named: &CaseRef,
    target: Option<&Case>,
) -> Result<Done, TransitionError> {
    let r = case.case_ref.as_str();
    let (target, moved, data) = merge_target(case, named, target)?;
    step.next.state = State::Closed;
    step.next.closed_at = Some(step.now);
    step.next.state_before_close = Some(case.state);
    step.next.merged_into = Some(named.clone());
    step.effects.push(Effect::MergeInto {
        target: Box::new(target),
        aware_at_moved: moved,
        data,
    });
    step.notify_roster = Some(text::roster_merge(r, named.as_str(), moved));
    Ok((
        EventKind::MergedInto,
        json!({ "target": named, "from": case.state, "aware_at_moved": moved }),
        text::confirm_merge(r, named.as_str(), moved),
    ))
}
