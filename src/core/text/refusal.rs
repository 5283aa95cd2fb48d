//! Why a command was refused, in words for its sender: Swedish first
//! (`sv`), then English (`en`), one arm per refusal in the same order. Times
//! are local in `tz`.

use chrono_tz::Tz;

use crate::core::case::TransitionError;
use crate::core::local_time::minute as local;

/// Swedish text for the sender; times in `tz`.
pub fn sv(e: &TransitionError, tz: Tz) -> String {
    match e {
            TransitionError::Closed => {
                "Ärendet är stängt. Skriv \"återöppna\" först om det ska hanteras igen.".into()
            }
            TransitionError::NotClosed => "Ärendet är inte stängt.".into(),
            TransitionError::AlreadyAcknowledged { by, at } => format!(
                "Ärendet är redan kvitterat{} {}.",
                by.as_deref().map(|b| format!(" av {b}")).unwrap_or_default(),
                local(*at, tz)
            ),
            TransitionError::NotAssessed => "Gör en bedömning först, t.ex. \"bedömning: risk\", innan beslut.".into(),
            TransitionError::NoNotifyWithRisk { assessment } => format!(
                "Beslutet \"ej anmäl\" kräver bedömningen \"ingen risk\" (bedömningen är nu \"{}\"). Ändra bedömningen först om den inte gäller längre.",
                assessment.sv()
            ),
            TransitionError::NotDecided => "Fatta beslut först (\"beslut: anmäl\" eller \"beslut: anmäl och informera\") innan anmälan registreras.".into(),
            TransitionError::DecidedNotToNotify => "Beslutet i ärendet är \"ej anmäl\". Gör en ny bedömning och ett nytt beslut först om ärendet ändå ska anmälas.".into(),
            TransitionError::AlreadyReported { imy_ref } => format!(
                "Ärendet är redan anmält till IMY ({imy_ref}). Använd \"komplettera\" för nya uppgifter."
            ),
            TransitionError::LateWithoutDelayReason { deadline } => format!(
                "Fristen på 72 timmar gick ut {}. Ange skälet till förseningen först, t.ex. \"försening: leverantörens rapport kom sent\", och skicka sedan \"anmält …\" igen.",
                local(*deadline, tz)
            ),
            TransitionError::NotReported { .. } => "Ärendet är inte anmält till IMY än. Komplettering och återtagande går först efter \"anmält DI-…\".".into(),
            TransitionError::Withdrawn => "Anmälan är återtagen. Ärendet kan bara stängas.".into(),
            TransitionError::CannotClose { state } => format!(
                "Ärendet kan inte stängas i läget \"{}\". Det stängs efter anmälan till IMY eller efter beslutet \"ej anmäl\".",
                state.sv()
            ),
            TransitionError::MergeIntoItself => "Ett ärende kan inte sammanfogas med sig självt. Svara på ett brev i det ärende som ska gå upp i det andra och ange det andra ärendets nummer.".into(),
            TransitionError::MergeTargetMissing { target } => format!(
                "Det finns inget ärende {target}. Kontrollera numret, t.ex. \"sammanfoga PUI-2026-0007\"."
            ),
            TransitionError::MergedInto { target } => format!(
                "Ärendet är sammanfogat med {target} och kan inte återöppnas; dess meddelanden finns i {target}. Fortsätt i det ärendet."
            ),
            TransitionError::MergeTargetClosed { target } => format!(
                "Ärende {target} är stängt. Återöppna det först (\"återöppna\" som svar i det ärendet) om ärendena ska sammanfogas."
            ),
            TransitionError::Nis2NotRunning { report } => format!(
                "NIS2 gäller inte för ärendet, så {} registreras inte. Svara \"nis2: ja\" först om NIS2 ska gälla.",
                report.sv()
            ),
            TransitionError::Nis2AlreadySent { report, at } => format!(
                "{} är redan registrerad som skickad {}.",
                capitalise(report.sv()),
                local(*at, tz)
            ),
            TransitionError::Nis2HandledNotRunning => "NIS2 gäller inte för ärendet, så det registreras inte att incidenten är hanterad. Svara \"nis2: ja\" först om NIS2 ska gälla.".to_string(),
            TransitionError::Nis2AlreadyHandled { at } => format!(
                "Incidenten är redan registrerad som hanterad {}.",
                local(*at, tz)
            ),
            TransitionError::Nis2NotificationFirst { report } => format!(
                "Incidentanmälan är inte registrerad än, och fristen för {} räknas från den. Svara \"incidentanmälan skickad REF\" först.",
                report.sv()
            ),
        }
}

