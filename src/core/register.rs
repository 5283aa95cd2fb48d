//! The register as a whole (art. 33(5)): what makes it tamper-evident beyond one
//! case's hash chain. Pure: the shell reads the rows and passes them in.
//!
//! Three checks, each for an attack the per-case chain alone does not see:
//! - **An edited case row.** Every event written since migration 0003 carries a
//!   [`Seal`] with the [`RowState`]: the case row's register fields as they
//!   were when the event was written (the store computes it inside the event's
//!   transaction, after the case row changed). The seal is inside the event
//!   hash, so `verify` compares the current row with the last seal
//!   ([`RowState::first_difference`]) and names the first field that differs.
//!   Fields a person reads are sealed in clear (state, times, committee,
//!   decision, assessment, IMY reference); the rest as SHA-256 of their
//!   canonical JSON (reporter, systems, route, facts, workflow), so the
//!   timeline holds no reporter address in clear.
//! - **A deleted case or deleted events.** Case numbers run 1, 2, 3… per prefix
//!   and year ([`case_number_gaps`]); every sealed event has a register-wide
//!   sequence number `reg_seq` (1, 2, 3… over all cases, [`register_gaps`]). A
//!   deleted case is a missing number; a case's last events deleted (and its
//!   head reset) leave a hole in `reg_seq` unless they were the newest events of
//!   the whole register.
//! - **A consistent rewrite.** Against that only something kept outside the
//!   database helps: an [`Anchor`] (printed in the DPO digest) holds the
//!   [`root`] over every case's head hash, taken over the events with
//!   `reg_seq <= upto` (and the events from before the upgrade). Later events
//!   have greater `reg_seq`, so legitimate growth leaves the anchored prefix,
//!   and so the root, unchanged.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::timeline::{canonical_json, reg_seq_of, StoredEvent, GENESIS};

/// The marker that starts an anchor line.
pub const ANCHOR_TAG: &str = "breachwatch-register-anchor/1";

/// At most this many missing numbers are listed one by one; the rest are counted.
const LIST_LIMIT: usize = 20;

/// The case row as the register reads it (borrowed from the store's record).
#[derive(Debug, Clone, Copy)]
pub struct CaseRow<'a> {
    pub state: &'a str,
    pub aware_at: DateTime<Utc>,
    pub deadline_at: DateTime<Utc>,
    pub opened_at: DateTime<Utc>,
    /// Name, address, organisation, domain.
    pub reporter: [Option<&'a str>; 4],
    pub systems: &'a [String],
    pub route: &'a Value,
    pub facts: &'a Value,
    pub workflow: &'a Value,
}

/// The register fields of a case row, normalised, as sealed into events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowState {
    pub state: String,
    /// RFC 3339 UTC with microseconds (what both databases keep).
    pub aware_at: String,
    pub deadline_at: String,
    pub opened_at: String,
    pub committee: Option<String>,
    pub decision: Option<String>,
    pub assessment: Option<String>,
    pub imy_ref: Option<String>,
    /// SHA-256 of the canonical JSON of the reporter fields.
    pub reporter: String,
    pub systems: String,
    pub route: String,
    pub facts: String,
    pub workflow: String,
}

/// A field of the case row that no longer matches the timeline's seal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("case row field `{field}` is {found}, but the timeline sealed {sealed}")]
pub struct RowMismatch {
    pub field: &'static str,
    pub sealed: String,
    pub found: String,
}

fn micros(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn digest(v: &Value) -> String {
    hex::encode(Sha256::digest(canonical_json(v).as_bytes()))
}

/// A workflow field as text: a string as is, anything else as canonical JSON.
fn field_text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(canonical_json(other)),
    }
}

impl RowState {
    pub fn of(row: &CaseRow<'_>) -> RowState {
        let reporter = Value::Array(
            row.reporter
                .iter()
                .map(|f| f.map_or(Value::Null, |s| Value::String(s.to_string())))
                .collect(),
        );
        let systems = Value::Array(
            row.systems
                .iter()
                .map(|s| Value::String(s.clone()))
                .collect(),
        );
        RowState {
            state: row.state.to_string(),
            aware_at: micros(row.aware_at),
            deadline_at: micros(row.deadline_at),
            opened_at: micros(row.opened_at),
            committee: field_text(&row.route["committee"]["name"]),
            decision: field_text(&row.workflow["decision"]),
            assessment: field_text(&row.workflow["assessment"]),
            imy_ref: field_text(&row.workflow["imy_ref"]),
            reporter: digest(&reporter),
            systems: digest(&systems),
            route: digest(row.route),
            facts: digest(row.facts),
            workflow: digest(row.workflow),
        }
    }

