//! What kind of message this is (breach_notice, follow_up, auto_reply, other)
//! and which language the notice is written in.
//!
//! Order matters and follows the contract: an automatic answer or report is
//! `auto_reply` whatever it mentions; mail of another genre (newsletter,
//! webinar, invoice, planned maintenance, a training question) is `other`
//! unless it states incident facts of its own; an incident message is a
//! `follow_up` when it continues a thread, carries a case reference or calls
//! itself an update or final report (as a title: "Uppdatering om
//! incidenten", "Update #2"; not a sentence naming the software update that
//! caused a new incident, "Incident vid uppdatering av LabPortalen"); else a
//! `breach_notice`.

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
        r"(?i)incident|intrång|cyberattack|angrepp|angripare|ransomware|obehörig|felskick|fel mottagare|förlorad|borttappad|tappat bort|tappade bort|glömde|misstag|stulen|kommit bort|läcka|läckt|driftstörning|driftavbrott|avbrott|ligger nere|är nere|breach|unauthori[sz]ed|attack|compromise|leak|(?-u:\b)lost(?-u:\b)|stolen|misdirected|outage|exposed|phishing|nätfiske|programfel|felkonfiguration|misconfigur|åtkomst|åtkomlig|intrusion|(?-u:\b)bug(?-u:\b)|bugg|(?:till|för|med|to|for) fel (?:\p{Latin}+\s+)?\p{Latin}+|(?:ett|något) fel i|fel(?:et)? (?:gjorde|har gjort|upptäcktes)|wrong (?:recipient|payslip|employee|person|customer)|visades för (?:andra|fel)|sökbar|tillgänglig för (?:andra|obehöriga)|utan inloggning|otillgänglig|disruption|störning|sårbar|vulnerab|all clear|all-clear|säkerhetsincident|security incident|taken over|account takeover|kapades|kapats|kapat konto|exposure|exponer|råkade|förbiseende|inadvertent|accidental|oavsiktlig|(?-u:\b)defect|(?-u:\b)defekt|skadeprogram|infekterad|infected|injection|password spraying|(?-u:\b)hack(?:ad|ade|ades|at|ats|ning|ed)(?-u:\b)|malware|skadlig (?:kod|programvara|mjukvara)|suspicious (?:activity|login|sign-in|access)|misstänkt (?:aktivitet|intrång|inloggning|åtkomst)|gained access|obtained access|accessed by|threat actor|exfiltrat|(?-u:\b)disclosed|disclosure of personal|(?-u:\b)röj(?:t|ts|des|de|as|ande)(?-u:\b)|stöld|stulits|(?-u:\b)stals(?-u:\b)|(?:data|identity|laptop|device|computer) theft|theft of|läckage|utpressning|extortion|wrong (?:patient|client|user|address|list|account|school|recipient)|incorrect (?:recipient|address|patient|person|customer|client)|misdeliver|misaddress|(?:visible|available|accessible|shown|disclosed) to (?:other|another|the wrong|unauthori)|publicly (?:accessible|available|exposed)|external (?:recipient|distribution list|address)|extern(?:a)? (?:mottagare|adress)|(?:andra|obehöriga|fel) (?:användare|personer|kunder|mottagare) (?:kunde|har kunnat) (?:se|läsa|ta del)|kunde (?:andra|obehöriga|fel) (?:användare|personer|kunder) (?:se|läsa|ta del)|tekniskt fel|technical (?:error|fault|issue)|synliga för (?:varandra|alla)|synliga mottagare|see each other|visible to (?:each other|all)|recipients (?:were )?visible|instead of bcc|i stället för (?:hemlig kopia|bcc)|(?-u:\b)tappa(?:t|de|r) (?:min|mitt|mina|vår|vårt|våra|en|ett|bort)(?-u:\b)|råka(?:de|t)|försvunnit|försvann|(?:went|gone|is|are|were) missing|(?:i|till|in) (?:de )?(?:vanliga )?sopor(?:na)?|papperskorg|thrown (?:away|out)|in the (?:trash|bin|rubbish)|kommit åt|(?-u:\b)kom åt|fått tillgång till|fick tillgång till|got access|(?:skickades|skickats|postades|postats|mejlades|mejlats|lämnades ut|lämnats ut) till (?:en annan|fel|obehörig)|(?:sent|mailed|posted|emailed|handed) to (?:another|the wrong|an unauthori)|tidigare anställd|former employee|fortfarande (?:logga in|åtkomst|behörighet)|still (?:had |have |has )?(?:access|log in|logged in)",
    )
});
static RE_FIRST_PERSON_INCIDENT: Lazy<Regex> = Lazy::new(|| {
    re(
        r"(?i)(?-u:\b)(?:vi|we|our|vår|våra|vårt)(?-u:\b)[^.\n]{0,80}(?-u:\b)(?:drabbats|utsatts|drabbades|utsattes|experienced|suffered|been affected|been the victim|rapportera|informera|meddela|notify|inform you)(?-u:\b)",
    )
});
/// A subject that names a breach or its report ("Personuppgiftsincident",
/// "Incidentrapport", "Notification of personal data breach").
static RE_REPORT_SUBJECT: Lazy<Regex> = Lazy::new(|| {
    re(
        r"(?i)personuppgiftsincident|säkerhetsincident|it-incident|incidentrapport|incidentanmälan|(?-u:\b)incident(?-u:\b)|intrång|(?-u:\b)breach(?-u:\b)",
    )
});
/// A report, by its name ("Rapport", "rapporten", "incident report",
/// "avvikelse", "anmälan").
static RE_NAMES_A_REPORT: Lazy<Regex> = Lazy::new(|| {
    re(r"(?i)rapport|(?-u:\b)report|incident|avvikelse|händelse|anmälan|notification")
});
/// Text that points at an attachment.
static RE_POINTS_AT_ATTACHMENT: Lazy<Regex> =
    Lazy::new(|| re(r"(?i)bifoga|(?-u:\b)bilaga|attached|attachment|enclosed"));

