//! Facts a draft needs beyond the inspect contract's scored ones: the groups
//! of data subjects named (IMY question 25), the area of activity (question
//! 20), the supplier's own measures (question 30), the cause in the
//! supplier's own words (question 18 and Bakgrund) and the supplier's own
//! reference number (Underlag). Each comes with the sentence it was read from
//! as evidence; nothing is guessed: a fact without a cue in its sentence stays
//! empty and the documents show a marked blank.
//!
//! Pure and total. Quotes are copied as written (never translated) and
//! bounded, since they go into documents.

use once_cell::sync::Lazy;
use regex::Regex;
use serde::Serialize;

use super::label::{label_line, Label};
use super::text::sentences;
use super::Evidence;
use crate::core::bounded::one_line;

fn re(s: &str) -> Regex {
    Regex::new(s).expect("static regex")
}

/// At most this many characters of one quoted sentence.
pub const MAX_QUOTE_CHARS: usize = 300;
/// At most this many measures are kept (the form has a row per action).
pub const MAX_MEASURES: usize = 6;

/// The draft facts of one notice. Empty (the default) when nothing is stated.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Details {
    /// Groups of data subjects, vocabulary of [`GROUPS`] ("patients", …), in
    /// the order first named.
    pub subject_groups: Vec<String>,
    /// The area of activity, vocabulary of [`AREAS`] ("occupational_health").
    pub activity_area: Option<String>,
    /// The supplier's sentences saying what it has done, as written.
    pub measures: Vec<String>,
    /// The supplier's sentence stating how it happened, as written; None when
    /// it names only the kind ("dataintrång").
    pub cause_text: Option<String>,
    /// The supplier's own reference ("INC-2021-0042").
    pub supplier_reference: Option<String>,
}

/// (slug, the IMY form's option for question 25, the Swedish noun for the
/// decision, cue). The cue must stand in a sentence about whose data it is.
pub const GROUPS: [(&str, &str, &str); 6] = [
    ("patients", "Patienter", "patienter"),
    (
        "employees",
        "Anställda hos den personuppgiftsansvarige",
        "anställda",
    ),
    (
        "users",
        "Användare av den personuppgiftsansvariges tjänster",
        "brukare och användare av kommunens tjänster",
    ),
    (
        "pupils",
        "Skolelever i förskola, grundskola eller gymnasium",
        "elever",
    ),
    ("children", "Barn", "barn"),
    ("guardians", "Övrigt: vårdnadshavare", "vårdnadshavare"),
];

static GROUP_CUES: Lazy<Vec<(&'static str, Regex)>> = Lazy::new(|| {
    vec![
        (
            "patients",
            re(r"(?i)(?-u:\b)patient(?:er|erna|ers|ernas|s)?(?-u:\b)"),
        ),
        (
            "employees",
            re(
                r"(?i)(?-u:\b)(?:anställda|anställdas|medarbetare|employees?|staff members|members of staff|staff)(?-u:\b)",
            ),
        ),
        (
            "users",
            re(
                r"(?i)(?-u:\b)(?:brukare|brukarna|brukares|brukarnas|användare|användarna|users)(?-u:\b)",
            ),
        ),
        (
            "pupils",
            re(r"(?i)(?-u:\b)(?:skolelever|elever|eleverna|elevers|elevernas|pupils)(?-u:\b)"),
        ),
        (
            "children",
            re(r"(?i)(?-u:\b)(?:barn|barnen|barnens|children)(?-u:\b)"),
        ),
        (
            "guardians",
            re(
                r"(?i)(?-u:\b)(?:vårdnadshavare|vårdnadshavarna|vårdnadshavares|guardians|parents)(?-u:\b)",
            ),
        ),
    ]
});

/// A sentence about whose data is involved or who is affected.
static RE_WHOSE: Lazy<Regex> = Lazy::new(|| {
    re(
        r"(?i)uppgifter|personuppgifter|innehåll|innehöll|berör|drabba|omfatta|gäller|namn|personnummer|journal|provsvar|lönespec|register|registrerade|[0-9]|data|information|records|affect|involv|concern|names?(?-u:\b)|accounts?(?-u:\b)",
    )
});

