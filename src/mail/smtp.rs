//! SMTP: hands one formatted outbox mail to the relay through lettre (rustls),
//! and says whether a failure is worth retrying.
//!
//! The outbox's sender tasks each keep one connection ([`SmtpSession`]) and
//! send their mails back to back on it. That connection is opened here with
//! `TCP_NODELAY`: without it the final "." of a message waits in our socket
//! for the server's delayed ACK (about 40 ms on Linux), and a crash in that
//! wait still delivers the mail (the kernel sends what was written) while the
//! row stays unmarked, so the mail is sent twice. With it the time from "."
//! to the 250 is the server's own commit (under a millisecond on loopback).
//! Implicit TLS (port 465) is the same TCP connection with the TLS handshake
//! made here (tokio-rustls, the roots lettre would use) before lettre reads
//! the greeting, so it has the option too.

use std::sync::Arc;
use std::time::Duration;

use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{
    AsyncSmtpConnection, AsyncTokioStream, Certificate, TlsParameters,
};
use lettre::transport::smtp::extension::ClientId;
use lettre::transport::smtp::response::Response;
use lettre::transport::smtp::Error as SmtpError;

use crate::config::{SaslMechanism, Secret, Smtp, SmtpTls};
use crate::mail::oauth::Mechanism as BearerMechanism;

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
    host: String,
    port: u16,
    timeout: Duration,
    tls: SmtpTls,
    /// STARTTLS: lettre upgrades the connection with these.
    tls_params: Option<TlsParameters>,
    /// Implicit TLS: the handshake made here on our own TCP connection.
    implicit_tls: Option<tokio_rustls::TlsConnector>,
    credentials: Option<Credentials>,
    username: Option<String>,
    /// With `smtp.auth = "oauth2"`: the token source; the login is
    /// OAUTHBEARER or XOAUTH2 with its current token.
    oauth: Option<std::sync::Arc<crate::mail::oauth::TokenSource>>,
    /// `smtp.oauth2.sasl_mechanism`.
    sasl_mechanism: SaslMechanism,
}

/// One sender task's own SMTP connection, reused for mail after mail.
#[derive(Default)]
pub struct SmtpSession {
    conn: Option<AsyncSmtpConnection>,
    last_used: Option<std::time::Instant>,
}

impl SmtpSession {
    /// Whether a connection is open (it may still turn out stale).
    pub fn is_open(&self) -> bool {
        self.conn.is_some()
    }
}

