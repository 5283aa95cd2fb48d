//! `notering`/`note` (every state) and `diarienummer` (every state but closed):
//! neither changes the state.

use super::*;

pub(super) fn note(case: &Case, text: &str) -> Done {
    let r = case.case_ref.as_str();
    (
        EventKind::Note,
        json!({ "text": text }),
        text::confirm_note(r),
    )
}

/// `diarienummer: KS 2026/0123`: records the registry's number of the case, in
/// any state but closed (the registry may number a case at any point). The state
/// does not change; a new number replaces the old one, which stays on the
/// timeline.
pub(super) fn diarienummer(case: &Case, step: &mut Step<'_>, d: &Diarienummer) -> Done {
    let r = case.case_ref.as_str();
    step.next.diarienummer = Some(d.clone());
    (
        EventKind::Diarienummer,
        json!({ "diarienummer": d, "previous": case.diarienummer }),
        text::confirm_diarienummer(r, d),
    )
}
