//! A form's or a notice's label line ("Orsak: …", "Vidtagna åtgärder: …",
//! "Kontaktperson: …"): one vocabulary of the labels whose row says why it
//! happened, what was or will be done, or whom to contact — rows that name
//! no data by their colon and whose value the drafts quote without the
//! label. The reader's fact and draft-fact passes both ask here.
//!
//! Pure and total: a line is matched once and the value is a slice of it.

use once_cell::sync::Lazy;
use regex::Regex;

/// What a label line's row is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Label {
    /// "Orsak:", "Trolig orsak:", "Root cause:".
    Cause,
    /// "Vidtagna åtgärder:", "Actions taken:": what the supplier did.
    MeasuresTaken,
    /// "Åtgärder:", "Remediation:": measures not said to be taken or planned.
    Measures,
    /// "Planerade åtgärder:", "Föreslagna åtgärder:", "Steps planned:": what
    /// will or should be done, not what was.
    MeasuresPlanned,
    /// "Bakgrund:".
    Background,
    /// "Kontaktperson:", "Contact:".
    Contact,
}

/// A label line: its kind and its value, everything after the colon (or
/// the next cell) trimmed (may be empty: a heading row whose value is on the lines after).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LabelLine<'a> {
    pub label: Label,
    pub value: &'a str,
}

/// The labels, one group a kind. Alternatives that share a first word
/// ("measures taken" and "measures") are told apart by what follows: the
/// whole label must end at its colon, or — a table row whose cells a PDF's
/// text puts a space apart ("Orsak Antagonistiskt angrepp") — before a
/// capital letter.
static RE_LABEL: Lazy<Regex> = Lazy::new(|| {
    Regex::new(
        r"(?i)^\s*(?:(?P<cause>orsak|orsaker|orsaken|trolig orsak|(?:root |probable )?causes?)|(?P<taken>vidtagna åtgärder|genomförda åtgärder|åtgärder som (?:har )?vidtagits|(?:measures?|actions?|steps?) taken|mitigations? (?:taken|applied))|(?P<planned>(?:planerade|föreslagna|rekommenderade) åtgärder|(?:measures?|actions?|steps?) planned|(?:planned|recommended|proposed) (?:measures?|actions?|steps?))|(?P<measures>åtgärder|measures?|actions?|steps?|mitigations?|remediation)|(?P<background>bakgrund)|(?P<contact>kontakt\p{Latin}*|contact\p{Latin}*))(?:\s*:(?P<value>.*)|\s+(?P<cell>(?-i:\p{Lu}).*))$",
    )
    .expect("static regex")
});

/// `s` as a label line of [`Label`]'s vocabulary, if it is one.
pub fn label_line(s: &str) -> Option<LabelLine<'_>> {
    let c = RE_LABEL.captures(s)?;
    let label = if c.name("cause").is_some() {
        Label::Cause
    } else if c.name("taken").is_some() {
        Label::MeasuresTaken
    } else if c.name("planned").is_some() {
        Label::MeasuresPlanned
    } else if c.name("measures").is_some() {
        Label::Measures
    } else if c.name("background").is_some() {
        Label::Background
    } else {
        Label::Contact
    };
    let value = c
        .name("value")
        .or_else(|| c.name("cell"))
        .map_or("", |m| m.as_str().trim());
    Some(LabelLine { label, value })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(s: &str) -> Option<(Label, &str)> {
        label_line(s).map(|l| (l.label, l.value))
    }

    #[test]
    fn a_label_line_gives_its_kind_and_its_value() {
        use Label::*;
        for (line, want) in [
            (
                "Orsak: Antagonistiskt angrepp",
                Some((Cause, "Antagonistiskt angrepp")),
            ),
            ("  Trolig orsak : nätfiske ", Some((Cause, "nätfiske"))),
            (
                "Root cause: a misconfigured bucket",
                Some((Cause, "a misconfigured bucket")),
            ),
            ("Cause: x", Some((Cause, "x"))),
            (
                "Vidtagna åtgärder: Kontot är spärrat.",
                Some((MeasuresTaken, "Kontot är spärrat.")),
            ),
            (
                "Åtgärder som har vidtagits: loggar sparade",
                Some((MeasuresTaken, "loggar sparade")),
            ),
            ("Actions taken: reset", Some((MeasuresTaken, "reset"))),
            ("Mitigation applied: patch", Some((MeasuresTaken, "patch"))),
            (
                "Planerade åtgärder: byta lösenord",
                Some((MeasuresPlanned, "byta lösenord")),
            ),
            (
                "Recommended actions: reset",
                Some((MeasuresPlanned, "reset")),
            ),
            ("Åtgärder:", Some((Measures, ""))),
            ("Steps planned: audit", Some((MeasuresPlanned, "audit"))),
            ("Remediation: pending", Some((Measures, "pending"))),
            ("Bakgrund: leverantören", Some((Background, "leverantören"))),
            ("Kontaktperson: Anna Berg", Some((Contact, "Anna Berg"))),
            ("Contact: support", Some((Contact, "support"))),
            // A table row in a PDF's text: the cells a space apart.
            (
                "Orsak Antagonistiskt angrepp: en obehörig",
                Some((Cause, "Antagonistiskt angrepp: en obehörig")),
            ),
            (
                "Vidtagna åtgärder Kontot är spärrat",
                Some((MeasuresTaken, "Kontot är spärrat")),
            ),
            ("Kontaktperson Lena Holm", Some((Contact, "Lena Holm"))),
            ("Kontaktuppgifter: 08-123 45", Some((Contact, "08-123 45"))),
            // Not label lines: the label is not first, or has no colon, or
            // is another row.
            ("Orsaken är ett angrepp", None),
            ("Vi har vidtagit åtgärder: bytt lösenord", None),
            ("Kategorier av personuppgifter: Namn", None),
            ("Antal berörda: 40", None),
            ("Measures taken", None),
            ("Orsaken är okänd", None),
            ("Kontakta oss om ni har frågor", None),
            ("Åtgärderna Vi", None),
            ("Contact details: support", None),
        ] {
            assert_eq!(of(line), want, "{line}");
        }
    }

    #[test]
    fn any_text_is_read_without_a_panic_and_the_value_is_in_it() {
        for s in [
            "",
            ":",
            "Orsak:",
            "Orsak:\u{0}:",
            "kontaktåäö:é",
            "\u{feff}Cause:  ",
        ] {
            if let Some(l) = label_line(s) {
                assert!(s.contains(l.value));
            }
        }
    }
}
