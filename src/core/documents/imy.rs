//! The prefilled IMY notification form (IMY's e-service form as published): all 37 questions with the
//! seed's texts, each answered from the case or left `[att fylla i]`, with flags
//! where the official must look (lateness, ranges, secrecy). Also its plain-text
//! rendering and the `breachwatch.imy/1` JSON object.

use serde::Serialize;

use super::decision::{delay_draft, facts_paragraph, is_late, subjects_unknown, INFORM_PLAN_BLANK};
use super::model::{CaseFile, Outcome, PostalAddress, RiskLevel};
use super::words::{
    category_form_label, cause_form_label, datetime_short, establishment, given, imy_range,
    number_sv, stated_short, Establishment, Style, TO_FILL_IN,
};
use crate::core::notice::details::{area_label, group_form_label};
use crate::core::notice::Cause;

pub const SCHEMA: &str = "breachwatch.imy/1";

/// Number, section and text of every question, as in IMY's form. The form shows
/// only the questions that were asked; 32 and 34 (asked after a "Ja" to 31 and
/// 33) are worded after the e-service's pattern and marked as ours below.
pub const QUESTIONS: [(u8, &str, &str, bool); 37] = [
    (1, "Personuppgiftsansvarig", "Organisationens namn", true),
    (2, "Personuppgiftsansvarig", "Organisationsnummer", false),
    (3, "Personuppgiftsansvarig", "Organisationens postadress", false),
    (4, "Personuppgiftsansvarig", "Er organisations interna referensnummer", false),
    (5, "Kontaktuppgifter för anmälan", "Kontaktpersonens namn", true),
    (6, "Kontaktuppgifter för anmälan", "Kontaktpersonens roll", false),
    (7, "Kontaktuppgifter för anmälan", "Kontaktpersonens e-post", true),
    (8, "Kontaktuppgifter för anmälan", "Kontaktpersonens telefonnummer", true),
    (9, "Kontaktuppgifter för anmälan", "Den adress ni önskar bli kontaktad på", false),
    (10, "Incidenten", "När inträffade incidenten?", false),
    (11, "Incidenten", "När upptäckte ni incidenten?", false),
    (12, "Incidenten", "Pågår incidenten fortfarande?", false),
    (13, "Incidenten", "När upphörde incidenten?", false),
    (14, "Incidenten", "Om er anmälan kommer in senare än 72 timmar efter att ni upptäckte incidenten, beskriv varför.", false),
    (15, "Incidenten", "Vad har hänt vid incidenten?", false),
    (16, "Incidenten", "Kort beskrivning av incidenten", false),
    (17, "Incidenten", "Hur upptäckte ni incidenten?", false),
    (18, "Incidenten", "Varför inträffade incidenten enligt er uppfattning?", false),
    (19, "Incidenten", "Inom vilken sektor inträffade incidenten?", false),
    (20, "Incidenten", "Inom vilket verksamhetsområde inträffade incidenten?", false),
    (21, "Biträden", "Gäller incidenten en personuppgiftsbehandling som hanteras av anlitade personuppgiftsbiträden eller underbiträden?", false),
    (22, "Biträden", "Organisationens namn och organisationsnummer", false),
    (23, "Uppgifterna och de registrerade", "Hur många registrerade har påverkats?", false),
    (24, "Uppgifterna och de registrerade", "Hur många uppgifter om de registrerade har påverkats totalt?", false),
    (25, "Uppgifterna och de registrerade", "Vilka grupper tillhör de registrerade?", false),
    (26, "Uppgifterna och de registrerade", "Vilken sorts personuppgifter har incidenten drabbat?", false),
    (27, "Uppgifterna och de registrerade", "Var personuppgifterna krypterade?", false),
    (28, "Konsekvenser", "Vad kan bli konsekvenserna av incidenten?", false),
    (29, "Konsekvenser", "Hur allvarlig bedömer ni att incidenten är?", false),
    (30, "Konsekvenser", "Hur har ni agerat efter incidenten?", false),
    (31, "Information till de registrerade", "Har ni informerat de registrerade?", false),
    // Not in IMY's form text (skipped there after "Nej"): our wording.
    (32, "Information till de registrerade", "När och hur informerade ni de registrerade?", false),
    (33, "Information till de registrerade", "Kommer ni att informera de registrerade?", false),
    // Not in IMY's form text (skipped there after "Nej"): our wording.
    (34, "Information till de registrerade", "När och hur kommer ni att informera de registrerade?", false),
    (35, "Information till de registrerade", "Varför kommer ni inte att informera de registrerade?", false),
    (36, "Komplettering/eventuell sekretess", "Avser ni att komplettera er anmälan? Om ni ska komplettera anmälan så måste det ske skyndsamt", false),
    (37, "Komplettering/eventuell sekretess", "Om ni anser att viss information i er anmälan bör omfattas av sekretess, beskriv vilken information som enligt er bör vara sekretessbelagd och varför.", false),
];

