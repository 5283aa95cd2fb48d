//! Holding the senders back while the store takes many writes at once: the
//! clock's bursts (many reminders due at once) and the watcher's drains (a
//! backlog of more than one fetch batch). While a hold is open the outbox's
//! senders claim nothing new, for at most [`MAX_PAUSE`] at a time, except
//! the mail of cases named in the news lane ([`Burst::news`]).
//!
//! On SQLite both wait for the one writer and share the cores: with 10,000
//! reminders due in the same second, four senders claiming, sending and
//! marking beside the clock made the last reminder wait for its transaction
//! (`make bench-daemon`, session 12: queued p99 5.7-11 s, 3.5-4.7 s with
//! the senders held back; the last one handed to SMTP sooner too). The
//! reminders are themselves the urgent mail; once written, the senders send
//! them nearest deadline first. A batch a sender has claimed is sent to its
//! end; only the next claim waits. The bound keeps a stuck burst from
//! holding mail back: past it, each sender claims one batch and waits again,
//! so a drain of hours still lets mail out (a trickle of one batch per
//! sender per [`MAX_PAUSE`]).
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
//!
//! A drain holds the senders too (session 19): the backlog's own mail,
//! sent beside its intake, made the drain about twice as long (10,000
//! messages, `make bench-daemon`: INBOX empty after 12.7-13.0 s on SQLite
//! and 18.8-18.9 s on PostgreSQL with the senders beside it, 5.4-5.8 s and
//! 7.6-9.8 s held back; all mail sent after 8.7-9.1 s and 13.8-16.3 s
//! instead of with the INBOX). But a notice that arrives during the drain must still be
//! acknowledged at once: the watcher writes such news in a batch of its own
//! and then names its cases in the news lane, and a held sender claims the
//! due mail of those cases only (`Store::claim_outbox_for_cases`). The
//! backlog's mail goes out nearest deadline first when the drain ends.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

/// The longest a sender waits for a burst before claiming anyway.
pub const MAX_PAUSE: Duration = Duration::from_secs(5);

/// The most case references the news lane holds: news comes a batch at a
/// time and is taken at once; past this the oldest are dropped (their mail
/// waits for the hold's end or the next bound, as any other).
const MAX_NEWS: usize = 1_000;

#[derive(Debug, Default)]
struct State {
    /// Bursts and drains being written now.
    holds: usize,
    /// Holds begun since the start.
    begun: u64,
    /// Cases of news written during a hold, whose mail is not held back.
    news: Vec<String>,
}

/// The holds being written now (the clock's burst, each watcher's drain) and
/// the news lane.
#[derive(Clone, Debug)]
pub struct Burst(Arc<watch::Sender<State>>);

impl Default for Burst {
    fn default() -> Self {
        Burst(Arc::new(watch::Sender::new(State::default())))
    }
}

/// Holds a burst open; dropping it (also on an error or a cancelled task)
/// lets the senders go on.
#[must_use = "the burst ends when the guard is dropped"]
#[derive(Debug)]
pub struct BurstGuard(Arc<watch::Sender<State>>);

impl Drop for BurstGuard {
    fn drop(&mut self) {
        self.0.send_modify(|s| {
            s.holds = s.holds.saturating_sub(1);
            if s.holds == 0 {
                // Nothing is held back any more: the lane's cases go out
                // with the rest.
                s.news.clear();
            }
        });
    }
}

/// What a held sender may do next.
#[derive(Debug, PartialEq, Eq)]
pub enum Next {
    /// Claim as usual: no hold, or the bound has passed.
    Claim,
    /// Claim only the mail of these cases (news written during a hold).
    News(Vec<String>),
}

impl Burst {
    /// A burst starts; it lasts until the guard is dropped.
    pub fn begin(&self) -> BurstGuard {
        self.0.send_modify(|s| {
            s.holds += 1;
            s.begun += 1;
        });
        BurstGuard(Arc::clone(&self.0))
    }

    /// Whether a burst is being written now.
    pub fn active(&self) -> bool {
        self.0.borrow().holds > 0
    }

    /// How many holds have begun since the start (ended or not).
    pub fn begun(&self) -> u64 {
        self.0.borrow().begun
    }

