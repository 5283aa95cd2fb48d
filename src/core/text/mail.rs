//! The mails breachwatch writes itself, in Swedish, in the order a case meets
//! them: the opening notice to the official, the acknowledgement to whoever
//! forwarded the notice, the reminders, news of an attached message, the
//! frames around an answer to a command, the draft decision's cover and the
//! DPO's notice of mail the server refused. `mail::compose` turns them into
//! bytes; nothing here knows about SMTP.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::core::bounded::{one_line, short_subject};
use crate::core::case::{Assessment, Decision};
use crate::core::clock;
use crate::core::commands::Lang;
use crate::core::documents::words;
use crate::core::routing::Route;
use crate::core::types::CaseRef;

/// The last lines of every mail.
pub const SIGNATURE: &str = "\n-- \nbreachwatch\n";

/// Facts of a new case the notice texts show.
#[derive(Debug, Clone)]
pub struct CaseFacts<'a> {
    pub case_ref: &'a CaseRef,
    pub subject: &'a str,
    pub reporter: &'a str,
    pub aware_at: DateTime<Utc>,
    pub route: &'a Route,
    pub rule: Option<&'a str>,
    pub systems: &'a [String],
    pub notice_message_id: Option<&'a str>,
    /// Forward-chain times that did not set the clock (the official is told why).
    pub ignored_chain_times: &'a [crate::core::notice::IgnoredTime],
    /// An open case this one may be the same incident as, and why (`core::series`).
    pub may_belong_to: Option<(&'a str, &'a str)>,
    /// The case this one was split from by reply (`dela`/`split`).
    pub split_from: Option<&'a str>,
    /// What the notice states about the incident (the summary shows only
    /// what is known).
    pub incident: &'a crate::core::notice::Incident,
    /// The notice's own text (the innermost forwarded body), quoted bounded.
    pub notice_text: &'a str,
    /// When the forward reached the shared mailbox, for a forwarded notice:
    /// with `aware_at` it explains why the clock started earlier.
    pub forwarded_at: Option<DateTime<Utc>>,
    /// The names of the documents attached to the notice.
    pub documents: &'a [String],
    /// The attached Word or OpenDocument file the facts were also read from
    /// (its name, empty when it has none); the reader reads no other file.
    pub document_read: Option<&'a str>,
}
/// "2 d 5 h" / "5 h 10 min" / "försenad 3 h".
pub fn human_left(left: chrono::Duration) -> String {
    let mins = left.num_minutes();
    let (late, mins) = if mins < 0 {
        (true, -mins)
    } else {
        (false, mins)
    };
    let (d, h, m) = (mins / (24 * 60), (mins / 60) % 24, mins % 60);
    let s = if d > 0 {
        format!("{d} d {h} h")
    } else if h > 0 {
        format!("{h} h {m} min")
    } else {
        format!("{m} min")
    };
    if late {
        format!("försenad {s}")
    } else {
        s
    }
}

const WEEKDAYS_SV: [&str; 7] = [
    "måndag", "tisdag", "onsdag", "torsdag", "fredag", "lördag", "söndag",
];

/// "fredag 18 juni 2021 20:05" in `tz`: the weekday tells an official at a
/// glance whether a weekend lies between two instants.
pub(crate) fn local_long(tz: Tz, t: DateTime<Utc>) -> String {
    format!(
        "{} {}",
        local_date_long(tz, t),
        t.with_timezone(&tz).format("%H:%M")
    )
}

/// "fredag 18 juni 2021" in `tz`.
fn local_date_long(tz: Tz, t: DateTime<Utc>) -> String {
    use chrono::Datelike;
    let l = t.with_timezone(&tz);
    let wd = WEEKDAYS_SV
        .get(l.weekday().num_days_from_monday() as usize)
        .copied()
        .unwrap_or("");
    format!("{wd} {}", words::date_long(l.date_naive()))
}

/// [`local_long`] for an instant read from a notice: "fredag 18 juni 2021"
/// alone for a date read without a time (`local_time::read_without_time`).
pub(crate) fn local_long_as_read(tz: Tz, t: DateTime<Utc>) -> String {
    match crate::core::local_time::read_without_time(t, tz) {
        true => local_date_long(tz, t),
        false => local_long(tz, t),
    }
}

