//! Mail adapters: composing outgoing mail, sending it over SMTP, and watching
//! the shared mailbox over IMAP. Thin: decisions live in `core`.

pub mod compose;
pub mod imap;
pub mod nis2;
pub mod oauth;
pub mod smtp;
