//! Pages and the JSON API: read from the store, check what the signed-in
//! person may see (`access`), render. Times are stored in UTC and shown in the
//! configured zone.

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::access::{may_see, scope, Scope};
use super::session::Session;
use super::WebState;
use crate::core::regime::Clock;
use crate::store::{CaseListRow, CaseQuery, CaseRecord};

/// At most this many cases per API page.
pub const MAX_PAGE: usize = 200;

pub fn local(state: &WebState, at: DateTime<Utc>) -> String {
    at.with_timezone(&state.p.cfg.tz())
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

/// Time left as a person reads it: "overdue by N h" past the deadline.
pub fn time_left(deadline: DateTime<Utc>, now: DateTime<Utc>) -> (String, &'static str) {
    let left = deadline - now;
    let h = left.num_hours();
    let m = (left.num_minutes() - h * 60).abs();
    if left < chrono::Duration::zero() {
        (
            format!("försenat {} h", (now - deadline).num_hours()),
            "overdue",
        )
    } else if h < 24 {
        (format!("{h} h {m} min kvar"), "urgent")
    } else {
        (format!("{h} h kvar"), "ok")
    }
}

pub fn error_page(state: &WebState, status: StatusCode, message: &str) -> Response {
    match state.templates.render(
        "error.html",
        serde_json::json!({ "status": status.as_u16(), "message": message, "user": Value::Null }),
    ) {
        Ok(html) => (status, Html(html)).into_response(),
        Err(r) => r.into_response(),
    }
}

fn forbidden(state: &WebState, api: bool) -> Response {
    if api {
        (
            StatusCode::FORBIDDEN,
            Json(json!({"error": "not your case"})),
        )
            .into_response()
    } else {
        error_page(
            state,
            StatusCode::FORBIDDEN,
            "Du har inte behörighet till detta ärende.",
        )
    }
}

fn not_found(state: &WebState, api: bool) -> Response {
    if api {
        (
            StatusCode::NOT_FOUND,
            Json(json!({"error": "no such case"})),
        )
            .into_response()
    } else {
        error_page(state, StatusCode::NOT_FOUND, "Ärendet finns inte.")
    }
}

pub fn store_error(state: &WebState, e: impl std::fmt::Display) -> Response {
    tracing::error!("web: store: {e:#}");
    error_page(
        state,
        StatusCode::SERVICE_UNAVAILABLE,
        "Databasen svarar inte just nu.",
    )
}

/// One row of the open-cases page and of `/api/v1/cases`.
#[derive(Debug, Clone, Serialize)]
pub struct CaseRow {
    #[serde(rename = "ref")]
    pub case_ref: String,
    pub state: String,
    pub state_sv: String,
    pub aware_at: DateTime<Utc>,
    pub deadline_at: DateTime<Utc>,
    pub seconds_left: i64,
    pub supplier: String,
    pub systems: String,
    pub committee: String,
    pub official: String,
    /// The official's name from the configured routes (the address when no
    /// route names it any more), what the pages show.
    pub official_name: String,
    pub acknowledged: bool,
    /// "N h kvar" / "försenat N h", as on the page.
    pub time_left: String,
    /// `ok`, `urgent` (under 24 h) or `overdue`.
    pub urgency: &'static str,
    /// The deadline in the configured zone, as on the page: the nearest open
    /// deadline of any regime (`next_clock`), else the GDPR one.
    pub deadline: String,
    pub last_event: String,
    /// `last_event` in its two parts: when (configured zone) and what.
    pub last_event_when: String,
    pub last_event_what: String,
    /// The nearest open deadline of any regime (GDPR art. 33 while its clock
    /// runs, each open NIS2 one), the lists' order; None when no clock runs.
    pub next_deadline_at: Option<DateTime<Utc>>,
    /// Which clock that is (`imy-notification`, `early-warning`, …).
    pub next_clock: Option<Clock>,
    /// Its name on the page ("anmälan till IMY", "NIS2: tidig varning").
    pub next_clock_sv: String,
}

/// The nearest open deadline of a case, any regime.
pub type Nearest = (Clock, DateTime<Utc>);

/// Every state a case can be in, as stored, in the order of the workflow.
pub const STATES: [&str; 8] = [
    "received",
    "acknowledged",
    "assessed",
    "decided",
    "reported",
    "supplemented",
    "withdrawn",
    "closed",
];

/// What a row of the lists shows. `next` is the stored next deadline
/// (`cases.next_deadline_at`) with its clock, the case page's own.
#[allow(clippy::too_many_arguments)]
fn row(
    state: &WebState,
    case_ref: &str,
    case_state: &str,
    aware_at: DateTime<Utc>,
    deadline_at: DateTime<Utc>,
    supplier: String,
    systems: &[String],
    committee: &str,
    official: &str,
    last_event: (String, String),
    now: DateTime<Utc>,
    next: Option<Nearest>,
) -> CaseRow {
    let shown = next.map(|(_, at)| at).unwrap_or(deadline_at);
    let (time_left, urgency) = time_left(shown, now);
    CaseRow {
        case_ref: case_ref.to_string(),
        state: case_state.to_string(),
        state_sv: crate::core::text::timeline::state_label(case_state),
        aware_at,
        deadline_at,
        seconds_left: (deadline_at - now).num_seconds(),
        supplier,
        systems: systems.join(", "),
        committee: committee.to_string(),
        official: official.to_string(),
        official_name: official_name(&state.p.cfg, official),
        acknowledged: case_state != "received",
        time_left,
        urgency,
        deadline: local(state, shown),
        last_event: format!("{} {}", last_event.0, last_event.1)
            .trim()
            .to_string(),
        last_event_when: last_event.0,
        last_event_what: last_event.1,
        next_deadline_at: next.map(|(_, at)| at),
        next_clock: next.map(|(c, _)| c),
        next_clock_sv: next
            .map(|(c, _)| crate::core::text::digest::clock_label_sv(c))
            .unwrap_or_default(),
    }
}

/// A row of one list page. The order and the instant are the stored
/// `next_deadline_at`; which clock it is, the core says from the workflow.
fn list_row(state: &WebState, c: &CaseListRow, now: DateTime<Utc>) -> CaseRow {
    let tz = state.p.cfg.tz();
    let next = c.next_deadline_at.map(|at| {
        let clock = c
            .case()
            .deadlines(tz)
            .into_iter()
            .filter(|d| d.pending() == Some(at))
            .map(|d| d.clock)
            .next()
            .unwrap_or(Clock::ImyNotification);
        (clock, at)
    });
    let last = match (&c.last_event, c.last_event_at) {
        (Some(k), Some(at)) => (
            local(state, at),
            crate::core::text::timeline::event_label(k).to_string(),
        ),
        _ => (String::new(), String::new()),
    };
    row(
        state,
        &c.case_ref,
        &c.state,
        c.aware_at,
        c.deadline_at,
        c.reporter_organisation
            .clone()
            .or_else(|| c.reporter_address.clone())
            .unwrap_or_default(),
        &c.systems,
        &c.committee,
        &c.official,
        last,
        now,
        next,
    )
}

#[derive(Debug, Default, Deserialize, Serialize)]
pub struct Filter {
    #[serde(default)]
    pub committee: String,
    #[serde(default)]
    pub state: String,
    #[serde(default)]
    pub official: String,
    /// Paging (from 1).
    #[serde(default)]
    pub page: usize,
    /// API: rows per page (at most [`MAX_PAGE`]).
    #[serde(default)]
    pub per_page: usize,
    /// API: include closed cases too.
    #[serde(default)]
    pub all: bool,
}

/// Rows per page of the open-cases page.
pub const PAGE_ROWS: usize = 50;

/// One page of the cases this person may see (open ones unless `all`), in
/// the lists' order, and how many match: one indexed query
/// (`Store::web_case_page`), the roster scope and the filters inside it.
async fn case_page_of(
    state: &WebState,
    who: &str,
    f: &Filter,
    per_page: usize,
) -> Result<(Vec<CaseListRow>, i64, Scope), Response> {
    let sc = scope(&state.p.cfg, &state.web, who);
    let page = f.page.max(1);
    let q = CaseQuery {
        include_closed: f.all,
        committee: f.committee.trim().to_string(),
        state: f.state.trim().to_string(),
        official: f.official.trim().to_string(),
        roster_of: match sc {
            Scope::All { .. } => String::new(),
            Scope::Roster => who.to_string(),
        },
        limit: i64::try_from(per_page).unwrap_or(i64::MAX),
        offset: i64::try_from((page - 1).saturating_mul(per_page)).unwrap_or(i64::MAX),
    };
    let (rows, total) = state
        .p
        .store
        .web_case_page(&q)
        .await
        .map_err(|e| store_error(state, e))?;
    Ok((rows, total, sc))
}

/// The name the configured routes give an official's (or deputy's) address;
/// the address itself when no route names it (the configuration changed).
fn official_name(cfg: &crate::config::Config, address: &str) -> String {
    std::iter::once(&cfg.routing.default)
        .chain(cfg.routing.rules.iter().map(|r| &r.route))
        .flat_map(|r| [&r.official, &r.deputy])
        .find(|p| p.address.eq_ignore_ascii_case(address.trim()) && !p.name.trim().is_empty())
        .map(|p| p.name.clone())
        .unwrap_or_else(|| address.to_string())
}

/// The committees and officials the filters offer: those of the configured
/// routes this person's cases can have (no query over the cases).
fn filter_choices(state: &WebState, sc: &Scope, who: &str) -> (Vec<String>, Vec<Value>) {
    let cfg = &state.p.cfg;
    let routes =
        std::iter::once(&cfg.routing.default).chain(cfg.routing.rules.iter().map(|r| &r.route));
    let mut committees = Vec::new();
    let mut officials = Vec::new();
    for r in routes.filter(|r| may_see(sc, Some(r), who)) {
        committees.push(r.committee.name.clone());
        officials.push(r.official.address.to_lowercase());
    }
    for v in [&mut committees, &mut officials] {
        v.sort();
        v.dedup();
    }
    // Shown by name, chosen by address (what the cases store).
    let officials = officials
        .into_iter()
        .map(|a| json!({ "name": official_name(cfg, &a), "value": a }))
        .collect();
    (committees, officials)
}

pub async fn open_cases(
    State(state): State<WebState>,
    session: Session,
    Query(mut f): Query<Filter>,
) -> Response {
    let now = Utc::now();
    f.all = false;
    f.page = f.page.max(1);
    let (list, total, sc) = match case_page_of(&state, &session.address, &f, PAGE_ROWS).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let (committees, officials) = filter_choices(&state, &sc, &session.address);
    let states: Vec<Value> = STATES[..STATES.len() - 1]
        .iter()
        .map(|s| json!({"value": s, "label": crate::core::text::timeline::state_label(s)}))
        .collect();
    let rows: Vec<CaseRow> = list.iter().map(|c| list_row(&state, c, now)).collect();
    let filtered = !(f.committee.is_empty() && f.state.is_empty() && f.official.is_empty());
    let total = usize::try_from(total).unwrap_or(0);
    let pages = total.div_ceil(PAGE_ROWS).max(1);
    // The filter kept in the paging links.
    let keep = oauth2::url::form_urlencoded::Serializer::new(String::new())
        .append_pair("committee", &f.committee)
        .append_pair("state", &f.state)
        .append_pair("official", &f.official)
        .finish();
    let first = (f.page - 1) * PAGE_ROWS + 1;
    page_for(
        &state,
        &session,
        "cases.html",
        json!({ "cases": rows, "total": total, "page": f.page, "pages": pages,
            "first": first, "last": first + rows.len().saturating_sub(1),
            "prev": (f.page > 1).then(|| f.page - 1), "next": (f.page < pages).then(|| f.page + 1),
            "keep": keep, "committees": committees, "officials": officials, "states": states,
            "filter": f, "filtered": filtered }),
    )
}

/// What every page's header needs: who is signed in, the CSRF token for
/// the sign-out form, and which links this person may follow.
pub fn nav(state: &WebState, session: &Session) -> serde_json::Map<String, Value> {
    let sc = scope(&state.p.cfg, &state.web, &session.address);
    let mut m = serde_json::Map::new();
    m.insert("user".into(), json!(session.address));
    m.insert("csrf".into(), json!(session.csrf));
    m.insert(
        "quarantine".into(),
        json!(matches!(sc, Scope::All { quarantine: true })),
    );
    m.insert("register".into(), json!(matches!(sc, Scope::All { .. })));
    m.insert(
        "admin".into(),
        json!(super::access::is_admin(&state.web, &session.address)),
    );
    m
}

/// A page with the header's keys ([`nav`]) added to `ctx`.
pub fn page_for(state: &WebState, session: &Session, name: &str, ctx: Value) -> Response {
    let mut m = nav(state, session);
    if let Value::Object(o) = ctx {
        m.extend(o);
    }
    page(state, name, Value::Object(m))
}

pub fn page(state: &WebState, name: &str, ctx: Value) -> Response {
    match state.templates.render(name, ctx) {
        Ok(html) => Html(html).into_response(),
        Err(r) => r.into_response(),
    }
}

/// The case if this person may see it.
pub async fn case_for(
    state: &WebState,
    who: &str,
    case_ref: &str,
    api: bool,
) -> Result<(CaseRecord, Scope), Response> {
    let Some(rec) = state
        .p
        .store
        .case_by_ref(case_ref.trim())
        .await
        .map_err(|e| store_error(state, e))?
    else {
        return Err(not_found(state, api));
    };
    let sc = scope(&state.p.cfg, &state.web, who);
    if !may_see(&sc, rec.route.as_ref(), who) {
        tracing::info!(who = %crate::core::types::addr_hash(who), case = %rec.case_ref, "web: case refused");
        return Err(forbidden(state, api));
    }
    Ok((rec, sc))
}

#[derive(Deserialize)]
pub struct Flash {
    #[serde(default)]
    done: String,
}

pub async fn case_page(
    State(state): State<WebState>,
    session: Session,
    Path(case_ref): Path<String>,
    Query(flash): Query<Flash>,
) -> Response {
    let (rec, _) = match case_for(&state, &session.address, &case_ref, false).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let now = Utc::now();
    let st = &state.p.store;
    let (summary, events, messages, outbox, raws) = match tokio::try_join!(
        st.case_summary(rec.case_ref.as_str()),
        st.case_events(rec.id),
        st.case_messages(rec.id),
        st.case_outbox(rec.id),
        st.web_case_raws(rec.id, super::files::MAX_MESSAGES)
    ) {
        Ok(x) => x,
        Err(e) => return store_error(&state, e),
    };
    let tz = state.p.cfg.tz();
    let case = rec.case();
    let c = row(
        &state,
        &summary.case_ref,
        &summary.state,
        summary.aware_at,
        summary.deadline_at,
        summary
            .reporter_organisation
            .clone()
            .or_else(|| summary.reporter_address.clone())
            .unwrap_or_default(),
        &summary.systems,
        &summary.committee,
        &summary.official,
        (String::new(), String::new()),
        now,
        case.next_deadline(tz),
    );
    // Every clock of the case, GDPR's and NIS2's, in one table.
    let clocks: Vec<Value> = case
        .deadlines(tz)
        .iter()
        .map(|d| {
            let gdpr = d.clock == Clock::ImyNotification;
            let stopped = if gdpr {
                !case.deadline_clock_running() && d.done_at.is_none()
            } else {
                !case.nis2.running() && d.done_at.is_none()
            };
            let state_sv = match (d.done_at, d.due_at) {
                (Some(_), _) if d.late() => "skickad efter fristen".to_string(),
                (Some(_), _) => "skickad i tid".to_string(),
                (None, _) if stopped => "stoppad".to_string(),
                (None, None) => "räknas ännu inte".to_string(),
                (None, Some(due)) => time_left(due, now).0,
            };
            json!({
                "name": crate::core::text::digest::clock_label_sv(d.clock),
                "article": d.clock.article(),
                "due": d.due_at.map(|t| local(&state, t)).unwrap_or_default(),
                "done": d.done_at.map(|t| local(&state, t)).unwrap_or_default(),
                "state": state_sv,
                "urgency": match (d.done_at, d.due_at) {
                    (None, Some(due)) if !stopped => time_left(due, now).1,
                    _ => "ok",
                },
            })
        })
        .collect();
    let imy_ref = rec
        .workflow
        .as_ref()
        .and_then(|w| w.imy_ref.as_ref())
        .map(|r| r.to_string());
    // The evidence stored with the case at opening (since the web view), else
    // the opening message read again by the same reader (`inspect --explain`).
    let mut facts_json = rec.stored.facts.clone();
    if facts_json.get("evidence").is_none() {
        let opening = messages
            .iter()
            .zip(raws.iter())
            .find(|(m, _)| m.disposition == "opened_case");
        if let (Some((m, (_, raw))), Value::Object(o)) = (opening, &mut facts_json) {
            let mut opts = state.p.cfg.read_options();
            opts.delivered_at = m.received_at;
            let read = std::panic::catch_unwind(|| crate::core::notice::read(raw, &opts));
            if let Ok(Ok(n)) = read {
                o.insert("evidence".into(), json!(n.evidence));
                if let Some(file) = n.document_read {
                    o.insert("document_read".into(), json!(file));
                }
            }
        }
    }
    let facts = facts_rows(&facts_json, state.p.cfg.tz());
    // The attached file the facts were also read from ("" when it has no name).
    let facts_file = facts_json
        .get("document_read")
        .and_then(Value::as_str)
        .map(|f| crate::core::bounded::one_line(f, 100));
    let reminders_sent: Vec<String> = events
        .iter()
        .filter(|e| {
            matches!(
                e.kind,
                crate::core::event::EventKind::Reminder
                    | crate::core::event::EventKind::OverdueReminder
                    | crate::core::event::EventKind::Nis2Reminder
                    | crate::core::event::EventKind::Nis2OverdueReminder
            )
        })
        .map(|e| {
            format!(
                "{} ({})",
                local(&state, e.at),
                crate::core::text::timeline::event_label(&e.kind).to_lowercase()
            )
        })
        .collect();
    let documents: Vec<Value> = events
        .iter()
        .filter(|e| e.kind == "documents_generated")
        .flat_map(|e| {
            let at = local(&state, e.at);
            e.data
                .get("documents")
                .and_then(|d| d.as_array())
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(move |d| {
                    json!({
                        "name": d.get("file_name").or_else(|| d.get("name")).cloned().unwrap_or(Value::Null),
                        "sha256": d.get("sha256").cloned().unwrap_or(Value::Null),
                        "at": at.clone(),
                    })
                })
        })
        .collect();
    let ev: Vec<Value> = events
        .iter()
        .map(|e| {
            json!({
                "at": local(&state, e.at), "kind": e.kind,
                "label": crate::core::text::timeline::event_label(&e.kind),
                "actor": e.actor,
                "via": e.data.get("via").and_then(|v| v.get("via")).and_then(|v| v.as_str())
                    .map(crate::core::text::timeline::via_label),
                "hash": e.hash, "prev_hash": e.prev_hash,
            })
        })
        .collect();
    let msgs: Vec<Value> = messages
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let (id, files) = match raws.get(i) {
                Some((id, raw)) => (
                    Some(*id),
                    super::files::attachments(raw)
                        .into_iter()
                        .enumerate()
                        .map(|(n, a)| json!({"n": n, "name": a.name, "size": a.bytes.len()}))
                        .collect::<Vec<_>>(),
                ),
                None => (None, Vec::new()),
            };
            json!({
                "id": id,
                "received": m.received_at.map(|t| local(&state, t)).unwrap_or_default(),
                "from": m.from_address, "subject": m.subject,
                "kind": crate::core::text::timeline::message_label(&m.kind, &m.disposition),
                "attachments": files,
            })
        })
        .collect();
    let out: Vec<Value> = outbox
        .iter()
        .map(|o| {
            json!({
                "purpose": crate::core::text::timeline::mail_purpose_label(&o.purpose),
                "subject": o.subject,
                "status": crate::core::text::timeline::mail_status_label(&o.status),
                "sent": o.sent_at.map(|t| local(&state, t)).unwrap_or_default(),
            })
        })
        .collect();
    let next_reminder = summary.next_reminder_at.map(|t| local(&state, t));
    let cv = json!({
        "ref": c.case_ref, "state_sv": c.state_sv, "urgency": c.urgency, "time_left": c.time_left,
        "deadline": c.deadline, "aware": local(&state, rec.aware_at), "opened": local(&state, rec.opened_at),
        "supplier": c.supplier, "systems": c.systems, "committee": c.committee, "official": c.official,
        "official_name": c.official_name, "imy_ref": imy_ref, "next_clock_sv": c.next_clock_sv,
    });
    page_for(
        &state,
        &session,
        "case.html",
        serde_json::json!({ "c": cv, "facts": facts, "facts_file": facts_file, "reminders_sent": reminders_sent, "next_reminder": next_reminder, "documents": documents, "clocks": clocks, "events": ev, "messages": msgs, "outbox": out, "actions": rec.state != "closed",
            // The NIS2 commands when NIS2 is on, or the case was ever near it.
            "nis2": state.p.cfg.nis2.enabled || !case.nis2.is_unset(), "flash": match flash.done.as_str() {
                "ok" => Some("Utfört."),
                "refused" => Some("Åtgärden avvisades: se tidslinjen och svaret per e-post."),
                _ => None,
            } }),
    )
}

