//! The NIS2 reply commands (issue 16), read before the one-word keywords:
//! `nis2: ja|nej` / `nis2: yes|no` with optional reasoning after the answer,
//! and the reports as whole lines: `tidig varning skickad` / `early warning
//! sent`, `incidentanmälan skickad REF` / `incident notification sent REF`,
//! `lägesrapport skickad` / `progress report sent`, `slutrapport skickad` /
//! `final report sent`, and `incident hanterad` / `incident handled`. A line that only starts like a report ("Tidig varning
//! skickad i går kväll av IT") is text, as for the other commands without an
//! argument.

use serde::{Deserialize, Serialize};

use super::{Command, CommandError, Lang, LineResult};

/// The authority's reference for a NIS2 incident notification, as written
/// (its format is the authority's and not fixed by law): 2-40 characters,
/// letters, digits and `-`, `/`, `.`, `_`, `:`, at least one digit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AuthorityRef(String);

impl TryFrom<String> for AuthorityRef {
    type Error = super::NotAReference;
    fn try_from(s: String) -> Result<Self, super::NotAReference> {
        AuthorityRef::parse(&s).ok_or(super::NotAReference {
            kind: "an authority reference",
            value: s,
        })
    }
}

impl From<AuthorityRef> for String {
    fn from(r: AuthorityRef) -> String {
        r.0
    }
}

impl AuthorityRef {
    pub fn parse(s: &str) -> Option<Self> {
        let s = s
            .trim()
            .trim_matches(|c: char| !c.is_alphanumeric())
            .to_string();
        let ok = (2..=40).contains(&s.chars().count())
            && s.chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '-' | '/' | '.' | '_' | ':'))
            && s.chars().any(|c| c.is_ascii_digit());
        ok.then_some(AuthorityRef(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for AuthorityRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What an official said about NIS2.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "nis2", rename_all = "snake_case")]
pub enum Nis2Command {
    /// `nis2: ja|nej [reasoning]` / `nis2: yes|no [reasoning]`.
    Decide {
        applies: bool,
        reasoning: Option<String>,
    },
    /// `tidig varning skickad` / `early warning sent` (art. 23.4 a).
    EarlyWarningSent,
    /// `incidentanmälan skickad REF` / `incident notification sent REF` (art. 23.4 b).
    NotificationSent { authority_ref: AuthorityRef },
    /// `lägesrapport skickad` / `progress report sent` (art. 23.4 e).
    ProgressReportSent,
    /// `slutrapport skickad` / `final report sent` (art. 23.4 d).
    FinalReportSent,
    /// `incident hanterad` / `incident handled` (art. 23.4 e): the incident
    /// is handled; when it was still ongoing at the one-month mark, the
    /// final report is due one month from now.
    IncidentHandled,
}

/// The report lines without an argument, (normalised line, command, language).
const REPORTS: &[(&str, Nis2Command, Lang)] = &[
    (
        "tidig varning skickad",
        Nis2Command::EarlyWarningSent,
        Lang::Sv,
    ),
    (
        "early warning sent",
        Nis2Command::EarlyWarningSent,
        Lang::En,
    ),
    (
        "lägesrapport skickad",
        Nis2Command::ProgressReportSent,
        Lang::Sv,
    ),
    (
        "lagesrapport skickad",
        Nis2Command::ProgressReportSent,
        Lang::Sv,
    ),
    (
        "progress report sent",
        Nis2Command::ProgressReportSent,
        Lang::En,
    ),
    (
        "slutrapport skickad",
        Nis2Command::FinalReportSent,
        Lang::Sv,
    ),
    ("final report sent", Nis2Command::FinalReportSent, Lang::En),
    ("incident hanterad", Nis2Command::IncidentHandled, Lang::Sv),
    (
        "incidenten hanterad",
        Nis2Command::IncidentHandled,
        Lang::Sv,
    ),
    (
        "incidenten är hanterad",
        Nis2Command::IncidentHandled,
        Lang::Sv,
    ),
    (
        "incidenten ar hanterad",
        Nis2Command::IncidentHandled,
        Lang::Sv,
    ),
    ("incident handled", Nis2Command::IncidentHandled, Lang::En),
    (
        "incident is handled",
        Nis2Command::IncidentHandled,
        Lang::En,
    ),
];

