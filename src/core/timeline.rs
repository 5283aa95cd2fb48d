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
//! # Sealed events (since migration 0003)
//!
//! An event written since the register upgrade also carries a *seal*
//! (`events.seal`, see `core::register::Seal`): its place in the register-wide
//! sequence (`reg_seq`) and the case row's fields as they were after the
//! event's transaction. A sealed event hashes as the same array with the seal
//! appended as a seventh element, `[seq, case_ref, at, kind, actor, data, seal]`
//! (the seal in canonical JSON), so an event without a seal hashes exactly as
//! it did before and old chains keep verifying. Once a case has a sealed event,
//! every later event must be sealed, with a growing `reg_seq`.
//!
//! What the chain alone cannot see: dropping the *last* rows of a case (the rest
//! still verifies). The shell keeps the head hash on the case row, and
//! `core::register` checks the register-wide sequence and an outside anchor.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::event::EventKind;
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
    /// What happened (stored and hashed as its text, `EventKind::as_str`).
    pub kind: EventKind,
    /// Who did it: an address, or "breachwatch" for the daemon itself.
    pub actor: String,
    pub data: serde_json::Value,
}

/// An event as stored: with the hash of the event before it and its own hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredEvent {
    pub event: Event,
    /// The seal as stored (None for events written before migration 0003). Kept
    /// as raw JSON so that the hash is over what is stored, whether or not it
    /// still reads as a `core::register::Seal`.
    #[serde(default)]
    pub seal: Option<serde_json::Value>,
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
    /// An event without a seal after a sealed one: every event written since the
    /// upgrade is sealed, so this row was inserted by hand.
    Unsealed,
    /// The row's register-wide sequence number (`reg_seq`) is missing or not
    /// above the previous sealed event's: rows of the register were reordered.
    RegisterOrder,
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
    push_json_string(&mut out, ev.kind.as_str());
    out.push(',');
    push_json_string(&mut out, &ev.actor);
    out.push(',');
    push_canonical_value(&mut out, &ev.data);
    out.push(']');
    out
}

/// The canonical bytes of a sealed event: [`canonical`] with the seal appended
/// as a seventh element. Without a seal it is [`canonical`] itself.
pub fn canonical_sealed(ev: &Event, seal: Option<&serde_json::Value>) -> String {
    let mut out = canonical(ev);
    if let Some(seal) = seal {
        // `canonical` always ends with the closing bracket of the array.
        out.pop();
        out.push(',');
        push_canonical_value(&mut out, seal);
        out.push(']');
    }
    out
}

