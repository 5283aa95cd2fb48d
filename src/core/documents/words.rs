//! Swedish words and formats shared by the documents: dates and times in the
//! case's zone, the data category vocabulary of the inspect contract in plain
//! Swedish and as the IMY form's labels, lists ("a, b och c"), numbers
//! ("10 000") and the form's ranges. Pure string work.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use chrono_tz::Tz;

use crate::core::local_time::read_without_time;
use crate::core::notice::Cause;

/// What an unanswered IMY question shows.
pub const TO_FILL_IN: &str = "[att fylla i]";

/// An optional text that was really given: trimmed, and None when blank, so a
/// configuration value of "" counts as missing everywhere.
pub fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

const MONTHS: [&str; 12] = [
    "januari",
    "februari",
    "mars",
    "april",
    "maj",
    "juni",
    "juli",
    "augusti",
    "september",
    "oktober",
    "november",
    "december",
];

/// "2021-06-18" in `tz`.
pub fn date_iso(at: DateTime<Utc>, tz: Tz) -> String {
    at.with_timezone(&tz).format("%Y-%m-%d").to_string()
}

/// "20:05" in `tz`.
pub fn time_hm(at: DateTime<Utc>, tz: Tz) -> String {
    at.with_timezone(&tz).format("%H:%M").to_string()
}

/// "2021-06-18 kl. 20:05" in `tz`: the seeds' way of writing an instant in a period.
pub fn datetime_short(at: DateTime<Utc>, tz: Tz) -> String {
    format!("{} kl. {}", date_iso(at, tz), time_hm(at, tz))
}

/// [`datetime_short`] for an instant read from a text (a discovery, an
/// incident's period): "2021-06-18" alone for a date read without a time
/// (`local_time::read_without_time`).
pub fn stated_short(at: DateTime<Utc>, tz: Tz) -> String {
    match read_without_time(at, tz) {
        true => date_iso(at, tz),
        false => datetime_short(at, tz),
    }
}

/// "18 juni 2021".
pub fn date_long(d: NaiveDate) -> String {
    // month0() is 0..=11 by construction; the fallback only keeps this total.
    let month = MONTHS.get(d.month0() as usize).copied().unwrap_or("");
    format!("{} {} {}", d.day(), month, d.year())
}

/// "den 18 juni 2021 kl. 20.05" in `tz`: the decision's one style for an
/// instant (the seeds' Bakgrund, with the point Swedish running text puts
/// between hours and minutes).
pub fn datetime_long(at: DateTime<Utc>, tz: Tz) -> String {
    let local = at.with_timezone(&tz);
    // A no-break space after "kl.": a line must not end in "kl." (seen in
    // the rendered draft).
    format!(
        "den {} kl.\u{a0}{}",
        date_long(local.date_naive()),
        local.format("%H.%M")
    )
}

/// [`datetime_long`] for an instant read from a text: "den 18 juni 2021"
/// alone for a date read without a time.
pub fn stated_long(at: DateTime<Utc>, tz: Tz) -> String {
    match read_without_time(at, tz) {
        true => format!("den {}", date_long(at.with_timezone(&tz).date_naive())),
        false => datetime_long(at, tz),
    }
}

/// How a document writes the instants the notice stated: the decision's
/// running text ([`stated_long`]) or the form's ([`stated_short`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    Long,
    Short,
}

impl Style {
    /// One instant the notice stated.
    pub fn stated(self, at: DateTime<Utc>, tz: Tz) -> String {
        match self {
            Style::Long => stated_long(at, tz),
            Style::Short => stated_short(at, tz),
        }
    }

    /// A period the notice stated, "a – b"; in running text two dates read
    /// without a time are one range: "1–3 december 2026", "30 november – 3
    /// december 2026".
    pub fn period(self, a: DateTime<Utc>, b: DateTime<Utc>, tz: Tz) -> String {
        let (la, lb) = (
            a.with_timezone(&tz).date_naive(),
            b.with_timezone(&tz).date_naive(),
        );
        let dates = read_without_time(a, tz) && read_without_time(b, tz) && la <= lb;
        let month = |d: NaiveDate| MONTHS.get(d.month0() as usize).copied().unwrap_or("");
        match (self, dates) {
            (Style::Long, true) if la == lb => date_long(la),
            (Style::Long, true) if (la.year(), la.month()) == (lb.year(), lb.month()) => {
                format!("{}–{} {} {}", la.day(), lb.day(), month(lb), lb.year())
            }
            (Style::Long, true) if la.year() == lb.year() => {
                format!("{} {} – {}", la.day(), month(la), date_long(lb))
            }
            (Style::Long, true) => format!("{} – {}", date_long(la), date_long(lb)),
            _ => format!("{} – {}", self.stated(a, tz), self.stated(b, tz)),
        }
    }
}

