//! The input model of the generated documents: [`CaseFile`] holds, as plain data,
//! everything a draft decision, the IMY form draft and the calendar entry need.
//! The shell fills it from the case, the route and the configuration; nothing
//! here reads a clock or a file.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use crate::core::notice::details::Details;
use crate::core::notice::Incident;
use crate::core::types::CaseRef;

/// The decision the official takes (the four outcomes of the primer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Notify IMY (art. 33): a risk is likely.
    Notify,
    /// Notify IMY and inform the data subjects (art. 33 and 34): a high risk.
    NotifyInform,
    /// Do not notify; the breach is documented only (art. 33(5)).
    NoNotify,
    /// Withdraw an earlier notification (none of ours affected after all).
    Withdraw,
}

impl Outcome {
    pub const ALL: [Outcome; 4] = [
        Outcome::Notify,
        Outcome::NotifyInform,
        Outcome::NoNotify,
        Outcome::Withdraw,
    ];

    /// A short ASCII slug, used in file names and fixture names.
    pub fn slug(self) -> &'static str {
        match self {
            Outcome::Notify => "anmalan",
            Outcome::NotifyInform => "anmalan-information",
            Outcome::NoNotify => "ej-anmalan",
            Outcome::Withdraw => "aterta-anmalan",
        }
    }

    /// True for the outcomes where a notification goes to IMY, so an IMY form
    /// draft and a running deadline make sense.
    pub fn notifies(self) -> bool {
        matches!(self, Outcome::Notify | Outcome::NotifyInform)
    }
}

/// The recorded risk assessment (art. 33(1) and 34(1)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RiskLevel {
    /// Unlikely to result in a risk.
    None,
    /// A risk is likely.
    Risk,
    /// A high risk is likely.
    High,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RiskAssessment {
    pub level: RiskLevel,
    /// The official's reasoning, shown under "Skäl för beslut".
    pub reasoning: Option<String>,
}

/// A person named in the documents (official, DPO, contact person).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Person {
    pub name: Option<String>,
    pub title: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
}

/// A postal address as the IMY form asks for it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PostalAddress {
    pub street: Option<String>,
    pub postcode: Option<String>,
    pub city: Option<String>,
    pub country: Option<String>,
}

/// The controller's organisation (from configuration; any part may be missing).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Organisation {
    /// "Vallsjö kommun"
    pub name: Option<String>,
    /// "212000-0000"
    pub number: Option<String>,
    pub address: Option<PostalAddress>,
    /// IMY question 20, e.g. "Socialtjänst"; the committee's main area.
    pub activity_area: Option<String>,
}

/// The supplier (processor) that reported the breach.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Processor {
    pub organisation: Option<String>,
    pub number: Option<String>,
    /// Mail address the notice came from.
    pub email: Option<String>,
}

/// One message received in the case; the decision's "Underlag för beslutet" is
/// exactly this list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedMessage {
    pub subject: String,
    pub received_at: DateTime<Utc>,
    /// "Infosolutions Sverige AB <noreply@infosolutions.example>" or similar.
    pub from: String,
    /// One or two sentences on what the message added; used in "Bakgrund".
    pub summary: Option<String>,
    /// False for the first notice, true for supplements and final reports; it
    /// only changes the wording ("inkom kompletterande information").
    pub follow_up: bool,
    /// The reader found that this message states none of the controller's
    /// data subjects were affected (its count was {0, 0}): what a withdrawal
    /// may cite a final report for.
    pub none_of_ours: bool,
}

/// A dated action on the case's timeline ("ställde kompletterande frågor …").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimelineEvent {
    pub at: DateTime<Utc>,
    /// A full Swedish sentence without the date, e.g. "Tf. verksamhetschef ställde
    /// kompletterande frågor till personuppgiftsbiträdet."
    pub text: String,
}

/// How the notice reached those who handle breaches when someone forwarded it:
/// the reason aware_at lies before the case was opened, and often the reason
/// for a late notification (seed 001's Bakgrund tells exactly this).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forward {
    /// Who forwarded it: a name, else the address.
    pub by: String,
    /// When the forward was delivered.
    pub at: DateTime<Utc>,
}

/// Everything a generated document needs, as plain data.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseFile {
    pub case_ref: CaseRef,
    /// "KS 2021/0590", set by reply (`diarienummer: …`); None gives the
    /// committee's series with a blank number ("KS 2021/____").
    pub diarienummer: Option<String>,
    /// The committee's diarienummer series ("KS"), from the route; None (and no
    /// diarienummer) gives the placeholder `[diarienummer]`.
    pub diarie_prefix: Option<String>,
    /// "Kommunstyrelsen"
    pub committee: String,
    /// "Ö:29-Ö:30", from the route: the point for notifying IMY (art. 33),
    /// and for informing the data subjects too when no art. 34 point is given.
    pub delegation_point: Option<String>,
    /// The point for informing the data subjects (art. 34), from the route.
    pub delegation_point_art34: Option<String>,
    /// The deciding official (name, title, e-mail, phone).
    pub official: Person,
    /// The data protection officer; `name` is what follows "Dataskyddsombud (…)".
    pub dpo: Person,
    /// The "Beredning" paragraph, from configuration.
    pub preparation: Option<String>,
    /// Date written on the decision; also the .docx created/modified stamp.
    pub date: NaiveDate,
    /// The instant the documents are generated (the shell's `now`): the IMY
    /// form's lateness flag and the calendar's DTSTAMP/SEQUENCE come from it.
    pub generated_at: DateTime<Utc>,
    /// Zone for every time shown to people.
    pub tz: Tz,
    pub aware_at: DateTime<Utc>,
    pub deadline_at: DateTime<Utc>,
    pub processor: Processor,
    /// Messages received in the case, in any order (they are sorted by time).
    pub messages: Vec<ReceivedMessage>,
    /// The facts as the notice reader extracted them (and the official corrected).
    pub facts: Incident,
    /// The draft facts read from the notice (groups of data subjects, area,
    /// the supplier's measures, cause in its words, its reference).
    pub details: Details,
    pub risk: Option<RiskAssessment>,
    /// IMY question 14, when the notification is late.
    pub delay_reason: Option<String>,
    /// IMY's reference of an earlier notification (for a withdrawal).
    pub imy_reference: Option<String>,
    /// When an earlier notification was sent to IMY (for a withdrawal).
    pub imy_notified_at: Option<DateTime<Utc>>,
    /// Dated actions taken, besides receiving messages.
    pub timeline: Vec<TimelineEvent>,
    /// The forward that brought the notice in, when there was one.
    pub forward: Option<Forward>,
    pub controller: Organisation,
}

impl CaseFile {
    /// The diarienummer as every document shows it: the registered one, else
    /// the committee's series of the decision's year with a blank number for
    /// the registry to fill ("KS 2026/____"), else `[diarienummer]`.
    pub fn diarienummer_or_blank(&self) -> String {
        use chrono::Datelike;
        let given = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        given(&self.diarienummer)
            .or_else(|| {
                given(&self.diarie_prefix).map(|p| format!("{p} {}/____", self.date.year()))
            })
            .unwrap_or_else(|| "[diarienummer]".into())
    }
}