/// "fredag 18 juni 20:05": [`local_long`] without the year, for a sentence
/// whose neighbouring lines carry it.
fn local_short(tz: Tz, t: DateTime<Utc>) -> String {
    use chrono::Datelike;
    let l = t.with_timezone(&tz);
    let wd = WEEKDAYS_SV
        .get(l.weekday().num_days_from_monday() as usize)
        .copied()
        .unwrap_or("");
    // `date_long` is "18 juni 2021"; the year is its last word.
    let date = words::date_long(l.date_naive());
    let day_month = date.rsplit_once(' ').map_or(date.as_str(), |(dm, _)| dm);
    format!("{wd} {day_month} {}", l.format("%H:%M"))
}

/// "59 timmar", "1 timme", "40 minuter": elapsed time in whole units.
fn elapsed_sv(d: chrono::Duration) -> String {
    let h = d.num_hours();
    match h {
        1 => "1 timme".into(),
        h if h > 1 => format!("{h} timmar"),
        _ => format!("{} minuter", d.num_minutes().max(0)),
    }
}

/// Most characters of the notice's text quoted in the opening notice: enough
/// for any real notice's facts, and the whole text stays on the timeline.
pub const MAX_QUOTED_CHARS: usize = 3_000;
/// Most items of one list (systems, data categories) named in the summary.
const MAX_LIST_ITEMS: usize = 10;
/// Most characters of one such item.
const MAX_ITEM_CHARS: usize = 80;
/// A forward that reached us this long after the municipality first had the
/// notice is late: within a working day is ordinary handling, beyond it the
/// forwarder should know how much of the 72 hours had gone.
const LATE_FORWARD_HOURS: i64 = 8;
/// A forward at least this long after the first receipt is worth explaining
/// (minutes of transport delay are not).
const EXPLAINED_FORWARD_MINUTES: i64 = 30;

/// The forward's delay to explain, if the notice was forwarded noticeably
/// after the municipality first received it.
fn forward_delay(f: &CaseFacts<'_>) -> Option<(DateTime<Utc>, chrono::Duration)> {
    let at = f.forwarded_at?;
    let d = at - f.aware_at;
    (d >= chrono::Duration::minutes(EXPLAINED_FORWARD_MINUTES)).then_some((at, d))
}

/// A list of outside words, each one line and bounded, at most
/// [`MAX_LIST_ITEMS`] of them ("a, b och c", "… och 3 till").
fn bounded_list(items: &[String]) -> String {
    let mut shown: Vec<String> = items
        .iter()
        .map(|i| one_line(i, MAX_ITEM_CHARS))
        .filter(|i| !i.is_empty())
        .take(MAX_LIST_ITEMS)
        .collect();
    let rest = items.len().saturating_sub(MAX_LIST_ITEMS);
    if rest > 0 {
        shown.push(format!("{rest} till"));
    }
    words::join_sv(&shown)
}

/// The number of people, as the supplier gave it: a single figure is its
/// estimate ("cirka 640"), two are an interval.
fn subjects_sv(r: &crate::core::notice::Range) -> Option<String> {
    use words::number_sv;
    match (r.min, r.max) {
        (Some(0), Some(0)) => Some("inga enligt leverantören".into()),
        (Some(a), Some(b)) if a == b => Some(format!("cirka {}", number_sv(a))),
        (Some(a), Some(b)) => Some(format!(
            "mellan {} och {}",
            number_sv(a.min(b)),
            number_sv(a.max(b))
        )),
        (None, Some(b)) => Some(format!("upp till {}", number_sv(b))),
        (Some(a), None) => Some(format!("minst {}", number_sv(a))),
        (None, None) => None,
    }
}

