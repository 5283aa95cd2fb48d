//! The NIS2 drafts: the early warning (art. 23(4)(a)) and the incident
//! notification (art. 23(4)(b)) that a municipality sends under
//! cybersäkerhetslagen (2025:1506) 2 kap. 5–8 §§. Since 2026 the reports go to
//! the CSIRT unit at Myndigheten för civilt försvar (MCF) (cybersäkerhets-
//! förordningen (2025:1507) 6 §). The authority's e-service has its own form;
//! these drafts follow the content the directive and the law ask for, in the
//! IMY draft's shape (`imy.rs`): numbered questions in sections, each
//! answered from the case or left `[att fylla i]`, with flags where the
//! official must look, and the open items listed at the end.
//!
//! - early warning: who reports and how to reach them, when the municipality
//!   became aware, what is known, whether an unlawful or malicious act is
//!   suspected, whether the incident may have cross-border impact;
//! - incident notification: the same brought up to date, and the initial
//!   assessment (severity and impact), indicators of compromise where
//!   available, and the measures taken.
//!
//! Pure: the case file and the case's NIS2 state come in; no clock.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use super::decision::facts_paragraph;
use super::imy::{actions, answers_text, reported_by_processor, subjects, Answer, Filled};
use super::model::{CaseFile, RiskLevel};
use super::words::{
    category_form_label, datetime_short, establishment, given, stated_short, Establishment, Style,
    TO_FILL_IN,
};
use crate::core::local_time::rfc3339;
use crate::core::notice::Cause;
use crate::core::regime::{Nis2, Nis2Reason};

pub const SCHEMA: &str = "breachwatch.nis2/1";

/// The receiving authority, as the drafts name it.
pub const AUTHORITY: &str = "Myndigheten för civilt försvar (MCF), CSIRT-enheten";

/// Which NIS2 report a draft is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Nis2Draft {
    /// Art. 23(4)(a): within 24 hours of becoming aware.
    EarlyWarning,
    /// Art. 23(4)(b): within 72 hours of becoming aware.
    IncidentNotification,
}

impl Nis2Draft {
    pub const ALL: [Nis2Draft; 2] = [Nis2Draft::EarlyWarning, Nis2Draft::IncidentNotification];

    /// The title of the draft.
    pub fn title(self) -> &'static str {
        match self {
            Nis2Draft::EarlyWarning => "Utkast: Tidig varning om betydande incident (NIS2)",
            Nis2Draft::IncidentNotification => {
                "Utkast: Incidentanmälan om betydande incident (NIS2)"
            }
        }
    }

    /// ASCII stem of the file names: `NIS2-tidig-varning-PUI-2026-0001`.
    pub fn file_stem(self, case_ref: &str) -> String {
        match self {
            Nis2Draft::EarlyWarning => format!("NIS2-tidig-varning-{case_ref}"),
            Nis2Draft::IncidentNotification => format!("NIS2-incidentanmalan-{case_ref}"),
        }
    }

    /// Hours from awareness to the deadline.
    pub fn hours(self) -> i64 {
        match self {
            Nis2Draft::EarlyWarning => 24,
            Nis2Draft::IncidentNotification => 72,
        }
    }

    /// The legal basis line under the title.
    pub fn basis(self) -> &'static str {
        match self {
            Nis2Draft::EarlyWarning => "Cybersäkerhetslagen (2025:1506) 2 kap. och NIS2-direktivet (EU) 2022/2555 art. 23.4 a: tidig varning inom 24 timmar från kännedom om en betydande incident.",
            Nis2Draft::IncidentNotification => "Cybersäkerhetslagen (2025:1506) 2 kap. och NIS2-direktivet (EU) 2022/2555 art. 23.4 b: incidentanmälan inom 72 timmar från kännedom om en betydande incident.",
        }
    }
}

/// The whole draft.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Nis2Form {
    pub schema: String,
    pub report: Nis2Draft,
    pub title: String,
    pub basis: String,
    pub authority: String,
    pub case_ref: String,
    pub committee: String,
    /// RFC 3339 in the case's zone.
    pub generated_at: String,
    /// As people read it ("2026-03-27 kl. 23:30").
    pub generated: String,
    /// The report's deadline, RFC 3339 in the case's zone.
    pub deadline_at: String,
    /// As people read it.
    pub deadline: String,
    /// Generated after the deadline.
    pub late: bool,
    pub answers: Vec<Answer>,
    /// The questions still to be answered, listed at the end.
    pub open_items: Vec<String>,
}

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

