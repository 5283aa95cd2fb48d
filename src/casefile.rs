//! Shell side of the generated documents: assembling the pure
//! [`CaseFile`](crate::core::documents::CaseFile) of a case from what is at hand
//! (the store's case row, messages and timeline; the configuration; `now`) and
//! turning a rendered bundle into mail attachments plus the timeline event that
//! records every document's SHA-256.
//!
//! Two ways in:
//! - [`for_new_case`]: a case being opened, from the `Notice` and `Route` inside
//!   the ingest transaction (the case row is not readable yet);
//! - [`from_record`] (pure) / [`load`] (reads the store): an existing case, for
//!   `breachwatch cases draft|imy-form` and the draft sent on a decision.
//!
//! What is not recorded stays `None` and the documents show a visible
//! placeholder ("[att fylla i]"): a draft with a gap is better than a draft with
//! a guess. Nothing here logs bodies; errors name the case reference only.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde_json::{json, Value};

use crate::config::{Config, Documents as DocumentsConfig};
use crate::core::case::{Assessment, Case, Decision};
use crate::core::documents::{
    CaseFile, Forward, Organisation, Outcome, Person, PostalAddress, Processor, ReceivedMessage,
    RiskAssessment, RiskLevel, TimelineEvent,
};
use crate::core::event::EventKind;
use crate::core::notice::details::Details;
use crate::core::notice::{Cause, Incident, Notice};
use crate::core::routing::Route;
use crate::core::types::CaseRef;
use crate::mail::compose::Attachment;
use crate::render::{self, Document, Templates};
use crate::store::{CaseRecord, EventRow, MessageRow, NewEvent, Store, StoreError};

/// The document outcome of an official's decision.
pub fn outcome_for(d: Decision) -> Outcome {
    match d {
        Decision::Notify => Outcome::Notify,
        Decision::NotifyAndInform => Outcome::NotifyInform,
        Decision::DoNotNotify => Outcome::NoNotify,
    }
}

