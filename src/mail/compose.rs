//! Outgoing mail: the texts officials read (Swedish), and the formatted RFC 5322
//! bytes stored in the outbox. Every mail carries `Auto-Submitted:
//! auto-generated`, `[REF]` in the subject and a Message-ID fixed when the row is
//! written; nothing is ever addressed outside the internal domains.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::Message;

use crate::core::auth::Role;
use crate::core::bounded::{one_line, short_subject};
use crate::core::case::{Assessment, Decision};
use crate::core::clock;
use crate::core::commands::Lang;
use crate::core::documents::words;
use crate::core::event::EventKind;
use crate::core::routing::Route;
use crate::core::types::{mailable, CaseRef, PlainAddress};
use crate::store::{NewEvent, OutboxMail};

/// What every composed mail needs from the deployment.
#[derive(Debug, Clone)]
pub struct Sender {
    pub from_address: String,
    pub from_name: String,
    pub internal_domains: Vec<String>,
    pub tz: Tz,
}

impl Sender {
    /// Domain of our Message-IDs: `breachwatch.<domain of From>`; intake uses it
    /// to recognise our own mail.
    pub fn id_domain(&self) -> String {
        let domain = self
            .from_address
            .rsplit_once('@')
            .map(|(_, d)| d)
            .unwrap_or("localhost");
        format!("breachwatch.{domain}")
    }

    pub fn new_message_id(&self) -> String {
        format!("{}@{}", uuid::Uuid::new_v4(), self.id_domain())
    }
}

/// An attachment of a composed mail.
#[derive(Debug, Clone)]
pub struct Attachment {
    pub file_name: String,
    pub media_type: String,
    pub bytes: Vec<u8>,
}

/// A mail before formatting.
#[derive(Debug, Clone)]
pub struct Draft {
    pub dedupe_key: String,
    pub purpose: String,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub subject: String,
    pub text: String,
    /// Message-ID (without brackets) this mail answers, for threading.
    pub in_reply_to: Option<String>,
    pub attachments: Vec<Attachment>,
}

/// Why a mail could not be composed. The mail is then dropped and the reason
/// recorded on the case ([`dropped_event`]); it never fails the transaction of
/// the message or reminder that caused it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ComposeError {
    #[error("{purpose} mail: no plain internal recipient left ({refused} refused)")]
    NoRecipient { purpose: String, refused: usize },
    #[error("{purpose} mail: our own From address is not usable: {why}")]
    From { purpose: String, why: String },
    #[error("{purpose} mail could not be built: {why}")]
    Build { purpose: String, why: String },
}

impl ComposeError {
    fn purpose(&self) -> &str {
        match self {
            ComposeError::NoRecipient { purpose, .. }
            | ComposeError::From { purpose, .. }
            | ComposeError::Build { purpose, .. } => purpose,
        }
    }
}

/// The timeline record of a mail that was not sent because it could not be
/// composed.
pub fn dropped_event(e: &ComposeError) -> NewEvent {
    NewEvent {
        kind: EventKind::MailDropped,
        actor: "breachwatch".into(),
        data: serde_json::json!({ "purpose": e.purpose(), "reason": e.to_string() }),
    }
}

/// The recipients a draft may go to: plain addresses in the internal domains,
/// each once, normalised by the one parser ([`mailable`]); and how many were
/// refused.
fn recipients(domains: &[String], list: Vec<String>) -> (Vec<PlainAddress>, usize) {
    let mut out: Vec<PlainAddress> = Vec::new();
    let mut refused = 0;
    for a in list {
        match mailable(domains, &a) {
            Ok(a) if !out.contains(&a) => out.push(a),
            Ok(_) => {}
            Err(_) => refused += 1,
        }
    }
    (out, refused)
}

/// Formats a draft into an outbox row. Recipients that are not plain internal
/// addresses are dropped here, the last gate before the outbox; an error when
/// none is left.
pub fn format(sender: &Sender, case_ref: &CaseRef, d: Draft) -> Result<OutboxMail, ComposeError> {
    format_registered(sender, case_ref, None, d)
}