/// The incident facts as (name, value, evidence) rows, in words an official
/// reads: categories and cause as the IMY form names them, times in the
/// configured zone, counts as the drafts give them.
fn facts_rows(facts: &Value, tz: chrono_tz::Tz) -> Vec<Value> {
    use crate::core::documents::words::{category_form_label, cause_form_label, number_sv};
    use crate::core::notice::Cause;
    let mut out = Vec::new();
    // Every quote the field was read from (at most three), as written, each
    // once: systems named in one sentence are each read from it.
    let evidence = |field: &str| -> Vec<String> {
        let mut quotes: Vec<String> = Vec::new();
        let texts = facts
            .get("evidence")
            .and_then(|e| e.as_array())
            .into_iter()
            .flatten()
            .filter(|x| x.get("field").and_then(|f| f.as_str()) == Some(field))
            .filter_map(|x| x.get("text").and_then(|t| t.as_str()));
        for t in texts {
            let q = crate::core::bounded::one_line(t, 400);
            if quotes.len() == 3 {
                break;
            }
            if !quotes.contains(&q) {
                quotes.push(q);
            }
        }
        quotes
    };
    let text = |v: &Value| -> String {
        v.as_str()
            .map(str::to_string)
            .unwrap_or_else(|| v.to_string())
    };
    let show = |k: &str, v: &Value| -> String {
        match (k, v) {
            (_, Value::Null) => String::new(),
            ("discovered_at" | "occurred_from" | "occurred_to", Value::String(t)) => {
                chrono::DateTime::parse_from_rfc3339(t)
                    .map(|t| crate::core::local_time::minute_as_read(t.with_timezone(&Utc), tz))
                    .unwrap_or_else(|_| t.clone())
            }
            ("ongoing", Value::Bool(b)) => if *b { "ja" } else { "nej" }.to_string(),
            ("cause", Value::String(c)) => match c.as_str() {
                "attack" => cause_form_label(Cause::Attack).to_string(),
                "human_error" => cause_form_label(Cause::HumanError).to_string(),
                "technical_fault" => cause_form_label(Cause::TechnicalFault).to_string(),
                other => other.to_string(),
            },
            ("data_categories", Value::Array(a)) => a
                .iter()
                .map(|x| {
                    x.as_str()
                        .map(category_form_label)
                        .unwrap_or_else(|| x.to_string())
                })
                .collect::<Vec<_>>()
                .join("; "),
            ("data_subjects", Value::Object(o)) => {
                match (
                    o.get("min").and_then(Value::as_u64),
                    o.get("max").and_then(Value::as_u64),
                ) {
                    // Grouped as the mails and drafts write them ("2 300").
                    (Some(a), Some(b)) if a == b => format!("cirka {}", number_sv(a)),
                    (Some(a), Some(b)) => format!("{}–{}", number_sv(a), number_sv(b)),
                    (Some(a), None) => format!("minst {}", number_sv(a)),
                    (None, Some(b)) => format!("högst {}", number_sv(b)),
                    (None, None) => String::new(),
                }
            }
            (_, Value::Array(a)) => a.iter().map(text).collect::<Vec<_>>().join(", "),
            (_, other) => text(other),
        }
    };
    let names = [
        ("discovered_at", "Upptäckt"),
        ("occurred_from", "Inträffade från"),
        ("occurred_to", "Inträffade till"),
        ("ongoing", "Pågår"),
        ("systems", "System"),
        ("data_categories", "Uppgiftskategorier"),
        ("data_subjects", "Registrerade"),
        ("cause", "Orsak"),
    ];
    if let Some(i) = facts.get("incident") {
        for (k, label) in names {
            let v = i.get(k).map(|v| show(k, v)).unwrap_or_default();
            if !v.is_empty() {
                out.push(json!({"name": label, "value": v, "evidence": evidence(k)}));
            }
        }
    }
    // How awareness was set and who reported, when the reader said so.
    for (field, label, value) in [
        (
            "aware_at",
            "Kännedom",
            facts.get("aware_at").map(|v| show("discovered_at", v)),
        ),
        (
            "reporter.organisation",
            "Anmälare",
            facts
                .get("reporter")
                .and_then(|r| r.get("organisation"))
                .map(|v| show("", v)),
        ),
    ] {
        let mut ev = evidence(field);
        if field == "aware_at" {
            ev = ev
                .iter()
                .map(|e| crate::core::text::timeline::forward_evidence(e, tz))
                .collect();
        }
        if !ev.is_empty() {
            out.push(json!({"name": label, "value": value.unwrap_or_default(), "evidence": ev}));
        }
    }
    out
}