fn non_empty(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// The controller from `[documents.controller]`; an address only when some
/// part of it is given (else the form asks for it as a whole).
pub fn controller(d: &DocumentsConfig) -> Organisation {
    let c = &d.controller;
    let address = PostalAddress {
        street: non_empty(&c.street),
        postcode: non_empty(&c.postcode),
        city: non_empty(&c.city),
        country: non_empty(&c.country),
    };
    let any = address.street.is_some()
        || address.postcode.is_some()
        || address.city.is_some()
        || address.country.is_some();
    Organisation {
        name: non_empty(&c.name),
        number: non_empty(&c.organisation_number),
        address: any.then_some(address),
        activity_area: non_empty(&c.activity_area),
    }
}

/// Everything that comes from the route, the configuration and the clock.
fn base(
    case_ref: CaseRef,
    route: &Route,
    docs: &DocumentsConfig,
    tz: Tz,
    aware_at: DateTime<Utc>,
    deadline_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> CaseFile {
    let nonempty = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
    CaseFile {
        case_ref,
        // Given by the registry (diariet), not by breachwatch: a placeholder.
        diarienummer: None,
        diarie_prefix: nonempty(&route.committee.diarie_prefix),
        committee: route.committee.name.clone(),
        delegation_point: nonempty(&route.committee.delegation_point),
        delegation_point_art34: route
            .committee
            .delegation_point_art34
            .as_deref()
            .and_then(nonempty),
        official: Person {
            name: nonempty(&route.official.name),
            title: non_empty(&route.official.title),
            email: nonempty(&route.official.address),
            phone: None,
        },
        dpo: Person {
            name: nonempty(&route.dpo.name),
            title: non_empty(&route.dpo.title),
            email: nonempty(&route.dpo.address),
            phone: None,
        },
        preparation: non_empty(&docs.preparation),
        date: now.with_timezone(&tz).date_naive(),
        generated_at: now,
        tz,
        aware_at,
        deadline_at,
        processor: Processor::default(),
        messages: Vec::new(),
        facts: Incident::default(),
        details: Details::default(),
        risk: None,
        delay_reason: None,
        imy_reference: None,
        imy_notified_at: None,
        timeline: Vec::new(),
        forward: None,
        controller: controller(docs),
    }
}

/// "VB: SV: Intrång" → "Intrång": the subject of the original notice, without
/// the reply/forward prefixes of Swedish, English and German mail clients,
/// shortened like every subject copied into our own texts
/// (`core::bounded::short_subject`): a supplier's 200 KB subject would
/// otherwise be copied into every generated document.
pub fn original_subject(subject: &str) -> String {
    const PREFIXES: [&str; 8] = ["vb:", "fw:", "fwd:", "sv:", "re:", "aw:", "wg:", "vs:"];
    let mut s = subject.trim();
    loop {
        let lower = s.to_lowercase();
        match PREFIXES.iter().find(|p| lower.starts_with(*p)) {
            // The prefixes are ASCII, so their length is a char boundary.
            Some(p) => s = s[p.len()..].trim_start(),
            None => return crate::core::bounded::short_subject(s),
        }
    }
}

/// The case being opened from `n` (inside the ingest transaction, where the
/// reference has just been drawn). Pure.
#[allow(clippy::too_many_arguments)]
pub fn for_new_case(
    n: &Notice,
    route: &Route,
    case_ref: &CaseRef,
    aware_at: DateTime<Utc>,
    deadline_at: DateTime<Utc>,
    docs: &DocumentsConfig,
    tz: Tz,
    now: DateTime<Utc>,
) -> CaseFile {
    let mut c = base(
        case_ref.clone(),
        route,
        docs,
        tz,
        aware_at,
        deadline_at,
        now,
    );
    let reporter_address = n.reporter.address.clone().or(n.sender.address.clone());
    c.processor = Processor {
        organisation: non_empty(&n.reporter.organisation),
        number: None,
        email: reporter_address.clone(),
    };
    c.messages = vec![ReceivedMessage {
        subject: original_subject(n.threading.subject.as_deref().unwrap_or("")),
        // The notice reached the municipality when the clock started (for a
        // forward: the original receipt, not the forward).
        received_at: aware_at,
        from: crate::core::documents::words::sender_label(
            n.reporter.organisation.as_deref(),
            n.reporter.name.as_deref(),
            reporter_address.as_deref(),
        ),
        summary: None,
        follow_up: false,
        none_of_ours: false,
    }];
    c.facts = n.incident.clone();
    c.details = n.details.clone();
    // A forward delivered well after the original receipt: the story of how
    // the notice reached us (who forwarded it, when) goes into the drafts.
    if let Some(at) = n.received_at.filter(|&at| at - aware_at > FORWARD_GAP) {
        if n.forwarded {
            c.forward = Some(Forward {
                by: non_empty(&n.sender.name)
                    .or(non_empty(&n.sender.address))
                    .unwrap_or_else(|| "en medarbetare".into()),
                at,
            });
        }
    }
    c
}

/// A forward delivered less than this after the original receipt is not
/// worth a sentence: the notice reached us at once.
const FORWARD_GAP: chrono::Duration = chrono::Duration::minutes(15);

/// Copies what the official recorded (assessment, delay reason, IMY report)
/// into the case file. A `decide` (by mail or on the web) calls this with the
/// case *after* the transition, so the draft reflects the command just applied.
pub fn apply_workflow(c: &mut CaseFile, w: &Case) {
    let level_of = |a: Assessment| match a {
        Assessment::NoRisk => RiskLevel::None,
        Assessment::Risk => RiskLevel::Risk,
        Assessment::HighRisk => RiskLevel::High,
    };
    c.risk = w.assessment.map(|a| RiskAssessment {
        level: level_of(a),
        // The reasoning comes from the assessment's reply text (`from_record`);
        // keep what is there when the level is unchanged.
        reasoning: c
            .risk
            .as_ref()
            .filter(|r| r.level == level_of(a))
            .and_then(|r| r.reasoning.clone()),
    });
    c.delay_reason = non_empty(&w.delay_reason);
    c.imy_reference = w.imy_ref.as_ref().map(|r| r.as_str().to_string());
    c.imy_notified_at = w.reported_at;
    if let Some(d) = &w.diarienummer {
        c.diarienummer = Some(d.as_str().to_string());
    }
}

/// Who an address is on the route ("Olivia Official"), else the address.
fn roster_name(route: Option<&Route>, address: &str) -> String {
    let Some(r) = route else {
        return address.to_string();
    };
    r.roster()
        .find(|(_, p)| p.address.eq_ignore_ascii_case(address.trim()))
        .map(|(_, p)| p.name.clone())
        .unwrap_or_else(|| address.to_string())
}

fn is_roster(route: Option<&Route>, address: &str) -> bool {
    roster_name(route, address) != address
}

/// A timeline event as a sentence for the decision's Bakgrund, for the kinds
/// that are actions on the case. Messages are listed separately, the IMY
/// report and the delay reason have their own places, and bookkeeping events
/// (documents, mails, refused commands) are not part of the story.
fn timeline_sentence(e: &EventRow, route: Option<&Route>) -> Option<String> {
    let who = roster_name(route, &e.actor);
    let d = &e.data;
    let text = |k: &str| {
        d[k].as_str()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    match e.kind {
        EventKind::Acknowledged => Some(format!("{who} kvitterade ärendet.")),
        EventKind::Assessed => {
            let level = match d["assessment"].as_str()? {
                "no_risk" => "att incidenten sannolikt inte medför någon risk",
                "risk" => "att incidenten sannolikt medför en risk",
                "high_risk" => "att incidenten sannolikt medför en hög risk",
                _ => return None,
            };
            Some(format!(
                "{who} bedömde {level} för de registrerades rättigheter och friheter."
            ))
        }
        EventKind::Note => text("text").map(|t| format!("{who} antecknade: {t}")),
        EventKind::Supplemented => Some(format!(
            "Komplettering nr {} skickades till Integritetsskyddsmyndigheten.",
            d["number"].as_u64().unwrap_or(1)
        )),
        _ => None,
    }
}

/// Why a stored case gives no case file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CaseFileError {
    /// The documents name the committee and the official; guessing them
    /// would be wrong.
    #[error("{0}: the stored route cannot be read")]
    UnreadableRoute(CaseRef),
}

/// A count of {0, 0}: the message says none of ours were affected.
fn is_none(v: &Value) -> bool {
    v["min"].as_u64() == Some(0) && v["max"].as_u64() == Some(0)
}

/// The data-subject count the reader found in an attached message, from its
/// `message_attached` event (recorded since the withdrawal draft needs it).
fn attached_counts<'a>(events: &'a [EventRow], message_id: Option<&str>) -> Option<&'a Value> {
    let id = message_id?
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>');
    events
        .iter()
        .filter(|e| e.kind == EventKind::MessageAttached)
        .find(|e| {
            e.data["message_id"]
                .as_str()
                .is_some_and(|m| m.trim().trim_start_matches('<').trim_end_matches('>') == id)
        })
        .map(|e| &e.data["data_subjects"])
}

/// The forwarder as the opening notice named them ("Jonas Lindqvist"), else
/// the address: the draft says who, as seed 001 does.
fn forwarder_name(rec: &CaseRecord, from: &str) -> String {
    let s = &rec.stored.facts["sender"];
    let same = s["address"]
        .as_str()
        .is_some_and(|a| a.trim().eq_ignore_ascii_case(from.trim()));
    match s["name"].as_str().map(str::trim).filter(|n| !n.is_empty()) {
        Some(n) if same => n.to_string(),
        _ => from.to_string(),
    }
}

