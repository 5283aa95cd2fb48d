//! The generated documents as pure data and text: the input model ([`CaseFile`]),
//! the draft delegation decision per [`Outcome`] ([`decision`]), the prefilled
//! IMY notification form ([`imy_form`]) and their plain-text/JSON renderings.
//!
//! No IO, no clock (dates and `generated_at` come in with the case), no panics.
//! Turning this into .docx, HTML, templates and .ics is `crate::render`'s job.

pub mod decision;
pub mod imy;
pub mod model;
pub mod sample;
pub mod words;

pub use decision::{decision, Block, Decision, Section, Signature};
pub use imy::{imy_form, Answer, ImyForm};
pub use model::{
    CaseFile, Forward, Organisation, Outcome, Person, PostalAddress, Processor, ReceivedMessage,
    RiskAssessment, RiskLevel, TimelineEvent,
};

#[cfg(test)]
mod tests;
