//! Workers of the daemon. Each exposes one step that tests call directly
//! (`Pipeline::handle`, `send_one`, `fire_due`) and a loop that is "step, then
//! wait" under a cancellation token.

pub mod clock;
pub mod digest;
pub mod ingest;
pub mod outbox;
pub mod reply;
pub mod watch;

/// Jittered exponential backoff for reconnects: 2 s doubling to 80 s.
pub fn backoff(attempt: u32) -> std::time::Duration {
    use rand::Rng;
    let base = 2u64.saturating_mul(1u64 << attempt.min(6)).min(80);
    let jitter = rand::rng().random_range(0..=base * 250);
    std::time::Duration::from_millis(base * 1000 - base * 125 + jitter)
}