/// "a", "a och b", "a, b och c": a Swedish list without the Oxford comma.
pub fn join_sv(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} och {}", init.join(", "), last),
    }
}

/// "10 000": digits grouped by three with a space, as the IMY form writes them.
pub fn number_sv(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

/// The IMY form's ranges for question 23 (and 24): the range that holds `n`.
pub fn imy_range(n: u64) -> &'static str {
    match n {
        0 => "0",
        1..=10 => "1 - 10",
        11..=100 => "11 - 100",
        101..=1_000 => "101 - 1 000",
        1_001..=10_000 => "1 001 - 10 000",
        10_001..=100_000 => "10 001 - 100 000",
        100_001..=1_000_000 => "100 001 - 1 000 000",
        _ => "Fler än 1 000 000",
    }
}

/// A data category of the inspect contract in the words a decision uses
/// ("namn", "personnummer", "hälso- och sjukvårdsuppgifter"). Unknown values are
/// shown as they are, so nothing is silently dropped.
pub fn category_words(category: &str) -> String {
    let s = match category {
        "identification" => "namn",
        "personal_identity_number" => "personnummer",
        "contact_details" => "kontaktuppgifter",
        "health" => "hälso- och sjukvårdsuppgifter",
        "financial" => "ekonomiska uppgifter",
        "location" => "lokaliseringsuppgifter",
        "communication_logs" => "kommunikationsloggar",
        "communication_metadata" => "metadata om kommunikation",
        "criminal_offences" => "uppgifter om lagöverträdelser",
        "ethnic_origin" => "uppgifter om etniskt ursprung",
        "political_opinions" => "uppgifter om politiska åsikter",
        "religious_beliefs" => "uppgifter om religiös eller filosofisk övertygelse",
        "trade_union_membership" => "uppgifter om medlemskap i fackförening",
        "genetic" => "genetiska uppgifter",
        "biometric" => "biometriska uppgifter",
        "sex_life" => "uppgifter om sexualliv eller sexuell läggning",
        "credentials" => "inloggningsuppgifter",
        "children_private_circumstances" => "känsliga uppgifter om barns privata förhållanden",
        "official_documents" => "officiella dokument",
        "unknown" => "ännu okända personuppgifter",
        other => other,
    };
    s.to_string()
}

/// The IMY form's label for a category (question 26).
pub fn category_form_label(category: &str) -> String {
    let s = match category {
        "identification" => "Identifierande information (till exempel för- och efternamn)",
        "personal_identity_number" => "Personnummer",
        "contact_details" => "Kontaktinformation",
        "health" => "Hälsa",
        "financial" => "Ekonomisk eller finansiell information",
        "location" => "Lokaliseringsuppgifter (till exempel GPS-position, ej adressuppgifter)",
        "communication_logs" => "Kommunikationsloggar",
        "communication_metadata" => "Metadata om kommunikation",
        "criminal_offences" => "Uppgift om brott",
        "ethnic_origin" => "Etniskt ursprung",
        "political_opinions" => "Politiska åsikter",
        "religious_beliefs" => "Religiös eller filosofisk övertygelse",
        "trade_union_membership" => "Medlemskap i fackförening",
        "genetic" => "Genetiska uppgifter",
        "biometric" => "Biometriska uppgifter",
        "sex_life" => "Sexualliv eller sexuell läggning",
        // Our own addition to the vocabulary: the form files it under "Övrigt".
        "credentials" => "Övrigt: inloggningsuppgifter",
        "children_private_circumstances" => {
            "Känsliga personuppgifter om barns privata förhållanden"
        }
        "official_documents" => "Officiella dokument",
        "unknown" => "Okänd",
        other => return format!("Övrigt: {other}"),
    };
    s.to_string()
}