/// (number, section, question, required) of the early warning; the
/// incident notification asks these and [`NOTIFICATION_QUESTIONS`].
const COMMON: [(u8, &str, &str, bool); 14] = [
    (1, "Verksamhetsutövare", "Verksamhetsutövarens namn", true),
    (2, "Verksamhetsutövare", "Organisationsnummer", true),
    (
        3,
        "Verksamhetsutövare",
        "Kontaktperson (namn och roll)",
        true,
    ),
    (4, "Verksamhetsutövare", "Kontaktpersonens e-post", true),
    (
        5,
        "Verksamhetsutövare",
        "Kontaktpersonens telefonnummer",
        true,
    ),
    (6, "Verksamhetsutövare", "Er interna referens", false),
    (7, "Incidenten", "När fick ni kännedom om incidenten?", true),
    (8, "Incidenten", "När inträffade incidenten?", false),
    (9, "Incidenten", "Pågår incidenten fortfarande?", false),
    (
        10,
        "Incidenten",
        "Vilka tjänster eller system berörs?",
        true,
    ),
    (
        11,
        "Incidenten",
        "Kort beskrivning av vad som har hänt",
        true,
    ),
    (
        12,
        "Misstänkt orsak och gränsöverskridande påverkan",
        "Misstänks incidenten vara orsakad av en olaglig eller avsiktligt skadlig handling?",
        true,
    ),
    (
        13,
        "Misstänkt orsak och gränsöverskridande påverkan",
        "Kan incidenten få gränsöverskridande konsekvenser (påverkan i andra EU-länder)?",
        true,
    ),
    (
        14,
        "Misstänkt orsak och gränsöverskridande påverkan",
        "Önskar ni stöd eller vägledning från CSIRT-enheten?",
        false,
    ),
];

const NOTIFICATION_QUESTIONS: [(u8, &str, &str, bool); 8] = [
    (
        15,
        "Inledande bedömning",
        "Har en tidig varning lämnats?",
        false,
    ),
    (
        16,
        "Inledande bedömning",
        "Inledande bedömning av incidenten",
        true,
    ),
    (17, "Inledande bedömning", "Allvarlighetsgrad", true),
    (
        18,
        "Inledande bedömning",
        "Påverkan på tjänsterna och deras användare",
        true,
    ),
    (
        19,
        "Inledande bedömning",
        "Hur många användare eller personer berörs?",
        false,
    ),
    (
        20,
        "Inledande bedömning",
        "Indikatorer på kompromettering (IoC), om sådana finns",
        false,
    ),
    (21, "Åtgärder", "Vidtagna och planerade åtgärder", true),
    (
        22,
        "Åtgärder",
        "Har incidenten rapporterats till andra myndigheter?",
        false,
    ),
];

const SECRECY: (u8, &str, &str, bool) = (
    23,
    "Eventuell sekretess",
    "Om ni anser att viss information i rapporten bör omfattas av sekretess, ange vilken och varför.",
    false,
);