#[derive(Debug, Default, Deserialize)]
pub struct Period {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
}

fn day(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok()
}

/// The register is for those who see every case (DPO, coordinators, admins).
fn register_allowed(state: &WebState, who: &str) -> Option<Scope> {
    match scope(&state.p.cfg, &state.web, who) {
        s @ Scope::All { .. } => Some(s),
        Scope::Roster => None,
    }
}

pub async fn register_page(
    State(state): State<WebState>,
    session: Session,
    Query(p): Query<Period>,
) -> Response {
    let Some(_) = register_allowed(&state, &session.address) else {
        return error_page(
            &state,
            StatusCode::FORBIDDEN,
            "Registret visas för dataskyddsombudet och samordnare.",
        );
    };
    let entries =
        match crate::register::export(&state.p.store, state.p.cfg.tz(), day(&p.from), day(&p.to))
            .await
        {
            Ok(e) => e,
            Err(e) => return store_error(&state, e),
        };
    let (verify, verify_ok) = match crate::register::verify(&state.p.store, None).await {
        Ok(r) if r.problems().is_empty() => (
            crate::core::text::timeline::register_intact(
                r.cases.len(),
                r.cases.iter().map(|v| v.events).sum(),
                i64::try_from(r.reg_counter).unwrap_or(i64::MAX),
                r.unsealed_rows,
            ),
            true,
        ),
        Ok(r) => (
            crate::core::text::timeline::register_broken(&r.problems()),
            false,
        ),
        Err(e) => (
            crate::core::text::timeline::register_unchecked(&e.to_string()),
            false,
        ),
    };
    let s = |v: &Value, k: &str| -> String {
        match v.get(k) {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Null) | None => String::new(),
            Some(o) => o.to_string(),
        }
    };
    let rows: Vec<Value> = entries
        .iter()
        .map(|e| {
            json!({
                "ref": s(e, "ref"),
                "opened": s(e, "opened_at").chars().take(16).collect::<String>().replace('T', " "),
                "state": crate::core::text::timeline::state_label(&s(e, "state")),
                "committee": s(e, "committee"), "supplier": s(e, "reporter_organisation"),
                "decision": s(e, "decision"), "imy": s(e, "imy_ref"),
            })
        })
        .collect();
    page_for(
        &state,
        &session,
        "register.html",
        serde_json::json!({ "rows": rows, "verify": verify, "verify_ok": verify_ok, "from": p.from, "to": p.to }),
    )
}

