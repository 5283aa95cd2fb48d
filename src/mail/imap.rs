//! IMAP adapter: connects with TLS (rustls; implicit or STARTTLS), selects the
//! watched mailbox, fetches messages above the checkpoint, moves handled ones,
//! and waits with IDLE (or sleeps when the server has no IDLE). Every command runs
//! under a timeout. It decides nothing about the messages themselves.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail, Context as _};
use async_imap::imap_proto::{Response, Status};
use async_imap::Session;
use chrono::{DateTime, Utc};
use futures::StreamExt;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;
use tokio_util::sync::CancellationToken;

use crate::config::{Imap, ImapTls};

type Stream = TlsStream<TcpStream>;

/// One message as fetched.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub uid: u32,
    pub raw: Vec<u8>,
    /// When the server received it (INTERNALDATE).
    pub internal_date: Option<DateTime<Utc>>,
}

/// How a wait ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// The server reported a change (or the poll interval passed): fetch.
    Changed,
    /// Nothing happened within the re-issue interval: fetch anyway, then wait again.
    Timeout,
    /// We are shutting down.
    Cancelled,
}

/// A logged-in session with the watched mailbox selected.
pub struct ImapConn {
    session: Option<Session<Stream>>,
    timeout: Duration,
    has_idle: bool,
    has_move: bool,
}

async fn within<T, E: Into<anyhow::Error>>(
    t: Duration,
    what: &str,
    f: impl std::future::Future<Output = Result<T, E>>,
) -> anyhow::Result<T> {
    match tokio::time::timeout(t, f).await {
        Ok(r) => r.map_err(Into::into).with_context(|| what.to_string()),
        Err(_) => bail!("IMAP {what}: timed out after {}s", t.as_secs()),
    }
}