/// Special categories of art. 9 GDPR ("känsliga personuppgifter").
pub fn is_sensitive(category: &str) -> bool {
    matches!(
        category,
        "health"
            | "ethnic_origin"
            | "political_opinions"
            | "religious_beliefs"
            | "trade_union_membership"
            | "genetic"
            | "biometric"
            | "sex_life"
    )
}

/// Data IMY calls "extra skyddsvärda": identity numbers, offences, finances and
/// children's private circumstances.
pub fn is_extra_protected(category: &str) -> bool {
    matches!(
        category,
        "personal_identity_number"
            | "criminal_offences"
            | "financial"
            | "children_private_circumstances"
    )
}

/// Question 18's answer for a cause.
pub fn cause_form_label(cause: Cause) -> &'static str {
    match cause {
        Cause::Attack => "Antagonistiskt angrepp",
        Cause::HumanError => "Mänskliga faktorn",
        Cause::TechnicalFault => "Tekniskt fel",
    }
}

/// The cause as a noun phrase for running text ("ett dataintrång").
pub fn cause_phrase(cause: Cause) -> &'static str {
    match cause {
        Cause::Attack => "ett dataintrång",
        Cause::HumanError => "ett mänskligt misstag",
        Cause::TechnicalFault => "ett tekniskt fel",
    }
}

/// True when a message's subject names the supplier's final report
/// ("Slutrapport", "Final report"): the only message a withdrawal may rest on.
/// The subject is all the case holds about a message's role, so this is the
/// one place that reads it.
pub fn is_final_report(subject: &str) -> bool {
    let s = subject.to_lowercase();
    [
        "slutrapport",
        "slutlig rapport",
        "final report",
        "final incident report",
    ]
    .iter()
    .any(|w| s.contains(w))
}

/// Where the supplier is established, as far as its name and mail domain tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Establishment {
    /// A Swedish company form ("AB", "HB", "ek. för."): it has an organisationsnummer.
    Sweden,
    /// A company form or a mail domain of a country outside the EU/EEA
    /// ("Inc.", "LLC", ".us"): no Swedish number, and the data may have left
    /// the EU/EEA (chapter V GDPR).
    OutsideEea,
    /// Nothing tells: the official checks.
    Unknown,
}

/// The supplier's establishment from its organisation name and mail address.
/// Only unambiguous markers count; anything else is `Unknown`.
pub fn establishment(organisation: Option<&str>, email: Option<&str>) -> Establishment {
    let words: Vec<String> = organisation
        .unwrap_or("")
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|w| !w.is_empty())
        .map(|w| w.trim_end_matches('.').to_lowercase())
        .collect();
    let last = words.last().map(String::as_str).unwrap_or("");
    if matches!(last, "ab" | "hb" | "kb") || words.iter().any(|w| w == "(publ)") {
        return Establishment::Sweden;
    }
    if matches!(
        last,
        "inc" | "llc" | "l.l.c" | "corp" | "corporation" | "pty" | "pte"
    ) {
        return Establishment::OutsideEea;
    }
    let tld = email
        .and_then(|e| e.rsplit_once('@'))
        .and_then(|(_, d)| d.trim_end_matches('.').rsplit_once('.'))
        .map(|(_, t)| t.to_lowercase());
    match tld.as_deref() {
        Some("se") => Establishment::Sweden,
        Some("us" | "in" | "cn" | "ru" | "au" | "ca" | "jp" | "br") => Establishment::OutsideEea,
        _ => Establishment::Unknown,
    }
}

/// "den 24 juni 2021" in `tz`: a day without a time, in the documents' one style.
pub fn date_long_at(at: DateTime<Utc>, tz: Tz) -> String {
    format!("den {}", date_long(at.with_timezone(&tz).date_naive()))
}