/// An existing case from its stored row, its messages and its timeline. Pure.
/// Errors only when the stored route cannot be read (the documents name the
/// committee and the official; guessing them would be wrong).
pub fn from_record(
    rec: &CaseRecord,
    messages: &[MessageRow],
    events: &[EventRow],
    docs: &DocumentsConfig,
    tz: Tz,
    now: DateTime<Utc>,
) -> Result<CaseFile, CaseFileError> {
    let route: Route = rec
        .route
        .clone()
        .ok_or_else(|| CaseFileError::UnreadableRoute(rec.case_ref.clone()))?;
    let mut c = base(
        rec.case_ref.clone(),
        &route,
        docs,
        tz,
        rec.aware_at,
        rec.deadline_at,
        now,
    );
    c.processor = Processor {
        organisation: non_empty(&rec.reporter_organisation),
        number: None,
        email: non_empty(&rec.reporter_address),
    };
    c.facts = rec.incident.clone();
    c.details = rec.details.clone();
    let reporter = crate::core::documents::words::sender_label(
        rec.reporter_organisation.as_deref(),
        rec.reporter_name.as_deref(),
        rec.reporter_address.as_deref(),
    );
    for m in messages {
        let from = m.from_address.as_deref().unwrap_or("");
        // Underlag lists what the case rests on: the notice and information
        // that came in. The roster's own replies are commands and notes (they
        // are on the timeline); auto-replies carry nothing.
        if m.kind == "auto_reply" || is_roster(Some(&route), from) {
            continue;
        }
        let opening = m.disposition == "opened_case";
        let received_at = if opening {
            rec.aware_at
        } else {
            match m.received_at {
                Some(t) => t,
                None => continue,
            }
        };
        // The opening message delivered well after the clock started was a
        // forward from the sender of that message.
        if let (true, Some(t)) = (opening, m.received_at) {
            let from_reporter = rec
                .reporter_address
                .as_deref()
                .is_some_and(|r| r.trim().eq_ignore_ascii_case(from.trim()));
            if t - rec.aware_at > FORWARD_GAP && !from.is_empty() && !from_reporter {
                c.forward = Some(Forward {
                    by: forwarder_name(rec, from),
                    at: t,
                });
            }
        }
        let none_of_ours = if opening {
            is_none(&rec.stored.facts["incident"]["data_subjects"])
        } else {
            attached_counts(events, m.message_id.as_deref()).is_some_and(is_none)
        };
        c.messages.push(ReceivedMessage {
            subject: original_subject(m.subject.as_deref().unwrap_or("")),
            received_at,
            from: if opening || from.is_empty() {
                reporter.clone()
            } else {
                from.to_string()
            },
            summary: None,
            follow_up: !opening,
            none_of_ours,
        });
    }
    c.timeline = events
        .iter()
        .filter_map(|e| {
            timeline_sentence(e, Some(&route)).map(|text| TimelineEvent { at: e.at, text })
        })
        .collect();
    if let Some(w) = &rec.workflow {
        apply_workflow(&mut c, w);
    }
    // The official's reasoning is what they wrote under the assessment command
    // ("bedömning: risk" and then why): the latest one counts.
    if let Some(risk) = c.risk.as_mut() {
        risk.reasoning = events
            .iter()
            .rev()
            .find(|e| e.kind == EventKind::Assessed)
            .and_then(|e| e.data["body"].as_str())
            .map(str::trim)
            .filter(|b| !b.is_empty())
            .map(str::to_string);
    }
    Ok(c)
}

/// The case file of `case_ref` as of `now`, or None when there is no such case.
pub async fn load(
    store: &Store,
    cfg: &Config,
    case_ref: &str,
    now: DateTime<Utc>,
) -> Result<Option<CaseFile>, StoreError> {
    let Some(rec) = store.case_by_ref(case_ref).await? else {
        return Ok(None);
    };
    let messages = store.case_messages(rec.id).await?;
    let events = store.case_events(rec.id).await?;
    from_record(&rec, &messages, &events, &cfg.documents, cfg.tz(), now)
        .map(Some)
        .map_err(|e| StoreError::Other(e.to_string()))
}

/// Why the clock starts at `aware_at`, in one sentence for `cases show`:
/// the latest `aware_at_moved` (an earlier copy or a merge), else the forward
/// (the supplier's mail reached the municipality before someone forwarded
/// it), else the notice's own delivery.
pub fn aware_reason(file: &CaseFile, events: &[EventRow]) -> String {
    let tz = file.tz;
    let when = |t: DateTime<Utc>| crate::core::documents::words::datetime_short(t, tz);
    if let Some(e) = events.iter().rev().find(|e| e.kind == "aware_at_moved") {
        let why = e.data["why"]
            .as_str()
            .unwrap_or("an earlier receipt of the notice was found");
        return format!("moved to {} at {}: {why}", when(file.aware_at), when(e.at));
    }
    match &file.forward {
        Some(f) => format!(
            "the supplier's mail reached the municipality {}; {} forwarded it {} ({} later). The 72 hours run from the first receipt.",
            when(file.aware_at),
            f.by,
            when(f.at),
            crate::core::text::mail::human_left(f.at - file.aware_at)
        ),
        None => format!(
            "the notice reached the breach mailbox {} (the earliest receipt of it).",
            when(file.aware_at)
        ),
    }
}