/// Names for an update of an incident that mean nothing else, wherever they
/// stand ("Status update: …", "… – slutrapport", "Kompletterande uppgifter").
static RE_UPDATE_PHRASE: Lazy<Regex> = Lazy::new(|| {
    re(
        r"(?i)(?-u:\b)(?:status ?update|incident ?update|incidentuppdatering|final update|closing update|slutlig uppdatering|sista uppdatering|slutrapport|final report|lägesrapport|lägesbild|kompletterande (?:information|uppgifter)|komplettering (?:av|till|om)|all[ -]clear|friande besked|uppdaterad information|updated information)",
    )
});
/// Words that call a message an update only as its title ("Uppdatering om
/// incidenten", "Update #2"); in a sentence they are as often the software
/// update that caused a new incident ("Incident vid uppdatering av
/// LabPortalen", "Update of LabPortal showed results to the wrong patient").
static RE_UPDATE_WORD: Lazy<Regex> = Lazy::new(|| {
    re(
        r"(?i)uppdatering|update|uppföljning|follow[- ]up|komplettering|kompletterande|resolved|åtgärdat",
    )
});
/// What follows such a word when it is a title: nothing or a separator, a
/// count or a date (not a version: "update 4.2"), "om"/"on"/"regarding", or
/// "av"/"of"/"to" naming the incident, the earlier notice or its report.
static RE_UPDATE_TAIL: Lazy<Regex> = Lazy::new(|| {
    re(
        r"(?i)^\s*(?:$|[:\-–—|/()\[\],#]|(?:nr\.?|no\.?|number)?\s*[0-9]{1,3}(?:$|[^0-9.,:]|[.,:](?:$|[^0-9]))|[0-9]{1,2}:[0-9]{2}(?:$|[^0-9])|[0-9]{4}-[0-9]{2}-[0-9]{2}|kl\.?\s*[0-9]|(?:om|kring|gällande|angående|rörande|avseende|beträffande|on|about|regarding|re|från|from)(?:$|[^\p{L}\p{N}])|(?:av|of|to|till|på|för|for|i|in)\s+(?:(?:the|vår|vårt|våra|our|den|det|er|your|this|denna|detta)\s+)?(?:incident|händelse|intrång|ärende|anmälan|meddelande|rapport|information|notification|notice|report|breach|status|personuppgiftsincident|säkerhetsincident|security incident|tidigare|föregående|previous|earlier))",
    )
});
/// A cause just before the word ("efter uppdatering", "following the
/// update"): the update is what caused the incident, not a report of it.
static RE_UPDATE_CAUSE: Lazy<Regex> = Lazy::new(|| {
    re(
        r"(?i)(?:^|[^\p{L}\p{N}])(?:efter|vid|under|pga|grund av|orsakad|orsakat|orsakade|orsakades|after|following|during|caused|due|because|with|med|genom|through|by)(?:[^\p{L}\p{N}]+[\p{L}\p{N}.]+){0,2}[^\p{L}\p{N}]*$",
    )
});