impl Drop for SmtpSession {
    fn drop(&mut self) {
        // Closed by dropping the socket; a QUIT would need the runtime.
        self.conn = None;
    }
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
        let credentials = cfg
            .username
            .as_ref()
            .map(|user| Credentials::new(user.clone(), cfg.password.expose().to_string()));
        let tls_params = match cfg.tls {
            SmtpTls::Starttls => Some(tls_params()?),
            SmtpTls::None | SmtpTls::Implicit => None,
        };
        let implicit_tls = match cfg.tls {
            SmtpTls::Implicit => Some(implicit_tls_connector(cfg.ca_file.as_deref())?),
            SmtpTls::None | SmtpTls::Starttls => None,
        };
        let oauth = match (cfg.auth, &cfg.oauth2) {
            (crate::config::MailAuth::Oauth2, Some(o)) => {
                Some(crate::mail::oauth::TokenSource::shared("smtp.oauth2", o)?)
            }
            _ => None,
        };
        Ok(SmtpSender {
            host: cfg.host.clone(),
            port: cfg.port,
            timeout: Duration::from_secs(cfg.timeout_secs),
            tls: cfg.tls,
            tls_params,
            implicit_tls,
            credentials,
            username: cfg.username.clone(),
            oauth,
            sasl_mechanism: cfg
                .oauth2
                .as_ref()
                .map(|o| o.sasl_mechanism)
                .unwrap_or_default(),
        })
    }

    /// A connection, logged in. With OAuth2 a refused login (lettre reports
    /// a rejected token as a client error, the server's JSON challenge, or a
    /// 535) drops the token and tries once more with a fresh one; the error
    /// names `smtp.oauth2`, never the token.
    async fn connect(&self) -> Result<AsyncSmtpConnection, SendOutcome> {
        let Some(source) = &self.oauth else {
            return self.connect_with(self.credentials.as_ref()).await;
        };
        let Some(user) = self.username.clone() else {
            return self.connect_with(None).await;
        };
        let mut last = SendOutcome::Retry("SMTP OAuth2 login failed".into());
        for attempt in 0..2 {
            // No token (endpoint down, client revoked): the mail waits for the
            // ordinary retry; the error names smtp.oauth2.
            let token = source
                .token()
                .await
                .map_err(|e| SendOutcome::Retry(format!("{e:#}")))?;
            match self.connect_bearer(&user, &token).await {
                Err((m, SendOutcome::Retry(e) | SendOutcome::Permanent(e)))
                    if self.login_refused(&e) =>
                {
                    source.invalidate(&token).await;
                    if attempt == 0 {
                        tracing::info!(
                            "SMTP {} refused; fetching a new token from smtp.oauth2",
                            m.name()
                        );
                    }
                    last = SendOutcome::Retry(format!(
                        "SMTP {} login refused with a fresh token from smtp.oauth2 (check that the app may send as this mailbox): {e}",
                        m.name()
                    ));
                }
                r => return r.map_err(|(_, o)| o),
            }
        }
        Err(last)
    }

    /// A new connection logged in with `token` by the mechanism
    /// `smtp.oauth2.sasl_mechanism` asks for (with `auto`, OAUTHBEARER when
    /// the server's EHLO lists it). lettre knows XOAUTH2 only, so OAUTHBEARER
    /// is spoken here: `AUTH OAUTHBEARER <initial response>`, and a 334 error
    /// challenge answered with `%x01` (RFC 7628 3.2.3).
    async fn connect_bearer(
        &self,
        user: &str,
        token: &Secret,
    ) -> Result<AsyncSmtpConnection, (BearerMechanism, SendOutcome)> {
        let want = self.sasl_mechanism;
        let mut conn = self
            .open()
            .await
            .map_err(|o| (BearerMechanism::choose(want, false), o))?;
        let offered = match want {
            SaslMechanism::Auto => match conn
                .command(format!("EHLO {}\r\n", ClientId::default()))
                .await
            {
                Ok(r) => r.message().any(|l| {
                    let mut w = l.split_whitespace();
                    w.next().is_some_and(|k| k.eq_ignore_ascii_case("AUTH"))
                        && w.any(|m| m.eq_ignore_ascii_case("OAUTHBEARER"))
                }),
                Err(e) => return Err((BearerMechanism::XOAuth2, classify(e))),
            },
            _ => false,
        };
        let m = BearerMechanism::choose(want, offered);
        let refused = |e: SmtpError| {
            let login =
                e.is_client() || e.status().is_some_and(|c| c.to_string().starts_with("53"));
            if login {
                SendOutcome::Retry(format!("{LOGIN_REFUSED}: {e:#}"))
            } else {
                classify(e)
            }
        };
        match m {
            BearerMechanism::XOAuth2 => {
                let creds = Credentials::new(user.to_string(), token.expose().to_string());
                conn.auth(&[Mechanism::Xoauth2], &creds)
                    .await
                    .map_err(|e| (m, refused(e)))?;
            }
            BearerMechanism::OAuthBearer => {
                use base64::Engine as _;
                let ir = base64::engine::general_purpose::STANDARD
                    .encode(m.initial_response(user, &self.host, self.port, token));
                match conn.command(format!("AUTH OAUTHBEARER {ir}\r\n")).await {
                    Ok(r) if r.has_code(235) => {}
                    Ok(r) => {
                        // 334 with the server's JSON error: answer %x01, and
                        // the server ends the exchange with a 535.
                        let end = if r.has_code(334) {
                            conn.command("AQ==\r\n").await.err()
                        } else {
                            None
                        };
                        let detail = end
                            .map(|e| format!("{e:#}"))
                            .unwrap_or_else(|| reply_line(&r));
                        return Err((m, SendOutcome::Retry(format!("{LOGIN_REFUSED}: {detail}"))));
                    }
                    Err(e) => return Err((m, refused(e))),
                }
            }
        }
        tracing::debug!(mechanism = m.name(), "SMTP logged in with an OAuth2 token");
        Ok(conn)
    }

    /// Whether a connect error is our login being refused.
    fn login_refused(&self, e: &str) -> bool {
        e.starts_with(LOGIN_REFUSED)
    }

    /// A new connection: TCP with `TCP_NODELAY` (see the module doc), the
    /// TLS handshake for implicit TLS, the greeting and EHLO, STARTTLS when
    /// configured, then the login.
    async fn connect_with(
        &self,
        credentials: Option<&Credentials>,
    ) -> Result<AsyncSmtpConnection, SendOutcome> {
        let mut conn = self.open().await?;
        if let Some(c) = credentials {
            if let Err(e) = conn.auth(&[Mechanism::Plain, Mechanism::Login], c).await {
                let refused =
                    e.is_client() || e.status().is_some_and(|c| c.to_string().starts_with("53"));
                return Err(if refused {
                    SendOutcome::Retry(format!("{LOGIN_REFUSED}: {e:#}"))
                } else {
                    classify(e)
                });
            }
        }
        Ok(conn)
    }

    /// TCP (with `TCP_NODELAY`), the TLS handshake for implicit TLS, the
    /// greeting and EHLO, STARTTLS when configured: a connection not yet
    /// logged in.
    async fn open(&self) -> Result<AsyncSmtpConnection, SendOutcome> {
        let hello = ClientId::default();
        let transport = self.transport().await?;
        let mut conn = tokio::time::timeout(
            self.timeout,
            AsyncSmtpConnection::connect_with_transport(transport, &hello),
        )
        .await
        .map_err(|_| SendOutcome::Retry("greeting timed out".into()))?
        .map_err(classify)?;
        if let (SmtpTls::Starttls, Some(p)) = (self.tls, &self.tls_params) {
            conn.starttls(p.clone(), &hello).await.map_err(classify)?;
        }
        Ok(conn)
    }

    /// The byte stream under the SMTP session: TCP with `TCP_NODELAY`, and
    /// for implicit TLS the handshake on it.
    async fn transport(&self) -> Result<Box<dyn AsyncTokioStream>, SendOutcome> {
        let tcp = tokio::time::timeout(
            self.timeout,
            tokio::net::TcpStream::connect((self.host.as_str(), self.port)),
        )
        .await
        .map_err(|_| SendOutcome::Retry("connection timed out".into()))?
        .map_err(|e| SendOutcome::Retry(format!("connection error: {e}")))?;
        let _ = tcp.set_nodelay(true);
        let (SmtpTls::Implicit, Some(connector)) = (self.tls, &self.implicit_tls) else {
            return Ok(Box::new(tcp));
        };
        let name = rustls_pki_types::ServerName::try_from(self.host.clone()).map_err(|_| {
            SendOutcome::Retry(format!("smtp.host {:?} is not a valid TLS name", self.host))
        })?;
        let tls = tokio::time::timeout(self.timeout, connector.connect(name, tcp))
            .await
            .map_err(|_| SendOutcome::Retry("TLS handshake timed out".into()))?
            .map_err(|e| SendOutcome::Retry(format!("TLS handshake failed: {e}")))?;
        Ok(Box::new(ImplicitTls(tls)))
    }

    /// Makes sure the session has a live connection, logged in: opens one,
    /// or a new one for a broken or stale one. The outbox opens it before
    /// it claims a mail, so an unreachable server costs no mail an attempt.
    pub async fn ready(&self, session: &mut SmtpSession) -> Result<(), SendOutcome> {
        // A connection idle for a while may have been closed by the server:
        // NOOP first, so a stale one costs a reconnect, not a failed mail.
        let stale = session
            .last_used
            .is_none_or(|t| t.elapsed() > Duration::from_secs(2));
        if let Some(c) = session.conn.as_mut() {
            if c.has_broken() || (stale && !c.test_connected().await) {
                session.conn = None;
            }
        }
        if session.conn.is_none() {
            session.conn = Some(self.connect().await?);
            session.last_used = Some(std::time::Instant::now());
        }
        Ok(())
    }

    /// Sends one mail on the session's connection (opened, or re-opened
    /// after a failure or a pause, as needed).
    pub async fn send_on(
        &self,
        session: &mut SmtpSession,
        from: &str,
        to: &[String],
        raw: &[u8],
    ) -> SendOutcome {
        let env = match envelope(from, to) {
            Ok(e) => e,
            Err(o) => return o,
        };
        if let Err(o) = self.ready(session).await {
            return o;
        }
        let Some(conn) = session.conn.as_mut() else {
            return SendOutcome::Retry("no connection".into());
        };
        // Connect, commands and data each have the timeout; the whole send
        // at most four times it.
        let sent = tokio::time::timeout(self.timeout * 4, conn.send(&env, raw)).await;
        session.last_used = Some(std::time::Instant::now());
        match sent {
            Ok(Ok(r)) => SendOutcome::Sent(reply_line(&r)),
            Ok(Err(e)) => {
                session.conn = None;
                classify(e)
            }
            Err(_) => {
                session.conn = None;
                SendOutcome::Retry("timed out".into())
            }
        }
    }

    /// Sends one mail on a connection of its own; the outbox's senders use
    /// [`SmtpSender::send_on`] with theirs.
    pub async fn send(&self, from: &str, to: &[String], raw: &[u8]) -> SendOutcome {
        let mut session = SmtpSession::default();
        self.send_on(&mut session, from, to, raw).await
    }
}

