//! The art. 33(5) register: every case, notified or not, with its facts, effects,
//! remedial actions, decision and reasoning (`register export`), and the check
//! that no stored timeline row was edited, removed or reordered (`register
//! verify`, using `core::timeline::verify` and the head hash kept on the case).

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use chrono_tz::Tz;
use serde_json::{json, Value};

use crate::core::timeline::{self, Event, StoredEvent};
use crate::store::{CaseRecord, EventRow, Store};
use crate::workers::reply::load_case;

fn local(t: Option<DateTime<Utc>>, tz: Tz) -> Value {
    t.map(|t| {
        Value::String(
            t.with_timezone(&tz)
                .to_rfc3339_opts(SecondsFormat::Secs, false),
        )
    })
    .unwrap_or(Value::Null)
}

/// One register entry.
fn entry(wf: &CaseRecord, events: &[EventRow], messages: i64, tz: Tz) -> Value {
    let case = load_case(wf);
    let f = &wf.facts;
    let inc = &f["incident"];
    let texts = |kinds: &[&str]| -> Vec<Value> {
        events
            .iter()
            .filter(|e| kinds.contains(&e.kind.as_str()))
            .map(|e| {
                json!({
                    "at": local(Some(e.at), tz),
                    "by": e.actor,
                    "kind": e.kind,
                    "data": e.data,
                })
            })
            .collect()
    };
    json!({
        "ref": wf.case_ref,
        "state": wf.state,
        "committee": wf.route["committee"]["name"],
        "official": wf.route["official"]["address"],
        "aware_at": local(Some(wf.aware_at), tz),
        "deadline_at": local(Some(case.deadline()), tz),
        "opened_at": local(Some(wf.opened_at), tz),
        "reporter_organisation": f["reporter"]["organisation"],
        "reporter_address": f["reporter"]["address"],
        "systems": wf.systems,
        "facts": {
            "discovered_at": inc["discovered_at"],
            "occurred_from": inc["occurred_from"],
            "occurred_to": inc["occurred_to"],
            "ongoing": inc["ongoing"],
            "cause": inc["cause"],
        },
        "effects": {
            "data_categories": inc["data_categories"],
            "data_subjects": inc["data_subjects"],
        },
        "assessment": case.assessment,
        "decision": case.decision,
        "decided_at": local(case.decided_at, tz),
        "decided_by": case.decided_by,
        "imy_ref": case.imy_ref.as_ref().map(|r| r.to_string()),
        "reported_at": local(case.reported_at, tz),
        "delay_reason": case.delay_reason,
        "supplements": case.supplements,
        "withdrawn_at": local(case.withdrawn_at, tz),
        "closed_at": local(case.closed_at, tz),
        "reasoning_and_remedial_actions": texts(&["assessed", "decided", "note", "delay_reason", "follow_up", "reported", "supplemented", "withdrawn", "closed"]),
        "messages": messages,
        "events": events.len(),
        "timeline_head": wf.timeline_head,
    })
}

/// Every case opened between `from` and `to` (inclusive, dates in `tz`).
pub async fn export(
    store: &Store,
    tz: Tz,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> anyhow::Result<Vec<Value>> {
    let mut out = Vec::new();
    for wf in store.all_workflows().await? {
        let day = wf.opened_at.with_timezone(&tz).date_naive();
        if from.is_some_and(|f| day < f) || to.is_some_and(|t| day > t) {
            continue;
        }
        let events = store.case_events(wf.id).await?;
        let messages = store.case_messages(wf.id).await?.len() as i64;
        out.push(entry(&wf, &events, messages, tz));
    }
    Ok(out)
}

const CSV_COLUMNS: [&str; 22] = [
    "ref",
    "state",
    "committee",
    "official",
    "aware_at",
    "deadline_at",
    "opened_at",
    "reporter_organisation",
    "reporter_address",
    "systems",
    "facts",
    "effects",
    "assessment",
    "decision",
    "decided_at",
    "imy_ref",
    "reported_at",
    "delay_reason",
    "withdrawn_at",
    "closed_at",
    "reasoning_and_remedial_actions",
    "messages",
];

fn csv_field(v: &Value) -> String {
    let s = match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// CSV with a header row; nested values are JSON inside the quoted field.
pub fn to_csv(entries: &[Value]) -> String {
    let mut out = CSV_COLUMNS.join(",");
    out.push_str("\r\n");
    for e in entries {
        let row: Vec<String> = CSV_COLUMNS.iter().map(|c| csv_field(&e[*c])).collect();
        out.push_str(&row.join(","));
        out.push_str("\r\n");
    }
    out
}

/// The outcome of verifying one case.
#[derive(Debug, Clone)]
pub struct Verified {
    pub case_ref: String,
    pub events: usize,
    pub problem: Option<String>,
}

/// Checks every case's timeline chain and its head hash.
pub async fn verify(store: &Store) -> anyhow::Result<Vec<Verified>> {
    let mut out = Vec::new();
    for wf in store.all_workflows().await? {
        let rows = store.case_events(wf.id).await?;
        let stored: Vec<StoredEvent> = rows
            .iter()
            .map(|r| StoredEvent {
                event: Event {
                    seq: r.seq.max(0) as u64,
                    case_ref: wf.case_ref.clone(),
                    at: r.at,
                    kind: r.kind.clone(),
                    actor: r.actor.clone(),
                    data: r.data.clone(),
                },
                prev_hash: r.prev_hash.clone(),
                hash: r.hash.clone(),
            })
            .collect();
        let problem = match timeline::verify(&stored) {
            Err(b) => Some(b.to_string()),
            Ok(head) if head != wf.timeline_head => Some(format!(
                "the timeline ends at {head}, but the case row records head {}: events were removed at the end",
                wf.timeline_head
            )),
            Ok(_) => None,
        };
        out.push(Verified {
            case_ref: wf.case_ref.to_string(),
            events: rows.len(),
            problem,
        });
    }
    Ok(out)
}