pub async fn register_export(
    State(state): State<WebState>,
    session: Session,
    Path(fmt): Path<String>,
    Query(p): Query<Period>,
) -> Response {
    if register_allowed(&state, &session.address).is_none() {
        return error_page(
            &state,
            StatusCode::FORBIDDEN,
            "Registret visas för dataskyddsombudet och samordnare.",
        );
    }
    let entries =
        match crate::register::export(&state.p.store, state.p.cfg.tz(), day(&p.from), day(&p.to))
            .await
        {
            Ok(e) => e,
            Err(e) => return store_error(&state, e),
        };
    match fmt.as_str() {
        "csv" => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"register.csv\"",
                ),
            ],
            crate::register::to_csv(&entries),
        )
            .into_response(),
        "json" => (
            [(
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"register.json\"",
            )],
            Json(Value::Array(entries)),
        )
            .into_response(),
        _ => error_page(&state, StatusCode::NOT_FOUND, "Okänt format."),
    }
}

pub async fn quarantine_page(State(state): State<WebState>, session: Session) -> Response {
    if scope(&state.p.cfg, &state.web, &session.address) != (Scope::All { quarantine: true }) {
        return error_page(
            &state,
            StatusCode::FORBIDDEN,
            "Karantänen visas bara för dataskyddsombudet.",
        );
    }
    let rows = match state.p.store.web_quarantine().await {
        Ok(r) => r,
        Err(e) => return store_error(&state, e),
    };
    let rows: Vec<Value> = rows
        .iter()
        .map(|(id, m)| {
            json!({
                "id": id, "received": m.received_at.map(|t| local(&state, t)).unwrap_or_default(),
                "from": m.from_address, "subject": m.subject, "error": m.error,
            })
        })
        .collect();
    page_for(
        &state,
        &session,
        "quarantine.html",
        serde_json::json!({ "rows": rows }),
    )
}

