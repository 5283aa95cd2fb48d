//! The `[web]` section: where the server listens, the key of its session
//! cookies, and the local accounts (argon2 hashes). Checked once at load, so a
//! short key or a malformed hash is a `check-config` error, never a panic.

use std::net::SocketAddr;

use serde::Deserialize;

use crate::config::Secret;

/// The cookie key must give `axum_extra::extract::cookie::Key::try_from` at
/// least 64 bytes (it panics below that in `Key::from`).
pub const MIN_KEY_BYTES: usize = 64;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebConfig {
    /// Address and port, e.g. `127.0.0.1:8080`. A loopback address serves the
    /// session cookie without `Secure` (plain HTTP demo); anything else sets it.
    pub listen: String,
    /// At least 64 random bytes, hex-encoded (128 hex digits): signs and
    /// encrypts the session cookies. `openssl rand -hex 64`.
    pub cookie_key: Secret,
    /// Hours a sign-in lasts.
    #[serde(default = "default_session_hours")]
    pub session_hours: i64,
    /// Local accounts. Who sees which case is the roster's decision (see
    /// `web::access`), not the account's.
    #[serde(default)]
    pub accounts: Vec<Account>,
    /// Seconds without a finished outbox send of a due mail after which
    /// `/readyz` reports the outbox as stuck.
    #[serde(default = "default_outbox_stuck_secs")]
    pub outbox_stuck_secs: i64,
    /// When set, `/metrics` answers only a request with
    /// `Authorization: Bearer <token>` (Prometheus `authorization` /
    /// `bearer_token_file`); without it `/metrics` is open like `/healthz`.
    /// At least 16 characters; `BREACHWATCH_WEB_METRICS_TOKEN` overrides.
    #[serde(default)]
    pub metrics_token: Option<Secret>,
    /// OpenID Connect sign-in (Microsoft Entra ID, Google, or any provider
    /// with discovery), besides or instead of local accounts.
    #[serde(default)]
    pub oidc: Option<OidcConfig>,
}

/// `[web.oidc]`: the provider, this application's registration with it, and
/// where the provider sends the browser back.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OidcConfig {
    /// `microsoft` (Entra ID: `tenant` required), `google`, or `custom`
    /// (`issuer_url` required). Default: `custom`.
    #[serde(default)]
    pub provider: Option<String>,
    /// Entra ID: the directory (tenant) id or a verified domain; not
    /// `common`/`organizations`/`consumers` (their tokens name each tenant as
    /// issuer, so no one issuer could be checked).
    #[serde(default)]
    pub tenant: Option<String>,
    /// The issuer; its `/.well-known/openid-configuration` is read. Set by the
    /// presets; https, or http on a loopback address (the test provider).
    #[serde(default)]
    pub issuer_url: Option<String>,
    pub client_id: String,
    /// `BREACHWATCH_WEB_OIDC_CLIENT_SECRET` overrides. Without one, a public
    /// client (PKCE only).
    #[serde(default)]
    pub client_secret: Option<Secret>,
    /// This server's callback as the provider has it registered:
    /// `https://<host>/oidc/callback`.
    pub redirect_url: String,
    /// The sign-in button's words. Default by provider.
    #[serde(default)]
    pub label: Option<String>,
    /// Accept an `email` claim without `email_verified: true`. Default: only
    /// for `microsoft`, whose single-tenant issuer vouches for its own
    /// directory's addresses (Entra ID sends no `email_verified`).
    #[serde(default)]
    pub trust_unverified_email: Option<bool>,
}

const ENTRA_MULTI: [&str; 3] = ["common", "organizations", "consumers"];

impl OidcConfig {
    fn preset(&self) -> &str {
        self.provider.as_deref().unwrap_or("custom")
    }

    /// The issuer URL the ID tokens must name.
    pub fn issuer(&self) -> String {
        match (self.preset(), &self.issuer_url) {
            (_, Some(u)) => u.trim().trim_end_matches('/').to_string(),
            ("microsoft", None) => format!(
                "https://login.microsoftonline.com/{}/v2.0",
                self.tenant.as_deref().unwrap_or("").trim()
            ),
            ("google", None) => "https://accounts.google.com".into(),
            _ => String::new(),
        }
    }

    pub fn label(&self) -> String {
        self.label.clone().unwrap_or_else(|| {
            match self.preset() {
                "microsoft" => "Logga in med Microsoft",
                "google" => "Logga in med Google",
                _ => "Logga in med organisationens konto",
            }
            .into()
        })
    }

    pub fn trusts_unverified_email(&self) -> bool {
        self.trust_unverified_email
            .unwrap_or(self.preset() == "microsoft")
    }

