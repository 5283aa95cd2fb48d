//! breachwatch: turns personal data breach notices in a shared mailbox into cases
//! with a GDPR art. 33 clock. See ARCHITECTURE.md for the map.

pub mod app;
pub mod casefile;
pub mod cli;
pub mod config;
pub mod core;
pub mod mail;
pub mod memory;
pub mod pdf;
pub mod register;
pub mod render;
pub mod stats;
pub mod store;
pub mod telemetry;
pub mod web;
pub mod workers;
