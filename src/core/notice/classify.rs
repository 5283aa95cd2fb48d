//! What kind of message this is (breach_notice, follow_up, auto_reply, other)
//! and which language the notice is written in.
//!
//! Order matters and follows the contract: an automatic answer or report is
//! `auto_reply` whatever it mentions; mail of another genre (newsletter,
//! webinar, invoice, planned maintenance, a training question) is `other`
//! unless it states incident facts of its own; an incident message is a
//! `follow_up` when it continues a thread, carries a case reference or calls
//! itself an update or final report; else a `breach_notice`.

use once_cell::sync::Lazy;
use regex::Regex;

use super::text::prefix;
use super::{Incident, Kind, Language};

fn re(s: &str) -> Regex {
    Regex::new(s).expect("static regex")
}

static RE_AUTO_SUBJECT: Lazy<Regex> = Lazy::new(|| {
    re(
        r"(?i)^\s*(?:\[[^\]]*\]\s*)?(?:automatiskt svar|autosvar|frånvaromeddelande|frånvarande|automatic reply|auto(?:matic)?[- ]?reply|autoreply|out of (?:the )?office|abwesenheitsnotiz|undeliverable|undelivered mail|delivery status notification|mail delivery failed|returned mail|failure notice|delivery failure|kunde inte levereras|olevererbart|read:|läst:|delivered:|levererat:)",
    )
});
static RE_NEWSLETTER: Lazy<Regex> =
    Lazy::new(|| re(r"(?i)nyhetsbrev|newsletter|avregistrera|avprenumerera|unsubscribe"));
static RE_EVENT: Lazy<Regex> = Lazy::new(|| {
    re(
        r"(?i)webinar|webbinari|seminari|inbjudan|invitation|register (?:here|now)|anmäl dig|registrera dig|save the date|konferens|conference|frukostmöte",
    )
});
static RE_INVOICE: Lazy<Regex> = Lazy::new(|| {
    re(
        r"(?i)faktura|invoice|förfallodatum|fakturabelopp|bankgiro|ocr-nummer|betalningspåminnelse|amount due|payment due",
    )
});
static RE_MAINTENANCE: Lazy<Regex> = Lazy::new(|| {
    re(
        r"(?i)planerat underhåll|planerad(?:e|t)? (?:underhåll|service|uppdatering|driftstörning|nedtid|avbrott|driftavbrott|serviceavbrott|uppgradering)|servicefönster|underhållsfönster|planned maintenance|scheduled maintenance|maintenance window|planerat (?:driftavbrott|avbrott|serviceavbrott)|scheduled downtime|planned downtime",
    )
});
static RE_TRAINING: Lazy<Regex> = Lazy::new(|| {
    re(r"(?i)utbildning|(?-u:\b)kurs|e-learning|training|(?-u:\b)course|workshop|övning")
});
static RE_QUESTION: Lazy<Regex> =
    Lazy::new(|| re(r"(?i)\?|undrar|(?-u:\b)fråga(?-u:\b)|question|wonder"));
static RE_INCIDENT: Lazy<Regex> = Lazy::new(|| {
    re(
        r"(?i)incident|intrång|cyberattack|angrepp|angripare|ransomware|obehörig|felskick|fel mottagare|förlorad|borttappad|tappat bort|tappade bort|glömde|misstag|stulen|kommit bort|läcka|läckt|driftstörning|driftavbrott|avbrott|ligger nere|är nere|breach|unauthori[sz]ed|attack|compromise|leak|(?-u:\b)lost(?-u:\b)|stolen|misdirected|outage|exposed|phishing|nätfiske|programfel|felkonfiguration|misconfigur|åtkomst|åtkomlig|intrusion|(?-u:\b)bug(?-u:\b)|bugg|(?:till|för|med|to|for) fel (?:\p{Latin}+\s+)?\p{Latin}+|(?:ett|något) fel i|fel(?:et)? (?:gjorde|har gjort|upptäcktes)|wrong (?:recipient|payslip|employee|person|customer)|visades för (?:andra|fel)|sökbar|tillgänglig för (?:andra|obehöriga)|utan inloggning|otillgänglig|disruption|störning|sårbar|vulnerab|all clear|all-clear|säkerhetsincident|security incident|taken over|account takeover|kapades|kapats|kapat konto|exposure|exponer|råkade|förbiseende|inadvertent|accidental|oavsiktlig|(?-u:\b)defect|(?-u:\b)defekt|skadeprogram|infekterad|infected|injection|password spraying",
    )
});
static RE_FIRST_PERSON_INCIDENT: Lazy<Regex> = Lazy::new(|| {
    re(
        r"(?i)(?-u:\b)(?:vi|we|our|vår|våra|vårt)(?-u:\b)[^.\n]{0,80}(?-u:\b)(?:drabbats|utsatts|drabbades|utsattes|experienced|suffered|been affected|been the victim|rapportera|informera|meddela|notify|inform you)(?-u:\b)",
    )
});
static RE_UPDATE: Lazy<Regex> = Lazy::new(|| {
    re(
        r"(?i)^\s*(?:(?:vb|fw|fwd|re|sv)\s*:\s*)*(?:\[[^\]]*\]\s*)?(?:uppdatering|update|status update|lägesrapport|lägesbild|slutrapport|final report|komplettering|kompletterande|uppföljning|follow-up|follow up|all clear|all-clear|resolved|åtgärdat)(?-u:\b)|(?-u:\b)(?:all clear for|the all clear|friande besked)|(?-u:\b)(?:uppdatering (?:om|kring|gällande|av|[0-9])|update on|status update|final update|closing update|slutlig uppdatering|sista uppdatering|slutrapport|final report|kompletterande (?:information|uppgifter)|komplettering (?:av|till|om)|lägesrapport|lägesbild)",
    )
});