/// Canonical JSON of any value (object keys sorted at every level), the form
/// in which `data` and seals are hashed.
pub fn canonical_json(v: &serde_json::Value) -> String {
    let mut out = String::new();
    push_canonical_value(&mut out, v);
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

/// `hex(sha256(prev || canonical_sealed(ev, seal)))`; equals [`chain_hash`]
/// when there is no seal.
pub fn sealed_hash(prev: &str, ev: &Event, seal: Option<&serde_json::Value>) -> String {
    let mut h = Sha256::new();
    h.update(prev.as_bytes());
    h.update(canonical_sealed(ev, seal).as_bytes());
    hex::encode(h.finalize())
}

/// Chains the next event of a case: `prev` is the last stored event of the case,
/// or None for the first one. The `seq` of `ev` is set to follow `prev` so the
/// caller cannot get it wrong.
pub fn append(prev: Option<&StoredEvent>, ev: Event) -> StoredEvent {
    append_sealed(prev, ev, None)
}

/// As [`append`], with a seal (see the module doc).
pub fn append_sealed(
    prev: Option<&StoredEvent>,
    mut ev: Event,
    seal: Option<serde_json::Value>,
) -> StoredEvent {
    let (prev_hash, seq) = match prev {
        Some(p) => (p.hash.clone(), p.event.seq.saturating_add(1)),
        None => (GENESIS.to_string(), 1),
    };
    ev.seq = seq;
    let hash = sealed_hash(&prev_hash, &ev, seal.as_ref());
    StoredEvent {
        event: ev,
        seal,
        prev_hash,
        hash,
    }
}

/// The register-wide sequence number in a stored seal, if it has one.
pub fn reg_seq_of(seal: &serde_json::Value) -> Option<u64> {
    seal.get("reg_seq").and_then(serde_json::Value::as_u64)
}

/// Checks a case's whole timeline, given in stored order (by `seq`). Returns the
/// head hash (the last event's hash, or [`GENESIS`] for an empty timeline) or the
/// FIRST broken link. For each row, in this order: its `seq` follows the previous
/// one, its `prev_hash` is the previous row's hash, its content (with its seal)
/// hashes to `hash`, and once a row was sealed every later row is sealed with a
/// greater `reg_seq`.
pub fn verify(events: &[StoredEvent]) -> Result<String, BrokenLink> {
    let mut expected_prev = GENESIS.to_string();
    let mut expected_seq: u64 = 1;
    // The reg_seq of the last sealed row, once there was one.
    let mut last_reg: Option<u64> = None;
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
        let computed = sealed_hash(&row.prev_hash, &row.event, row.seal.as_ref());
        if row.hash != computed {
            return Err(BrokenLink {
                seq: row.event.seq,
                problem: LinkProblem::Hash,
                expected: computed,
                found: row.hash.clone(),
            });
        }
        match (&row.seal, last_reg) {
            (None, Some(prev)) => {
                return Err(BrokenLink {
                    seq: row.event.seq,
                    problem: LinkProblem::Unsealed,
                    expected: format!("a seal after register event {prev}"),
                    found: "no seal".into(),
                })
            }
            (None, None) => {}
            (Some(seal), prev) => {
                let reg = reg_seq_of(seal);
                match (reg, prev) {
                    (Some(r), Some(p)) if r > p => last_reg = Some(r),
                    (Some(r), None) if r > 0 => last_reg = Some(r),
                    _ => {
                        return Err(BrokenLink {
                            seq: row.event.seq,
                            problem: LinkProblem::RegisterOrder,
                            expected: format!(
                                "a register sequence number above {}",
                                prev.unwrap_or(0)
                            ),
                            found: reg.map_or("none".into(), |r| r.to_string()),
                        })
                    }
                }
            }
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
            (
                "kind",
                |s| s.event.kind = format!("{}x", s.event.kind).into(),
                LinkProblem::Hash,
            ),
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

    fn sealed(reg: &[Option<u64>]) -> Vec<StoredEvent> {
        let mut out: Vec<StoredEvent> = Vec::new();
        for (i, r) in reg.iter().enumerate() {
            let seal = r.map(|r| json!({"reg_seq": r, "row": {"state": "received"}}));
            let s = append_sealed(out.last(), ev("note", i as i64, json!({"i": i})), seal);
            out.push(s);
        }
        out
    }

    #[test]
    fn a_seal_is_the_seventh_element_and_no_seal_hashes_as_before() {
        let e = ev("note", 0, json!({"a": 1}));
        assert_eq!(sealed_hash(GENESIS, &e, None), chain_hash(GENESIS, &e));
        let seal = json!({"row": {"state": "received"}, "reg_seq": 4});
        assert_eq!(
            canonical_sealed(&e, Some(&seal)),
            r#"[0,"PUI-2026-0007","2026-03-27T09:00:00.000000Z","note","anna@kommun.example",{"a":1},{"reg_seq":4,"row":{"state":"received"}}]"#
        );
        assert_ne!(
            sealed_hash(GENESIS, &e, Some(&seal)),
            chain_hash(GENESIS, &e)
        );
    }

    #[test]
    fn old_unsealed_events_followed_by_sealed_ones_verify() {
        let c = sealed(&[None, None, Some(3), Some(7)]);
        assert_eq!(verify(&c), Ok(c[3].hash.clone()));
    }

    #[test]
    fn an_edited_seal_is_caught_at_that_event() {
        let mut c = sealed(&[Some(1), Some(2), Some(5)]);
        c[1].seal = Some(json!({"reg_seq": 2, "row": {"state": "closed"}}));
        let err = verify(&c).unwrap_err();
        assert_eq!((err.seq, err.problem), (2, LinkProblem::Hash));
        // Dropping the seal of a row is an edit too.
        let mut c = sealed(&[Some(1), Some(2), Some(5)]);
        c[2].seal = None;
        assert_eq!(verify(&c).unwrap_err().problem, LinkProblem::Hash);
    }

    #[test]
    fn an_unsealed_event_after_a_sealed_one_is_caught_even_rehashed() {
        // Someone inserts an event by hand, hashing it the old way.
        let mut c = sealed(&[Some(1), Some(2)]);
        let forged = append(c.last(), ev("decided", 9, json!({"decision": "no_notify"})));
        c.push(forged);
        let err = verify(&c).unwrap_err();
        assert_eq!((err.seq, err.problem), (3, LinkProblem::Unsealed));
    }

    #[test]
    fn register_numbers_must_grow_along_a_case() {
        for regs in [
            vec![Some(4), Some(4)],
            vec![Some(4), Some(2)],
            vec![Some(0)],
        ] {
            let c = sealed(&regs);
            let err = verify(&c).unwrap_err();
            assert_eq!(err.problem, LinkProblem::RegisterOrder, "{regs:?}");
        }
        let mut c = sealed(&[Some(1)]);
        let no_number = append_sealed(None, c[0].event.clone(), Some(json!({"row": {}})));
        c[0] = no_number;
        assert_eq!(verify(&c).unwrap_err().problem, LinkProblem::RegisterOrder);
    }
}
