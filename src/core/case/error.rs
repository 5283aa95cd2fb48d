//! Why a command was refused; the words for the sender (Swedish and English)
//! are in `core::text::refusal`.

use super::*;

/// Why a command was refused. [`TransitionError::sv`] and [`TransitionError::en`]
/// give texts for mailing back; `Display` is both, with times in UTC, for logs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "error", rename_all = "snake_case")]
pub enum TransitionError {
    #[error("case is closed")]
    Closed,
    #[error("case is not closed")]
    NotClosed,
    #[error("already acknowledged")]
    AlreadyAcknowledged {
        by: Option<String>,
        at: DateTime<Utc>,
    },
    #[error("decision before assessment")]
    NotAssessed,
    #[error("no-notify decision with assessment {assessment:?}")]
    NoNotifyWithRisk { assessment: Assessment },
    #[error("reported before a decision to notify")]
    NotDecided,
    #[error("reported after a decision not to notify")]
    DecidedNotToNotify,
    #[error("already reported to IMY ({imy_ref})")]
    AlreadyReported { imy_ref: String },
    #[error("reported after the deadline {deadline} without a delay reason")]
    LateWithoutDelayReason { deadline: DateTime<Utc> },
    #[error("{command} before the case is reported")]
    NotReported { command: String },
    #[error("the notification is withdrawn")]
    Withdrawn,
    #[error("cannot close in state {state:?}")]
    CannotClose { state: State },
    #[error("merge into the case itself")]
    MergeIntoItself,
    #[error("merge into {target}, which does not exist")]
    MergeTargetMissing { target: String },
    #[error("merge into {target}, which is closed")]
    MergeTargetClosed { target: String },
    #[error("merged into {target}")]
    MergedInto { target: String },
    #[error("NIS2 {report:?} while NIS2 is neither suggested nor applies")]
    Nis2NotRunning { report: super::nis2::Nis2Report },
    #[error("NIS2 {report:?} already recorded at {at}")]
    Nis2AlreadySent {
        report: super::nis2::Nis2Report,
        at: DateTime<Utc>,
    },
    #[error("NIS2 incident handled while NIS2 is neither suggested nor applies")]
    Nis2HandledNotRunning,
    #[error("NIS2 incident already recorded as handled at {at}")]
    Nis2AlreadyHandled { at: DateTime<Utc> },
    #[error("NIS2 {report:?} before the incident notification")]
    Nis2NotificationFirst { report: super::nis2::Nis2Report },
}

impl TransitionError {
    /// Swedish text for the sender; times in `tz`.
    pub fn sv(&self, tz: Tz) -> String {
        crate::core::text::refusal::sv(self, tz)
    }

    /// English text for the sender; times in `tz`.
    pub fn en(&self, tz: Tz) -> String {
        crate::core::text::refusal::en(self, tz)
    }

    /// What the shell does with a refused command from an authorised sender:
    /// record it on the timeline and answer with the reason.
    pub fn effects(&self, command: &Command, tz: Tz) -> Vec<Effect> {
        vec![
            Effect::RecordTimeline {
                kind: EventKind::CommandRefused,
                data: json!({
                    "command": command,
                    "error": self,
                    "reason": self.en(tz),
                }),
            },
            Effect::AnswerRefusal {
                sv: self.sv(tz),
                en: self.en(tz),
            },
        ]
    }
}
