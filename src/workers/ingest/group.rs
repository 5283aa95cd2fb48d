//! Group commit: a fetched batch is read in parallel on the reader threads
//! (`readers.rs`; the reader is pure), then written in groups of at most [`GROUP_MAX_MESSAGES`]
//! messages / [`GROUP_MAX_BYTES`] bytes, each group with one look-up query per
//! kind (`lookup.rs`) and ONE store transaction. A group whose transaction
//! fails (or whose preparation fails or panics) is handled again message by
//! message, each in its own transaction ([`Pipeline::handle_read`]), so one
//! bad message never stops or loses the others; only a store outage stops the
//! batch, at the first message that cannot be written.
//!
//! A group never holds two messages where the second's look-ups could depend
//! on the first's write (same Message-ID or bytes, a parent that is the
//! first's Message-ID, the same notice identity or supplier, a case reference
//! or a reply to our own mail after a case-opening message, two changes to one
//! case): the second starts the next group, looked up after the first
//! committed. So a group decides exactly as one message at a time would.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use super::{
    checkpoint_of, quarantine, read_one, strip_brackets, Handled, Pipeline, Planned, Prepared,
    Read, Records,
};
use crate::core::intake::Plan;
use crate::core::notice::{self, Notice};
use crate::core::series;
use crate::store::{Checkpoint, GroupItem, IngestResult};

/// The most messages in one group transaction: the default fetch batch
/// (`imap.batch_max_messages`), so a batch with no message depending on
/// another is one transaction. (Groups of 64 / 4 MiB wrote a 10,000-message
/// drain in 203 transactions, groups of 200 in 112, the write 7-11 % faster
/// on both backends: docs/benchmarks.md, session 18; the default batch is
/// 100 since session 25 and 50 since session 26, for the drain's memory, the
/// drain's time within the spread.)
pub const GROUP_MAX_MESSAGES: usize = crate::config::DEFAULT_BATCH_MESSAGES;
/// The most raw bytes in one group transaction (a group has at least one
/// message): the default fetch batch's bound (`imap.batch_max_bytes`). The
/// INSERTs that copy raw mail stay within `store::GROUP_INSERT_BYTES` each.
pub const GROUP_MAX_BYTES: usize = crate::config::DEFAULT_BATCH_BYTES as usize;