/// Signals the classifier needs, gathered by the reader.
pub struct Signals<'a> {
    pub auto: bool,
    pub forwarded: bool,
    pub outer_subject: &'a str,
    pub notice_subject: &'a str,
    pub text: &'a str,
    pub thread_link: bool,
    pub reply_subject: bool,
    pub case_ref_in_subject: bool,
    pub list_unsubscribe: bool,
}

/// Subjects and the start of the text: what the genre and incident cues are
/// looked for in. Bounded, so that a 100 kB subject costs no more than a short one.
fn cue_text(s: &Signals) -> (String, String, String) {
    let subjects = format!(
        "{}\n{}",
        prefix(s.outer_subject, 1000),
        prefix(s.notice_subject, 1000)
    );
    let head = prefix(s.text, 3000).to_string();
    let all = format!("{subjects}\n{head}");
    (subjects, head, all)
}

/// Whether the message can be about an incident at all. When it cannot, the
/// reader skips fact extraction: the kind is `other` (or `auto_reply`) either
/// way, and most mail is neither, so this keeps ingest fast.
pub fn may_be_incident(s: &Signals) -> bool {
    !s.auto && RE_INCIDENT.is_match(&cue_text(s).2)
}

/// `incident_cue` is the answer of [`may_be_incident`], computed once by the reader.
pub fn kind(s: &Signals, facts: &Incident, incident_cue: bool) -> Kind {
    if s.auto {
        return Kind::AutoReply;
    }
    if !incident_cue {
        return Kind::Other;
    }
    let (subjects, head, all) = cue_text(s);
    let training = RE_TRAINING.is_match(&all) && RE_QUESTION.is_match(&all);
    let genre = s.list_unsubscribe
        || RE_NEWSLETTER.is_match(&all)
        || RE_EVENT.is_match(&all)
        || RE_INVOICE.is_match(&subjects)
        || RE_INVOICE.find_iter(&head).count() >= 2
        || RE_MAINTENANCE.is_match(&all)
        || training;
    // Periods are left out on purpose: invoices and event mail are full of them.
    let fact_count = [
        facts.discovered_at.is_some(),
        facts.data_subjects.is_some(),
        !facts.data_categories.is_empty(),
        facts.cause.is_some(),
    ]
    .iter()
    .filter(|b| **b)
    .count();
    if genre && fact_count < 2 {
        return Kind::Other;
    }
    let follow = s.case_ref_in_subject
        || ((s.thread_link || s.reply_subject) && !s.forwarded)
        || RE_UPDATE.is_match(s.outer_subject)
        || RE_UPDATE.is_match(s.notice_subject)
        || s.text
            .lines()
            .find(|l| !l.trim().is_empty())
            .is_some_and(|l| RE_UPDATE.is_match(l));
    // A message with no incident facts and no first-person report is talk
    // about incidents, not a report of one.
    if !follow
        && fact_count == 0
        && facts.cause.is_none()
        && !RE_FIRST_PERSON_INCIDENT.is_match(&all)
    {
        return Kind::Other;
    }
    if follow {
        Kind::FollowUp
    } else {
        Kind::BreachNotice
    }
}

pub fn is_auto_subject(subject: &str) -> bool {
    RE_AUTO_SUBJECT.is_match(subject)
}

/// Swedish and English stop words; a `match` on the lower-cased bytes is
/// much cheaper than comparing every word with two lists.
fn stop_word(w: &[u8]) -> (usize, usize) {
    match w {
        b"och" | b"att" | b"det" | b"som" | b"\xc3\xa4r" | b"f\xc3\xb6r" | b"vi" | b"har"
        | b"inte" | b"med" | b"av" | b"till" | b"den" | b"p\xc3\xa5" | b"om" | b"ett"
        | b"kommer" | b"eller" | b"v\xc3\xa5r" | b"er" | b"hej" | b"v\xc3\xa4nliga"
        | b"h\xc3\xa4lsningar" | b"uppgifter" => (1, 0),
        b"the" | b"and" | b"to" | b"of" | b"is" | b"we" | b"our" | b"that" | b"for" | b"with"
        | b"have" | b"this" | b"are" | b"not" | b"your" | b"you" | b"was" | b"has" | b"be"
        | b"dear" | b"regards" | b"information" => (0, 1),
        _ => (0, 0),
    }
}

pub fn language(text: &str) -> Option<Language> {
    let (mut sv, mut en) = (0usize, 0usize);
    let mut buf = [0u8; 16];
    // A few hundred words decide the language; no allocation per word.
    for w in prefix(text, 4000)
        .split(|c: char| !c.is_alphabetic())
        .filter(|w| !w.is_empty() && w.len() <= 16)
        .take(150)
    {
        let bytes = w.as_bytes();
        let Some(dst) = buf.get_mut(..bytes.len()) else {
            continue;
        };
        dst.copy_from_slice(bytes);
        dst.make_ascii_lowercase();
        let (s, e) = stop_word(dst);
        sv += s;
        en += e;
    }
    if sv + en < 3 {
        None
    } else if sv >= en {
        Some(Language::Sv)
    } else {
        Some(Language::En)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_by_stop_words() {
        assert_eq!(
            language("Vi har drabbats av ett intrång och det är för tidigt att säga mer."),
            Some(Language::Sv)
        );
        assert_eq!(
            language("We are writing to inform you of a breach that affected your data."),
            Some(Language::En)
        );
        assert_eq!(language("ok"), None);
    }
}
