//! The words the web view shows for what the store holds in machine form:
//! each timeline event kind, the state of a case, who a mail was for, and the
//! register check's result. Swedish (the pages are).

use crate::core::event::EventKind;
use crate::core::intake::Link;
use crate::core::series::Choice;

/// A timeline event as an official reads it ("Kvitterat", not `acknowledged`).
pub fn event_label(kind: &EventKind) -> String {
    use EventKind::*;
    let s = match kind {
        CaseOpened => "Ärendet öppnat",
        MessageAttached => "Meddelande tillfört ärendet",
        AwareAtMoved => "Tidpunkt för kännedom flyttad",
        ReplyNotHandled => "Svar kunde inte hanteras",
        RecipientRefused => "Mottagare avvisad",
        MailDropped => "Meddelande kunde inte skapas",
        MailRefused => "Meddelande avvisat av e-postservern",
        DocumentsGenerated => "Dokument skapade",
        DocumentsFailed => "Dokument kunde inte skapas",
        Reminder => "Påminnelse",
        OverdueReminder => "Påminnelse efter fristen",
        Acknowledged => "Kvitterat",
        Assessed => "Riskbedömning",
        Decided => "Beslut",
        Reported => "Anmält till IMY",
        DelayReason => "Skäl till försening",
        Supplemented => "Komplettering till IMY",
        Withdrawn => "Anmälan återtagen",
        Closed => "Ärendet stängt",
        Reopened => "Ärendet återöppnat",
        Note => "Notering",
        Diarienummer => "Diarienummer",
        MergedInto => "Sammanfogat med annat ärende",
        MergedFrom => "Annat ärende sammanfogat hit",
        CaseSplit => "Meddelande flyttat till nytt ärende",
        SplitFrom => "Delat ur annat ärende",
        CommandRefused => "Kommando avvisat",
        CommandUnauthorised => "Kommando från obehörig",
        CommandInvalid => "Svar som inte är ett kommando",
        FollowUp => "Svar",
        Nis2Suggested => "NIS2 kan vara tillämpligt",
        Nis2Decided => "NIS2-beslut",
        Nis2EarlyWarningSent => "NIS2: tidig varning skickad",
        Nis2NotificationSent => "NIS2: incidentanmälan skickad",
        Nis2ProgressReportSent => "NIS2: lägesrapport skickad",
        Nis2FinalReportSent => "NIS2: slutrapport skickad",
        Nis2Reminder => "NIS2-påminnelse",
        Nis2OverdueReminder => "NIS2-påminnelse efter fristen",
        Nis2IncidentHandled => "NIS2: incidenten hanterad",
        Other(s) => return format!("Händelse ({s})"),
    };
    s.to_string()
}

/// The reader's note on where awareness came from ("forwarded message from X
/// sent T", `core::notice`) in Swedish with the time in `tz`; any other text
/// as it is.
pub fn forward_evidence(text: &str, tz: chrono_tz::Tz) -> String {
    let Some(rest) = text.strip_prefix("forwarded message from ") else {
        return text.to_string();
    };
    let Some((who, at)) = rest.rsplit_once(" sent ") else {
        return text.to_string();
    };
    let at = chrono::DateTime::parse_from_rfc3339(at.trim())
        .map(|t| crate::core::local_time::minute(t.with_timezone(&chrono::Utc), tz))
        .unwrap_or_else(|_| at.to_string());
    format!("vidarebefordrat meddelande från {who}, skickat {at}")
}

/// How an event came about, when not by mail.
pub fn via_label(via: &str) -> String {
    match via {
        "web" => "via webben".into(),
        other => format!("via {other}"),
    }
}

/// A case's state.
pub fn state_label(state: &str) -> String {
    match state {
        "received" => "inkommet",
        "acknowledged" => "kvitterat",
        "assessed" => "bedömt",
        "decided" => "beslutat",
        "reported" => "anmält till IMY",
        "supplemented" => "kompletterat",
        "withdrawn" => "återtaget",
        "closed" => "stängt",
        other => other,
    }
    .to_string()
}