/// Whether `line` (a subject or the text's first line) calls the message an
/// update of an incident: one of [`RE_UPDATE_PHRASE`], or a word of
/// [`RE_UPDATE_WORD`] standing alone as a word, followed as a title is
/// ([`RE_UPDATE_TAIL`]) and not after a cause ([`RE_UPDATE_CAUSE`]).
/// A message that says it reports another incident than the one its thread
/// or case reference is about: "en ny personuppgiftsincident", "ytterligare
/// ett intrång", "a new personal data breach", "another incident". Negated
/// mentions ("ingen ny incident", "no further incidents") are looked for
/// before the match ([`RE_NEGATION`]); a following word that makes it a
/// process or a document ("new incident report") is no new incident.
static RE_NEW_INCIDENT: Lazy<Regex> = Lazy::new(|| {
    re(
        r"(?i)(?-u:\b)(?:nya?|nytt|new|another|ytterligare(?: en| ett)?|en till|ett till|en annan|ett annat|separat|separate|further|additional|fresh)\s+(?:[\p{L}-]+\s+){0,2}?(?:incident(?:er|en|erna|s)?|personuppgiftsincident(?:er)?|säkerhetsincident(?:er)?|it-incident(?:er)?|intrång(?:et)?|dataintrång(?:et)?|breach(?:es)?)(?-u:\b)",
    )
});
/// The incident "has nothing to do with the earlier one".
static RE_UNRELATED: Lazy<Regex> = Lazy::new(|| {
    re(
        r"(?i)(?:inte|inget|ingenting) (?:har )?(?:något )?(?:med|att göra med) (?:den|det|vår|er) (?:tidigare|förra|föregående|första)|ingen koppling till (?:den|det|vår) (?:tidigare|förra|föregående|första)|(?:unrelated|not related|no relation|no connection) to (?:the|our|your) (?:previous|earlier|first|prior|other)",
    )
});
static RE_NEGATION: Lazy<Regex> = Lazy::new(|| {
    re(r"(?i)(?-u:\b)(?:inte|ingen|inget|inga|icke|aldrig|utan|not|no|never|without|nor)(?-u:\b)")
});
static RE_NOT_AN_INCIDENT_AFTER: Lazy<Regex> = Lazy::new(|| {
    re(
        r"(?i)^[\s-]*(?:response|management|process|handling|team|report|reporting|notification|form|routine|procedure|policy|number|rapport|hantering|anmälan|blankett|rutin|rutiner|process|nummer)(?-u:\b)",
    )
});

/// How much of a message's text the classifier reads (the cues, the kind,
/// [`says_new_incident`]).
pub const HEAD_CHARS: usize = 3000;

/// Whether the message says it reports a new incident, not news of an
/// earlier one (see [`RE_NEW_INCIDENT`]): in a subject that is not a reply's
/// ("Re: Ny incident" is the thread's old title), or in the text's first
/// 3,000 bytes. The shell passes the message's own words only (a reply
/// without its quote, a forwarder's note, the forwarded notice).
pub fn says_new_incident(subjects: &[&str], texts: &[&str]) -> bool {
    let subjects = subjects
        .iter()
        .filter(|s| !super::forward::is_reply_subject(Some(s)))
        .map(|s| prefix(s, 1000));
    let texts = texts.iter().map(|t| prefix(t, HEAD_CHARS));
    subjects.chain(texts).any(|t| {
        RE_UNRELATED.is_match(t)
            || RE_NEW_INCIDENT.find_iter(t).any(|m| {
                let before = &t[..m.start()];
                let near = before
                    .char_indices()
                    .rev()
                    .nth(39)
                    .map_or(before, |(i, _)| &before[i..]);
                // Only the same sentence's words negate.
                let near = near.rsplit(['.', '!', '?', '\n']).next().unwrap_or(near);
                !RE_NEGATION.is_match(near) && !RE_NOT_AN_INCIDENT_AFTER.is_match(&t[m.end()..])
            })
    })
}

