//! Shell side of `breachwatch stats`: every case from the store as a
//! `core::stats::CaseStat` (one decode per case, here), counted by the pure
//! core and rendered by `render::stats`.

use crate::core::case::Decision;
use crate::core::stats::{CaseStat, Outcome};
use crate::store::{CaseRecord, Store};

fn text(v: &serde_json::Value) -> Option<String> {
    v.as_str()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// One stored case as the statistics see it (pure); `None` for a case merged
/// into another (its messages are counted in the case it was merged into).
pub fn from_record(record: &CaseRecord) -> Option<CaseStat> {
    let case = record.case();
    if case.merged_into.is_some() {
        return None;
    }
    let inc = &record.stored.facts["incident"];
    let outcome = match (case.withdrawn_at, case.decision) {
        (Some(_), _) => Outcome::Withdrawn,
        (None, Some(Decision::Notify)) => Outcome::Notified,
        (None, Some(Decision::NotifyAndInform)) => Outcome::NotifiedAndInformed,
        (None, Some(Decision::DoNotNotify)) => Outcome::NotNotified,
        (None, None) => Outcome::Undecided,
    };
    let supplier = text(&record.stored.facts["reporter"]["organisation"])
        .or_else(|| record.reporter_organisation.clone())
        .or_else(|| record.reporter_domain.clone());
    Some(CaseStat {
        case_ref: record.case_ref.to_string(),
        aware_at: record.aware_at,
        committee: record
            .route
            .as_ref()
            .map(|r| r.committee.name.trim())
            .filter(|n| !n.is_empty())
            .map(str::to_string)
            .unwrap_or_default(),
        supplier,
        cause: text(&inc["cause"]),
        data_categories: inc["data_categories"]
            .as_array()
            .map(|a| a.iter().filter_map(text).collect())
            .unwrap_or_default(),
        outcome,
        decided_at: case.decided_at,
        reported_at: case.reported_at,
        delay_reason: case.delay_reason.clone(),
        nis2: case.nis2.clone(),
    })
}

/// Every case in the store, merged-away cases left out.
pub async fn collect(store: &Store) -> anyhow::Result<Vec<CaseStat>> {
    Ok(store
        .all_workflows()
        .await?
        .iter()
        .filter_map(from_record)
        .collect())
}
