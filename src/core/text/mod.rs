//! Every sentence breachwatch sends by mail, in one place, for a translator
//! to read top to bottom in the order a case meets them:
//!
//! 1. `mail.rs` — the mails of intake and the clock (Swedish): the opening
//!    notice, the acknowledgement, reminders, news on a case; the frames
//!    around an answer to a command; the draft decision's cover; the DPO's
//!    notice of a refused mail.
//! 2. `case.rs` — what a carried-out command says to its sender and to the
//!    rest of the roster (Swedish, English).
//! 3. `refusal.rs` — why a command was refused (Swedish, English).
//! 4. `nis2.rs` — NIS2: the opening notice's block when the reader suggests
//!    NIS2, the NIS2 deadline reminders (Swedish).
//! 5. `digest.rs` — the DPO's digest (Swedish; the time-left words also in
//!    English).
//! 6. `report.rs` — a member of staff's report from the web form: its
//!    record, subject and evidence lines (Swedish).
//! 7. `timeline.rs` — the web view's words for stored machine values: event
//!    kinds, case states, mail purposes, the register check (Swedish).
//!
//! New outgoing prose goes here too, in the file of the mail it belongs to.
//! Not here: the generated documents' wording (`core::documents`, the
//! templates in `render`), the web pages (`web::templates`) and the statistics'
//! labels (`render::stats`), each kept with its own format.
//!
//! Pure like the rest of the core: each function takes what it names and
//! returns text; `mail::compose` puts the texts into mails.

pub mod case;
pub mod digest;
pub mod mail;
pub mod nis2;
pub mod refusal;
pub mod report;
pub mod timeline;

/// (Swedish, English).
pub type Texts = (String, String);
