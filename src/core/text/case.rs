//! What the case machine says when a command is carried out, Swedish first,
//! English second, in the order of the commands: what the sender of a command
//! reads back (`confirm_*`) and what the rest of the roster hears
//! (`roster_*`). Why a command was refused is in `refusal.rs`.

use super::Texts;
use crate::core::case::{Assessment, Decision, Nis2Report, State};

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

// --- NIS2 (`nis2.rs`) -------------------------------------------------------

pub(crate) fn confirm_nis2_decided(r: &str, applies: bool) -> Texts {
    if applies {
        (
            format!("NIS2 gäller för ärende {r}. Fristerna: tidig varning inom 24 timmar och incidentanmälan inom 72 timmar från kännedom, slutrapport en månad efter incidentanmälan. Svara \"tidig varning skickad\", \"incidentanmälan skickad REF\" och \"slutrapport skickad\" när de är gjorda, och \"incident hanterad\" när incidenten är hanterad. Utkast till tidig varning och incidentanmälan bifogas när de kan göras."),
            format!("NIS2 applies to case {r}. The deadlines: early warning within 24 hours and incident notification within 72 hours of awareness, final report one month after the incident notification. Reply \"early warning sent\", \"incident notification sent REF\" and \"final report sent\" as they are done, and \"incident handled\" when the incident is handled. Drafts of the early warning and the incident notification are attached when they can be made."),
        )
    } else {
        (
            format!("NIS2 gäller inte för ärende {r}. Påminnelserna om NIS2-fristerna är stoppade; fristen mot IMY löper som förut."),
            format!("NIS2 does not apply to case {r}. The NIS2 reminders are stopped; the IMY deadline runs as before."),
        )
    }
}

pub(crate) fn roster_nis2_decided(r: &str, applies: bool, reasoning: Option<&str>) -> Texts {
    let (sv, en) = if applies {
        ("NIS2 gäller", "NIS2 applies")
    } else {
        ("NIS2 gäller inte", "NIS2 does not apply")
    };
    let why = reasoning.map(|w| format!(" ({w})")).unwrap_or_default();
    (
        format!("Ärende {r}: {sv}{why}."),
        format!("Case {r}: {en}{why}."),
    )
}

pub(crate) fn confirm_nis2_report(
    r: &str,
    which: Nis2Report,
    authority_ref: Option<&str>,
    late: bool,
) -> Texts {
    let with_ref = |s: &str| {
        authority_ref
            .map(|a| format!(" ({s} {a})"))
            .unwrap_or_default()
    };
    let (late_sv, late_en) = if late {
        (
            " Den skickades efter fristen; skälet kan noteras med \"notering: …\".",
            " It was sent after the deadline; the reason can be noted with \"note: …\".",
        )
    } else {
        ("", "")
    };
    let (next_sv, next_en) = match which {
        Nis2Report::EarlyWarning => (" Nästa: incidentanmälan inom 72 timmar från kännedom, \"incidentanmälan skickad REF\".", " Next: the incident notification within 72 hours of awareness, \"incident notification sent REF\"."),
        Nis2Report::IncidentNotification => (" Nästa: slutrapport inom en månad, \"slutrapport skickad\" (eller \"lägesrapport skickad\" om incidenten pågår då).", " Next: the final report within one month, \"final report sent\" (or \"progress report sent\" if the incident is still ongoing then)."),
        Nis2Report::ProgressReport => (" Slutrapporten lämnas inom en månad efter att incidenten hanterats.", " The final report is due within one month after the incident was handled."),
        Nis2Report::FinalReport => (" Alla NIS2-rapporter för ärendet är registrerade.", " Every NIS2 report of the case is recorded."),
    };
    (
        format!(
            "Registrerat i ärende {r}: {} är skickad{}.{late_sv}{next_sv}",
            which.sv(),
            with_ref("referens")
        ),
        format!(
            "Recorded in case {r}: {} is sent{}.{late_en}{next_en}",
            which.en(),
            with_ref("reference")
        ),
    )
}

pub(crate) fn confirm_nis2_handled(
    r: &str,
    final_due: Option<chrono::DateTime<chrono::Utc>>,
    notified: bool,
    tz: chrono_tz::Tz,
) -> Texts {
    let when = |at| crate::core::local_time::minute(at, tz);
    match (final_due, notified) {
        (Some(at), _) => (
            format!("Registrerat i ärende {r}: incidenten är hanterad. Slutrapporten enligt NIS2 ska lämnas senast {}; svara \"slutrapport skickad\" när den är skickad.", when(at)),
            format!("Recorded in case {r}: the incident is handled. The final report under NIS2 is due by {}; reply \"final report sent\" when it is sent.", when(at)),
        ),
        (None, false) => (
            format!("Registrerat i ärende {r}: incidenten är hanterad. Slutrapporten ska lämnas en månad efter incidentanmälan; svara \"incidentanmälan skickad REF\" när den är skickad."),
            format!("Recorded in case {r}: the incident is handled. The final report is due one month after the incident notification; reply \"incident notification sent REF\" when it is sent."),
        ),
        (None, true) => (
            format!("Registrerat i ärende {r}: incidenten är hanterad."),
            format!("Recorded in case {r}: the incident is handled."),
        ),
    }
}

pub(crate) fn roster_nis2_handled(r: &str) -> Texts {
    (
        format!("Ärende {r}: incidenten är registrerad som hanterad (NIS2)."),
        format!("Case {r}: the incident is recorded as handled (NIS2)."),
    )
}

pub(crate) fn roster_nis2_report(r: &str, which: Nis2Report, authority_ref: Option<&str>) -> Texts {
    let with_ref = authority_ref.map(|a| format!(" ({a})")).unwrap_or_default();
    (
        format!(
            "Ärende {r}: {} enligt NIS2 är skickad{with_ref}.",
            which.sv()
        ),
        format!("Case {r}: {} under NIS2 is sent{with_ref}.", which.en()),
    )
}