    /// The fields in the order they are compared: the ones a person reads
    /// first, so an edited decision is named as `decision`, not `workflow`.
    fn fields(&self) -> [(&'static str, Option<&str>, bool); 13] {
        [
            ("state", Some(self.state.as_str()), false),
            ("aware_at", Some(self.aware_at.as_str()), false),
            ("deadline_at", Some(self.deadline_at.as_str()), false),
            ("opened_at", Some(self.opened_at.as_str()), false),
            ("decision", self.decision.as_deref(), false),
            ("assessment", self.assessment.as_deref(), false),
            ("imy_ref", self.imy_ref.as_deref(), false),
            ("committee", self.committee.as_deref(), false),
            ("reporter", Some(self.reporter.as_str()), true),
            ("route", Some(self.route.as_str()), true),
            ("systems", Some(self.systems.as_str()), true),
            ("facts", Some(self.facts.as_str()), true),
            ("workflow", Some(self.workflow.as_str()), true),
        ]
    }

    /// The first field where `self` (the current row) differs from `sealed`.
    pub fn first_difference(&self, sealed: &RowState) -> Option<RowMismatch> {
        let show = |v: Option<&str>, hashed: bool| match (v, hashed) {
            (None, _) => "empty".to_string(),
            // A hashed field is shown by a hash prefix: it may hold an address.
            (Some(h), true) => format!("sha256 {}…", h.get(..12).unwrap_or(h)),
            (Some(s), false) => format!("{s:?}"),
        };
        self.fields()
            .into_iter()
            .zip(sealed.fields())
            .find(|((_, now, _), (_, then, _))| now != then)
            .map(|((field, now, hashed), (_, then, _))| RowMismatch {
                field,
                sealed: show(then, hashed),
                found: show(now, hashed),
            })
    }
}

/// What a sealed event carries besides its own fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seal {
    /// Position in the register-wide sequence of sealed events (from 1).
    pub reg_seq: u64,
    /// The case row after the event's transaction.
    pub row: RowState,
}

impl Seal {
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// None when the stored seal does not read as one (it was edited; the hash
    /// check reports that first).
    pub fn from_value(v: &Value) -> Option<Seal> {
        serde_json::from_value(v.clone()).ok()
    }
}

/// Case references that should exist but do not: per prefix and year, every
/// number from 1 to the highest one used (by a case or by the counter that
/// hands the numbers out). `refs` are the stored references, `counters` the
/// `(prefix, year, last)` rows. Lists at most [`LIST_LIMIT`] and says how many
/// more; references that do not read as `PREFIX-YYYY-NNNN` are named too.
pub fn case_number_gaps(refs: &[&str], counters: &[(String, i64, i64)]) -> Vec<String> {
    let mut per_year: BTreeMap<(String, i64), (BTreeSet<u64>, u64)> = BTreeMap::new();
    let mut problems = Vec::new();
    for r in refs {
        let mut parts = r.rsplitn(3, '-');
        let (num, year, prefix) = (parts.next(), parts.next(), parts.next());
        let parsed = match (prefix, year, num) {
            (Some(p), Some(y), Some(n))
                if y.len() == 4 && n.len() >= 4 && n.bytes().all(|b| b.is_ascii_digit()) =>
            {
                y.parse::<i64>()
                    .ok()
                    .zip(n.parse::<u64>().ok())
                    .map(|(y, n)| (p.to_string(), y, n))
            }
            _ => None,
        };
        match parsed {
            Some((p, y, n)) => {
                per_year.entry((p, y)).or_default().0.insert(n);
            }
            None => problems.push(format!("case reference {r:?} is not PREFIX-YYYY-NNNN")),
        }
    }
    for (p, y, last) in counters {
        let e = per_year.entry((p.clone(), *y)).or_default();
        e.1 = e.1.max(u64::try_from(*last).unwrap_or(0));
    }
    let mut listed = 0usize;
    let mut unlisted = 0u64;
    for ((prefix, year), (numbers, counter)) in &per_year {
        let top = numbers.last().copied().unwrap_or(0).max(*counter);
        let mut expect = 1u64;
        // Walk the present numbers plus a sentinel past the top, so a hole at the
        // end (the newest case deleted, the counter still past it) is seen too.
        for n in numbers
            .iter()
            .copied()
            .chain(std::iter::once(top.saturating_add(1)))
        {
            if n < expect {
                continue;
            }
            for missing in expect..n {
                if listed < LIST_LIMIT {
                    let year = i32::try_from(*year).unwrap_or_default();
                    let seq = u32::try_from(missing).unwrap_or(u32::MAX);
                    problems.push(format!(
                        "case {} is missing: the case numbers of {prefix} {year} have a gap (a deleted case)",
                        super::types::CaseRef::new(prefix, year, seq)
                    ));
                    listed += 1;
                } else {
                    // Counted, not listed: a forged counter must not make us
                    // write millions of lines.
                    unlisted = unlisted.saturating_add(n - missing);
                    break;
                }
            }
            expect = n.saturating_add(1);
        }
    }
    if unlisted > 0 {
        problems.push(format!("and {unlisted} more missing case number(s)"));
    }
    problems
}

