//! The web view and JSON API inside the daemon (`[web]`): server-rendered
//! pages (open cases, case, register, quarantine, report an incident), the case actions that mirror
//! the reply commands, `/api/v1/`, and `/healthz`, `/readyz`, `/metrics`.
//!
//! It owns HTTP: sessions (a private cookie: signed and encrypted with the
//! configured key), CSRF (a token in the session checked on every POST, plus
//! the `Sec-Fetch-Site`/`Origin` check), security headers, and who sees what
//! (`access`: the roster decides). It must not decide anything about a case
//! itself: actions go through the core state machine (`actions`), data comes
//! from the store as the CLI reads it.

pub mod access;
pub mod actions;
pub mod admin;
pub mod config;
pub mod files;
pub mod metrics;
pub mod oidc;
pub mod report;
pub mod session;
pub mod templates;
pub mod views;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{FromRef, Request};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use axum_extra::extract::cookie::Key;
use tokio_util::sync::CancellationToken;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::set_header::SetResponseHeaderLayer;

pub use config::WebConfig;

use crate::workers::ingest::Pipeline;

/// Everything a handler needs. Cheap to clone.
#[derive(Clone)]
pub struct WebState {
    pub p: Pipeline,
    pub web: Arc<WebConfig>,
    pub key: Key,
    pub templates: Arc<templates::Pages>,
    pub metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
}

impl FromRef<WebState> for Key {
    fn from_ref(s: &WebState) -> Key {
        s.key.clone()
    }
}

/// A form or API body is small; anything bigger is refused before it is read.
const MAX_BODY_BYTES: usize = 64 * 1024;

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; \
                   frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'";

impl WebState {
    pub fn new(p: Pipeline, web: WebConfig) -> anyhow::Result<WebState> {
        let bytes = web
            .key_bytes()
            .map_err(|e| anyhow::anyhow!("web.cookie_key {e}"))?;
        let key =
            Key::try_from(bytes.as_slice()).map_err(|e| anyhow::anyhow!("web.cookie_key: {e}"))?;
        Ok(WebState {
            p,
            web: Arc::new(web),
            key,
            templates: Arc::new(templates::Pages::new()?),
            metrics: None,
        })
    }
}

/// The whole application: pages, API, health, with the security headers and
/// the cross-site POST check on everything.
pub fn router(state: WebState) -> Router {
    // The one upload (an .eml for `rules test`) has its own, larger limit.
    let upload = Router::new()
        .route(
            "/admin/rules",
            get(admin::rules_form).post(admin::rules_test),
        )
        .layer(axum::extract::DefaultBodyLimit::max(admin::MAX_EML_BYTES))
        .layer(RequestBodyLimitLayer::new(admin::MAX_EML_BYTES));
    Router::new()
        .route("/", get(views::open_cases))
        .route("/login", get(session::login_form).post(session::login))
        .route("/logout", post(session::logout))
        .route("/login/oidc", get(oidc::start))
        .route("/oidc/callback", get(oidc::callback))
        .route("/cases/{case_ref}", get(views::case_page))
        .route("/cases/{case_ref}/action", post(actions::action))
        .route(
            "/cases/{case_ref}/messages/{id}/attachments/{n}",
            get(files::attachment),
        )
        .route("/cases/{case_ref}/documents/{sha256}", get(files::document))
        .route(
            "/report",
            get(report::report_form).post(report::report_submit),
        )
        .route("/register", get(views::register_page))
        .route("/register/export/{fmt}", get(views::register_export))
        .route("/quarantine", get(views::quarantine_page))
        .route("/quarantine/{id}/raw", get(views::quarantine_raw))
        .route("/static/app.css", get(views::css))
        .route("/api/v1/cases", get(views::api_cases))
        .route("/api/v1/cases/{case_ref}", get(views::api_case))
        .route(
            "/api/v1/cases/{case_ref}/timeline",
            get(views::api_timeline),
        )
        .route("/api/v1/register", get(views::api_register))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(views::readyz))
        .route("/metrics", get(metrics::render))
        .route("/admin/config", get(admin::config_page))
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .merge(upload)
        .layer(middleware::from_fn(same_origin_posts))
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        .with_state(state)
}

/// A state-changing request must come from our own pages: the browser says so
/// in `Sec-Fetch-Site`, or (older browsers) `Origin` names our host. This is in
/// addition to the CSRF token each form carries.
async fn same_origin_posts(req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    let h = req.headers();
    let ok = match h.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        Some(site) => site == "same-origin" || site == "none",
        None => match h.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
            // No Origin and no Sec-Fetch-Site: not a browser; the token decides.
            None => true,
            Some(origin) => {
                let host = h.get(header::HOST).and_then(|v| v.to_str().ok());
                let origin_host = origin
                    .split_once("://")
                    .map(|(_, rest)| rest)
                    .unwrap_or(origin);
                host.is_some_and(|h| h.eq_ignore_ascii_case(origin_host))
            }
        },
    };
    if ok {
        next.run(req).await
    } else {
        (StatusCode::FORBIDDEN, "cross-site request refused\n").into_response()
    }
}

/// Binds `web.listen`; a failure stops the daemon's start (before READY).
pub async fn bind(state: &WebState) -> anyhow::Result<tokio::net::TcpListener> {
    let addr = state
        .web
        .addr()
        .ok_or_else(|| anyhow::anyhow!("web.listen is not an address"))?;
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("web.listen {addr}: {e}"))
}

/// Serves on a bound listener (tests bind port 0) until `shutdown`.
pub async fn serve_on(
    listener: tokio::net::TcpListener,
    state: WebState,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    tracing::info!(addr = %listener.local_addr()?, "web view listening");
    if let Some(h) = state.metrics.clone() {
        let stop = shutdown.clone();
        tokio::spawn(async move {
            // Without the exporter's own listener nobody runs its upkeep.
            loop {
                tokio::select! {
                    _ = stop.cancelled() => break,
                    _ = tokio::time::sleep(Duration::from_secs(5)) => h.run_upkeep(),
                }
            }
        });
    }
    axum::serve(listener, router(state))
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await?;
    Ok(())
}