/// What happened, as the notice states it: one line per known fact, and
/// the facts it does not state named as such (never a label without a value).
fn summary(tz: Tz, f: &CaseFacts<'_>) -> String {
    let i = f.incident;
    let mut lines = Vec::new();
    let mut unknown: Vec<&str> = Vec::new();
    if f.systems.is_empty() {
        unknown.push("vilka system");
    } else {
        lines.push(format!("System: {}", bounded_list(f.systems)));
    }
    let categories: Vec<String> = i
        .data_categories
        .iter()
        .map(|c| words::category_words(c))
        .collect();
    if categories.is_empty() {
        unknown.push("vilka personuppgifter");
    } else {
        lines.push(format!("Personuppgifter: {}", bounded_list(&categories)));
    }
    match i.data_subjects.as_ref().and_then(subjects_sv) {
        Some(n) => lines.push(format!("Antal berörda registrerade: {n}")),
        None => unknown.push("hur många registrerade som berörs"),
    }
    match i.ongoing {
        Some(true) => lines.push("Pågår: ja, enligt meddelandet pågår incidenten".into()),
        Some(false) => lines.push("Pågår: nej, enligt meddelandet är incidenten avslutad".into()),
        None => unknown.push("om incidenten pågår"),
    }
    match i.discovered_at {
        Some(t) => lines.push(format!("Upptäcktes: {}", local_long_as_read(tz, t))),
        None => unknown.push("när incidenten upptäcktes"),
    }
    if let Some(c) = i.cause {
        lines.push(format!(
            "Orsak: {}",
            words::cause_form_label(c).to_lowercase()
        ));
    }
    let mut out = String::new();
    for l in &lines {
        out.push_str(l);
        out.push('\n');
    }
    if !unknown.is_empty() {
        let unknown: Vec<String> = unknown.into_iter().map(str::to_string).collect();
        out.push_str(&format!(
            "Meddelandet anger inte {}.\n",
            words::join_sv(&unknown)
        ));
    }
    out
}

/// The notice's own text, quoted, at most [`MAX_QUOTED_CHARS`] characters:
/// control characters other than line breaks and tabs are dropped, blank
/// lines in a row are one (an HTML notice's paragraphs read with two or
/// three between them), and a cut says where the whole text is.
pub(crate) fn quoted(case_ref: &CaseRef, text: &str) -> String {
    let text = text.trim();
    let mut kept = String::new();
    let mut cut = false;
    for (n, c) in text.chars().enumerate() {
        if n >= MAX_QUOTED_CHARS {
            cut = true;
            break;
        }
        if c == '\n' || c == '\t' || !c.is_control() {
            kept.push(c);
        }
    }
    let mut out = String::new();
    let mut blank = false;
    for line in kept.lines() {
        let line = line.trim_end();
        if line.is_empty() && blank {
            continue;
        }
        blank = line.is_empty();
        // An empty quoted line is ">" alone: no trailing space to be mangled.
        out.push('>');
        if !line.is_empty() {
            out.push(' ');
            out.push_str(line);
        }
        out.push('\n');
    }
    if cut {
        out.push_str(&format!(
            "[… texten är längre; hela meddelandet finns i ärendet: breachwatch cases show {case_ref}]\n"
        ));
    }
    out
}

/// The attached drafts (by file name), named by what they are for.
fn attachment_lines(file_names: &[String]) -> Vec<String> {
    let names = |pred: &dyn Fn(&str) -> bool| -> Vec<String> {
        file_names.iter().filter(|n| pred(n)).cloned().collect()
    };
    let mut out = Vec::new();
    let decision = names(&|n| n.starts_with("Beslut-"));
    if !decision.is_empty() {
        out.push(format!(
            "- {}: utkast till beslut om anmälan till IMY (redigera .docx-filen)",
            words::join_sv(&decision)
        ));
    }
    let form = names(&|n| n.starts_with("IMY-"));
    if !form.is_empty() {
        out.push(format!(
            "- {}: utkast till svaren i IMY:s anmälningsformulär, att föra in i e-tjänsten",
            words::join_sv(&form)
        ));
    }
    let ics = names(&|n| n.ends_with(".ics"));
    if !ics.is_empty() {
        out.push(format!(
            "- {}: fristen som kalenderhändelse",
            words::join_sv(&ics)
        ));
    }
    out
}

/// Whether the opening notice is urgent (its subject and first line say so).
fn is_urgent(f: &CaseFacts<'_>, now: DateTime<Utc>) -> bool {
    clock::is_urgent(f.aware_at, now)
}

/// The opening notice's subject.
pub fn opening_subject(f: &CaseFacts<'_>, now: DateTime<Utc>) -> String {
    let subject = short_subject(f.subject);
    if is_urgent(f, now) {
        format!("BRÅDSKANDE: Ny personuppgiftsincident: {subject}")
    } else {
        format!("Ny personuppgiftsincident: {subject}")
    }
}

