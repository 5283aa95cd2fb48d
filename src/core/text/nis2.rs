//! The NIS2 prose of outgoing mail (`core::regime`): the block the opening
//! notice carries when the reader suggests NIS2, and the NIS2 deadline
//! reminders. Swedish, like the rest of the mail (`mail.rs`); the sentences a
//! NIS2 command sends back are in `case.rs`, its refusals in `refusal.rs`.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::mail::{human_left, local_long, SIGNATURE};
use crate::core::case::Case;
use crate::core::regime::{self, Clock, Nis2, Nis2Reason, Nis2Reminder, Nis2Status};
use crate::core::types::CaseRef;

/// A deadline's name in a sentence ("den tidiga varningen").
pub fn clock_sv(c: Clock) -> &'static str {
    match c {
        Clock::ImyNotification => "anmälan till IMY",
        Clock::EarlyWarning => "tidig varning",
        Clock::IncidentNotification => "incidentanmälan",
        Clock::ProgressReport => "lägesrapport (om incidenten pågår)",
        Clock::FinalReport => "slutrapport",
    }
}

/// The reply that closes a deadline.
fn command_sv(c: Clock) -> &'static str {
    match c {
        Clock::ImyNotification => "anmält DI-…",
        Clock::EarlyWarning => "tidig varning skickad",
        Clock::IncidentNotification => "incidentanmälan skickad REF",
        Clock::ProgressReport => "lägesrapport skickad",
        Clock::FinalReport => "slutrapport skickad",
    }
}

/// One reason of the reader's suggestion, as a clause.
pub fn reason_sv(r: &Nis2Reason) -> String {
    match r {
        Nis2Reason::Cyberattack { word } => {
            format!("anmälan beskriver ett it-angrepp (\"{word}\")")
        }
        Nis2Reason::Unavailability { word } => {
            format!("en tjänst är eller har varit otillgänglig (\"{word}\")")
        }
        Nis2Reason::InScopeService { service } => format!(
            "anmälan nämner \"{service}\", som kommunen har förtecknat som en tjänst som omfattas av cybersäkerhetslagen"
        ),
        Nis2Reason::ManyAffected { at_least } => {
            format!("minst {at_least} personer berörs av ett angrepp")
        }
    }
}

/// The block of the opening notice when NIS2 is suggested: why, the 24-hour
/// early warning (its reminders run from now) and how to answer. Inserted
/// before "VAD HAR HÄNT" (the early warning is due long before IMY's 72 h).
pub fn opening_block(
    reasons: &[Nis2Reason],
    aware_at: DateTime<Utc>,
    tz: Tz,
    now: DateTime<Utc>,
) -> String {
    let nis2 = Nis2 {
        status: Nis2Status::Suggested,
        ..Nis2::default()
    };
    let dues = regime::open_nis2(aware_at, &nis2, tz);
    let mut t = String::from("KAN VARA EN BETYDANDE INCIDENT ENLIGT NIS2 (CYBERSÄKERHETSLAGEN)\n");
    t.push_str("Läsaren föreslår att NIS2 kan gälla, eftersom ");
    t.push_str(
        &reasons
            .iter()
            .map(reason_sv)
            .collect::<Vec<_>>()
            .join(", och "),
    );
    t.push_str(".\n");
    for d in &dues {
        if let Some(at) = d.due_at {
            t.push_str(&format!(
                "- {} senast {} ({} kvar)\n",
                capitalised(clock_sv(d.clock)),
                local_long(tz, at),
                human_left(at - now)
            ));
        }
    }
    t.push_str(
        "Påminnelserna om den tidiga varningen går redan nu, eftersom ett beslut först skulle äta upp de 24 timmarna. \
         Svara \"nis2: ja\" eller \"nis2: nej\" med skälet efter (t.ex. \"nis2: nej, tjänsten omfattas inte\"). \
         Utkast till tidig varning och incidentanmälan är bifogade när de kunde göras.\n\n",
    );
    t
}

/// Puts the NIS2 block into an opening notice's text, before "VAD HAR
/// HÄNT" (or first, if the heading is not there).
pub fn with_opening_block(text: &str, block: &str) -> String {
    match text.find("\nVAD HAR HÄNT\n") {
        Some(i) => format!("{}\n{}{}", &text[..i], block, &text[i + 1..]),
        None => format!("{block}{text}"),
    }
}

/// A NIS2 deadline reminder (subject, text): every open NIS2 deadline with
/// its time left; a case nobody has acknowledged says why the deputy has a copy.
pub fn reminder(
    tz: Tz,
    case_ref: &CaseRef,
    case: &Case,
    r: &Nis2Reminder,
    now: DateTime<Utc>,
) -> (String, String) {
    let unacknowledged = case.acknowledged_at.is_none();
    let left = r.due_at - now;
    let subject = if r.overdue {
        format!(
            "FÖRSENAD NIS2: {} ({})",
            clock_sv(r.clock),
            human_left(left)
        )
    } else {
        format!(
            "Påminnelse NIS2: {} kvar till {}",
            human_left(left),
            clock_sv(r.clock)
        )
    };
    let mut text = String::new();
    if unacknowledged {
        text.push_str(
            "Ingen har kvitterat ärendet ännu; ersättaren får därför en kopia. \
             Svara \"kvittera\" när ärendet är omhändertaget.\n\n",
        );
    }
    text.push_str(&format!("Ärende: {case_ref}\n"));
    match case.nis2.status {
        Nis2Status::Suggested => text.push_str(
            "NIS2 är föreslaget av läsaren men inte beslutat. Svara \"nis2: ja\" eller \"nis2: nej\" med skälet efter.\n",
        ),
        _ => text.push_str("NIS2 gäller för ärendet.\n"),
    }
    text.push_str("\nÖppna NIS2-frister:\n");
    for d in regime::open_nis2(case.aware_at, &case.nis2, tz) {
        if let Some(at) = d.due_at {
            text.push_str(&format!(
                "- {}: senast {} ({}); svara \"{}\" när den är skickad\n",
                capitalised(clock_sv(d.clock)),
                local_long(tz, at),
                human_left(at - now),
                command_sv(d.clock)
            ));
        }
    }
    if regime::open_nis2(case.aware_at, &case.nis2, tz)
        .iter()
        .any(|d| d.clock == Clock::ProgressReport)
    {
        text.push_str(
            "\nEn månad efter incidentanmälan ska slutrapporten lämnas, eller en lägesrapport om incidenten fortfarande pågår. \
             När incidenten är hanterad, svara \"incident hanterad\": slutrapporten ska då lämnas inom en månad.\n",
        );
    }
    if r.overdue {
        text.push_str(
            "\nEn frist har passerats. Skicka rapporten nu; det som ännu inte är känt kan kompletteras senare.\n",
        );
    }
    text.push_str(SIGNATURE);
    (subject, text)
}

/// A NIS2 deadline's calendar entry (summary, description).
pub fn calendar_entry(
    c: Clock,
    case_ref: &str,
    committee: &str,
    due: DateTime<Utc>,
    tz: Tz,
) -> (String, String) {
    (
        format!("NIS2: {} senast – {case_ref}", clock_sv(c)),
        format!(
            "Ärende {case_ref} ({committee}): {} enligt NIS2 ({}) ska vara skickad till Myndigheten för civilt försvar senast {}. Svara \"{}\" i ärendet när den är skickad.",
            capitalised(clock_sv(c)),
            c.article(),
            local_long(tz, due),
            command_sv(c)
        ),
    )
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}
