//! Pacing after failures, shared by the workers: the same growing, jittered
//! backoff (2 s doubling to 80 s) whether the network or the store failed, and
//! one log line per interval while it lasts (with how many failures it
//! stands for), then one line when it is over.

use std::time::{Duration, Instant};

use crate::store::StoreError;

/// How often a lasting failure is said again.
pub const SAY_EVERY: Duration = Duration::from_secs(60);

/// Jittered exponential backoff for reconnects: 2 s doubling to 80 s.
pub fn backoff(attempt: u32) -> Duration {
    use rand::Rng;
    let base = 2u64.saturating_mul(1u64 << attempt.min(6)).min(80);
    let jitter = rand::rng().random_range(0..=base * 250);
    Duration::from_millis(base * 1000 - base * 125 + jitter)
}

/// Whether an error came from the store (the database), not the network.
pub fn is_store_error(e: &anyhow::Error) -> bool {
    e.chain().any(|c| c.downcast_ref::<StoreError>().is_some())
}

/// One worker's failure streak.
#[derive(Debug)]
pub struct Pacer {
    what: &'static str,
    failures: u32,
    since_said: u32,
    said_at: Option<Instant>,
}

impl Pacer {
    pub fn new(what: &'static str) -> Pacer {
        Pacer {
            what,
            failures: 0,
            since_said: 0,
            said_at: None,
        }
    }

    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// Records a failure; returns how long to wait before the next try. The
    /// first failure of a streak is logged, then at most one line per
    /// [`SAY_EVERY`].
    pub fn failed(&mut self, err: &anyhow::Error) -> Duration {
        let wait = backoff(self.failures);
        self.failures = self.failures.saturating_add(1);
        self.since_said += 1;
        let due = self.said_at.is_none_or(|t| t.elapsed() >= SAY_EVERY);
        if due {
            let cause = if is_store_error(err) {
                "store"
            } else {
                "network"
            };
            tracing::warn!(
                worker = self.what,
                cause,
                failures = self.failures,
                since_last_line = self.since_said,
                "{}: {err:#}; retrying in {:.1}s (said at most once a minute)",
                self.what,
                wait.as_secs_f32()
            );
            self.said_at = Some(Instant::now());
            self.since_said = 0;
        }
        wait
    }

    /// The streak is over: say so once if it was said at all.
    pub fn succeeded(&mut self) {
        if self.failures > 0 {
            tracing::info!(
                worker = self.what,
                failures = self.failures,
                "{}: working again",
                self.what
            );
        }
        self.failures = 0;
        self.since_said = 0;
        self.said_at = None;
    }

    /// Starts a new streak count (e.g. a session that connected) without
    /// forgetting when the last line was said.
    pub fn reset_count(&mut self) {
        self.failures = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_to_the_cap_and_store_errors_are_told_apart() {
        let w: Vec<u64> = (0..9).map(|a| backoff(a).as_secs()).collect();
        assert!(w[0] >= 1 && w[0] <= 2, "{w:?}");
        assert!(w[8] >= 70 && w[8] <= 90, "{w:?}");
        let store = anyhow::Error::from(StoreError::Other("disk full".into())).context("ingest");
        assert!(is_store_error(&store));
        assert!(!is_store_error(&anyhow::anyhow!("connection refused")));
        let mut p = Pacer::new("t");
        let a = p.failed(&store);
        let b = p.failed(&store);
        assert!(
            a < Duration::from_secs(3) && b >= Duration::from_secs(3),
            "{a:?} {b:?}"
        );
        assert_eq!(p.failures(), 2);
        p.succeeded();
        assert_eq!(p.failures(), 0);
    }
}
