//! The clock's bursts and the senders: while the clock writes
//! reminders in more than one group (many fell due at once), the outbox's
//! senders claim nothing new, for at most [`MAX_PAUSE`] at a time.
//!
//! On SQLite both wait for the one writer and share the cores: with 10,000
//! reminders due in the same second, four senders claiming, sending and
//! marking beside the clock made the last reminder wait for its transaction
//! (`make bench-daemon`, session 12: queued p99 5.7-11 s, 3.5-4.7 s with
//! the senders held back; the last one handed to SMTP sooner too). The
//! reminders are themselves the urgent mail; once written, the senders send
//! them nearest deadline first. A batch a sender has claimed is sent to its
//! end; only the next claim waits. The bound keeps a stuck burst from
//! holding mail back: past it, the senders go on beside the clock.
//!
//! On PostgreSQL too (since session 16): the senders' claims and marks do
//! not wait for the clock's transaction there, but they share the cores
//! and the server with it. With 10,000 reminders due in one second a group
//! of 500 took 0.16-0.8 s to write beside the senders and 0.1-0.2 s without
//! them; held back, the burst is queued at p99 2.5-3.1 s instead of
//! 9.0-9.9 s, and the last reminder reaches SMTP sooner too (32 s instead
//! of 36-39 s; `make bench-daemon`, `BENCH_SQLITE=0 BENCH_N=2000`). Before
//! TCP_NODELAY on its connections (session 14) a group took 0.6-1 s even
//! with the senders held back, and PostgreSQL was left out.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

/// The longest a sender waits for a burst before claiming anyway.
pub const MAX_PAUSE: Duration = Duration::from_secs(5);

/// How many bursts are being written now (0 or 1 in the daemon: one clock).
#[derive(Clone, Debug)]
pub struct Burst(Arc<watch::Sender<usize>>);

impl Default for Burst {
    fn default() -> Self {
        Burst(Arc::new(watch::Sender::new(0)))
    }
}

/// Holds a burst open; dropping it (also on an error or a cancelled task)
/// lets the senders go on.
#[must_use = "the burst ends when the guard is dropped"]
#[derive(Debug)]
pub struct BurstGuard(Arc<watch::Sender<usize>>);

impl Drop for BurstGuard {
    fn drop(&mut self) {
        self.0.send_modify(|n| *n = n.saturating_sub(1));
    }
}

impl Burst {
    /// A burst starts; it lasts until the guard is dropped.
    pub fn begin(&self) -> BurstGuard {
        self.0.send_modify(|n| *n += 1);
        BurstGuard(Arc::clone(&self.0))
    }

    /// How many bursts are being written, and told of each change (a burst
    /// that began and ended since the last look shows as a change).
    pub fn subscribe(&self) -> watch::Receiver<usize> {
        self.0.subscribe()
    }

    /// Whether a burst is being written now.
    pub fn active(&self) -> bool {
        *self.0.borrow() > 0
    }

    /// Waits until no burst is being written, or `max` has passed; true
    /// when it waited for one.
    pub async fn quiet(&self, max: Duration) -> bool {
        if !self.active() {
            return false;
        }
        let mut rx = self.0.subscribe();
        let _ = tokio::time::timeout(max, rx.wait_for(|n| *n == 0)).await;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn senders_wait_for_a_burst_until_it_ends() {
        let burst = Burst::default();
        // No burst: nobody waits.
        let t = tokio::time::Instant::now();
        assert!(!burst.quiet(MAX_PAUSE).await);
        assert_eq!(t.elapsed(), Duration::ZERO);
        // A burst of 2 s: the sender waits for its end, not for the bound.
        let guard = burst.begin();
        assert!(burst.active());
        let ends = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(2)).await;
            drop(guard);
        });
        let t = tokio::time::Instant::now();
        assert!(burst.quiet(MAX_PAUSE).await);
        assert_eq!(t.elapsed(), Duration::from_secs(2));
        ends.await.unwrap();
        assert!(!burst.active());
    }

    #[tokio::test(start_paused = true)]
    async fn a_burst_that_does_not_end_holds_a_sender_back_only_to_the_bound() {
        let burst = Burst::default();
        let _guard = burst.begin();
        let t = tokio::time::Instant::now();
        assert!(burst.quiet(MAX_PAUSE).await);
        assert_eq!(t.elapsed(), MAX_PAUSE);
        assert!(burst.active());
    }

    #[tokio::test(start_paused = true)]
    async fn a_burst_ends_when_its_task_fails_or_is_cancelled() {
        let burst = Burst::default();
        let b = burst.clone();
        let task = tokio::spawn(async move {
            let _guard = b.begin();
            std::future::pending::<()>().await;
        });
        tokio::task::yield_now().await;
        assert!(burst.active());
        task.abort();
        let _ = task.await;
        assert!(!burst.active());
        assert!(!burst.quiet(MAX_PAUSE).await);
    }
}