/// `cases show REF` as text: what the case is about (subject, organisation,
/// the reader's facts and the draft facts), why the clock starts when it
/// does, its messages, its timeline and its mails. Pure.
pub fn show_text(
    c: &crate::store::CaseSummary,
    file: &CaseFile,
    messages: &[MessageRow],
    events: &[EventRow],
    mails: &[crate::store::OutboxSummary],
) -> String {
    use crate::core::documents::words::{datetime_short, stated_short};
    let tz = file.tz;
    let when = |t: DateTime<Utc>| datetime_short(t, tz);
    // What the notice stated: a date read without a time as the date alone.
    let stated = |t: DateTime<Utc>| stated_short(t, tz);
    let or_dash = |v: Option<&str>| {
        v.filter(|s| !s.trim().is_empty())
            .unwrap_or("-")
            .to_string()
    };
    let list = |v: &[String]| {
        if v.is_empty() {
            "-".to_string()
        } else {
            v.join(", ")
        }
    };
    let f = &file.facts;
    let d = &file.details;
    let subject = messages
        .iter()
        .find(|m| m.disposition == "opened_case")
        .and_then(|m| m.subject.as_deref());
    let mut s = format!("{}  {}\n", c.case_ref, c.state);
    s.push_str(&format!("  subject:      {}\n", or_dash(subject)));
    s.push_str(&format!(
        "  organisation: {}\n",
        or_dash(c.reporter_organisation.as_deref())
    ));
    s.push_str(&format!(
        "  committee:    {}  official: {}\n",
        c.committee, c.official
    ));
    s.push_str(&format!("  aware:        {}\n", when(c.aware_at)));
    s.push_str(&format!("  why aware:    {}\n", aware_reason(file, events)));
    s.push_str(&format!("  deadline:     {}\n", when(c.deadline_at)));
    s.push_str(&format!(
        "  reminders sent: {}  next: {}\n",
        c.reminders_sent,
        c.next_reminder_at.map(when).unwrap_or_else(|| "-".into())
    ));
    s.push_str("facts (as read from the notice):\n");
    let subjects = match f.data_subjects {
        Some(r) => match (r.min, r.max) {
            (Some(a), Some(b)) if a == b => format!("about {a}"),
            (a, b) => format!(
                "{}–{}",
                a.map(|v| v.to_string()).unwrap_or_default(),
                b.map(|v| v.to_string()).unwrap_or_default()
            ),
        },
        None => "-".into(),
    };
    let cause = match f.cause {
        Some(Cause::Attack) => "attack",
        Some(Cause::HumanError) => "human error",
        Some(Cause::TechnicalFault) => "technical fault",
        None => "-",
    };
    let ongoing = match f.ongoing {
        Some(true) => "yes",
        Some(false) => "no",
        None => "-",
    };
    for (k, v) in [
        ("systems", list(&f.systems)),
        ("data", list(&f.data_categories)),
        ("data subjects", subjects),
        ("groups", list(&d.subject_groups)),
        ("area", or_dash(d.activity_area.as_deref())),
        ("cause", cause.to_string()),
        ("in their words", or_dash(d.cause_text.as_deref())),
        (
            "discovered",
            f.discovered_at.map(stated).unwrap_or_else(|| "-".into()),
        ),
        (
            "period",
            match (f.occurred_from, f.occurred_to) {
                (None, None) => "-".into(),
                (a, b) => format!(
                    "{} – {}",
                    a.map(stated).unwrap_or_else(|| "?".into()),
                    b.map(stated).unwrap_or_else(|| "?".into())
                ),
            },
        ),
        ("ongoing", ongoing.to_string()),
        ("their reference", or_dash(d.supplier_reference.as_deref())),
    ] {
        s.push_str(&format!("  {k:<16}{v}\n"));
    }
    for m in &d.measures {
        s.push_str(&format!("  {:<16}{m}\n", "measure"));
    }
    s.push_str(&format!("messages ({}):\n", messages.len()));
    for m in messages {
        s.push_str(&format!(
            "  {}  {:<13} {:<15} {}  \"{}\"\n",
            m.received_at.map(when).unwrap_or_else(|| "-".into()),
            m.kind,
            m.disposition,
            or_dash(m.from_address.as_deref()),
            crate::core::bounded::short_subject(m.subject.as_deref().unwrap_or(""))
        ));
    }
    s.push_str(&format!("timeline ({}):\n", events.len()));
    for e in events {
        s.push_str(&format!("  {}  {}  {}\n", when(e.at), e.kind, e.actor));
    }
    s.push_str(&format!("mails ({}):\n", mails.len()));
    for m in mails {
        s.push_str(&format!(
            "  {} to {} [{}]\n",
            m.purpose,
            m.recipients.join(", "),
            m.status
        ));
    }
    s
}

/// The `documents_generated` timeline event: outcome and every file's SHA-256,
/// so a document that turns up later can be matched to what breachwatch made.
pub fn documents_event(outcome: Outcome, docs: &[Document], via: &str) -> NewEvent {
    let list: Vec<Value> = docs
        .iter()
        .map(|d| json!({ "file_name": d.file_name, "sha256": d.sha256 }))
        .collect();
    NewEvent {
        kind: EventKind::DocumentsGenerated,
        actor: "breachwatch".into(),
        data: json!({ "outcome": outcome, "via": via, "documents": list }),
    }
}

/// The documents a mail carries: the bundle without the IMY form's JSON, which
/// is for machines (`cases imy-form --format json`), not for an official's
/// inbox. The checksum event lists exactly what is attached.
fn for_mail(mut docs: Vec<Document>) -> Vec<Document> {
    docs.retain(|d| d.media_type != render::MEDIA_JSON);
    docs
}

fn attachments(docs: Vec<Document>) -> Vec<Attachment> {
    docs.into_iter()
        .map(|d| Attachment {
            file_name: d.file_name,
            media_type: d.media_type.to_string(),
            bytes: d.bytes,
        })
        .collect()
}

/// The draft documents of `outcome` as mail attachments, with the timeline
/// event of their checksums (the "SendDraft" effect: append the event in the
/// transaction that queues the mail).
pub fn draft_attachments(
    case: &CaseFile,
    templates: &Templates,
    outcome: Outcome,
) -> Result<(Vec<Attachment>, Vec<NewEvent>), String> {
    let docs = render::bundle(case, templates, outcome)
        .map(for_mail)
        .map_err(|e| format!("{}: documents could not be made: {e}", case.case_ref))?;
    let event = documents_event(outcome, &docs, "mail");
    Ok((attachments(docs), vec![event]))
}

/// The "SendDraft" effect in one call: the case file as loaded before the reply
/// (`load`), brought up to the case *after* the transition (`next`, so the
/// assessment just recorded is in "Skäl för beslut"), rendered for `decision`.
/// Never fails, like [`opening_attachments`]: on a rendering failure the draft
/// mail goes out without attachments and the event is `documents_failed`.
pub fn decision_attachments(
    file: &CaseFile,
    next: Option<&Case>,
    decision: Decision,
    templates: &Templates,
) -> (Vec<Attachment>, Vec<NewEvent>) {
    let mut file = file.clone();
    if let Some(next) = next {
        apply_workflow(&mut file, next);
    }
    match draft_attachments(&file, templates, outcome_for(decision)) {
        Ok(done) => done,
        Err(e) => {
            tracing::error!(case = %file.case_ref, "draft documents could not be made: {e}");
            let mut ev = documents_failed_event(&e);
            ev.data["outcome"] = json!(outcome_for(decision));
            (Vec::new(), vec![ev])
        }
    }
}