/// The notification line's start, before the reference.
const NOTIFICATION: &[(&str, Lang)] = &[
    ("incidentanmälan skickad", Lang::Sv),
    ("incidentanmalan skickad", Lang::Sv),
    ("incident notification sent", Lang::En),
];

/// Reads a NIS2 command from a normalised line (`norm`, lower case, spaces
/// folded) and the line as written (`original`, for the reasoning and the
/// reference); None when the line is no NIS2 command at all.
pub(super) fn parse(norm: &str, original: &str) -> Option<LineResult> {
    let cmd = |c: Nis2Command, lang: Lang| Some(LineResult::Command(Command::Nis2(c), lang));
    if let Some((_, c, lang)) = REPORTS.iter().find(|(k, _, _)| *k == norm) {
        return cmd(c.clone(), *lang);
    }
    for &(start, lang) in NOTIFICATION {
        let Some(rest) = norm.strip_prefix(start) else {
            continue;
        };
        if !(rest.is_empty() || rest.starts_with([' ', ':'])) {
            continue;
        }
        // The reference as written: the original's words after the phrase.
        let words = start.split(' ').count();
        let tail: Vec<&str> = original.split_whitespace().skip(words).collect();
        let found = tail
            .iter()
            .map(|t| t.trim_start_matches(':'))
            .find_map(AuthorityRef::parse);
        return match found {
            Some(authority_ref) => cmd(Nis2Command::NotificationSent { authority_ref }, lang),
            None if tail.len() <= 1 => Some(invalid(start, lang, NO_REF_SV, NO_REF_EN)),
            // "Incidentanmälan skickad till myndigheten i går" is a sentence.
            None => Some(LineResult::NotACommand),
        };
    }
    let (head, value) = norm.split_once(':')?;
    if head.trim() != "nis2" {
        return None;
    }
    let value = value.trim();
    let answer = value.split([' ', ',', ';', '.']).next().unwrap_or("");
    let (applies, lang) = match answer {
        "ja" => (true, Lang::Sv),
        "nej" => (false, Lang::Sv),
        "yes" => (true, Lang::En),
        "no" => (false, Lang::En),
        _ => {
            return Some(invalid(
                "nis2",
                if value.is_empty() { Lang::Sv } else { guess(value) },
                &format!("Okänt svar \"{value}\". Skriv \"nis2: ja\" eller \"nis2: nej\", gärna med skälet efter, t.ex. \"nis2: ja, larmcentralen är en samhällsviktig tjänst\"."),
                &format!("Unknown answer \"{value}\". Write \"nis2: yes\" or \"nis2: no\", preferably with the reasoning after it, e.g. \"nis2: yes, the alarm centre is an essential service\"."),
            ))
        }
    };
    // The reasoning keeps the official's spelling: the original after the
    // colon and the answer word.
    let after_colon = original
        .split_once(':')
        .map(|(_, v)| v.trim())
        .unwrap_or("");
    let reasoning = after_colon
        .get(answer.len()..)
        .unwrap_or("")
        .trim_start_matches(|c: char| {
            c.is_whitespace() || matches!(c, ',' | ';' | '.' | '-' | '–' | ':')
        })
        .trim()
        .to_string();
    cmd(
        Nis2Command::Decide {
            applies,
            reasoning: (!reasoning.is_empty()).then_some(reasoning),
        },
        lang,
    )
}

const NO_REF_SV: &str =
    "Myndighetens referens saknas. Skriv t.ex. \"incidentanmälan skickad MCF-2026-123\".";
const NO_REF_EN: &str =
    "The authority's reference is missing. Write e.g. \"incident notification sent MCF-2026-123\".";

fn guess(value: &str) -> Lang {
    if value.is_ascii() {
        Lang::En
    } else {
        Lang::Sv
    }
}