/// One answered (or unanswered) question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Answer {
    pub no: u8,
    pub section: String,
    pub question: String,
    /// Marked with an asterisk in the form.
    pub required: bool,
    /// The prefilled answer; None when nothing is known.
    pub answer: Option<String>,
    /// True when the official must fill in (part of) the answer.
    pub missing: bool,
    /// Something the official must look at before sending.
    pub flag: Option<String>,
}

/// The whole draft.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImyForm {
    pub schema: String,
    pub case_ref: String,
    pub committee: String,
    /// The instant of generation, RFC 3339 in the case's zone.
    pub generated_at: String,
    /// The same instant as people read it, in the form's one style
    /// ("2021-06-23 kl. 12:00"): a machine timestamp has no place in a document.
    pub generated: String,
    /// The art. 33 deadline, RFC 3339 in the case's zone.
    pub deadline_at: String,
    /// True when generated after the deadline (question 14 is then flagged).
    pub late: bool,
    pub answers: Vec<Answer>,
    /// The questions still to be answered ("2. Organisationsnummer"), listed
    /// at the end so none is missed before the form is sent.
    pub open_items: Vec<String>,
}

/// What one question gets: (answer, missing, flag).
pub(crate) type Filled = (Option<String>, bool, Option<String>);

fn known(s: impl Into<String>) -> Filled {
    (Some(s.into()), false, None)
}

fn unknown() -> Filled {
    (None, true, None)
}

fn opt(v: &Option<String>) -> Filled {
    match given(v) {
        Some(s) => known(s),
        None => unknown(),
    }
}

/// "Box 503, 127 26 Skärholmen, Sverige" with placeholders for missing parts.
fn address(a: &Option<PostalAddress>) -> Filled {
    let Some(a) = a else { return unknown() };
    let part = |v: &Option<String>| given(v).map(str::to_string);
    let street = part(&a.street);
    let postcode = part(&a.postcode);
    let city = part(&a.city);
    // The form's postcode and city are required; a missing one keeps the
    // question open even when the rest is known.
    let missing = street.is_none() || postcode.is_none() || city.is_none();
    let line = format!(
        "{}, {} {}, {}",
        street.unwrap_or_else(|| TO_FILL_IN.into()),
        postcode.unwrap_or_else(|| TO_FILL_IN.into()),
        city.unwrap_or_else(|| TO_FILL_IN.into()),
        part(&a.country).unwrap_or_else(|| "Sverige".into())
    );
    (Some(line), missing, None)
}

use crate::core::local_time::rfc3339;

/// The prefilled form for a case decided with `outcome`.
pub fn imy_form(case: &CaseFile, outcome: Outcome) -> ImyForm {
    let tz = case.tz;
    let answers = QUESTIONS
        .iter()
        .map(|&(no, section, question, required)| {
            let (answer, missing, flag) = fill(case, outcome, no);
            Answer {
                no,
                section: section.into(),
                question: question.into(),
                required,
                answer,
                missing,
                flag,
            }
        })
        .collect::<Vec<Answer>>();
    let open_items = answers
        .iter()
        .filter(|a| a.missing || a.answer.is_none())
        .map(|a| format!("{}. {}", a.no, a.question))
        .collect();
    ImyForm {
        schema: SCHEMA.into(),
        case_ref: case.case_ref.to_string(),
        committee: case.committee.clone(),
        generated_at: rfc3339(case.generated_at, tz),
        generated: datetime_short(case.generated_at, tz),
        deadline_at: rfc3339(case.deadline_at, tz),
        late: is_late(case),
        answers,
        open_items,
    }
}