/// (slug, the Swedish label for question 20, cue). The first cue in the text wins.
pub const AREAS: [(&str, &str); 8] = [
    (
        "occupational_health",
        "Hälso- och sjukvård (företagshälsovård)",
    ),
    ("health_care", "Hälso- och sjukvård"),
    ("home_care", "Socialtjänst (hemtjänst)"),
    ("elderly_care", "Socialtjänst (äldreomsorg)"),
    ("social_alarms", "Socialtjänst (trygghetslarm)"),
    ("social_services", "Socialtjänst"),
    ("school", "Utbildning (skola)"),
    ("payroll_hr", "Personaladministration (lön och personal)"),
];

static AREA_CUES: Lazy<Vec<(&'static str, Regex)>> = Lazy::new(|| {
    vec![
        (
            "occupational_health",
            re(r"(?i)företagshälsovård|occupational health"),
        ),
        ("home_care", re(r"(?i)hemtjänst|home care|home help")),
        (
            "elderly_care",
            re(r"(?i)äldreomsorg|äldreboende|särskilt boende|elderly care"),
        ),
        ("social_alarms", re(r"(?i)trygghetslarm|social alarm")),
        (
            "social_services",
            re(r"(?i)socialtjänst|individ- och familjeomsorg|social services"),
        ),
        (
            "school",
            re(
                r"(?i)(?-u:\b)(?:grundskol|gymnasieskol|förskol|skolplattform|skolan(?-u:\b)|skolor(?-u:\b)|skola(?-u:\b)|school)",
            ),
        ),
        (
            "health_care",
            re(r"(?i)hälso- och sjukvård|sjukvård|vårdcentral|health ?care|hospital"),
        ),
        (
            "payroll_hr",
            re(
                r"(?i)lönehantering|löneadministration|lönespecifikation|personaladministration|payroll|human resources",
            ),
        ),
    ]
});

/// "vi har bytt …", "We revoked …": the supplier saying what it did.
static RE_MEASURE: Lazy<Regex> = Lazy::new(|| {
    re(
        r"(?i)(?-u:\b)(?:vi|we)\s+(?:har\s+|have\s+|had\s+)?(?:(?:också|även|dessutom|då|samtidigt|omedelbart|genast|also|immediately|then|since)\s+)*(?:stängt|stängde|bytt|bytte|infört|införde|spärrat|spärrade|skärpt|skärpte|lagt in|lade in|påmint|påminde|kortat|kortade|isolerat|isolerade|polisanmält|återställt|återställde|rättat|rättade|tog bort|tagit bort|raderat|raderade|blockerat|blockerade|uppdaterat|uppdaterade|åtgärdat|åtgärdade|inaktiverat|inaktiverade|gått igenom|gick igenom|anmält|anlitat|anlitade|revoked|rotated|reset|forced|engaged|notified|disabled|blocked|patched|isolated|removed|deleted|changed|introduced|implemented|enabled|reviewed|contained|terminated|updated|fixed|reported)(?-u:\b)",
    )
});
/// A sentence about what will happen or what the reader should do is no measure taken.
static RE_NOT_TAKEN: Lazy<Regex> = Lazy::new(|| {
    re(
        r"(?i)kommer att|kommer vi|(?-u:\b)will(?-u:\b)|planerar|rekommenderar|recommend|(?-u:\b)ni(?-u:\b) (?:bör|ska|behöver)|you (?:should|may|must)|har inte|have not|haven't|inte sett|not seen|ingen ny|återkommer|get back to you",
    )
});

/// How it happened, beyond the kind: the mechanism a supplier names.
static RE_MECHANISM: Lazy<Regex> = Lazy::new(|| {
    re(
        r"(?i)api[- ]?(?:key|nyckel)|nyckel|lösenord|password|credentials|inloggningsuppgifter|behörighet|nätfiske|phishing|sårbarhet|vulnerabilit|konfiguration|configur|skript|script|ransomware|utpressningsvirus|skadlig kod|malware|versionsuppdatering|driftsättning|deployment|e-postprogrammet|fel mottagare|wrong recipient|glömde|forgot|misstag|by mistake|(?-u:\b)kod(?-u:\b)|(?-u:\b)code(?-u:\b)|programfel|bugg|(?-u:\b)bug(?-u:\b)",
    )
});
static RE_CAUSE_STATED: Lazy<Regex> = Lazy::new(|| {
    re(
        r"(?i)orsaken|orsakades|orsakats|berodde på|beror på|till följd av|caused by|the cause|root cause|due to",
    )
});
static RE_CAUSE_NEG: Lazy<Regex> = Lazy::new(|| {
    re(
        r"(?i)inget tyder|ingenting tyder|ingen indikation|inga tecken|no indication|no evidence|no sign|oklart|inte fastställt|not yet known|unknown",
    )
});

