//! Presenting a [`Notice`]: the inspect-v1 JSON object and the `--explain` text.
//! Times are rendered in the zone given, with that instant's offset.

use chrono::{DateTime, SecondsFormat, Utc};
use chrono_tz::Tz;
use serde_json::{json, Value};

use super::Notice;
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