fn fill(case: &CaseFile, outcome: Outcome, no: u8) -> Filled {
    let tz = case.tz;
    let f = &case.facts;
    match no {
        1 => match given(&case.controller.name) {
            Some(org) => known(format!("{org}, {}", case.committee)),
            None => (Some(case.committee.clone()), true, Some("Kommunens namn saknas i konfigurationen.".into())),
        },
        2 => opt(&case.controller.number),
        3 | 9 => address(&case.controller.address),
        4 => match given(&case.diarienummer) {
            Some(d) => known(format!("{d} ({})", case.case_ref)),
            None => known(case.case_ref.to_string()),
        },
        5 => opt(&case.official.name),
        6 => opt(&case.official.title),
        7 => opt(&case.official.email),
        8 => opt(&case.official.phone),
        10 => match f.occurred_from {
            Some(a) => known(stated_short(a, tz)),
            None => unknown(),
        },
        11 => {
            // "Ni" is the controller: it became aware when the processor's notice
            // reached it; the processor's own discovery goes in the comment.
            let via_processor = reported_by_processor(case);
            let mut s = format!(
                "{} ({})",
                datetime_short(case.aware_at, tz),
                if via_processor {
                    "personuppgiftsbiträdets anmälan inkom till oss"
                } else {
                    "då fick vi kännedom om incidenten"
                }
            );
            if let Some(d) = f.discovered_at {
                s.push_str(&format!(
                    ". Kommentar: personuppgiftsbiträdet upptäckte incidenten {}.",
                    stated_short(d, tz)
                ));
            }
            known(s)
        }
        12 => match f.ongoing {
            Some(true) => known("Ja"),
            Some(false) => known("Nej"),
            None => unknown(),
        },
        13 => match (f.ongoing, f.occurred_to) {
            (Some(true), _) => known("Incidenten pågår fortfarande."),
            (_, Some(b)) => known(stated_short(b, tz)),
            _ => unknown(),
        },
        14 => {
            let deadline = datetime_short(case.deadline_at, tz);
            if is_late(case) {
                let flag = Some(format!(
                    "Tidsfristen på 72 timmar gick ut {deadline}. Anmälan är alltså sen, och skälen till dröjsmålet måste anges."
                ));
                match (given(&case.delay_reason), delay_draft(case, datetime_short)) {
                    (Some(r), _) => (Some(r.to_string()), false, flag),
                    // The forward is the usual reason: offered as a draft.
                    (None, Some(draft)) => (Some(draft), true, flag),
                    (None, None) => (None, true, flag),
                }
            } else {
                known(format!(
                    "Ej tillämpligt: anmälan görs inom 72 timmar (tidsfristen går ut {deadline})."
                ))
            }
        }
        15 => match f.cause {
            Some(Cause::Attack) => (
                Some("Obehörig åtkomst".into()),
                false,
                Some("Förslag utifrån orsaken (dataintrång): kontrollera mot formulärets alternativ.".into()),
            ),
            Some(Cause::HumanError) => (
                Some("Obehörigt röjande".into()),
                false,
                Some("Förslag utifrån orsaken (mänskligt misstag): kontrollera mot formulärets alternativ.".into()),
            ),
            _ => unknown(),
        },
        16 => {
            let mut s = facts_paragraph(case, Style::Short);
            if let Some(org) = given(&case.processor.organisation) {
                s = format!(
                    "Personuppgiftsbiträdet {} meddelade oss {} om en personuppgiftsincident. {s}",
                    org,
                    datetime_short(case.aware_at, tz)
                );
            }
            known(s)
        }
        17 => {
            if reported_by_processor(case) {
                known("Ett personuppgiftsbiträde informerade oss")
            } else {
                unknown()
            }
        }
        18 => {
            // The kind the form asks for, and how it happened in the
            // supplier's own words when it said so (not only "dataintrång").
            let words = case
                .details
                .cause_text
                .as_deref()
                .map(|t| format!("Personuppgiftsbiträdets beskrivning: ”{}”", t.trim()));
            match (f.cause, words) {
                (Some(c), Some(w)) => known(format!("{}\n{w}", cause_form_label(c))),
                (Some(c), None) => known(cause_form_label(c)),
                (None, Some(w)) => (Some(w), true, None),
                (None, None) => unknown(),
            }
        }
        // A municipality's committee is always in the public sector.
        19 => known("Offentlig sektor"),
        // The area the notice names is the incident's own; the committee's
        // configured main area is the fallback.
        20 => match case.details.activity_area.as_deref() {
            Some(a) => (
                Some(area_label(a).to_string()),
                false,
                Some("Förslag utifrån meddelandet: kontrollera mot formulärets alternativ.".into()),
            ),
            None => opt(&case.controller.activity_area),
        },
        21 => match given(&case.processor.organisation) {
            Some(_) => known("Ja"),
            None => unknown(),
        },
        22 => {
            let org = given(&case.processor.organisation);
            let place = establishment(org, given(&case.processor.email));
            match (org, given(&case.processor.number), place) {
                (Some(o), Some(n), _) => known(format!("{o}, organisationsnummer {n}")),
                // A company outside the EU/EEA has no Swedish number to fill in;
                // what the official must look at is the transfer.
                (Some(o), None, Establishment::OutsideEea) => (
                    Some(format!("{o} (etablerat utanför EU/EES, inget svenskt organisationsnummer)")),
                    false,
                    Some("Personuppgiftsbiträdet är etablerat utanför EU/EES: personuppgifterna kan ha överförts till tredjeland. Ange land och stöd enligt kapitel V i dataskyddsförordningen.".into()),
                ),
                (Some(o), None, _) => (Some(format!("{o}, organisationsnummer {TO_FILL_IN}")), true, None),
                (None, _, _) => unknown(),
            }
        }
        23 => subjects(case),
        24 => unknown(),
        25 => {
            let g = &case.details.subject_groups;
            if g.is_empty() {
                unknown()
            } else {
                let lines: Vec<String> =
                    g.iter().map(|g| format!("- {}", group_form_label(g))).collect();
                (
                    Some(lines.join("\n")),
                    false,
                    Some("Grupperna är de som meddelandet nämner: kontrollera att inga fler grupper berörs.".into()),
                )
            }
        }
        26 => {
            if f.data_categories.is_empty() {
                unknown()
            } else {
                let lines: Vec<String> = f
                    .data_categories
                    .iter()
                    .map(|c| format!("- {}", category_form_label(c)))
                    .collect();
                known(lines.join("\n"))
            }
        }
        27 => unknown(),
        28 => unknown(),
        29 => {
            let hint = case.risk.as_ref().map(|r| {
                format!(
                    "Riskbedömning i ärendet: {}.",
                    match r.level {
                        RiskLevel::None => "osannolikt att medföra risk",
                        RiskLevel::Risk => "risk",
                        RiskLevel::High => "hög risk",
                    }
                )
            });
            (None, true, hint)
        }
        30 => actions(case),
        31 => known("Nej"),
        32 => known("Ej tillämpligt"),
        // 33-35 follow the one answer to "will you inform" (33), so they can
        // never contradict each other: undecided leaves all of them open.
        33 => match will_inform(case, outcome) {
            Some(true) => known("Ja"),
            Some(false) => known("Nej"),
            // The decision says informing is decided later (the sample decision, `sample.rs`).
            None if subjects_unknown(case) => (
                Some("Beslutas senare i utredningen, när antalet registrerade är känt.".into()),
                true,
                None,
            ),
            None => unknown(),
        },
        34 => match will_inform(case, outcome) {
            Some(false) => known("Ej tillämpligt"),
            // The decision's sentence with its blanks: who first, and how.
            Some(true) => (Some(INFORM_PLAN_BLANK.into()), true, None),
            None => (None, true, Some("Besvaras när fråga 33 är besvarad.".into())),
        },
        35 => match will_inform(case, outcome) {
            Some(true) => known("Ej tillämpligt"),
            Some(false) => known("- Incidenten medför inte hög risk för personers fri- och rättigheter"),
            None => (None, true, Some("Besvaras när fråga 33 är besvarad.".into())),
        },
        36 => {
            let inexact = f
                .data_subjects
                .is_none_or(|r| r.min.is_none() || r.max.is_none() || r.min != r.max);
            if inexact || f.data_categories.iter().any(|c| c == "unknown") {
                known("Ja: uppgifter som ännu inte är kända (bland annat antalet registrerade) kompletteras så snart personuppgiftsbiträdet lämnat dem.")
            } else {
                unknown()
            }
        }
        37 => (
            None,
            true,
            Some("Anmälan blir en allmän handling: ange vad som bör omfattas av sekretess och varför.".into()),
        ),
        _ => unknown(),
    }
}

