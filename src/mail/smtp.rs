//! SMTP: hands one formatted outbox mail to the relay through lettre (rustls),
//! and says whether a failure is worth retrying.

use std::time::Duration;

use lettre::address::Envelope;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use crate::config::{Smtp, SmtpTls};

/// What happened to one send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendOutcome {
    Sent,
    /// Try again later (connection refused, 4xx, timeout).
    Retry(String),
    /// The server refused for good (5xx): retrying would not help.
    Permanent(String),
}

#[derive(Clone)]
pub struct SmtpSender {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    /// With `smtp.auth = "oauth2"`: the transport is rebuilt for each new token.
    oauth: Option<std::sync::Arc<OAuthSmtp>>,
}

/// XOAUTH2 state: the token source and the transport built with its current token.
struct OAuthSmtp {
    cfg: Smtp,
    source: std::sync::Arc<crate::mail::oauth::TokenSource>,
    current:
        tokio::sync::Mutex<Option<(crate::config::Secret, AsyncSmtpTransport<Tokio1Executor>)>>,
}

impl SmtpSender {
    pub fn new(cfg: &Smtp) -> anyhow::Result<Self> {
        let oauth = match (cfg.auth, &cfg.oauth2) {
            (crate::config::MailAuth::Oauth2, Some(o)) => Some(std::sync::Arc::new(OAuthSmtp {
                cfg: cfg.clone(),
                source: crate::mail::oauth::TokenSource::shared("smtp.oauth2", o)?,
                current: tokio::sync::Mutex::new(None),
            })),
            _ => None,
        };
        Ok(SmtpSender {
            transport: build_transport(cfg, None)?,
            oauth,
        })
    }
}

/// The transport with the password, or with XOAUTH2 and `token`.
fn build_transport(
    cfg: &Smtp,
    token: Option<&crate::config::Secret>,
) -> anyhow::Result<AsyncSmtpTransport<Tokio1Executor>> {
    {
        let tls_params = || -> anyhow::Result<TlsParameters> {
            let mut b = TlsParameters::builder(cfg.host.clone());
            if let Some(ca) = &cfg.ca_file {
                let pem = std::fs::read(ca)?;
                b = b.add_root_certificate(Certificate::from_pem(&pem)?);
            }
            Ok(b.build_rustls()?)
        };
        let mut b = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(cfg.host.clone())
            .port(cfg.port)
            .timeout(Some(Duration::from_secs(cfg.timeout_secs)));
        b = match cfg.tls {
            SmtpTls::None => b.tls(Tls::None),
            SmtpTls::Starttls => b.tls(Tls::Required(tls_params()?)),
            SmtpTls::Implicit => b.tls(Tls::Wrapper(tls_params()?)),
        };
        match (token, &cfg.username) {
            (Some(token), Some(user)) => {
                b = b
                    .credentials(Credentials::new(user.clone(), token.expose().to_string()))
                    .authentication(vec![
                        lettre::transport::smtp::authentication::Mechanism::Xoauth2,
                    ]);
            }
            (None, Some(user)) => {
                b = b.credentials(Credentials::new(
                    user.clone(),
                    cfg.password.expose().to_string(),
                ));
            }
            _ => {}
        }
        Ok(b.build())
    }
}

impl SmtpSender {
    /// Hands the mail to the relay. With XOAUTH2, a refusal that may be the
    /// token's (lettre reports a rejected XOAUTH2 token as a client error:
    /// the server's JSON challenge) drops the token and tries once more with
    /// a fresh one.
    async fn send_authenticated(&self, env: &Envelope, raw: &[u8]) -> SendOutcome {
        let Some(o) = &self.oauth else {
            return outcome(self.transport.send_raw(env, raw).await);
        };
        let mut last = SendOutcome::Retry("SMTP XOAUTH2 failed".into());
        for attempt in 0..2 {
            let (token, transport) = match o.transport().await {
                Ok(x) => x,
                // No token (endpoint down, client revoked): the mail waits for
                // the ordinary retry, the error names smtp.oauth2.
                Err(e) => return SendOutcome::Retry(format!("{e:#}")),
            };
            match transport.send_raw(env, raw).await {
                Err(e) if e.is_client() || e.status().is_some_and(|c| c.to_string() == "535") => {
                    o.source.invalidate(&token).await;
                    *o.current.lock().await = None;
                    if attempt == 0 {
                        tracing::info!(
                            "SMTP XOAUTH2 refused; fetching a new token from smtp.oauth2"
                        );
                    }
                    last = SendOutcome::Retry(format!(
                        "SMTP XOAUTH2 login refused with a fresh token from smtp.oauth2 (check that the app may send as this mailbox): {e:#}"
                    ));
                }
                r => return outcome(r),
            }
        }
        last
    }

    pub async fn send(&self, from: &str, to: &[String], raw: &[u8]) -> SendOutcome {
        let from = match from.parse() {
            Ok(a) => Some(a),
            Err(e) => return SendOutcome::Permanent(format!("bad envelope sender: {e}")),
        };
        let mut rcpt = Vec::new();
        for a in to {
            match a.parse() {
                Ok(a) => rcpt.push(a),
                Err(e) => {
                    return SendOutcome::Permanent(format!(
                        "bad recipient addr:{}: {e}",
                        crate::core::types::addr_hash(a)
                    ))
                }
            }
        }
        let env = match Envelope::new(from, rcpt) {
            Ok(e) => e,
            Err(e) => return SendOutcome::Permanent(format!("bad envelope: {e}")),
        };
        self.send_authenticated(&env, raw).await
    }
}

fn outcome<T>(r: Result<T, lettre::transport::smtp::Error>) -> SendOutcome {
    match r {
        Ok(_) => SendOutcome::Sent,
        Err(e) if e.is_permanent() => SendOutcome::Permanent(format!("{e:#}")),
        Err(e) => SendOutcome::Retry(format!("{e:#}")),
    }
}

impl OAuthSmtp {
    /// The transport for the current token (rebuilt when the token changed).
    async fn transport(
        &self,
    ) -> anyhow::Result<(crate::config::Secret, AsyncSmtpTransport<Tokio1Executor>)> {
        let token = self.source.token().await?;
        let mut cur = self.current.lock().await;
        if let Some((t, tr)) = cur.as_ref() {
            if *t == token {
                return Ok((token, tr.clone()));
            }
        }
        let tr = build_transport(&self.cfg, Some(&token))?;
        *cur = Some((token.clone(), tr.clone()));
        Ok((token, tr))
    }
}
