//! Integration tests, one binary (as zero-to-production does): the daemon against
//! the real loopback mail stack (Dovecot + Postfix) that `make test` starts, and
//! the store against real SQLite and PostgreSQL. Server tests fail loudly when
//! their servers are missing; they never skip silently.

mod bounds;
mod cli;
mod daemon;
mod documents;
mod faults;
mod harness;
mod hostile;
mod hostile_fixtures;
mod intake;
mod mailboxes;
mod mutation;
mod nis2;
mod oauth;
mod office;
mod pdf;
mod register;
mod series;
mod smtps;
mod store_story;
mod web;
mod workflow;