/// "ärendenummer INC-2021-0042", "Incident ID: BL-2025-0917".
static RE_REFERENCE: Lazy<Regex> = Lazy::new(|| {
    re(
        r"(?i)(?:ärendenummer|ärendenr\.?|ärende-?id|incidentnummer|referensnummer|vår referens|incident (?:id|number|no\.?|reference|ref\.?)|case (?:id|number|no\.?|reference)|ticket (?:id|number|no\.?)|our reference|reference (?:number|no\.?)|ref(?:erence)?\.? ?(?:nr|no)\.?)\s*(?:är|is)?\s*[:#]?\s*(?P<r>[A-Za-z0-9][A-Za-z0-9_./-]{2,40})",
    )
});

fn quote(s: &str) -> String {
    one_line(
        s.trim().trim_start_matches(['-', '*', '•', ' ']),
        MAX_QUOTE_CHARS,
    )
}

/// A form's row of `kind` with a value ("Orsak: Ett angrepp …"): the value.
fn row_value(s: &str, kind: Label) -> Option<&str> {
    label_line(s)
        .filter(|l| l.label == kind && !l.value.is_empty())
        .map(|l| l.value)
}

fn push_ev(ev: &mut Vec<Evidence>, field: &str, s: &str) {
    ev.push(Evidence {
        field: field.into(),
        text: s.to_string(),
    });
}

/// "våra", "our" right before a word: in the supplier's own text that is
/// the supplier's people ("en av våra medarbetare upptäckte …"), not ours.
static RE_OUR: Lazy<Regex> =
    Lazy::new(|| re(r"(?i)(?-u:\b)(?:vår|våra|vårt|our)\s+(?:[\p{Latin}-]+\s+)?$"));

