//! The admin pages (`[[web.accounts]]` with `admin = true`; 403 for everyone
//! else): the effective configuration with every secret redacted, and
//! `rules test`: an uploaded message's route and the case it would join, the
//! same answer as `breachwatch rules test FILE` (`workers::ingest::route_of`
//! and `Pipeline::placement`, nothing recorded).

use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::Utc;
use serde_json::{json, Value};

use super::access::is_admin;
use super::session::Session;
use super::views::{error_page, page_for};
use super::WebState;

/// The largest message the `rules test` page reads (the upload route's own
/// body limit; every other route keeps the small one).
pub const MAX_EML_BYTES: usize = 25 * 1024 * 1024;

fn refused(state: &WebState) -> Response {
    error_page(
        state,
        StatusCode::FORBIDDEN,
        "Sidan visas bara för administratörer.",
    )
}

/// The configuration as it is in effect (defaults, file, secret files and
/// environment applied), secrets redacted: every [`crate::config::Secret`]
/// prints as `Secret(***)`, and [`redact`] takes out what is secret inside
/// plain strings (a password in a database URL, password hashes).
pub fn effective_config(cfg: &crate::config::Config) -> String {
    redact(&format!("{cfg:#?}"))
}

/// Secrets that live inside plain strings: the password of a URL
/// (`scheme://user:password@host`) and argon2 password hashes.
pub fn redact(text: &str) -> String {
    static URL_PASSWORD: once_cell::sync::Lazy<regex::Regex> = once_cell::sync::Lazy::new(|| {
        regex::Regex::new(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^/:@\s]*:)[^@\s/]*@")
            .expect("regex")
    });
    static HASH: once_cell::sync::Lazy<regex::Regex> =
        once_cell::sync::Lazy::new(|| regex::Regex::new(r"\$argon2[^\x22\s]*").expect("regex"));
    let t = URL_PASSWORD.replace_all(text, "${head}***@");
    HASH.replace_all(&t, "***").into_owned()
}

pub async fn config_page(State(state): State<WebState>, session: Session) -> Response {
    if !is_admin(&state.web, &session.address) {
        return refused(&state);
    }
    page_for(
        &state,
        &session,
        "config.html",
        json!({ "config": effective_config(&state.p.cfg) }),
    )
}

pub async fn rules_form(State(state): State<WebState>, session: Session) -> Response {
    if !is_admin(&state.web, &session.address) {
        return refused(&state);
    }
    page_for(&state, &session, "rules.html", json!({}))
}

/// The uploaded message's route and placement. The form's CSRF token comes
/// first in the multipart body; without it nothing is read further.
pub async fn rules_test(
    State(state): State<WebState>,
    session: Session,
    mut form: Multipart,
) -> Response {
    if !is_admin(&state.web, &session.address) {
        return refused(&state);
    }
    let mut csrf = String::new();
    let mut file: Option<(String, Vec<u8>)> = None;
    loop {
        let field = match form.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(_) => {
                return error_page(
                    &state,
                    StatusCode::BAD_REQUEST,
                    "Filen kunde inte läsas (högst 25 MB).",
                )
            }
        };
        match field.name() {
            Some("csrf") => csrf = field.text().await.unwrap_or_default(),
            Some("eml") if session.csrf_ok(&csrf) => {
                let name = field.file_name().unwrap_or("").to_string();
                match field.bytes().await {
                    Ok(b) => file = Some((name, b.to_vec())),
                    Err(_) => {
                        return error_page(
                            &state,
                            StatusCode::BAD_REQUEST,
                            "Filen kunde inte läsas (högst 25 MB).",
                        )
                    }
                }
            }
            _ => {}
        }
    }
    if !session.csrf_ok(&csrf) {
        return error_page(
            &state,
            StatusCode::FORBIDDEN,
            "Formulärets token saknas eller är fel.",
        );
    }
    let Some((name, raw)) = file.filter(|(_, raw)| !raw.is_empty()) else {
        return error_page(&state, StatusCode::BAD_REQUEST, "Välj en .eml-fil.");
    };
    let p = &state.p;
    let decision = match crate::workers::ingest::route_of(&p.cfg, &raw) {
        Ok(d) => d,
        Err(e) => {
            return page_for(
                &state,
                &session,
                "rules.html",
                json!({ "file": name, "unreadable": e.to_string() }),
            )
        }
    };
    let placement = match p.placement(&raw, Utc::now()).await {
        Ok(pl) => pl.to_string(),
        Err(e) => format!("(kan inte avgöras: {e:#})"),
    };
    let r = &decision.route;
    let contact = |c: &crate::core::routing::Contact| json!({"name": c.name, "address": c.address});
    let result: Value = json!({
        "rule": decision.rule,
        "reasons": decision.reasons,
        "committee": r.committee.name,
        "diarie_prefix": r.committee.diarie_prefix,
        "delegation_point": r.committee.delegation_point,
        "official": contact(&r.official),
        "deputy": contact(&r.deputy),
        "dpo": contact(&r.dpo),
        "coordinator": r.coordinator.as_ref().map(contact),
        "placement": placement,
    });
    tracing::info!(who = %crate::core::types::addr_hash(&session.address), "web: rules test");
    page_for(
        &state,
        &session,
        "rules.html",
        json!({ "file": name, "result": result }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_inside_strings_are_redacted() {
        let t = redact(
            "database_url: \"postgres://bw:hunter2@db.example:5432/bw\",\n\
             password_hash: \"$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA\",\n\
             url: \"sqlite://var/breachwatch.db\"",
        );
        assert!(!t.contains("hunter2"), "{t}");
        assert!(t.contains("postgres://bw:***@db.example:5432/bw"), "{t}");
        assert!(!t.contains("argon2"), "{t}");
        assert!(t.contains("sqlite://var/breachwatch.db"), "{t}");
    }

    /// The demo configuration's secrets are nowhere in the page's text.
    #[test]
    fn the_effective_configuration_shows_no_secret() {
        let text = include_str!("../../config/local.toml");
        let cfg = crate::config::Config::from_toml_for(
            text,
            |k| {
                (k == "BREACHWATCH_DATABASE_URL")
                    .then(|| "postgres://bw:s3cr3t-db-pass@127.0.0.1/bw".to_string())
            },
            crate::config::Use::Offline,
        )
        .expect("config/local.toml reads");
        let shown = effective_config(&cfg);
        let web = cfg.web.as_ref().expect("[web]");
        assert!(!shown.contains(web.cookie_key.expose()), "cookie key shown");
        assert!(!shown.contains("s3cr3t-db-pass"), "database password shown");
        let imap = format!("{:?}", cfg.imap.password.expose());
        assert!(!shown.contains(&imap), "the IMAP password {imap} shown");
        assert!(!shown.contains("$argon2"), "a password hash shown");
        assert!(shown.contains("Secret(***)"), "{shown}");
        assert!(shown.contains("dpo@example.test"), "the rest is there");
    }
}
