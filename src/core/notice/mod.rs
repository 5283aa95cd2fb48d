//! Reading a notice: one raw RFC 5322 message in, a [`Notice`] out (kind, forward
//! chain, awareness time, facts with evidence). This is THE function both
//! `breachwatch inspect` and the daemon's ingest call; there is no second reader.
//!
//! Total: odd mail is data, not an error. Only input that is not a message at all
//! gives [`ReadError`].
//!
//! The patterns' letters are Latin-script letters (`\p{Latin}`, and
//! `[\p{Lu}&&\p{Latin}]` for capitals), not every Unicode letter (`\p{L}`):
//! Swedish, Nordic and other European names, suppliers and systems are
//! written in it, and a pattern over every script compiles to a larger
//! automaton and search cache (the reader keeps 27.0 MB instead of 33.8 MB
//! after the corpus, `cargo bench --bench reader_memory`, same digest). A
//! word in another script (Greek, Cyrillic, Arabic, CJK…) is still stored
//! and shown, but is not read as a name, system or organisation.
//!
//! A phrase that counts characters or words (`.{0,60}`, `(?:\S+\s+){0,3}`)
//! is a pattern of its own, or a check by hand, not one alternative of a long
//! alternation: in one automaton with the others its counter multiplies
//! their states, and every sentence searched grows the cache (session 26:
//! five such splits saved 3.7 MB of the reader's 28.1, same digest).

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::Serialize;

mod classify;
pub mod details;
mod document;
mod facts;
mod forward;
mod label;
mod mime;
mod org;
pub mod present;
pub mod report;
mod text;

#[cfg(test)]
mod golden;
#[cfg(test)]
mod proptests;

pub use document::{
    PdfReader, MAX_FILE_BYTES as MAX_DOCUMENT_BYTES, MAX_TEXT_CHARS as MAX_DOCUMENT_CHARS,
};
pub use org::{is_legal_form, is_region_word};
pub use text::prefix as text_prefix;

use mail_parser::MimeHeaders;

use crate::core::bounded;

/// What the reader needs besides the bytes.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// Zone for times written in running text without a zone ("kl. 14:07").
    pub tz: Tz,
    /// When our mailbox received the message, if the transport knows it (IMAP
    /// INTERNALDATE). Overrides the outer `Date` header as `received_at` when given.
    pub delivered_at: Option<DateTime<Utc>>,
    /// Prefix of case references ("PUI" gives `PUI-2026-0007`).
    pub case_ref_prefix: String,
    /// Known suppliers (organisation name and mail domains) that help name the reporter.
    pub suppliers: Vec<SupplierHint>,
    /// A forward-chain time more than this long before the delivery is not
    /// used for the clock (a forged or broken date must not start it).
    pub max_forward_age: chrono::Duration,
    /// Reads an attached PDF's text (the shell's child process,
    /// `crate::pdf`); without one a PDF is named, not read.
    pub pdf: Option<PdfReader>,
}