/// [`format`] for a case the registry has numbered: "Dnr KS 2026/0123" follows
/// the case tag in the subject, so officials find the mail by either number.
pub fn format_registered(
    sender: &Sender,
    case_ref: &CaseRef,
    diarienummer: Option<&str>,
    d: Draft,
) -> Result<OutboxMail, ComposeError> {
    let purpose = d.purpose.clone();
    let (to, refused_to) = recipients(&sender.internal_domains, d.to);
    let (cc, refused_cc) = recipients(&sender.internal_domains, d.cc);
    let cc: Vec<PlainAddress> = cc.into_iter().filter(|a| !to.contains(a)).collect();
    if to.is_empty() && cc.is_empty() {
        return Err(ComposeError::NoRecipient {
            purpose,
            refused: refused_to + refused_cc,
        });
    }
    let build = |why: String| ComposeError::Build {
        purpose: purpose.clone(),
        why,
    };
    let message_id = sender.new_message_id();
    let from = Mailbox::new(
        Some(sender.from_name.clone()),
        sender
            .from_address
            .parse()
            .map_err(|e: lettre::address::AddressError| ComposeError::From {
                purpose: purpose.clone(),
                why: e.to_string(),
            })?,
    );
    let tag = format!("[{case_ref}]");
    // Shortened before the tag is looked for, so a tag beyond the cut is added again.
    let short = short_subject(&d.subject);
    let subject = if short.contains(&tag) {
        short
    } else {
        format!("{tag} {short}")
    };
    let subject = match diarienummer.map(str::trim).filter(|d| !d.is_empty()) {
        Some(dnr) if !subject.contains(dnr) => {
            subject.replacen(&tag, &format!("{tag} Dnr {dnr}"), 1)
        }
        _ => subject,
    };
    let mut b = Message::builder()
        .from(from)
        .subject(subject.clone())
        .message_id(Some(format!("<{message_id}>")))
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("Auto-Submitted"),
            "auto-generated".into(),
        ))
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("X-Breachwatch-Case"),
            case_ref.to_string(),
        ));
    // A plain address always parses here too (a test holds the two parsers
    // together); should one not, it is dropped rather than failing the mail.
    let to: Vec<String> = to.into_iter().map(|a| a.to_string()).collect();
    let cc: Vec<String> = cc.into_iter().map(|a| a.to_string()).collect();
    let mut sent_to = Vec::new();
    for a in &to {
        if let Ok(m) = a.parse::<Mailbox>() {
            b = b.to(m);
            sent_to.push(a.clone());
        }
    }
    for a in &cc {
        if let Ok(m) = a.parse::<Mailbox>() {
            b = b.cc(m);
            sent_to.push(a.clone());
        }
    }
    if sent_to.is_empty() {
        return Err(ComposeError::NoRecipient {
            purpose: purpose.clone(),
            refused: to.len() + cc.len(),
        });
    }
    if let Some(parent) = &d.in_reply_to {
        b = b
            .in_reply_to(format!("<{parent}>"))
            .references(format!("<{parent}>"));
    }
    let text_part = SinglePart::builder()
        .header(ContentType::TEXT_PLAIN)
        .body(d.text);
    let msg = if d.attachments.is_empty() {
        b.singlepart(text_part)
    } else {
        let mut mp = MultiPart::mixed().singlepart(text_part);
        for a in d.attachments {
            let ct = ContentType::parse(&a.media_type)
                .map_err(|e| build(format!("bad media type {}: {e}", a.media_type)))?;
            // Base64 always: the other encodings normalise line endings, and a
            // document whose SHA-256 is on the timeline must arrive byte for byte.
            let body = lettre::message::Body::new_with_encoding(
                a.bytes,
                lettre::message::header::ContentTransferEncoding::Base64,
            )
            .map_err(|_| build(format!("cannot encode attachment {}", a.file_name)))?;
            mp = mp.singlepart(lettre::message::Attachment::new(a.file_name).body(body, ct));
        }
        b.multipart(mp)
    }
    .map_err(|e| build(e.to_string()))?;
    Ok(OutboxMail {
        dedupe_key: d.dedupe_key,
        message_id,
        purpose: d.purpose,
        envelope_from: sender.from_address.clone(),
        recipients: sent_to,
        subject,
        raw: msg.formatted(),
    })
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
    use chrono::Datelike;
    let l = t.with_timezone(&tz);
    let wd = WEEKDAYS_SV
        .get(l.weekday().num_days_from_monday() as usize)
        .copied()
        .unwrap_or("");
    format!(
        "{wd} {} {}",
        words::date_long(l.date_naive()),
        l.format("%H:%M")
    )
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
fn summary(s: &Sender, f: &CaseFacts<'_>) -> String {
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
        Some(t) => lines.push(format!("Upptäcktes: {}", local_long(s.tz, t))),
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
/// control characters other than line breaks and tabs are dropped, and a cut
/// says where the whole text is.
fn quoted(case_ref: &CaseRef, text: &str) -> String {
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
    for line in kept.lines() {
        let line = line.trim_end();
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

/// The attached drafts, named by what they are for.
fn attachment_lines(attachments: &[Attachment]) -> Vec<String> {
    let names = |pred: &dyn Fn(&str) -> bool| -> Vec<String> {
        attachments
            .iter()
            .map(|a| a.file_name.clone())
            .filter(|n| pred(n))
            .collect()
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
    /// What the notice states about the incident (the summary shows only
    /// what is known).
    pub incident: &'a crate::core::notice::Incident,
    /// The notice's own text (the innermost forwarded body), quoted bounded.
    pub notice_text: &'a str,
    /// When the forward reached the shared mailbox, for a forwarded notice:
    /// with `aware_at` it explains why the clock started earlier.
    pub forwarded_at: Option<DateTime<Utc>>,
}

/// The opening notice to the official, DPO (and coordinator) on the route,
/// with the documents that go with it (none when they could not be made; the
/// text then says how to get them).
pub fn opening_notice(
    s: &Sender,
    f: &CaseFacts<'_>,
    now: DateTime<Utc>,
    attachments: Vec<Attachment>,
) -> Draft {
    let subject = short_subject(f.subject);
    let reporter = short_subject(f.reporter);
    let deadline = clock::deadline(f.aware_at);
    let left = deadline - now;
    let urgent = clock::is_urgent(f.aware_at, now);
    let mut text = String::new();
    if urgent {
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
            local_long(s.tz, deadline)
        ));
    } else {
        text.push_str(&format!(
            "Kvittera ärendet, bedöm risken för de registrerade och besluta om anmälan till IMY \
             senast {}.\n",
            local_long(s.tz, deadline)
        ));
    }

    // What happened.
    text.push_str("\nVAD HAR HÄNT\n");
    text.push_str(&summary(s, f));
    if !f.notice_text.trim().is_empty() {
        text.push_str("Det ursprungliga meddelandet står längst ned i detta mejl.\n");
    }

    // The clock, and why it started before the forward.
    text.push_str(&format!(
        "\nFRIST\n\
         Kommunen fick kännedom: {}\n\
         Anmälan till IMY senast: {} (72 timmar efter kännedom)\n\
         Tid kvar: {}\n",
        local_long(s.tz, f.aware_at),
        local_long(s.tz, deadline),
        human_left(left),
    ));
    if let Some((at, _)) = forward_delay(f) {
        text.push_str(&format!(
            "Leverantörens meddelande kom till kommunen {}; det vidarebefordrades {}. \
             Fristen räknas från när kommunen först fick meddelandet.\n",
            local_short(s.tz, f.aware_at),
            local_short(s.tz, at),
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
            local_long(s.tz, t.time)
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

    text.push_str("\nBIFOGAT\n");
    let lines = attachment_lines(&attachments);
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
    // Copies to the DPO and the coordinator: the official is addressed, and
    // the deputy hears only of escalations.
    let cc = f
        .route
        .roster()
        .filter(|(role, _)| matches!(role, Role::Dpo | Role::Coordinator))
        .map(|(_, c)| c.address.clone())
        .collect();
    let subject = if urgent {
        format!("BRÅDSKANDE: Ny personuppgiftsincident: {subject}")
    } else {
        format!("Ny personuppgiftsincident: {subject}")
    };
    Draft {
        dedupe_key: format!("{}/opening", f.case_ref),
        purpose: "opening".into(),
        to: vec![f.route.official.address.clone()],
        cc,
        subject,
        text,
        in_reply_to: None,
        attachments,
    }
}

/// The acknowledgement to the person who forwarded the notice (or the DPO when a
/// supplier wrote directly).
pub fn acknowledgement(s: &Sender, f: &CaseFacts<'_>, to: &str, direct: bool) -> Draft {
    let subject = short_subject(f.subject);
    let mut text = format!(
        "Tack. Meddelandet \"{}\" har registrerats som ärende {}.\n\n\
         Kommunen räknas ha fått kännedom {}; anmälan till IMY ska då göras senast {}.\n\
         Ärendet har gått till {} ({}).\n",
        subject,
        f.case_ref,
        local_long(s.tz, f.aware_at),
        local_long(s.tz, clock::deadline(f.aware_at)),
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
                    local_short(s.tz, f.aware_at),
                    local_short(s.tz, at),
                ));
            }
        }
        text.push_str(
            "\nDu behöver inte göra något mer. Handläggaren hör av sig om något behövs från dig.\n",
        );
    }
    text.push_str("\n-- \nbreachwatch\n");
    Draft {
        dedupe_key: format!("{}/ack", f.case_ref),
        purpose: "acknowledgement".into(),
        to: vec![to.to_string()],
        cc: vec![],
        subject: format!("Mottaget: {subject}"),
        text,
        in_reply_to: if direct {
            None
        } else {
            f.notice_message_id.map(str::to_string)
        },
        attachments: Vec::new(),
    }
}

/// A reminder of the plan; overdue ones go to the deputy too.
pub fn reminder(
    s: &Sender,
    case_ref: &CaseRef,
    route: &Route,
    aware_at: DateTime<Utc>,
    r: &clock::Reminder,
    unacknowledged: bool,
    now: DateTime<Utc>,
) -> Draft {
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
         Svara med t.ex. \"beslut: anmäl\" eller \"anmält DI-…\".\n\n-- \nbreachwatch\n",
        local_long(s.tz, aware_at),
        local_long(s.tz, deadline),
        human_left(left),
    );
    let mut cc = vec![route.dpo.address.clone()];
    if r.overdue || unacknowledged {
        cc.push(route.deputy.address.clone());
    }
    let (subject, text) = if unacknowledged {
        (
            format!("EJ KVITTERAT – {subject}"),
            format!(
                "Ingen har kvitterat ärendet ännu; ersättaren får därför en kopia. \
                 Svara \"kvittera\" när ärendet är omhändertaget.\n\n{text}"
            ),
        )
    } else {
        (subject, text)
    };
    Draft {
        dedupe_key: format!("{case_ref}/reminder/{}", r.seq),
        purpose: if r.overdue { "overdue" } else { "reminder" }.into(),
        to: vec![route.official.address.clone()],
        cc,
        subject,
        text,
        in_reply_to: None,
        attachments: Vec::new(),
    }
}