fn invalid(keyword: &str, lang: Lang, sv: &str, en: &str) -> LineResult {
    LineResult::Invalid(CommandError {
        keyword: keyword.to_string(),
        lang,
        sv: sv.to_string(),
        en: en.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::super::{parse_reply, Parsed};
    use super::*;

    fn cmd(text: &str) -> Option<(Command, Lang)> {
        match parse_reply(text) {
            Parsed::Command { command, lang, .. } => Some((command, lang)),
            _ => None,
        }
    }

    fn nis2(c: Nis2Command) -> Command {
        Command::Nis2(c)
    }

    #[test]
    fn every_nis2_command_in_both_languages() {
        let decide = |applies, r: Option<&str>| {
            nis2(Nis2Command::Decide {
                applies,
                reasoning: r.map(str::to_string),
            })
        };
        assert_eq!(cmd("nis2: ja"), Some((decide(true, None), Lang::Sv)));
        assert_eq!(cmd("NIS2: Nej."), Some((decide(false, None), Lang::Sv)));
        assert_eq!(cmd("nis2: yes"), Some((decide(true, None), Lang::En)));
        assert_eq!(cmd("nis2: no"), Some((decide(false, None), Lang::En)));
        assert_eq!(
            cmd("nis2: ja, Larmcentralen är en samhällsviktig tjänst"),
            Some((
                decide(true, Some("Larmcentralen är en samhällsviktig tjänst")),
                Lang::Sv
            ))
        );
        assert_eq!(
            cmd("NIS2: no - only the newsletter tool was hit"),
            Some((
                decide(false, Some("only the newsletter tool was hit")),
                Lang::En
            ))
        );
        for (text, c, lang) in [
            ("Incident hanterad", Nis2Command::IncidentHandled, Lang::Sv),
            (
                "incidenten är hanterad.",
                Nis2Command::IncidentHandled,
                Lang::Sv,
            ),
            ("Incident handled", Nis2Command::IncidentHandled, Lang::En),
            (
                "tidig varning skickad",
                Nis2Command::EarlyWarningSent,
                Lang::Sv,
            ),
            (
                "Early warning sent.",
                Nis2Command::EarlyWarningSent,
                Lang::En,
            ),
            (
                "lägesrapport skickad",
                Nis2Command::ProgressReportSent,
                Lang::Sv,
            ),
            (
                "progress report sent",
                Nis2Command::ProgressReportSent,
                Lang::En,
            ),
            (
                "Slutrapport skickad!",
                Nis2Command::FinalReportSent,
                Lang::Sv,
            ),
            ("final report sent", Nis2Command::FinalReportSent, Lang::En),
        ] {
            assert_eq!(cmd(text), Some((nis2(c), lang)), "{text}");
        }
        let sent = |r: &str| {
            nis2(Nis2Command::NotificationSent {
                authority_ref: AuthorityRef::parse(r).expect("ref"),
            })
        };
        assert_eq!(
            cmd("incidentanmälan skickad MCF-2026-0042"),
            Some((sent("MCF-2026-0042"), Lang::Sv))
        );
        assert_eq!(
            cmd("Incident notification sent: CERT-2026/17."),
            Some((sent("CERT-2026/17"), Lang::En))
        );
    }

    #[test]
    fn sentences_and_bad_values_are_not_nis2_commands() {
        for text in [
            "Tidig varning skickad i går kväll av IT",
            "NIS2 gäller nog inte här",
            "Incidentanmälan skickad till myndigheten i går",
            "final report sent to the board",
        ] {
            assert!(
                matches!(parse_reply(text), Parsed::NotACommand { .. }),
                "{text}"
            );
        }
        for text in [
            "nis2: kanske",
            "nis2:",
            "incidentanmälan skickad",
            "incident notification sent ?",
        ] {
            assert!(
                matches!(parse_reply(text), Parsed::Invalid { .. }),
                "{text}"
            );
        }
        assert_eq!(AuthorityRef::parse("abc"), None);
        assert_eq!(AuthorityRef::parse(&"1".repeat(41)), None);
    }
}
