//! Presenting a [`Notice`]: the inspect-v1 JSON object and the `--explain` text.
//! Times are rendered in the zone given, with that instant's offset.

use chrono::{DateTime, SecondsFormat, Utc};
use chrono_tz::Tz;
use serde_json::{json, Value};

use super::{Cause, Incident, Notice, Range};
use crate::core::clock;

fn t(v: Option<DateTime<Utc>>, tz: Tz) -> Value {
    match v {
        Some(v) => Value::String(
            v.with_timezone(&tz)
                .to_rfc3339_opts(SecondsFormat::Secs, false),
        ),
        None => Value::Null,
    }
}

/// The object of contract `breachwatch.inspect/1`.
pub fn to_contract_json(n: &Notice, tz: Tz) -> Value {
    let i = &n.incident;
    json!({
        "schema": "breachwatch.inspect/1",
        "message_id": n.message_id,
        "kind": n.kind,
        "language": n.language,
        "forwarded": n.forwarded,
        "received_at": t(n.received_at, tz),
        "aware_at": t(n.aware_at, tz),
        "deadline_at": t(n.aware_at.map(clock::deadline), tz),
        "sender": { "name": n.sender.name, "address": n.sender.address },
        "reporter": {
            "name": n.reporter.name,
            "address": n.reporter.address,
            "organisation": n.reporter.organisation,
        },
        "case_ref": n.case_ref,
        "incident": {
            "discovered_at": t(i.discovered_at, tz),
            "occurred_from": t(i.occurred_from, tz),
            "occurred_to": t(i.occurred_to, tz),
            "ongoing": i.ongoing,
            "systems": i.systems,
            "data_categories": i.data_categories,
            "data_subjects": i.data_subjects,
            "cause": i.cause,
            // Informative (not in the contract's scored fields): the drafts'
            // facts, stored with the case and read back by `casefile`.
            "subject_groups": n.details.subject_groups,
            "activity_area": n.details.activity_area,
            "measures": n.details.measures,
            "cause_text": n.details.cause_text,
            "supplier_reference": n.details.supplier_reference,
        }
    })
}

/// Facts with the sentence each was read from, for officials and debugging.
pub fn explain(n: &Notice, tz: Tz) -> String {
    let mut out = String::new();
    let v = to_contract_json(n, tz);
    out.push_str(&serde_json::to_string_pretty(&v).unwrap_or_default());
    out.push_str("\n\nEvidence:\n");
    for e in &n.evidence {
        out.push_str(&format!("  {}: {}\n", e.field, e.text));
    }
    out
}

fn time(v: &Value) -> Option<DateTime<Utc>> {
    v.as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc))
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The incident facts back from the stored inspect-v1 JSON (`cases.facts`),
/// the inverse of [`to_contract_json`] for what a case file needs.
/// Anything missing or malformed reads as unknown.
pub fn incident_from_stored(facts: &Value) -> Incident {
    let i = &facts["incident"];
    let range = &i["data_subjects"];
    let data_subjects = range.is_object().then(|| Range {
        min: range["min"].as_u64(),
        max: range["max"].as_u64(),
    });
    let cause = match i["cause"].as_str() {
        Some("attack") => Some(Cause::Attack),
        Some("human_error") => Some(Cause::HumanError),
        Some("technical_fault") => Some(Cause::TechnicalFault),
        _ => None,
    };
    Incident {
        discovered_at: time(&i["discovered_at"]),
        occurred_from: time(&i["occurred_from"]),
        occurred_to: time(&i["occurred_to"]),
        ongoing: i["ongoing"].as_bool(),
        systems: strings(&i["systems"]),
        data_categories: strings(&i["data_categories"]),
        data_subjects,
        cause,
    }
}

/// The draft facts back from the stored inspect-v1 JSON (`cases.facts`,
/// informative fields of `incident`); anything missing reads as not stated.
pub fn details_from_stored(facts: &Value) -> crate::core::notice::details::Details {
    let i = &facts["incident"];
    let text = |v: &Value| {
        v.as_str()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    crate::core::notice::details::Details {
        subject_groups: strings(&i["subject_groups"]),
        activity_area: text(&i["activity_area"]),
        measures: strings(&i["measures"]),
        cause_text: text(&i["cause_text"]),
        supplier_reference: text(&i["supplier_reference"]),
    }
}