/// The default of [`ReadOptions::max_forward_age`], in days.
pub const DEFAULT_MAX_FORWARD_AGE_DAYS: i64 = 30;

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            tz: chrono_tz::Europe::Stockholm,
            delivered_at: None,
            case_ref_prefix: "PUI".into(),
            suppliers: Vec::new(),
            max_forward_age: chrono::Duration::days(DEFAULT_MAX_FORWARD_AGE_DAYS),
            pdf: None,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct SupplierHint {
    pub organisation: String,
    pub domains: Vec<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReadError {
    #[error("not an email message: {0}")]
    NotAMessage(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    BreachNotice,
    FollowUp,
    AutoReply,
    Other,
}

impl Kind {
    /// A breach notice or a follow-up: a message about an incident, the only
    /// kinds that carry incident facts and a notice identity.
    pub fn is_incident(self) -> bool {
        matches!(self, Kind::BreachNotice | Kind::FollowUp)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Language {
    Sv,
    En,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Cause {
    Attack,
    HumanError,
    TechnicalFault,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Person {
    pub name: Option<String>,
    pub address: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Reporter {
    pub name: Option<String>,
    pub address: Option<String>,
    pub organisation: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Range {
    pub min: Option<u64>,
    pub max: Option<u64>,
}

/// A time in the forward chain that does not set the clock, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct IgnoredTime {
    pub time: DateTime<Utc>,
    pub why: IgnoredWhy,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IgnoredWhy {
    /// More than `max_forward_age` before the delivery.
    TooOld,
    /// After the delivery (more than an hour of clock skew).
    AfterDelivery,
    /// Outside the years any mail can have (before 1970 or after 2200).
    Implausible,
}

/// Years a date in mail can plausibly have; anything else is a forgery or a
/// typo and sets nothing.
fn plausible(t: DateTime<Utc>) -> bool {
    use chrono::Datelike;
    (1970..=2200).contains(&t.year())
}

/// A fact and the sentence it was read from, shown to officials by `--explain`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Evidence {
    pub field: String,
    pub text: String,
}

/// The facts of the incident itself, as the notice states them.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Incident {
    pub discovered_at: Option<DateTime<Utc>>,
    pub occurred_from: Option<DateTime<Utc>>,
    pub occurred_to: Option<DateTime<Utc>>,
    pub ongoing: Option<bool>,
    pub systems: Vec<String>,
    pub data_categories: Vec<String>,
    pub data_subjects: Option<Range>,
    pub cause: Option<Cause>,
}

/// Thread links and flags the daemon needs to attach a message and to decide
/// whether it may ever answer it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Threading {
    pub subject: Option<String>,
    /// In-Reply-To and References ids, without angle brackets.
    pub parent_ids: Vec<String>,
    /// `Auto-Submitted` other than `no`, or `Precedence: bulk|junk|list`, or a report.
    pub never_answer: bool,
}

/// Everything read from one message. Times are UTC; rendering in a zone is the
/// presenter's job.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Notice {
    /// Message-ID as written, with angle brackets, or None.
    pub message_id: Option<String>,
    /// Message-ID of the notice itself, without angle brackets: the message's
    /// own when it is not a forward, the innermost attached message's when it
    /// is forwarded as an attachment, None for an inline forward (its header
    /// block carries none). Two forwards of one notice share it.
    pub notice_message_id: Option<String>,
    pub kind: Kind,
    pub language: Option<Language>,
    pub forwarded: bool,
    pub received_at: Option<DateTime<Utc>>,
    /// Earliest receipt in the forward chain, else `received_at`.
    pub aware_at: Option<DateTime<Utc>>,
    /// Forward-chain times not used for the clock: too long before the
    /// delivery or after it. The official is told.
    pub ignored_chain_times: Vec<IgnoredTime>,
    pub sender: Person,
    pub reporter: Reporter,
    pub case_ref: Option<String>,
    pub incident: Incident,
    /// Draft facts beyond the contract (groups, area, measures, the cause in
    /// the supplier's words, its reference), for the documents.
    pub details: details::Details,
    pub threading: Threading,
    pub evidence: Vec<Evidence>,
    /// Plain text of the notice (the innermost forwarded body when forwarded),
    /// for the case timeline. Never logged.
    pub body_text: String,
    /// Hash of `body_text` normalised (`core::series::text_hash`), for an
    /// incident message only (None for other mail): computed once here, on
    /// the reader's thread, and read by `core::series::identity` wherever the
    /// shell looks a notice up.
    #[serde(skip)]
    pub notice_text_hash: Option<String>,
    /// The message's own first text part (a reply's words above any quote),
    /// at most [`MAX_REPLY_TEXT`] bytes: what a reply command is read from.
    #[serde(skip)]
    pub reply_text: String,
    /// The From fields and trace headers that authentication reads (bounded).
    #[serde(skip)]
    pub origin: crate::core::auth::Origin,
    /// The names of the documents attached to an incident message (PDF,
    /// Word, …; at most [`MAX_DOCUMENT_NAMES`]; none for other mail): the
    /// official is told a notice's report is a file, and whether the reader
    /// read it (`document_read`).
    #[serde(skip)]
    pub documents: Vec<String>,
    /// The attached Word, OpenDocument or PDF file whose text the facts were
    /// also read from (its name; empty when it has none), for an incident
    /// message: the official is told the facts come from it too.
    #[serde(skip)]
    pub document_read: Option<String>,
    /// An incident message that says it reports a new incident ("en ny
    /// personuppgiftsincident", "another breach"), in its own words: a
    /// supplier's reply in an old case's thread can be one
    /// (`core::series::another_incident`).
    #[serde(skip)]
    pub says_new_incident: bool,
}

/// How many attached documents a notice names.
pub const MAX_DOCUMENT_NAMES: usize = 10;

/// The address as the From header wrote it (inside the last `<…>`, else the
/// whole value), on one line; `None` when the header is missing or too long to
/// be an address.
fn raw_from_address(msg: &mail_parser::Message<'_>) -> Option<String> {
    let raw = msg.header_raw("From")?;
    if raw.len() > 4 * MAX_ADDRESS_LEN {
        return None;
    }
    let inner = match (raw.rfind('<'), raw.rfind('>')) {
        (Some(open), Some(close)) if open < close => &raw[open + 1..close],
        _ => raw,
    };
    let one_line: String = inner.chars().filter(|c| *c != '\r' && *c != '\n').collect();
    let t = one_line.trim();
    (!t.is_empty()).then(|| t.to_string())
}

/// How much of a message's own text is kept for reading a reply command and
/// for the timeline.
pub const MAX_REPLY_TEXT: usize = crate::core::bounded::MAX_STORED_TEXT;

/// How much of the notice's text facts are read from.
const MAX_FACT_CHARS: usize = 30_000;

/// In-Reply-To ids kept (normally one; RFC 5322 allows several).
pub const MAX_IN_REPLY_TO_IDS: usize = 10;
/// References ids kept: the last ones, the nearest ancestors.
pub const MAX_REFERENCES_IDS: usize = 100;
/// Most parent ids a message yields, and so most ids a thread look-up takes.
pub const MAX_PARENT_IDS: usize = MAX_IN_REPLY_TO_IDS + MAX_REFERENCES_IDS;
/// Most octets of an address (a path is at most 256 with its brackets).
const MAX_ADDRESS_LEN: usize = 254;
/// A longer id cannot be a Message-ID (a header line holds at most 998 octets).
const MAX_MESSAGE_ID_LEN: usize = 998;

/// Most bytes of one piece of evidence, the sentence a fact was read from
/// (a text without full stops is one sentence of up to `MAX_FACT_CHARS`):
/// it is kept with the case's facts and shown on its page.
pub const MAX_EVIDENCE_BYTES: usize = 2_000;

/// The digest of the documents attached to `raw` that a notice's identity
/// covers beside its text (`core::series::text_and_documents_hash`), from a
/// parse of its own: for tests that check an identity afresh.
pub fn documents_digest(raw: &[u8]) -> Option<[u8; 32]> {
    mime::PARSER
        .parse(raw)
        .and_then(|m| mime::documents_digest(&m))
}

/// Reads one raw message.
pub fn read(raw: &[u8], opts: &ReadOptions) -> Result<Notice, ReadError> {
    if !looks_like_message(raw) {
        return Err(ReadError::NotAMessage("no header lines".into()));
    }
    let bytes = skip_leading_space(raw);
    let msg = mime::PARSER
        .parse(bytes)
        .ok_or_else(|| ReadError::NotAMessage("no headers could be parsed".into()))?;
    let origin = origin(&msg, bytes);
    let mut evidence = Vec::new();
    let date = msg
        .date()
        .filter(|d| d.is_valid())
        .and_then(|d| DateTime::from_timestamp(d.to_timestamp(), 0))
        .filter(|d| plausible(*d));
    let received_at = opts.delivered_at.or(date);
    let from = msg.from().and_then(|a| a.first());
    let sender = Person {
        name: from
            .and_then(|a| a.name())
            .map(|s| bounded::one_line(s, bounded::MAX_NAME_CHARS)),
        // A longer "address" cannot be one (RFC 5321 §4.5.3.1.3) and would be
        // copied into every event of the case as its actor.
        address: from
            .and_then(|a| a.address())
            .map(|a| match a.find('@') {
                // The parser drops a quoted local part ("staff member"@x reads
                // as "@x"): keep what the header wrote instead, so the record
                // names the sender truly (it is never a plain address, so it is
                // never mailed nor matched against the roster).
                Some(0) | None => raw_from_address(&msg).unwrap_or_else(|| a.to_string()),
                Some(_) => a.to_string(),
            })
            .filter(|a| a.len() <= MAX_ADDRESS_LEN)
            .map(|a| a.to_lowercase()),
    };
    let subject = msg.subject().map(str::to_string);
    // The first In-Reply-To ids and the last References ids (the nearest
    // ancestors end the list): a crafted header with half a million ids must
    // not become half a million look-ups.
    let ids = |h: &mail_parser::HeaderValue<'_>, first: bool, max: usize| -> Vec<String> {
        let all: Vec<&str> = if let Some(list) = h.as_text_list() {
            list.iter().map(|s| s.as_ref()).collect()
        } else {
            h.as_text().into_iter().collect()
        };
        let skip = if first {
            0
        } else {
            all.len().saturating_sub(max)
        };
        all.into_iter()
            .skip(skip)
            .take(max)
            .map(|p| p.trim().trim_matches(['<', '>']))
            .filter(|p| !p.is_empty() && p.len() <= MAX_MESSAGE_ID_LEN)
            .map(str::to_string)
            .collect()
    };
    let mut parent_ids = ids(msg.in_reply_to(), true, MAX_IN_REPLY_TO_IDS);
    parent_ids.extend(ids(msg.references(), false, MAX_REFERENCES_IDS));

    // Automatic mail: RFC 3834 Auto-Submitted, RFC 3462 reports, and the
    // subjects auto-responders use. `auto-generated` alone is not an answer.
    let auto_submitted = msg
        .header_raw("Auto-Submitted")
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .filter(|v| !v.is_empty());
    let precedence = msg
        .header_raw("Precedence")
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let report = msg.content_type().is_some_and(|ct| {
        ct.ctype().eq_ignore_ascii_case("multipart")
            && ct
                .subtype()
                .is_some_and(|s| s.eq_ignore_ascii_case("report"))
    });
    let auto = matches!(
        auto_submitted.as_deref(),
        Some("auto-replied") | Some("auto-notified")
    ) || report
        || precedence == "auto_reply"
        || msg.header_raw("X-Autoreply").is_some()
        || msg.header_raw("X-Autorespond").is_some()
        || subject.as_deref().is_some_and(classify::is_auto_subject);
    let never_answer = auto_submitted.as_deref().is_some_and(|v| v != "no")
        || matches!(precedence.as_str(), "bulk" | "junk" | "list")
        || report;

    let reference = date
        .or(opts.delivered_at)
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
    let own = forward::own_text(&msg, b"");
    let mut chain = if auto {
        let text = own.body();
        forward::Chain {
            layers: Vec::new(),
            text: text.clone(),
            subject: subject.clone(),
            full: text,
        }
    } else {
        forward::unwrap(&msg, b"", own.body(), opts.tz, reference, 0)
    };
    // A chain time sets the clock only when it is plausible: not more than
    // `max_forward_age` before the delivery, and not after it.
    let mut ignored_chain_times = Vec::new();
    for l in chain.layers.iter_mut() {
        let Some(t) = l.sent else { continue };
        let why = if !plausible(t) {
            Some(IgnoredWhy::Implausible)
        } else {
            match received_at {
                Some(r) if t < r - opts.max_forward_age => Some(IgnoredWhy::TooOld),
                Some(r) if t > r + chrono::Duration::hours(1) => Some(IgnoredWhy::AfterDelivery),
                _ => None,
            }
        };
        if let Some(why) = why {
            ignored_chain_times.push(IgnoredTime { time: t, why });
            l.sent = None;
        }
    }
    let forwarded = chain.forwarded();
    let inner = chain.layers.last();
    let chain_first = chain.layers.iter().filter_map(|l| l.sent).min();
    let aware_at = match (received_at, chain_first) {
        (Some(r), Some(c)) => Some(r.min(c)),
        (r, c) => r.or(c),
    };
    if forwarded {
        if let Some(l) = chain
            .layers
            .iter()
            .filter(|l| l.sent.is_some())
            .min_by_key(|l| l.sent)
        {
            evidence.push(Evidence {
                field: "aware_at".into(),
                text: format!(
                    "forwarded message from {} sent {}",
                    l.address.as_deref().or(l.name.as_deref()).unwrap_or("?"),
                    l.sent.map(|s| s.to_rfc3339()).unwrap_or_default()
                ),
            });
        }
    }
    // A forwarded "From:" line is body text: bounded like the sender's header.
    let (rep_name, rep_addr) = match inner {
        Some(l) => (
            l.name
                .as_deref()
                .map(|n| bounded::one_line(n, bounded::MAX_NAME_CHARS)),
            l.address.clone().filter(|a| a.len() <= MAX_ADDRESS_LEN),
        ),
        None => (sender.name.clone(), sender.address.clone()),
    };
    let organisation = org::organisation(
        &chain.text,
        rep_addr.as_deref(),
        rep_name.as_deref(),
        &opts.suppliers,
    )
    .map(|o| bounded::one_line(&o, bounded::MAX_NAME_CHARS))
    .filter(|o| !is_own_organisation(o, rep_addr.as_deref(), &our_domains(&msg)));
    if let Some(o) = &organisation {
        evidence.push(Evidence {
            field: "reporter.organisation".into(),
            text: o.clone(),
        });
    }
    let notice_ref = inner.and_then(|l| l.sent).unwrap_or(reference);
    let notice_subject = chain.subject.clone().unwrap_or_default();
    let case_ref = subject
        .as_deref()
        .and_then(|s| find_case_ref(&opts.case_ref_prefix, s))
        .or_else(|| find_case_ref(&opts.case_ref_prefix, &notice_subject));
    let case_ref_in_subject = case_ref.is_some();
    let full_text = std::mem::take(&mut chain.full);
    let case_ref = case_ref.or_else(|| find_case_ref(&opts.case_ref_prefix, &full_text));
    let words = org::org_words(
        organisation.as_deref(),
        &[rep_addr.as_deref(), sender.address.as_deref()],
    );
    let list_unsubscribe = msg.header_raw("List-Unsubscribe").is_some();
    // What the classifier reads: the text's start, whole sentences (a
    // hard-wrapped "Vi har inte upptäckt några\nnya incidenter" is one, its
    // negation with it).
    let head = text::unwrapped(text::prefix(&chain.text, classify::HEAD_CHARS));
    let own_signals = classify::Signals {
        auto,
        forwarded,
        outer_subject: subject.as_deref().unwrap_or(""),
        notice_subject: &notice_subject,
        text: &head,
        thread_link: !parent_ids.is_empty(),
        reply_subject: forward::is_reply_subject(subject.as_deref()),
        case_ref_in_subject,
        list_unsubscribe,
        has_document: mime::has_document(&msg),
    };
    // A covering mail that says nothing of an incident ("Hej, här kommer
    // rapporten enligt avtalet") may carry the notice as a Word,
    // OpenDocument or PDF form: then the start of the form's text is read for the
    // cue too (most mail has no such file; reading one is bounded).
    let own_cue = classify::may_be_incident(&own_signals);
    // A PDF costs a child process: read for the cue only when the mail
    // speaks of a report (`classify::may_carry_a_report`).
    let form_for_cue = (!own_cue && !auto && own_signals.has_document)
        .then(|| {
            let pdf = opts
                .pdf
                .as_ref()
                .filter(|_| classify::may_carry_a_report(&own_signals));
            mime::document_text(&msg, pdf)
        })
        .flatten();
    let head_with_form = form_for_cue
        .as_ref()
        .map(|(_, form)| format!("{head}\n\n{}", text::prefix(form, classify::HEAD_CHARS)));
    let signals = match &head_with_form {
        Some(h) => classify::Signals {
            text: h,
            ..own_signals
        },
        None => own_signals,
    };
    let incident_cue = own_cue || classify::may_be_incident(&signals);
    // Notices are short; a bounded prefix keeps odd mail cheap. Armored
    // blocks (keys, signatures, certificates) are no prose to read facts in.
    // A hard-wrapped text's sentences are read whole (the facts are read
    // only where the incident cue fires: most mail is never unwrapped).
    let armorless = text::without_armor(text::prefix(&chain.text, MAX_FACT_CHARS));
    // A notice attached as a Word, OpenDocument or PDF file ("Se bifogad
    // incidentrapport"): its text is read for facts after the mail's own.
    let document = match (incident_cue, form_for_cue) {
        (true, Some(form)) => Some(form),
        (true, None) => mime::document_text(&msg, opts.pdf.as_ref()),
        (false, _) => None,
    };
    let doc_text = document.as_ref().map(|(_, t)| t.as_str());
    let fact_src = match incident_cue {
        true => with_document(text::unwrapped(&armorless), doc_text),
        false => std::borrow::Cow::Borrowed(&*armorless),
    };
    let fact_text: &str = &fact_src;
    let subj = text::prefix(&notice_subject, 1000);
    let read_facts =
        incident_cue.then(|| facts::extract_but_systems(fact_text, subj, opts.tz, notice_ref));
    let kind = classify::kind(
        &signals,
        read_facts
            .as_ref()
            .map_or(&Incident::default(), |r| &r.incident),
        incident_cue,
    );
    // The contract's convention: only incident messages carry incident
    // facts. The kind does not depend on the systems or the draft facts, so
    // they are read only for an incident message (most mail is none).
    let (incident, draft_facts) = match read_facts {
        Some(mut read) if kind.is_incident() => {
            if let Some((name, doc)) = &document {
                evidence.push(Evidence {
                    field: "document".into(),
                    text: format!(
                        "the text of the attached document {} read after the message's ({} characters)",
                        name.as_deref().unwrap_or("(no name)"),
                        doc.chars().count()
                    ),
                });
            }
            read.add_systems(&words);
            let sents = read.sentences().to_vec();
            let facts = read.into_incident(&mut evidence);
            let all_armorless = text::without_armor(text::prefix(&full_text, MAX_FACT_CHARS));
            let all_src = with_document(text::unwrapped(&all_armorless), doc_text);
            let all: &str = &all_src;
            let mut draft_facts =
                details::extract_from(&sents, fact_text, all, subj, &mut evidence);
            // Our own case reference is not the supplier's.
            if draft_facts.supplier_reference.is_some()
                && draft_facts
                    .supplier_reference
                    .as_deref()
                    .map(str::to_uppercase)
                    == case_ref.as_deref().map(str::to_uppercase)
            {
                draft_facts.supplier_reference = None;
            }
            (facts, draft_facts)
        }
        _ => (Incident::default(), details::Details::default()),
    };
    // In the message's own words: the subjects, the notice (a reply's
    // without its quote) and a forwarder's note above the forwarded block.
    let says_new_incident = kind.is_incident() && {
        let note = match forwarded {
            true => text::unwrapped(forward::note_above_blocks(&full_text)),
            false => std::borrow::Cow::Borrowed(""),
        };
        classify::says_new_incident(
            &[subject.as_deref().unwrap_or(""), &notice_subject],
            &[&head, &note],
        )
    };
    let language = classify::language(&chain.text);
    let body_text = if forwarded {
        chain.text.clone()
    } else {
        full_text
    };
    // Only incident messages have an identity (`core::series::identity`):
    // other mail, most of it, is not hashed.
    let notice_text_hash = kind
        .is_incident()
        .then(|| {
            crate::core::series::text_and_documents_hash(
                &body_text,
                mime::documents_digest(&msg).as_ref(),
            )
        })
        .flatten();
    let notice_message_id = if forwarded {
        chain.layers.last().and_then(|l| l.message_id.clone())
    } else {
        msg.message_id().map(str::to_string)
    };
    for e in evidence.iter_mut() {
        if e.text.len() > MAX_EVIDENCE_BYTES {
            e.text = bounded::cut_text(&e.text, MAX_EVIDENCE_BYTES).into_owned();
        }
    }
    Ok(Notice {
        // An id no header line can hold is no id: it would be stored and
        // logged with every line about the message.
        message_id: msg
            .message_id()
            .filter(|m| m.len() <= MAX_MESSAGE_ID_LEN)
            .map(|m| format!("<{m}>")),
        notice_message_id,
        kind,
        language,
        forwarded,
        received_at,
        aware_at,
        ignored_chain_times,
        sender,
        reporter: Reporter {
            name: rep_name,
            address: rep_addr,
            organisation,
        },
        case_ref,
        incident,
        details: draft_facts,
        threading: Threading {
            subject,
            parent_ids,
            never_answer,
        },
        evidence,
        body_text,
        notice_text_hash,
        // It goes on the hash-chained timeline, which can never shrink:
        // bounded, with a marker; the raw message keeps it all.
        reply_text: crate::core::bounded::cut_text_of(&own.text, MAX_REPLY_TEXT, own.whole)
            .into_owned(),
        origin,
        // Named for an incident message's opening notice only, as its
        // identity: most mail is none.
        documents: match kind.is_incident() {
            true => mime::document_names(&msg, MAX_DOCUMENT_NAMES),
            false => Vec::new(),
        },
        document_read: document
            .filter(|_| kind.is_incident())
            .map(|(name, _)| name.unwrap_or_default()),
        says_new_incident,
    })
}

/// A notice's text for reading facts, with an attached document's text
/// after it (a blank line between) when there is one.
fn with_document<'a>(
    text: std::borrow::Cow<'a, str>,
    doc: Option<&str>,
) -> std::borrow::Cow<'a, str> {
    match doc {
        Some(doc) => std::borrow::Cow::Owned(format!("{text}\n\n{doc}")),
        None => text,
    }
}

/// The From fields and the trace headers, top first, each list bounded: what
/// authentication reads, collected in the one parse.
fn origin(msg: &mail_parser::Message<'_>, bytes: &[u8]) -> crate::core::auth::Origin {
    use crate::core::auth::{Origin, TraceHeader, MAX_FROM_ADDRESSES, MAX_TRACE_HEADERS};
    let mut o = Origin::default();
    for h in msg.headers() {
        let name = h.name();
        if name.eq_ignore_ascii_case("From") {
            o.from_fields += 1;
            if let Some(list) = h.value().as_address() {
                for a in list.iter() {
                    if o.from_addresses.len() < MAX_FROM_ADDRESSES {
                        o.from_addresses
                            .push(a.address().unwrap_or_default().trim().to_lowercase());
                    }
                }
            }
        } else if o.trace.len() < MAX_TRACE_HEADERS {
            let is_ar = name.eq_ignore_ascii_case("Authentication-Results");
            if let Some(x) = crate::core::auth::ExchangeHeader::from_name(name) {
                let value =
                    raw_header_value(bytes, h.offset_start() as usize, h.offset_end() as usize);
                o.trace.push(TraceHeader::ExchangeOrganization(x, value));
            } else if is_ar || name.eq_ignore_ascii_case("Received") {
                let value =
                    raw_header_value(bytes, h.offset_start() as usize, h.offset_end() as usize);
                o.trace.push(if is_ar {
                    TraceHeader::AuthenticationResults(value)
                } else {
                    TraceHeader::Received(value)
                });
            }
        }
    }
    o
}

/// A header's value as written, unfolded, at most 8 KiB (a trace header is
/// a line or two; anything longer is not one our servers wrote).
fn raw_header_value(bytes: &[u8], start: usize, end: usize) -> String {
    let end = end.min(start.saturating_add(8 * 1024));
    let v = bytes.get(start..end).unwrap_or_default();
    let text = String::from_utf8_lossy(v);
    // Unfolded (every CRLF and LF dropped) and trimmed, in one copy.
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_ref();
    while let Some(i) = rest.find('\n') {
        let line = rest.get(..i).unwrap_or("");
        out.push_str(line.strip_suffix('\r').unwrap_or(line));
        rest = rest.get(i + 1..).unwrap_or("");
    }
    out.push_str(rest);
    let end = out.trim_end().len();
    out.truncate(end);
    let start = out.len() - out.trim_start().len();
    out.drain(..start);
    out
}

/// A message starts with a header line ("Name: value", obsolete "Name :"
/// too), possibly after an mbox "From " line or blank lines. Anything else is
/// not a message.
fn looks_like_message(raw: &[u8]) -> bool {
    let head = raw.get(..raw.len().min(4096)).unwrap_or(raw);
    let head = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head);
    for line in head.split(|b| *b == b'\n') {
        let line = line.trim_ascii();
        if line.is_empty() || line.starts_with(b"From ") {
            continue;
        }
        let Some(colon) = line.iter().position(|b| *b == b':') else {
            return false;
        };
        let name = line.get(..colon).unwrap_or(b"").trim_ascii_end();
        return !name.is_empty() && name.iter().all(|b| b.is_ascii_graphic());
    }
    false
}

