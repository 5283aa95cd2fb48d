//! A transaction's new events, chained and sealed in memory: the rows it
//! writes are the rows that writing the events one by one would write (each
//! event's hash covers the one before it, its register number and the case
//! row as the transaction leaves it), in one multi-row INSERT.

use chrono::{DateTime, Utc};

use super::NewEvent;
use crate::core::register::{RowState, Seal};
use crate::core::timeline;
use crate::core::types::CaseRef;

/// One event row as stored.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct EventRow {
    pub case_id: i64,
    pub seq: i64,
    pub kind: String,
    pub actor: String,
    pub data: String,
    pub prev_hash: String,
    pub hash: String,
    pub seal: String,
}

/// A case's timeline as the chain continues it.
pub(crate) struct Timeline<'a> {
    pub case_id: i64,
    pub case_ref: &'a CaseRef,
    /// The case row as this transaction leaves it (sealed into each event).
    pub row: &'a RowState,
    /// The last event's seq and hash; None for a case without events.
    pub head: Option<(i64, String)>,
}

/// Stored instants keep microseconds (PostgreSQL's precision), so the hash
/// of a re-read row is the hash written.
pub(crate) fn stored_instant(at: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp_micros(at.timestamp_micros()).unwrap_or(at)
}

/// Appends the rows of `evs` to `out`: each with the next register number
/// after `*reg_seq` (which follows them) and the next seq of `t`.
pub(crate) fn chain<'e>(
    t: Timeline<'_>,
    reg_seq: &mut i64,
    at: DateTime<Utc>,
    evs: impl IntoIterator<Item = &'e NewEvent>,
    out: &mut Vec<EventRow>,
) {
    let (mut seq, mut prev) = t.head.unwrap_or_else(|| (0, timeline::GENESIS.to_string()));
    for ev in evs {
        *reg_seq += 1;
        seq += 1;
        let seal = Seal {
            reg_seq: u64::try_from(*reg_seq).unwrap_or(0),
            row: t.row.clone(),
        }
        .to_value();
        let e = timeline::Event {
            seq: u64::try_from(seq).unwrap_or(0),
            case_ref: t.case_ref.clone(),
            at,
            kind: ev.kind.clone(),
            actor: ev.actor.clone(),
            data: ev.data.clone(),
        };
        let hash = timeline::sealed_hash(&prev, &e, Some(&seal));
        out.push(EventRow {
            case_id: t.case_id,
            seq,
            kind: ev.kind.as_str().to_string(),
            actor: ev.actor.clone(),
            data: ev.data.to_string(),
            prev_hash: std::mem::replace(&mut prev, hash.clone()),
            hash,
            seal: seal.to_string(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::event::EventKind;

    fn ev(kind: EventKind, n: i64) -> NewEvent {
        NewEvent {
            kind,
            actor: "system".into(),
            data: serde_json::json!({ "n": n }),
        }
    }

    fn row() -> RowState {
        let at = |s| DateTime::<Utc>::from_timestamp(s, 0).unwrap_or_default();
        let empty = serde_json::json!({});
        RowState::of(&crate::core::register::CaseRow {
            state: "open",
            aware_at: at(1_700_000_000),
            deadline_at: at(1_700_259_200),
            opened_at: at(1_700_000_100),
            reporter: [None, None, None, None],
            systems: &[],
            route: &empty,
            facts: &empty,
            workflow: &empty,
        })
    }

    /// Several events in one call are the rows of one call per event:
    /// the same seqs, register numbers, links and hashes.
    #[test]
    fn a_chain_of_several_is_the_chain_of_one_at_a_time() {
        let r = row();
        let cref = CaseRef::from_stored("IR-2026-0001".into());
        let at = stored_instant(
            chrono::DateTime::<Utc>::from_timestamp(1_700_000_200, 123_456_789).unwrap_or_default(),
        );
        let evs = [
            ev(EventKind::MessageAttached, 1),
            ev(EventKind::DocumentsGenerated, 2),
            ev(EventKind::Note, 3),
        ];
        let head = Some((4, "ab".repeat(32)));
        let tl = |head| Timeline {
            case_id: 7,
            case_ref: &cref,
            row: &r,
            head,
        };
        let mut all = Vec::new();
        let mut reg = 40;
        chain(tl(head.clone()), &mut reg, at, &evs, &mut all);
        let mut one = Vec::new();
        let mut reg1 = 40;
        let mut h = head;
        for e in &evs {
            let mut part = Vec::new();
            chain(tl(h.clone()), &mut reg1, at, [e], &mut part);
            h = part.last().map(|p| (p.seq, p.hash.clone()));
            one.extend(part);
        }
        assert_eq!(all, one);
        assert_eq!(reg, 43);
        assert_eq!(all.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![5, 6, 7]);
        assert_eq!(all[0].prev_hash, "ab".repeat(32));
        assert_eq!(all[1].prev_hash, all[0].hash);
        assert!(all[2].seal.contains("\"reg_seq\":43"), "{}", all[2].seal);
        // A case without events starts at the genesis hash.
        let mut fresh = Vec::new();
        chain(tl(None), &mut 0, at, &evs[..1], &mut fresh);
        assert_eq!(
            (fresh[0].seq, fresh[0].prev_hash.as_str()),
            (1, timeline::GENESIS)
        );
    }
}
