//! The generated documents as pure data and text: the input model ([`CaseFile`]),
//! the draft delegation decision per [`Outcome`] ([`decision`]), the prefilled
//! IMY notification form ([`imy_form`]), the NIS2 early warning and incident
//! notification ([`nis2_form`]) and their plain-text/JSON renderings.
//!
//! The wording and layout follow four real documents of Swedish
//! municipalities, called "the seeds" in comments here: seed 000 and seed 002,
//! decisions of a Vård- och omsorgsnämnd to notify IMY (002 also informs the
//! data subjects); seed 001, a Kommunstyrelsen decision on a late notice from
//! Infosolutions Sverige AB in June 2021 (its facts are [`sample::seed_001`]);
//! seed 003, the questions of IMY's notification form.
//!
//! No IO, no clock (dates and `generated_at` come in with the case), no panics.
//! Turning this into .docx, HTML, templates and .ics is `crate::render`'s job.

pub mod decision;
pub mod imy;
pub mod model;
pub mod nis2;
pub mod sample;
pub mod words;

pub use decision::{decision, Block, DraftDecision, Section, Signature};
pub use imy::{imy_form, Answer, ImyForm};
pub use model::{
    CaseFile, Forward, Organisation, Outcome, Person, PostalAddress, Processor, ReceivedMessage,
    RiskAssessment, RiskLevel, TimelineEvent,
};
pub use nis2::{nis2_form, Nis2Draft, Nis2Form};

#[cfg(test)]
mod tests;