/// English text for the sender; times in `tz`.
pub fn en(e: &TransitionError, tz: Tz) -> String {
    match e {
            TransitionError::Closed => {
                "The case is closed. Write \"reopen\" first if it is to be handled again.".into()
            }
            TransitionError::NotClosed => "The case is not closed.".into(),
            TransitionError::AlreadyAcknowledged { by, at } => format!(
                "The case was already acknowledged{} {}.",
                by.as_deref().map(|b| format!(" by {b}")).unwrap_or_default(),
                local(*at, tz)
            ),
            TransitionError::NotAssessed => "Make an assessment first, e.g. \"assess: risk\", before deciding.".into(),
            TransitionError::NoNotifyWithRisk { assessment } => format!(
                "The decision \"no-notify\" needs the assessment \"no risk\" (it is now \"{}\"). Change the assessment first if it no longer holds.",
                assessment.en()
            ),
            TransitionError::NotDecided => "Decide first (\"decide: notify\" or \"decide: notify-inform\") before recording the notification.".into(),
            TransitionError::DecidedNotToNotify => "The decision in this case is \"do not notify\". Reassess and decide again first if it is to be notified after all.".into(),
            TransitionError::AlreadyReported { imy_ref } => format!(
                "The case is already reported to IMY ({imy_ref}). Use \"supplement\" for new information."
            ),
            TransitionError::LateWithoutDelayReason { deadline } => format!(
                "The 72-hour deadline passed at {}. Record the reason for the delay first, e.g. \"delay: the supplier's report came late\", then send \"reported …\" again.",
                local(*deadline, tz)
            ),
            TransitionError::NotReported { .. } => "The case is not reported to IMY yet. Supplements and withdrawal come only after \"reported DI-…\".".into(),
            TransitionError::Withdrawn => "The notification is withdrawn. The case can only be closed.".into(),
            TransitionError::CannotClose { state } => format!(
                "The case cannot be closed while {}. It is closed after the notification to IMY or after the decision \"do not notify\".",
                state.en()
            ),
            TransitionError::MergeIntoItself => "A case cannot be merged into itself. Reply to a mail of the case that is to be merged away and name the other case.".into(),
            TransitionError::MergeTargetMissing { target } => format!(
                "There is no case {target}. Check the reference, e.g. \"merge PUI-2026-0007\"."
            ),
            TransitionError::MergedInto { target } => format!(
                "The case is merged into {target} and cannot be reopened; its messages are in {target}. Continue in that case."
            ),
            TransitionError::MergeTargetClosed { target } => format!(
                "Case {target} is closed. Reopen it first (\"reopen\" in reply to that case) if the cases are to be merged."
            ),
            TransitionError::Nis2NotRunning { report } => format!(
                "NIS2 does not apply to this case, so {} is not recorded. Reply \"nis2: yes\" first if NIS2 is to apply.",
                report.en()
            ),
            TransitionError::Nis2AlreadySent { report, at } => format!(
                "{} is already recorded as sent at {}.",
                capitalise(report.en()),
                local(*at, tz)
            ),
            TransitionError::Nis2HandledNotRunning => "NIS2 does not apply to this case, so the handling of the incident is not recorded. Reply \"nis2: yes\" first if NIS2 is to apply.".to_string(),
            TransitionError::Nis2AlreadyHandled { at } => format!(
                "The incident is already recorded as handled at {}.",
                local(*at, tz)
            ),
            TransitionError::Nis2NotificationFirst { report } => format!(
                "The incident notification is not recorded yet, and the deadline of {} counts from it. Reply \"incident notification sent REF\" first.",
                report.en()
            ),
        }
}

/// "tidig varning" → "Tidig varning": a name that begins a sentence.
fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}
