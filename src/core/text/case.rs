//! What the case machine says when a command is carried out, Swedish first,
//! English second, in the order of the commands: what the sender of a command
//! reads back (`confirm_*`) and what the rest of the roster hears
//! (`roster_*`). Why a command was refused is in `refusal.rs`.

use super::Texts;
use crate::core::case::{Assessment, Decision, State};

pub(crate) fn confirm_note(r: &str) -> Texts {
    (
        format!("Noteringen är sparad i ärende {r}."),
        format!("The note is saved in case {r}."),
    )
}

pub(crate) fn confirm_diarienummer(r: &str, d: &impl std::fmt::Display) -> Texts {
    (
        format!("Ärende {r} har diarienummer {d}. Det används i alla dokument och ämnesrader framöver."),
        format!("Case {r} has the registry number {d}. It is used in every document and subject from now on."),
    )
}

pub(crate) fn confirm_ack(r: &str) -> Texts {
    (
        format!("Ärende {r} är kvitterat. Nästa steg: \"bedömning: ingen risk|risk|hög risk\"."),
        format!("Case {r} is acknowledged. Next: \"assess: none|risk|high\"."),
    )
}

pub(crate) fn confirm_assess(r: &str, a: Assessment) -> Texts {
    (
        format!("Bedömningen \"{}\" är registrerad i ärende {r}. Nästa steg: \"beslut: anmäl|anmäl och informera|ej anmäl\".", a.sv()),
        format!("The assessment \"{}\" is recorded in case {r}. Next: \"decide: notify|notify-inform|no-notify\".", a.en()),
    )
}

pub(crate) fn roster_decide(r: &str, d: Decision, a: Assessment) -> Texts {
    (
        format!("Beslut i ärende {r}: {} (bedömning: {}).", d.sv(), a.sv()),
        format!("Decision in case {r}: {} (assessment: {}).", d.en(), a.en()),
    )
}

pub(crate) fn confirm_decide(r: &str, d: Decision) -> Texts {
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
        format!(
            "Beslutet \"{}\" är registrerat i ärende {r}. {next_sv}",
            d.sv()
        ),
        format!(
            "The decision \"{}\" is recorded in case {r}. {next_en}",
            d.en()
        ),
    )
}

pub(crate) fn roster_reported(r: &str, imy_ref: &impl std::fmt::Display) -> Texts {
    (
        format!("Ärende {r} är anmält till IMY ({imy_ref})."),
        format!("Case {r} is reported to IMY ({imy_ref})."),
    )
}

pub(crate) fn confirm_reported(r: &str, imy_ref: &impl std::fmt::Display) -> Texts {
    (
        format!("Anmälan till IMY ({imy_ref}) är registrerad i ärende {r}. Påminnelserna om fristen är stoppade."),
        format!("The notification to IMY ({imy_ref}) is recorded in case {r}. The deadline reminders are stopped."),
    )
}

pub(crate) fn confirm_delay(r: &str) -> Texts {
    (
        format!("Skälet till förseningen är sparat i ärende {r}."),
        format!("The reason for the delay is saved in case {r}."),
    )
}

pub(crate) fn roster_supplement(r: &str, number: u32) -> Texts {
    (
        format!("Ärende {r}: komplettering nr {number} till IMY."),
        format!("Case {r}: supplement no. {number} to IMY."),
    )
}

pub(crate) fn confirm_supplement(r: &str, number: u32) -> Texts {
    (
        format!("Komplettering nr {number} är registrerad i ärende {r}."),
        format!("Supplement no. {number} is recorded in case {r}."),
    )
}

pub(crate) fn roster_withdraw(r: &str) -> Texts {
    (
        format!("Anmälan i ärende {r} är återtagen."),
        format!("The notification in case {r} is withdrawn."),
    )
}

pub(crate) fn confirm_withdraw(r: &str) -> Texts {
    (
        format!(
            "Återtagandet av anmälan är registrerat i ärende {r}. Stäng ärendet med \"stäng\"."
        ),
        format!("The withdrawal is recorded in case {r}. Close the case with \"close\"."),
    )
}

/// Both the sender and the roster read this.
pub(crate) fn closed(r: &str) -> Texts {
    (
        format!("Ärende {r} är stängt."),
        format!("Case {r} is closed."),
    )
}

pub(crate) fn roster_reopen(r: &str) -> Texts {
    (
        format!("Ärende {r} är återöppnat."),
        format!("Case {r} is reopened."),
    )
}

pub(crate) fn confirm_reopen(r: &str, back: State) -> Texts {
    (
        format!("Ärende {r} är återöppnat ({}).", back.sv()),
        format!("Case {r} is reopened ({}).", back.en()),
    )
}

/// The sentence a merge adds when the target's awareness moved (empty when
/// it did not).
fn merge_moved(r: &str, named: &str, moved: bool) -> Texts {
    if moved {
        (
            format!(" Kännedomen i {named} flyttades till den tidigare tidpunkten från {r}; fristen och påminnelserna räknas om från den."),
            format!(" The awareness of {named} moved to the earlier instant from {r}; the deadline and reminders are recomputed from it."),
        )
    } else {
        (String::new(), String::new())
    }
}

pub(crate) fn roster_merge(r: &str, named: &str, moved: bool) -> Texts {
    let (moved_sv, moved_en) = merge_moved(r, named, moved);
    (
        format!("Ärende {r} är sammanfogat med {named} och stängt.{moved_sv}"),
        format!("Case {r} is merged into {named} and closed.{moved_en}"),
    )
}

pub(crate) fn confirm_merge(r: &str, named: &str, moved: bool) -> Texts {
    let (moved_sv, moved_en) = merge_moved(r, named, moved);
    (
        format!("Ärende {r} är sammanfogat med {named}: meddelandena finns nu i {named}, och {r} är stängt.{moved_sv}"),
        format!("Case {r} is merged into {named}: its messages are now in {named}, and {r} is closed.{moved_en}"),
    )
}
