//! The reply workflow as one pure step: parse → authorise → apply.

use super::*;

/// A reply to one of breachwatch's mails about a case, as the shell read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply<'a> {
    /// The From address.
    pub sender: &'a str,
    /// The reply's text as [`crate::core::commands::parse_reply`] read it,
    /// once: the shell asks the same parse what the command needs from the
    /// store ([`Parsed::needs`]) before this step.
    pub parsed: &'a Parsed,
    /// The From fields and trace headers authentication reads.
    pub origin: &'a Origin,
}

/// What a reply does: the next case if it changed, and the effects. A refused
/// command leaves `case` None.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReplyOutcome {
    pub case: Option<Case>,
    pub effects: Vec<Effect>,
    /// The language the command was written in: send `Confirm`/`AnswerRefusal`
    /// in it (None when nothing is answered; Swedish is the default elsewhere).
    pub lang: Option<Lang>,
}

/// The whole reply workflow in one pure step, in this order:
/// 1. the first line as [`crate::core::commands::parse_reply`] read it
///    (`reply.parsed`, the shell's one parse);
/// 2. not a command: the text goes on the timeline as a follow-up, whoever sent
///    it (a supplier may answer in the thread too); nothing is answered;
/// 3. a command (valid or not) needs [`authorize`]; refused: recorded with the
///    reason and NOT answered, the case is unchanged (a forger learns nothing);
/// 4. an invalid command from an authorised sender: recorded and answered with
///    the bilingual error;
/// 5. a valid command: [`Case::apply`]; its timeline record carries the rest of
///    the reply as `body`; a refused transition is recorded and answered.
///
/// `tz` is the zone for times in answers. `related` holds the case a
/// `merge` command names and the message a `split` takes out, as the shell
/// found them (None: there is none).
pub fn handle_reply(
    case: &Case,
    route: &Route,
    cfg: &AuthConfig,
    reply: &Reply<'_>,
    now: DateTime<Utc>,
    tz: Tz,
    related: Related<'_>,
) -> ReplyOutcome {
    let (command, body, lang) = match reply.parsed.clone() {
        Parsed::NotACommand { body } => {
            return ReplyOutcome {
                case: None,
                effects: vec![Effect::RecordTimeline {
                    kind: EventKind::FollowUp,
                    data: json!({ "from": reply.sender, "body": body }),
                }],
                lang: None,
            };
        }
        Parsed::Invalid { error, body } => {
            let lang = error.lang;
            (Err(error), body, lang)
        }
        Parsed::Command {
            command,
            body,
            lang,
        } => (Ok(command), body, lang),
    };
    let unchanged = |effects| ReplyOutcome {
        case: None,
        effects,
        lang: Some(lang),
    };
    let verdict = authorize(cfg, route, reply.origin);
    let (role, via) = match verdict {
        Verdict::Allowed { role, via } => (role, via),
        Verdict::Refused(reason) => {
            return ReplyOutcome {
                case: None,
                lang: None,
                effects: vec![Effect::RecordTimeline {
                    kind: EventKind::CommandUnauthorised,
                    data: json!({
                        "from": reply.sender,
                        "reason": reason,
                        "why": reason.to_string(),
                        "command": command.as_ref().ok(),
                        "body": body,
                    }),
                }],
            };
        }
    };
    let command = match command {
        Ok(c) => c,
        Err(error) => {
            return unchanged(vec![
                Effect::RecordTimeline {
                    kind: EventKind::CommandInvalid,
                    data: json!({ "from": reply.sender, "error": error, "body": body }),
                },
                Effect::AnswerRefusal {
                    sv: error.sv,
                    en: error.en,
                },
            ]);
        }
    };
    match case.apply_in(&command, reply.sender, now, related, tz) {
        Ok(mut t) => {
            if let Some(Effect::RecordTimeline {
                data: serde_json::Value::Object(m),
                ..
            }) = t.effects.first_mut()
            {
                m.insert("role".into(), json!(role));
                m.insert("via".into(), json!(via));
                if !body.is_empty() {
                    m.insert("body".into(), json!(body));
                }
            }
            ReplyOutcome {
                case: Some(t.case),
                effects: t.effects,
                lang: Some(lang),
            }
        }
        Err(e) => unchanged(e.effects(&command, tz)),
    }
}