/// How a refused login starts its error text (a configuration or token
/// problem the admin can fix: never final for the mail).
const LOGIN_REFUSED: &str = "SMTP login refused";

fn envelope(from: &str, to: &[String]) -> Result<Envelope, SendOutcome> {
    let from = match from.parse() {
        Ok(a) => Some(a),
        Err(e) => return Err(SendOutcome::Permanent(format!("bad envelope sender: {e}"))),
    };
    let mut rcpt = Vec::new();
    for a in to {
        match a.parse() {
            Ok(a) => rcpt.push(a),
            Err(e) => {
                return Err(SendOutcome::Permanent(format!(
                    "bad recipient addr:{}: {e}",
                    crate::core::types::addr_hash(a)
                )))
            }
        }
    }
    Envelope::new(from, rcpt).map_err(|e| SendOutcome::Permanent(format!("bad envelope: {e}")))
}

/// The server's reply as one line: `250 2.0.0 Ok: queued as 4XYZ`.
fn reply_line(r: &Response) -> String {
    format!(
        "{} {}",
        r.code(),
        crate::core::bounded::one_line(&r.message().collect::<Vec<_>>().join(" "), 200)
    )
}

/// The connector for implicit TLS, trusting what lettre's `TlsParameters`
/// would: the public web roots and the certificates of `smtp.ca_file`.
fn implicit_tls_connector(
    ca_file: Option<&std::path::Path>,
) -> anyhow::Result<tokio_rustls::TlsConnector> {
    use anyhow::Context as _;
    use rustls_pki_types::pem::PemObject as _;
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = ca_file {
        for cert in rustls_pki_types::CertificateDer::pem_file_iter(path)
            .with_context(|| format!("reading smtp.ca_file {}", path.display()))?
        {
            roots
                .add(cert.with_context(|| format!("parsing smtp.ca_file {}", path.display()))?)
                .context("adding the certificate of smtp.ca_file")?;
        }
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(tokio_rustls::TlsConnector::from(Arc::new(config)))
}

/// An implicit-TLS stream as lettre takes one ([`AsyncTokioStream`]).
#[derive(Debug)]
struct ImplicitTls(tokio_rustls::client::TlsStream<tokio::net::TcpStream>);

impl AsyncTokioStream for ImplicitTls {
    fn peer_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.0.get_ref().0.peer_addr()
    }
}

impl tokio::io::AsyncRead for ImplicitTls {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl tokio::io::AsyncWrite for ImplicitTls {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

fn classify(e: SmtpError) -> SendOutcome {
    if final_refusal(&e) {
        SendOutcome::Permanent(format!("{e:#}"))
    } else {
        SendOutcome::Retry(format!("{e:#}"))
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
