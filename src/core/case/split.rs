//! `dela`/`split`: the message replied to is another incident. It moves out
//! of this case into a new case with its own clock; this case goes on as it
//! was.

use super::*;

/// The message a `dela` reply points at, as the shell found it: the case
/// message the replied-to mail is about (the opening notice's message, a
/// follow-up notice's message, or the message itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SplitSource {
    /// The message's row in the register.
    pub row: i64,
    /// Its Message-ID, for the timelines (None when it had none).
    pub message_id: Option<String>,
    /// Its subject as read, for the answers (one line, bounded by the shell).
    pub subject: String,
    /// When the municipality first knew of this message's incident: the
    /// earliest receipt the reader found for it. The new case's clock.
    pub aware_at: DateTime<Utc>,
    /// How many messages the case holds, this one included.
    pub messages_in_case: u32,
}

/// `dela` on `case` with the message the shell found (None: the reply was
/// not to a mail about one of the case's messages). Refused when there is
/// no such message, or when it is the case's only message (it already is a
/// case of its own). The case keeps its state and clock: splitting only
/// takes a message out; a wrongly early clock is the safe side.
pub(super) fn split(
    case: &Case,
    step: &mut Step<'_>,
    why: Option<&str>,
    source: Option<&SplitSource>,
) -> Result<Done, TransitionError> {
    let r = case.case_ref.as_str();
    let Some(m) = source else {
        return Err(TransitionError::SplitWithoutMessage);
    };
    if m.messages_in_case <= 1 {
        return Err(TransitionError::SplitOnlyMessage);
    }
    let deadline = clock::deadline(m.aware_at);
    step.effects.push(Effect::SplitOut {
        message_row: m.row,
        aware_at: m.aware_at,
        urgent: clock::is_urgent(m.aware_at, step.now),
    });
    step.notify_roster = Some(text::roster_split(r, &m.subject));
    Ok((
        EventKind::CaseSplit,
        json!({
            "message_id": m.message_id,
            "subject": m.subject,
            "new_aware_at": m.aware_at,
            "new_deadline": deadline,
            "why": why,
        }),
        text::confirm_split(r, &m.subject),
    ))
}
