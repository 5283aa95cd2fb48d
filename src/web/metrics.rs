//! `/metrics` in the Prometheus text format (metrics + its Prometheus
//! exporter, no listener of its own). Case and outbox figures are read from the
//! store at each scrape (gauges), so every replica reports the same; counters
//! and histograms (IMAP reconnects, reminder lateness) are counted where they
//! happen with the `metrics` macros.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use super::WebState;

/// Installs the process-wide recorder once; None if one is installed already
/// (another server in the same process, e.g. tests).
pub fn install() -> Option<PrometheusHandle> {
    static HANDLE: std::sync::OnceLock<Option<PrometheusHandle>> = std::sync::OnceLock::new();
    HANDLE
        .get_or_init(|| match PrometheusBuilder::new().install_recorder() {
            Ok(h) => {
                metrics::describe_counter!(
                    "breachwatch_imap_reconnects_total",
                    "IMAP connections re-established after a failure"
                );
                metrics::describe_histogram!(
                    "breachwatch_reminder_lateness_seconds",
                    "how late a deadline reminder was queued after its due time"
                );
                Some(h)
            }
            Err(e) => {
                tracing::warn!("metrics recorder not installed: {e}");
                None
            }
        })
        .clone()
}

pub async fn render(State(state): State<WebState>, headers: axum::http::HeaderMap) -> Response {
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if !state.web.metrics_allowed(auth) {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer realm=\"metrics\"")],
            "a bearer token is required\n",
        )
            .into_response();
    }
    let now = Utc::now();
    let st = &state.p.store;
    let (cases, outbox, dispositions) = match tokio::try_join!(
        st.open_cases(),
        st.outbox_waiting(),
        st.messages_by_disposition()
    ) {
        Ok(x) => x,
        Err(e) => {
            tracing::error!("metrics: {e:#}");
            return (StatusCode::SERVICE_UNAVAILABLE, "store unavailable\n").into_response();
        }
    };
    // Reported or decided-not-to-notify cases have no deadline left to meet.
    let running: Vec<_> = cases
        .iter()
        .filter(|c| {
            matches!(
                c.state.as_str(),
                "received" | "acknowledged" | "assessed" | "decided"
            )
        })
        .collect();
    let next = running.iter().map(|c| c.deadline_at).min();
    let overdue = running.iter().filter(|c| c.deadline_at < now).count();
    metrics::gauge!("breachwatch_open_cases").set(cases.len() as f64);
    metrics::gauge!("breachwatch_overdue_cases").set(overdue as f64);
    match next {
        Some(d) => metrics::gauge!("breachwatch_seconds_to_next_deadline")
            .set((d - now).num_seconds() as f64),
        None => metrics::gauge!("breachwatch_seconds_to_next_deadline").set(f64::NAN),
    }
    metrics::gauge!("breachwatch_outbox_depth").set(outbox.0 as f64);
    metrics::gauge!("breachwatch_outbox_oldest_age_seconds").set(
        outbox
            .1
            .map(|t| (now - t).num_seconds().max(0) as f64)
            .unwrap_or(0.0),
    );
    for (d, n) in dispositions {
        metrics::gauge!("breachwatch_messages", "disposition" => d).set(n as f64);
    }
    let body = state
        .metrics
        .as_ref()
        .map(|h| h.render())
        .unwrap_or_default();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
}
