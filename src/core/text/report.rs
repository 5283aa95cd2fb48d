//! A member of staff's report of an incident (the web view's form): the
//! record kept as its message, its subject and the evidence lines the case
//! page quotes. Swedish, as the staff wrote it.

use crate::core::documents::words::category_form_label;

pub const DISCOVERED: &str = "Upptäckt";
pub const SYSTEM: &str = "System";
pub const PEOPLE: &str = "Berörda personer och uppgifter";
pub const COUNT: &str = "Antal berörda personer";
pub const CATEGORIES: &str = "Slags uppgifter";
pub const ONGOING: &str = "Pågår fortfarande";
pub const WHAT: &str = "Vad hände";

pub fn yes_no(b: bool) -> &'static str {
    if b {
        "ja"
    } else {
        "nej"
    }
}

/// What the record of one report holds.
pub struct Lines<'a> {
    pub reporter: &'a str,
    /// Discovery time in the configured zone.
    pub discovered: &'a str,
    pub system: &'a str,
    pub people: &'a str,
    pub count: Option<u64>,
    pub categories: &'a [String],
    pub ongoing: Option<bool>,
    pub what: &'a str,
}

/// The subject of a report: the system, else the first words of what happened.
pub fn subject(system: &str, what: &str) -> String {
    let about = if system.is_empty() {
        crate::core::bounded::one_line(what, 80)
    } else {
        system.to_string()
    };
    format!("Incidentrapport från personal: {about}")
}

pub fn evidence_aware(reporter: &str, discovered: &str) -> String {
    format!("rapporterad i webbformuläret av {reporter}, upptäckt {discovered}")
}

/// The report's text, as stored with its message and shown on the timeline.
pub fn body(l: &Lines<'_>) -> String {
    let unknown = "uppgift saknas";
    let or_unknown = |s: &str| {
        if s.is_empty() {
            unknown.to_string()
        } else {
            s.to_string()
        }
    };
    let cats = if l.categories.is_empty() {
        unknown.to_string()
    } else {
        l.categories
            .iter()
            .map(|c| category_form_label(c))
            .collect::<Vec<_>>()
            .join("; ")
    };
    format!(
        "Incidentrapport inlämnad i breachwatch webbformulär av {reporter}.\n\n\
         {DISCOVERED}: {discovered}\n\
         {SYSTEM}: {system}\n\
         {PEOPLE}: {people}\n\
         {COUNT}: {count}\n\
         {CATEGORIES}: {cats}\n\
         {ONGOING}: {ongoing}\n\n\
         {WHAT}:\n{what}\n",
        reporter = l.reporter,
        discovered = l.discovered,
        system = or_unknown(l.system),
        people = or_unknown(l.people),
        count = l
            .count
            .map(|n| n.to_string())
            .unwrap_or_else(|| unknown.into()),
        ongoing = l.ongoing.map(yes_no).unwrap_or("vet inte"),
        what = l.what,
    )
}
