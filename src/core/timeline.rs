//! The case timeline: append-only events, each chained to the one before by a
//! SHA-256 hash, so that any later edit of a stored row (a changed field, a
//! deleted row, rows put in another order) is found by [`verify`].
//!
//! This module owns the event shape, its canonical serialisation, the chain hash
//! and the verification. It must not do IO or read the clock: the shell stores
//! [`StoredEvent`]s and passes them back in `seq` order to check them.
//!
//! # Canonical serialisation (stable; changing it breaks every stored chain)
//!
//! An event is hashed as the compact JSON *array*
//! `[seq, case_ref, at, kind, actor, data]` (fixed field order, no whitespace):
//! - `seq` a JSON integer, `case_ref`, `kind`, `actor` JSON strings;
//! - `at` the RFC 3339 UTC string with exactly six fractional digits and `Z`
//!   (`2026-03-27T09:00:00.000000Z`). Microseconds because PostgreSQL stores no
//!   finer, so an instant that went through the database hashes the same;
//! - `data` canonical JSON: object keys sorted by their UTF-8 bytes at every
//!   level, strings escaped as serde_json escapes them, numbers as serde_json
//!   prints them. We sort ourselves instead of relying on serde_json's map
//!   order, which flips to insertion order if any crate in the build turns on
//!   its `preserve_order` feature.
//!
//! `hash = hex(sha256(prev_hash_hex || canonical(event)))`, lower-case hex, where
//! `prev_hash_hex` is the 64 hex characters of the previous event's hash, and for
//! the first event of a case [`GENESIS`] (64 zeros).
//!
//! What the chain alone cannot see: dropping the *last* rows of a case (the rest
//! still verifies). The shell should keep the head hash on the case row and
//! compare it with [`verify`]'s result.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::types::CaseRef;

/// The "previous hash" of the first event of every case.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One thing that happened to a case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// 1 for the first event of a case, then +1 for each event.
    pub seq: u64,
    pub case_ref: CaseRef,
    pub at: DateTime<Utc>,
    /// What happened, e.g. "case_opened", "acknowledged", "reply_refused".
    pub kind: String,
    /// Who did it: an address, or "breachwatch" for the daemon itself.
    pub actor: String,
    pub data: serde_json::Value,
}

/// An event as stored: with the hash of the event before it and its own hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredEvent {
    pub event: Event,
    pub prev_hash: String,
    pub hash: String,
}

/// Which link of the chain did not hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkProblem {
    /// The row's `seq` is not the one after the previous row's (deleted or
    /// reordered rows).
    Seq,
    /// The row's `prev_hash` is not the previous row's hash (deleted or reordered
    /// rows, or an edited `prev_hash`).
    PrevHash,
    /// The row's content does not hash to its stored `hash` (an edited field or an
    /// edited `hash`).
    Hash,
}

/// The first place where the chain is broken.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("timeline broken at seq {seq} ({problem:?}): expected {expected}, found {found}")]
pub struct BrokenLink {
    /// `seq` of the first row that does not fit (as stored in that row).
    pub seq: u64,
    pub problem: LinkProblem,
    pub expected: String,
    pub found: String,
}

/// The canonical bytes of an event (see the module doc).
pub fn canonical(ev: &Event) -> String {
    let mut out = String::with_capacity(128);
    out.push('[');
    out.push_str(&ev.seq.to_string());
    out.push(',');
    push_json_string(&mut out, ev.case_ref.as_str());
    out.push(',');
    push_json_string(
        &mut out,
        &ev.at.to_rfc3339_opts(SecondsFormat::Micros, true),
    );
    out.push(',');
    push_json_string(&mut out, &ev.kind);
    out.push(',');
    push_json_string(&mut out, &ev.actor);
    out.push(',');
    push_canonical_value(&mut out, &ev.data);
    out.push(']');
    out
}

fn push_json_string(out: &mut String, s: &str) {
    // serde_json's string escaping is fixed (RFC 8259 minimal escaping) and
    // serialising a &str cannot fail; the fallback keeps this total anyway.
    match serde_json::to_string(s) {
        Ok(j) => out.push_str(&j),
        Err(_) => out.push_str("\"\""),
    }
}

fn push_canonical_value(out: &mut String, v: &serde_json::Value) {
    use serde_json::Value;
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => push_json_string(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                push_canonical_value(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
            out.push('{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                push_json_string(out, k);
                out.push(':');
                if let Some(val) = map.get(*k) {
                    push_canonical_value(out, val);
                }
            }
            out.push('}');
        }
    }
}

