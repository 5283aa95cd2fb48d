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

/// The longest wait before trying a server that could not be reached again
/// (connection refused, reset or cut, a handshake that ended early): such a
/// try is one TCP connect, and news is picked up within seconds of the
/// server's return. A server that answers and refuses (a login, a store
/// error) keeps the full backoff.
pub const UNREACHABLE_CAP: Duration = Duration::from_secs(5);

/// Whether an error says the server could not be reached (an I/O error in
/// its chain), not that it answered with a refusal.
pub fn is_unreachable(e: &anyhow::Error) -> bool {
    e.chain()
        .any(|c| c.downcast_ref::<std::io::Error>().is_some())
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
    /// What the last line said (the error chain, bounded): a
    /// different error is said at once, whatever the interval.
    said_what: Option<String>,
    /// A lower cap than [`backoff`]'s 80 s (the SMTP probe: `smtp.retry_max_secs`).
    cap: Option<Duration>,
}

impl Pacer {
    pub fn new(what: &'static str) -> Pacer {
        Pacer {
            what,
            failures: 0,
            since_said: 0,
            said_at: None,
            said_what: None,
            cap: None,
        }
    }

    /// The same, waiting at most `cap` between tries.
    pub fn with_cap(what: &'static str, cap: Duration) -> Pacer {
        Pacer {
            cap: Some(cap.max(Duration::from_millis(100))),
            ..Pacer::new(what)
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
        let wait = self.cap.map_or(wait, |c| wait.min(c));
        let wait = if !is_store_error(err) && is_unreachable(err) {
            wait.min(UNREACHABLE_CAP)
        } else {
            wait
        };
        self.failures = self.failures.saturating_add(1);
        self.since_said += 1;
        let what: String = format!("{err:#}").chars().take(120).collect();
        let due = self.said_at.is_none_or(|t| t.elapsed() >= SAY_EVERY)
            || self.said_what.as_deref() != Some(what.as_str());
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
            self.said_what = Some(what);
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
        self.said_what = None;
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
    fn an_unreachable_server_is_tried_again_within_the_cap_a_refusal_backs_off_fully() {
        let mut p = Pacer::new("mailbox");
        let gone = anyhow::Error::new(std::io::Error::from(std::io::ErrorKind::ConnectionRefused))
            .context("IMAP connect");
        let waits: Vec<Duration> = (0..8).map(|_| p.failed(&gone)).collect();
        assert!(waits.iter().all(|w| *w <= UNREACHABLE_CAP), "{waits:?}");
        let mut q = Pacer::new("mailbox");
        let refused = anyhow::anyhow!("IMAP login refused");
        let last = (0..8).map(|_| q.failed(&refused)).last().unwrap();
        assert!(last > Duration::from_secs(60), "{last:?}");
    }

    #[test]
    fn a_capped_pacer_never_waits_longer_than_its_cap() {
        let mut p = Pacer::with_cap("smtp", Duration::from_secs(3));
        let e = anyhow::anyhow!("connection refused");
        let waits: Vec<Duration> = (0..8).map(|_| p.failed(&e)).collect();
        assert!(
            waits.iter().all(|w| *w <= Duration::from_secs(3)),
            "{waits:?}"
        );
        assert_eq!(p.failures(), 8);
        // Uncapped, the eighth wait is far beyond it.
        let mut q = Pacer::new("smtp");
        let last = (0..8).map(|_| q.failed(&e)).last().unwrap();
        assert!(last > Duration::from_secs(60), "{last:?}");
    }

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