fn calls_itself_an_update(line: &str) -> bool {
    let line = prefix(line, 1000);
    if RE_UPDATE_PHRASE.is_match(line) {
        return true;
    }
    RE_UPDATE_WORD.find_iter(line).any(|m| {
        let (before, after) = (&line[..m.start()], &line[m.end()..]);
        let alone = !before
            .chars()
            .next_back()
            .is_some_and(char::is_alphanumeric)
            && !after.chars().next().is_some_and(char::is_alphanumeric);
        let near = before.len().saturating_sub(60);
        let near = before.get(near..).unwrap_or(before);
        alone && RE_UPDATE_TAIL.is_match(after) && !RE_UPDATE_CAUSE.is_match(near)
    })
}

/// Signals the classifier needs, gathered by the reader.
pub struct Signals<'a> {
    pub auto: bool,
    pub forwarded: bool,
    pub outer_subject: &'a str,
    pub notice_subject: &'a str,
    /// The start of the notice's text ([`HEAD_CHARS`]), hard-wrapped lines
    /// joined (`text::unwrapped`).
    pub text: &'a str,
    pub thread_link: bool,
    pub reply_subject: bool,
    pub case_ref_in_subject: bool,
    pub list_unsubscribe: bool,
    /// A document is attached (`mime::has_document`).
    pub has_document: bool,
}

/// Subjects and the start of the text: what the genre and incident cues are
/// looked for in. Bounded, so that a 100 kB subject costs no more than a short one.
fn cue_text(s: &Signals) -> (String, String, String) {
    let subjects = format!(
        "{}\n{}",
        prefix(s.outer_subject, 1000),
        prefix(s.notice_subject, 1000)
    );
    let head = prefix(s.text, HEAD_CHARS).to_string();
    let all = format!("{subjects}\n{head}");
    (subjects, head, all)
}

/// Whether the message can be about an incident at all. When it cannot, the
/// reader skips fact extraction: the kind is `other` (or `auto_reply`) either
/// way, and most mail is neither, so this keeps ingest fast.
pub fn may_be_incident(s: &Signals) -> bool {
    !s.auto && RE_INCIDENT.is_match(&cue_text(s).2)
}