/// The opening notice to the official, DPO (and coordinator) on the route;
/// `attachments` are the file names of the drafts attached (none when they
/// could not be made; the text then says how to get them).
pub fn opening_text(
    tz: Tz,
    f: &CaseFacts<'_>,
    now: DateTime<Utc>,
    attachments: &[String],
) -> String {
    let subject = short_subject(f.subject);
    let reporter = short_subject(f.reporter);
    let deadline = clock::deadline(f.aware_at);
    let left = deadline - now;
    let urgent = is_urgent(f, now);
    let mut text = String::new();
    if urgent && left < chrono::Duration::zero() {
        text.push_str(&format!(
            "BRÅDSKANDE: 72-timmarsfristen har redan passerats ({}).\n\n",
            human_left(left)
        ));
    } else if urgent {
        text.push_str(&format!(
            "BRÅDSKANDE: {} kvar till 72-timmarsfristen.\n\n",
            human_left(left)
        ));
    }
    text.push_str(&format!(
        "Ett nytt ärende om personuppgiftsincident har registrerats: {}.\n\n",
        f.case_ref
    ));

    // What to do now, by the time left.
    let drafts = if attachments.is_empty() {
        String::new()
    } else {
        " med det bifogade utkastet".to_string()
    };
    text.push_str("GÖR NU\n");
    if left < chrono::Duration::zero() {
        text.push_str(&format!(
            "Fristen har redan passerats. Anmäl till IMY nu{drafts} via IMY:s e-tjänst och ange \
             skälen till förseningen (fråga 14). Det som ännu inte är känt kan kompletteras senare.\n"
        ));
    } else if urgent {
        // Read as an official with an hour left: the deadline belongs next to
        // the action, not only in the FRIST block further down.
        text.push_str(&format!(
            "Anmäl till IMY nu{drafts} via IMY:s e-tjänst, senast {}; det som ännu inte är \
             känt kan kompletteras senare. Svara sedan \"anmält DI-…\" med IMY:s diarienummer.\n",
            local_long(tz, deadline)
        ));
    } else {
        text.push_str(&format!(
            "Kvittera ärendet, bedöm risken för de registrerade och besluta om anmälan till IMY \
             senast {}.\n",
            local_long(tz, deadline)
        ));
    }

    // What happened.
    text.push_str("\nVAD HAR HÄNT\n");
    text.push_str(&summary(tz, f));
    match (f.documents.is_empty(), f.document_read) {
        (_, Some(read)) => text.push_str(&format!(
            "Bifogat till meddelandet: {}. Det som står ovan är läst ur meddelandets text och \
             ur filen{}: kontrollera det mot filen på ärendets sida i webbvyn.\n",
            f.documents.join(", "),
            // The one file named just before is not named twice.
            match read.is_empty() || f.documents == [read] {
                true => String::new(),
                false => format!(" {read}"),
            }
        )),
        (false, None) => text.push_str(&format!(
            "Bifogat till meddelandet: {}. Det som står ovan är bara läst ur meddelandets \
             text, inte ur filen: läs filen på ärendets sida i webbvyn.\n",
            f.documents.join(", ")
        )),
        (true, None) => {}
    }
    if !f.notice_text.trim().is_empty() {
        text.push_str("Det ursprungliga meddelandet står längst ned i detta mejl.\n");
    }

    // The clock, and why it started before the forward.
    text.push_str(&format!(
        "\nFRIST\n\
         Kommunen fick kännedom: {}\n\
         Anmälan till IMY senast: {} (72 timmar efter kännedom)\n\
         Tid kvar: {}\n",
        local_long(tz, f.aware_at),
        local_long(tz, deadline),
        human_left(left),
    ));
    if let Some((at, _)) = forward_delay(f) {
        text.push_str(&format!(
            "Leverantörens meddelande kom till kommunen {}; det vidarebefordrades {}. \
             Fristen räknas från när kommunen först fick meddelandet.\n",
            local_short(tz, f.aware_at),
            local_short(tz, at),
        ));
    }
    for t in f.ignored_chain_times {
        use crate::core::notice::IgnoredWhy;
        let why = match t.why {
            IgnoredWhy::TooOld => "ligger långt före leveransen till kommunen",
            IgnoredWhy::AfterDelivery => "ligger efter leveransen till kommunen",
            IgnoredWhy::Implausible => "är inte ett rimligt datum",
        };
        text.push_str(&format!(
            "Obs: tidpunkten {} i det vidarebefordrade meddelandet {why} och används inte \
             för fristen; kännedom räknas från leveransen. Kontrollera tidpunkten.\n",
            local_long(tz, t.time)
        ));
    }

    text.push_str(&format!(
        "\nÄRENDET\n\
         Ämne: {}\n\
         Rapporterat av: {}\n\
         Ansvarig nämnd: {} (delegationsordning punkt {})\n\
         Handläggare: {}\n\
         Routning: {}\n",
        subject,
        reporter,
        f.route.committee.name,
        f.route.committee.delegation_point,
        f.route.official.name,
        f.rule
            .map_or("standardregeln".to_string(), |r| format!("regel {r}"))
    ));
    if let Some((other, why)) = f.may_belong_to {
        text.push_str(&format!(
            "\nKan höra till ärende {other} ({why}). Anmälan registrerades som ett eget ärende \
             eftersom en ny anmälan bara läggs till ett annat ärende när det är uppenbart \
             samma incident. Bedöm om det är samma incident. Är det samma: svara på det här \
             meddelandet med \"sammanfoga {other}\" som första rad, så flyttas det här \
             ärendets meddelanden till {other}, den tidigaste kännedomen gäller och det här \
             ärendet stängs.\n"
        ));
    }

    if let Some(other) = f.split_from {
        text.push_str(&format!(
            "\nDelat ur ärende {other}: en handläggare svarade \"dela\" på ett brev om det här \
             meddelandet, som därför är ett eget ärende med egen frist från när meddelandet \
             först togs emot. Hör det ändå till {other}: svara på det här meddelandet med \
             \"sammanfoga {other}\" som första rad.\n"
        ));
    }

    text.push_str("\nBIFOGAT\n");
    let lines = attachment_lines(attachments);
    if lines.is_empty() {
        text.push_str(&format!(
            "Utkasten kunde inte bifogas. Ta fram dem med \"breachwatch cases draft {r}\" och \
             \"breachwatch cases imy-form {r}\".\n",
            r = f.case_ref
        ));
    } else {
        for l in lines {
            text.push_str(&l);
            text.push('\n');
        }
        text.push_str("Utkasten innehåller bara det som ärendet vet; luckor är markerade.\n");
    }

    text.push_str(
        "\nSVARA MED ETT KOMMANDO\n\
         Svara på detta meddelande; första raden är kommandot:\n\
         kvittera                    – du har tagit emot ärendet\n\
         bedömning: risk             – eller \"ingen risk\", \"hög risk\"\n\
         beslut: anmäl               – eller \"anmäl och informera\", \"ej anmäl\"\n\
         anmält DI-2026-1234         – IMY:s diarienummer när anmälan är gjord\n\
         diarienummer: KS 2026/0123  – kommunens diarienummer\n",
    );
    if !f.notice_text.trim().is_empty() {
        let cut = f.notice_text.trim().chars().nth(MAX_QUOTED_CHARS).is_some();
        text.push_str(&format!(
            "\nDET URSPRUNGLIGA MEDDELANDET{}\nFrån: {}\n{}",
            if cut { " (början)" } else { "" },
            reporter,
            quoted(f.case_ref, f.notice_text)
        ));
    }
    text.push_str("\n-- \nbreachwatch, registret över personuppgiftsincidenter (art. 33.5 GDPR)\n");
    text
}

