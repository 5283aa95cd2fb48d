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
    /// The server took the mail; its reply (`250 2.0.0 Ok: queued as …`).
    Sent(String),
    /// Try again later (connection refused, 4xx, timeout).
    Retry(String),
    /// The server refused for good (a 5xx other than an authentication
    /// problem, or an address no server can take): retrying would not help.
    Permanent(String),
}

#[derive(Clone)]
pub struct SmtpSender {
    transport: AsyncSmtpTransport<Tokio1Executor>,
}

impl SmtpSender {
    pub fn new(cfg: &Smtp) -> anyhow::Result<Self> {
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
        if let Some(user) = &cfg.username {
            b = b.credentials(Credentials::new(
                user.clone(),
                cfg.password.expose().to_string(),
            ));
        }
        Ok(SmtpSender {
            transport: b.build(),
        })
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
        match self.transport.send_raw(&env, raw).await {
            Ok(r) => SendOutcome::Sent(format!(
                "{} {}",
                r.code(),
                crate::core::bounded::one_line(&r.message().collect::<Vec<_>>().join(" "), 200)
            )),
            Err(e) if final_refusal(&e) => SendOutcome::Permanent(format!("{e:#}")),
            Err(e) => SendOutcome::Retry(format!("{e:#}")),
        }
    }
}

/// Only a 5xx ends a mail, and not one about our own login (530-539: a
/// configuration or token problem the admin can fix; the mail waits for it).
fn final_refusal(e: &lettre::transport::smtp::Error) -> bool {
    e.is_permanent()
        && !e
            .status()
            .map(|c| c.to_string().starts_with("53"))
            .unwrap_or(false)
}