/// Tells a colleague who sent news of a known case which case it joined.
pub fn attached_acknowledgement(
    case_ref: &CaseRef,
    subject: &str,
    to: &str,
    message_id: Option<&str>,
    message_key: &str,
) -> Draft {
    let subject = short_subject(subject);
    Draft {
        dedupe_key: format!("{case_ref}/attached-ack/{message_key}"),
        purpose: "acknowledgement".into(),
        to: vec![to.to_string()],
        cc: vec![],
        subject: format!("Mottaget: {subject}"),
        text: format!(
            "Tack. Meddelandet \"{subject}\" har kopplats till det pågående ärendet {case_ref}, \
             och handläggaren har fått veta det.\n\n-- \nbreachwatch\n"
        ),
        in_reply_to: message_id.map(str::to_string),
        attachments: Vec::new(),
    }
}

/// Tells the official that new information arrived on a case.
pub fn follow_up_notice(
    case_ref: &CaseRef,
    route: &Route,
    subject: &str,
    from: &str,
    message_key: &str,
) -> Draft {
    let subject = short_subject(subject);
    let from = short_subject(from);
    Draft {
        dedupe_key: format!("{case_ref}/follow-up/{message_key}"),
        purpose: "follow_up".into(),
        to: vec![route.official.address.clone()],
        cc: vec![],
        subject: format!("Ny information: {subject}"),
        text: format!(
            "Ett nytt meddelande har kopplats till ärende {case_ref}.\n\nFrån: {from}\nÄmne: {subject}\n\n\
             Meddelandet finns i ärendets tidslinje (breachwatch cases show {case_ref}).\n\n-- \nbreachwatch\n"
        ),
        in_reply_to: None,
        attachments: Vec::new(),
    }
}