/// Whether the data subjects will be informed (question 33): yes with the
/// decision to inform or a high risk, no with a lower assessed risk, None while
/// undecided (no assessment, or notify while the count is unknown).
fn will_inform(case: &CaseFile, outcome: Outcome) -> Option<bool> {
    match (outcome, case.risk.as_ref().map(|r| r.level)) {
        (Outcome::NotifyInform, _) | (_, Some(RiskLevel::High)) => Some(true),
        (Outcome::Notify, _) if subjects_unknown(case) => None,
        (_, Some(_)) => Some(false),
        _ => None,
    }
}

/// True when the case came from a processor's notice (the usual way).
pub(crate) fn reported_by_processor(case: &CaseFile) -> bool {
    given(&case.processor.organisation).is_some() || !case.messages.is_empty()
}

pub(crate) fn subjects(case: &CaseFile) -> Filled {
    let Some(r) = case.facts.data_subjects else {
        return unknown();
    };
    match (r.min, r.max) {
        // The supplier's single figure is an estimate (the extraction keeps
        // "approximately 640" and "640" alike): the form's interval, never its
        // "exact number" field, and the figure in the flag.
        (Some(a), Some(b)) if a == b => (
            Some(imy_range(a).to_string()),
            false,
            Some(format!(
                "Personuppgiftsbiträdet uppger cirka {} registrerade; intervallet är valt efter det. Fyll i \"Exakt antal registrerade\" bara om antalet är bekräftat.",
                number_sv(a)
            )),
        ),
        (_, Some(b)) => {
            let stated = match r.min {
                Some(a) => format!("mellan {} och {}", number_sv(a.min(b)), number_sv(a.max(b))),
                None => format!("upp till {}", number_sv(b)),
            };
            (
                Some(imy_range(b).to_string()),
                false,
                Some(format!(
                    "Uppgiften är ett spann ({stated}); intervallet är valt efter det högsta antalet."
                )),
            )
        }
        (Some(a), None) => (
            Some(format!("Minst {}", number_sv(a))),
            true,
            Some("Bara ett lägsta antal är känt: välj intervall.".into()),
        ),
        (None, None) => unknown(),
    }
}

