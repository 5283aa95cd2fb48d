//! breachwatch: turns personal data breach notices in a shared mailbox into cases
//! with a GDPR art. 33 clock. See ARCHITECTURE.md for the map.

pub mod cli;
pub mod core;
pub mod render;
