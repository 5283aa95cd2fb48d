//! OpenID Connect sign-in (`[web.oidc]`; Microsoft Entra ID, Google, or any
//! provider with discovery): the authorization code flow with PKCE, a nonce
//! and a state, the ID token checked by the `openidconnect` crate (issuer,
//! audience, RS256 signature against the provider's JWKS, expiry, nonce).
//! The verified e-mail claim becomes the session's address; the roster
//! decides what it sees (`access`), as for a local account.
//!
//! The state, nonce and PKCE verifier wait in a private cookie (`bw_oidc`,
//! SameSite=Lax so that it comes back on the provider's redirect, ten minutes).
//! The provider's metadata and keys are fetched at each sign-in: a rotated
//! key is never stale, and a provider that is down stops only its sign-ins.

use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, PrivateCookieJar, SameSite};
use chrono::Utc;
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, Scope, TokenResponse,
};
use serde::Deserialize;

use super::config::OidcConfig;
use super::views::error_page;
use super::WebState;
use crate::core::types::{addr_hash, PlainAddress};

const FLOW_COOKIE: &str = "bw_oidc";
/// Minutes a started sign-in may take at the provider.
const FLOW_MINUTES: i64 = 10;

fn http() -> Result<openidconnect::reqwest::Client, String> {
    openidconnect::reqwest::ClientBuilder::new()
        // OpenID Connect forbids following redirects on these requests (SSRF).
        .redirect(openidconnect::reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| format!("http client: {e}"))
}

type Client = openidconnect::core::CoreClient<
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
>;

/// The provider's client from its discovery document.
async fn client(o: &OidcConfig, http: &openidconnect::reqwest::Client) -> Result<Client, String> {
    let issuer = IssuerUrl::new(o.issuer()).map_err(|e| format!("issuer: {e}"))?;
    let meta = CoreProviderMetadata::discover_async(issuer, http)
        .await
        .map_err(|e| format!("discovery: {e}"))?;
    let redirect =
        RedirectUrl::new(o.redirect_url.clone()).map_err(|e| format!("redirect_url: {e}"))?;
    Ok(CoreClient::from_provider_metadata(
        meta,
        ClientId::new(o.client_id.clone()),
        o.client_secret
            .as_ref()
            .map(|s| ClientSecret::new(s.expose().to_string())),
    )
    .set_redirect_uri(redirect))
}

fn unavailable(state: &WebState, why: &str) -> Response {
    tracing::warn!("web OpenID sign-in: {why}");
    error_page(
        state,
        StatusCode::BAD_GATEWAY,
        "Inloggningstjänsten svarar inte just nu. Försök igen om en stund.",
    )
}

fn refused(state: &WebState, why: &str) -> Response {
    tracing::warn!("web OpenID sign-in refused: {why}");
    error_page(
        state,
        StatusCode::FORBIDDEN,
        "Inloggningen kunde inte bekräftas. Börja om från inloggningssidan.",
    )
}

/// `GET /login/oidc`: to the provider, with a fresh state, nonce and PKCE challenge.
pub async fn start(State(state): State<WebState>, jar: PrivateCookieJar) -> Response {
    let Some(o) = state.web.oidc.as_ref() else {
        return error_page(
            &state,
            StatusCode::NOT_FOUND,
            "Ingen inloggningstjänst är inställd.",
        );
    };
    let http = match http() {
        Ok(h) => h,
        Err(e) => return unavailable(&state, &e),
    };
    let client = match client(o, &http).await {
        Ok(c) => c,
        Err(e) => return unavailable(&state, &e),
    };
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut req = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .set_pkce_challenge(challenge);
    for s in ["email", "profile"] {
        req = req.add_scope(Scope::new(s.into()));
    }
    let (url, csrf, nonce) = req.url();
    let exp = Utc::now().timestamp() + FLOW_MINUTES * 60;
    let value = format!(
        "{}|{}|{}|{exp}",
        csrf.secret(),
        nonce.secret(),
        verifier.secret()
    );
    let mut c = Cookie::new(FLOW_COOKIE, value);
    c.set_http_only(true);
    c.set_secure(!state.web.is_loopback());
    // Lax: the provider's redirect back is a cross-site top-level GET.
    c.set_same_site(SameSite::Lax);
    c.set_path("/oidc");
    (jar.add(c), Redirect::to(url.as_str())).into_response()
}