/// Holes in the register-wide sequence of sealed events: every number from 1 to
/// `counter` (the last one handed out, read in the same snapshot) must be used
/// exactly once, and none may be above it.
pub fn register_gaps(mut reg_seqs: Vec<u64>, counter: u64) -> Vec<String> {
    reg_seqs.sort_unstable();
    let mut problems = Vec::new();
    for w in reg_seqs.windows(2) {
        if w[0] == w[1] && problems.len() < LIST_LIMIT {
            problems.push(format!("register event {} appears twice", w[0]));
        }
    }
    let mut expect = 1u64;
    let listed = reg_seqs.iter().copied().filter(|r| *r <= counter);
    // A sentinel past the counter closes a hole at the end (the register's
    // newest events deleted while the counter stayed).
    for n in listed.chain(std::iter::once(counter.saturating_add(1))) {
        if n > expect {
            if problems.len() >= LIST_LIMIT {
                problems.push("and possibly more".into());
                break;
            }
            let range = if n - expect == 1 {
                format!("register event {expect} is missing")
            } else {
                format!("register events {expect}–{} are missing", n - 1)
            };
            problems.push(format!(
                "{range}: events were deleted (the newest events of a case, or a whole case)"
            ));
        }
        expect = expect.max(n.saturating_add(1));
    }
    if let Some(max) = reg_seqs.last() {
        if *max > counter {
            problems.push(format!(
                "register event {max} is beyond the register counter ({counter}): the counter was reset"
            ));
        }
    }
    problems
}

/// One case's part of a root: its reference, how many events, their head hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseHead {
    pub case_ref: String,
    pub events: u64,
    pub head: String,
}

/// The events of one case that an anchor with `upto` covers: the longest prefix
/// of the timeline whose events are unsealed (from before the upgrade) or have
/// `reg_seq <= upto`. Returns the count and the hash of the last one.
pub fn prefix_upto(case_ref: &str, events: &[StoredEvent], upto: u64) -> CaseHead {
    let mut head = GENESIS.to_string();
    let mut n = 0u64;
    for e in events {
        let covered = match &e.seal {
            None => true,
            Some(s) => reg_seq_of(s).is_some_and(|r| r <= upto),
        };
        if !covered {
            break;
        }
        head = e.hash.clone();
        n += 1;
    }
    CaseHead {
        case_ref: case_ref.to_string(),
        events: n,
        head,
    }
}

/// The register root: SHA-256 over `ref SP events SP head LF` for every case with
/// at least one covered event, in byte order of the reference.
pub fn root(heads: &[CaseHead]) -> String {
    let mut sorted: Vec<&CaseHead> = heads.iter().filter(|h| h.events > 0).collect();
    sorted.sort_by(|a, b| a.case_ref.as_bytes().cmp(b.case_ref.as_bytes()));
    let mut h = Sha256::new();
    for c in sorted {
        h.update(format!("{} {} {}\n", c.case_ref, c.events, c.head).as_bytes());
    }
    hex::encode(h.finalize())
}