/// A text cut into plain and placeholder pieces, in order: `(true, "[…]")` for
/// a bracketed blank ("[att fylla i]", "[Riskbedömning: att fylla i]") and for
/// a run of underscores ("____" in "KS 2026/____"). Renderers highlight the
/// placeholder pieces; joined, the pieces are the text again.
pub fn placeholder_pieces(text: &str) -> Vec<(bool, &str)> {
    let mut out = Vec::new();
    let mut plain_from = 0;
    let mut i = 0;
    let bytes = text.as_bytes();
    while i < bytes.len() {
        let end = match bytes[i] {
            // A bracket closed on the same line; an unclosed one is plain text.
            b'[' => text[i..]
                .find([']', '\n'])
                .filter(|&n| bytes[i + n] == b']')
                .map(|n| i + n + 1),
            b'_' => {
                let n = text[i..].bytes().take_while(|&b| b == b'_').count();
                (n >= 3).then_some(i + n)
            }
            _ => None,
        };
        match end {
            Some(end) => {
                if plain_from < i {
                    out.push((false, &text[plain_from..i]));
                }
                out.push((true, &text[i..end]));
                plain_from = end;
                i = end;
            }
            None => i += 1,
        }
    }
    if plain_from < text.len() {
        out.push((false, &text[plain_from..]));
    }
    out
}

/// Every placeholder of `texts`, once each, in order of first appearance.
pub fn placeholders<'a>(texts: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for t in texts {
        for (is_blank, piece) in placeholder_pieces(t) {
            if is_blank && !out.iter().any(|p| p == piece) {
                out.push(piece.to_string());
            }
        }
    }
    out
}