pub async fn quarantine_raw(
    State(state): State<WebState>,
    session: Session,
    Path(id): Path<i64>,
) -> Response {
    if scope(&state.p.cfg, &state.web, &session.address) != (Scope::All { quarantine: true }) {
        return error_page(
            &state,
            StatusCode::FORBIDDEN,
            "Karantänen visas bara för dataskyddsombudet.",
        );
    }
    match state.p.store.web_quarantined_raw(id).await {
        Ok(Some(raw)) => (
            [
                // Never rendered by the browser: a download of the bytes as received.
                (header::CONTENT_TYPE, "application/octet-stream".to_string()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"quarantine-{id}.eml\""),
                ),
            ],
            raw,
        )
            .into_response(),
        Ok(None) => error_page(
            &state,
            StatusCode::NOT_FOUND,
            "Inget sådant meddelande i karantänen.",
        ),
        Err(e) => store_error(&state, e),
    }
}

pub async fn css() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("templates/app.css"),
    )
        .into_response()
}

pub async fn api_cases(
    State(state): State<WebState>,
    session: Session,
    Query(mut f): Query<Filter>,
) -> Response {
    let now = Utc::now();
    let per_page = if f.per_page == 0 {
        50
    } else {
        f.per_page.min(MAX_PAGE)
    };
    f.page = f.page.max(1);
    let (list, total, _) = match case_page_of(&state, &session.address, &f, per_page).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let total = usize::try_from(total).unwrap_or(0);
    let items: Vec<CaseRow> = list.iter().map(|c| list_row(&state, c, now)).collect();
    let page = f.page;
    Json(json!({
        "schema": "breachwatch.api.cases/1",
        "page": page, "per_page": per_page, "total": total,
        "next_page": (page * per_page < total).then_some(page + 1),
        "cases": items,
    }))
    .into_response()
}

