//! The pure core: classification, extraction, the clock, routing, the case state
//! machine and the data behind generated documents.
//!
//! Invariant: nothing under `core` does IO, reads the clock, touches tokio, sqlx,
//! IMAP or SMTP, or panics on any input. Time comes in as a parameter. Everything
//! here is tested with plain unit tests.

pub mod auth;
#[cfg(test)]
mod auth_exchange_tests;
#[cfg(test)]
mod auth_proptests;
pub mod bounded;
pub mod case;
pub mod clock;
pub mod commands;
#[cfg(test)]
mod commands_proptests;
pub mod dates;
pub mod digest;
pub mod documents;
pub mod event;
pub mod intake;
pub mod local_time;
pub mod notice;
pub mod regime;
pub mod register;
pub mod routing;
pub mod series;
pub mod stats;
pub mod text;
pub mod timeline;
pub mod types;
