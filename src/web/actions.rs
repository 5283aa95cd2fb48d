//! The case actions of the web page. Each one is the reply command it mirrors,
//! read by the same command reader (`core::commands::parse_reply`) and applied
//! by the same state machine (`Case::apply`); its effects become the same
//! events and mails as a reply's (`workers::reply::outcome_work`). The only
//! difference is who vouches for the person: the web session instead of the
//! receiving server's Authentication-Results, recorded on the event as
//! `via: {"via": "web", "user": …}`. All calls into the case machine are here.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use chrono::Utc;
use serde::Deserialize;
use serde_json::json;

use super::session::Session;
use super::views::error_page;
use super::WebState;
use crate::core::auth::{roster_role, Origin};
use crate::core::case::{Effect, ReplyOutcome};
use crate::core::commands::{parse_reply, Parsed};
use crate::workers::reply::{load_case, outcome_work, ReplyMail};

#[derive(Debug, Deserialize)]
pub struct ActionForm {
    /// Missing counts as wrong (403), not as a malformed form.
    #[serde(default)]
    pub csrf: String,
    pub command: String,
    #[serde(default)]
    pub choice: String,
    #[serde(default)]
    pub text: String,
}

/// The reply command (Swedish) a form stands for, or None for an unknown one.
pub fn command_text(f: &ActionForm) -> Option<String> {
    // One line of at most 2,000 characters: what a reply's first line holds.
    let text: String = f
        .text
        .split(['\r', '\n'])
        .next()
        .unwrap_or("")
        .trim()
        .chars()
        .take(2000)
        .collect();
    let with = |cmd: &str| {
        if text.is_empty() {
            cmd.to_string()
        } else {
            format!("{cmd}: {text}")
        }
    };
    Some(match f.command.as_str() {
        "ack" => "kvittera".into(),
        "assess" => format!(
            "bedömning: {}",
            match f.choice.as_str() {
                "none" => "ingen risk",
                "risk" => "risk",
                "high" => "hög risk",
                _ => return Some("bedömning:".into()),
            }
        ),
        "decide" => format!(
            "beslut: {}",
            match f.choice.as_str() {
                "notify" => "anmäl",
                "notify-inform" => "anmäl och informera",
                "no-notify" => "ej anmäl",
                _ => return Some("beslut:".into()),
            }
        ),
        "reported" => format!("anmält {text}"),
        "delay" => format!("försening: {text}"),
        "note" => format!("notering: {text}"),
        "withdraw" => with("återta"),
        "close" => "stäng".into(),
        // The NIS2 commands (`core::commands::Nis2Command`), as a reply writes them.
        "nis2" => {
            let answer = match f.choice.as_str() {
                "yes" => "ja",
                "no" => "nej",
                _ => return Some("nis2:".into()),
            };
            if text.is_empty() {
                format!("nis2: {answer}")
            } else {
                format!("nis2: {answer} {text}")
            }
        }
        "nis2-early-warning" => "tidig varning skickad".into(),
        "nis2-notification" => format!("incidentanmälan skickad {text}"),
        "nis2-progress" => "lägesrapport skickad".into(),
        "nis2-handled" => "incident hanterad".into(),
        "nis2-final" => "slutrapport skickad".into(),
        _ => return None,
    })
}