    /// Every problem as (key below `web.oidc.`, message).
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut p = |k: &str, m: String| out.push((k.to_string(), m));
        match self.preset() {
            "microsoft" => match self.tenant.as_deref().map(str::trim) {
                None | Some("") if self.issuer_url.is_none() => p(
                    "tenant",
                    "the Entra ID tenant (directory id or domain) is required".into(),
                ),
                Some(t) if ENTRA_MULTI.contains(&t.to_ascii_lowercase().as_str()) => p(
                    "tenant",
                    format!("\"{t}\" names no single issuer; give the tenant's directory id"),
                ),
                Some(t)
                    if !t
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.') =>
                {
                    p("tenant", "a directory id or domain name".into())
                }
                _ => {}
            },
            "google" | "custom" => {}
            other => p(
                "provider",
                format!("unknown preset \"{other}\" (microsoft, google or custom)"),
            ),
        }
        let issuer = self.issuer();
        if issuer.is_empty() {
            p("issuer_url", "required for a custom provider".into());
        } else if !url_ok(&issuer) {
            p(
                "issuer_url",
                "must be an https URL (http only on a loopback address)".into(),
            );
        }
        if self.client_id.trim().is_empty() {
            p("client_id", "required".into());
        }
        if !url_ok(&self.redirect_url) || !self.redirect_url.ends_with("/oidc/callback") {
            p(
                "redirect_url",
                "must be this server's https URL ending in /oidc/callback".into(),
            );
        }
        out
    }
}

/// https, or http to a loopback host.
fn url_ok(u: &str) -> bool {
    let Some((scheme, rest)) = u.split_once("://") else {
        return false;
    };
    let host = rest.split(['/', ':']).next().unwrap_or("");
    match scheme {
        "https" => !host.is_empty(),
        "http" => host == "127.0.0.1" || host == "localhost" || rest.starts_with("[::1]"),
        _ => false,
    }
}

/// The shortest metrics token accepted.
pub const MIN_METRICS_TOKEN: usize = 16;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Account {
    /// The person's mail address, as in the roster.
    pub address: String,
    /// An argon2 PHC string (`breachwatch web-password` prints one).
    pub password_hash: String,
    /// Admins see every case (as the DPO does).
    #[serde(default)]
    pub admin: bool,
}

fn default_session_hours() -> i64 {
    10
}

fn default_outbox_stuck_secs() -> i64 {
    900
}

