//! "Report an incident": a signed-in member of staff describes what happened.
//! The form becomes a notice in the core (`core::notice::report`), then goes
//! the way of a forwarded notice (`Pipeline::handle_report`): the same
//! routing, acknowledgement and clock, awareness from the discovery time
//! given (never later than the submission), the event saying `via web` and who.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Form;
use chrono::Utc;
use serde_json::{json, Value};

use super::session::Session;
use super::views::{error_page, page_for};
use super::WebState;
use crate::core::documents::words::category_form_label;
use crate::core::notice::report::{self, ReportError, ReportForm, CATEGORIES};
use crate::workers::ingest::Handled;

/// At most this many form fields are read (the categories are a few).
const MAX_FIELDS: usize = 64;

fn categories(selected: &[String]) -> Vec<Value> {
    CATEGORIES
        .iter()
        .map(|c| json!({"value": c, "label": category_form_label(c), "checked": selected.iter().any(|s| s == c)}))
        .collect()
}

/// The words of a form problem, next to its field.
fn problem(e: ReportError) -> &'static str {
    match e {
        ReportError::WhatMissing => "Beskriv vad som hände.",
        ReportError::DiscoveredUnreadable => "Ange när det upptäcktes (datum och klockslag).",
        ReportError::DiscoveredInFuture => "Upptäcktstiden kan inte ligga efter nu.",
        ReportError::DiscoveredTooOld => {
            "Upptäcktstiden ligger mer än ett år bakåt; kontrollera datumet."
        }
        ReportError::CountUnreadable => "Antalet ska vara ett heltal (eller lämnas tomt).",
    }
}

fn form_page(
    state: &WebState,
    s: &Session,
    f: &ReportForm,
    errors: &[ReportError],
    status: StatusCode,
) -> Response {
    let now_local = Utc::now()
        .with_timezone(&state.p.cfg.tz())
        .format("%Y-%m-%dT%H:%M")
        .to_string();
    let errs: Vec<Value> = errors
        .iter()
        .map(|e| json!({"field": e.field(), "text": problem(*e)}))
        .collect();
    let mut r = page_for(
        state,
        s,
        "report.html",
        json!({
            "f": {"what": f.what, "discovered": if f.discovered.is_empty() { now_local.clone() } else { f.discovered.clone() },
                  "system": f.system, "people": f.people, "count": f.count, "ongoing": f.ongoing},
            "max": now_local,
            "categories": categories(&f.categories),
            "errors": errs,
            "zone": state.p.cfg.tz().name(),
        }),
    );
    *r.status_mut() = status;
    r
}

pub async fn report_form(State(state): State<WebState>, session: Session) -> Response {
    form_page(
        &state,
        &session,
        &ReportForm::default(),
        &[],
        StatusCode::OK,
    )
}

pub async fn report_submit(
    State(state): State<WebState>,
    session: Session,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let mut csrf = String::new();
    let mut f = ReportForm::default();
    for (k, v) in fields.into_iter().take(MAX_FIELDS) {
        match k.as_str() {
            "csrf" => csrf = v,
            "what" => f.what = v,
            "discovered" => f.discovered = v,
            "system" => f.system = v,
            "people" => f.people = v,
            "count" => f.count = v,
            "ongoing" => f.ongoing = v,
            "category" => f.categories.push(v),
            _ => {}
        }
    }
    if !session.csrf_ok(&csrf) {
        return (StatusCode::FORBIDDEN, "missing or wrong form token\n").into_response();
    }
    let now = Utc::now();
    let p = &state.p;
    let id = format!(
        "web-report-{}@{}",
        uuid::Uuid::new_v4(),
        p.sender.id_domain()
    );
    let r = match report::build(&f, &session.address, None, &id, p.cfg.tz(), now) {
        Ok(r) => r,
        Err(errors) => {
            return form_page(
                &state,
                &session,
                &f,
                &errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
    };
    let via = json!({"via": "web", "user": session.address});
    let handled = match p.handle_report(&r, via, now).await {
        Ok(h) => h,
        Err(e) => {
            tracing::error!("web report: {e:#}");
            return error_page(
                &state,
                StatusCode::SERVICE_UNAVAILABLE,
                "Rapporten kunde inte sparas just nu. Försök igen om en stund.",
            );
        }
    };
    let case_ref = match &handled {
        Handled::Opened(r) | Handled::Attached(r) => r.clone(),
        _ => String::new(),
    };
    tracing::info!(case = %case_ref, who = %crate::core::types::addr_hash(&session.address), "web report");
    page_for(
        &state,
        &session,
        "reported.html",
        json!({
            "ref": case_ref, "joined": matches!(handled, Handled::Attached(_)),
        }),
    )
}