/// What an outgoing mail was (the outbox's purpose).
pub fn mail_purpose_label(purpose: &str) -> String {
    match purpose {
        "ack" | "acknowledgement" => "kvittens",
        "opening" => "nytt ärende",
        "reminder" | "overdue_reminder" => "påminnelse",
        "answer" => "svar på kommando",
        "roster" => "besked till handläggarna",
        "follow_up" | "news" => "nytt i ärendet",
        "delivery_failed" => "leveransfel",
        "draft" | "drafts" => "utkast",
        "digest" => "sammanställning",
        other => other,
    }
    .to_string()
}

/// An outgoing mail's status.
pub fn mail_status_label(status: &str) -> String {
    match status {
        "queued" | "pending" => "i kö",
        "sending" => "skickas",
        "sent" => "skickat",
        "failed" => "misslyckades",
        other => other,
    }
    .to_string()
}

/// A message's kind and what became of it.
pub fn message_label(kind: &str, disposition: &str) -> String {
    let k = match kind {
        "breach_notice" => "incidentanmälan",
        "follow_up" => "uppföljning",
        "auto_reply" => "automatiskt svar",
        "other" => "övrigt",
        "unreadable" => "oläsbart",
        other => other,
    };
    let d = match disposition {
        "opened_case" => "öppnade ärendet",
        "attached" => "tillfört",
        "recorded" => "registrerat",
        "quarantined" => "i karantän",
        "command" => "kommando",
        other => other,
    };
    format!("{k}, {d}")
}

/// The register check, passed: what was checked.
pub fn register_intact(cases: usize, events: usize, last_seq: i64, unsealed: usize) -> String {
    let mut s = format!(
        "Registret är intakt: {cases} ärenden, {events} händelser, registerhändelser 1–{last_seq}"
    );
    if unsealed > 0 {
        s.push_str(&format!(
            ", {unsealed} ärenderader ännu inte förseglade (ingen händelse sedan uppgraderingen)"
        ));
    }
    s.push('.');
    s
}

/// The register check, failed; the problems as the check states them.
pub fn register_broken(problems: &[String]) -> String {
    format!("Registret är INTE intakt: {}", problems.join("; "))
}

/// The register check could not run.
pub fn register_unchecked(why: &str) -> String {
    format!("Registret kunde inte kontrolleras: {why}")
}

// Why the machine did what it did, as recorded in an event's `why` (Swedish:
// the register is kept in Swedish).

/// Why a message joined its case (`message_attached`).
pub fn join_reason(link: Link, series: Option<&Choice>) -> String {
    match (link, series) {
        (Link::Thread, _) => "svar i tråden".into(),
        (Link::CaseRef, _) => "ärendenumret nämns".into(),
        (Link::SameMessage, _) => "samma anmälan (samma Message-ID)".into(),
        (Link::SameText, _) => "samma anmälan (samma text)".into(),
        (Link::Series, Some(c)) => c.why.clone(),
        (Link::Series, None) => "samma leverantör och incident".into(),
    }
}

/// Why a message in a case's thread (or naming its reference) opened its
/// own case instead (`core::series::another_incident`), for the "Kan höra
/// till ärende …" line of the new case's opening notice.
pub fn another_incident_reason(
    via_thread: bool,
    other_supplier: bool,
    says_new: bool,
    other_discovery: bool,
) -> String {
    let mut why = String::from(if via_thread {
        "svar i ärendets tråd"
    } else {
        "nämner ärendenumret"
    });
    let mut but = Vec::new();
    if says_new {
        but.push("säger att det gäller en ny incident");
    }
    if other_supplier {
        but.push("från en annan leverantör");
    }
    if other_discovery {
        but.push("med en annan upptäcktstid");
    }
    if let Some((last, first)) = but.split_last() {
        why.push_str(", men ");
        if !first.is_empty() {
            why.push_str(&first.join(", "));
            why.push_str(" och ");
        }
        why.push_str(last);
    }
    why
}

/// What a supplier's message has in common with one of its open cases
/// (`core::series::decide`), for [`resemblance_reason`].
pub struct Resemblance<'a> {
    /// The systems both name.
    pub systems: &'a [String],
    pub same_discovery: bool,
    pub periods_overlap: bool,
    /// The data categories both name (the inspect contract's names).
    pub data_categories: &'a [String],
    pub same_cause: bool,
    /// The case is the supplier's only open one.
    pub only_case: bool,
    pub other_discovery: bool,
}

