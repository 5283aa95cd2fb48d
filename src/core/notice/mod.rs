//! Reading a notice: one raw RFC 5322 message in, a [`Notice`] out (kind, forward
//! chain, awareness time, facts with evidence). This is THE function both
//! `breachwatch inspect` and the daemon's ingest call; there is no second reader.
//!
//! Total: odd mail is data, not an error. Only input that is not a message at all
//! gives [`ReadError`].

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::Serialize;

pub mod present;

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
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            tz: chrono_tz::Europe::Stockholm,
            delivered_at: None,
            case_ref_prefix: "PUI".into(),
            suppliers: Vec::new(),
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
    pub kind: Kind,
    pub language: Option<Language>,
    pub forwarded: bool,
    pub received_at: Option<DateTime<Utc>>,
    /// Earliest receipt in the forward chain, else `received_at`.
    pub aware_at: Option<DateTime<Utc>>,
    pub sender: Person,
    pub reporter: Reporter,
    pub case_ref: Option<String>,
    pub incident: Incident,
    pub threading: Threading,
    pub evidence: Vec<Evidence>,
    /// Plain text of the notice (the innermost forwarded body when forwarded),
    /// for the case timeline. Never logged.
    pub body_text: String,
}

/// Reads one raw message.
pub fn read(raw: &[u8], opts: &ReadOptions) -> Result<Notice, ReadError> {
    let msg = mail_parser::MessageParser::default()
        .parse(raw)
        .ok_or_else(|| ReadError::NotAMessage("no headers could be parsed".into()))?;
    if msg.headers().is_empty() {
        return Err(ReadError::NotAMessage("no headers".into()));
    }
    let date = msg
        .date()
        .and_then(|d| DateTime::from_timestamp(d.to_timestamp(), 0));
    let received_at = opts.delivered_at.or(date);
    let from = msg.from().and_then(|a| a.first());
    let sender = Person {
        name: from.and_then(|a| a.name()).map(str::to_string),
        address: from.and_then(|a| a.address()).map(str::to_lowercase),
    };
    let subject = msg.subject().map(str::to_string);
    let mut parent_ids: Vec<String> = Vec::new();
    for h in [msg.in_reply_to(), msg.references()] {
        if let Some(list) = h.as_text_list() {
            parent_ids.extend(list.iter().map(|s| s.to_string()));
        } else if let Some(t) = h.as_text() {
            parent_ids.push(t.to_string());
        }
    }
    let auto = msg
        .header_raw("Auto-Submitted")
        .map(|v| !v.trim().eq_ignore_ascii_case("no"))
        .unwrap_or(false);
    let body_text = msg.body_text(0).map(|c| c.into_owned()).unwrap_or_default();
    let case_ref = subject
        .as_deref()
        .and_then(|s| find_case_ref(&opts.case_ref_prefix, s));
    let kind = if auto {
        Kind::AutoReply
    } else if case_ref.is_some() || !parent_ids.is_empty() {
        Kind::FollowUp
    } else {
        Kind::BreachNotice
    };
    Ok(Notice {
        message_id: msg.message_id().map(|m| format!("<{m}>")),
        kind,
        language: None,
        forwarded: false,
        received_at,
        aware_at: received_at,
        sender: sender.clone(),
        reporter: Reporter {
            name: sender.name,
            address: sender.address,
            organisation: None,
        },
        case_ref,
        incident: Incident::default(),
        threading: Threading {
            subject,
            parent_ids,
            never_answer: auto,
        },
        evidence: Vec::new(),
        body_text,
    })
}

fn find_case_ref(prefix: &str, text: &str) -> Option<String> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .find_map(|w| crate::core::types::CaseRef::parse(prefix, w))
        .map(|r| r.to_string())
}
