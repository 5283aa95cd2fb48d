//! The art. 33(5) register: every case, notified or not, with its facts, effects,
//! remedial actions, decision and reasoning (`register export`), and the check
//! that no stored timeline row was edited, removed or reordered (`register
//! verify`: each case's chain with `core::timeline::verify`, its head hash and
//! its row against the last seal, the case numbers and register-wide event
//! sequence with `core::register`, and optionally an anchor saved outside).
//! The anchor printed in the DPO digest comes from [`current_anchor`].

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use chrono_tz::Tz;
use serde_json::{json, Value};

use crate::core::event::EventKind;
use crate::core::regime::Clock;
use crate::core::register::{self, Anchor, CaseHead, Seal};
use crate::core::timeline::{self, StoredEvent};
use crate::store::{CaseRecord, EventRow, Store};

fn local(t: Option<DateTime<Utc>>, tz: Tz) -> Value {
    t.map(|t| Value::String(crate::core::local_time::rfc3339(t, tz)))
        .unwrap_or(Value::Null)
}

/// One register entry.
fn entry(record: &CaseRecord, events: &[EventRow], messages: i64, tz: Tz) -> Value {
    let case = record.case();
    let f = &record.stored.facts;
    let inc = &f["incident"];
    let texts = |kinds: &[EventKind]| -> Vec<Value> {
        events
            .iter()
            .filter(|e| kinds.contains(&e.kind))
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
    // Each regime's dates (`core::regime`): the NIS2 deadlines while NIS2
    // runs, and what was sent, whatever was decided later.
    let dues = case.deadlines(tz);
    let due = |c: Clock| {
        local(
            dues.iter().find(|d| d.clock == c).and_then(|d| d.due_at),
            tz,
        )
    };
    let n = &case.nis2;
    let mut v = json!({
        "ref": record.case_ref,
        "state": record.state,
        "committee": record.route.as_ref().map(|r| &r.committee.name),
        "official": record.route.as_ref().map(|r| &r.official.address),
        "aware_at": local(Some(record.aware_at), tz),
        "deadline_at": local(Some(case.deadline()), tz),
        "opened_at": local(Some(record.opened_at), tz),
        "reporter_organisation": f["reporter"]["organisation"],
        "reporter_address": f["reporter"]["address"],
        "systems": record.systems,
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
        "reasoning_and_remedial_actions": texts(&[
            EventKind::Assessed,
            EventKind::Decided,
            EventKind::Note,
            EventKind::DelayReason,
            EventKind::FollowUp,
            EventKind::Reported,
            EventKind::Supplemented,
            EventKind::Withdrawn,
            EventKind::Closed,
            EventKind::Nis2Decided,
            EventKind::Nis2EarlyWarningSent,
            EventKind::Nis2NotificationSent,
            EventKind::Nis2ProgressReportSent,
            EventKind::Nis2IncidentHandled,
            EventKind::Nis2FinalReportSent,
        ]),
        "messages": messages,
        "events": events.len(),
        "timeline_head": record.timeline_head,
    });
    if let Value::Object(m) = &mut v {
        let nis2 = [
            ("nis2_status", json!(n.status)),
            ("nis2_early_warning_due_at", due(Clock::EarlyWarning)),
            (
                "nis2_early_warning_sent_at",
                local(n.early_warning_sent_at, tz),
            ),
            ("nis2_notification_due_at", due(Clock::IncidentNotification)),
            (
                "nis2_notification_sent_at",
                local(n.notification_sent_at, tz),
            ),
            ("nis2_notification_ref", json!(n.notification_ref)),
            ("nis2_progress_report_due_at", due(Clock::ProgressReport)),
            (
                "nis2_progress_report_sent_at",
                local(n.progress_report_sent_at, tz),
            ),
            ("nis2_handled_at", local(n.handled_at, tz)),
            ("nis2_final_report_due_at", due(Clock::FinalReport)),
            (
                "nis2_final_report_sent_at",
                local(n.final_report_sent_at, tz),
            ),
            (
                "nis2_decision",
                json!({
                    "decided_by": n.decided_by,
                    "decided_at": local(n.decided_at, tz),
                    "reasoning": n.reasoning,
                    "suggested_reasons": n.reasons,
                }),
            ),
        ];
        for (k, val) in nis2 {
            m.insert(k.into(), val);
        }
    }
    v
}

/// Every case opened between `from` and `to` (inclusive, dates in `tz`).
pub async fn export(
    store: &Store,
    tz: Tz,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> anyhow::Result<Vec<Value>> {
    let mut out = Vec::new();
    for record in store.all_workflows().await? {
        let day = record.opened_at.with_timezone(&tz).date_naive();
        if from.is_some_and(|f| day < f) || to.is_some_and(|t| day > t) {
            continue;
        }
        let events = store.case_events(record.id).await?;
        let messages = store.case_messages(record.id).await?.len() as i64;
        out.push(entry(&record, &events, messages, tz));
    }
    Ok(out)
}

/// The columns of the CSV; the NIS2 ones are appended at the end, so a
/// reader of the older columns by position reads on.
const CSV_COLUMNS: [&str; 34] = [
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
    "nis2_status",
    "nis2_early_warning_due_at",
    "nis2_early_warning_sent_at",
    "nis2_notification_due_at",
    "nis2_notification_sent_at",
    "nis2_notification_ref",
    "nis2_progress_report_due_at",
    "nis2_progress_report_sent_at",
    "nis2_handled_at",
    "nis2_final_report_due_at",
    "nis2_final_report_sent_at",
    "nis2_decision",
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

/// The outcome of `register verify`.
#[derive(Debug, Clone)]
pub struct Report {
    pub cases: Vec<Verified>,
    /// Problems of the register as a whole: missing case numbers, holes in the
    /// register-wide event sequence, an anchor that no longer holds.
    pub register: Vec<String>,
    /// The register-wide event counter.
    pub reg_counter: u64,
    /// Cases whose events all predate the seal (migration 0003): their row is
    /// checked from their next event on.
    pub unsealed_rows: usize,
    /// The anchor that was checked and held.
    pub anchor_held: Option<Anchor>,
}

impl Report {
    /// Every problem, the register's first (a deleted case explains the broken
    /// links it leaves), then per case in case order.
    pub fn problems(&self) -> Vec<String> {
        let mut out: Vec<String> = self.register.clone();
        out.extend(
            self.cases
                .iter()
                .filter_map(|v| v.problem.as_ref().map(|p| format!("{}: {p}", v.case_ref))),
        );
        out
    }

    /// One line: what was checked.
    pub fn summary(&self) -> String {
        let events: usize = self.cases.iter().map(|v| v.events).sum();
        let mut s = format!(
            "register intact: {} case(s), {events} event(s), register events 1–{}",
            self.cases.len(),
            self.reg_counter
        );
        if self.unsealed_rows > 0 {
            s.push_str(&format!(
                ", {} case row(s) not yet sealed (no event since the upgrade)",
                self.unsealed_rows
            ));
        }
        if let Some(a) = &self.anchor_held {
            s.push_str(&format!(
                "; anchor of {} holds ({} case(s), {} event(s), root {}…)",
                a.at.to_rfc3339_opts(SecondsFormat::Secs, true),
                a.cases,
                a.events,
                a.root.get(..12).unwrap_or(&a.root)
            ));
        }
        s
    }
}

/// Checks one case: its chain, its head hash, and its row against the last seal.
/// Returns the problem (if any) and whether the row is sealed at all.
fn check_case(record: &CaseRecord, chain: &[StoredEvent]) -> (Option<String>, bool) {
    let head = match timeline::verify(chain) {
        Err(b) => return (Some(b.to_string()), true),
        Ok(h) => h,
    };
    if head != record.timeline_head {
        return (
            Some(format!(
                "the timeline ends at {head}, but the case row records head {}: events were removed at the end",
                record.timeline_head
            )),
            true,
        );
    }
    if chain.is_empty() {
        // Every case is opened with events: an empty timeline was deleted.
        return (
            Some("the case has no timeline events: its timeline was deleted".into()),
            true,
        );
    }
    let Some(last) = chain.iter().rev().find(|e| e.seal.is_some()) else {
        return (None, false);
    };
    let seq = last.event.seq;
    let Some(seal) = last.seal.as_ref().and_then(Seal::from_value) else {
        return (
            Some(format!("the seal of event {seq} does not read as a seal")),
            true,
        );
    };
    let problem = record
        .row_state()
        .first_difference(&seal.row)
        .map(|m| format!("{m} (event {seq}): the case row was edited"));
    (problem, true)
}

/// Checks every case's timeline chain, head hash and row, the case numbers and
/// the register-wide event sequence, and, given an anchor saved earlier, that
/// the register still holds what the anchor saw.
pub async fn verify(store: &Store, anchor: Option<&Anchor>) -> anyhow::Result<Report> {
    let snap = store.register_snapshot().await?;
    let reg_counter = snap.reg_counter;
    let mut cases = Vec::new();
    let mut reg_seqs: Vec<u64> = Vec::new();
    let mut heads: Vec<CaseHead> = Vec::new();
    let mut unsealed_rows = 0;
    for (record, chain) in &snap.cases {
        let (problem, sealed) = check_case(record, chain);
        if !sealed {
            unsealed_rows += 1;
        }
        reg_seqs.extend(
            chain
                .iter()
                .filter_map(|e| e.seal.as_ref().and_then(timeline::reg_seq_of)),
        );
        if let Some(a) = anchor {
            heads.push(register::prefix_upto(
                record.case_ref.as_str(),
                chain,
                a.upto,
            ));
        }
        cases.push(Verified {
            case_ref: record.case_ref.to_string(),
            events: chain.len(),
            problem,
        });
    }
    let refs: Vec<&str> = snap
        .cases
        .iter()
        .map(|(record, _)| record.case_ref.as_str())
        .collect();
    let mut problems = register::case_number_gaps(&refs, &snap.case_counters);
    problems.extend(register::register_gaps(reg_seqs, reg_counter));
    let mut anchor_held = None;
    if let Some(a) = anchor {
        if a.upto > reg_counter {
            problems.push(format!(
                "the anchor covers register events up to {}, but the register counter is at {reg_counter}: the newest events were deleted and the counter reset",
                a.upto
            ));
        } else {
            match a.check(&Anchor::over(a.at, a.upto, &heads)) {
                Ok(()) => anchor_held = Some(a.clone()),
                Err(e) => problems.push(e.to_string()),
            }
        }
    }
    Ok(Report {
        cases,
        register: problems,
        reg_counter,
        unsealed_rows,
        anchor_held,
    })
}

/// The register's anchor now: the root over every case's events up to the
/// register counter, all read in one snapshot.
pub async fn current_anchor(store: &Store, now: DateTime<Utc>) -> anyhow::Result<Anchor> {
    let snap = store.register_snapshot().await?;
    let heads: Vec<CaseHead> = snap
        .cases
        .iter()
        .map(|(record, chain)| {
            register::prefix_upto(record.case_ref.as_str(), chain, snap.reg_counter)
        })
        .collect();
    Ok(Anchor::over(now, snap.reg_counter, &heads))
}

/// The largest anchor file read: a digest mail is a few kilobytes.
const MAX_ANCHOR_FILE: usize = 4 * 1024 * 1024;

/// Reads an anchor from a saved digest mail (.eml: the text body is decoded, so
/// quoted-printable line wrapping does not matter) or from a file holding the
/// anchor line.
pub fn read_anchor(bytes: &[u8]) -> anyhow::Result<Anchor> {
    if bytes.len() > MAX_ANCHOR_FILE {
        anyhow::bail!(
            "the anchor file has {} bytes; a saved digest mail or anchor line is far below {MAX_ANCHOR_FILE}",
            bytes.len()
        );
    }
    let plain = String::from_utf8_lossy(bytes);
    if let Ok(a) = Anchor::find(&plain) {
        return Ok(a);
    }
    let body = mail_parser::MessageParser::default()
        .parse(bytes)
        .and_then(|m| m.body_text(0).map(|t| t.into_owned()));
    match body {
        Some(text) => Ok(Anchor::find(&text)?),
        None => Ok(Anchor::find(&plain)?),
    }
}