/// The opening notice's documents (the "notify" draft, the IMY form draft and
/// the deadline .ics). Never fails: when rendering fails the notice must still
/// go out, so the result is then no attachments and a `documents_failed` event.
pub fn opening_attachments(case: &CaseFile, templates: &Templates) -> (Vec<Attachment>, NewEvent) {
    match render::bundle(case, templates, Outcome::Notify) {
        Ok(docs) => {
            let docs = for_mail(docs);
            let event = documents_event(Outcome::Notify, &docs, "opening_notice");
            (attachments(docs), event)
        }
        Err(e) => {
            tracing::error!(case = %case.case_ref, "opening documents could not be made: {e}");
            (Vec::new(), documents_failed_event(&e.to_string()))
        }
    }
}

/// The NIS2 drafts (early warning, incident notification, the NIS2
/// deadlines' .ics) as mail attachments, without their JSON, and the
/// `documents_generated` event of their checksums (`outcome: "nis2"`). Never
/// fails: on a rendering failure no attachments and a `documents_failed` event.
pub fn nis2_attachments(
    case: &CaseFile,
    templates: &Templates,
    nis2: &crate::core::regime::Nis2,
    via: &str,
) -> (Vec<Attachment>, NewEvent) {
    match render::nis2_bundle(case, templates, nis2) {
        Ok(docs) => {
            let docs = for_mail(docs);
            (attachments(docs.clone()), nis2_documents_event(&docs, via))
        }
        Err(e) => {
            tracing::error!(case = %case.case_ref, "NIS2 drafts could not be made: {e}");
            let mut ev = documents_failed_event(&e.to_string());
            ev.data["outcome"] = json!("nis2");
            (Vec::new(), ev)
        }
    }
}

/// The `documents_generated` event of the NIS2 drafts.
pub fn nis2_documents_event(docs: &[Document], via: &str) -> NewEvent {
    let list: Vec<Value> = docs
        .iter()
        .map(|d| json!({ "file_name": d.file_name, "sha256": d.sha256 }))
        .collect();
    NewEvent {
        kind: EventKind::DocumentsGenerated,
        actor: "breachwatch".into(),
        data: json!({ "outcome": "nis2", "via": via, "documents": list }),
    }
}

