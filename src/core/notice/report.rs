//! A member of staff's own report of an incident (the web view's "report an
//! incident" form) as the same [`Notice`] the reader makes of a forwarded
//! notice, plus the RFC 5322 record of it that the message row keeps. From
//! here on it is a notice like any other: the same lookups, routing, intake
//! plan, acknowledgement and clock (`workers::ingest::Pipeline::handle_report`).
//!
//! Awareness is the discovery time the reporter gives, never later than the
//! submission. Every value is bounded and normalised here, once.

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

use super::{
    details, Evidence, Incident, Kind, Language, Notice, Person, Range, Reporter, Threading,
};
use crate::core::bounded;
use crate::core::text::report as words;

/// What happened: at most this many characters are kept.
pub const MAX_WHAT_CHARS: usize = 10_000;
/// Which people and data: at most this many characters.
pub const MAX_PEOPLE_CHARS: usize = 2_000;
/// A count above this is not a count of people.
pub const MAX_COUNT: u64 = 100_000_000;
/// A discovery further back than this is a typo (the form offers a picker).
pub const MAX_DISCOVERY_AGE_DAYS: i64 = 366;

/// The data categories the form offers (the reader's vocabulary).
pub const CATEGORIES: [&str; 9] = [
    "identification",
    "personal_identity_number",
    "contact_details",
    "health",
    "financial",
    "credentials",
    "children_private_circumstances",
    "criminal_offences",
    "location",
];

/// The form as submitted (each field as the browser sent it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReportForm {
    /// What happened (required).
    pub what: String,
    /// When it was discovered, `YYYY-MM-DDTHH:MM` in the configured zone (required).
    pub discovered: String,
    /// Which system.
    pub system: String,
    /// Which people and which data, in the reporter's words.
    pub people: String,
    /// How many people, if known (digits).
    pub count: String,
    /// Values of [`CATEGORIES`]; anything else is ignored.
    pub categories: Vec<String>,
    /// `yes`, `no` or anything else (not known).
    pub ongoing: String,
}

/// Why a form cannot become a notice (the form is shown again with these).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ReportError {
    #[error("what happened is missing")]
    WhatMissing,
    #[error("the discovery time is missing or not a time")]
    DiscoveredUnreadable,
    #[error("the discovery time is later than now")]
    DiscoveredInFuture,
    #[error("the discovery time is more than a year ago")]
    DiscoveredTooOld,
    #[error("the number of people is not a number")]
    CountUnreadable,
}

impl ReportError {
    /// The form field the error belongs to.
    pub fn field(self) -> &'static str {
        match self {
            ReportError::WhatMissing => "what",
            ReportError::DiscoveredUnreadable
            | ReportError::DiscoveredInFuture
            | ReportError::DiscoveredTooOld => "discovered",
            ReportError::CountUnreadable => "count",
        }
    }
}

/// A report made into a notice, with its raw record.
#[derive(Debug, Clone)]
pub struct Report {
    pub notice: Notice,
    /// The RFC 5322 text kept as the message row's raw bytes.
    pub raw: Vec<u8>,
}

/// A local `YYYY-MM-DDTHH:MM` (seconds allowed) in `tz`; in the hour a DST
/// change repeats, the earlier instant; a time the change skips is read an
/// hour later (what the clock on the wall showed).
pub fn parse_local(s: &str, tz: Tz) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if s.len() > 32 {
        return None;
    }
    let naive = NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S"))
        .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M"))
        .ok()?;
    match tz.from_local_datetime(&naive) {
        chrono::LocalResult::Single(t) => Some(t.with_timezone(&Utc)),
        chrono::LocalResult::Ambiguous(a, _) => Some(a.with_timezone(&Utc)),
        chrono::LocalResult::None => {
            let later = naive.checked_add_signed(chrono::Duration::hours(1))?;
            tz.from_local_datetime(&later)
                .earliest()
                .map(|t| t.with_timezone(&Utc))
        }
    }
}

