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
}

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
        }
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