#[derive(Deserialize)]
pub struct Callback {
    #[serde(default)]
    code: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    error: String,
}

/// The ID token's verified address, or why there is none.
async fn verified_address(
    o: &OidcConfig,
    code: String,
    nonce: String,
    verifier: String,
) -> Result<String, (bool, String)> {
    let http = http().map_err(|e| (false, e))?;
    let client = client(o, &http).await.map_err(|e| (false, e))?;
    let token = client
        .exchange_code(AuthorizationCode::new(code))
        .map_err(|e| (false, format!("token endpoint: {e}")))?
        .set_pkce_verifier(PkceCodeVerifier::new(verifier))
        .request_async(&http)
        .await
        .map_err(|e| (true, format!("code exchange: {e}")))?;
    let id_token = token
        .id_token()
        .ok_or_else(|| (true, "no ID token in the token response".to_string()))?;
    let verifier = client.id_token_verifier();
    let claims = id_token
        .claims(&verifier, &Nonce::new(nonce))
        .map_err(|e| (true, format!("ID token: {e}")))?;
    let email = claims
        .email()
        .map(|e| e.as_str().to_string())
        .ok_or_else(|| (true, "the ID token has no email claim".to_string()))?;
    if claims.email_verified() != Some(true) && !o.trusts_unverified_email() {
        return Err((true, "the email claim is not verified".into()));
    }
    PlainAddress::parse(&email)
        .map(|a| a.as_str().to_string())
        .map_err(|_| (true, "the email claim is not a plain address".into()))
}

/// `GET /oidc/callback`: the provider's answer. The session starts only when
/// the state matches the cookie's and the ID token checks out.
pub async fn callback(
    State(state): State<WebState>,
    jar: PrivateCookieJar,
    Query(q): Query<Callback>,
) -> Response {
    let Some(o) = state.web.oidc.clone() else {
        return error_page(
            &state,
            StatusCode::NOT_FOUND,
            "Ingen inloggningstjänst är inställd.",
        );
    };
    let flow = jar.get(FLOW_COOKIE).map(|c| c.value().to_string());
    let jar = jar.remove(Cookie::build(FLOW_COOKIE).path("/oidc"));
    let Some(flow) = flow else {
        return refused(&state, "no sign-in was started in this browser").into_response();
    };
    let mut it = flow.splitn(4, '|');
    let (Some(want_state), Some(nonce), Some(verifier), Some(exp)) =
        (it.next(), it.next(), it.next(), it.next())
    else {
        return refused(&state, "malformed flow cookie");
    };
    if exp.parse::<i64>().unwrap_or(0) < Utc::now().timestamp() {
        return refused(&state, "the sign-in took too long");
    }
    if !q.error.is_empty() {
        return refused(
            &state,
            &format!(
                "the provider said {}",
                q.error.chars().take(64).collect::<String>()
            ),
        );
    }
    let same_state = {
        let (a, b) = (want_state.as_bytes(), q.state.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    };
    if !same_state || q.code.is_empty() {
        return refused(&state, "state does not match");
    }
    let address = match verified_address(&o, q.code, nonce.to_string(), verifier.to_string()).await
    {
        Ok(a) => a,
        Err((true, why)) => return (jar, refused(&state, &why)).into_response(),
        Err((false, why)) => return (jar, unavailable(&state, &why)).into_response(),
    };
    tracing::info!(who = %addr_hash(&address), "web sign-in (OpenID Connect)");
    let jar = super::session::start_session(&state, jar, &address);
    // A page of our own, not a redirect: its navigation to "/" is same-site,
    // so the SameSite=Strict session cookie goes with it.
    (
        jar,
        Html(
            "<!doctype html><html lang=\"sv\"><head><meta charset=\"utf-8\">\
             <meta http-equiv=\"refresh\" content=\"0;url=/\"><title>Inloggad</title></head>\
             <body><p><a href=\"/\" id=\"continue\">Fortsätt till öppna ärenden</a></p></body></html>",
        ),
    )
        .into_response()
}