/// Text kept as the reporter wrote it, bounded (lines kept, control
/// characters other than line breaks and tabs dropped).
fn block(s: &str, max: usize) -> String {
    let clean: String = s
        .replace("\r\n", "\n")
        .chars()
        .filter(|c| !c.is_control() || *c == '\n' || *c == '\t')
        .collect();
    bounded::cut_text(clean.trim(), max).into_owned()
}

/// Builds the notice of a report by `reporter` (a signed-in, plain address)
/// submitted at `now`. `message_id` is the id the shell made for it (without
/// angle brackets). Every problem of the form is returned at once.
pub fn build(
    form: &ReportForm,
    reporter: &str,
    reporter_name: Option<&str>,
    message_id: &str,
    tz: Tz,
    now: DateTime<Utc>,
) -> Result<Report, Vec<ReportError>> {
    let mut errors = Vec::new();
    let what = block(&form.what, MAX_WHAT_CHARS);
    if what.is_empty() {
        errors.push(ReportError::WhatMissing);
    }
    let discovered = match parse_local(&form.discovered, tz) {
        None => {
            errors.push(ReportError::DiscoveredUnreadable);
            None
        }
        // A minute of grace for a clock a little ahead of ours.
        Some(t) if t > now + chrono::Duration::minutes(1) => {
            errors.push(ReportError::DiscoveredInFuture);
            None
        }
        Some(t) if t < now - chrono::Duration::days(MAX_DISCOVERY_AGE_DAYS) => {
            errors.push(ReportError::DiscoveredTooOld);
            None
        }
        Some(t) => Some(t.min(now)),
    };
    let count_text = form.count.trim();
    let count = if count_text.is_empty() {
        None
    } else {
        match count_text.replace([' ', '\u{a0}'], "").parse::<u64>() {
            Ok(n) if n <= MAX_COUNT => Some(n),
            _ => {
                errors.push(ReportError::CountUnreadable);
                None
            }
        }
    };
    let Some(discovered) = discovered.filter(|_| errors.is_empty()) else {
        return Err(errors);
    };
    let system = bounded::one_line(form.system.trim(), bounded::MAX_NAME_CHARS);
    let people = block(&form.people, MAX_PEOPLE_CHARS);
    let mut categories: Vec<String> = Vec::new();
    for c in &form.categories {
        let c = c.trim();
        if CATEGORIES.contains(&c) && !categories.iter().any(|k| k == c) {
            categories.push(c.to_string());
        }
    }
    // Kept in the order of the form, not of the browser.
    categories.sort_by_key(|c| CATEGORIES.iter().position(|k| k == c));
    let ongoing = match form.ongoing.trim() {
        "yes" => Some(true),
        "no" => Some(false),
        _ => None,
    };
    let reporter = reporter.trim().to_lowercase();
    let name = reporter_name.map(|n| bounded::one_line(n, bounded::MAX_NAME_CHARS));

    let discovered_local = crate::core::local_time::minute(discovered, tz);
    let lines = words::Lines {
        reporter: &reporter,
        discovered: &discovered_local,
        system: &system,
        people: &people,
        count,
        categories: &categories,
        ongoing,
        what: &what,
    };
    let body = words::body(&lines);
    let subject = words::subject(&system, &what);

    let mut evidence = vec![
        Evidence {
            field: "aware_at".into(),
            text: words::evidence_aware(&reporter, &discovered_local),
        },
        Evidence {
            field: "discovered_at".into(),
            text: format!("{}: {discovered_local}", words::DISCOVERED),
        },
    ];
    if !system.is_empty() {
        evidence.push(Evidence {
            field: "systems".into(),
            text: format!("{}: {system}", words::SYSTEM),
        });
    }
    if !categories.is_empty() || !people.is_empty() {
        evidence.push(Evidence {
            field: "data_categories".into(),
            text: format!(
                "{}: {}",
                words::PEOPLE,
                bounded::one_line(&people, bounded::MAX_NAME_CHARS)
            ),
        });
    }
    if let Some(n) = count {
        evidence.push(Evidence {
            field: "data_subjects".into(),
            text: format!("{}: {n}", words::COUNT),
        });
    }
    if let Some(o) = ongoing {
        evidence.push(Evidence {
            field: "ongoing".into(),
            text: format!("{}: {}", words::ONGOING, words::yes_no(o)),
        });
    }

    let raw = raw_record(&reporter, &subject, message_id, now, &body);
    let notice = Notice {
        message_id: Some(format!("<{message_id}>")),
        notice_message_id: Some(message_id.to_string()),
        kind: Kind::BreachNotice,
        language: Some(Language::Sv),
        forwarded: false,
        received_at: Some(now),
        aware_at: Some(discovered),
        ignored_chain_times: Vec::new(),
        sender: Person {
            name: name.clone(),
            address: Some(reporter.clone()),
        },
        reporter: Reporter {
            name,
            address: Some(reporter.clone()),
            organisation: None,
        },
        case_ref: None,
        incident: Incident {
            discovered_at: Some(discovered),
            occurred_from: None,
            occurred_to: None,
            ongoing,
            systems: if system.is_empty() {
                Vec::new()
            } else {
                vec![system]
            },
            data_categories: categories,
            data_subjects: count.map(|n| Range {
                min: Some(n),
                max: Some(n),
            }),
            cause: None,
        },
        details: details::Details::default(),
        threading: Threading {
            subject: Some(subject),
            parent_ids: Vec::new(),
            never_answer: false,
        },
        evidence,
        notice_text_hash: crate::core::series::text_hash(&body),
        body_text: body,
        reply_text: String::new(),
        origin: crate::core::auth::Origin::default(),
        documents: Vec::new(),
        document_read: None,
        says_new_incident: false,
    };
    Ok(Report { notice, raw })
}