/// Why a supplier's message may belong to (or joined) one of its cases:
/// "samma leverantör, samma system (LabPortalen), samma upptäcktstid".
pub fn resemblance_reason(r: &Resemblance<'_>) -> String {
    let mut parts = vec!["samma leverantör".to_string()];
    if !r.systems.is_empty() {
        parts.push(format!("samma system ({})", r.systems.join(", ")));
    }
    if r.same_discovery {
        parts.push("samma upptäcktstid".into());
    }
    if r.periods_overlap {
        parts.push("överlappande incidentperiod".into());
    }
    if !r.data_categories.is_empty() {
        let words: Vec<String> = r
            .data_categories
            .iter()
            .map(|c| crate::core::documents::words::category_words(c))
            .collect();
        parts.push(format!("samma slags uppgifter ({})", words.join(", ")));
    }
    if r.same_cause {
        parts.push("samma orsak".into());
    }
    if r.only_case && parts.len() == 1 {
        parts.push("leverantörens enda öppna ärende".into());
    }
    if r.other_discovery {
        parts.push("men en annan upptäcktstid".into());
    }
    parts.join(", ")
}

/// Appended to [`resemblance_reason`] when the message joined one of
/// several cases: "; vald framför PUI-2026-0002 (poäng 3 mot 5)".
pub fn chosen_over(others: &[(String, u32)], score: u32) -> String {
    format!(
        "; vald framför {}",
        others
            .iter()
            .map(|(case_ref, s)| format!("{case_ref} (poäng {s} mot {score})"))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// `aware_at_moved` by a copy of the notice received earlier.
pub const WHY_EARLIER_COPY: &str = "en annan kopia av ärendets anmälan togs emot tidigare; kännedom räknas från den tidigaste mottagningen";

/// `aware_at_moved` by a case of the same incident merged into this one.
pub const WHY_MERGED_HERE: &str = "ett ärende om samma incident sammanfogades hit; kännedom räknas från den tidigaste mottagningen";

/// `documents_failed` when the case file could not be read for a draft.
pub const CASE_FILE_UNREADABLE: &str = "the case file could not be read";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resemblance_names_what_the_message_and_the_case_share() {
        let systems = vec!["LabPortalen".to_string()];
        let categories = vec!["health".to_string()];
        let r = Resemblance {
            systems: &systems,
            same_discovery: true,
            periods_overlap: false,
            data_categories: &categories,
            same_cause: true,
            only_case: true,
            other_discovery: false,
        };
        assert_eq!(
            resemblance_reason(&r),
            "samma leverantör, samma system (LabPortalen), samma upptäcktstid, samma slags \
             uppgifter (hälso- och sjukvårdsuppgifter), samma orsak"
        );
        let none: Vec<String> = Vec::new();
        let bare = Resemblance {
            systems: &none,
            same_discovery: false,
            periods_overlap: false,
            data_categories: &none,
            same_cause: false,
            only_case: true,
            other_discovery: true,
        };
        assert_eq!(
            resemblance_reason(&bare),
            "samma leverantör, leverantörens enda öppna ärende, men en annan upptäcktstid"
        );
        assert_eq!(
            chosen_over(
                &[("PUI-2026-0002".into(), 3), ("PUI-2026-0003".into(), 1)],
                5
            ),
            "; vald framför PUI-2026-0002 (poäng 3 mot 5), PUI-2026-0003 (poäng 1 mot 5)"
        );
    }

    #[test]
    fn every_event_kind_has_swedish_words() {
        for k in [
            "case_opened",
            "acknowledged",
            "documents_generated",
            "reminder",
            "reported",
            "nis2_incident_notification_sent",
            "merged_from",
            "command_unauthorised",
        ] {
            let label = event_label(&EventKind::from(k));
            assert!(
                !label.contains('_') && !label.starts_with("Händelse"),
                "{k}: {label}"
            );
        }
        assert_eq!(
            event_label(&EventKind::from("future_kind")),
            "Händelse (future_kind)"
        );
        assert!(register_intact(2, 9, 9, 0).starts_with("Registret är intakt"));
        assert_eq!(
            forward_evidence(
                "forwarded message from a@b.test sent 2026-12-01T02:05:00+00:00",
                chrono_tz::Europe::Stockholm
            ),
            "vidarebefordrat meddelande från a@b.test, skickat 2026-12-01 03:05"
        );
    }
}