/// The `documents_failed` timeline event (the error names a template file or
/// the .docx writer, never case content).
pub fn documents_failed_event(error: &str) -> NewEvent {
    NewEvent {
        kind: EventKind::DocumentsFailed,
        actor: "breachwatch".into(),
        data: json!({ "outcome": Outcome::Notify, "error": error }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DocumentsController;
    use crate::core::notice::{Cause, Range};
    use crate::core::routing::{Committee, Contact};
    use crate::store::StoredJson;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn route() -> Route {
        let c = |n: &str, a: &str| Contact {
            name: n.into(),
            address: a.into(),
            title: Some("Verksamhetschef".into()),
        };
        Route {
            committee: Committee {
                name: "Vård- och omsorgsnämnden".into(),
                diarie_prefix: "VOO".into(),
                delegation_point: "2.3".into(),
                delegation_point_art34: Some("2.4".into()),
            },
            official: c("Olivia Official", "official@example.test"),
            deputy: c("Dennis Deputy", "deputy@example.test"),
            dpo: c("Dora DPO", "dpo@example.test"),
            coordinator: None,
        }
    }

    fn docs() -> DocumentsConfig {
        DocumentsConfig {
            preparation: Some("Ärendet har beretts av Olivia Official.".into()),
            controller: DocumentsController {
                name: Some("Testkommunen".into()),
                city: Some("Teststad".into()),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    fn record(workflow: Value) -> CaseRecord {
        CaseRecord {
            id: 7,
            case_ref: CaseRef::new("PUI", 2026, 12),
            state: "received".into(),
            aware_at: t("2026-03-27T09:00:00Z"),
            deadline_at: t("2026-03-30T09:00:00Z"),
            opened_at: t("2026-03-27T11:00:00Z"),
            reporter_name: None,
            reporter_address: Some("noreply@provdata.example".into()),
            reporter_organisation: Some("Provdata Sverige AB".into()),
            reporter_domain: Some("provdata.example".into()),
            systems: vec!["ProvWeb".into()],
            route: None,
            incident: Incident::default(),
            details: Details::default(),
            workflow: None,
            version: 0,
            timeline_head: crate::core::timeline::GENESIS.into(),
            stored: StoredJson {
                route: serde_json::to_value(route()).unwrap(),
                facts: json!({
                    "schema": "breachwatch.inspect/1",
                    "incident": {
                        "discovered_at": "2026-03-27T08:00:00+01:00",
                        "occurred_from": null,
                        "occurred_to": null,
                        "ongoing": false,
                        "systems": ["ProvWeb"],
                        "data_categories": ["health", "personal_identity_number"],
                        "data_subjects": { "min": 10, "max": 100 },
                        "cause": "attack"
                    }
                }),
                workflow,
            },
        }
        .decoded()
    }

    fn msg(
        kind: &str,
        disposition: &str,
        subject: &str,
        from: &str,
        at: Option<&str>,
    ) -> MessageRow {
        MessageRow {
            message_id: None,
            kind: kind.into(),
            disposition: disposition.into(),
            subject: Some(subject.into()),
            from_address: Some(from.into()),
            received_at: at.map(t),
            error: None,
        }
    }

    fn event(kind: &str, actor: &str, at: &str, data: Value) -> EventRow {
        EventRow {
            seq: 1,
            at: t(at),
            kind: kind.into(),
            actor: actor.into(),
            data,
            prev_hash: String::new(),
            hash: String::new(),
        }
    }

    fn messages() -> Vec<MessageRow> {
        vec![
            msg(
                "breach_notice",
                "opened_case",
                "VB: Dataintrång hos Provdata",
                "staff@example.test",
                Some("2026-03-27T11:00:00Z"),
            ),
            msg(
                "other",
                "attached",
                "SV: [PUI-2026-0012] Ny personuppgiftsincident",
                "official@example.test",
                Some("2026-03-27T12:00:00Z"),
            ),
            msg(
                "auto_reply",
                "attached",
                "Frånvaro",
                "away@example.test",
                Some("2026-03-27T12:30:00Z"),
            ),
            msg(
                "follow_up",
                "attached",
                "Re: Dataintrång hos Provdata – uppdatering",
                "noreply@provdata.example",
                Some("2026-03-28T07:15:00Z"),
            ),
        ]
    }

    #[test]
    fn a_stored_case_gives_route_config_facts_and_underlag() {
        let now = t("2026-03-28T10:00:00Z");
        let c = from_record(
            &record(json!({})),
            &messages(),
            &[],
            &docs(),
            chrono_tz::Europe::Stockholm,
            now,
        )
        .unwrap();
        // The notice reached us at 09:00 and was forwarded by staff at 11:00.
        assert_eq!(
            c.forward,
            Some(Forward {
                by: "staff@example.test".into(),
                at: t("2026-03-27T11:00:00Z"),
            })
        );
        // A notice straight from the supplier, delivered late, is no forward.
        let mut direct = messages();
        direct[0].from_address = Some("NoReply@provdata.example".into());
        let d = from_record(
            &record(json!({})),
            &direct,
            &[],
            &docs(),
            chrono_tz::Europe::Stockholm,
            t("2026-03-28T10:00:00Z"),
        )
        .unwrap();
        assert_eq!(d.forward, None);
        assert_eq!(c.case_ref.as_str(), "PUI-2026-0012");
        assert_eq!(c.committee, "Vård- och omsorgsnämnden");
        assert_eq!(c.delegation_point.as_deref(), Some("2.3"));
        assert_eq!(c.delegation_point_art34.as_deref(), Some("2.4"));
        assert_eq!(c.official.name.as_deref(), Some("Olivia Official"));
        assert_eq!(c.official.title.as_deref(), Some("Verksamhetschef"));
        assert_eq!(c.dpo.name.as_deref(), Some("Dora DPO"));
        assert_eq!(c.diarienummer, None, "the registry gives it, never guessed");
        assert_eq!(
            c.preparation.as_deref(),
            Some("Ärendet har beretts av Olivia Official.")
        );
        assert_eq!(c.controller.name.as_deref(), Some("Testkommunen"));
        let addr = c.controller.address.as_ref().expect("city given");
        assert_eq!(addr.city.as_deref(), Some("Teststad"));
        assert_eq!(addr.street, None);
        assert_eq!(c.date.to_string(), "2026-03-28");
        assert_eq!(c.generated_at, now);
        assert_eq!(c.deadline_at, t("2026-03-30T09:00:00Z"));
        assert_eq!(
            c.processor.organisation.as_deref(),
            Some("Provdata Sverige AB")
        );
        assert_eq!(c.facts.systems, vec!["ProvWeb".to_string()]);
        assert_eq!(c.facts.cause, Some(Cause::Attack));
        assert_eq!(c.facts.ongoing, Some(false));
        assert_eq!(c.facts.discovered_at, Some(t("2026-03-27T07:00:00Z")));
        assert_eq!(
            c.facts.data_subjects,
            Some(Range {
                min: Some(10),
                max: Some(100)
            })
        );
        // The notice (at awareness, from the supplier, prefix gone) and the
        // supplier's update; not the official's reply, not the auto-reply.
        assert_eq!(c.messages.len(), 2, "{:?}", c.messages);
        assert_eq!(c.messages[0].subject, "Dataintrång hos Provdata");
        assert_eq!(c.messages[0].received_at, t("2026-03-27T09:00:00Z"));
        assert_eq!(
            c.messages[0].from,
            "Provdata Sverige AB <noreply@provdata.example>"
        );
        assert!(!c.messages[0].follow_up);
        assert_eq!(
            c.messages[1].subject,
            "Dataintrång hos Provdata – uppdatering"
        );
        assert!(c.messages[1].follow_up);
        // Nothing recorded: no assessment, no report.
        assert_eq!(c.risk, None);
        assert_eq!(c.imy_reference, None);
        assert!(c.timeline.is_empty());
    }

    #[test]
    fn the_recorded_workflow_and_actions_reach_the_case_file() {
        let now = t("2026-03-31T10:00:00Z");
        let mut w = Case {
            case_ref: CaseRef::new("PUI", 2026, 12),
            state: crate::core::case::State::Reported,
            aware_at: t("2026-03-27T09:00:00Z"),
            opened_at: t("2026-03-27T11:00:00Z"),
            acknowledged_at: None,
            acknowledged_by: None,
            assessment: Some(Assessment::HighRisk),
            assessed_at: None,
            decision: Some(Decision::NotifyAndInform),
            decided_at: None,
            decided_by: None,
            imy_ref: None,
            reported_at: Some(t("2026-03-30T12:00:00Z")),
            delay_reason: Some("Leverantören rapporterade sent.".into()),
            supplements: 0,
            withdrawn_at: None,
            closed_at: None,
            state_before_close: None,
            series: None,
            diarienummer: crate::core::commands::Diarienummer::parse("ks 2026/0123"),
            merged_into: None,
            nis2: Default::default(),
        };
        w.imy_ref = serde_json::from_value(json!("DI-2026-1234")).ok();
        let events = vec![
            event(
                "case_opened",
                "breachwatch",
                "2026-03-27T11:00:00Z",
                json!({}),
            ),
            event(
                "acknowledged",
                "official@example.test",
                "2026-03-27T12:00:00Z",
                json!({}),
            ),
            event(
                "assessed",
                "official@example.test",
                "2026-03-28T08:00:00Z",
                json!({ "assessment": "high_risk" }),
            ),
            event(
                "note",
                "deputy@example.test",
                "2026-03-28T09:00:00Z",
                json!({ "text": "Ringde leverantören." }),
            ),
            event(
                "documents_generated",
                "breachwatch",
                "2026-03-28T09:30:00Z",
                json!({}),
            ),
        ];
        let c = from_record(
            &record(serde_json::to_value(&w).unwrap()),
            &messages(),
            &events,
            &docs(),
            chrono_tz::Europe::Stockholm,
            now,
        )
        .unwrap();
        assert_eq!(c.risk.as_ref().map(|r| r.level), Some(RiskLevel::High));
        assert_eq!(
            c.delay_reason.as_deref(),
            Some("Leverantören rapporterade sent.")
        );
        assert_eq!(c.imy_notified_at, Some(t("2026-03-30T12:00:00Z")));
        assert_eq!(c.imy_reference.as_deref(), Some("DI-2026-1234"));
        // The registered diarienummer replaces the series' blank everywhere.
        assert_eq!(c.diarienummer.as_deref(), Some("KS 2026/0123"));
        assert_eq!(c.diarienummer_or_blank(), "KS 2026/0123");
        let texts: Vec<&str> = c.timeline.iter().map(|e| e.text.as_str()).collect();
        assert_eq!(
            texts,
            vec![
                "Olivia Official kvitterade ärendet.",
                "Olivia Official bedömde att incidenten sannolikt medför en hög risk för de registrerades rättigheter och friheter.",
                "Dennis Deputy antecknade: Ringde leverantören.",
            ]
        );
        assert_eq!(
            outcome_for(Decision::NotifyAndInform),
            Outcome::NotifyInform
        );
    }

    #[test]
    fn unreadable_stored_json_reads_as_nothing_recorded_but_a_bad_route_is_an_error() {
        let now = t("2026-03-28T10:00:00Z");
        let mut rec = record(Value::Null);
        rec.stored.facts = json!("garbage");
        rec = rec.decoded();
        let c = from_record(&rec, &[], &[], &docs(), chrono_tz::Europe::Stockholm, now).unwrap();
        assert_eq!(c.facts, Incident::default());
        assert_eq!(c.risk, None);
        assert!(c.messages.is_empty());
        rec.stored.route = json!({});
        rec = rec.decoded();
        let e =
            from_record(&rec, &[], &[], &docs(), chrono_tz::Europe::Stockholm, now).unwrap_err();
        assert!(e.to_string().contains("PUI-2026-0012"), "{e}");
    }

    #[test]
    fn the_forwarder_is_named_and_a_final_reports_finding_is_read_from_its_event() {
        let mut rec = record(json!({}));
        rec.stored.facts["sender"] = json!({"name": "Sam Staff", "address": "Staff@example.test"});
        let mut msgs = messages();
        let mut report = msg(
            "follow_up",
            "attached",
            "Slutrapport",
            "noreply@provdata.example",
            Some("2026-03-29T08:00:00Z"),
        );
        report.message_id = Some("report-1@provdata.example".into());
        msgs.push(report);
        let attached = event(
            "message_attached",
            "noreply@provdata.example",
            "2026-03-29T08:00:00Z",
            json!({"message_id": "report-1@provdata.example", "data_subjects": {"min": 0, "max": 0}}),
        );
        let now = t("2026-03-30T10:00:00Z");
        let c = from_record(
            &rec,
            &msgs,
            std::slice::from_ref(&attached),
            &docs(),
            chrono_tz::Europe::Stockholm,
            now,
        )
        .unwrap();
        assert_eq!(c.forward.as_ref().map(|f| f.by.as_str()), Some("Sam Staff"));
        let r = c
            .messages
            .iter()
            .find(|m| m.subject == "Slutrapport")
            .expect("report");
        assert!(r.none_of_ours);
        assert!(c
            .messages
            .iter()
            .filter(|m| m.subject != "Slutrapport")
            .all(|m| !m.none_of_ours));
        let w = crate::core::documents::decision(&c, Outcome::Withdraw).to_text();
        assert!(
            w.contains("framgår att inga av personuppgiftsansvarigs registrerade"),
            "{w}"
        );
        // Without the event's count (a case from before it was recorded): blank.
        let c = from_record(&rec, &msgs, &[], &docs(), chrono_tz::Europe::Stockholm, now).unwrap();
        assert!(c.messages.iter().all(|m| !m.none_of_ours));
    }

    #[test]
    fn the_reason_for_aware_at_names_a_moved_clock_a_forward_or_the_delivery() {
        let mut file = crate::core::documents::sample::notice_07();
        let fwd = aware_reason(&file, &[]);
        assert!(
            fwd.contains("Sara Nyström forwarded it 2025-09-10 kl. 08:12"),
            "{fwd}"
        );
        assert!(fwd.contains("(8 h 25 min later)"), "{fwd}");
        file.forward = None;
        assert!(aware_reason(&file, &[])
            .starts_with("the notice reached the breach mailbox 2025-09-09 kl. 23:47"));
        let moved = EventRow {
            seq: 3,
            at: t("2025-09-10T08:00:00Z"),
            kind: "aware_at_moved".into(),
            actor: "breachwatch".into(),
            data: json!({"why": "en annan kopia togs emot tidigare"}),
            prev_hash: String::new(),
            hash: String::new(),
        };
        assert!(aware_reason(&file, &[moved]).ends_with(": en annan kopia togs emot tidigare"));
    }

    #[test]
    fn the_stored_facts_json_reads_back_as_the_incident_written() {
        let raw = b"From: a@provdata.example\r\nSubject: x\r\n\r\nbody\r\n";
        let mut n = crate::core::notice::read(raw, &Default::default()).unwrap();
        n.incident = Incident {
            discovered_at: Some(t("2026-03-27T07:00:00Z")),
            occurred_from: Some(t("2026-03-26T22:15:00Z")),
            occurred_to: None,
            ongoing: Some(true),
            systems: vec!["ProvWeb".into(), "eRemiss".into()],
            data_categories: vec!["health".into()],
            data_subjects: Some(Range {
                min: None,
                max: Some(1000),
            }),
            cause: Some(Cause::HumanError),
        };
        // The same JSON the ingest pipeline stores in `cases.facts`.
        let v = crate::core::notice::present::to_contract_json(&n, chrono_tz::Europe::Stockholm);
        assert_eq!(
            crate::core::notice::present::incident_from_stored(&v),
            n.incident
        );
        // The draft facts ride along and come back too; a row stored before
        // them reads as "not stated".
        n.details = Details {
            subject_groups: vec!["patients".into(), "employees".into()],
            activity_area: Some("occupational_health".into()),
            measures: vec!["Vi har bytt lösenord.".into()],
            cause_text: Some("Orsaken är ett mänskligt misstag.".into()),
            supplier_reference: Some("INC-7".into()),
        };
        let v = crate::core::notice::present::to_contract_json(&n, chrono_tz::Europe::Stockholm);
        assert_eq!(
            crate::core::notice::present::details_from_stored(&v),
            n.details
        );
        assert_eq!(
            crate::core::notice::present::details_from_stored(&json!({"incident": {}})),
            Details::default()
        );
    }

    #[test]
    fn the_decision_draft_uses_the_case_after_the_transition() {
        let now = t("2026-03-28T10:00:00Z");
        let file = from_record(
            &record(json!({})),
            &messages(),
            &[],
            &docs(),
            chrono_tz::Europe::Stockholm,
            now,
        )
        .unwrap();
        let (w, _) = Case::open(file.case_ref.clone(), file.aware_at, now, None);
        let next = Case {
            assessment: Some(Assessment::NoRisk),
            ..w
        };
        let tpl = Templates::builtin(render::Language::Sv).unwrap();
        let (att, evs) = decision_attachments(&file, Some(&next), Decision::DoNotNotify, &tpl);
        let txt = att
            .iter()
            .find(|a| a.file_name == "Beslut-ej-anmalan-PUI-2026-0012.txt")
            .expect("the no-notify decision text");
        let text = String::from_utf8(txt.bytes.clone()).unwrap();
        // Without the assessment the draft would carry the placeholder instead.
        let without = decision_attachments(&file, None, Decision::DoNotNotify, &tpl).0;
        let without = without
            .iter()
            .find(|a| a.file_name == txt.file_name)
            .map(|a| String::from_utf8(a.bytes.clone()).unwrap())
            .unwrap();
        assert_ne!(text, without, "the recorded assessment changes the draft");
        assert!(text.contains("Vård- och omsorgsnämnden"));
        assert_eq!(evs.len(), 1);
        assert_eq!(evs[0].kind, EventKind::DocumentsGenerated);
        assert_eq!(
            evs[0].data["documents"].as_array().unwrap().len(),
            att.len()
        );
    }

    #[test]
    fn forward_prefixes_are_stripped() {
        assert_eq!(original_subject("VB: SV: Intrång"), "Intrång");
        assert_eq!(original_subject("Fwd: RE:Incident"), "Incident");
        assert_eq!(original_subject("Svar om intrång"), "Svar om intrång");
        assert_eq!(original_subject("  "), "");
    }

    #[test]
    fn a_new_case_renders_and_its_checksums_go_on_the_timeline() {
        let now = t("2026-03-27T11:00:00Z");
        let raw = b"From: Provdata <noreply@provdata.example>\r\nTo: breach@example.test\r\n\
Subject: Dataintrang i ProvWeb\r\nDate: Fri, 27 Mar 2026 10:00:00 +0100\r\n\r\n\
Provdata Sverige AB har drabbats av ett dataintrang i ProvWeb.\r\n";
        let n = crate::core::notice::read(raw, &Default::default()).unwrap();
        let r = CaseRef::new("PUI", 2026, 3);
        let aware = t("2026-03-27T09:00:00Z");
        let c = for_new_case(
            &n,
            &route(),
            &r,
            aware,
            crate::core::clock::deadline(aware),
            &docs(),
            chrono_tz::Europe::Stockholm,
            now,
        );
        assert_eq!(c.messages.len(), 1);
        assert_eq!(c.messages[0].received_at, aware);
        assert_eq!(c.deadline_at, t("2026-03-30T09:00:00Z"));
        let tpl = Templates::builtin(render::Language::Sv).unwrap();
        let (att, ev) = opening_attachments(&c, &tpl);
        let names: Vec<&str> = att.iter().map(|a| a.file_name.as_str()).collect();
        assert!(names.iter().any(|n| n.ends_with(".docx")), "{names:?}");
        assert!(names.iter().any(|n| n.ends_with(".ics")), "{names:?}");
        assert!(names.iter().any(|n| n.starts_with("IMY-")), "{names:?}");
        assert!(!names.iter().any(|n| n.ends_with(".json")), "{names:?}");
        assert_eq!(ev.kind, EventKind::DocumentsGenerated);
        let listed = ev.data["documents"].as_array().unwrap();
        assert_eq!(listed.len(), att.len());
        for (a, l) in att.iter().zip(listed) {
            assert_eq!(l["file_name"], a.file_name.as_str());
            assert_eq!(l["sha256"], render::sha256_hex(&a.bytes).as_str());
        }
        // A set that cannot render: no attachments, a failure event, no panic.
        let (att, ev) = opening_attachments(&c, &Templates::unavailable());
        assert!(att.is_empty());
        assert_eq!(ev.kind, EventKind::DocumentsFailed);
        assert!(draft_attachments(&c, &Templates::unavailable(), Outcome::NoNotify).is_err());
        let (att, evs) =
            decision_attachments(&c, None, Decision::DoNotNotify, &Templates::unavailable());
        assert!(att.is_empty());
        assert_eq!(evs[0].kind, EventKind::DocumentsFailed);
        assert_eq!(evs[0].data["outcome"], "no_notify");
        let (att, evs) = draft_attachments(&c, &tpl, Outcome::NoNotify).unwrap();
        assert!(!att.iter().any(|a| a.file_name.starts_with("IMY-")));
        assert_eq!(evs[0].data["outcome"], "no_notify");
    }
}