/// A mail that names no incident but may carry a report of one in its
/// attached file: its subject or text speaks of a report ("Rapport",
/// "Här kommer rapporten enligt avtalet", "Incident report attached") and
/// it is no invoice. Only then is an attached PDF read for the cue (each
/// one costs a child process, `crate::pdf`); a Word or OpenDocument form,
/// read in the process, is read for any mail with a document.
pub fn may_carry_a_report(s: &Signals) -> bool {
    let (_, _, all) = cue_text(s);
    !s.auto && RE_NAMES_A_REPORT.is_match(&all) && !RE_INVOICE.is_match(&all)
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
    // Mail of another genre needs two facts of its own; one suffices when
    // its subject names a breach and it is no list mail (a newsletter sent
    // with its recipients visible, a webinar list exposed: "Personuppgifts-
    // incident: nyhetsbrev skickades med synliga mottagare").
    let breach_subject = !s.list_unsubscribe && RE_REPORT_SUBJECT.is_match(&subjects);
    if genre && fact_count < 2 && !(breach_subject && fact_count == 1) {
        return Kind::Other;
    }
    let follow = s.case_ref_in_subject
        || ((s.thread_link || s.reply_subject) && !s.forwarded)
        || calls_itself_an_update(s.outer_subject)
        || calls_itself_an_update(s.notice_subject)
        || s.text
            .lines()
            .find(|l| !l.trim().is_empty())
            .is_some_and(calls_itself_an_update);
    // A report in a document: the subject names a breach or its report and
    // the document is attached or the text points at it ("Se bifogad
    // rapport"). Its facts are in the document, which the reader does not
    // read; the case opens and the official reads it.
    let reported_in_document = RE_REPORT_SUBJECT.is_match(&subjects)
        && (s.has_document || RE_POINTS_AT_ATTACHMENT.is_match(&head));
    // A message with no incident facts and no first-person report is talk
    // about incidents, not a report of one.
    if !follow
        && fact_count == 0
        && facts.cause.is_none()
        && !reported_in_document
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

    /// What makes a reply in a case's thread another incident
    /// (`core::series::another_incident`): its own words say so.
    #[test]
    fn a_message_says_it_reports_a_new_incident() {
        for text in [
            "Vi har tyvärr upptäckt en ny personuppgiftsincident i LabPortalen.",
            "Vi vill informera om ytterligare ett intrång i systemet.",
            "Hej! En till incident, liknande den i PUI-2026-0001.",
            "Det här är en annan incident än den vi rapporterade i november.",
            "Incidenten har inte med den tidigare att göra.",
            "Unfortunately we have to report a new personal data breach.",
            "This is another incident, unrelated to the previous one.",
            "We detected a separate security incident on 4 December.",
            "Nya incidenter: två konton har kapats.",
        ] {
            assert!(says_new_incident(&[], &[text]), "{text}");
        }
        for text in [
            "Vi har inte upptäckt några nya incidenter sedan dess.",
            "Ingen ny incident har inträffat.",
            "No further incidents or breaches have been detected.",
            "We have not found any new breach of the platform.",
            "Bifogat finns en ny incidentrapport med uppdaterade siffror.",
            "Here is a new incident report with the updated figures.",
            "We have a new incident response process.",
            "Uppdatering om incidenten: 412 personer berörs.",
            "Vi har gjort en ny anmälan till IMY.",
            "Ett nytt intrångsskydd är installerat.",
        ] {
            assert!(!says_new_incident(&[], &[text]), "{text}");
        }
        // A subject counts unless it is a reply's (the thread's old title).
        assert!(says_new_incident(&["VB: PUI-2026-0001 ny incident"], &[]));
        assert!(says_new_incident(&["Ny incident i LabPortalen"], &[]));
        assert!(!says_new_incident(&["SV: Ny incident i LabPortalen"], &[]));
        assert!(!says_new_incident(&["Re: New incident in LabPortal"], &[]));
        // Only the first 3,000 bytes of a text are read.
        let late = format!("{}ny incident", "x ".repeat(2000));
        assert!(!says_new_incident(&[], &[&late]));
    }

    /// A title that calls the message an update, and a sentence about the
    /// software update that caused a new incident (which read as a follow-up
    /// and joined the supplier's open case of the same system).
    #[test]
    fn an_update_is_a_follow_up_only_as_a_title() {
        for title in [
            "Uppdatering om incidenten i LabPortalen",
            "Uppdatering: personuppgiftsincident i LabPortalen",
            "SV: [Extern] Uppdatering - LabPortalen",
            "Update on the LabPortal incident",
            "Personuppgiftsincident LabPortalen – uppdatering 2",
            "LabPortal incident - update #2",
            "Uppdatering 2026-12-05 14:00",
            "Update 14:00: services restored",
            "Status update: LabPortal incident",
            "Slutrapport personuppgiftsincident LabPortalen",
            "Komplettering av incidentrapport LabPortalen",
            "Uppdatering av incidentrapport LabPortalen",
            "Update to our notification of 4 December",
            "Uppföljning av vår anmälan",
            "Follow-up: LabPortal",
            "RESOLVED - LabPortal outage",
            "Åtgärdat: fel i LabPortalen",
            "Uppdatering",
            "[Update] LabPortal incident",
            "[Resolved] LabPortal outage",
            "Uppdatering (2): LabPortalen",
            "Here is an update on the incident.",
            "Vi lämnar härmed en uppdatering om incidenten.",
        ] {
            assert!(calls_itself_an_update(title), "{title:?}");
        }
        for sentence in [
            "Personuppgiftsincident vid uppdatering av LabPortalen",
            "Incident i LabPortalen efter uppdatering 4.2",
            "Uppdatering av LabPortalen gav fel mottagare av provsvar",
            "Uppdatering av LabPortalen gjorde att provsvar visades för fel patient.",
            "Data exposure after the update on 4 December",
            "Security incident following software update on LabPortal",
            "Update of LabPortal caused lab results to be shown to the wrong patient.",
            "Update caused wrong recipients in LabPortal",
            "Fel efter en planerad uppdatering om natten",
            "Incident caused by the update on Friday",
            "Personuppgiftsincident – åtgärdat fel i LabPortalen",
            "Systemuppdateringen visade fel uppgifter",
            "Vi har gjort en uppdatering.",
            "Please update your password",
        ] {
            assert!(!calls_itself_an_update(sentence), "{sentence:?}");
        }
    }

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