/// Leading blank lines and indentation before the first header make
/// mail-parser see no headers at all; such mail is still mail.
fn skip_leading_space(raw: &[u8]) -> &[u8] {
    let n = raw.iter().take_while(|b| b.is_ascii_whitespace()).count();
    raw.get(n..).unwrap_or(raw)
}

/// The domains our mailbox is written to (outer To and Cc): the controller's own.
fn our_domains(msg: &mail_parser::Message<'_>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for list in [msg.to(), msg.cc()].into_iter().flatten() {
        for a in list.iter().take(20) {
            if let Some(d) = a.address().and_then(|x| x.rsplit_once('@')).map(|x| x.1) {
                let d = d.to_lowercase();
                if d.len() <= MAX_ADDRESS_LEN && !out.contains(&d) {
                    out.push(d);
                }
            }
        }
    }
    out
}

/// The controller is never a supplier's organisation: when the notice's
/// author writes from outside our domains, a public body whose name is in our
/// domain ("Vallsjö kommun" for vallsjo.kommun.example, read from a letterhead
/// or a greeting) is not the reporter. Our own staff's mail keeps it (the
/// shared corpus names the municipality for staff reports).
fn is_own_organisation(org: &str, reporter_addr: Option<&str>, ours: &[String]) -> bool {
    let in_ours = |d: &str| {
        ours.iter()
            .any(|o| d == o || d.ends_with(&format!(".{o}")) || o.ends_with(&format!(".{d}")))
    };
    // Our own staff writing: the shared corpus names the municipality then.
    if let Some(d) = reporter_addr
        .and_then(|a| a.rsplit_once('@'))
        .map(|x| x.1.to_lowercase())
    {
        if in_ours(&d) {
            return false;
        }
    }
    let lower = org.to_lowercase();
    let public = ["kommun", "region", "stad", "län"]
        .iter()
        .any(|w| lower.split_whitespace().any(|x| x == *w));
    let fold = |s: &str| -> String {
        s.to_lowercase()
            .chars()
            .map(|c| match c {
                'å' | 'ä' => 'a',
                'ö' => 'o',
                'é' => 'e',
                _ => c,
            })
            .filter(|c| c.is_alphanumeric() || *c == '.')
            .collect()
    };
    public
        && lower
            .split_whitespace()
            .filter(|w| !matches!(*w, "kommun" | "region" | "stad" | "län"))
            .all(|w| {
                ours.iter()
                    .any(|o| fold(o).split('.').any(|l| l == fold(w)))
            })
}