pub async fn api_case(
    State(state): State<WebState>,
    session: Session,
    Path(case_ref): Path<String>,
) -> Response {
    let (rec, _) = match case_for(&state, &session.address, &case_ref, true).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let st = &state.p.store;
    let (summary, messages) = match tokio::try_join!(
        st.case_summary(rec.case_ref.as_str()),
        st.case_messages(rec.id)
    ) {
        Ok(x) => x,
        Err(e) => return store_error(&state, e),
    };
    Json(json!({
        "schema": "breachwatch.api.case/1",
        "case": summary,
        "facts": rec.stored.facts,
        "route": rec.stored.route,
        "workflow": rec.stored.workflow,
        "timeline_head": rec.timeline_head,
        "messages": messages,
    }))
    .into_response()
}

pub async fn api_timeline(
    State(state): State<WebState>,
    session: Session,
    Path(case_ref): Path<String>,
) -> Response {
    let (rec, _) = match case_for(&state, &session.address, &case_ref, true).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    match state.p.store.case_events(rec.id).await {
        Ok(ev) => Json(json!({
            "schema": "breachwatch.api.timeline/1",
            "ref": rec.case_ref.as_str(),
            "events": ev,
        }))
        .into_response(),
        Err(e) => store_error(&state, e),
    }
}