/// A group member's first step ([`Pipeline::commit_group`]).
enum Step<'a> {
    /// Unreadable: quarantined, for this reason.
    Quarantine(String),
    /// Already recorded: nothing to write.
    Duplicate,
    /// The message as placed (without a reused Message-ID) and its plan.
    Planned(Box<(std::borrow::Cow<'a, Notice>, Planned)>),
}

/// The existing case a plan changes (a group holds at most one change per
/// case).
fn attached_case(plan: &Plan) -> Option<i64> {
    match plan {
        Plan::Attach { case_id, .. } => Some(*case_id),
        Plan::Record { .. } | Plan::Open { .. } => None,
    }
}

/// What writing a batch took: the drain's phase timings (debug log, issue #10).
#[derive(Debug, Default, Clone, Copy)]
pub struct WriteTimes {
    /// Group transactions tried.
    pub groups: usize,
    /// Groups written again one message per transaction.
    pub fallbacks: usize,
    /// The groups' look-up queries.
    pub lookups: Duration,
    /// Queries that read the rows of the cases the groups' messages attach
    /// to: one per group (per `store::CASE_ROWS` cases), not one per message.
    pub case_reads: usize,
    /// The groups' transactions (and the one-by-one writes after a failed group).
    pub commit: Duration,
}

/// A fetched message: its bytes, INTERNALDATE and where it came from.
pub type RawMessage = (Vec<u8>, Option<DateTime<Utc>>, Option<super::Origin>);

/// Reads every message of a batch with the pure reader, in order, on the
/// reader threads (`readers.rs`: at most `cores - 1`, not the async workers),
/// one part of the batch each. A part whose thread failed (it cannot: the
/// reader catches its own panics) ends the batch before it: the rest is not
/// handled and stays in the INBOX.
pub async fn read_all(opts: notice::ReadOptions, msgs: Vec<RawMessage>) -> Vec<Read> {
    let n = msgs.len();
    let chunk = n.div_ceil(super::readers::threads().min(n.max(1))).max(1);
    let mut msgs = msgs.into_iter();
    let mut parts = Vec::new();
    loop {
        let part: Vec<RawMessage> = msgs.by_ref().take(chunk).collect();
        if part.is_empty() {
            break;
        }
        let opts = opts.clone();
        parts.push(super::readers::run(move || {
            part.into_iter()
                .map(|(raw, at, origin)| read_one(&opts, raw, at, origin))
                .collect::<Vec<Read>>()
        }));
    }
    let mut out = Vec::with_capacity(n);
    for part in futures::future::join_all(parts).await {
        match part {
            Some(reads) => out.extend(reads),
            None => break,
        }
    }
    out
}

/// The keys by which a message's look-ups could depend on an earlier one's write.
#[derive(Default)]
struct Keys {
    ids: HashSet<String>,
    suppliers: HashSet<String>,
    opens: bool,
}

impl Keys {
    /// Whether `m` must wait for the group before it to commit.
    fn depends(
        &self,
        m: &Read,
        n: Option<&Notice>,
        own_id_domain: &str,
        internal: &[String],
    ) -> bool {
        if self.ids.contains(&m.hash) {
            return true;
        }
        let Some(n) = n else { return false };
        if n.message_id
            .as_deref()
            .is_some_and(|id| self.ids.contains(&strip_brackets(id)))
        {
            return true;
        }
        let own = format!("@{}", own_id_domain.to_ascii_lowercase());
        for p in &n.threading.parent_ids {
            let p = strip_brackets(p);
            if self.ids.contains(&p) || (self.opens && p.to_ascii_lowercase().ends_with(&own)) {
                return true;
            }
        }
        if self.opens && n.case_ref.is_some() {
            return true;
        }
        let identity = series::identity(n);
        if [identity.notice_message_id, identity.text_hash]
            .iter()
            .flatten()
            .any(|k| self.ids.contains(k))
        {
            return true;
        }
        supplier_keys(n, internal)
            .iter()
            .any(|k| self.suppliers.contains(k))
    }

    fn add(&mut self, m: &Read, n: Option<&Notice>, internal: &[String]) {
        self.ids.insert(m.hash.clone());
        let Some(n) = n else { return };
        self.ids.extend(n.message_id.as_deref().map(strip_brackets));
        let identity = series::identity(n);
        self.ids.extend(identity.notice_message_id);
        self.ids.extend(identity.text_hash);
        self.suppliers.extend(supplier_keys(n, internal));
        // Any incident message may open a case (its number is given in the
        // group's transaction, unknown to the group's look-ups).
        self.opens |= n.kind.is_incident() || n.case_ref.is_some();
    }
}

fn supplier_keys(n: &Notice, internal: &[String]) -> Vec<String> {
    if !n.kind.is_incident() {
        return Vec::new();
    }
    let k = series::supplier_key(n, internal);
    k.domain
        .map(|d| format!("d:{d}"))
        .into_iter()
        .chain(k.org.map(|o| format!("o:{o}")))
        .collect()
}

impl Pipeline {
    /// Handles a read batch in group transactions, in order. Returns what
    /// became of each handled message (as many as were handled, in order) and
    /// the store error that stopped the batch, if any: the messages after it
    /// were not written and stay for the next pass. `at`: the instant to
    /// handle them at (tests); None, the clock at each group.
    pub async fn handle_batch(
        &self,
        msgs: &[Read],
        stop: &tokio_util::sync::CancellationToken,
        at: Option<DateTime<Utc>>,
    ) -> (Vec<Handled>, Option<anyhow::Error>) {
        self.handle_batch_timed(msgs, stop, at, &mut WriteTimes::default())
            .await
    }

    /// [`Pipeline::handle_batch`], adding what the writing took to `times`.
    pub async fn handle_batch_timed(
        &self,
        msgs: &[Read],
        stop: &tokio_util::sync::CancellationToken,
        at: Option<DateTime<Utc>>,
        times: &mut WriteTimes,
    ) -> (Vec<Handled>, Option<anyhow::Error>) {
        let mut out = Vec::with_capacity(msgs.len());
        let mut i = 0;
        while i < msgs.len() {
            if stop.is_cancelled() {
                break;
            }
            let now = at.unwrap_or_else(Utc::now);
            let group = self.next_group(&msgs[i..]);
            times.groups += 1;
            match self.commit_group(&msgs[i..i + group], now, times).await {
                Ok(handled) => {
                    i += handled.len();
                    out.extend(handled);
                }
                Err(e) => {
                    tracing::debug!(n = group, "group transaction failed, one by one: {e:#}");
                    metrics::counter!("breachwatch_ingest_group_fallbacks_total").increment(1);
                    times.fallbacks += 1;
                    let t = Instant::now();
                    for m in &msgs[i..i + group] {
                        match self.handle_read(m, now).await {
                            Ok(h) => out.push(h),
                            Err(e) => return (out, Some(e)),
                        }
                    }
                    times.commit += t.elapsed();
                    i += group;
                }
            }
        }
        (out, None)
    }

    /// How many of `msgs` (at least one) form the next group: within the
    /// bounds, and none depending on an earlier one's write.
    fn next_group(&self, msgs: &[Read]) -> usize {
        let internal = &self.cfg.general.internal_domains;
        let own = self.sender.id_domain();
        let mut keys = Keys::default();
        let mut bytes = 0usize;
        let mut len = 0;
        for m in msgs.iter().take(GROUP_MAX_MESSAGES) {
            let n = m.notice.as_ref().ok();
            if len > 0
                && (bytes.saturating_add(m.raw.len()) > GROUP_MAX_BYTES
                    || keys.depends(m, n, &own, internal))
            {
                break;
            }
            bytes = bytes.saturating_add(m.raw.len());
            keys.add(m, n, internal);
            len += 1;
        }
        len.max(1)
    }

    /// How many of `later` depend on a write of `earlier` by the rule that
    /// ends a group ([`Keys::depends`]): the messages of the next batch whose
    /// look-ups could not run before this batch commits (the drain's debug
    /// line reports it, to size a design that looks the next batch up while
    /// this one is written).
    pub fn depending_on(&self, earlier: &[Read], later: &[Read]) -> usize {
        let internal = &self.cfg.general.internal_domains;
        let own = self.sender.id_domain();
        let mut keys = Keys::default();
        for m in earlier {
            keys.add(m, m.notice.as_ref().ok(), internal);
        }
        later
            .iter()
            .filter(|m| keys.depends(m, m.notice.as_ref().ok(), &own, internal))
            .count()
    }

    /// Looks up, plans and writes `msgs` in one transaction; a message whose
    /// plan changes a case an earlier one of the group changes ends the group
    /// before it. Returns what became of the messages written (a prefix of
    /// `msgs`, at least one). Any error (or panic) leaves nothing written.
    async fn commit_group(
        &self,
        msgs: &[Read],
        now: DateTime<Utc>,
        times: &mut WriteTimes,
    ) -> anyhow::Result<Vec<Handled>> {
        use futures::FutureExt;
        std::panic::AssertUnwindSafe(self.commit_group_inner(msgs, now, times))
            .catch_unwind()
            .await
            .unwrap_or_else(|_| Err(anyhow::anyhow!("internal error in a group")))
    }

    async fn commit_group_inner(
        &self,
        msgs: &[Read],
        now: DateTime<Utc>,
        times: &mut WriteTimes,
    ) -> anyhow::Result<Vec<Handled>> {
        let readable: Vec<(&Notice, &str)> = msgs
            .iter()
            .filter_map(|m| m.notice.as_ref().ok().map(|n| (n, m.hash.as_str())))
            .collect();
        let t = Instant::now();
        let found = self.lookups(&readable, now).await?;
        times.lookups += t.elapsed();
        // 1. Per message its plan, in order, up to the first that would
        // change a case an earlier one changes.
        let mut touched = HashSet::new();
        let mut planned: Vec<Step> = Vec::with_capacity(msgs.len());
        for m in msgs {
            let step = match &m.notice {
                Err(why) => Step::Quarantine(why.clone()),
                Ok(n) => match self.plan_new(n, &m.hash, &found, now).await? {
                    None => Step::Duplicate,
                    Some(np) => Step::Planned(Box::new(np)),
                },
            };
            if let Step::Planned(np) = &step {
                if let Some(id) = attached_case(&np.1.plan) {
                    if !touched.insert(id) {
                        break;
                    }
                }
            }
            planned.push(step);
        }
        // 2. The cases they attach to, in one query (per CASE_ROWS cases),
        // not one a message.
        let ids: Vec<i64> = touched.into_iter().collect();
        let mut records = Records::default();
        for part in ids.chunks(crate::store::CASE_ROWS) {
            let t = Instant::now();
            let rows = self.store.cases_by_ids(part).await?;
            times.lookups += t.elapsed();
            times.case_reads += 1;
            records.rows.extend(rows.into_iter().map(|r| (r.id, r)));
        }
        // 3. Per message its write (None: a duplicate, nothing to write).
        let mut prepared: Vec<Option<(Prepared, String)>> = Vec::with_capacity(planned.len());
        for (m, step) in msgs.iter().zip(planned) {
            let base = m.base();
            let hash = m.hash.clone();
            let p = match step {
                Step::Quarantine(why) => Some(quarantine::quarantined(base, why, None)),
                Step::Duplicate => None,
                Step::Planned(np) => {
                    let (n, p) = *np;
                    Some(self.build(&n, base, None, p, &records, now, None).await?)
                }
            };
            prepared.push(p.map(|p| (p, hash)));
        }
        times.case_reads += records.misses.into_inner();
        // The checkpoint moves once, with the group's last message.
        let last_uid = msgs[..prepared.len()]
            .iter()
            .filter_map(|m| m.origin.as_ref())
            .max_by_key(|o| o.uid);
        let checkpoint = checkpoint_of(last_uid).map(|(mb, cp)| {
            (
                mb,
                Checkpoint {
                    uidvalidity: cp.uidvalidity,
                    last_uid: cp.last_uid,
                },
            )
        });
        let written: Vec<bool> = prepared.iter().map(Option::is_some).collect();
        let mut items = Vec::new();
        let mut outcomes = Vec::new();
        for (p, hash) in prepared.into_iter().flatten() {
            items.push(GroupItem {
                write: p.write,
                now,
                compose: p.compose,
            });
            outcomes.push((p.outcome, hash));
        }
        match items.last_mut() {
            Some(last) => last.write.checkpoint = checkpoint,
            None => {
                if let Some((mb, cp)) = &checkpoint {
                    self.store.set_checkpoint(mb, *cp).await?;
                }
            }
        }
        let t = Instant::now();
        let results = if items.is_empty() {
            Vec::new()
        } else {
            self.store
                .commit_ingest_group(items, &self.cfg.general.case_prefix)
                .await?
        };
        times.commit += t.elapsed();
        let mut results: std::vec::IntoIter<IngestResult> = results.into_iter();
        let mut outcomes = outcomes.into_iter();
        Ok(written
            .iter()
            .map(|w| match w {
                false => Handled::Duplicate,
                true => match (results.next(), outcomes.next()) {
                    (Some(r), Some((o, hash))) => self.finish(&r, o, &hash),
                    _ => Handled::Duplicate,
                },
            })
            .collect())
    }
}
