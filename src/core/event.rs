//! What a timeline event says happened: [`EventKind`], one enum for every kind
//! the daemon writes, spelled exactly as it is stored in `events.kind`.
//!
//! The spelling is part of the hash chain (`core::timeline::canonical` hashes
//! the kind as a string), so a variant's string never changes. A kind read back
//! that this release does not know (written by a newer release, or by hand)
//! decodes as [`EventKind::Other`] with its text kept, so it hashes and prints
//! as stored and `register verify` judges it like any other row.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

macro_rules! event_kinds {
    ($($(#[$doc:meta])* $variant:ident => $text:literal,)*) => {
        /// What happened to a case (`events.kind`).
        #[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(from = "String", into = "String")]
        pub enum EventKind {
            $($(#[$doc])* $variant,)*
            /// A stored kind this release does not know, kept as written.
            Other(String),
        }

        impl EventKind {
            /// Every kind this release writes (for tests and documentation).
            pub const KNOWN: &'static [EventKind] = &[$(EventKind::$variant,)*];

            /// The kind as stored and hashed.
            pub fn as_str(&self) -> &str {
                match self {
                    $(EventKind::$variant => $text,)*
                    EventKind::Other(s) => s,
                }
            }

            /// Reads a stored kind; total (an unknown kind is [`EventKind::Other`]).
            pub fn parse(s: &str) -> EventKind {
                match s {
                    $($text => EventKind::$variant,)*
                    other => EventKind::Other(other.to_string()),
                }
            }
        }
    };
}

event_kinds! {
    /// The case was opened from a notice.
    CaseOpened => "case_opened",
    /// A further message joined the case.
    MessageAttached => "message_attached",
    /// A copy received earlier moved the case's awareness (and deadline).
    AwareAtMoved => "aware_at_moved",
    /// A reply to the case could not be handled (recorded, not answered).
    ReplyNotHandled => "reply_not_handled",
    /// A recipient in the notice was refused (not a plain internal address).
    RecipientRefused => "recipient_refused",
    /// A mail could not be composed and was not queued.
    MailDropped => "mail_dropped",
    /// The SMTP server refused a mail for good (a 5xx); the DPO is told.
    MailRefused => "mail_refused",
    /// Documents were generated, with their checksums.
    DocumentsGenerated => "documents_generated",
    /// Documents could not be generated.
    DocumentsFailed => "documents_failed",
    /// A deadline reminder before the deadline.
    Reminder => "reminder",
    /// A deadline reminder after the deadline.
    OverdueReminder => "overdue_reminder",
    /// Commands: `kvittera`/`ack`.
    Acknowledged => "acknowledged",
    /// `bedömning`/`assess`.
    Assessed => "assessed",
    /// `beslut`/`decide`.
    Decided => "decided",
    /// `anmäld`/`reported`.
    Reported => "reported",
    /// `försening`/`delay`.
    DelayReason => "delay_reason",
    /// `komplettering`/`supplement`.
    Supplemented => "supplemented",
    /// `återtag`/`withdraw`.
    Withdrawn => "withdrawn",
    /// `stäng`/`close`.
    Closed => "closed",
    /// `återöppna`/`reopen`.
    Reopened => "reopened",
    /// `notering`/`note`.
    Note => "note",
    /// `diarienummer`.
    Diarienummer => "diarienummer",
    /// `sammanfoga`/`merge`, on the case merged away.
    MergedInto => "merged_into",
    /// `sammanfoga`/`merge`, on the case merged into.
    MergedFrom => "merged_from",
    /// A roster member's command that the rules refuse.
    CommandRefused => "command_refused",
    /// A command from someone not authorised to give it.
    CommandUnauthorised => "command_unauthorised",
    /// A roster member's reply that does not read as a command.
    CommandInvalid => "command_invalid",
    /// A reply that is no command: kept on the timeline.
    FollowUp => "follow_up",
    /// NIS2 (`core::regime`): the reader suggested it at opening, with reasons.
    Nis2Suggested => "nis2_suggested",
    /// `nis2: ja|nej`.
    Nis2Decided => "nis2_decided",
    /// `tidig varning skickad`/`early warning sent`.
    Nis2EarlyWarningSent => "nis2_early_warning_sent",
    /// `incidentanmälan skickad`/`incident notification sent`.
    Nis2NotificationSent => "nis2_incident_notification_sent",
    /// `lägesrapport skickad`/`progress report sent`.
    Nis2ProgressReportSent => "nis2_progress_report_sent",
    /// `slutrapport skickad`/`final report sent`.
    Nis2FinalReportSent => "nis2_final_report_sent",
    /// `incident hanterad`/`incident handled` (art. 23.4 e).
    Nis2IncidentHandled => "nis2_incident_handled",
    /// A NIS2 deadline reminder before its deadline.
    Nis2Reminder => "nis2_reminder",
    /// A NIS2 deadline reminder after its deadline.
    Nis2OverdueReminder => "nis2_overdue_reminder",
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EventKind {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(EventKind::parse(s))
    }
}

impl From<String> for EventKind {
    fn from(s: String) -> Self {
        EventKind::parse(&s)
    }
}

impl From<&str> for EventKind {
    fn from(s: &str) -> Self {
        EventKind::parse(s)
    }
}

impl From<EventKind> for String {
    fn from(k: EventKind) -> Self {
        k.as_str().to_string()
    }
}

impl PartialEq<str> for EventKind {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for EventKind {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_known_kind_round_trips_through_its_stored_text() {
        for k in EventKind::KNOWN {
            assert_eq!(&EventKind::parse(k.as_str()), k);
            let json = serde_json::to_string(k).unwrap();
            assert_eq!(json, format!("\"{}\"", k.as_str()));
            assert_eq!(&serde_json::from_str::<EventKind>(&json).unwrap(), k);
        }
        let mut texts: Vec<&str> = EventKind::KNOWN.iter().map(EventKind::as_str).collect();
        texts.sort_unstable();
        texts.dedup();
        assert_eq!(
            texts.len(),
            EventKind::KNOWN.len(),
            "two kinds share a text"
        );
    }

    #[test]
    fn an_unknown_stored_kind_is_kept_as_written() {
        let k = EventKind::parse("written_by_a_newer_release");
        assert_eq!(k, EventKind::Other("written_by_a_newer_release".into()));
        assert_eq!(k.as_str(), "written_by_a_newer_release");
        assert_eq!(k.to_string(), "written_by_a_newer_release");
    }
}