    /// News written during a hold: the mail of these cases is not held back.
    /// Without a hold nothing is held back anyway, and nothing is kept.
    pub fn news(&self, case_refs: impl IntoIterator<Item = String>) {
        self.0.send_if_modified(|s| {
            if s.holds == 0 {
                return false;
            }
            let before = s.news.len();
            for r in case_refs {
                if !s.news.contains(&r) {
                    s.news.push(r);
                }
            }
            if s.news.len() > MAX_NEWS {
                let extra = s.news.len() - MAX_NEWS;
                s.news.drain(..extra);
            }
            s.news.len() != before
        });
    }

    /// Waits until no burst is being written, news is in the lane, or `max`
    /// has passed, and says which: news is taken from the lane (one sender
    /// claims its mail).
    pub async fn next(&self, max: Duration) -> Next {
        let mut rx = self.0.subscribe();
        let _ =
            tokio::time::timeout(max, rx.wait_for(|s| s.holds == 0 || !s.news.is_empty())).await;
        let mut taken = Vec::new();
        self.0.send_if_modified(|s| {
            if s.holds > 0 && !s.news.is_empty() {
                taken = std::mem::take(&mut s.news);
                true
            } else {
                false
            }
        });
        if taken.is_empty() {
            Next::Claim
        } else {
            Next::News(taken)
        }
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
        assert_eq!(burst.next(MAX_PAUSE).await, Next::Claim);
        assert_eq!(t.elapsed(), Duration::ZERO);
        // A burst of 2 s: the sender waits for its end, not for the bound.
        let guard = burst.begin();
        assert!(burst.active());
        let ends = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(2)).await;
            drop(guard);
        });
        let t = tokio::time::Instant::now();
        assert_eq!(burst.next(MAX_PAUSE).await, Next::Claim);
        assert_eq!(t.elapsed(), Duration::from_secs(2));
        ends.await.unwrap();
        assert!(!burst.active());
    }

    #[tokio::test(start_paused = true)]
    async fn a_burst_that_does_not_end_holds_a_sender_back_only_to_the_bound() {
        let burst = Burst::default();
        let _guard = burst.begin();
        let t = tokio::time::Instant::now();
        assert_eq!(burst.next(MAX_PAUSE).await, Next::Claim);
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
        let t = tokio::time::Instant::now();
        assert_eq!(burst.next(MAX_PAUSE).await, Next::Claim);
        assert_eq!(t.elapsed(), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn news_during_a_hold_wakes_one_sender_for_its_cases_only() {
        let burst = Burst::default();
        let guard = burst.begin();
        let waiting = {
            let b = burst.clone();
            tokio::spawn(async move {
                let t = tokio::time::Instant::now();
                (b.next(MAX_PAUSE).await, t.elapsed())
            })
        };
        tokio::time::sleep(Duration::from_millis(700)).await;
        burst.news(["BW-1".to_string(), "BW-2".to_string(), "BW-1".to_string()]);
        let (next, waited) = waiting.await.unwrap();
        assert_eq!(next, Next::News(vec!["BW-1".into(), "BW-2".into()]));
        assert_eq!(waited, Duration::from_millis(700));
        // Taken: the next sender waits for the hold again.
        let t = tokio::time::Instant::now();
        assert_eq!(burst.next(MAX_PAUSE).await, Next::Claim);
        assert_eq!(t.elapsed(), MAX_PAUSE);
        // News left in the lane when the hold ends goes out with the rest.
        burst.news(["BW-3".to_string()]);
        drop(guard);
        assert_eq!(burst.next(MAX_PAUSE).await, Next::Claim);
        // Without a hold nothing is kept: nothing is held back.
        burst.news(["BW-4".to_string()]);
        let _again = burst.begin();
        let t = tokio::time::Instant::now();
        assert_eq!(burst.next(MAX_PAUSE).await, Next::Claim);
        assert_eq!(t.elapsed(), MAX_PAUSE);
    }

    #[tokio::test(start_paused = true)]
    async fn the_news_lane_is_bounded() {
        let burst = Burst::default();
        let _guard = burst.begin();
        burst.news((0..MAX_NEWS + 10).map(|i| format!("BW-{i}")));
        let Next::News(refs) = burst.next(MAX_PAUSE).await else {
            panic!("news expected")
        };
        assert_eq!(refs.len(), MAX_NEWS);
        // The newest are kept.
        assert_eq!(refs.last().unwrap(), &format!("BW-{}", MAX_NEWS + 9));
        assert_eq!(refs[0], "BW-10");
    }
}