/// `hex(sha256(prev || canonical(ev)))`.
pub fn chain_hash(prev: &str, ev: &Event) -> String {
    let mut h = Sha256::new();
    h.update(prev.as_bytes());
    h.update(canonical(ev).as_bytes());
    hex::encode(h.finalize())
}

/// Seals the next event of a case: `prev` is the last stored event of the case,
/// or None for the first one. The `seq` of `ev` is set to follow `prev` so the
/// caller cannot get it wrong.
pub fn append(prev: Option<&StoredEvent>, mut ev: Event) -> StoredEvent {
    let (prev_hash, seq) = match prev {
        Some(p) => (p.hash.clone(), p.event.seq.saturating_add(1)),
        None => (GENESIS.to_string(), 1),
    };
    ev.seq = seq;
    let hash = chain_hash(&prev_hash, &ev);
    StoredEvent {
        event: ev,
        prev_hash,
        hash,
    }
}

/// Checks a case's whole timeline, given in stored order (by `seq`). Returns the
/// head hash (the last event's hash, or [`GENESIS`] for an empty timeline) or the
/// FIRST broken link. For each row, in this order: its `seq` follows the previous
/// one, its `prev_hash` is the previous row's hash, its content hashes to `hash`.
pub fn verify(events: &[StoredEvent]) -> Result<String, BrokenLink> {
    let mut expected_prev = GENESIS.to_string();
    let mut expected_seq: u64 = 1;
    for row in events {
        if row.event.seq != expected_seq {
            return Err(BrokenLink {
                seq: row.event.seq,
                problem: LinkProblem::Seq,
                expected: expected_seq.to_string(),
                found: row.event.seq.to_string(),
            });
        }
        if row.prev_hash != expected_prev {
            return Err(BrokenLink {
                seq: row.event.seq,
                problem: LinkProblem::PrevHash,
                expected: expected_prev,
                found: row.prev_hash.clone(),
            });
        }
        let computed = chain_hash(&row.prev_hash, &row.event);
        if row.hash != computed {
            return Err(BrokenLink {
                seq: row.event.seq,
                problem: LinkProblem::Hash,
                expected: computed,
                found: row.hash.clone(),
            });
        }
        expected_prev = computed;
        expected_seq = expected_seq.saturating_add(1);
    }
    Ok(expected_prev)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};
    use serde_json::json;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 27, 9, 0, 0).unwrap()
    }

    fn ev(kind: &str, minutes: i64, data: serde_json::Value) -> Event {
        Event {
            seq: 0,
            case_ref: CaseRef::new("PUI", 2026, 7),
            at: t0() + Duration::minutes(minutes),
            kind: kind.into(),
            actor: "anna@kommun.example".into(),
            data,
        }
    }

    fn chain() -> Vec<StoredEvent> {
        let evs = vec![
            ev(
                "case_opened",
                0,
                json!({"committee": "KS", "aware_at": "x"}),
            ),
            ev("acknowledged", 5, json!({})),
            ev("assessed", 30, json!({"assessment": "risk", "n": 3})),
            ev(
                "note",
                40,
                json!({"text": "Ring leverantören", "list": [1, 2]}),
            ),
            ev("decided", 60, json!({"decision": "notify"})),
        ];
        let mut out: Vec<StoredEvent> = Vec::new();
        for e in evs {
            let s = append(out.last(), e);
            out.push(s);
        }
        out
    }

    #[test]
    fn a_fresh_chain_verifies_and_starts_at_genesis() {
        let c = chain();
        assert_eq!(c[0].prev_hash, GENESIS);
        assert_eq!(GENESIS.len(), 64);
        assert_eq!(c[0].event.seq, 1);
        assert_eq!(c[4].event.seq, 5);
        assert_eq!(verify(&c), Ok(c[4].hash.clone()));
        assert_eq!(verify(&[]), Ok(GENESIS.to_string()));
    }

    #[test]
    fn canonical_form_is_fixed_and_sorts_keys_at_every_level() {
        let e = Event {
            seq: 3,
            case_ref: CaseRef::new("PUI", 2026, 7),
            at: t0(),
            kind: "note".into(),
            actor: "a@b".into(),
            data: json!({"b": {"z": 1, "a": [true, null]}, "a": "å\"\n"}),
        };
        assert_eq!(
            canonical(&e),
            r#"[3,"PUI-2026-0007","2026-03-27T09:00:00.000000Z","note","a@b",{"a":"å\"\n","b":{"a":[true,null],"z":1}}]"#
        );
        // Pinned hash (computed independently with Python's hashlib): a change of
        // the canonical form must be a deliberate one.
        assert_eq!(
            chain_hash(GENESIS, &e),
            "89a405c93c2b794a0a920c3a08969265e2c2611a6a1d54db1d5dfd65e892f286"
        );
    }

    #[test]
    fn sub_microsecond_noise_from_the_database_does_not_break_the_chain() {
        let mut e = ev("x", 0, json!({}));
        let a = chain_hash(GENESIS, &e);
        e.at += Duration::nanoseconds(300);
        assert_eq!(chain_hash(GENESIS, &e), a);
        e.at += Duration::microseconds(1);
        assert_ne!(chain_hash(GENESIS, &e), a);
    }

    type Edit = fn(&mut StoredEvent);

    #[test]
    fn editing_any_field_of_any_event_is_caught_at_that_event() {
        let edits: Vec<(&str, Edit, LinkProblem)> = vec![
            (
                "case_ref",
                |s| s.event.case_ref = CaseRef::new("PUI", 2026, 8),
                LinkProblem::Hash,
            ),
            (
                "at",
                |s| s.event.at += Duration::seconds(1),
                LinkProblem::Hash,
            ),
            ("kind", |s| s.event.kind.push('x'), LinkProblem::Hash),
            (
                "actor",
                |s| s.event.actor = "mallory@x".into(),
                LinkProblem::Hash,
            ),
            (
                "data value",
                |s| s.event.data = json!({"changed": true}),
                LinkProblem::Hash,
            ),
            ("hash", |s| s.hash = "f".repeat(64), LinkProblem::Hash),
            (
                "prev_hash",
                |s| s.prev_hash = "e".repeat(64),
                LinkProblem::PrevHash,
            ),
            ("seq", |s| s.event.seq += 10, LinkProblem::Seq),
        ];
        for i in 0..5 {
            for (name, edit, problem) in &edits {
                let mut c = chain();
                edit(&mut c[i]);
                let err = verify(&c).expect_err(name);
                assert_eq!(err.seq, c[i].event.seq, "{name} on row {i}");
                assert_eq!(err.problem, *problem, "{name} on row {i}");
            }
        }
    }

    #[test]
    fn a_nested_data_edit_is_caught() {
        let mut c = chain();
        c[3].event.data["list"][1] = json!(3);
        let err = verify(&c).unwrap_err();
        assert_eq!((err.seq, err.problem), (4, LinkProblem::Hash));
        assert_eq!(err.found, c[3].hash);
    }

    #[test]
    fn a_deleted_row_is_caught_at_the_row_after_it() {
        for i in 0..4 {
            let mut c = chain();
            c.remove(i);
            let err = verify(&c).unwrap_err();
            assert_eq!(err.seq, i as u64 + 2, "deleted row {i}");
            assert_eq!(err.problem, LinkProblem::Seq);
        }
    }

    #[test]
    fn a_deleted_row_with_renumbered_seqs_is_still_caught() {
        let mut c = chain();
        c.remove(1);
        for (i, row) in c.iter_mut().enumerate() {
            row.event.seq = i as u64 + 1;
        }
        let err = verify(&c).unwrap_err();
        assert_eq!((err.seq, err.problem), (2, LinkProblem::PrevHash));
    }

    #[test]
    fn reordered_rows_are_caught_at_the_first_out_of_place() {
        let mut c = chain();
        c.swap(2, 3);
        let err = verify(&c).unwrap_err();
        assert_eq!(err.seq, 4);
        assert_eq!(err.problem, LinkProblem::Seq);
    }

    #[test]
    fn a_rehashed_edit_of_a_middle_row_breaks_the_next_row() {
        // Someone edits a row and recomputes its hash: the next row's prev_hash no
        // longer matches.
        let mut c = chain();
        c[1].event.actor = "mallory@x".into();
        c[1].hash = chain_hash(&c[1].prev_hash, &c[1].event);
        let err = verify(&c).unwrap_err();
        assert_eq!((err.seq, err.problem), (3, LinkProblem::PrevHash));
    }

    #[test]
    fn dropping_the_tail_changes_the_head_hash() {
        let c = chain();
        let full = verify(&c).unwrap();
        let cut = verify(&c[..4]).unwrap();
        assert_ne!(full, cut);
    }
}