/// "Org <addr>", "Name <addr>", "addr" or "Org": how the decision's Underlag
/// and our mails name who sent a notice. The organisation wins over the
/// person's name; blank values count as missing.
pub fn sender_label(
    organisation: Option<&str>,
    name: Option<&str>,
    address: Option<&str>,
) -> String {
    let who = organisation
        .or(name)
        .map(str::trim)
        .filter(|s| !s.is_empty());
    match (who, address) {
        (Some(w), Some(a)) => format!("{w} <{a}>"),
        (Some(w), None) => w.to_string(),
        (None, Some(a)) => a.to_string(),
        (None, None) => "okänd avsändare".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn dates_are_local_and_swedish() {
        let tz = chrono_tz::Europe::Stockholm;
        let at = Utc.with_ymd_and_hms(2021, 6, 18, 18, 5, 0).unwrap();
        assert_eq!(datetime_short(at, tz), "2021-06-18 kl. 20:05");
        assert_eq!(datetime_long(at, tz), "den 18 juni 2021 kl.\u{a0}20.05");
        let winter = Utc.with_ymd_and_hms(2023, 1, 9, 23, 30, 0).unwrap();
        assert_eq!(datetime_short(winter, tz), "2023-01-10 kl. 00:30");
    }

    /// A date read without a time is local midnight: written as the date,
    /// in winter and in summer time; any other instant keeps its time.
    #[test]
    fn an_instant_read_without_a_time_is_written_as_its_date() {
        let tz = chrono_tz::Europe::Stockholm;
        let winter = Utc.with_ymd_and_hms(2026, 11, 19, 23, 0, 0).unwrap();
        let summer = Utc.with_ymd_and_hms(2026, 6, 30, 22, 0, 0).unwrap();
        assert_eq!(stated_short(winter, tz), "2026-11-20");
        assert_eq!(stated_long(winter, tz), "den 20 november 2026");
        assert_eq!(stated_short(summer, tz), "2026-07-01");
        assert_eq!(stated_long(summer, tz), "den 1 juli 2026");
        // Midnight UTC is 01:00 in winter here: a time.
        let utc_midnight = Utc.with_ymd_and_hms(2026, 11, 20, 0, 0, 0).unwrap();
        assert_eq!(stated_short(utc_midnight, tz), "2026-11-20 kl. 01:00");
        let t = Utc.with_ymd_and_hms(2026, 11, 20, 13, 30, 0).unwrap();
        assert_eq!(stated_short(t, tz), datetime_short(t, tz));
        assert_eq!(stated_long(t, tz), datetime_long(t, tz));
        // The day the clocks go back has 25 hours; its midnight is still one.
        let autumn = Utc.with_ymd_and_hms(2026, 10, 24, 22, 0, 0).unwrap();
        assert_eq!(stated_short(autumn, tz), "2026-10-25");
        // Periods: dates read without a time are one range in running text.
        let d = |y, m, day| {
            tz.with_ymd_and_hms(y, m, day, 0, 0, 0)
                .unwrap()
                .with_timezone(&Utc)
        };
        let end = |y, m, day| {
            tz.with_ymd_and_hms(y, m, day, 23, 59, 59)
                .unwrap()
                .with_timezone(&Utc)
        };
        for (style, from, to, want) in [
            (
                Style::Long,
                d(2026, 12, 1),
                end(2026, 12, 3),
                "1–3 december 2026",
            ),
            (
                Style::Long,
                d(2026, 11, 30),
                end(2026, 12, 3),
                "30 november – 3 december 2026",
            ),
            (
                Style::Long,
                d(2025, 12, 30),
                end(2026, 1, 2),
                "30 december 2025 – 2 januari 2026",
            ),
            (
                Style::Long,
                d(2026, 12, 3),
                end(2026, 12, 3),
                "3 december 2026",
            ),
            (
                Style::Short,
                d(2026, 12, 1),
                end(2026, 12, 3),
                "2026-12-01 – 2026-12-03",
            ),
        ] {
            assert_eq!(style.period(from, to, tz), want);
        }
        // With a time on either side, each is written as it was stated.
        assert_eq!(
            Style::Long.period(t, end(2026, 12, 3), tz),
            "den 20 november 2026 kl.\u{a0}14.30 – den 3 december 2026"
        );
    }

    #[test]
    fn lists_numbers_and_ranges() {
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(join_sv(&v(&[])), "");
        assert_eq!(join_sv(&v(&["a"])), "a");
        assert_eq!(join_sv(&v(&["a", "b"])), "a och b");
        assert_eq!(join_sv(&v(&["a", "b", "c"])), "a, b och c");
        assert_eq!(number_sv(7), "7");
        assert_eq!(number_sv(1000), "1 000");
        assert_eq!(number_sv(1234567), "1 234 567");
        assert_eq!(imy_range(1), "1 - 10");
        assert_eq!(imy_range(10), "1 - 10");
        assert_eq!(imy_range(11), "11 - 100");
        assert_eq!(imy_range(1000), "101 - 1 000");
        assert_eq!(imy_range(1001), "1 001 - 10 000");
        assert_eq!(imy_range(10_000), "1 001 - 10 000");
        assert_eq!(imy_range(2_000_000), "Fler än 1 000 000");
    }

    #[test]
    fn categories_have_swedish_words() {
        assert_eq!(category_words("health"), "hälso- och sjukvårdsuppgifter");
        assert_eq!(category_words("something_new"), "something_new");
        assert_eq!(
            category_form_label("something_new"),
            "Övrigt: something_new"
        );
        assert!(is_sensitive("health") && !is_sensitive("personal_identity_number"));
        assert!(is_extra_protected("personal_identity_number"));
    }

    #[test]
    fn final_reports_are_known_by_their_subject() {
        assert!(is_final_report("Slutrapport"));
        assert!(is_final_report("SV: Slutrapport om dataintrång"));
        assert!(is_final_report("Final report: incident 42"));
        assert!(!is_final_report(
            "Kompletterande information om dataintrång"
        ));
    }

    #[test]
    fn establishment_from_company_form_and_domain() {
        use Establishment::*;
        assert_eq!(
            establishment(Some("Infosolutions Sverige AB"), None),
            Sweden
        );
        assert_eq!(
            establishment(
                Some("Brightline Survey, Inc."),
                Some("security@brightline.test")
            ),
            OutsideEea
        );
        assert_eq!(establishment(Some("Acme LLC"), None), OutsideEea);
        assert_eq!(establishment(Some("Acme"), Some("a@acme.us")), OutsideEea);
        assert_eq!(establishment(Some("Acme"), Some("a@acme.se")), Sweden);
        assert_eq!(establishment(Some("Acme GmbH"), Some("a@acme.de")), Unknown);
        assert_eq!(establishment(None, None), Unknown);
    }

    #[test]
    fn placeholders_are_found_inside_text() {
        let t = "Skälen: [skäl: att fylla i] och KS 2026/____ samt [a] [b";
        let p = placeholder_pieces(t);
        assert_eq!(p.iter().map(|(_, s)| *s).collect::<String>(), t);
        let blanks: Vec<&str> = p.iter().filter(|(b, _)| *b).map(|(_, s)| *s).collect();
        assert_eq!(blanks, ["[skäl: att fylla i]", "____", "[a]"]);
        assert_eq!(placeholder_pieces(""), []);
        assert_eq!(placeholder_pieces("x_y__z"), [(false, "x_y__z")]);
        assert_eq!(
            placeholders(["[a] [b]", "[a] ____"]),
            ["[a]", "[b]", "____"]
        );
    }
}