/// The prefilled draft of `report` for the case; `nis2` is the case's NIS2
/// state (reasons of the suggestion, reports sent).
pub fn nis2_form(case: &CaseFile, nis2: &Nis2, report: Nis2Draft) -> Nis2Form {
    let tz = case.tz;
    let deadline = case
        .aware_at
        .checked_add_signed(Duration::hours(report.hours()))
        .unwrap_or(case.aware_at);
    let mut questions: Vec<(u8, &str, &str, bool)> = COMMON.to_vec();
    if report == Nis2Draft::IncidentNotification {
        questions.extend(NOTIFICATION_QUESTIONS);
    }
    let mut secrecy = SECRECY;
    secrecy.0 = questions.len() as u8 + 1;
    questions.push(secrecy);
    let answers: Vec<Answer> = questions
        .iter()
        .map(|&(no, section, question, required)| {
            let (answer, missing, flag) = if (no, section) == (secrecy.0, secrecy.1) {
                (
                    None,
                    true,
                    Some("Rapporten blir en allmän handling hos myndigheten: ange vad som bör omfattas av sekretess och varför.".into()),
                )
            } else {
                fill(case, nis2, report, no, deadline)
            };
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
        .collect();
    let open_items = answers
        .iter()
        .filter(|a| a.missing || a.answer.is_none())
        .map(|a| format!("{}. {}", a.no, a.question))
        .collect();
    Nis2Form {
        schema: SCHEMA.into(),
        report,
        title: report.title().into(),
        basis: report.basis().into(),
        authority: AUTHORITY.into(),
        case_ref: case.case_ref.to_string(),
        committee: case.committee.clone(),
        generated_at: rfc3339(case.generated_at, tz),
        generated: datetime_short(case.generated_at, tz),
        deadline_at: rfc3339(deadline, tz),
        deadline: datetime_short(deadline, tz),
        late: case.generated_at > deadline,
        answers,
        open_items,
    }
}

fn reason_clause(r: &Nis2Reason) -> String {
    match r {
        Nis2Reason::Cyberattack { word } => format!("anmälan beskriver ett it-angrepp (”{word}”)"),
        Nis2Reason::Unavailability { word } => {
            format!("en tjänst är eller har varit otillgänglig (”{word}”)")
        }
        Nis2Reason::InScopeService { service } => {
            format!("tjänsten ”{service}” omfattas enligt kommunens förteckning")
        }
        Nis2Reason::ManyAffected { at_least } => format!("minst {at_least} personer berörs"),
    }
}

fn fill(
    case: &CaseFile,
    nis2: &Nis2,
    report: Nis2Draft,
    no: u8,
    deadline: DateTime<Utc>,
) -> Filled {
    let tz = case.tz;
    let f = &case.facts;
    let processor = given(&case.processor.organisation);
    match no {
        1 => match given(&case.controller.name) {
            Some(org) => known(format!("{org}, {}", case.committee)),
            None => (
                Some(case.committee.clone()),
                true,
                Some("Kommunens namn saknas i konfigurationen.".into()),
            ),
        },
        2 => opt(&case.controller.number),
        3 => match (given(&case.official.name), given(&case.official.title)) {
            (Some(n), Some(t)) => known(format!("{n}, {t}")),
            (Some(n), None) => (Some(format!("{n}, {TO_FILL_IN}")), true, None),
            _ => unknown(),
        },
        4 => opt(&case.official.email),
        5 => opt(&case.official.phone),
        6 => match given(&case.diarienummer) {
            Some(d) => known(format!("{d} ({})", case.case_ref)),
            None => known(case.case_ref.to_string()),
        },
        7 => {
            let how = if reported_by_processor(case) {
                "leverantörens meddelande kom in till kommunen"
            } else {
                "då fick kommunen kännedom om incidenten"
            };
            let mut s = format!("{} ({how})", datetime_short(case.aware_at, tz));
            if let Some(d) = f.discovered_at {
                s.push_str(&format!(
                    ". Leverantören upptäckte incidenten {}.",
                    stated_short(d, tz)
                ));
            }
            let flag = (case.generated_at > deadline).then(|| {
                format!(
                    "Fristen på {} timmar från kännedom gick ut {}: rapporten är sen. Ange skälet i rapporten.",
                    report.hours(),
                    datetime_short(deadline, tz)
                )
            });
            (Some(s), false, flag)
        }
        8 => match f.occurred_from {
            Some(a) => known(stated_short(a, tz)),
            None => unknown(),
        },
        9 => match (f.ongoing, f.occurred_to) {
            (Some(true), _) => known("Ja"),
            (Some(false), Some(b)) | (None, Some(b)) => {
                known(format!("Nej, den upphörde {}", stated_short(b, tz)))
            }
            (Some(false), None) => known("Nej"),
            (None, None) => unknown(),
        },
        10 => {
            let mut parts: Vec<String> = f.systems.iter().map(|s| s.trim().to_string()).collect();
            parts.extend(nis2.reasons.iter().filter_map(|r| match r {
                Nis2Reason::InScopeService { service } => Some(service.clone()),
                _ => None,
            }));
            parts.dedup();
            match (parts.is_empty(), processor) {
                (true, _) => unknown(),
                (false, Some(p)) => known(format!("{} (levereras av {p})", parts.join(", "))),
                (false, None) => known(parts.join(", ")),
            }
        }
        11 => {
            let mut s = facts_paragraph(case, Style::Short);
            if let Some(p) = processor {
                s = format!(
                    "Leverantören {p} meddelade kommunen {} om incidenten. {s}",
                    datetime_short(case.aware_at, tz)
                );
            }
            known(s)
        }
        12 => {
            let words = given(&case.details.cause_text)
                .map(|t| format!(" Leverantörens beskrivning: ”{t}”"))
                .unwrap_or_default();
            match f.cause {
                Some(Cause::Attack) => (
                    Some(format!("Ja, ett antagonistiskt angrepp misstänks.{words}")),
                    false,
                    Some("Förslag utifrån leverantörens meddelande: bekräfta innan rapporten skickas.".into()),
                ),
                Some(_) => (
                    Some(format!("Nej, inget i underlaget tyder på det.{words}")),
                    false,
                    Some("Förslag utifrån leverantörens meddelande: bekräfta innan rapporten skickas.".into()),
                ),
                None => {
                    let cyber = nis2
                        .reasons
                        .iter()
                        .any(|r| matches!(r, Nis2Reason::Cyberattack { .. }));
                    if cyber {
                        (
                            Some("Ja, ett it-angrepp misstänks.".into()),
                            false,
                            Some("Förslag utifrån meddelandets ordval: bekräfta innan rapporten skickas.".into()),
                        )
                    } else {
                        unknown()
                    }
                }
            }
        }
        13 => match establishment(processor, given(&case.processor.email)) {
            Establishment::OutsideEea => (
                None,
                true,
                Some("Leverantören är etablerad utanför EU/EES: bedöm om tjänsten eller uppgifterna berör andra länder.".into()),
            ),
            _ => (
                None,
                true,
                Some("Bedöm om tjänsten används i eller påverkar verksamhet i andra EU-länder, eller om leverantören levererar samma tjänst till andra länder.".into()),
            ),
        },
        14 => unknown(),
        15 => match nis2.early_warning_sent_at {
            Some(at) => known(format!("Ja, {}", datetime_short(at, tz))),
            None => (
                Some("Nej".into()),
                false,
                Some("Ingen tidig varning är registrerad i ärendet. Har den skickats, svara \"tidig varning skickad\" i ärendet.".into()),
            ),
        },
        16 => {
            if nis2.reasons.is_empty() {
                unknown()
            } else {
                let why: Vec<String> = nis2.reasons.iter().map(reason_clause).collect();
                (
                    Some(format!(
                        "Incidenten bedöms kunna vara betydande eftersom {}.",
                        why.join(", och ")
                    )),
                    true,
                    Some("Förslag utifrån läsarens skäl: komplettera med er egen bedömning.".into()),
                )
            }
        }
        17 => {
            let hint = case.risk.as_ref().map(|r| {
                format!(
                    "Riskbedömningen enligt dataskyddsförordningen i ärendet: {}. Allvarlighetsgraden enligt NIS2 bedöms för tjänsten, inte bara för personuppgifterna.",
                    match r.level {
                        RiskLevel::None => "osannolikt att medföra risk",
                        RiskLevel::Risk => "risk",
                        RiskLevel::High => "hög risk",
                    }
                )
            });
            (None, true, hint)
        }
        18 => {
            let mut s: Vec<String> = Vec::new();
            if let Some(w) = nis2.reasons.iter().find_map(|r| match r {
                Nis2Reason::Unavailability { word } => Some(word),
                _ => None,
            }) {
                s.push(format!("Tjänsten har varit otillgänglig (meddelandet: ”{w}”)."));
            }
            if !f.data_categories.is_empty() {
                let cats: Vec<String> = f
                    .data_categories
                    .iter()
                    .map(|c| category_form_label(c).to_lowercase())
                    .collect();
                s.push(format!(
                    "Personuppgifter kan ha röjts: {}.",
                    cats.join(", ")
                ));
            }
            if s.is_empty() {
                unknown()
            } else {
                (Some(s.join(" ")), true, None)
            }
        }
        19 => subjects(case),
        20 => (
            None,
            true,
            Some("Ange t.ex. ip-adresser, domäner och filhashar som leverantören har lämnat; skriv \"Inga kända\" annars.".into()),
        ),
        21 => actions(case),
        22 => match (given(&case.imy_reference), case.imy_notified_at) {
            (Some(r), Some(at)) => known(format!(
                "Ja, personuppgiftsincidenten är anmäld till Integritetsskyddsmyndigheten {} ({r}).",
                datetime_short(at, tz)
            )),
            (Some(r), None) => known(format!(
                "Ja, personuppgiftsincidenten är anmäld till Integritetsskyddsmyndigheten ({r})."
            )),
            _ => (
                Some("Anmälan till Integritetsskyddsmyndigheten enligt dataskyddsförordningen art. 33 hanteras i samma ärende.".into()),
                true,
                Some("Ange om och när anmälan till IMY gjordes.".into()),
            ),
        },
        _ => unknown(),
    }
}

impl Nis2Form {
    /// Plain text, sections as headings, the blanks marked and listed at the end.
    pub fn to_text(&self) -> String {
        let mut out = format!(
            "{}\nTill: {}\n{}\nÄrende: {} ({})\nSkapat: {}\nFrist: senast {}{}\n",
            self.title,
            self.authority,
            self.basis,
            self.case_ref,
            self.committee,
            self.generated,
            self.deadline,
            if self.late { " (passerad)" } else { "" }
        );
        out.push_str(&answers_text(
            &self.answers,
            &self.open_items,
            "Att fylla i innan rapporten skickas:",
        ));
        out
    }

    /// The `breachwatch.nis2/1` object, pretty-printed with a final newline.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self)
            .unwrap_or_else(|e| format!("{{\"schema\":\"{SCHEMA}\",\"error\":\"{e}\"}}"));
        s.push('\n');
        s
    }
}