fn find_case_ref(prefix: &str, text: &str) -> Option<String> {
    if prefix.is_empty() || !text.contains(prefix) {
        return None;
    }
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .find_map(|w| crate::core::types::CaseRef::parse(prefix, w))
        .map(|r| r.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trace_header_is_unfolded_and_trimmed_as_written() {
        let cases: &[&[u8]] = &[
            b" from a.example (a [192.0.2.1])\r\n\tby b.example; Mon, 1 Jun 2026 10:00:00 +0200\r\n",
            b"\t x\r\r\n y \n z\r ",
            b" mx.example;\n dkim=pass header.d=\xc3\r\n\xa9x.example",
            b"",
            b"\r\n",
            b"  \xe2\x80\x83 v\xe2\x80\x83 ",
        ];
        for raw in cases {
            let old = String::from_utf8_lossy(raw)
                .replace("\r\n", "")
                .replace('\n', "")
                .trim()
                .to_string();
            assert_eq!(raw_header_value(raw, 0, raw.len()), old, "{raw:?}");
        }
        let long = vec![b'a'; 20_000];
        assert_eq!(raw_header_value(&long, 0, long.len()).len(), 8 * 1024);
    }

    /// A hard-wrapped reply in a case's thread that says no new incident
    /// was found is news of the case, not a new incident: the negation on
    /// the line before "nya incidenter" is in the same sentence.
    #[test]
    fn a_wrapped_reply_saying_no_new_incident_does_not_report_one() {
        let body = "Hej,\r\n\r\nVi har gått igenom loggarna för hela perioden och vi har inte upptäckt\r\n\
                    några nya incidenter eller tecken på att angriparen fortfarande har\r\n\
                    åtkomst till LabPortalen. Namn och personnummer för cirka 400 patienter\r\n\
                    berördes av intrånget som vi rapporterade den 20 november.\r\n\r\n\
                    Med vänliga hälsningar\r\nLabPortalen Support\r\n";
        let raw = format!(
            "From: LabPortalen Support <incident@labportal.example>\r\nTo: dataskydd@example.test\r\n\
             Subject: Re: Personuppgiftsincident i LabPortalen\r\nDate: Tue, 24 Nov 2026 10:00:00 +0100\r\n\
             Message-ID: <r2@labportal.example>\r\nIn-Reply-To: <n1@labportal.example>\r\n\
             Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{body}"
        );
        let n = read(raw.as_bytes(), &ReadOptions::default()).unwrap();
        assert!(n.kind.is_incident(), "{:?}", n.kind);
        assert!(!n.says_new_incident);
        // The same reply that does report one, wrapped the same way.
        let new = raw.replace(
            "vi har inte upptäckt\r\nnågra nya",
            "vi har upptäckt\r\nytterligare en ny",
        );
        let n = read(new.as_bytes(), &ReadOptions::default()).unwrap();
        assert!(n.says_new_incident);
    }

    #[test]
    fn a_notice_of_one_endless_sentence_keeps_bounded_facts() {
        // No full stop in 25 kB of names: the whole text is one sentence,
        // and every fact read from it would carry all of it as evidence.
        let names: Vec<String> = (0..3_000u32)
            .map(|i| {
                format!("Qx{}Zy", char::from_u32(0x61 + i % 26).unwrap_or('a')) + &i.to_string()
            })
            .collect();
        let mail = format!(
            "From: Support <support@supplier.example>\r\nTo: breach@example.test\r\n\
             Subject: Säkerhetsincident\r\nDate: Thu, 03 Dec 2026 15:00:00 +0100\r\n\
             Message-ID: <e1@supplier.example>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
             Vi har drabbats av ett dataintrång i systemet ParkAdmin där obehöriga fick åtkomst \
             till personnummer och adresser för 120 kunder den 3 december 2026 kl. 14.00 {}\r\n",
            names.join(" ")
        );
        let n = read(mail.as_bytes(), &ReadOptions::default()).unwrap();
        assert!(n.kind.is_incident(), "{:?}", n.kind);
        assert!(n.incident.systems.len() <= facts::MAX_SYSTEMS);
        assert!(!n.evidence.is_empty());
        for e in &n.evidence {
            assert!(
                e.text.len() <= MAX_EVIDENCE_BYTES,
                "{}: {} bytes",
                e.field,
                e.text.len()
            );
        }
    }

    fn html_mail(html: &str) -> Vec<u8> {
        format!(
            "From: Handläggare <official@example.test>\r\nTo: breach@example.test\r\n\
             Subject: SV: [BW-2026-0001] Intrång\r\nMessage-ID: <r1@example.test>\r\n\
             MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n{html}"
        )
        .into_bytes()
    }

    #[test]
    fn an_html_only_reply_keeps_its_block_breaks_and_a_huge_one_is_read_in_part() {
        let n = read(
            &html_mail("<div>godkänn</div><div>Från: Breachwatch</div>"),
            &ReadOptions::default(),
        )
        .unwrap();
        let first = |t: &str| t.lines().find(|l| !l.trim().is_empty()).map(str::to_string);
        assert_eq!(
            first(&n.reply_text).as_deref(),
            Some("godkänn"),
            "{:?}",
            n.reply_text
        );
        let huge = format!("<div>godkänn</div>{}", "<p>rad</p>".repeat(100_000));
        let n = read(&html_mail(&huge), &ReadOptions::default()).unwrap();
        assert_eq!(first(&n.reply_text).as_deref(), Some("godkänn"));
        assert!(n.reply_text.len() <= MAX_REPLY_TEXT);
        assert!(n.reply_text.contains("avkortad"), "the cut is marked");
        assert!(n.reply_text.contains(&format!("{} byte", huge.len())));
    }

    #[test]
    fn an_html_notice_behind_a_huge_stylesheet_and_inline_image_is_read() {
        // Web mailers' and ticket systems' HTML: a stylesheet and an inline
        // image of hundreds of kB before the first word. The bound is on the
        // text, so the notice is read (it was lost behind 256 kB of HTML).
        let style = "p.MsoNormal{margin:0cm;font-size:11.0pt;font-family:Calibri}\n".repeat(6_000);
        let img = "iVBORw0KGgo".repeat(40_000);
        let mail = format!(
            "From: Support <support@supplier.example>\r\nTo: breach@example.test\r\n\
             Subject: Information\r\nDate: Thu, 03 Dec 2026 15:00:00 +0100\r\n\
             Message-ID: <h1@supplier.example>\r\nMIME-Version: 1.0\r\n\
             Content-Type: text/html; charset=utf-8\r\n\r\n\
             <html><head><style type=\"text/css\">{style}</style></head><body>\
             <img src=\"data:image/png;base64,{img}\"><p>Vi har drabbats av ett \
             dataintrång i ProvWeb. Personnummer för 1 200 patienter kan ha lästs.</p>\
             </body></html>"
        );
        let n = read(mail.as_bytes(), &ReadOptions::default()).unwrap();
        assert!(n.kind.is_incident(), "{:?}", n.kind);
        assert_eq!(n.incident.systems, ["ProvWeb"]);
        assert!(!n.reply_text.contains("MsoNormal"), "{:.200}", n.reply_text);
    }

    #[test]
    fn a_notice_in_html_beside_a_blank_or_placeholder_plain_part_is_read() {
        let alternative = |plain: &str| {
            format!(
                "From: Support <support@supplier.example>\r\nTo: breach@example.test\r\n\
                 Subject: Information till kund\r\nDate: Thu, 03 Dec 2026 15:00:00 +0100\r\n\
                 Message-ID: <a1@supplier.example>\r\nMIME-Version: 1.0\r\n\
                 Content-Type: multipart/alternative; boundary=\"b\"\r\n\r\n\
                 --b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{plain}\r\n\
                 --b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n\
                 <html><body><p>Vi har drabbats av ett dataintr\u{e5}ng i ProvWeb. \
                 Personnummer f\u{f6}r 1 200 patienter kan ha l\u{e4}sts.</p></body></html>\r\n\
                 --b--\r\n"
            )
        };
        for plain in [
            "",
            " \r\n ",
            "This is an HTML message. Please use an HTML capable mail program to read this message.",
            "Detta meddelande \u{e4}r i HTML-format.",
        ] {
            let n = read_str(&alternative(plain));
            assert!(n.kind.is_incident(), "{plain:?}: {:?}", n.kind);
            assert_eq!(n.incident.systems, ["ProvWeb"], "{plain:?}");
        }
        // A plain part with text of its own is the text, as before.
        let n = read_str(&alternative("Hej, se nedan."));
        assert!(!n.kind.is_incident(), "{:?}", n.kind);
        assert!(
            n.reply_text.starts_with("Hej, se nedan."),
            "{:?}",
            n.reply_text
        );
    }

    /// A notice that is a document: the subject names the breach or its
    /// report, the text only points at the attachment. Read as `other` (no
    /// facts in the text), it opened no case. Also a colleague's forward of
    /// one, and when the document is missing but the text points at it.
    #[test]
    fn a_notice_in_an_attached_document_is_a_breach_notice() {
        let mail = |from: &str, subject: &str, body: &str, file: Option<(&str, &str)>| {
            let head = format!(
                "From: {from}\r\nTo: breach@example.test\r\nSubject: {subject}\r\n\
                 Date: Fri, 04 Dec 2026 20:05:00 +0100\r\nMessage-ID: <d@provlabb.example>\r\n\
                 MIME-Version: 1.0\r\n"
            );
            match file {
                None => format!("{head}Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"),
                Some((ctype, name)) => format!(
                    "{head}Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
                     --b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n\
                     --b\r\nContent-Type: {ctype}; name=\"{name}\"\r\n\
                     Content-Disposition: attachment; filename=\"{name}\"\r\n\
                     Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQKJSVFT0YK\r\n--b--\r\n"
                ),
            }
        };
        let supplier = "Provlabb <support@provlabb.example>";
        let pdf = Some(("application/pdf", "Incidentrapport.pdf"));
        let docx = Some((
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "Anmalan.docx",
        ));
        let by_name = Some(("application/octet-stream", "RAPPORT.PDF"));
        for (subject, body, file) in [
            (
                "Personuppgiftsincident \u{2013} incidentrapport",
                "Hej!\r\n\r\nSe bifogad rapport.",
                pdf,
            ),
            (
                "S\u{e4}kerhetsincident hos Provlabb",
                "Hej,\r\n\r\nH\u{e4}r kommer v\u{e5}r anm\u{e4}lan.",
                docx,
            ),
            ("Incident LabPortalen", "", by_name),
            (
                "Notification of personal data breach",
                "Dear customer,\r\n\r\nPlease find attached our notification.",
                pdf,
            ),
            (
                "Notification of personal data breach",
                "Dear customer,\r\n\r\nPlease find attached our notification.",
                None,
            ),
        ] {
            let n = read_str(&mail(supplier, subject, body, file));
            assert_eq!(
                n.kind,
                Kind::BreachNotice,
                "{subject:?} / {body:?} / {file:?}"
            );
        }
        // A colleague's forward of one: the clock starts at the supplier's mail.
        let fwd = mail(
            "Sam Staff <sam@example.test>",
            "VB: Personuppgiftsincident",
            "Se nedan.\r\n\r\nFr\u{e5}n: Provlabb <support@provlabb.example>\r\n\
             Skickat: den 4 december 2026 20:05\r\nTill: IT <it@example.test>\r\n\
             \u{c4}mne: Personuppgiftsincident\r\n\r\nSe bifogad incidentrapport.",
            pdf,
        )
        .replace("Fri, 04 Dec 2026 20:05:00", "Mon, 07 Dec 2026 08:10:00");
        let n = read_str(&fwd);
        assert_eq!(n.kind, Kind::BreachNotice);
        assert_eq!(
            n.aware_at.map(|t| t.to_rfc3339()),
            Some("2026-12-04T19:05:00+00:00".into())
        );
        // Not a report: a question with no document, a picture, mail of
        // another genre with a PDF, a subject that names no breach.
        for (subject, body, file) in [
            (
                "Fr\u{e5}ga om personuppgiftsincident",
                "Hej, hur anm\u{e4}ler jag en personuppgiftsincident?",
                None,
            ),
            (
                "Personuppgiftsincident",
                "Hej, se bilden.",
                Some(("image/png", "bild.png")),
            ),
            (
                "Nyhetsbrev: personuppgiftsincidenter 2026",
                "Se bifogat nyhetsbrev.",
                pdf,
            ),
            ("Avtal 2027", "Se bifogat avtal.", pdf),
        ] {
            let n = read_str(&mail(supplier, subject, body, file));
            assert_eq!(n.kind, Kind::Other, "{subject:?} / {body:?} / {file:?}");
        }
    }

    /// A notice whose facts are in an attached Word or OpenDocument form:
    /// the covering mail says only where they are. The facts are read from
    /// the form's text (a table row "Antal berörda | cirka 2 300" as a
    /// label line), after the mail's; a PDF's are not (the reader does not
    /// read PDFs). A covering mail that names no incident is one when its
    /// form names one; a form about no incident leaves the mail other mail.
    #[test]
    fn a_notice_in_an_attached_word_or_opendocument_form_is_read_for_its_facts() {
        use super::document::tests::{docx_of, zip_of};
        let mail = mail_with_file;
        let cell = |t: &str| format!("<w:tc><w:p><w:r><w:t>{t}</w:t></w:r></w:p></w:tc>");
        let row = |a: &str, b: &str| format!("<w:tr>{}{}</w:tr>", cell(a), cell(b));
        let docx = docx_of(&format!(
            "<w:p><w:r><w:t>Incidentrapport</w:t></w:r></w:p><w:tbl>{}{}{}{}</w:tbl>\
             <w:p><w:r><w:t>En angripare loggade in med stulna inloggningsuppgifter.</w:t></w:r></w:p>",
            row("System", "Journalia Mobil"),
            row("Incidenten upptäcktes", "2026-12-03 kl. 14:20"),
            row("Antal berörda registrerade", "Cirka 2 300"),
            row("Kategorier av personuppgifter", "Namn, personnummer och uppgifter om hälsa"),
        ));
        let odt = zip_of(&[(
            "content.xml",
            "<office:document-content xmlns:office=\"o\" xmlns:text=\"t\"><office:body><office:text>\
             <text:p>Incidenten upptäcktes den 3 december 2026 kl. 14.20.</text:p>\
             <text:p>Cirka 2 300 patienter berörs; namn och personnummer har exponerats.</text:p>\
             </office:text></office:body></office:document-content>"
                .as_bytes(),
        )]);
        let word = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
        let cover = "Hej,\r\n\r\nSe bifogad incidentrapport.\r\n\r\nJournalia Support";
        let subject = "Personuppgiftsincident \u{2013} incidentrapport";
        for (ctype, name, file) in [
            (word, "Incidentrapport.docx", &docx),
            ("application/octet-stream", "Incidentrapport.DOCX", &docx),
            (
                "application/vnd.oasis.opendocument.text",
                "rapport.odt",
                &odt,
            ),
        ] {
            let n = read_str(&mail(subject, cover, ctype, name, file));
            let what = format!("{ctype} {name}");
            assert_eq!(n.kind, Kind::BreachNotice, "{what}");
            assert_eq!(
                n.incident.discovered_at.map(|t| t.to_rfc3339()),
                Some("2026-12-03T13:20:00+00:00".into()),
                "{what}"
            );
            assert_eq!(
                n.incident.data_subjects.as_ref().map(|r| (r.min, r.max)),
                Some((Some(2300), Some(2300))),
                "{what}"
            );
            let categories = serde_json::to_string(&n.incident.data_categories).unwrap();
            for c in ["identification", "personal_identity_number"] {
                assert!(categories.contains(c), "{what}: {categories}");
            }
            assert!(
                n.evidence
                    .iter()
                    .any(|e| e.field == "document" && e.text.contains(name)),
                "{what}: {:?}",
                n.evidence
            );
            // The stored text is the mail's (the document is hashed as a
            // file for the notice's identity).
            assert!(!n.body_text.contains("2 300"), "{what}");
        }
        let n = read_str(&mail(subject, cover, word, "Incidentrapport.docx", &docx));
        let categories = serde_json::to_string(&n.incident.data_categories).unwrap();
        assert!(categories.contains("health"), "{categories}");
        assert!(
            n.incident.systems.iter().any(|s| s == "Journalia Mobil"),
            "{:?}",
            n.incident.systems
        );
        assert_eq!(
            serde_json::to_value(n.incident.cause).unwrap(),
            serde_json::json!("attack")
        );
        // The same bytes called a PDF are not read.
        let n = read_str(&mail(
            subject,
            cover,
            "application/pdf",
            "Incidentrapport.pdf",
            &docx,
        ));
        assert_eq!(n.kind, Kind::BreachNotice);
        assert_eq!(n.incident.data_subjects, None);
        // A covering mail that names no incident: the form's text does.
        let bare = "Hej,\r\n\r\nHär kommer rapporten enligt avtalet.\r\n\r\nJournalia Support";
        let n = read_str(&mail("Rapport", bare, word, "Rapport.docx", &docx));
        assert_eq!(n.kind, Kind::BreachNotice);
        assert_eq!(n.document_read.as_deref(), Some("Rapport.docx"));
        assert!(n.incident.data_subjects.is_some());
        // A form about no incident, attached to mail about none: other mail.
        let contract = docx_of(
            "<w:p><w:r><w:t>Avtal om personuppgiftsbiträde 2027</w:t></w:r></w:p>\
             <w:p><w:r><w:t>Biträdet behandlar personuppgifter enligt bilaga 1.</w:t></w:r></w:p>",
        );
        let n = read_str(&mail(
            "Avtal 2027",
            "Se bifogat avtal.",
            word,
            "avtal.docx",
            &contract,
        ));
        assert_eq!(n.kind, Kind::Other);
        assert!(n.evidence.iter().all(|e| e.field != "document"));
        assert_eq!(n.document_read, None);
    }

    /// A notice that is a document, whose covering text is the supplier's
    /// template: its identity is the text and the document together, so the
    /// next incident's report with the same text is not "the same notice"
    /// (which joins its case), while the same file re-encoded is.
    #[test]
    fn the_identity_of_a_notice_with_a_document_covers_the_document() {
        use base64::Engine as _;
        let text = "Hej! Vi har uppt\u{e4}ckt en personuppgiftsincident som kan ber\u{f6}ra er \
                    organisation. Detaljerna finns i den bifogade incidentrapporten. Kontakta oss \
                    vid fr\u{e5}gor. Med v\u{e4}nlig h\u{e4}lsning, Provlabb Support";
        let mail = |pdf: Option<&[u8]>, wrap: usize| {
            let head = "From: Provlabb <support@provlabb.example>\r\nTo: breach@example.test\r\n\
                        Subject: Personuppgiftsincident\r\nDate: Fri, 04 Dec 2026 20:05:00 +0100\r\n\
                        MIME-Version: 1.0\r\n";
            match pdf {
                None => format!("{head}Content-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n"),
                Some(pdf) => {
                    let b64 = base64::engine::general_purpose::STANDARD.encode(pdf);
                    let lines: Vec<&str> = b64
                        .as_bytes()
                        .chunks(wrap)
                        .map(|c| std::str::from_utf8(c).unwrap())
                        .collect();
                    format!(
                        "{head}Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
                         --b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n\
                         --b\r\nContent-Type: application/pdf; name=\"r.pdf\"\r\n\
                         Content-Transfer-Encoding: base64\r\n\r\n{}\r\n--b--\r\n",
                        lines.join("\r\n")
                    )
                }
            }
        };
        let hash = |raw: String| {
            let n = read_str(&raw);
            assert_eq!(n.kind, Kind::BreachNotice);
            n.notice_text_hash.expect("long enough to be hashed")
        };
        let first: Vec<u8> = b"%PDF-1.4 incident 2026-12-04 LabPortalen "
            .iter()
            .copied()
            .cycle()
            .take(300)
            .collect();
        let second: Vec<u8> = b"%PDF-1.4 incident 2026-12-11 Kassan "
            .iter()
            .copied()
            .cycle()
            .take(300)
            .collect();
        let a = hash(mail(Some(&first), 76));
        assert_eq!(a, hash(mail(Some(&first), 64)), "the same file re-encoded");
        assert_ne!(a, hash(mail(Some(&second), 76)), "another report");
        assert_ne!(a, hash(mail(None, 76)), "the text alone");
        assert_eq!(
            hash(mail(None, 76)),
            crate::core::series::text_hash(text).unwrap()
        );
    }

    /// A member of staff's report in their own words: a lost phone or USB
    /// stick, a hacked account, a folder deleted by accident, papers in the
    /// ordinary bin, someone into their mail, a decision posted to another
    /// person. Read as `other` (the cue knew supplier notices' words), so no
    /// case. Talk with the same words stays `other`.
    #[test]
    fn a_staff_report_in_its_own_words_is_a_notice() {
        for body in [
            "Hej,\r\n\r\nJag har tappat min jobbtelefon p\u{e5} bussen i morse. Den har inget l\u{f6}senord.",
            "Hej,\r\n\r\nMitt konto har blivit hackat i g\u{e5}r kv\u{e4}ll. N\u{e5}gon har skickat mejl fr\u{e5}n det.",
            "Hej,\r\n\r\nJag har r\u{e5}kat radera en mapp med personakter f\u{f6}r 30 medarbetare i morse.",
            "Hej,\r\n\r\nEtt USB-minne med elevuppgifter (namn och personnummer) har f\u{f6}rsvunnit fr\u{e5}n l\u{e4}rarrummet.",
            "Hej,\r\n\r\nPapper med personnummer och journalanteckningar har sl\u{e4}ngts i vanliga soporna.",
            "Hej,\r\n\r\nN\u{e5}gon har kommit \u{e5}t min e-post. Jag s\u{e5}g inloggningar fr\u{e5}n ett annat land.",
            "Hej,\r\n\r\nEtt beslut om ekonomiskt bist\u{e5}nd med namn och personnummer postades till en annan person.",
        ] {
            let n = read_str(&supplier_mail("Ang. i morse", body).replace(
                "Provlabb <support@provlabb.example>",
                "Anna Andersson <anna@example.test>",
            ));
            assert_eq!(n.kind, Kind::BreachNotice, "{body:?}");
        }
        for body in [
            "Hej,\r\n\r\nJag har tappat tr\u{e5}den i projektet, kan vi ses?",
            "Hej,\r\n\r\nGl\u{f6}m inte att sl\u{e4}nga kartongerna i soporna efter flytten.",
        ] {
            let n = read_str(&supplier_mail("Fr\u{e5}ga", body));
            assert_eq!(n.kind, Kind::Other, "{body:?}");
        }
    }

    /// A breach of mail of another genre (a newsletter sent with its
    /// recipients visible, a webinar's list exposed, a school platform's
    /// grades seen by other schools, with a question at the end): its subject
    /// names the breach and it states one fact, where the genre asked for
    /// two. List mail about incidents stays other mail.
    #[test]
    fn a_breach_of_a_newsletter_or_webinar_list_is_a_notice() {
        let mail = |subject: &str, body: &str, list: bool| {
            format!(
                "From: Provlabb <support@provlabb.example>\r\nTo: breach@example.test\r\n\
                 Subject: {subject}\r\nDate: Fri, 04 Dec 2026 20:05:00 +0100\r\n{}\
                 Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n",
                if list {
                    "List-Unsubscribe: <mailto:leave@provlabb.example>\r\n"
                } else {
                    ""
                }
            )
        };
        for (subject, body) in [
            (
                "Personuppgiftsincident: nyhetsbrev skickades med synliga mottagare",
                "Hej,\r\n\r\nV\u{e5}rt nyhetsbrev till era f\u{f6}reningar skickades i g\u{e5}r med alla mottagares e-postadresser synliga f\u{f6}r varandra.",
            ),
            (
                "Incident p\u{e5} utbildningsplattformen",
                "Hej,\r\n\r\nElevers namn och betyg i utbildningsplattformen var synliga f\u{f6}r andra skolor. Har ni fr\u{e5}gor?",
            ),
            (
                "Security incident: webinar registration list exposed",
                "Dear customer,\r\n\r\nThe registration list for our webinar, with names and email addresses of your staff, was publicly accessible.",
            ),
        ] {
            assert_eq!(read_str(&mail(subject, body, false)).kind, Kind::BreachNotice, "{subject:?}");
            assert_eq!(read_str(&mail(subject, body, true)).kind, Kind::Other, "{subject:?}");
        }
    }

    /// Breach notices in words the incident cue did not know (hacked,
    /// malware, "skadlig kod", "röjts", "stulits", suspicious activity, a
    /// third party that gained access, disclosed, exfiltrated, the wrong
    /// patient, an external distribution list, "tekniskt fel"): read as
    /// `other`, their facts never looked for, so no case and no clock. Talk
    /// that only uses such a word stays `other`.
    #[test]
    fn a_breach_notice_in_other_words_is_one() {
        let mail = supplier_mail;
        for body in [
            "Dear customer,\r\n\r\nOn 4 December 2026 at 14:10 we found that lab results in LabPortal were shown to the wrong patient. Names and personal identity numbers of 40 patients were affected.",
            "Dear customer,\r\n\r\nOn 4 December 2026 we detected malware on a server that hosts LabPortal. Names and email addresses may have been copied.",
            "Dear customer,\r\n\r\nWe detected suspicious activity on an administrator account on 4 December 2026 at 14:10. A third party gained access to the customer database with names and phone numbers.",
            "Dear customer,\r\n\r\nWe have learned that names and personal identity numbers of your employees were disclosed to another customer on 4 December 2026.",
            "Dear customer,\r\n\r\nData including names and email addresses was exfiltrated from our environment on 4 December 2026.",
            "Dear customer,\r\n\r\nOn 4 December 2026 a threat actor accessed our systems and downloaded names and personal identity numbers.",
            "Dear customer,\r\n\r\nOn 4 December 2026 we discovered that an email with names and health data of your clients was sent to an external distribution list.",
            "Hej,\r\n\r\nV\u{e5}r server har hackats. Vi uppt\u{e4}ckte det den 4 december 2026 kl. 14:10. Namn och personnummer kan ha kopierats.",
            "Hej,\r\n\r\nDen 4 december 2026 uppt\u{e4}ckte vi skadlig kod p\u{e5} en server i LabPortalen. Namn och e-postadresser kan ha kopierats.",
            "Hej,\r\n\r\nUppgifter om era brukare har r\u{f6}jts f\u{f6}r en annan kund. Det uppt\u{e4}cktes den 4 december 2026. Ber\u{f6}rda uppgifter \u{e4}r namn och personnummer.",
            "Hej,\r\n\r\nEn b\u{e4}rbar dator med kunduppgifter har stulits ur en bil den 4 december 2026. Datorn inneh\u{f6}ll namn och personnummer.",
            "Hej,\r\n\r\nP\u{e5} grund av ett tekniskt fel kunde andra anv\u{e4}ndare se era brukares namn och personnummer den 4 december 2026 mellan kl. 10 och 12.",
        ] {
            for subject in ["Important information", "Viktig information"] {
                let n = read_str(&mail(subject, body));
                assert_eq!(n.kind, Kind::BreachNotice, "{body:?}");
            }
        }
        for body in [
            "Hi,\r\n\r\nFor sale: 2019 car with anti-theft alarm, heated mirrors and winter tyres. Names of previous owners on request.",
            "Don't fall prey to viruses or hackers! Order our security suite today.",
            "To: undisclosed-recipients\r\n\r\nMinutes of the meeting on 4 December 2026 are attached.",
        ] {
            let n = read_str(&mail("Hello", body));
            assert_eq!(n.kind, Kind::Other, "{body:?}");
        }
    }

    /// A supplier's new notice whose subject or first line names the
    /// software update that caused it is a breach notice: it read as a
    /// follow-up ("uppdatering av", "update on" anywhere in the subject, the
    /// word at the start of the text) and joined the supplier's open case of
    /// the same system, with no clock of its own. A real update stays one.
    #[test]
    fn a_new_notice_about_a_software_update_is_a_breach_notice() {
        let mail = |subject: &str, first: &str| {
            supplier_mail(
                subject,
                &format!(
                "{first}\r\n\r\nVi har uppt\u{e4}ckt att provsvar i LabPortalen visades f\u{f6}r fel patient. \
                 Felet uppt\u{e4}cktes den 4 december 2026 kl. 14:10. Ber\u{f6}rda uppgifter \u{e4}r namn \
                 och personnummer."
                ),
            )
        };
        for (subject, first) in [
            (
                "Personuppgiftsincident vid uppdatering av LabPortalen",
                "Hej,",
            ),
            ("Incident i LabPortalen efter uppdatering 4.2", "Hej,"),
            ("Uppdatering av LabPortalen gav fel mottagare", "Hej,"),
            ("Data exposure after the update on 4 December", "Hej,"),
            (
                "S\u{e4}kerhetsincident",
                "Uppdatering av LabPortalen gjorde att provsvar visades f\u{f6}r fel patient.",
            ),
        ] {
            let n = read_str(&mail(subject, first));
            assert_eq!(n.kind, Kind::BreachNotice, "{subject:?} / {first:?}");
        }
        for (subject, first) in [
            ("Uppdatering om incidenten i LabPortalen", "Hej,"),
            (
                "Personuppgiftsincident LabPortalen \u{2013} uppdatering 2",
                "Hej,",
            ),
            (
                "S\u{e4}kerhetsincident",
                "Uppdatering om incidenten som vi rapporterade.",
            ),
        ] {
            let n = read_str(&mail(subject, first));
            assert_eq!(n.kind, Kind::FollowUp, "{subject:?} / {first:?}");
        }
    }

    /// HTML forwards whose header block is not one block of lines: a table
    /// (Thunderbird, Roundcube), one div or paragraph per line (Apple Mail,
    /// Yahoo, Outlook's paragraphs). The clock starts at the supplier's
    /// Friday 20:05, not at the Monday forward: it did, their lines were read
    /// with blank lines between them (and a table's as "Datum: : …"), and a
    /// blank line ended the header block after its first line.
    #[test]
    fn an_html_forward_with_its_header_lines_in_a_table_or_blocks_starts_the_clock_at_the_notice() {
        let forward = |header: &str| {
            format!(
                "From: Sam Staff <sam@example.test>\r\nTo: breach@example.test\r\n\
                 Subject: VB: S\u{e4}kerhetsincident LabPortalen\r\n\
                 Date: Mon, 07 Dec 2026 08:10:00 +0100\r\nMessage-ID: <t1@example.test>\r\n\
                 MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n\
                 <html><body><p>F\u{f6}r k\u{e4}nnedom.</p>{header}\
                 <p>Vi har uppt\u{e4}ckt obeh\u{f6}rig \u{e5}tkomst till LabPortalen. \
                 Personnummer f\u{f6}r patienter kan ha l\u{e4}sts.</p></body></html>\r\n"
            )
        };
        let row = |label: &str, value: &str| {
            format!(
                "<tr><th valign=\"BASELINE\" nowrap=\"nowrap\" align=\"RIGHT\">{label} </th>\
                 <td>{value}</td></tr>"
            )
        };
        let thunderbird = format!(
            "<div class=\"moz-forward-container\">-------- Vidarebefordrat meddelande --------\
             <table class=\"moz-email-headers-table\" border=\"0\"><tbody>{}{}{}{}</tbody></table><br>",
            row("\u{c4}mne:", "S\u{e4}kerhetsincident LabPortalen"),
            row("Datum:", "Fri, 4 Dec 2026 20:05:00 +0100"),
            row("Fr\u{e5}n:", "Lev Support <a href=\"mailto:support@lev.example\">&lt;support@lev.example&gt;</a>"),
            row("Till:", "breach@example.test"),
        );
        let roundcube = format!(
            "-------- Original Message --------<table border=\"0\"><tbody>{}{}{}{}</tbody></table>",
            row("Subject:", "S\u{e4}kerhetsincident LabPortalen"),
            row("Date:", "2026-12-04 20:05"),
            row("From:", "Lev Support &lt;support@lev.example&gt;"),
            row("To:", "breach@example.test"),
        );
        // Label cells without their own colon.
        let plain_cells =
            "<table><tr><td>Fr\u{e5}n</td><td>Lev Support &lt;support@lev.example&gt;</td></tr>\
             <tr><td>Skickat</td><td>den 4 december 2026 20:05</td></tr>\
             <tr><td>Till</td><td>breach@example.test</td></tr>\
             <tr><td>\u{c4}mne</td><td>S\u{e4}kerhetsincident LabPortalen</td></tr></table>";
        // One block per header line: Apple Mail's divs (a <br> in each),
        // Outlook's paragraphs, Yahoo's divs.
        let apple = "<blockquote type=\"cite\"><div>Vidarebefordrat brev:</div><br>\
             <div style=\"margin:0\"><span><b>Fr\u{e5}n: </b></span><span>Lev Support \
             &lt;<a href=\"mailto:support@lev.example\">support@lev.example</a>&gt;<br></span></div>\
             <div><span><b>\u{c4}mne: </b></span><span><b>S\u{e4}kerhetsincident</b><br></span></div>\
             <div><span><b>Datum: </b></span><span>4 december 2026 kl. 20:05:00 CET<br></span></div>\
             <div><span><b>Till: </b></span><span>breach@example.test<br></span></div><br>";
        let outlook_paragraphs = "<div><p class=MsoNormal><b>Fr\u{e5}n:</b> Lev Support \
             [mailto:support@lev.example] <o:p></o:p></p>\
             <p class=MsoNormal><b>Skickat:</b> den 4 december 2026 20:05<o:p></o:p></p>\
             <p class=MsoNormal><b>Till:</b> Registrator<o:p></o:p></p>\
             <p class=MsoNormal><b>\u{c4}mne:</b> S\u{e4}kerhetsincident<o:p></o:p></p></div>";
        let yahoo = "<div>----- Vidarebefordrat meddelande -----</div>\
             <div><b>Fr\u{e5}n:</b> Lev Support &lt;support@lev.example&gt;</div>\
             <div><b>Till:</b> breach@example.test</div>\
             <div><b>Skickat:</b> fredag 4 december 2026 20:05</div>\
             <div><b>\u{c4}mne:</b> S\u{e4}kerhetsincident</div><div><br></div>";
        for (name, header) in [
            ("thunderbird", thunderbird.as_str()),
            ("roundcube", roundcube.as_str()),
            ("plain cells", plain_cells),
            ("apple", apple),
            ("outlook paragraphs", outlook_paragraphs),
            ("yahoo", yahoo),
        ] {
            let n = read_str(&forward(header));
            let v = json(&n);
            assert_eq!(v["forwarded"], true, "{name}");
            assert_eq!(v["aware_at"], "2026-12-04T20:05:00+01:00", "{name}");
            assert_eq!(v["reporter"]["address"], "support@lev.example", "{name}");
            assert!(n.kind.is_incident(), "{name}: {:?}", n.kind);
        }
    }

    /// A supplier's mail with `body` and one attached file.
    fn mail_with_file(subject: &str, body: &str, ctype: &str, name: &str, file: &[u8]) -> String {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD.encode(file);
        let lines: Vec<&str> = b64
            .as_bytes()
            .chunks(76)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        format!(
            "From: Journalia Support <support@journalia.example>\r\nTo: breach@example.test\r\n\
             Subject: {subject}\r\nDate: Fri, 04 Dec 2026 09:05:00 +0100\r\n\
             Message-ID: <w@journalia.example>\r\nMIME-Version: 1.0\r\n\
             Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
             --b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n\
             --b\r\nContent-Type: {ctype}; name=\"{name}\"\r\n\
             Content-Disposition: attachment; filename=\"{name}\"\r\n\
             Content-Transfer-Encoding: base64\r\n\r\n{}\r\n--b--\r\n",
            lines.join("\r\n")
        )
    }

    /// A notice attached as a PDF is read through the shell's reader (a
    /// child process in the daemon, `crate::pdf`; here a function giving
    /// the text `pdf-extract` gives of the LibreOffice export of
    /// `notices-extra/e14`'s form, its table cells a space apart and its
    /// wrapped lines broken): its rows read as the Word form's.
    #[test]
    fn a_notice_in_an_attached_pdf_is_read_through_the_shells_reader() {
        const EXTRACTED: &str = "\n\nRapport om personuppgiftsincident\nRapport från personuppgiftsbiträde till personuppgiftsansvarig enligt \npersonuppgiftsbiträdesavtalet.\n\nPersonuppgiftsansvarig Vallsjö kommun, socialnämnden\nPersonuppgiftsbiträde Tidvis Nordic AB\nBerört system Tidvis Mobil (appen för \nhemtjänstens journalanteckningar)\nNär inträffade incidenten? 2026-12-02 kl. 22:00 – 2026-12-03 \nkl. 13:45\nNär upptäcktes incidenten? 2026-12-03 kl. 14:20\nPågår incidenten? Nej. Åtkomsten stängdes 2026-12-\n03 kl. 13:45.\nAntal berörda registrerade Cirka 2 300\nKategorier av registrerade Brukare inom hemtjänsten\nKategorier av personuppgifter Namn, personnummer och uppgifter\nom hälsa (journalanteckningar)\nOrsak Antagonistiskt angrepp: en obehörig\nperson loggade in på ett \nadministratörskonto med stulna \ninloggningsuppgifter.\nVidtagna åtgärder Kontot är spärrat, alla \nadministratörslösenord är bytta och \ntvåfaktorsinloggning krävs nu för \nadministratörer.\nVår referens TV-INC-2026-041\n\nBeskrivning av händelsen\nDen 3 december kl. 14:20 larmade vår övervakning om ovanliga exporter \nfrån Tidvis Mobil. Vår utredning visar att exporterna gjordes av en obehörig \nperson.\n\nKontaktperson: Lena Holm, informationssäkerhetsansvarig";
        let file: &[u8] = b"%PDF-1.6\n%\xe4\xfc\n1 0 obj\n<<>>\nendobj\n%%EOF\n";
        let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let seen = calls.clone();
        let reader = PdfReader::new(move |bytes: &[u8]| {
            seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            // The decoded file, not its base64.
            (bytes == file).then(|| EXTRACTED.to_string())
        });
        let with = ReadOptions {
            pdf: Some(reader),
            ..ReadOptions::default()
        };
        let cover = "Hej,\r\n\r\nSe bifogad incidentrapport.\r\n\r\nTidvis Support";
        let raw = mail_with_file(
            "Incidentrapport",
            cover,
            "application/pdf",
            "Rapport.pdf",
            file,
        );
        let n = read(raw.as_bytes(), &with).unwrap();
        assert_eq!(n.kind, Kind::BreachNotice);
        assert_eq!(n.document_read.as_deref(), Some("Rapport.pdf"));
        let i = &n.incident;
        assert_eq!(
            i.discovered_at.map(|t| t.to_rfc3339()),
            Some("2026-12-03T13:20:00+00:00".into())
        );
        assert_eq!(
            (
                i.occurred_from.map(|t| t.to_rfc3339()),
                i.occurred_to.map(|t| t.to_rfc3339())
            ),
            (
                Some("2026-12-02T21:00:00+00:00".into()),
                Some("2026-12-03T12:45:00+00:00".into())
            )
        );
        assert_eq!(
            i.data_subjects.as_ref().map(|r| (r.min, r.max)),
            Some((Some(2300), Some(2300)))
        );
        let categories = serde_json::to_string(&i.data_categories).unwrap();
        for c in ["identification", "personal_identity_number", "health"] {
            assert!(categories.contains(c), "{categories}");
        }
        assert_eq!(i.systems, vec!["Tidvis Mobil".to_string()]);
        assert_eq!(i.ongoing, Some(false));
        let d = &n.details;
        assert_eq!(
            d.measures,
            vec!["Kontot är spärrat, alla administratörslösenord är bytta och tvåfaktorsinloggning krävs nu för administratörer."]
        );
        assert_eq!(
            d.cause_text.as_deref(),
            Some("Antagonistiskt angrepp: en obehörig person loggade in på ett administratörskonto med stulna inloggningsuppgifter.")
        );
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 1);
        // Without a reader the PDF is named, not read.
        let n = read_str(&raw);
        assert_eq!(n.kind, Kind::BreachNotice);
        assert_eq!(n.document_read, None);
        assert_eq!(n.incident.data_subjects, None);
        assert_eq!(n.documents, vec!["Rapport.pdf".to_string()]);
        // A file called a PDF that does not start like one is not handed
        // to the reader; nor is a PDF of other mail that names no incident
        // and whose text the reader finds none of.
        let not_pdf = mail_with_file(
            "Incidentrapport",
            cover,
            "application/pdf",
            "x.pdf",
            b"PK\x03\x04",
        );
        let n = read(not_pdf.as_bytes(), &with).unwrap();
        assert_eq!(n.document_read, None);
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 1);
        let nothing = ReadOptions {
            pdf: Some(PdfReader::new(|_: &[u8]| None)),
            ..ReadOptions::default()
        };
        let n = read(raw.as_bytes(), &nothing).unwrap();
        assert_eq!(n.document_read, None);
        assert_eq!(n.incident.data_subjects, None);
        // A covering mail that names no incident, with a PDF whose text
        // does: a notice, read from the file.
        let bare = "Hej,\r\n\r\nHär kommer rapporten enligt avtalet.\r\n\r\nTidvis Support";
        let raw = mail_with_file(
            "Rapport",
            bare,
            "application/octet-stream",
            "rapport.PDF",
            file,
        );
        let n = read(raw.as_bytes(), &with).unwrap();
        assert_eq!(n.kind, Kind::BreachNotice);
        assert_eq!(n.document_read.as_deref(), Some("rapport.PDF"));
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 2);
        // Mail that names no incident and no report (an invoice, a
        // newsletter with a PDF) does not cost a child process.
        for (subject, body) in [
            (
                "Faktura 2026-118",
                "Hej,\r\n\r\nBifogad faktura för november.\r\n",
            ),
            (
                "Nyhetsbrev december",
                "Hej,\r\n\r\nHär kommer vårt nyhetsbrev.\r\n",
            ),
        ] {
            let raw = mail_with_file(subject, body, "application/pdf", "x.pdf", file);
            let n = read(raw.as_bytes(), &with).unwrap();
            assert_eq!(n.kind, Kind::Other, "{subject}");
        }
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 2);
    }

    fn read_str(s: &str) -> Notice {
        read(s.as_bytes(), &ReadOptions::default()).unwrap()
    }

    /// A plain-text mail from a supplier straight to the mailbox.
    fn supplier_mail(subject: &str, body: &str) -> String {
        format!(
            "From: Provlabb <support@provlabb.example>\r\nTo: breach@example.test\r\n\
             Subject: {subject}\r\nDate: Fri, 04 Dec 2026 20:05:00 +0100\r\n\
             Message-ID: <s@provlabb.example>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
             {body}\r\n"
        )
    }

    fn json(n: &Notice) -> serde_json::Value {
        present::to_contract_json(n, chrono_tz::Europe::Stockholm)
    }

    #[test]
    fn deadline_across_spring_dst_2026_is_73_wall_hours() {
        let n = read_str("From: a@x.example\nDate: Fri, 27 Mar 2026 10:00:00 +0100\nSubject: Intrång\n\nVi har drabbats av ett intrång.\n");
        let v = json(&n);
        assert_eq!(v["aware_at"], "2026-03-27T10:00:00+01:00");
        assert_eq!(v["deadline_at"], "2026-03-30T11:00:00+02:00");
    }

    #[test]
    fn deadline_across_autumn_dst_2026_is_71_wall_hours() {
        let n = read_str("From: a@x.example\nDate: Fri, 23 Oct 2026 18:00:00 +0200\nSubject: Intrång\n\nVi har drabbats av ett intrång.\n");
        let v = json(&n);
        assert_eq!(v["deadline_at"], "2026-10-26T17:00:00+01:00");
    }

    #[test]
    fn delivered_at_overrides_date_header() {
        let opts = ReadOptions {
            delivered_at: DateTime::parse_from_rfc3339("2026-01-02T03:04:05Z")
                .ok()
                .map(|d| d.with_timezone(&Utc)),
            ..ReadOptions::default()
        };
        let n = read(
            b"From: a@x.example\nDate: Thu, 1 Jan 2026 10:00:00 +0100\nSubject: x\n\nhej\n",
            &opts,
        )
        .unwrap();
        assert_eq!(n.received_at, opts.delivered_at);
        assert_eq!(n.aware_at, opts.delivered_at);
    }

    #[test]
    fn threading_and_never_answer() {
        let n = read_str("From: a@x.example\nDate: Thu, 1 Jan 2026 10:00:00 +0100\nSubject: SV: Fråga\nIn-Reply-To: <p1@x>\nReferences: <p0@x> <p1@x>\nAuto-Submitted: auto-generated\n\nText\n");
        assert_eq!(n.threading.parent_ids, ["p1@x", "p0@x", "p1@x"]);
        assert!(n.threading.never_answer);
        assert_ne!(
            n.kind,
            Kind::AutoReply,
            "auto-generated alone is not an auto reply"
        );
        let n = read_str("From: a@x.example\nSubject: News\nPrecedence: bulk\n\nText\n");
        assert!(n.threading.never_answer);
        assert_ne!(n.kind, Kind::AutoReply);
        let n = read_str("From: a@x.example\nSubject: Re: x\nAuto-Submitted: no\n\nText\n");
        assert!(!n.threading.never_answer);
    }

    #[test]
    fn parent_ids_are_bounded_and_keep_the_nearest_ancestors() {
        let refs: Vec<String> = (0..500_000).map(|i| format!("<r{i}@x>")).collect();
        let n = read_str(&format!(
            "From: a@x.example\nSubject: SV: x\nIn-Reply-To: <p@x>\nReferences: {}\n\nText\n",
            refs.join(" ")
        ));
        let ids = &n.threading.parent_ids;
        assert_eq!(ids.len(), 1 + MAX_REFERENCES_IDS);
        assert!(ids.len() <= MAX_PARENT_IDS);
        assert_eq!(ids[0], "p@x", "In-Reply-To first");
        assert_eq!(ids[1], format!("r{}@x", 500_000 - MAX_REFERENCES_IDS));
        assert_eq!(ids.last().map(String::as_str), Some("r499999@x"));
        // An id no header line can hold is not an id.
        let long = "x".repeat(2000);
        let n = read_str(&format!(
            "From: a@x.example\nSubject: x\nIn-Reply-To: <{long}@x>\n\nText\n"
        ));
        assert!(n.threading.parent_ids.is_empty());
    }

    #[test]
    fn an_overlong_message_id_is_none_and_a_long_name_is_shortened() {
        let n = read_str(&format!(
            "From: \"{}\" <a@x.example>\nMessage-ID: <{}@x>\nSubject: x\n\nText\n",
            "Namn ".repeat(10_000),
            "i".repeat(5_000)
        ));
        assert_eq!(n.message_id, None);
        let name = n.sender.name.unwrap();
        assert!(
            name.chars().count() <= bounded::MAX_NAME_CHARS + 1,
            "{name}"
        );
        assert!(name.starts_with("Namn Namn"));
        let n = read_str("From: \"Sam  Staff\" <a@x.example>\nMessage-ID: <m@x>\n\nText\n");
        assert_eq!(n.message_id.as_deref(), Some("<m@x>"));
        assert_eq!(n.sender.name.as_deref(), Some("Sam Staff"));
    }

    #[test]
    fn a_forwarded_reporter_with_a_huge_name_is_bounded() {
        let n = read_str(&format!(
            "From: Sam Staff <staff@example.test>\nSubject: VB: Intrång\nDate: Mon, 21 Jun 2021 07:09:14 +0200\n\n\
Se nedan.\n\n________________________________\nFrån: {} <noreply@provdata.example>\n\
Skickat: den 20 juni 2021 09:24\nTill: IT <it@example.test>\nÄmne: Intrång\n\nDataintrång i ProvWeb.\n",
            "Kundservice ".repeat(5_000)
        ));
        assert_eq!(
            n.reporter.address.as_deref(),
            Some("noreply@provdata.example"),
            "the forward was read"
        );
        let name = n.reporter.name.unwrap_or_default();
        assert!(
            name.chars().count() <= bounded::MAX_NAME_CHARS + 1,
            "{}",
            name.len()
        );
        if let Some(o) = n.reporter.organisation {
            assert!(
                o.chars().count() <= bounded::MAX_NAME_CHARS + 1,
                "{}",
                o.len()
            );
        }
    }

    #[test]
    fn a_quoted_local_part_is_kept_as_written_not_cut_to_the_domain() {
        for from in [
            "From: \"staff member\"@Example.test\n",
            "From: Staff <\"staff member\"@example.test>\n",
            "From: Staff\n <\"staff member\"@example.test>\n",
        ] {
            let n = read_str(&format!("{from}Subject: x\n\nText\n"));
            assert_eq!(
                n.sender.address.as_deref(),
                Some("\"staff member\"@example.test"),
                "{from}"
            );
            assert!(crate::core::types::PlainAddress::parse(
                n.sender.address.as_deref().unwrap_or("")
            )
            .is_err());
        }
    }

    #[test]
    fn a_sender_address_longer_than_any_address_is_none() {
        let n = read_str(&format!(
            "From: {}@x.example\nSubject: x\n\nText\n",
            "a".repeat(100_000)
        ));
        assert_eq!(n.sender.address, None);
        let n = read_str("From: A@X.example\nSubject: x\n\nText\n");
        assert_eq!(n.sender.address.as_deref(), Some("a@x.example"));
    }

    #[test]
    fn auto_replies_and_reports() {
        let n =
            read_str("From: a@x.example\nSubject: Automatiskt svar: Intrång\n\nJag är ledig.\n");
        assert_eq!(n.kind, Kind::AutoReply);
        let mdn = "From: a@x.example\nSubject: Läst: x\nContent-Type: multipart/report; report-type=disposition-notification; boundary=b\n\n--b\nContent-Type: text/plain\n\nLäst.\n--b--\n";
        let n = read_str(mdn);
        assert_eq!(n.kind, Kind::AutoReply);
        assert!(n.threading.never_answer);
    }

    #[test]
    fn not_a_message_is_an_error_and_odd_mail_is_data() {
        assert!(read(b"", &ReadOptions::default()).is_err());
        assert!(read(
            b"just some text\nwithout headers\n",
            &ReadOptions::default()
        )
        .is_err());
        assert!(read(&[0xff, 0xfe, 0x00, 0x01], &ReadOptions::default()).is_err());
        // no Date, broken MIME, 8-bit junk: still read
        let n = read(
            b"Subject: \xff\xfe broken\nContent-Type: multipart/mixed; boundary=\"x\"\n\n--x\nContent-Type: text/plain\n\n\xc3\x28 kl. 99:99 den 31 februari\n",
            &ReadOptions::default(),
        )
        .unwrap();
        assert_eq!(n.received_at, None);
        let _ = json(&n);
    }

    #[test]
    fn case_ref_from_subject_or_body() {
        let n = read_str(
            "From: a@x.example\nSubject: Svar\n\nAngående PUI-2026-0042: vi har rättat felet.\n",
        );
        assert_eq!(n.case_ref.as_deref(), Some("PUI-2026-0042"));
    }
}
