//! Outgoing mail: the texts officials read (Swedish), and the formatted RFC 5322
//! bytes stored in the outbox. Every mail carries `Auto-Submitted:
//! auto-generated`, `[REF]` in the subject and a Message-ID fixed when the row is
//! written; nothing is ever addressed outside the internal domains.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::Message;

use crate::core::bounded::short_subject;
use crate::core::clock;
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
        kind: "mail_dropped".into(),
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

fn local(tz: Tz, t: DateTime<Utc>) -> String {
    t.with_timezone(&tz)
        .format("%Y-%m-%d %H:%M (%Z)")
        .to_string()
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
}

/// The opening notice to the official, DPO (and coordinator) on the route.
pub fn opening_notice(s: &Sender, f: &CaseFacts<'_>, now: DateTime<Utc>) -> Draft {
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
        "Ett nytt ärende om personuppgiftsincident har registrerats: {}.\n\n\
         Ämne: {}\n\
         Rapporterat av: {}\n\
         Kommunen fick kännedom: {}\n\
         Anmälan till IMY senast: {} (72 timmar efter kännedom)\n\
         Tid kvar: {}\n\
         Ansvarig nämnd: {} (delegationsordning punkt {})\n\
         Handläggare: {}\n",
        f.case_ref,
        subject,
        reporter,
        local(s.tz, f.aware_at),
        local(s.tz, deadline),
        human_left(left),
        f.route.committee.name,
        f.route.committee.delegation_point,
        f.route.official.name,
    ));
    if !f.systems.is_empty() {
        text.push_str(&format!("System: {}\n", f.systems.join(", ")));
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
            local(s.tz, t.time)
        ));
    }
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
    text.push_str(&format!(
        "Routning: {}\n\n\
         Svara på detta meddelande för att hantera ärendet (första raden är kommandot), \
         t.ex. \"kvittera\".\n\n\
         -- \nbreachwatch, registret över personuppgiftsincidenter (art. 33.5 GDPR)\n",
        f.rule
            .map_or("standardregeln".to_string(), |r| format!("regel {r}"))
    ));
    let mut cc = vec![f.route.dpo.address.clone()];
    if let Some(c) = &f.route.coordinator {
        cc.push(c.address.clone());
    }
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
        attachments: Vec::new(),
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
        local(s.tz, f.aware_at),
        local(s.tz, clock::deadline(f.aware_at)),
        f.route.committee.name,
        f.route.official.name,
    );
    if direct {
        text.push_str(&format!(
            "\nMeddelandet kom direkt från {} utanför kommunen; breachwatch svarar aldrig \
             leverantörer automatiskt.\n",
            short_subject(f.reporter)
        ));
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
        local(s.tz, aware_at),
        local(s.tz, deadline),
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
        };
        let d = opening_notice(&sender(), &f, now);
        assert!(d.subject.starts_with("BRÅDSKANDE"));
        assert!(d.text.contains("2026-03-30 11:00 (CEST)"), "{}", d.text);
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
            };
            let drafts = [
                opening_notice(&sender(), &f, aware),
                acknowledgement(&sender(), &f, "staff@example.test", true),
                attached_acknowledgement(&r, &huge, "staff@example.test", None, "k"),
                follow_up_notice(&r, &route(), &huge, &huge, "k"),
            ];
            for d in drafts {
                assert!(
                    d.text.len() < 2_000,
                    "{} body of {}",
                    d.purpose,
                    d.text.len()
                );
                let m = format(&sender(), &r, d).unwrap();
                assert!(m.subject.chars().count() < 300, "{}", m.subject);
                assert!(m.subject.starts_with("[PUI-2026-0003] "));
                assert!(m.subject.ends_with('…'));
                assert!(m.raw.len() < 4_000, "{} octets", m.raw.len());
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