/// What an anchor states about the register at one instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anchor {
    /// When it was taken.
    pub at: DateTime<Utc>,
    /// The highest register sequence number it covers.
    pub upto: u64,
    /// Cases and events covered.
    pub cases: u64,
    pub events: u64,
    pub root: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnchorError {
    #[error("no line starting with {ANCHOR_TAG} was found")]
    Missing,
    #[error("the anchor line has no valid `{0}=`")]
    Field(&'static str),
}

impl Anchor {
    /// Computes the anchor over `heads` (see [`prefix_upto`]).
    pub fn over(at: DateTime<Utc>, upto: u64, heads: &[CaseHead]) -> Anchor {
        Anchor {
            at,
            upto,
            cases: heads.iter().filter(|h| h.events > 0).count() as u64,
            events: heads.iter().map(|h| h.events).sum(),
            root: root(heads),
        }
    }

    /// The line that is printed and saved.
    pub fn line(&self) -> String {
        format!(
            "{ANCHOR_TAG} at={} upto={} cases={} events={} root={}",
            self.at.to_rfc3339_opts(SecondsFormat::Secs, true),
            self.upto,
            self.cases,
            self.events,
            self.root
        )
    }

    /// Finds and reads the first anchor line in `text` (a digest mail's body, or
    /// a file holding the line). Field order does not matter; the root is
    /// normalised to lower case.
    pub fn find(text: &str) -> Result<Anchor, AnchorError> {
        let line = text
            .lines()
            .find_map(|l| l.find(ANCHOR_TAG).map(|i| &l[i + ANCHOR_TAG.len()..]))
            .ok_or(AnchorError::Missing)?;
        let mut fields: BTreeMap<&str, &str> = BTreeMap::new();
        for tok in line.split_whitespace() {
            if let Some((k, v)) = tok.split_once('=') {
                fields.entry(k).or_insert(v);
            }
        }
        let num = |k: &'static str| -> Result<u64, AnchorError> {
            fields
                .get(k)
                .and_then(|v| v.parse::<u64>().ok())
                .ok_or(AnchorError::Field(k))
        };
        let at = fields
            .get("at")
            .and_then(|v| DateTime::parse_from_rfc3339(v).ok())
            .map(|t| t.with_timezone(&Utc))
            .ok_or(AnchorError::Field("at"))?;
        let root = fields
            .get("root")
            .map(|v| v.to_ascii_lowercase())
            .filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or(AnchorError::Field("root"))?;
        Ok(Anchor {
            at,
            upto: num("upto")?,
            cases: num("cases")?,
            events: num("events")?,
            root,
        })
    }

    /// Does the register recomputed now (`now`, over the same `upto`) still hold
    /// what this anchor saw? Err names the first difference.
    pub fn check(&self, now: &Anchor) -> Result<(), AnchorMismatch> {
        let when = self.at.to_rfc3339_opts(SecondsFormat::Secs, true);
        if now.cases != self.cases {
            return Err(AnchorMismatch::Cases {
                when,
                then: self.cases,
                now: now.cases,
                upto: self.upto,
            });
        }
        if now.events != self.events {
            return Err(AnchorMismatch::Events {
                when,
                then: self.events,
                now: now.events,
                upto: self.upto,
            });
        }
        if now.root != self.root {
            return Err(AnchorMismatch::Root {
                when,
                then: self.root.clone(),
                now: now.root.clone(),
                upto: self.upto,
            });
        }
        Ok(())
    }
}

