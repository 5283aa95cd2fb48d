//! The DPO's digest (Swedish): its subject, the open cases one line each,
//! the mail the server refused in the last week, and the register anchor
//! paragraph; the words for time left (Swedish and English, also in the
//! digest's JSON).

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::mail::SIGNATURE;
use super::Texts;
use crate::core::bounded::one_line;
use crate::core::digest::DigestLine;
use crate::core::local_time;
use crate::core::register::Anchor;

/// Before the time by which a deadline was passed: "försenad 3 h".
pub const LATE_SV: &str = "försenad";
/// Before the time by which a deadline was passed: "overdue 3 h".
pub const LATE_EN: &str = "overdue";

/// Instead of the time left when the clock has stopped.
pub fn clock_stopped() -> Texts {
    ("klockan stoppad".to_string(), "clock stopped".to_string())
}

/// The digest's register anchor paragraph (Swedish): when it was taken and what
/// it covers in words, then the anchor line itself, alone on its line so that it
/// can be copied into a file. Saving the whole mail works too.
pub fn anchor_text_sv(anchor: &Anchor, tz: Tz) -> String {
    format!(
        "Registerankare {} ({} ärenden, {} händelser). Spara detta brev utanför \
         systemet: `breachwatch register verify --anchor BREVET.eml` visar senare att \
         inget ärende eller händelse som fanns nu har ändrats eller tagits bort.\n{}\n",
        format_args!(
            "{} {}",
            local_time::minute(anchor.at, tz),
            local_time::zone_abbreviation(anchor.at, tz)
        ),
        anchor.cases,
        anchor.events,
        anchor.line()
    )
}

/// Which deadline a digest line is about.
pub fn clock_label_sv(c: crate::core::regime::Clock) -> String {
    match c {
        crate::core::regime::Clock::ImyNotification => "anmälan till IMY".into(),
        other => format!("NIS2: {}", super::nis2::clock_sv(other)),
    }
}

/// A mail the server refused for good, as the digest lists it.
#[derive(Debug, Clone, Copy)]
pub struct RefusedMail<'a> {
    pub case_ref: Option<&'a str>,
    pub at: DateTime<Utc>,
    pub purpose: &'a str,
    pub error: Option<&'a str>,
}

/// A message recorded without a case (not read as a notice), as the digest
/// lists it.
#[derive(Debug, Clone, Copy)]
pub struct UnplacedMail<'a> {
    pub at: DateTime<Utc>,
    pub from: Option<&'a str>,
    pub subject: Option<&'a str>,
}

/// The digest's subject; `day` is the local date of the run.
pub fn subject(day: &str, open_cases: usize) -> String {
    format!("Sammanställning {day}: {open_cases} öppna ärenden")
}

/// The digest's text: the open cases, the refused mail (if any), the mail
/// recorded without a case since the last digest (if any; `more`: the list
/// is cut), the anchor paragraph and the signature.
pub fn text(
    tz: Tz,
    day: &str,
    lines: &[DigestLine],
    refused: &[RefusedMail<'_>],
    unplaced: (&[UnplacedMail<'_>], bool),
    anchor_text: &str,
) -> String {
    let mut text = format!("Öppna ärenden om personuppgiftsincidenter, {day}:\n\n");
    if lines.is_empty() {
        text.push_str("Inga öppna ärenden.\n");
    }
    for l in lines {
        text.push_str(&format!(
            "{}  {:<14} {:<28} senast {}  {}  ({})\n",
            l.case_ref,
            l.state.sv(),
            l.committee,
            local_time::minute(l.deadline, tz),
            l.time_left_sv,
            clock_label_sv(l.clock)
        ));
    }
    if !refused.is_empty() {
        text.push_str("\nMeddelanden som inte kunde levereras (senaste veckan):\n");
        for f in refused {
            text.push_str(&format!(
                "{}  {}  {}  {}\n",
                f.case_ref.unwrap_or("-"),
                f.at.with_timezone(&tz).format("%Y-%m-%d %H:%M"),
                f.purpose,
                one_line(f.error.unwrap_or(""), 160)
            ));
        }
    }
    let (unplaced, more) = unplaced;
    if !unplaced.is_empty() {
        text.push_str(
            "\nPost utan ärende sedan förra sammanställningen: lästes inte som \
             incidentanmälningar och öppnade inget ärende. Är något av dem en anmälan, \
             registrera den under \"Rapportera incident\" på webbsidan.\n",
        );
        for u in unplaced {
            text.push_str(&format!(
                "{}  {}  {}\n",
                u.at.with_timezone(&tz).format("%Y-%m-%d %H:%M"),
                one_line(u.from.unwrap_or("(okänd avsändare)"), 80),
                one_line(u.subject.unwrap_or("(ingen ämnesrad)"), 100)
            ));
        }
        if more {
            text.push_str(&format!("(de {} senaste; fler finns)\n", unplaced.len()));
        }
    }
    text.push('\n');
    text.push_str(anchor_text);
    text.push_str(SIGNATURE);
    text
}