/// The acknowledgement's subject.
pub fn acknowledgement_subject(subject: &str) -> String {
    format!("Mottaget: {}", short_subject(subject))
}

/// The acknowledgement to the person who forwarded the notice, or to the DPO
/// when a supplier wrote directly (`direct`).
pub fn acknowledgement_text(tz: Tz, f: &CaseFacts<'_>, direct: bool) -> String {
    let subject = short_subject(f.subject);
    let mut text = format!(
        "Tack. Meddelandet \"{}\" har registrerats som ärende {}.\n\n\
         Kommunen räknas ha fått kännedom {}; anmälan till IMY ska då göras senast {}.\n\
         Ärendet har gått till {} ({}).\n",
        subject,
        f.case_ref,
        local_long(tz, f.aware_at),
        local_long(tz, clock::deadline(f.aware_at)),
        f.route.committee.name,
        f.route.official.name,
    );
    if direct {
        text.push_str(&format!(
            "\nMeddelandet kom direkt från {} utanför kommunen; breachwatch svarar aldrig \
             leverantörer automatiskt.\n",
            short_subject(f.reporter)
        ));
    } else {
        if let Some((at, d)) = forward_delay(f) {
            if d >= chrono::Duration::hours(LATE_FORWARD_HOURS) {
                let passed = if d >= chrono::Duration::hours(72) {
                    "hade hela fristen på 72 timmar redan gått ut".to_string()
                } else {
                    format!("hade {} av de 72 timmarna redan gått", elapsed_sv(d))
                };
                text.push_str(&format!(
                    "\nLeverantörens meddelande kom till kommunen {} och vidarebefordrades hit {}; \
                     då {passed}. Fristen räknas från när kommunen först fick meddelandet, så \
                     skicka gärna liknande meddelanden vidare hit direkt, även innan du hunnit \
                     läsa allt.\n",
                    local_short(tz, f.aware_at),
                    local_short(tz, at),
                ));
            }
        }
        text.push_str(
            "\nDu behöver inte göra något mer. Handläggaren hör av sig om något behövs från dig.\n",
        );
    }
    text.push_str(SIGNATURE);
    text
}