/// How the register differs from what an anchor saw (`when`: the anchor's
/// instant; `upto`: the register event it covers up to).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnchorMismatch {
    #[error("the anchor of {when} covers {then} case(s); the database now has {now} case(s) with events up to register event {upto}: a case was deleted or emptied")]
    Cases {
        when: String,
        then: u64,
        now: u64,
        upto: u64,
    },
    #[error("the anchor of {when} covers {then} event(s); the database now has {now} up to register event {upto}: events were deleted or inserted")]
    Events {
        when: String,
        then: u64,
        now: u64,
        upto: u64,
    },
    #[error("the register up to register event {upto} hashes to {now}, but the anchor of {when} says {then}: events that existed then were rewritten")]
    Root {
        when: String,
        then: String,
        now: String,
        upto: u64,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::timeline::{append_sealed, verify, Event};
    use crate::core::types::CaseRef;
    use chrono::{Duration, TimeZone};
    use serde_json::json;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 27, 9, 0, 0).unwrap()
    }

    fn row_state(state: &str, workflow: &Value) -> RowState {
        let route = json!({"committee": {"name": "Kommunstyrelsen"}});
        let facts = json!({"kind": "notice"});
        let systems = vec!["ProvWeb".to_string()];
        RowState::of(&CaseRow {
            state,
            aware_at: t0(),
            deadline_at: t0() + Duration::hours(72),
            opened_at: t0(),
            reporter: [Some("Anna"), Some("anna@leverantor.example"), None, None],
            systems: &systems,
            route: &route,
            facts: &facts,
            workflow,
        })
    }

    #[test]
    fn row_state_reads_the_register_fields_and_hides_the_reporter() {
        let r = row_state("decided", &json!({"decision": "notify", "imy_ref": null}));
        assert_eq!(r.state, "decided");
        assert_eq!(r.aware_at, "2026-03-27T09:00:00.000000Z");
        assert_eq!(r.deadline_at, "2026-03-30T09:00:00.000000Z");
        assert_eq!(r.committee.as_deref(), Some("Kommunstyrelsen"));
        assert_eq!(r.decision.as_deref(), Some("notify"));
        assert_eq!(r.imy_ref, None);
        assert_eq!(r.reporter.len(), 64);
        let sealed = serde_json::to_string(&Seal { reg_seq: 1, row: r }.to_value()).unwrap();
        assert!(!sealed.contains("anna@"), "{sealed}");
    }

    #[test]
    fn each_edited_field_is_named() {
        let sealed = row_state("decided", &json!({"decision": "notify"}));
        assert_eq!(sealed.first_difference(&sealed), None);
        let mut closed = sealed.clone();
        closed.state = "closed".into();
        let m = closed.first_difference(&sealed).unwrap();
        assert_eq!(m.field, "state");
        assert!(m.to_string().contains("\"closed\""), "{m}");
        // A decision edited in the workflow JSON is named as the decision, not
        // as the workflow blob that also changed.
        let edited = row_state("decided", &json!({"decision": "no_notify"}));
        assert_eq!(edited.first_difference(&sealed).unwrap().field, "decision");
        let mut later = sealed.clone();
        later.aware_at = "2026-03-28T09:00:00.000000Z".into();
        assert_eq!(later.first_difference(&sealed).unwrap().field, "aware_at");
        let mut reporter = sealed.clone();
        reporter.reporter = "0".repeat(64);
        let m = reporter.first_difference(&sealed).unwrap();
        assert_eq!(m.field, "reporter");
        assert!(m.found.starts_with("sha256 000000000000"), "{m}");
    }

    #[test]
    fn a_deleted_case_is_a_gap_and_the_counter_exposes_a_deleted_newest_case() {
        let refs = ["PUI-2026-0001", "PUI-2026-0003", "PUI-2027-0001"];
        assert_eq!(
            case_number_gaps(&refs, &[]),
            vec!["case PUI-2026-0002 is missing: the case numbers of PUI 2026 have a gap (a deleted case)"]
        );
        let counters = vec![("PUI".to_string(), 2027, 2)];
        let gaps = case_number_gaps(&refs, &counters);
        assert_eq!(gaps.len(), 2);
        assert!(
            gaps[1].starts_with("case PUI-2027-0002 is missing"),
            "{gaps:?}"
        );
        assert!(case_number_gaps(&["PUI-2026-0001", "PUI-2026-0002"], &[]).is_empty());
        assert_eq!(
            case_number_gaps(&["junk"], &[]),
            vec!["case reference \"junk\" is not PREFIX-YYYY-NNNN"]
        );
    }

    #[test]
    fn a_forged_huge_case_number_does_not_panic() {
        let gaps = case_number_gaps(&["PUI-2026-18446744073709551615"], &[]);
        assert_eq!(gaps.len(), LIST_LIMIT + 1);
    }

    #[test]
    fn a_forged_counter_is_counted_not_listed() {
        let gaps = case_number_gaps(&["PUI-2026-0001"], &[("PUI".into(), 2026, 4_000_000_000)]);
        assert_eq!(gaps.len(), LIST_LIMIT + 1);
        assert_eq!(
            gaps[LIST_LIMIT],
            "and 3999999979 more missing case number(s)"
        );
    }

    #[test]
    fn register_sequence_holes_duplicates_and_a_reset_counter() {
        assert!(register_gaps(vec![3, 1, 2], 3).is_empty());
        assert!(register_gaps(vec![], 0).is_empty());
        assert_eq!(
            register_gaps(vec![1, 2, 5], 5),
            vec!["register events 3–4 are missing: events were deleted (the newest events of a case, or a whole case)"]
        );
        assert_eq!(
            register_gaps(vec![1, 2], 3),
            vec!["register event 3 is missing: events were deleted (the newest events of a case, or a whole case)"]
        );
        assert_eq!(
            register_gaps(vec![1, 2, 2], 2),
            vec!["register event 2 appears twice"]
        );
        assert_eq!(
            register_gaps(vec![1, 2, 3], 2),
            vec!["register event 3 is beyond the register counter (2): the counter was reset"]
        );
    }

    fn sealed_chain(case: u32, regs: &[u64]) -> Vec<StoredEvent> {
        let mut out: Vec<StoredEvent> = Vec::new();
        for (i, r) in regs.iter().enumerate() {
            let ev = Event {
                seq: 0,
                case_ref: CaseRef::new("PUI", 2026, case),
                at: t0() + Duration::minutes(i as i64),
                kind: "note".into(),
                actor: "breachwatch".into(),
                data: json!({"i": i}),
            };
            let seal = (*r > 0).then(|| {
                Seal {
                    reg_seq: *r,
                    row: row_state("received", &json!({})),
                }
                .to_value()
            });
            let s = append_sealed(out.last(), ev, seal);
            out.push(s);
        }
        out
    }

    #[test]
    fn the_anchor_prefix_ignores_later_growth_and_keeps_old_events() {
        // Case 1: one event from before the upgrade (0 = unsealed), then 1 and 4.
        let a = sealed_chain(1, &[0, 1, 4]);
        let b = sealed_chain(2, &[2, 3, 5]);
        assert!(verify(&a).is_ok() && verify(&b).is_ok());
        let heads = |a: &[StoredEvent], b: &[StoredEvent]| {
            vec![
                prefix_upto("PUI-2026-0001", a, 3),
                prefix_upto("PUI-2026-0002", b, 3),
            ]
        };
        let at3 = Anchor::over(t0(), 3, &heads(&a[..2], &b[..2]));
        assert_eq!((at3.cases, at3.events), (2, 4));
        // The register grew (events 4 and 5): the anchor still holds.
        let now = Anchor::over(t0(), 3, &heads(&a, &b));
        assert_eq!(at3.check(&now), Ok(()));
        // Case 2's event 3 removed (its head reset): the anchor sees it.
        let cut = Anchor::over(t0(), 3, &heads(&a, &b[..1]));
        assert!(at3
            .check(&cut)
            .unwrap_err()
            .to_string()
            .contains("events were deleted"));
        // Case 1 deleted.
        let gone = Anchor::over(t0(), 3, &heads(&[], &b));
        assert!(at3
            .check(&gone)
            .unwrap_err()
            .to_string()
            .contains("case was deleted"));
        // Case 2 rewritten with rehashed events: counts hold, the root does not.
        let mut rewritten = sealed_chain(2, &[2, 3, 5]);
        rewritten[0].event.data = json!({"i": "forged"});
        let rehashed: Vec<StoredEvent> = rewritten.iter().fold(Vec::new(), |mut acc, e| {
            let s = append_sealed(acc.last(), e.event.clone(), e.seal.clone());
            acc.push(s);
            acc
        });
        assert!(verify(&rehashed).is_ok());
        let forged = Anchor::over(t0(), 3, &heads(&a, &rehashed));
        assert!(at3
            .check(&forged)
            .unwrap_err()
            .to_string()
            .contains("rewritten"));
        // The root does not depend on the order the cases are given in.
        let mut swapped = heads(&a, &b);
        swapped.reverse();
        assert_eq!(root(&swapped), root(&heads(&a, &b)));
    }

    #[test]
    fn an_anchor_line_round_trips_and_is_found_in_text() {
        let a = Anchor {
            at: t0(),
            upto: 17,
            cases: 3,
            events: 20,
            root: "ab".repeat(32),
        };
        let line = a.line();
        assert_eq!(
            line,
            format!(
                "{ANCHOR_TAG} at=2026-03-27T09:00:00Z upto=17 cases=3 events=20 root={}",
                "ab".repeat(32)
            )
        );
        let text = format!(
            "Hej!\n\nRegisterankare:\n  {}\n-- \n",
            line.replace("root=abab", "root=ABAB")
        );
        assert_eq!(Anchor::find(&text), Ok(a));
        assert_eq!(Anchor::find("nothing here"), Err(AnchorError::Missing));
        assert_eq!(
            Anchor::find(&line.replace("upto=17", "upto=x")),
            Err(AnchorError::Field("upto"))
        );
        assert_eq!(
            Anchor::find(&line.replace(&"ab".repeat(32), "abc")),
            Err(AnchorError::Field("root"))
        );
    }
}