pub async fn action(
    State(state): State<WebState>,
    session: Session,
    Path(case_ref): Path<String>,
    Form(f): Form<ActionForm>,
) -> Response {
    if !session.csrf_ok(&f.csrf) {
        return (StatusCode::FORBIDDEN, "missing or wrong form token\n").into_response();
    }
    let p = &state.p;
    let Some(wf) = (match p.store.case_record(case_ref.trim()).await {
        Ok(r) => r,
        Err(e) => {
            tracing::error!("web action: {e:#}");
            return error_page(
                &state,
                StatusCode::SERVICE_UNAVAILABLE,
                "Databasen svarar inte just nu.",
            );
        }
    }) else {
        return error_page(&state, StatusCode::NOT_FOUND, "Ärendet finns inte.");
    };
    let Some(route) = wf.route.clone() else {
        return error_page(
            &state,
            StatusCode::INTERNAL_SERVER_ERROR,
            "Ärendets fördelning kan inte läsas.",
        );
    };
    // Only roster members move a case, as by reply.
    let Some(role) = roster_role(&route, &session.address) else {
        return error_page(
            &state,
            StatusCode::FORBIDDEN,
            "Bara ärendets handläggare, ersättare, dataskyddsombud och samordnare kan göra detta.",
        );
    };
    let Some(text) = command_text(&f) else {
        return error_page(&state, StatusCode::BAD_REQUEST, "Okänd åtgärd.");
    };
    let Parsed::Command { command, lang, .. } = parse_reply(&text) else {
        return error_page(
            &state,
            StatusCode::BAD_REQUEST,
            "Åtgärden saknar ett giltigt värde (t.ex. IMY:s diarienummer eller ett skäl).",
        );
    };
    if matches!(command, crate::core::commands::Command::Merge(_)) {
        return error_page(
            &state,
            StatusCode::BAD_REQUEST,
            "Sammanfogning görs med svar via e-post.",
        );
    }
    if matches!(command, crate::core::commands::Command::Split(_)) {
        return error_page(
            &state,
            StatusCode::BAD_REQUEST,
            "Delning görs med svar via e-post på brevet om meddelandet.",
        );
    }
    let now = Utc::now();
    let case = load_case(&wf);
    let via = json!({ "via": "web", "user": session.address });
    let out = match case.apply_in(
        &command,
        &session.address,
        now,
        crate::core::case::Related::default(),
        state.p.cfg.tz(),
    ) {
        Ok(mut t) => {
            if let Some(Effect::RecordTimeline {
                data: serde_json::Value::Object(m),
                ..
            }) = t.effects.first_mut()
            {
                m.insert("role".into(), json!(role));
                m.insert("via".into(), via);
            }
            ReplyOutcome {
                case: Some(t.case),
                effects: t.effects,
                lang: Some(lang),
            }
        }
        Err(e) => ReplyOutcome {
            case: None,
            effects: e.effects(&command, p.cfg.tz()),
            lang: Some(lang),
        },
    };
    let refused = out.case.is_none();
    let reply = ReplyMail {
        sender: session.address.clone(),
        subject: format!("{} (webben): {text}", wf.case_ref),
        message_id: Some(format!("web-{}", uuid::Uuid::new_v4())),
        text: text.clone(),
        origin: Origin::default(),
    };
    let file = crate::casefile::load(&p.store, &p.cfg, wf.case_ref.as_str(), now)
        .await
        .unwrap_or(None);
    let docs = file.as_ref().map(|f| (f, p.templates.as_ref()));
    let work = match outcome_work(
        &p.cfg, &p.sender, &wf, &reply, now, docs, None, &case, &route, out,
    ) {
        Ok(w) => w,
        Err(e) => {
            tracing::error!(case = %wf.case_ref, "web action not handled: {e}");
            return error_page(
                &state,
                StatusCode::INTERNAL_SERVER_ERROR,
                "Åtgärden kunde inte utföras.",
            );
        }
    };
    match p
        .store
        .commit_web_action(wf.id, work.update.as_ref(), &work.events, work.mails, now)
        .await
    {
        Ok(()) => {}
        Err(crate::store::StoreError::Conflict(_)) => {
            return error_page(
                &state,
                StatusCode::CONFLICT,
                "Ärendet ändrades samtidigt. Ladda om sidan och försök igen.",
            );
        }
        Err(e) => {
            tracing::error!(case = %wf.case_ref, "web action: {e:#}");
            return error_page(
                &state,
                StatusCode::SERVICE_UNAVAILABLE,
                "Databasen svarar inte just nu.",
            );
        }
    }
    p.outbox_wake.notify_one();
    p.clock_wake.notify_one();
    tracing::info!(case = %wf.case_ref, command = command.name(), who = %crate::core::types::addr_hash(&session.address), refused, "web action");
    let done = if refused { "refused" } else { "ok" };
    Redirect::to(&format!("/cases/{}?done={done}", wf.case_ref)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::commands::{AuthorityRef, Command, Nis2Command};

    fn form(command: &str, choice: &str, text: &str) -> ActionForm {
        ActionForm {
            csrf: String::new(),
            command: command.into(),
            choice: choice.into(),
            text: text.into(),
        }
    }

    /// Each NIS2 form is the reply command it mirrors, read by the same reader.
    #[test]
    fn nis2_forms_read_as_the_reply_commands() {
        let read = |f: ActionForm| match parse_reply(&command_text(&f).unwrap()) {
            Parsed::Command { command, .. } => Some(command),
            _ => None,
        };
        assert_eq!(
            read(form("nis2", "yes", "väsentlig tjänst berörs")),
            Some(Command::Nis2(Nis2Command::Decide {
                applies: true,
                reasoning: Some("väsentlig tjänst berörs".into())
            }))
        );
        assert!(matches!(
            read(form("nis2", "no", "")),
            Some(Command::Nis2(Nis2Command::Decide { applies: false, .. }))
        ));
        assert_eq!(read(form("nis2", "", "")), None, "no answer, no command");
        assert_eq!(
            read(form("nis2-early-warning", "", "")),
            Some(Command::Nis2(Nis2Command::EarlyWarningSent))
        );
        assert_eq!(
            read(form("nis2-notification", "", "MCF-2026-118")),
            Some(Command::Nis2(Nis2Command::NotificationSent {
                authority_ref: AuthorityRef::parse("MCF-2026-118").unwrap()
            }))
        );
        assert_eq!(
            read(form("nis2-notification", "", "")),
            None,
            "a reference is needed"
        );
        assert_eq!(
            read(form("nis2-progress", "", "")),
            Some(Command::Nis2(Nis2Command::ProgressReportSent))
        );
        assert_eq!(
            read(form("nis2-handled", "", "")),
            Some(Command::Nis2(Nis2Command::IncidentHandled))
        );
        assert_eq!(
            read(form("nis2-final", "", "")),
            Some(Command::Nis2(Nis2Command::FinalReportSent))
        );
    }
}