/// A reminder of the plan (subject, text); overdue ones go to the deputy too,
/// and so do those of a case nobody has acknowledged (`unacknowledged`).
pub fn reminder(
    tz: Tz,
    case_ref: &CaseRef,
    aware_at: DateTime<Utc>,
    r: &clock::Reminder,
    unacknowledged: bool,
    now: DateTime<Utc>,
) -> (String, String) {
    let deadline = clock::deadline(aware_at);
    let left = deadline - now;
    let (subject, lead) = if r.overdue {
        (
            format!(
                "FÖRSENAD: 72-timmarsfristen har passerats ({})",
                human_left(left)
            ),
            "Fristen för anmälan till IMY har passerats och inget beslut är registrerat. \
             En anmälan som görs nu ska ange skälen till förseningen (fråga 14)."
                .to_string(),
        )
    } else {
        (
            format!("Påminnelse: {} kvar till anmälningsfristen", human_left(left)),
            format!(
                "Påminnelse {} timmar efter kännedom: beslut om anmälan till IMY är inte registrerat.",
                r.offset_hours
            ),
        )
    };
    let text = format!(
        "{lead}\n\nÄrende: {case_ref}\nKännedom: {}\nSenast: {}\nTid kvar: {}\n\n\
         Svara med t.ex. \"beslut: anmäl\" eller \"anmält DI-…\".\n{SIGNATURE}",
        local_long(tz, aware_at),
        local_long(tz, deadline),
        human_left(left),
    );
    if unacknowledged {
        (
            format!("EJ KVITTERAT – {subject}"),
            format!(
                "Ingen har kvitterat ärendet ännu; ersättaren får därför en kopia. \
                 Svara \"kvittera\" när ärendet är omhändertaget.\n\n{text}"
            ),
        )
    } else {
        (subject, text)
    }
}

/// Tells a colleague who sent news of a known case which case it joined
/// (its subject is [`acknowledgement_subject`]).
pub fn attached_acknowledgement_text(case_ref: &CaseRef, subject: &str) -> String {
    let subject = short_subject(subject);
    format!(
        "Tack. Meddelandet \"{subject}\" har kopplats till det pågående ärendet {case_ref}, \
         och handläggaren har fått veta det.\n{SIGNATURE}"
    )
}

/// The subject of the official's notice that new information arrived.
pub fn follow_up_subject(subject: &str) -> String {
    format!("Ny information: {}", short_subject(subject))
}

/// A message on a case that names another discovery time than the case's:
/// its own and the case's.
#[derive(Debug, Clone, Copy)]
pub struct OtherDiscovery {
    pub message: DateTime<Utc>,
    pub case: DateTime<Utc>,
    pub tz: Tz,
}