pub async fn api_register(
    State(state): State<WebState>,
    session: Session,
    Query(p): Query<Period>,
) -> Response {
    if register_allowed(&state, &session.address).is_none() {
        return (
            StatusCode::FORBIDDEN,
            Json(json!({"error": "the register is for the DPO and coordinators"})),
        )
            .into_response();
    }
    match crate::register::export(&state.p.store, state.p.cfg.tz(), day(&p.from), day(&p.to)).await
    {
        Ok(e) => {
            Json(json!({"schema": "breachwatch.api.register/1", "entries": e})).into_response()
        }
        Err(e) => store_error(&state, e),
    }
}

/// Ready: the store answers, the outbox is not stuck, and (on the replica
/// that holds the mailbox lease) the watcher has a working IMAP session.
pub async fn readyz(State(state): State<WebState>) -> Response {
    use std::sync::atomic::Ordering;
    let mut problems = Vec::new();
    let h = &crate::app::HEALTH;
    if h.leader.load(Ordering::Relaxed) && !h.mailbox_connected.load(Ordering::Relaxed) {
        problems.push("mailbox: this replica holds the lease but has no IMAP session".to_string());
    }
    if !h.store_ok.load(Ordering::Relaxed) {
        problems.push("store: the outbox's last store access failed".to_string());
    }
    match state.p.store.outbox_waiting().await {
        Ok((_, Some(oldest))) => {
            let age = (Utc::now() - oldest).num_seconds();
            if age > state.web.outbox_stuck_secs {
                problems.push(format!("outbox: oldest waiting mail is {age} s old"));
            }
        }
        Ok(_) => {}
        Err(e) => problems.push(format!("store: {e}")),
    }
    if problems.is_empty() {
        (StatusCode::OK, "ready\n").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, problems.join("\n") + "\n").into_response()
    }
}