/// The report as a message: what the message row keeps and `inspect` can read.
fn raw_record(
    reporter: &str,
    subject: &str,
    message_id: &str,
    now: DateTime<Utc>,
    body: &str,
) -> Vec<u8> {
    use base64::Engine;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s.as_bytes());
    // Addresses come signed in and plain; the id is ours. Nothing else goes
    // into a header line unencoded.
    let mut out = String::new();
    out.push_str(&format!("From: <{reporter}>\r\n"));
    out.push_str(&format!("Subject: =?utf-8?B?{}?=\r\n", b64(subject)));
    out.push_str(&format!("Date: {}\r\n", now.to_rfc2822()));
    out.push_str(&format!("Message-ID: <{message_id}>\r\n"));
    out.push_str("X-Breachwatch-Via: web\r\n");
    out.push_str("MIME-Version: 1.0\r\n");
    out.push_str("Content-Type: text/plain; charset=utf-8\r\n");
    out.push_str("Content-Transfer-Encoding: base64\r\n\r\n");
    let encoded = b64(body);
    for chunk in encoded.as_bytes().chunks(76) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or(""));
        out.push_str("\r\n");
    }
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 30, 9, 0, 0).unwrap()
    }

    fn form() -> ReportForm {
        ReportForm {
            what: "Elevlistor skickades till fel vårdnadshavare.".into(),
            discovered: "2026-03-29T14:30".into(),
            system: "Skolportalen\nX".into(),
            people: "Elever i årskurs 4 och deras vårdnadshavare".into(),
            count: "1 200".into(),
            categories: vec![
                "health".into(),
                "identification".into(),
                "<script>".into(),
                "health".into(),
            ],
            ongoing: "no".into(),
        }
    }

    #[test]
    fn a_report_is_a_breach_notice_aware_from_its_discovery() {
        let tz = chrono_tz::Europe::Stockholm;
        let r = build(
            &form(),
            "Anna@Kommun.test",
            Some("Anna"),
            "web-1@bw",
            tz,
            now(),
        )
        .unwrap();
        let n = &r.notice;
        assert_eq!(n.kind, Kind::BreachNotice);
        // 14:30 CEST (the day after the spring change) is 12:30 UTC.
        let disc = Utc.with_ymd_and_hms(2026, 3, 29, 12, 30, 0).unwrap();
        assert_eq!(n.aware_at, Some(disc));
        assert_eq!(n.incident.discovered_at, Some(disc));
        assert_eq!(n.received_at, Some(now()));
        assert_eq!(n.sender.address.as_deref(), Some("anna@kommun.test"));
        assert_eq!(n.incident.systems, vec!["Skolportalen X".to_string()]);
        assert_eq!(n.incident.data_categories, vec!["identification", "health"]);
        assert_eq!(
            n.incident.data_subjects,
            Some(Range {
                min: Some(1200),
                max: Some(1200)
            })
        );
        assert_eq!(n.incident.ongoing, Some(false));
        assert_eq!(n.message_id.as_deref(), Some("<web-1@bw>"));
        assert!(n.evidence.iter().any(|e| e.field == "systems"));
        // The record reads back as a message with the same id and sender.
        let back = crate::core::notice::read(&r.raw, &Default::default()).unwrap();
        assert_eq!(back.message_id, n.message_id);
        assert_eq!(back.sender.address, n.sender.address);
        assert!(back.body_text.contains("Elevlistor"), "{}", back.body_text);
        assert_eq!(back.threading.subject, n.threading.subject);
    }

    #[test]
    fn awareness_is_never_later_than_the_submission_and_the_form_is_checked() {
        let tz = chrono_tz::Europe::Stockholm;
        let mut f = form();
        // Within the minute of grace: clamped to the submission.
        f.discovered = "2026-03-30T11:00:30".into();
        let r = build(&f, "a@k.test", None, "x@y", tz, now()).unwrap();
        assert_eq!(r.notice.aware_at, Some(now()));
        f.discovered = "2026-03-30T12:00".into();
        let e = build(&f, "a@k.test", None, "x@y", tz, now()).unwrap_err();
        assert_eq!(e, vec![ReportError::DiscoveredInFuture]);
        let bad = ReportForm {
            what: "  \r\n ".into(),
            discovered: "igår".into(),
            count: "många".into(),
            ..Default::default()
        };
        let e = build(&bad, "a@k.test", None, "x@y", tz, now()).unwrap_err();
        assert_eq!(
            e,
            vec![
                ReportError::WhatMissing,
                ReportError::DiscoveredUnreadable,
                ReportError::CountUnreadable
            ]
        );
        f.discovered = "2024-01-01T10:00".into();
        let e = build(&f, "a@k.test", None, "x@y", tz, now()).unwrap_err();
        assert_eq!(e, vec![ReportError::DiscoveredTooOld]);
    }

    #[test]
    fn local_times_across_dst() {
        let tz = chrono_tz::Europe::Stockholm;
        // Skipped hour (2026-03-29 02:30 does not exist): read as 03:30 CEST.
        assert_eq!(
            parse_local("2026-03-29T02:30", tz),
            Some(Utc.with_ymd_and_hms(2026, 3, 29, 1, 30, 0).unwrap())
        );
        // Repeated hour (2026-10-25 02:30): the earlier, CEST.
        assert_eq!(
            parse_local("2026-10-25T02:30", tz),
            Some(Utc.with_ymd_and_hms(2026, 10, 25, 0, 30, 0).unwrap())
        );
        assert_eq!(parse_local("", tz), None);
        assert_eq!(parse_local(&"9".repeat(1000), tz), None);
    }

    proptest::proptest! {
        #[test]
        fn any_form_never_panics(what in ".{0,300}", disc in ".{0,40}", sys in ".{0,300}", count in ".{0,20}", cat in ".{0,30}") {
            let f = ReportForm { what, discovered: disc, system: sys, people: String::new(), count, categories: vec![cat], ongoing: "yes".into() };
            let _ = build(&f, "a@k.test", None, "x@y", chrono_tz::Europe::Stockholm, now());
        }
    }
}