pub(crate) fn actions(case: &CaseFile) -> Filled {
    let tz = case.tz;
    let mut rows: Vec<(chrono::DateTime<chrono::Utc>, String)> = case
        .messages
        .iter()
        .map(|m| {
            (
                m.received_at,
                format!(
                    "{} – Inkom från personuppgiftsbiträde: {}",
                    datetime_short(m.received_at, tz),
                    m.subject.trim()
                ),
            )
        })
        .collect();
    // The supplier's own measures, as its notice (received when the clock
    // started) states them, quoted.
    rows.extend(case.details.measures.iter().map(|m| {
        (
            case.aware_at,
            format!(
                "{} – Personuppgiftsbiträdet uppger: ”{}”",
                datetime_short(case.aware_at, tz),
                m.trim()
            ),
        )
    }));
    rows.extend(case.timeline.iter().map(|e| {
        (
            e.at,
            format!("{} – {}", datetime_short(e.at, tz), e.text.trim()),
        )
    }));
    if rows.is_empty() {
        return unknown();
    }
    rows.sort_by_key(|(at, _)| *at);
    known(
        rows.into_iter()
            .map(|(_, s)| s)
            .collect::<Vec<_>>()
            .join("\n"),
    )
}

impl ImyForm {
    /// Plain text, one question after the other, sections as headings.
    pub fn to_text(&self) -> String {
        let mut out = format!(
            "Utkast: Anmälan av personuppgiftsincident till Integritetsskyddsmyndigheten\nÄrende: {} ({})\nSkapat: {}\n",
            self.case_ref, self.committee, self.generated
        );
        out.push_str(&answers_text(
            &self.answers,
            &self.open_items,
            "Att fylla i innan anmälan skickas:",
        ));
        out
    }

    /// The `breachwatch.imy/1` object, pretty-printed with a final newline.
    pub fn to_json(&self) -> String {
        // Serialising plain strings, numbers and booleans cannot fail; the
        // fallback keeps the function total anyway.
        let mut s = serde_json::to_string_pretty(self)
            .unwrap_or_else(|e| format!("{{\"schema\":\"{SCHEMA}\",\"error\":\"{e}\"}}"));
        s.push('\n');
        s
    }
}

/// The questions of a form as plain text, sections as headings, each blank
/// marked, and the open items listed under `open_heading` (the IMY form and
/// the NIS2 reports share it).
pub(super) fn answers_text(
    answers: &[Answer],
    open_items: &[String],
    open_heading: &str,
) -> String {
    let mut out = String::new();
    let mut section = "";
    for a in answers {
        if a.section != section {
            section = &a.section;
            out.push_str(&format!("\n{section}\n"));
        }
        out.push_str(&format!(
            "\n{}. {}{}\n",
            a.no,
            a.question,
            if a.required { " *" } else { "" }
        ));
        match &a.answer {
            Some(text) => {
                out.push_str(text);
                out.push('\n');
                // One blank is enough: "[Övriga skäl …: att fylla i]"
                // needs no "[att fylla i]" below it.
                if a.missing && !text.contains("att fylla i]") {
                    out.push_str(TO_FILL_IN);
                    out.push('\n');
                }
            }
            None => {
                out.push_str(TO_FILL_IN);
                out.push('\n');
            }
        }
        if let Some(flag) = &a.flag {
            out.push_str(&format!("OBS: {flag}\n"));
        }
    }
    if !open_items.is_empty() {
        out.push_str(&format!("\n{open_heading}\n"));
        for i in open_items {
            out.push_str(&format!("- {i}\n"));
        }
    }
    out
}