#[cfg(test)]
mod facts_tests {
    use super::*;

    #[test]
    fn facts_read_as_words_and_local_times() {
        let facts = json!({"incident": {
            "discovered_at": "2021-06-17T12:07:00Z",
            "ongoing": false,
            "data_categories": ["health", "personal_identity_number"],
            "data_subjects": {"min": 640, "max": 640},
            "cause": "attack",
            "systems": ["LabPortalen"],
        }});
        let rows = facts_rows(&facts, chrono_tz::Europe::Stockholm);
        let value = |name: &str| {
            rows.iter()
                .find(|r| r["name"] == name)
                .map(|r| r["value"].as_str().unwrap_or_default().to_string())
                .unwrap_or_default()
        };
        assert_eq!(value("Upptäckt"), "2021-06-17 14:07");
        assert_eq!(value("Pågår"), "nej");
        assert_eq!(value("Uppgiftskategorier"), "Hälsa; Personnummer");
        assert_eq!(value("Registrerade"), "cirka 640");
        assert_eq!(value("Orsak"), "Antagonistiskt angrepp");
        assert_eq!(value("System"), "LabPortalen");
        // A discovery date without a time (local midnight) shows as the date.
        let facts = json!({"incident": {"discovered_at": "2021-06-16T22:00:00Z"}});
        let rows = facts_rows(&facts, chrono_tz::Europe::Stockholm);
        assert_eq!(rows[0]["value"], "2021-06-17");
        // Counts grouped as the mails write them.
        for (subjects, want) in [
            (json!({"min": 2300, "max": 2300}), "cirka 2 300"),
            (json!({"min": 1, "max": 12000}), "1–12 000"),
            (json!({"min": 1500}), "minst 1 500"),
        ] {
            let facts = json!({"incident": {"data_subjects": subjects}});
            let rows = facts_rows(&facts, chrono_tz::Europe::Stockholm);
            assert_eq!(rows[0]["value"], want);
        }
    }

    #[test]
    fn a_sentence_several_facts_were_read_from_is_quoted_once() {
        let said = "Intrånget gällde tjänsterna LabPortalen och eRemiss.";
        let facts = json!({
            "incident": {"systems": ["LabPortalen", "eRemiss"]},
            "evidence": [
                {"field": "systems", "text": said},
                {"field": "systems", "text": said},
            ],
        });
        let rows = facts_rows(&facts, chrono_tz::Europe::Stockholm);
        let row = rows
            .iter()
            .find(|r| r["name"] == "System")
            .expect("a System row");
        assert_eq!(row["evidence"], json!([said]));
    }
}
