//! Workers of the daemon. Each exposes one step that tests call directly
//! (`Pipeline::handle`, `send_one`, `fire_due`) and a loop that is "step, then
//! wait" under a cancellation token.

pub mod backoff;
pub mod burst;
pub mod checkpoint;
pub mod clock;
pub mod digest;
pub mod ingest;
pub mod outbox;
pub mod reply;
pub mod watch;

/// Jittered exponential backoff for reconnects: 2 s doubling to 80 s.
pub use backoff::backoff;