impl WebConfig {
    /// Every problem as (key below `web.`, message).
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        match self.listen.parse::<SocketAddr>() {
            Ok(_) => {}
            Err(e) => out.push(("listen".into(), format!("not an address:port ({e})"))),
        }
        if let Err(e) = self.key_bytes() {
            out.push(("cookie_key".into(), e));
        }
        if !(1..=24 * 30).contains(&self.session_hours) {
            out.push(("session_hours".into(), "must be 1 to 720 hours".into()));
        }
        if self.outbox_stuck_secs < 60 {
            out.push(("outbox_stuck_secs".into(), "must be at least 60".into()));
        }
        if let Some(t) = &self.metrics_token {
            let t = t.expose().trim();
            if t.len() < MIN_METRICS_TOKEN || t.chars().any(|c| c.is_whitespace() || c.is_control())
            {
                out.push((
                    "metrics_token".into(),
                    format!("must be at least {MIN_METRICS_TOKEN} characters without spaces"),
                ));
            }
        }
        if let Some(o) = &self.oidc {
            out.extend(
                o.problems()
                    .into_iter()
                    .map(|(k, m)| (format!("oidc.{k}"), m)),
            );
        }
        for (i, a) in self.accounts.iter().enumerate() {
            if crate::core::types::PlainAddress::parse(&a.address).is_err() {
                out.push((
                    format!("accounts[{i}].address"),
                    "not a plain mail address".into(),
                ));
            }
            if let Err(e) = argon2::PasswordHash::new(&a.password_hash) {
                out.push((
                    format!("accounts[{i}].password_hash"),
                    format!("not an argon2 PHC string ({e})"),
                ));
            }
        }
        out
    }

    /// The key bytes, or why they cannot be used.
    pub fn key_bytes(&self) -> Result<Vec<u8>, String> {
        let bytes = hex::decode(self.cookie_key.expose().trim())
            .map_err(|_| "must be hex digits (openssl rand -hex 64)".to_string())?;
        if bytes.len() < MIN_KEY_BYTES {
            return Err(format!(
                "is {} bytes; at least {MIN_KEY_BYTES} are needed (128 hex digits)",
                bytes.len()
            ));
        }
        Ok(bytes)
    }

    /// May this `Authorization` header value read `/metrics`? Always, when no
    /// token is configured; otherwise only `Bearer <token>` (compared in
    /// constant time).
    pub fn metrics_allowed(&self, authorization: Option<&str>) -> bool {
        let Some(want) = &self.metrics_token else {
            return true;
        };
        let Some(given) = authorization
            .map(str::trim)
            .and_then(|a| a.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, t)| t.trim())
        else {
            return false;
        };
        let (a, b) = (want.expose().trim().as_bytes(), given.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }

    pub fn addr(&self) -> Option<SocketAddr> {
        self.listen.parse().ok()
    }

    /// Loopback: the session cookie goes without `Secure` (plain HTTP).
    pub fn is_loopback(&self) -> bool {
        self.addr().is_some_and(|a| a.ip().is_loopback())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn web(key: &str, hash: &str) -> WebConfig {
        WebConfig {
            listen: "127.0.0.1:8080".into(),
            cookie_key: Secret::new(key),
            session_hours: 10,
            accounts: vec![Account {
                address: "dpo@example.test".into(),
                password_hash: hash.into(),
                admin: false,
            }],
            outbox_stuck_secs: 900,
            metrics_token: None,
            oidc: None,
        }
    }

    fn oidc(toml_text: &str) -> OidcConfig {
        toml::from_str(toml_text).expect("oidc toml")
    }

    #[test]
    fn oidc_presets_give_the_issuer_and_refuse_what_cannot_be_checked() {
        let ms = oidc(
            "provider = \"microsoft\"\ntenant = \"0b3c2a4e-1111-2222-3333-444455556666\"\nclient_id = \"c\"\nredirect_url = \"https://bw.kommun.se/oidc/callback\"",
        );
        assert!(ms.problems().is_empty(), "{:?}", ms.problems());
        assert_eq!(
            ms.issuer(),
            "https://login.microsoftonline.com/0b3c2a4e-1111-2222-3333-444455556666/v2.0"
        );
        assert!(ms.trusts_unverified_email());
        let g = oidc("provider = \"google\"\nclient_id = \"c\"\nredirect_url = \"https://bw.kommun.se/oidc/callback\"");
        assert_eq!(g.issuer(), "https://accounts.google.com");
        assert!(!g.trusts_unverified_email());
        assert!(g.problems().is_empty());
        let common = oidc("provider = \"microsoft\"\ntenant = \"common\"\nclient_id = \"c\"\nredirect_url = \"https://x/oidc/callback\"");
        assert_eq!(common.problems()[0].0, "tenant");
        let bad = oidc("issuer_url = \"http://idp.example.com\"\nclient_id = \"\"\nredirect_url = \"http://bw.example.com/cb\"");
        let keys: Vec<String> = bad.problems().into_iter().map(|p| p.0).collect();
        assert_eq!(keys, ["issuer_url", "client_id", "redirect_url"]);
        let local = oidc("issuer_url = \"http://127.0.0.1:3180/\"\nclient_id = \"c\"\nredirect_url = \"http://127.0.0.1:8080/oidc/callback\"");
        assert!(local.problems().is_empty(), "{:?}", local.problems());
        assert_eq!(local.issuer(), "http://127.0.0.1:3180");
    }

    #[test]
    fn the_metrics_token_is_checked_when_set() {
        let hash = crate::web::session::hash_password("x").unwrap();
        let mut w = web(&"ab".repeat(64), &hash);
        assert!(w.metrics_allowed(None), "no token configured: open");
        w.metrics_token = Some(Secret::new("s3cret-token-for-prometheus"));
        assert!(w.problems().is_empty());
        assert!(w.metrics_allowed(Some("Bearer s3cret-token-for-prometheus")));
        assert!(w.metrics_allowed(Some("bearer  s3cret-token-for-prometheus ")));
        assert!(!w.metrics_allowed(None));
        assert!(!w.metrics_allowed(Some("Bearer s3cret-token-for-prometheuS")));
        assert!(!w.metrics_allowed(Some("Basic s3cret-token-for-prometheus")));
        assert!(!w.metrics_allowed(Some("s3cret-token-for-prometheus")));
        w.metrics_token = Some(Secret::new("short"));
        assert_eq!(w.problems()[0].0, "metrics_token");
    }

    #[test]
    fn a_short_or_malformed_key_or_hash_is_a_config_problem_not_a_panic() {
        let good_hash = crate::web::session::hash_password("x").unwrap();
        assert!(web(&"ab".repeat(64), &good_hash).problems().is_empty());
        let p = web(&"ab".repeat(63), &good_hash).problems();
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(p[0].0, "cookie_key");
        assert!(p[0].1.contains("63 bytes"), "{p:?}");
        let p = web("not hex", &good_hash).problems();
        assert_eq!(p[0].0, "cookie_key");
        let p = web(&"ab".repeat(64), "plaintext").problems();
        assert_eq!(p[0].0, "accounts[0].password_hash", "{p:?}");
    }
}
