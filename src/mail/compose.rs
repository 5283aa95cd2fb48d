//! Outgoing mail: drafts (recipients, subject, text, attachments) put
//! together from the sentences in `core::text`, and the formatted RFC 5322
//! bytes stored in the outbox. Every mail carries `Auto-Submitted:
//! auto-generated`, `[REF]` in the subject and a Message-ID fixed when the row is
//! written; nothing is ever addressed outside the internal domains.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::Message;

use crate::core::auth::Role;
use crate::core::bounded::short_subject;
use crate::core::clock;
use crate::core::event::EventKind;
use crate::core::routing::Route;
use crate::core::types::{mailable, CaseRef, PlainAddress};
use crate::store::{Composed, NewEvent, OutboxMail};

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

/// [`format_registered`] as a transaction queues it: the mail, or, when it
/// cannot be composed, no mail and the event that says why (never an error
/// that could fail the transaction).
pub fn registered_or_dropped(
    sender: &Sender,
    case_ref: &CaseRef,
    diarienummer: Option<&str>,
    d: Draft,
) -> Composed {
    match format_registered(sender, case_ref, diarienummer, d) {
        Ok(m) => Composed::mails(vec![m]),
        Err(e) => Composed {
            mails: Vec::new(),
            events: vec![dropped_event(&e)],
        },
    }
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

use crate::core::text::mail as text;
pub use crate::core::text::mail::CaseFacts;

/// The opening notice to the official, DPO (and coordinator) on the route,
/// with the documents that go with it (none when they could not be made; the
/// text then says how to get them).
pub fn opening_notice(
    s: &Sender,
    f: &CaseFacts<'_>,
    now: DateTime<Utc>,
    attachments: Vec<Attachment>,
) -> Draft {
    let names: Vec<String> = attachments.iter().map(|a| a.file_name.clone()).collect();
    // Copies to the DPO and the coordinator: the official is addressed, and
    // the deputy hears only of escalations.
    let cc = f
        .route
        .roster()
        .filter(|(role, _)| matches!(role, Role::Dpo | Role::Coordinator))
        .map(|(_, c)| c.address.clone())
        .collect();
    Draft {
        dedupe_key: format!("{}/opening", f.case_ref),
        purpose: "opening".into(),
        to: vec![f.route.official.address.clone()],
        cc,
        subject: text::opening_subject(f, now),
        text: text::opening_text(s.tz, f, now, &names),
        in_reply_to: None,
        attachments,
    }
}

/// The acknowledgement to the person who forwarded the notice (or the DPO when a
/// supplier wrote directly).
pub fn acknowledgement(s: &Sender, f: &CaseFacts<'_>, to: &str, direct: bool) -> Draft {
    Draft {
        dedupe_key: format!("{}/ack", f.case_ref),
        purpose: "acknowledgement".into(),
        to: vec![to.to_string()],
        cc: vec![],
        subject: text::acknowledgement_subject(f.subject),
        text: text::acknowledgement_text(s.tz, f, direct),
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
    let (subject, text) = text::reminder(s.tz, case_ref, aware_at, r, unacknowledged, now);
    let mut cc = vec![route.dpo.address.clone()];
    if r.overdue || unacknowledged {
        cc.push(route.deputy.address.clone());
    }
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
    Draft {
        dedupe_key: format!("{case_ref}/attached-ack/{message_key}"),
        purpose: "acknowledgement".into(),
        to: vec![to.to_string()],
        cc: vec![],
        subject: text::acknowledgement_subject(subject),
        text: text::attached_acknowledgement_text(case_ref, subject),
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
    other: Option<text::OtherDiscovery>,
) -> Draft {
    Draft {
        dedupe_key: format!("{case_ref}/follow-up/{message_key}"),
        purpose: "follow_up".into(),
        to: vec![route.official.address.clone()],
        cc: vec![],
        subject: text::follow_up_subject(subject),
        text: text::follow_up_text(case_ref, subject, from, other),
        in_reply_to: None,
        attachments: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::text::mail::{human_left, quoted, MAX_QUOTED_CHARS};

    fn sender() -> Sender {
        Sender {
            from_address: "breach@example.test".into(),
            from_name: "breachwatch".into(),
            internal_domains: vec!["example.test".into()],
            tz: chrono_tz::Europe::Stockholm,
        }
    }

    fn route() -> Route {
        crate::core::routing::test_route("Kommunstyrelsen")
    }

    /// A message joined to a case that names another discovery time (a new
    /// incident in the old thread that does not say it is new): the
    /// official's notice says so, in local time; without one it does not.
    #[test]
    fn a_follow_up_naming_another_discovery_says_so() {
        let r = CaseRef::new("PUI", 2026, 1);
        let text = |other| {
            follow_up_notice(&r, &route(), "Re: Incident", "lev@x.example", "k", other).text
        };
        let t = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        let other = text::OtherDiscovery {
            message: t("2026-12-05T08:10:00Z"),
            case: t("2026-11-20T13:30:00Z"),
            tz: chrono_tz::Europe::Stockholm,
        };
        let d = text(Some(other));
        assert!(
            d.contains(
                "Obs: meddelandet anger en annan upptäcktstid (lördag 5 december 2026 09:10) \
                 än ärendets (fredag 20 november 2026 14:30). Det kan vara en ny incident med en \
                 egen frist."
            ),
            "{d}"
        );
        assert!(d.contains("\"dela\""));
        // A date without a time (local midnight) is written as a date.
        let d = text(Some(text::OtherDiscovery {
            message: t("2026-11-24T23:00:00Z"),
            ..other
        }));
        assert!(
            d.contains("(onsdag 25 november 2026) än ärendets (fredag 20 november 2026 14:30)"),
            "{d}"
        );
        assert!(!text(None).contains("Obs:"));
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
        // Addresses that slip past naive checks: lettre refuses the first three, a relay
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
            split_from: None,
            incident: &Default::default(),
            notice_text: "",
            forwarded_at: None,
            documents: &[],
            document_read: None,
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
                split_from: None,
                incident: &Default::default(),
                notice_text: &huge,
                forwarded_at: Some(aware + chrono::Duration::hours(30)),
                documents: &[],
                document_read: None,
            };
            let drafts = [
                opening_notice(&sender(), &f, aware, vec![]),
                acknowledgement(&sender(), &f, "staff@example.test", true),
                attached_acknowledgement(&r, &huge, "staff@example.test", None, "k"),
                follow_up_notice(&r, &route(), &huge, &huge, "k", None),
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
            split_from: None,
            incident: &n.incident,
            notice_text: &n.body_text,
            forwarded_at: if n.forwarded { n.received_at } else { None },
            documents: &n.documents,
            document_read: n.document_read.as_deref(),
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

    /// A notice that gives its discovery as a date without a time (read as
    /// local midnight) is told as that date, not as "00:00".
    #[test]
    fn an_opening_notice_writes_a_discovery_date_without_a_time_as_the_date() {
        let mut n = notice_01();
        let r = CaseRef::new("PUI", 2021, 1);
        let route = route();
        // 17 June 2021, local midnight in summer time.
        n.incident.discovered_at = Some("2021-06-16T22:00:00Z".parse().unwrap());
        let now = n.received_at.unwrap() + chrono::Duration::minutes(1);
        let t = opening_notice(&sender(), &facts_of(&r, &route, &n), now, drafts()).text;
        assert!(t.contains("Upptäcktes: torsdag 17 juni 2021\n"), "{t}");
        // Midnight UTC is 02:00 here: a time, written with it.
        n.incident.discovered_at = Some("2021-06-17T00:00:00Z".parse().unwrap());
        let t = opening_notice(&sender(), &facts_of(&r, &route, &n), now, drafts()).text;
        assert!(
            t.contains("Upptäcktes: torsdag 17 juni 2021 02:00\n"),
            "{t}"
        );
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

    /// A notice that is a document: the official is told which file it is
    /// and that the facts above come from the text only.
    #[test]
    fn the_opening_notice_names_the_attached_report() {
        let raw = "From: Provlabb <support@provlabb.example>\r\nTo: breach@example.test\r\n\
                   Subject: Personuppgiftsincident \u{2013} incidentrapport\r\n\
                   Date: Fri, 04 Dec 2026 20:05:00 +0100\r\nMIME-Version: 1.0\r\n\
                   Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\n\
                   Content-Type: text/plain; charset=utf-8\r\n\r\nSe bifogad rapport.\r\n--b\r\n\
                   Content-Type: application/pdf; name=\"Incidentrapport 2026-12.pdf\"\r\n\
                   Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQKJSVFT0YK\r\n--b--\r\n";
        let n = crate::core::notice::read(raw.as_bytes(), &Default::default()).unwrap();
        assert_eq!(n.documents, ["Incidentrapport 2026-12.pdf"]);
        let r = CaseRef::new("PUI", 2026, 7);
        let route = route();
        let f = facts_of(&r, &route, &n);
        let d = opening_notice(&sender(), &f, f.aware_at, drafts());
        assert!(
            d.text.contains(
                "Bifogat till meddelandet: Incidentrapport 2026-12.pdf. Det som står ovan är \
                 bara läst ur meddelandets text, inte ur filen: läs filen på ärendets sida i \
                 webbvyn.\n"
            ),
            "{}",
            d.text
        );
        // A file the facts were also read from: named, unless it is the
        // only file (named just before).
        for (documents, file, want) in [
            (
                &["Rapport.pdf", "Incidentrapport.docx"][..],
                "Incidentrapport.docx",
                "Bifogat till meddelandet: Rapport.pdf, Incidentrapport.docx. Det som står ovan \
                 är läst ur meddelandets text och ur filen Incidentrapport.docx: kontrollera det \
                 mot filen på ärendets sida i webbvyn.\n",
            ),
            (
                &["Incidentrapport.pdf"][..],
                "Incidentrapport.pdf",
                "Bifogat till meddelandet: Incidentrapport.pdf. Det som står ovan är läst ur \
                 meddelandets text och ur filen: kontrollera det mot filen på ärendets sida i \
                 webbvyn.\n",
            ),
        ] {
            let mut read = n.clone();
            read.documents = documents.iter().map(|d| d.to_string()).collect();
            read.document_read = Some(file.into());
            let d = opening_notice(
                &sender(),
                &facts_of(&r, &route, &read),
                f.aware_at,
                drafts(),
            );
            assert!(d.text.contains(want), "{}", d.text);
        }
        // Without a document, no such line.
        let d = opening_notice(
            &sender(),
            &facts_of(&r, &route, &notice_01()),
            f.aware_at,
            drafts(),
        );
        assert!(!d.text.contains("Bifogat till meddelandet"), "{}", d.text);
    }

    /// A case opened past its deadline (a notice read late) does not say
    /// "försenad 2 d kvar till 72-timmarsfristen": it says the deadline has
    /// passed, and by how much.
    #[test]
    fn an_overdue_case_says_the_deadline_has_passed() {
        let n = notice_01();
        let r = CaseRef::new("PUI", 2021, 1);
        let route = route();
        let f = facts_of(&r, &route, &n);
        let now = f.aware_at + chrono::Duration::hours(72 + 47);
        let d = opening_notice(&sender(), &f, now, drafts());
        assert!(
            d.text.starts_with(
                "BRÅDSKANDE: 72-timmarsfristen har redan passerats (försenad 1 d 23 h).\n"
            ),
            "{}",
            d.text
        );
        assert!(!d.text.contains("kvar till"), "{}", d.text);
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
            split_from: None,
            incident: &incident,
            notice_text: "Vi har haft en incident.",
            // A forward within minutes is transport, not a story to tell.
            forwarded_at: Some(aware + chrono::Duration::minutes(5)),
            documents: &[],
            document_read: None,
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
            split_from: None,
            incident: &Default::default(),
            notice_text: "   \n",
            forwarded_at: None,
            documents: &[],
            document_read: None,
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