/// Groups named in a sentence about whose data it is, first-named first.
/// `supplier` holds the supplier's own sentences: there "our staff" are the
/// supplier's; in a colleague's forwarding note "våra anställda" are ours.
fn groups(sents: &[&str], supplier: &[&str], ev: &mut Vec<Evidence>) -> Vec<String> {
    let mut found: Vec<(usize, usize, &'static str)> = Vec::new();
    let supplier: std::collections::HashSet<&str> = supplier.iter().copied().collect();
    for (i, s) in sents.iter().enumerate() {
        if !RE_WHOSE.is_match(s) {
            continue;
        }
        let theirs = supplier.contains(s);
        for (slug, r) in GROUP_CUES.iter() {
            if found.iter().any(|(_, _, g)| g == slug) {
                continue;
            }
            let first = r.find_iter(s).find(|m| {
                !(theirs
                    && s.get(..m.start())
                        .is_some_and(|before| RE_OUR.is_match(before)))
            });
            if let Some(m) = first {
                push_ev(ev, &format!("details.subject_groups.{slug}"), s);
                found.push((i, m.start(), slug));
            }
        }
    }
    found.sort();
    found.into_iter().map(|(_, _, g)| g.to_string()).collect()
}

fn area(sents: &[&str], ev: &mut Vec<Evidence>) -> Option<String> {
    let mut best: Option<(usize, usize, &'static str, &str)> = None;
    for (i, s) in sents.iter().enumerate() {
        for (slug, r) in AREA_CUES.iter() {
            if let Some(m) = r.find(s) {
                let key = (i, m.start());
                if best.is_none_or(|(bi, bs, _, _)| key < (bi, bs)) {
                    best = Some((i, m.start(), slug, s));
                }
            }
        }
        if best.is_some() {
            break;
        }
    }
    let (_, _, slug, s) = best?;
    push_ev(ev, "details.activity_area", s);
    Some(slug.to_string())
}

fn measures(sents: &[&str], ev: &mut Vec<Evidence>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in sents {
        if out.len() >= MAX_MEASURES {
            break;
        }
        // A form's row of measures taken is quoted as its value; a row of
        // planned measures is none, whatever verbs it has.
        let row = row_value(s, Label::MeasuresTaken);
        let planned = label_line(s).is_some_and(|l| l.label == Label::MeasuresPlanned);
        let taken =
            row.is_some() || (RE_MEASURE.is_match(s) && !RE_NOT_TAKEN.is_match(s) && !planned);
        if taken {
            let q = quote(row.unwrap_or(s));
            if !out.contains(&q) {
                push_ev(ev, "details.measures", s);
                out.push(q);
            }
        }
    }
    out
}

/// The sentence that says how it happened: one stating a cause outright
/// ("Orsaken är …", "caused by …"), else the first naming a mechanism (an API
/// key, a password, a configuration) beside a cause cue of the reader's list.
fn cause_text(sents: &[&str], ev: &mut Vec<Evidence>) -> Option<String> {
    // A measure taken is not how it happened ("efter intrånget har vi bytt
    // samtliga behörigheter" names a mechanism word too).
    let usable = |s: &&&str| {
        !RE_CAUSE_NEG.is_match(s)
            && !RE_MEASURE.is_match(s)
            && row_value(s, Label::MeasuresTaken).is_none()
    };
    let cue = |s: &str| super::facts::states_cause(s);
    let mechanism = |s: &str| RE_MECHANISM.is_match(s);
    let pick = sents
        .iter()
        .filter(usable)
        .find(|s| RE_CAUSE_STATED.is_match(s) && (cue(s) || mechanism(s)))
        .or_else(|| sents.iter().filter(usable).find(|s| cue(s) && mechanism(s)))?;
    push_ev(ev, "details.cause_text", pick);
    Some(quote(row_value(pick, Label::Cause).unwrap_or(pick)))
}

fn reference(sents: &[&str], subject: &str, ev: &mut Vec<Evidence>) -> Option<String> {
    for s in std::iter::once(&subject).chain(sents.iter()) {
        for c in RE_REFERENCE.captures_iter(s) {
            let Some(r) = c.name("r") else { continue };
            let r = r.as_str().trim_end_matches(['.', '/', '-']);
            // A reference has a digit; a word after "ärendenummer" is prose.
            if r.chars().any(|c| c.is_ascii_digit()) && r.len() >= 3 {
                push_ev(ev, "details.supplier_reference", s);
                return Some(r.to_string());
            }
        }
    }
    None
}

/// Reads the draft facts. `inner` is the supplier's own text (the innermost
/// notice of a forward), `full` every text of the message (a forwarder's note
/// says which service and whose data: "ProvWeb, som företagshälsovården
/// använder", "640 av våra anställda"); `subject` the notice's subject.
pub fn extract(inner: &str, full: &str, subject: &str, ev: &mut Vec<Evidence>) -> Details {
    extract_from(&sentences(inner), inner, full, subject, ev)
}

/// [`extract`] with the sentences of `inner` read already (the incident
/// facts were read from the same sentences).
pub fn extract_from(
    inner_s: &[&str],
    inner: &str,
    full: &str,
    subject: &str,
    ev: &mut Vec<Evidence>,
) -> Details {
    // Most mail is not forwarded: its notice text is the whole text.
    let full_s = if full == inner {
        inner_s.to_vec()
    } else {
        sentences(full)
    };
    Details {
        subject_groups: groups(&full_s, inner_s, ev),
        activity_area: area(&full_s, ev),
        measures: measures(inner_s, ev),
        cause_text: cause_text(inner_s, ev),
        supplier_reference: reference(inner_s, subject, ev),
    }
}

/// The IMY form's option for a group slug; the slug itself when unknown (a
/// stored value from a later vocabulary).
pub fn group_form_label(slug: &str) -> &str {
    GROUPS
        .iter()
        .find(|(s, _, _)| *s == slug)
        .map_or(slug, |(_, l, _)| l)
}

/// The Swedish noun of a group slug for running text.
pub fn group_noun(slug: &str) -> &str {
    GROUPS
        .iter()
        .find(|(s, _, _)| *s == slug)
        .map_or(slug, |(_, _, n)| n)
}

/// The Swedish label of an area slug.
pub fn area_label(slug: &str) -> &str {
    AREAS
        .iter()
        .find(|(s, _)| *s == slug)
        .map_or(slug, |(_, l)| l)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(inner: &str, full: &str) -> Details {
        extract(inner, full, "", &mut Vec::new())
    }

    #[test]
    fn groups_only_where_the_sentence_is_about_their_data() {
        let x = d(
            "",
            "Den berörda databasen innehåller patienters namn, personnummer och provsvar. Jag har pratat med medarbetaren.",
        );
        assert_eq!(x.subject_groups, vec!["patients"]);
        let x = d("", "Enligt dem berörs ungefär 640 av våra anställda.");
        assert_eq!(x.subject_groups, vec!["employees"]);
        let x = d(
            "",
            "SkolNavet används på alla skolor, så det här berör i princip alla elever i kommunen.",
        );
        assert_eq!(x.subject_groups, vec!["pupils"]);
        let x = d(
            "",
            "We are writing about a breach that affects a number of your users.",
        );
        assert_eq!(x.subject_groups, vec!["users"]);
        // The supplier's own people are not data subjects; a colleague's
        // "våra anställda" in a forwarding note are.
        let x = extract(
            "En av våra medarbetare upptäckte felet kl. 14.07 i databasen.",
            "Hej! 640 av våra anställda berörs.\nEn av våra medarbetare upptäckte felet kl. 14.07 i databasen.",
            "",
            &mut Vec::new(),
        );
        assert_eq!(x.subject_groups, vec!["employees"]);
        let x = extract(
            "En av våra medarbetare upptäckte felet kl. 14.07 i databasen.",
            "En av våra medarbetare upptäckte felet kl. 14.07 i databasen.",
            "",
            &mut Vec::new(),
        );
        assert!(x.subject_groups.is_empty(), "{:?}", x.subject_groups);
        // A form's row.
        let x = d("", "Kategorier av registrerade: Brukare inom hemtjänsten");
        assert_eq!(x.subject_groups, vec!["users"]);
        // Named but not as data subjects.
        assert!(d("", "Hej vårdnadshavare!").subject_groups.is_empty());
        assert!(d("", "Inga uppgifter nämns.").subject_groups.is_empty());
    }

    #[test]
    fn area_is_the_first_named_and_absent_without_a_cue() {
        let x = d(
            "",
            "Det gäller ProvWeb, som företagshälsovården använder för provsvar. Skolan berörs inte.",
        );
        assert_eq!(x.activity_area.as_deref(), Some("occupational_health"));
        assert_eq!(
            d("", "Konsulenten arbetade med ett ärende åt er hemtjänst.")
                .activity_area
                .as_deref(),
            Some("home_care")
        );
        assert_eq!(
            d("", "Vi har hittat ett fel i bokningen av lokaler.").activity_area,
            None
        );
    }

    #[test]
    fn measures_taken_not_planned_or_recommended() {
        let x = d(
            "We revoked the compromised key, rotated all partner credentials and engaged an outside cybersecurity firm. We have also notified law enforcement. We will contact you again. We recommend that you reset passwords.",
            "",
        );
        assert_eq!(
            x.measures,
            vec![
                "We revoked the compromised key, rotated all partner credentials and engaged an outside cybersecurity firm.",
                "We have also notified law enforcement."
            ]
        );
        let x = d(
            "Efter intrånget har vi bytt samtliga administrativa behörigheter i driftmiljön. Vi rekommenderar att ni aktiverar er krisorganisation. Vi kommer att återkomma.",
            "",
        );
        assert_eq!(
            x.measures,
            vec!["Efter intrånget har vi bytt samtliga administrativa behörigheter i driftmiljön."]
        );
        assert!(d("Vi har inte sett någon ny aktivitet.", "")
            .measures
            .is_empty());
        // A form's rows: the measures taken are its value; planned ones are
        // none.
        let x = d(
            "Vidtagna åtgärder: Kontot är spärrat och alla lösenord är bytta.\nPlanerade åtgärder: Tvåfaktorsinloggning införs i januari.",
            "",
        );
        assert_eq!(
            x.measures,
            vec!["Kontot är spärrat och alla lösenord är bytta."]
        );
        let x = d("Actions taken: The account was disabled.", "");
        assert_eq!(x.measures, vec!["The account was disabled."]);
        // A planned row is none even when its words say "we have".
        for planned in [
            "Planerade åtgärder: Vi har bytt brandvägg, den nya installeras i januari.",
            "Recommended actions: We have enabled a reset link for your users.",
        ] {
            assert!(d(planned, "").measures.is_empty(), "{planned}");
        }
        // A plain "Åtgärder:" row is read by its words.
        let x = d("Åtgärder: Vi har spärrat kontot.", "");
        assert_eq!(x.measures, vec!["Åtgärder: Vi har spärrat kontot."]);
    }

    #[test]
    fn cause_in_the_suppliers_words_only_with_a_mechanism() {
        let x = d(
            "On September 8, 2025 our engineering team discovered that an API key belonging to one of our integration partners had been used by an unauthorized third party to query the database.",
            "",
        );
        assert!(x.cause_text.as_deref().unwrap_or("").contains("API key"));
        let x = d(
            "Felet berodde på att e-postprogrammet föreslog fel adress och att handläggaren inte kontrollerade mottagaren.",
            "",
        );
        assert!(x
            .cause_text
            .as_deref()
            .unwrap_or("")
            .starts_with("Felet berodde på"));
        // Only the kind: no mechanism, no quote (the documents say "dataintrång").
        assert_eq!(
            d("Provdata har drabbats av ett dataintrång.", "").cause_text,
            None
        );
        assert_eq!(
            d("Efter intrånget har vi bytt samtliga behörigheter.", "").cause_text,
            None
        );
        // A form's row: its value, without the label.
        let x = d(
            "Orsak: Antagonistiskt angrepp: en obehörig person loggade in med stulna inloggningsuppgifter.\nVidtagna åtgärder: Alla lösenord är bytta.",
            "",
        );
        assert_eq!(
            x.cause_text.as_deref(),
            Some("Antagonistiskt angrepp: en obehörig person loggade in med stulna inloggningsuppgifter.")
        );
    }

    #[test]
    fn supplier_reference_needs_a_digit() {
        let x = extract(
            "Vårt ärendenummer är INC-2021-0042.",
            "",
            "",
            &mut Vec::new(),
        );
        assert_eq!(x.supplier_reference.as_deref(), Some("INC-2021-0042"));
        let x = extract(
            "",
            "",
            "Incident ID: BL-2025-0917 – notice",
            &mut Vec::new(),
        );
        assert_eq!(x.supplier_reference.as_deref(), Some("BL-2025-0917"));
        let x = extract("Ange ärendenummer vid kontakt.", "", "", &mut Vec::new());
        assert_eq!(x.supplier_reference, None);
    }

    fn read_fixture(name: &str) -> Details {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/notices")
            .join(name);
        let raw = std::fs::read(&path).expect("fixture");
        crate::core::notice::read(&raw, &Default::default())
            .expect("read")
            .details
    }

    #[test]
    fn the_shared_notices_01_and_07_give_their_draft_facts() {
        // 01: the forwarder's note names the service, the notice the patients.
        let d01 = read_fixture("01-labportal-intrang-vb-helg.eml");
        assert_eq!(d01.subject_groups, vec!["patients"]);
        assert_eq!(d01.activity_area.as_deref(), Some("occupational_health"));
        // It names only "dataintrång" and no measure: nothing is made up.
        assert_eq!(d01.cause_text, None);
        assert!(d01.measures.is_empty());
        // 07: the staff survey, the misused API key, what Brightline did.
        let d07 = read_fixture("07-us-processor-gmail-fwd-en.eml");
        assert_eq!(d07.subject_groups, vec!["employees"]);
        assert!(d07
            .cause_text
            .as_deref()
            .unwrap_or("")
            .contains("an API key"));
        assert_eq!(d07.measures.len(), 2);
        assert_eq!(d07.supplier_reference, None);
    }

    #[test]
    fn quotes_are_bounded_and_total() {
        let long = format!("Vi har bytt {}.", "lösenord ".repeat(200));
        let x = d(&long, &long);
        assert!(x
            .measures
            .iter()
            .all(|m| m.chars().count() <= MAX_QUOTE_CHARS + 1));
        let _ = d("\u{0}\u{feff}…", "ärendenummer: 1");
    }
}