fn tls_connector(cfg: &Imap) -> anyhow::Result<TlsConnector> {
    let mut roots = rustls::RootCertStore::empty();
    match &cfg.ca_file {
        Some(path) => {
            for cert in CertificateDer::pem_file_iter(path)
                .with_context(|| format!("reading CA file {}", path.display()))?
            {
                roots
                    .add(cert.with_context(|| format!("parsing CA file {}", path.display()))?)
                    .context("adding CA certificate")?;
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(TlsConnector::from(Arc::new(config)))
}

/// Logs in with the password, or with XOAUTH2 and a token from
/// `[imap.oauth2]`. A refused token is dropped and one fresh token is tried on
/// the same connection; a second refusal is the caller's reconnect backoff.
async fn login(
    client: async_imap::Client<Stream>,
    cfg: &Imap,
    t: Duration,
) -> anyhow::Result<Session<Stream>> {
    let who = crate::core::types::addr_hash(&cfg.username);
    let oauth = match (cfg.auth, &cfg.oauth2) {
        (crate::config::MailAuth::Oauth2, Some(o)) => o,
        (crate::config::MailAuth::Oauth2, None) => bail!("{}.oauth2: missing", cfg.section()),
        (crate::config::MailAuth::Password, _) => {
            return match tokio::time::timeout(t, client.login(&cfg.username, cfg.password.expose()))
                .await
            {
                Ok(Ok(s)) => Ok(s),
                Ok(Err((e, _))) => bail!("IMAP login as addr:{who} failed: {e}"),
                Err(_) => bail!("IMAP login timed out"),
            };
        }
    };
    let key = format!("{}.oauth2", cfg.section());
    let source = crate::mail::oauth::TokenSource::shared(&key, oauth)?;
    let mut client = client;
    let offers_bearer = match oauth.sasl_mechanism {
        crate::config::SaslMechanism::Auto => {
            within(t, "CAPABILITY", offers_auth(&mut client, "OAUTHBEARER")).await?
        }
        _ => false,
    };
    let mech = crate::mail::oauth::Mechanism::choose(oauth.sasl_mechanism, offers_bearer);
    let m = mech.name();
    for attempt in 0..2 {
        let token = source.token().await?;
        let auth = crate::mail::oauth::BearerAuth {
            mechanism: mech,
            user: cfg.username.clone(),
            host: cfg.server_name.clone().unwrap_or_else(|| cfg.host.clone()),
            port: cfg.port,
            token: token.clone(),
        };
        match tokio::time::timeout(t, client.authenticate(m, auth)).await {
            Ok(Ok(s)) => {
                tracing::info!(mechanism = m, "IMAP logged in with an OAuth2 token");
                return Ok(s);
            }
            Ok(Err((async_imap::error::Error::No(msg), c))) if attempt == 0 => {
                tracing::info!(
                    "IMAP {m} as addr:{who} refused ({}); fetching a new token and trying once more",
                    crate::core::bounded::one_line(&msg, 200)
                );
                source.invalidate(&token).await;
                client = c;
            }
            Ok(Err((e, _))) => {
                source.invalidate(&token).await;
                bail!("IMAP {m} login as addr:{who} failed with a fresh token from {key} (check that the app may open this mailbox): {e}")
            }
            Err(_) => bail!("IMAP {m} login timed out"),
        }
    }
    bail!("IMAP {m} login as addr:{who} failed")
}

/// Whether the server lists `AUTH=<mech>` before login (one CAPABILITY).
async fn offers_auth(client: &mut async_imap::Client<Stream>, mech: &str) -> anyhow::Result<bool> {
    let (tx, rx) = async_channel::bounded(16);
    client
        .run_command_and_check_ok("CAPABILITY", Some(tx))
        .await?;
    let mut offered = false;
    while let Ok(r) = rx.try_recv() {
        if let async_imap::types::UnsolicitedResponse::Other(data) = r {
            if let Response::Capabilities(caps) = data.parsed() {
                offered |= caps.iter().any(|c| {
                    matches!(c, async_imap::imap_proto::Capability::Auth(a) if a.eq_ignore_ascii_case(mech))
                });
            }
        }
    }
    Ok(offered)
}

impl ImapConn {
    /// Connects, logs in and selects `cfg.mailbox`; returns (uidvalidity, uid_next).
    pub async fn connect(cfg: &Imap) -> anyhow::Result<(ImapConn, u32, u32)> {
        let t = Duration::from_secs(cfg.command_timeout_secs);
        let connector = tls_connector(cfg)?;
        let name = cfg.server_name.clone().unwrap_or_else(|| cfg.host.clone());
        let server_name = ServerName::try_from(name.clone())
            .map_err(|e| anyhow!("bad server name {name}: {e}"))?;
        let tcp = within(
            t,
            "connect",
            TcpStream::connect((cfg.host.as_str(), cfg.port)),
        )
        .await?;
        // Commands are small writes answered by the server: no Nagle delay.
        let _ = tcp.set_nodelay(true);
        let client = match cfg.tls {
            ImapTls::Implicit => {
                let tls = within(t, "TLS handshake", connector.connect(server_name, tcp)).await?;
                let mut client = async_imap::Client::new(tls);
                within(t, "greeting", client.read_response()).await?;
                client
            }
            ImapTls::Starttls => {
                let mut plain = async_imap::Client::new(tcp);
                within(t, "greeting", plain.read_response()).await?;
                within(
                    t,
                    "STARTTLS",
                    plain.run_command_and_check_ok("STARTTLS", None),
                )
                .await?;
                let tcp = plain.into_inner();
                let tls = within(t, "TLS handshake", connector.connect(server_name, tcp)).await?;
                async_imap::Client::new(tls)
            }
        };
        let mut session = login(client, cfg, t).await?;
        let caps = within(t, "CAPABILITY", session.capabilities()).await?;
        // Either can be switched off in config for servers whose IDLE or MOVE
        // misbehaves; polling and COPY + EXPUNGE then do the same job.
        let has_idle = cfg.use_idle && caps.has_str("IDLE");
        let has_move = cfg.use_move && caps.has_str("MOVE");
        let mut conn = ImapConn {
            session: Some(session),
            timeout: t,
            has_idle,
            has_move,
        };
        for mb in [&cfg.processed_mailbox, &cfg.quarantine_mailbox] {
            conn.ensure_mailbox(mb).await?;
        }
        let (validity, next) = conn.select(&cfg.mailbox).await?;
        Ok((conn, validity, next))
    }

    fn s(&mut self) -> anyhow::Result<&mut Session<Stream>> {
        self.session
            .as_mut()
            .ok_or_else(|| anyhow!("IMAP session lost"))
    }

    /// Empties the server's unsolicited answers kept since the last call:
    /// whether one announced new mail (`EXISTS`, `RECENT`). The library
    /// keeps at most 100 and drops the rest, so callers look right after a
    /// [`ImapConn::pending`], which empties it first.
    fn arrived(&mut self) -> bool {
        let Some(s) = self.session.as_mut() else {
            return false;
        };
        let mut news = false;
        while let Ok(r) = s.unsolicited_responses.try_recv() {
            news |= matches!(
                r,
                async_imap::types::UnsolicitedResponse::Exists(_)
                    | async_imap::types::UnsolicitedResponse::Recent(_)
            );
        }
        news
    }

    pub fn has_idle(&self) -> bool {
        self.has_idle
    }

    async fn ensure_mailbox(&mut self, name: &str) -> anyhow::Result<()> {
        let t = self.timeout;
        let s = self.s()?;
        let exists = {
            let list = within(t, "LIST", s.list(None, Some(name))).await?;
            let items: Vec<_> = within(t, "LIST", async {
                Ok::<_, anyhow::Error>(list.collect::<Vec<_>>().await)
            })
            .await?;
            items.into_iter().any(|r| r.is_ok())
        };
        if !exists {
            // A concurrent replica may have created it meanwhile: ALREADYEXISTS is fine.
            if let Err(e) = within(t, "CREATE", s.create(name)).await {
                tracing::debug!("CREATE {name}: {e:#}");
            }
        }
        Ok(())
    }

    async fn select(&mut self, mailbox: &str) -> anyhow::Result<(u32, u32)> {
        let t = self.timeout;
        let mb = within(t, "SELECT", self.s()?.select(mailbox)).await?;
        let validity = mb
            .uid_validity
            .ok_or_else(|| anyhow!("server gave no UIDVALIDITY for {mailbox}"))?;
        Ok((validity, mb.uid_next.unwrap_or(1)))
    }

    /// The UID and size of every message with a UID above `last_uid`, oldest
    /// first: a few bytes per message, so a large backlog can be fetched in
    /// bounded batches.
    pub async fn pending(&mut self, last_uid: u32) -> anyhow::Result<Vec<(u32, u32)>> {
        // What the server said of the mailbox before this command is in its
        // answer; what it says during it is kept for `wait`.
        self.arrived();
        let t = self.timeout;
        // Never build a set with 0 (Dovecot answers BAD, which the library turns
        // into an empty Ok); `n:*` always returns the last message, so filter.
        let set = format!("{}:*", last_uid.saturating_add(1).max(1));
        let s = self.s()?;
        let stream = within(t, "UID FETCH", s.uid_fetch(set, "(UID RFC822.SIZE)")).await?;
        // Each answer is read for its two numbers and dropped at once: the
        // library's answer owns a buffer of at least 4 KiB and its parsed
        // fields (about 6 KiB in all), so collecting the answers of a
        // 10,000-message backlog held 62 MB (heaptrack), 8 bytes each here.
        let mut out = Vec::new();
        within(t, "UID FETCH", async {
            let mut stream = std::pin::pin!(stream);
            while let Some(item) = stream.next().await {
                let f = item.context("UID FETCH")?;
                let Some(uid) = f.uid else { continue };
                if uid > last_uid {
                    out.push((uid, f.size.unwrap_or(0)));
                }
            }
            Ok::<_, anyhow::Error>(())
        })
        .await?;
        out.sort_unstable();
        out.dedup_by_key(|x| x.0);
        Ok(out)
    }

    /// The messages with these UIDs (one command, in any order), oldest
    /// first. A UID the server no longer has (moved or expunged meanwhile) is
    /// simply absent.
    pub async fn fetch_uids(&mut self, uids: &[u32]) -> anyhow::Result<Vec<Fetched>> {
        if uids.is_empty() {
            return Ok(Vec::new());
        }
        // News first puts higher UIDs before the backlog's: the answers are
        // looked up in the set by binary search, so it must be sorted.
        let mut uids = uids.to_vec();
        uids.sort_unstable();
        uids.dedup();
        let uids = &uids[..];
        let t = self.timeout;
        let set = uid_set(uids);
        let s = self.s()?;
        let stream = within(
            t,
            "UID FETCH",
            s.uid_fetch(set, "(UID BODY.PEEK[] INTERNALDATE)"),
        )
        .await?;
        // Each message is copied out as it arrives and the library's buffer
        // dropped: the batch is held once, not twice.
        let mut out = Vec::with_capacity(uids.len());
        within(t * 4, "UID FETCH", async {
            let mut stream = std::pin::pin!(stream);
            while let Some(item) = stream.next().await {
                let f = item.context("UID FETCH")?;
                let Some(uid) = f.uid else { continue };
                if uids.binary_search(&uid).is_err() {
                    continue;
                }
                let Some(body) = f.body() else { continue };
                out.push(Fetched {
                    uid,
                    raw: body.to_vec(),
                    internal_date: f.internal_date().map(|d| d.with_timezone(&Utc)),
                });
            }
            Ok::<_, anyhow::Error>(())
        })
        .await?;
        out.sort_by_key(|f| f.uid);
        Ok(out)
    }

    /// Brings the session's view of the mailbox up to date (`NOOP`): a
    /// server acts on the UIDs a session has seen, so a session that has
    /// only moved mail must do this before it moves mail that arrived since
    /// it last looked (Dovecot answers a `UID MOVE` of UIDs it has not
    /// shown the session with OK and moves nothing). What the server says of
    /// the mailbox meanwhile is dropped: this session does not watch it.
    pub async fn sync_view(&mut self) -> anyhow::Result<()> {
        let t = self.timeout;
        within(t, "NOOP", self.s()?.noop()).await?;
        self.arrived();
        Ok(())
    }

    /// Moves one message (MOVE when the server has it, else COPY + EXPUNGE).
    pub async fn move_to(&mut self, uid: u32, target: &str) -> anyhow::Result<()> {
        self.move_set(&[uid], target).await
    }

    /// Moves a set of messages with one command (MOVE when the server has it,
    /// else COPY + \Deleted + UID EXPUNGE of the set).
    pub async fn move_set(&mut self, uids: &[u32], target: &str) -> anyhow::Result<()> {
        if uids.is_empty() {
            return Ok(());
        }
        let t = self.timeout;
        let has_move = self.has_move;
        let s = self.s()?;
        let set = uid_set(uids);
        if has_move {
            within(t, "UID MOVE", s.uid_mv(&set, target)).await?;
        } else {
            within(t, "UID COPY", s.uid_copy(&set, target)).await?;
            {
                let st = within(
                    t,
                    "UID STORE",
                    s.uid_store(&set, "+FLAGS.SILENT (\\Deleted)"),
                )
                .await?;
                within(t, "UID STORE", drop_answers(st)).await?;
            }
            let ex = within(t, "UID EXPUNGE", s.uid_expunge(&set)).await?;
            within(t, "UID EXPUNGE", drop_answers(ex)).await?;
        }
        Ok(())
    }

    /// Waits for news: IDLE for at most `reissue`, or a plain sleep of `poll` when
    /// the server has no IDLE. Returns early when `cancel` fires.
    pub async fn wait(
        &mut self,
        reissue: Duration,
        poll: Duration,
        cancel: &CancellationToken,
    ) -> anyhow::Result<Wake> {
        if !self.has_idle {
            tokio::select! {
                _ = tokio::time::sleep(poll) => return Ok(Wake::Timeout),
                _ = cancel.cancelled() => return Ok(Wake::Cancelled),
            }
        }
        // Mail the server announced during the last command (after the last
        // `pending`) is not announced again in IDLE: look first.
        if self.arrived() {
            return Ok(Wake::Changed);
        }
        let t = self.timeout;
        let session = self
            .session
            .take()
            .ok_or_else(|| anyhow!("IMAP session lost"))?;
        let mut idle = session.idle();
        within(t, "IDLE", idle.init()).await?;
        let outcome = {
            let (fut, stop) = idle.wait_with_timeout(reissue);
            tokio::pin!(fut);
            tokio::select! {
                r = &mut fut => r,
                _ = cancel.cancelled() => {
                    drop(stop);
                    fut.await
                }
            }
        };
        let wake = match outcome {
            Ok(async_imap::extensions::idle::IdleResponse::NewData(data)) => {
                if let Response::Data {
                    status: Status::Bye,
                    ..
                } = data.parsed()
                {
                    bail!("server closed the connection during IDLE (BYE)");
                }
                Wake::Changed
            }
            Ok(async_imap::extensions::idle::IdleResponse::Timeout) => Wake::Timeout,
            Ok(async_imap::extensions::idle::IdleResponse::ManualInterrupt) => {
                if cancel.is_cancelled() {
                    Wake::Cancelled
                } else {
                    Wake::Changed
                }
            }
            Err(e) => return Err(anyhow!(e).context("IDLE")),
        };
        // A dropped connection shows here as a failing DONE: the caller reconnects.
        let session = within(t, "IDLE DONE", idle.done()).await?;
        self.session = Some(session);
        Ok(wake)
    }

    /// Appends a message to a mailbox (admin re-delivery, and tests that need
    /// bytes no MTA would pass).
    pub async fn append(&mut self, mailbox: &str, raw: &[u8]) -> anyhow::Result<()> {
        let t = self.timeout;
        within(t, "APPEND", self.s()?.append(mailbox, None, None, raw)).await?;
        Ok(())
    }

    pub async fn logout(mut self) {
        let t = self.timeout;
        if let Some(s) = self.session.as_mut() {
            let _ = tokio::time::timeout(t.min(Duration::from_secs(2)), s.logout()).await;
        }
    }
}

/// An IMAP sequence set of UIDs ("3:5,9"), runs of consecutive UIDs folded.
/// The UIDs must be sorted ascending; an empty slice gives "".
/// Reads a command's answers to its end, each dropped as it arrives (a
/// `UID EXPUNGE` of a set answers once per message, and each answer owns
/// at least 4 KiB); a failed answer is not an error of the command.
async fn drop_answers<T, E>(
    answers: impl futures::Stream<Item = Result<T, E>>,
) -> anyhow::Result<()> {
    let mut answers = std::pin::pin!(answers);
    while answers.next().await.is_some() {}
    Ok(())
}

pub fn uid_set(uids: &[u32]) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < uids.len() {
        let start = uids[i];
        let mut end = start;
        while i + 1 < uids.len() && uids[i + 1] == end.wrapping_add(1) {
            i += 1;
            end = uids[i];
        }
        if !out.is_empty() {
            out.push(',');
        }
        if start == end {
            out.push_str(&start.to_string());
        } else {
            out.push_str(&format!("{start}:{end}"));
        }
        i += 1;
    }
    out
}

/// Splits pending messages (UID, size) into batches of at most `max_messages`
/// messages and `max_bytes` bytes, in UID order; a message larger than
/// `max_bytes` goes alone in its own batch.
pub fn batches(pending: &[(u32, u32)], max_messages: usize, max_bytes: u64) -> Vec<Vec<u32>> {
    let max_messages = max_messages.max(1);
    let mut out: Vec<Vec<u32>> = Vec::new();
    let mut cur: Vec<u32> = Vec::new();
    let mut bytes: u64 = 0;
    for &(uid, size) in pending {
        let size = u64::from(size);
        if !cur.is_empty() && (cur.len() >= max_messages || bytes.saturating_add(size) > max_bytes)
        {
            out.push(std::mem::take(&mut cur));
            bytes = 0;
        }
        cur.push(uid);
        bytes = bytes.saturating_add(size);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uid_sets_fold_runs() {
        assert_eq!(uid_set(&[]), "");
        assert_eq!(uid_set(&[7]), "7");
        assert_eq!(uid_set(&[1, 2, 3, 5, 7, 8]), "1:3,5,7:8");
        assert_eq!(
            uid_set(&[u32::MAX - 1, u32::MAX]),
            format!("{}:{}", u32::MAX - 1, u32::MAX)
        );
    }

    #[test]
    fn batches_are_bounded_by_count_and_bytes() {
        let p: Vec<(u32, u32)> = (1..=5).map(|u| (u, 10)).collect();
        assert_eq!(batches(&p, 2, 1000), vec![vec![1, 2], vec![3, 4], vec![5]]);
        assert_eq!(batches(&p, 100, 25), vec![vec![1, 2], vec![3, 4], vec![5]]);
        // A message over the byte bound goes alone, never dropped.
        let big = [(1, 10), (2, 500), (3, 10)];
        assert_eq!(batches(&big, 100, 100), vec![vec![1], vec![2], vec![3]]);
        assert!(batches(&[], 10, 10).is_empty());
        // Zero bounds still make progress.
        assert_eq!(batches(&p[..2], 0, 0), vec![vec![1], vec![2]]);
    }
}
