//! Sign-in and sessions. A session is a private cookie (encrypted and signed
//! with `web.cookie_key`): the signed-in address, its expiry and the CSRF token
//! of its forms. Local accounts have argon2 hashes in the config; the password
//! is checked on a blocking thread (argon2 is slow on purpose).

use argon2::{Argon2, PasswordHash, PasswordVerifier};
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use axum_extra::extract::cookie::{Cookie, PrivateCookieJar, SameSite};
use chrono::Utc;
use serde::Deserialize;

use super::WebState;
use crate::core::types::{addr_hash, PlainAddress};

pub const SESSION_COOKIE: &str = "bw_session";
const LOGIN_COOKIE: &str = "bw_login";

/// A signed-in person.
#[derive(Debug, Clone)]
pub struct Session {
    /// Normalised (lower case) address.
    pub address: String,
    pub csrf: String,
}

fn token() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

fn cookie(state: &WebState, name: &'static str, value: String) -> Cookie<'static> {
    let mut c = Cookie::new(name, value);
    c.set_http_only(true);
    c.set_secure(!state.web.is_loopback());
    c.set_same_site(SameSite::Strict);
    c.set_path("/");
    c
}

impl FromRequestParts<WebState> for Session {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &WebState) -> Result<Self, Response> {
        let jar = PrivateCookieJar::<axum_extra::extract::cookie::Key>::from_headers(
            &parts.headers,
            state.key.clone(),
        );
        let found = jar.get(SESSION_COOKIE).and_then(|c| {
            let mut it = c.value().splitn(3, '|');
            let address = it.next()?.to_string();
            let exp: i64 = it.next()?.parse().ok()?;
            let csrf = it.next()?.to_string();
            (exp > Utc::now().timestamp()).then_some(Session { address, csrf })
        });
        match found {
            Some(s) => Ok(s),
            None if parts.uri.path().starts_with("/api/") => Err((
                StatusCode::UNAUTHORIZED,
                axum::Json(serde_json::json!({"error": "sign in first"})),
            )
                .into_response()),
            None => Err(Redirect::to("/login").into_response()),
        }
    }
}

impl Session {
    /// The form's token equals the session's (compared in constant time).
    pub fn csrf_ok(&self, given: &str) -> bool {
        let (a, b) = (self.csrf.as_bytes(), given.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

/// The argon2id PHC string of a password (default parameters, random salt).
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>())
        .map_err(|e| anyhow::anyhow!("salt: {e}"))?;
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| anyhow::anyhow!("hash: {e}"))?
        .to_string())
}

pub async fn login_form(
    State(state): State<WebState>,
    jar: PrivateCookieJar,
) -> Result<(PrivateCookieJar, Html<String>), super::templates::RenderFailed> {
    let t = token();
    let html = state.templates.render(
        "login.html",
        serde_json::json!({ "csrf": &t, "error": false, "oidc": state.web.oidc.as_ref().map(|o| o.label()) }),
    )?;
    Ok((jar.add(cookie(&state, LOGIN_COOKIE, t)), Html(html)))
}

#[derive(Deserialize)]
pub struct LoginForm {
    address: String,
    password: String,
    #[serde(default)]
    csrf: String,
}

pub async fn login(
    State(state): State<WebState>,
    jar: PrivateCookieJar,
    Form(f): Form<LoginForm>,
) -> Response {
    let pre_ok = jar.get(LOGIN_COOKIE).is_some_and(|c| {
        let s = Session {
            address: String::new(),
            csrf: c.value().to_string(),
        };
        s.csrf_ok(&f.csrf)
    });
    if !pre_ok {
        return (StatusCode::FORBIDDEN, "missing or wrong form token\n").into_response();
    }
    let address = PlainAddress::parse(&f.address)
        .map(|a| a.as_str().to_string())
        .unwrap_or_default();
    let hash = state
        .web
        .accounts
        .iter()
        .find(|a| !address.is_empty() && a.address.trim().eq_ignore_ascii_case(&address))
        .map(|a| a.password_hash.clone());
    let password = f.password;
    let ok = match hash {
        Some(h) => tokio::task::spawn_blocking(move || {
            PasswordHash::new(&h)
                .map(|ph| {
                    Argon2::default()
                        .verify_password(password.as_bytes(), &ph)
                        .is_ok()
                })
                .unwrap_or(false)
        })
        .await
        .unwrap_or(false),
        None => false,
    };
    if !ok {
        tracing::info!(who = %addr_hash(&address), "web sign-in refused");
        let t = token();
        return match state.templates.render(
            "login.html",
            serde_json::json!({ "csrf": &t, "error": true, "oidc": state.web.oidc.as_ref().map(|o| o.label()) }),
        ) {
            Ok(html) => (
                StatusCode::UNAUTHORIZED,
                jar.add(cookie(&state, LOGIN_COOKIE, t)),
                Html(html),
            )
                .into_response(),
            Err(r) => r.into_response(),
        };
    }
    tracing::info!(who = %addr_hash(&address), "web sign-in");
    let jar = start_session(
        &state,
        jar.remove(Cookie::build(LOGIN_COOKIE).path("/")),
        &address,
    );
    (jar, Redirect::to("/")).into_response()
}

/// The session cookie of a signed-in address (local account or OpenID
/// Connect), with a fresh CSRF token.
pub fn start_session(state: &WebState, jar: PrivateCookieJar, address: &str) -> PrivateCookieJar {
    let exp = Utc::now().timestamp() + state.web.session_hours * 3600;
    let value = format!("{address}|{exp}|{}", token());
    jar.add(cookie(state, SESSION_COOKIE, value))
}

#[derive(Deserialize)]
pub struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

pub async fn logout(session: Session, jar: PrivateCookieJar, Form(f): Form<CsrfOnly>) -> Response {
    if !session.csrf_ok(&f.csrf) {
        return (StatusCode::FORBIDDEN, "missing or wrong form token\n").into_response();
    }
    (
        jar.remove(Cookie::build(SESSION_COOKIE).path("/")),
        Redirect::to("/login"),
    )
        .into_response()
}