// --- Answers to a reply (the case machine's own sentences are in
// `core::case::text`; these are the subjects and frames around them).

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
    format!("{sentence}\n\n-- \nbreachwatch\n")
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
         komplettera och låt beslutet fattas enligt delegationsordningen.\n\n-- \nbreachwatch\n",
        decision.sv(),
        assessment.sv()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::routing::{Committee, Contact};

    fn sender() -> Sender {
        Sender {
            from_address: "breach@example.test".into(),
            from_name: "breachwatch".into(),
            internal_domains: vec!["example.test".into()],
            tz: chrono_tz::Europe::Stockholm,
        }
    }

    fn route() -> Route {
        let c = |n: &str| Contact {
            name: n.into(),
            address: format!("{n}@example.test"),
            title: None,
        };
        Route {
            committee: Committee {
                name: "Kommunstyrelsen".into(),
                diarie_prefix: "KS".into(),
                delegation_point: "1.5".into(),
                delegation_point_art34: None,
            },
            official: c("official"),
            deputy: c("deputy"),
            dpo: c("dpo"),
            coordinator: None,
        }
    }

    #[test]
    fn external_recipients_never_reach_the_outbox() {
        let r = CaseRef::new("PUI", 2026, 1);
        let d = Draft {
            dedupe_key: "k".into(),
            purpose: "ack".into(),
            to: vec!["supplier@provdata.example".into()],
            cc: vec!["dpo@example.test".into()],
            subject: "x".into(),
            text: "y".into(),
            in_reply_to: None,
            attachments: vec![],
        };
        let m = format(&sender(), &r, d.clone()).unwrap();
        assert_eq!(m.recipients, vec!["dpo@example.test".to_string()]);
        let raw = String::from_utf8_lossy(&m.raw);
        assert!(!raw.contains("provdata.example"));
        assert!(raw.contains("Auto-Submitted: auto-generated"));
        assert!(raw.contains(&format!("Message-ID: <{}>", m.message_id)));
        assert!(m.subject.starts_with("[PUI-2026-0001] "));
        let only_external = Draft { cc: vec![], ..d };
        assert!(format(&sender(), &r, only_external).is_err());
    }

    #[test]
    fn only_plain_internal_addresses_are_mailed() {
        let r = CaseRef::new("PUI", 2026, 1);
        let draft = |to: &str| Draft {
            dedupe_key: "k".into(),
            purpose: "acknowledgement".into(),
            to: vec![to.into()],
            cc: vec![],
            subject: "x".into(),
            text: "y".into(),
            in_reply_to: None,
            attachments: vec![],
        };
        // The review's addresses: lettre refuses the first three, a relay
        // forwards the next two outside. None is mailed; none is an error
        // that could fail a transaction (the caller records the drop).
        for bad in [
            format!("{}@example.test", "x".repeat(65)),
            "\"x@evil\"@example.test".to_string(),
            "a@b@example.test".to_string(),
            "victim%external.example@example.test".to_string(),
            "external.example!victim@example.test".to_string(),
            "@relay.example.test:victim@example.test".to_string(),
        ] {
            match format(&sender(), &r, draft(&bad)) {
                Err(e @ ComposeError::NoRecipient { refused: 1, .. }) => {
                    let ev = dropped_event(&e);
                    assert_eq!(ev.kind, "mail_dropped");
                    assert_eq!(ev.data["purpose"], "acknowledgement");
                }
                other => panic!("{bad}: {other:?}"),
            }
        }
        let ok = format(&sender(), &r, draft("Staff@Example.Test")).unwrap();
        assert_eq!(ok.recipients, vec!["staff@example.test".to_string()]);
    }

    #[test]
    fn urgent_opening_notice_says_so_and_overdue_reminder_adds_deputy() {
        let r = CaseRef::new("PUI", 2026, 2);
        let aware: DateTime<Utc> = "2026-03-27T09:00:00Z".parse().unwrap();
        let now = aware + chrono::Duration::hours(71);
        let f = CaseFacts {
            case_ref: &r,
            subject: "Dataintrång",
            reporter: "Provdata",
            aware_at: aware,
            route: &route(),
            rule: None,
            systems: &[],
            ignored_chain_times: &[],
            notice_message_id: None,
            may_belong_to: None,
            incident: &Default::default(),
            notice_text: "",
            forwarded_at: None,
        };
        let d = opening_notice(&sender(), &f, now, vec![]);
        assert!(d.subject.starts_with("BRÅDSKANDE"));
        assert!(d.text.contains("måndag 30 mars 2026 11:00"), "{}", d.text);
        let rem = clock::next_after(aware, &clock::ReminderPlan::default(), now).unwrap();
        let d = reminder(&sender(), &r, &route(), aware, &rem, false, rem.due_at);
        assert!(d.cc.contains(&"deputy@example.test".to_string()));
        assert!(d.subject.starts_with("FÖRSENAD"));
        let early = clock::next_after(aware, &clock::ReminderPlan::default(), aware).unwrap();
        let d = reminder(&sender(), &r, &route(), aware, &early, false, early.due_at);
        assert!(!d.cc.contains(&"deputy@example.test".to_string()));
        let d = reminder(&sender(), &r, &route(), aware, &early, true, early.due_at);
        assert!(d.cc.contains(&"deputy@example.test".to_string()));
        assert!(d.subject.starts_with("EJ KVITTERAT"));
        // The reminder writes times as every other mail does, not "2026-… (CEST)".
        assert!(
            d.text.contains("Kännedom: fredag 27 mars 2026 10:00\n"),
            "{}",
            d.text
        );
        assert!(!d.text.contains("(CET)") && !d.text.contains("(CEST)"));
    }

    /// Every header and body line of a formatted mail, at most 998 octets.
    fn assert_lines_fit(raw: &[u8]) {
        for line in raw.split(|b| *b == b'\n') {
            assert!(
                line.len() <= 998,
                "a line of {} octets: {}…",
                line.len(),
                String::from_utf8_lossy(&line[..80.min(line.len())])
            );
        }
    }

    #[test]
    fn a_huge_supplier_subject_is_shortened_in_headers_and_bodies() {
        let r = CaseRef::new("PUI", 2026, 3);
        let aware: DateTime<Utc> = "2026-03-27T09:00:00Z".parse().unwrap();
        // One 200 KB word (nothing to fold at) and a long Swedish one.
        for huge in [
            "A".repeat(200_000),
            "Dataintrång hos leverantören ".repeat(7_000),
        ] {
            let f = CaseFacts {
                case_ref: &r,
                subject: &huge,
                reporter: &huge,
                aware_at: aware,
                route: &route(),
                rule: None,
                systems: &[],
                notice_message_id: Some("n@x"),
                ignored_chain_times: &[],
                may_belong_to: None,
                incident: &Default::default(),
                notice_text: &huge,
                forwarded_at: Some(aware + chrono::Duration::hours(30)),
            };
            let drafts = [
                opening_notice(&sender(), &f, aware, vec![]),
                acknowledgement(&sender(), &f, "staff@example.test", true),
                attached_acknowledgement(&r, &huge, "staff@example.test", None, "k"),
                follow_up_notice(&r, &route(), &huge, &huge, "k"),
            ];
            for d in drafts {
                // The opening notice quotes at most MAX_QUOTED_CHARS of the
                // notice (up to 4 bytes each); the others quote nothing.
                let bound = if d.purpose == "opening" {
                    4 * MAX_QUOTED_CHARS + 4_000
                } else {
                    2_000
                };
                assert!(
                    d.text.len() < bound,
                    "{} body of {}",
                    d.purpose,
                    d.text.len()
                );
                let m = format(&sender(), &r, d).unwrap();
                assert!(m.subject.chars().count() < 300, "{}", m.subject);
                assert!(m.subject.starts_with("[PUI-2026-0003] "));
                assert!(m.subject.ends_with('…'));
                assert!(m.raw.len() < 2 * bound, "{} octets", m.raw.len());
                assert_lines_fit(&m.raw);
                // The subject still reads back (folded and encoded properly).
                let back = mail_parser::MessageParser::default().parse(&m.raw).unwrap();
                assert_eq!(back.subject(), Some(m.subject.as_str()));
            }
        }
    }

    #[test]
    fn a_case_tag_beyond_the_cut_is_added_again() {
        let r = CaseRef::new("PUI", 2026, 4);
        let d = Draft {
            dedupe_key: "k".into(),
            purpose: "answer".into(),
            to: vec!["official@example.test".into()],
            cc: vec![],
            subject: format!("Utfört: SV: {} [PUI-2026-0004]", "x ".repeat(500)),
            text: "y".into(),
            in_reply_to: None,
            attachments: vec![],
        };
        let m = format(&sender(), &r, d).unwrap();
        assert!(
            m.subject.starts_with("[PUI-2026-0004] Utfört: SV: x x"),
            "{}",
            m.subject
        );
        assert_lines_fit(&m.raw);
    }

    #[test]
    fn a_registered_case_has_its_diarienummer_after_the_tag() {
        let r = CaseRef::new("PUI", 2026, 4);
        let d = |subject: &str| Draft {
            dedupe_key: "k".into(),
            purpose: "answer".into(),
            to: vec!["official@example.test".into()],
            cc: vec![],
            subject: subject.into(),
            text: "y".into(),
            in_reply_to: None,
            attachments: vec![],
        };
        let m = format_registered(&sender(), &r, Some("KS 2026/0123"), d("Påminnelse")).unwrap();
        assert_eq!(m.subject, "[PUI-2026-0004] Dnr KS 2026/0123 Påminnelse");
        // A reply's subject already holds the tag: the number goes beside it, once.
        let m = format_registered(
            &sender(),
            &r,
            Some("KS 2026/0123"),
            d("Utfört: Re: [PUI-2026-0004] Intrång"),
        )
        .unwrap();
        assert_eq!(
            m.subject,
            "Utfört: Re: [PUI-2026-0004] Dnr KS 2026/0123 Intrång"
        );
        let m = format_registered(
            &sender(),
            &r,
            Some("KS 2026/0123"),
            d("Re: [PUI-2026-0004] Dnr KS 2026/0123 Intrång"),
        )
        .unwrap();
        assert_eq!(m.subject, "Re: [PUI-2026-0004] Dnr KS 2026/0123 Intrång");
        // Not registered: as before.
        let m = format_registered(&sender(), &r, None, d("Påminnelse")).unwrap();
        assert_eq!(m.subject, "[PUI-2026-0004] Påminnelse");
    }

    /// Notice 01 of the corpus (a supplier's Friday-evening notice forwarded
    /// on Monday morning), read by the one reader.
    fn notice_01() -> crate::core::notice::Notice {
        let raw = include_bytes!("../../tests/fixtures/notices/01-labportal-intrang-vb-helg.eml");
        crate::core::notice::read(raw, &crate::core::notice::ReadOptions::default()).unwrap()
    }

    fn facts_of<'a>(
        r: &'a CaseRef,
        route: &'a Route,
        n: &'a crate::core::notice::Notice,
    ) -> CaseFacts<'a> {
        CaseFacts {
            case_ref: r,
            subject: n.threading.subject.as_deref().unwrap_or(""),
            reporter: "Provdata Sverige AB <noreply@provdata.example>",
            aware_at: n.aware_at.unwrap(),
            route,
            rule: None,
            systems: &n.incident.systems,
            notice_message_id: None,
            ignored_chain_times: &n.ignored_chain_times,
            may_belong_to: None,
            incident: &n.incident,
            notice_text: &n.body_text,
            forwarded_at: if n.forwarded { n.received_at } else { None },
        }
    }

    fn drafts() -> Vec<Attachment> {
        [
            "Beslut-anmalan-PUI-2021-0001.docx",
            "Beslut-anmalan-PUI-2021-0001.txt",
            "IMY-anmalan-PUI-2021-0001.txt",
            "IMY-anmalan-PUI-2021-0001.html",
            "Tidsfrist-PUI-2021-0001.ics",
        ]
        .into_iter()
        .map(|n| Attachment {
            file_name: n.into(),
            media_type: "text/plain".into(),
            bytes: vec![],
        })
        .collect()
    }

    #[test]
    fn a_late_forward_says_what_happened_why_the_clock_is_earlier_and_what_to_do() {
        let n = notice_01();
        let r = CaseRef::new("PUI", 2021, 1);
        let route = route();
        let f = facts_of(&r, &route, &n);
        let now = n.received_at.unwrap() + chrono::Duration::minutes(1);
        let d = opening_notice(&sender(), &f, now, drafts());
        let t = &d.text;
        println!("{t}");
        // 1. What happened: the facts the reader found, each once, no guess.
        for line in [
            "System: ProvWeb och eRemiss\n",
            "Personuppgifter: namn, personnummer och hälso- och sjukvårdsuppgifter\n",
            "Pågår: nej, enligt meddelandet är incidenten avslutad\n",
            "Upptäcktes: torsdag 17 juni 2021 14:07\n",
            "Orsak: antagonistiskt angrepp\n",
            "Meddelandet anger inte hur många registrerade som berörs.\n",
            "Det ursprungliga meddelandet står längst ned i detta mejl.\n",
            "> Provdata Sverige AB har drabbats av ett dataintrång",
            "> Med vänliga hälsningar\n",
        ] {
            assert!(t.contains(line), "missing {line:?} in\n{t}");
        }
        assert!(!t.contains("Antal berörda"), "no count was given: {t}");
        // 2. Why the awareness time is earlier than the forward.
        assert!(
            t.contains(
                "Leverantörens meddelande kom till kommunen fredag 18 juni 20:05; \
                 det vidarebefordrades måndag 21 juni 07:09."
            ),
            "{t}"
        );
        assert!(t.contains("Kommunen fick kännedom: fredag 18 juni 2021 20:05\n"));
        assert!(t.contains("Anmälan till IMY senast: måndag 21 juni 2021 20:05"));
        // 3. 12 h 55 min left: not urgent, the next step and the deadline.
        assert!(!d.subject.starts_with("BRÅDSKANDE"));
        assert!(t.contains(
            "Kvittera ärendet, bedöm risken för de registrerade och besluta om anmälan \
             till IMY senast måndag 21 juni 2021 20:05."
        ));
        for cmd in [
            "\nkvittera ",
            "\nbedömning: risk ",
            "\nbeslut: anmäl ",
            "\nanmält DI-2026-1234 ",
            "\ndiarienummer: KS 2026/0123 ",
        ] {
            assert!(t.contains(cmd), "command {cmd:?} in\n{t}");
        }
        assert!(t.contains(
            "- Beslut-anmalan-PUI-2021-0001.docx och Beslut-anmalan-PUI-2021-0001.txt: \
             utkast till beslut om anmälan"
        ));
        assert!(t.contains("- IMY-anmalan-PUI-2021-0001.txt och IMY-anmalan-PUI-2021-0001.html: utkast till svaren i IMY:s anmälningsformulär"));
        assert!(t.contains("- Tidsfrist-PUI-2021-0001.ics: fristen som kalenderhändelse"));
        assert_eq!(d.attachments.len(), 5);
        // The staff member's own note is not the supplier's text.
        assert!(!t.contains("Säg till om ni behöver"), "{t}");

        // 4. The forwarder hears, kindly, how much of the 72 hours had gone.
        let ack = acknowledgement(&sender(), &f, "jonas@example.test", false);
        println!("{}", ack.text);
        assert!(
            ack.text.contains(
                "Leverantörens meddelande kom till kommunen fredag 18 juni 20:05 och \
             vidarebefordrades hit måndag 21 juni 07:09; då hade 59 timmar av de 72 \
             timmarna redan gått."
            ),
            "{}",
            ack.text
        );
        assert!(ack.text.contains(
            "Du behöver inte göra något mer. Handläggaren hör av sig om något behövs från dig."
        ));
    }

    #[test]
    fn an_urgent_case_says_report_now_with_the_draft() {
        let n = notice_01();
        let r = CaseRef::new("PUI", 2021, 1);
        let route = route();
        let f = facts_of(&r, &route, &n);
        let now = f.aware_at + chrono::Duration::hours(66);
        let d = opening_notice(&sender(), &f, now, drafts());
        assert!(d.subject.starts_with("BRÅDSKANDE"));
        assert!(
            d.text.starts_with("BRÅDSKANDE: 6 h 0 min kvar"),
            "{}",
            d.text
        );
        assert!(
            d.text.contains(
                "Anmäl till IMY nu med det bifogade utkastet via IMY:s e-tjänst, senast måndag \
             21 juni 2021 20:05; det som ännu inte är känt kan kompletteras senare."
            ),
            "{}",
            d.text
        );
        assert!(!d.text.contains("Kvittera ärendet, bedöm"));
        // Past the deadline: report now, with the reasons for the delay.
        let late = opening_notice(
            &sender(),
            &f,
            f.aware_at + chrono::Duration::hours(80),
            drafts(),
        );
        assert!(
            late.text.contains(
                "Fristen har redan passerats. Anmäl till IMY nu med det bifogade utkastet"
            ),
            "{}",
            late.text
        );
        // Without the drafts (rendering failed) nothing claims an attachment.
        let bare = opening_notice(&sender(), &f, now, vec![]);
        assert!(bare.text.contains("Anmäl till IMY nu via IMY:s e-tjänst"));
        assert!(!bare.text.contains("bifogade"), "{}", bare.text);
        assert!(bare.text.contains("breachwatch cases draft PUI-2021-0001"));
    }

    #[test]
    fn a_fresh_direct_notice_has_no_forward_story_and_the_count_as_given() {
        let r = CaseRef::new("PUI", 2026, 5);
        let route = route();
        let aware: DateTime<Utc> = "2026-03-27T09:00:00Z".parse().unwrap();
        let systems = vec!["Procapita".to_string()];
        let incident = crate::core::notice::Incident {
            systems: systems.clone(),
            data_categories: vec!["contact_details".into()],
            data_subjects: Some(crate::core::notice::Range {
                min: Some(640),
                max: Some(640),
            }),
            ongoing: Some(true),
            ..Default::default()
        };
        let f = CaseFacts {
            case_ref: &r,
            subject: "Incident",
            reporter: "Leverantör AB",
            aware_at: aware,
            route: &route,
            rule: Some("vård"),
            systems: &systems,
            notice_message_id: None,
            ignored_chain_times: &[],
            may_belong_to: None,
            incident: &incident,
            notice_text: "Vi har haft en incident.",
            // A forward within minutes is transport, not a story to tell.
            forwarded_at: Some(aware + chrono::Duration::minutes(5)),
        };
        let d = opening_notice(
            &sender(),
            &f,
            aware + chrono::Duration::minutes(6),
            drafts(),
        );
        let t = &d.text;
        assert!(t.contains("Antal berörda registrerade: cirka 640\n"), "{t}");
        assert!(t.contains("Pågår: ja, enligt meddelandet pågår incidenten\n"));
        assert!(
            t.contains("Meddelandet anger inte när incidenten upptäcktes.\n"),
            "{t}"
        );
        assert!(!t.contains("vidarebefordrades"), "{t}");
        assert!(t.contains("Kvittera ärendet"));
        assert!(t.contains("> Vi har haft en incident.\n"));
        let ack = acknowledgement(&sender(), &f, "staff@example.test", false);
        assert!(!ack.text.contains("timmarna redan gått"), "{}", ack.text);
        assert!(ack.text.contains("Du behöver inte göra något mer."));
        // An interval stays an interval.
        let interval = crate::core::notice::Incident {
            data_subjects: Some(crate::core::notice::Range {
                min: Some(1000),
                max: Some(5000),
            }),
            ..incident.clone()
        };
        let f = CaseFacts {
            incident: &interval,
            ..f
        };
        let d = opening_notice(&sender(), &f, aware, drafts());
        assert!(
            d.text
                .contains("Antal berörda registrerade: mellan 1 000 och 5 000\n"),
            "{}",
            d.text
        );
    }

    #[test]
    fn unknown_facts_are_not_invented_and_no_label_is_empty() {
        let r = CaseRef::new("PUI", 2026, 6);
        let route = route();
        let aware: DateTime<Utc> = "2026-03-27T09:00:00Z".parse().unwrap();
        let f = CaseFacts {
            case_ref: &r,
            subject: "Något har hänt",
            reporter: "Okänd",
            aware_at: aware,
            route: &route,
            rule: None,
            systems: &[],
            notice_message_id: None,
            ignored_chain_times: &[],
            may_belong_to: None,
            incident: &Default::default(),
            notice_text: "   \n",
            forwarded_at: None,
        };
        let d = opening_notice(&sender(), &f, aware, drafts());
        let t = &d.text;
        for absent in [
            "System:",
            "Personuppgifter:",
            "Antal berörda",
            "Pågår:",
            "Upptäcktes:",
            "Orsak:",
            "längst ned",
            "URSPRUNGLIGA",
            "> ",
        ] {
            assert!(!t.contains(absent), "{absent:?} in\n{t}");
        }
        assert!(t.contains(
            "Meddelandet anger inte vilka system, vilka personuppgifter, hur många registrerade \
             som berörs, om incidenten pågår och när incidenten upptäcktes.\n"
        ), "{t}");
        // No label line ends without a value.
        for line in t.lines() {
            assert!(
                !line.trim_end().ends_with(':')
                    || line == "Svara på detta meddelande; första raden är kommandot:",
                "empty label {line:?}"
            );
        }
    }

    #[test]
    fn the_quoted_notice_is_bounded() {
        let r = CaseRef::new("PUI", 2026, 7);
        let long = "åäö rad\n".repeat(2_000);
        let q = quoted(&r, &long);
        let kept: usize = q
            .lines()
            .filter(|l| l.starts_with("> "))
            .map(|l| l.chars().count() - 2 + 1)
            .sum();
        assert!(kept <= MAX_QUOTED_CHARS, "{kept}");
        assert!(
            q.ends_with("breachwatch cases show PUI-2026-0007]\n"),
            "{q}"
        );
        let short = quoted(&r, "a\u{1b}[31mb\n\nc");
        assert_eq!(short, "> a[31mb\n>\n> c\n");
    }

    #[test]
    fn time_left_reads_naturally() {
        assert_eq!(
            human_left(chrono::Duration::minutes(53 * 60 + 5)),
            "2 d 5 h"
        );
        assert_eq!(human_left(chrono::Duration::minutes(65)), "1 h 5 min");
        assert_eq!(
            human_left(chrono::Duration::minutes(-180)),
            "försenad 3 h 0 min"
        );
    }
}