/// Tells the official that new information arrived on a case; a message
/// that names another discovery time may be a new incident, and says so.
pub fn follow_up_text(
    case_ref: &CaseRef,
    subject: &str,
    from: &str,
    other: Option<OtherDiscovery>,
) -> String {
    let subject = short_subject(subject);
    let from = short_subject(from);
    let other = other.map_or(String::new(), |o| {
        format!(
            "Obs: meddelandet anger en annan upptäcktstid ({}) än ärendets ({}). \
             Det kan vara en ny incident med en egen frist.\n\n",
            local_long_as_read(o.tz, o.message),
            local_long_as_read(o.tz, o.case)
        )
    });
    format!(
        "Ett nytt meddelande har kopplats till ärende {case_ref}.\n\nFrån: {from}\nÄmne: {subject}\n\n\
         Meddelandet finns i ärendets tidslinje (breachwatch cases show {case_ref}).\n\n{other}\
         Gäller meddelandet en annan incident? Svara på det här brevet med \"dela\" som första \
         rad, så blir meddelandet ett eget ärende med egen frist.\n{SIGNATURE}"
    )
}

// --- Answers to a reply (the case machine's own sentences are in
// `text::case` and `text::refusal`; these are the subjects and frames around
// them).

/// The subject of an answer to a command: "Utfört: …"/"Done: …" when it was
/// carried out, "Kunde inte utföras: …"/"Not done: …" when it was refused, in
/// the command's language (Swedish when unknown).
pub fn answer_subject(lang: Option<Lang>, done: bool, subject: &str) -> String {
    let word = match (lang, done) {
        (Some(Lang::En), true) => "Done",
        (Some(Lang::En), false) => "Not done",
        (_, true) => "Utfört",
        (_, false) => "Kunde inte utföras",
    };
    format!("{word}: {subject}")
}

/// An answer's text: the sentence and the signature.
pub fn answer_text(sentence: &str) -> String {
    format!("{sentence}\n{SIGNATURE}")
}

/// The subject of the notice to the rest of the roster.
pub fn roster_subject(sender: &str) -> String {
    format!("Ärendet har uppdaterats av {sender}")
}

/// The subject of the mail that brings the official a draft decision.
pub fn draft_subject(decision: Decision) -> String {
    format!("Utkast till beslut: {}", decision.sv())
}

/// The text of the mail that brings the official a draft decision.
pub fn draft_text(decision: Decision, assessment: Assessment) -> String {
    format!(
        "Beslut: {}\nBedömning: {}\n\nUtkastet till beslut bifogas. Granska, \
         komplettera och låt beslutet fattas enligt delegationsordningen.\n{SIGNATURE}",
        decision.sv(),
        assessment.sv()
    )
}

// --- To the DPO when the mail server refused one of our mails for good.

/// The subject of the DPO's notice of a mail the server refused for good.
pub const DELIVERY_FAILED_SUBJECT: &str = "Meddelande kunde inte levereras";

/// The text of that notice: which mail (`purpose`, Message-ID), to whom, and
/// the server's answer (one line, at most 500 characters).
pub fn delivery_failed_text(
    purpose: &str,
    message_id: &str,
    recipients: &str,
    error: &str,
) -> String {
    format!(
        "E-postservern vägrade för gott att ta emot ett meddelande från breachwatch, \
         så det har inte nått sina mottagare.\n\n\
         Meddelande: {purpose} (Message-ID <{message_id}>)\n\
         Mottagare: {recipients}\n\
         Serverns svar: {err}\n\n\
         Meddelandet skickas inte igen. Kontrollera mottagarens adress och \
         kontakta mottagaren på annat sätt; ärendets tidslinje visar vad som hände.\n{SIGNATURE}",
        err = one_line(error, 500),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An HTML notice's paragraphs come with two or three blank lines
    /// between them; the quote keeps one, and drops control characters.
    #[test]
    fn a_quoted_notice_keeps_one_blank_line_between_paragraphs() {
        let r = CaseRef::new("PUI", 2026, 5);
        assert_eq!(
            quoted(
                &r,
                "\n\nHej,\n\n\n\nVi har upptäckt\u{7} ett intrång.\n  \n\t\nMvh\n"
            ),
            "> Hej,\n>\n> Vi har upptäckt ett intrång.\n>\n> Mvh\n"
        );
    }
}
