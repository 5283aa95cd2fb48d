//! Who may command a case by reply: the sender must be on the case's roster AND the
//! message must be authenticated: an RFC 8601 `Authentication-Results` header from
//! a trusted authserv-id saying `dmarc=pass`, or `dkim=pass` for a domain aligned
//! with the sender's, or (only when configured, for the loopback demo) local
//! submission observed by the shell.
//!
//! This module owns the header parser and the decision. It must not read headers
//! from a message or look at the network: the shell passes the raw header values
//! (top first, as they appear in the message) and what it observed about the
//! submission path ([`Submission`]). A refused command changes nothing and is not
//! answered (a forger must learn nothing), so [`Reason`] is for the record only.
//!
//! Trust model (RFC 8601 §5). Anyone can write an `Authentication-Results`
//! header, and headers are prepended hop by hop, so only one header can be the
//! receiving server's: the topmost one, above the receiving server's own
//! `Received` line (our own local delivery hops, LMTP, sit above it and are
//! skipped). Only that header is read; it counts when its authserv-id,
//! normalised once ([`AuthservId`]), is one of the configured trusted ids. A
//! header below the receiving server's `Received` line was written before the
//! message reached it: it never counts, whatever id it claims. The trusted MTA
//! must put its results at the top (rspamd, OpenDMARC with Postfix do); one that
//! writes no header leaves nothing to trust, so the command is refused.
//! The sender is the one address of the one `From` field; DMARC must name that
//! domain in `header.from`, DKIM must be aligned with it.
//!
//! `auth.mode = "exchange-online"` replaces the RFC 8601 proof (Exchange
//! Online's own Authentication-Results carry no authserv-id) for a mailbox
//! hosted in Exchange Online: Exchange's `X-MS-Exchange-Organization-AuthAs:
//! Internal`, which its header firewall never lets in from outside, with
//! every `Received` hop Exchange Online's own ([`exchange_online`]).

use serde::{Deserialize, Serialize};

use super::routing::Route;

/// Configuration of the decision (part of the daemon's config).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// What proves a sender: `rfc8601` (default: our MTA's Authentication-Results)
    /// or `exchange-online` (Exchange's organisation headers, only for a mailbox
    /// hosted in Exchange Online; see [`exchange_online`]).
    #[serde(default)]
    pub mode: AuthMode,
    /// authserv-ids of our own MTAs whose results we believe, e.g. "mx.kommun.se".
    #[serde(default)]
    pub trusted_authserv_ids: Vec<String>,
    /// Accept roster members' mail that the shell saw submitted locally (the
    /// loopback demo has no DKIM). Off in production.
    #[serde(default)]
    pub trust_local_submission: bool,
}

impl AuthConfig {
    /// Every problem with the configuration, for `check-config`.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.mode == AuthMode::Rfc8601
            && self.trusted_authserv_ids.is_empty()
            && !self.trust_local_submission
        {
            out.push(
                "auth.trusted_authserv_ids is empty and trust_local_submission is off: no reply can ever command a case"
                    .to_string(),
            );
        }
        for id in &self.trusted_authserv_ids {
            if AuthservId::parse(id).is_none() {
                out.push(format!(
                    "auth.trusted_authserv_ids: {id:?} is not an authserv-id (a host name such as \"mx.kommun.se\")"
                ));
            }
        }
        out
    }

    /// The trusted ids, normalised once; ids that are not plain tokens are
    /// dropped (check-config names them).
    pub fn trusted_ids(&self) -> Vec<AuthservId> {
        self.trusted_authserv_ids
            .iter()
            .filter_map(|id| AuthservId::parse(id))
            .collect()
    }
}

/// `auth.mode`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AuthMode {
    /// RFC 8601 `Authentication-Results` of our own receiving MTA.
    #[default]
    Rfc8601,
    /// Exchange Online's `X-MS-Exchange-Organization-AuthAs: Internal`.
    ExchangeOnline,
}

/// An authserv-id as compared: the RFC 8601 value unquoted, lower-cased,
/// without a trailing dot, and only if it is a plain token (letters, digits,
/// `.`, `-`, `_`). Anything else (whitespace or escapes inside quotes, comment
/// characters, control bytes) is not an id anybody is trusted under. This is
/// the one normalisation; nothing compares raw ids.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct AuthservId(String);

impl AuthservId {
    /// Normalises an id as written in configuration or as read from a header
    /// by [`parse_auth_results`] (already unquoted).
    pub fn parse(raw: &str) -> Option<AuthservId> {
        let id = raw.strip_suffix('.').unwrap_or(raw);
        let plain = !id.is_empty()
            && id.len() <= 255
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
        plain.then(|| AuthservId(id.to_ascii_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What the shell observed about how the message entered the mail system.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Submission {
    /// The receiving server's `Received` line records a TCP client on
    /// 127.0.0.1/::1 (local submission to the trusted MTA).
    Local,
    /// Anything else, including "could not tell".
    Remote,
}

/// One trace header of a message, as written (unfolded), in message order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "name", content = "value", rename_all = "kebab-case")]
pub enum TraceHeader {
    AuthenticationResults(String),
    Received(String),
    /// One of Exchange's `X-MS-Exchange-Organization-Auth*` headers.
    ExchangeOrganization(ExchangeHeader, String),
}

/// The Exchange organisation headers that say how the sender authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExchangeHeader {
    /// `X-MS-Exchange-Organization-AuthAs`: `Internal`, `Anonymous`, `Partner`, ...
    AuthAs,
    /// `X-MS-Exchange-Organization-AuthSource`: the Exchange server that
    /// authenticated the submission.
    AuthSource,
    /// `X-MS-Exchange-Organization-AuthMechanism`: a two-digit code.
    AuthMechanism,
}

impl ExchangeHeader {
    /// The header of that name (any case), if it is one of the three.
    pub fn from_name(name: &str) -> Option<ExchangeHeader> {
        const PREFIX: &str = "X-MS-Exchange-Organization-";
        let rest = name
            .get(..PREFIX.len())
            .filter(|p| p.eq_ignore_ascii_case(PREFIX))
            .and_then(|_| name.get(PREFIX.len()..))?;
        [
            ("AuthAs", ExchangeHeader::AuthAs),
            ("AuthSource", ExchangeHeader::AuthSource),
            ("AuthMechanism", ExchangeHeader::AuthMechanism),
        ]
        .into_iter()
        .find(|(n, _)| rest.eq_ignore_ascii_case(n))
        .map(|(_, h)| h)
    }
}

/// How many trace headers the reader keeps, from the top: the ones that can be
/// our servers' are the first few; the rest is what the sender wrote.
pub const MAX_TRACE_HEADERS: usize = 64;
/// How many From addresses the reader keeps (more than one is refused anyway).
pub const MAX_FROM_ADDRESSES: usize = 8;

/// What authentication reads from a message, collected once by the reader.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Origin {
    /// How many `From` fields the message has.
    pub from_fields: usize,
    /// The addresses of all `From` fields, lower-cased, in order (bounded).
    pub from_addresses: Vec<String>,
    /// `Authentication-Results` and `Received`, top first (bounded).
    pub trace: Vec<TraceHeader>,
}

impl Origin {
    /// The one sender: exactly one From field with exactly one address.
    pub fn sole_sender(&self) -> Option<&str> {
        match (self.from_fields, self.from_addresses.as_slice()) {
            (1, [one]) => Some(one.as_str()),
            _ => None,
        }
    }

    /// Index in `trace` of the receiving server's `Received` line: the
    /// topmost one that is not one of our own local delivery hops (LMTP).
    fn receiving_hop(&self) -> Option<usize> {
        self.trace.iter().position(|h| match h {
            TraceHeader::Received(v) => !is_local_delivery(v),
            TraceHeader::AuthenticationResults(_) | TraceHeader::ExchangeOrganization(..) => false,
        })
    }

    /// The receiving server's own results: the topmost Authentication-Results,
    /// only when it sits above the receiving server's `Received` line.
    pub fn receiving_results(&self) -> Option<&str> {
        let boundary = self.receiving_hop().unwrap_or(self.trace.len());
        self.trace.iter().take(boundary).find_map(|h| match h {
            TraceHeader::AuthenticationResults(v) => Some(v.as_str()),
            TraceHeader::Received(_) | TraceHeader::ExchangeOrganization(..) => None,
        })
    }

    /// How the message was submitted, read from the receiving server's
    /// `Received` line.
    pub fn submission(&self) -> Submission {
        match self.receiving_hop().and_then(|i| self.trace.get(i)) {
            Some(TraceHeader::Received(v)) => submission_of(v),
            _ => Submission::Remote,
        }
    }
}

fn is_local_delivery(received: &str) -> bool {
    let lower = received.to_ascii_lowercase();
    lower
        .split_ascii_whitespace()
        .collect::<Vec<_>>()
        .windows(2)
        .any(|w| {
            w[0] == "with"
                && matches!(
                    w[1].trim_end_matches(';'),
                    "lmtp" | "lmtps" | "lmtpa" | "lmtpsa"
                )
        })
}

/// Local submission from one `Received` value: the client address in the
/// TCP-info comment right after the HELO name (`from helo (rdns [ip])`, as
/// Postfix writes it) is 127.0.0.1 or ::1. The HELO name is the client's own
/// claim and is never read.
fn submission_of(received: &str) -> Submission {
    let lower = received.trim_start().to_ascii_lowercase();
    let Some(rest) = lower.strip_prefix("from") else {
        return Submission::Remote;
    };
    if !rest.starts_with(|c: char| c.is_ascii_whitespace()) {
        return Submission::Remote;
    }
    let rest = rest.trim_start();
    // Skip the HELO token.
    let after_helo = rest
        .find(|c: char| c.is_ascii_whitespace())
        .map(|i| rest[i..].trim_start())
        .unwrap_or("");
    let Some(info) = after_helo.strip_prefix('(') else {
        return Submission::Remote;
    };
    let Some(info) = info.split(')').next() else {
        return Submission::Remote;
    };
    let ip = info
        .split_once('[')
        .and_then(|(_, r)| r.split_once(']'))
        .map(|(ip, _)| ip.trim());
    match ip {
        Some("127.0.0.1" | "::1" | "ipv6:::1") => Submission::Local,
        _ => Submission::Remote,
    }
}

/// How a message reached us from its `Received` headers, topmost first: the
/// receiving server's line (local delivery hops skipped) decides.
pub fn submission_from_received(received: &[&str]) -> Submission {
    let o = Origin {
        trace: received
            .iter()
            .map(|r| TraceHeader::Received(r.to_string()))
            .collect(),
        ..Origin::default()
    };
    o.submission()
}

/// The sender's place on the case's roster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Official,
    Deputy,
    Dpo,
    Coordinator,
}

impl Role {
    /// The role's name as configuration keys and stored data spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Official => "official",
            Role::Deputy => "deputy",
            Role::Dpo => "dpo",
            Role::Coordinator => "coordinator",
        }
    }
}

/// How the message was found to be authentic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "via", rename_all = "snake_case")]
pub enum Via {
    Dmarc {
        authserv_id: String,
    },
    Dkim {
        authserv_id: String,
        domain: String,
    },
    LocalSubmission,
    /// Exchange Online stamped the message `AuthAs: Internal`.
    ExchangeInternal {
        auth_source: String,
        auth_mechanism: String,
    },
}

/// Why a command was refused (for the timeline and logs only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Reason {
    #[error("sender address {sender:?} is not a usable address")]
    BadSender { sender: String },
    #[error("{sender} is not on the case's roster")]
    NotOnRoster { sender: String },
    #[error("no Authentication-Results header from a trusted authserv-id")]
    NoTrustedResults,
    #[error("trusted results show neither dmarc=pass nor an aligned dkim=pass: {seen}")]
    NotAuthenticated {
        /// The trusted results seen, e.g. "mx.kommun.se: dkim=pass d=evil.example; dmarc=fail".
        seen: String,
    },
    /// `exchange-online` mode: a `Received` hop outside Exchange Online, so
    /// the organisation headers may have been written before Exchange.
    #[error("the message passed a hop outside Exchange Online: {hop}")]
    ForeignHop { hop: String },
    /// `exchange-online` mode: Exchange did not stamp the sender internal.
    #[error("Exchange did not mark the sender as internal: {seen}")]
    NotExchangeInternal { seen: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    Allowed { role: Role, via: Via },
    Refused(Reason),
}

/// One `method=result` with its properties.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResInfo {
    /// Lower-cased method, e.g. "dkim".
    pub method: String,
    /// Lower-cased result, e.g. "pass".
    pub result: String,
    pub reason: Option<String>,
    /// `(ptype.property lower-cased, value as written)`, e.g. ("header.d", "kommun.se").
    pub props: Vec<(String, String)>,
}

impl ResInfo {
    pub fn prop(&self, name: &str) -> Option<&str> {
        self.props
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A parsed `Authentication-Results` header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuthResults {
    pub authserv_id: String,
    pub version: Option<u32>,
    /// Empty for `none`.
    pub results: Vec<ResInfo>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed Authentication-Results at byte {at}: {what}")]
pub struct ParseError {
    pub at: usize,
    pub what: &'static str,
}

/// Character-level reader for the RFC 8601 grammar (with RFC 5322 CFWS).
struct Reader<'a> {
    s: &'a [u8],
    i: usize,
}

impl<'a> Reader<'a> {
    fn err(&self, what: &'static str) -> ParseError {
        ParseError { at: self.i, what }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    /// Skips whitespace (folded lines included) and comments, which nest and may
    /// hold quoted pairs.
    fn cfws(&mut self) -> Result<(), ParseError> {
        loop {
            match self.peek() {
                Some(b' ' | b'\t' | b'\r' | b'\n') => self.i += 1,
                Some(b'(') => {
                    let mut depth = 0usize;
                    loop {
                        match self.peek() {
                            None => return Err(self.err("unclosed comment")),
                            Some(b'\\') => self.i += 2,
                            Some(b'(') => {
                                depth += 1;
                                self.i += 1;
                            }
                            Some(b')') => {
                                depth -= 1;
                                self.i += 1;
                                if depth == 0 {
                                    break;
                                }
                            }
                            Some(_) => self.i += 1,
                        }
                    }
                }
                _ => return Ok(()),
            }
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn quoted(&mut self) -> Result<String, ParseError> {
        // Caller saw the opening quote.
        self.i += 1;
        let mut out = Vec::new();
        loop {
            match self.peek() {
                None => return Err(self.err("unclosed quoted string")),
                Some(b'"') => {
                    self.i += 1;
                    return Ok(String::from_utf8_lossy(&out).into_owned());
                }
                Some(b'\\') => {
                    let c = self.s.get(self.i + 1).copied();
                    match c {
                        Some(c) => out.push(c),
                        None => return Err(self.err("dangling backslash")),
                    }
                    self.i += 2;
                }
                Some(c) => {
                    out.push(c);
                    self.i += 1;
                }
            }
        }
    }

    /// A run of bytes up to a delimiter in `stop`, whitespace, `;`, `(` or `"`.
    fn run(&mut self, stop: &[u8]) -> String {
        let start = self.i;
        while let Some(c) = self.peek() {
            if c.is_ascii_whitespace() || matches!(c, b';' | b'(' | b'"') || stop.contains(&c) {
                break;
            }
            self.i += 1;
        }
        String::from_utf8_lossy(&self.s[start..self.i]).into_owned()
    }

    /// `value` (RFC 2045: token / quoted-string), or a pvalue run.
    fn value(&mut self, stop: &[u8]) -> Result<String, ParseError> {
        if self.peek() == Some(b'"') {
            self.quoted()
        } else {
            let v = self.run(stop);
            if v.is_empty() {
                Err(self.err("value expected"))
            } else {
                Ok(v)
            }
        }
    }

    fn keyword(&mut self) -> Result<String, ParseError> {
        let start = self.i;
        while let Some(c) = self.peek() {
            if c.is_ascii_alphanumeric() || c == b'-' || c == b'_' {
                self.i += 1;
            } else {
                break;
            }
        }
        if self.i == start {
            return Err(self.err("keyword expected"));
        }
        Ok(String::from_utf8_lossy(&self.s[start..self.i]).to_ascii_lowercase())
    }
}

/// Parses one header value (without the `Authentication-Results:` name).
pub fn parse_auth_results(value: &str) -> Result<AuthResults, ParseError> {
    let mut r = Reader {
        s: value.as_bytes(),
        i: 0,
    };
    r.cfws()?;
    let authserv_id = r.value(&[])?;
    r.cfws()?;
    let mut version = None;
    if r.peek().is_some_and(|c| c.is_ascii_digit()) {
        let v = r.run(&[]);
        version = Some(v.parse::<u32>().map_err(|_| r.err("bad version"))?);
        r.cfws()?;
    }
    let mut results = Vec::new();
    loop {
        r.cfws()?;
        match r.peek() {
            None => break,
            Some(b';') => r.i += 1,
            Some(_) => return Err(r.err("';' expected")),
        }
        r.cfws()?;
        if r.peek().is_none() {
            // A trailing ';' is seen in the wild; tolerate it.
            break;
        }
        let method = r.keyword()?;
        r.cfws()?;
        if r.eat(b'/') {
            r.cfws()?;
            r.keyword()?;
            r.cfws()?;
        }
        if !r.eat(b'=') {
            if method == "none" && results.is_empty() {
                r.cfws()?;
                if r.peek().is_none() {
                    break;
                }
            }
            return Err(r.err("'=' expected after method"));
        }
        r.cfws()?;
        let result = r.keyword()?;
        let mut info = ResInfo {
            method,
            result,
            reason: None,
            props: Vec::new(),
        };
        loop {
            r.cfws()?;
            match r.peek() {
                None | Some(b';') => break,
                _ => {}
            }
            let ptype = r.keyword()?;
            r.cfws()?;
            if ptype == "reason" && r.eat(b'=') {
                r.cfws()?;
                info.reason = Some(r.value(&[])?);
                continue;
            }
            if r.eat(b'=') {
                // Not in RFC 8601, but Microsoft writes `action=none` after
                // dmarc: keep it as a bare property instead of losing the header.
                r.cfws()?;
                let v = r.value(&[])?;
                info.props.push((ptype, v));
                continue;
            }
            if !r.eat(b'.') {
                return Err(r.err("'.' expected in ptype.property"));
            }
            r.cfws()?;
            let start = r.i;
            let prop = r.run(b"=");
            if prop.is_empty() {
                r.i = start;
                return Err(r.err("property expected"));
            }
            r.cfws()?;
            if !r.eat(b'=') {
                return Err(r.err("'=' expected after property"));
            }
            r.cfws()?;
            let v = r.value(&[])?;
            info.props
                .push((format!("{ptype}.{}", prop.to_ascii_lowercase()), v));
        }
        results.push(info);
    }
    Ok(AuthResults {
        authserv_id,
        version,
        results,
    })
}

/// Just the authserv-id of a header that did not parse as a whole.
fn leading_authserv_id(value: &str) -> Option<String> {
    let mut r = Reader {
        s: value.as_bytes(),
        i: 0,
    };
    r.cfws().ok()?;
    r.value(&[]).ok()
}

/// The domain of an address, lower-cased; accepts `Name <a@b>` too.
pub fn address_domain(addr: &str) -> Option<String> {
    let a = addr.trim();
    let a = match (a.rfind('<'), a.rfind('>')) {
        (Some(s), Some(e)) if s < e => &a[s + 1..e],
        _ => a,
    };
    let (local, domain) = a.trim().rsplit_once('@')?;
    let domain = domain.trim().trim_end_matches('.').to_ascii_lowercase();
    if local.is_empty() || domain.is_empty() || !domain.contains('.') {
        return None;
    }
    Some(domain)
}

fn bare_address(addr: &str) -> Option<String> {
    let a = addr.trim();
    let a = match (a.rfind('<'), a.rfind('>')) {
        (Some(s), Some(e)) if s < e => &a[s + 1..e],
        _ => a,
    };
    let a = a.trim().to_lowercase();
    address_domain(&a).map(|_| a)
}

/// Relaxed alignment: equal, or one a subdomain of the other (label boundary),
/// ignoring case. Both need at least two labels so that a bare top-level domain
/// never aligns with everything under it. (Without the public suffix list,
/// `co.uk`-style suffixes are not recognised; a DKIM pass for such a domain would
/// need its key published at the suffix itself.)
pub fn domains_aligned(a: &str, b: &str) -> bool {
    let a = a.trim().trim_end_matches('.').to_ascii_lowercase();
    let b = b.trim().trim_end_matches('.').to_ascii_lowercase();
    if !a.contains('.') || !b.contains('.') {
        return false;
    }
    a == b || a.ends_with(&format!(".{b}")) || b.ends_with(&format!(".{a}"))
}

/// The sender's role on the route, comparing addresses case-insensitively. The
/// official wins when one address holds several roles.
pub fn roster_role(route: &Route, sender: &str) -> Option<Role> {
    let s = bare_address(sender)?;
    route
        .roster()
        .find(|(_, c)| bare_address(&c.address).as_deref() == Some(&s))
        .map(|(role, _)| role)
}

/// Decides whether the message described by `origin` may command the case
/// routed by `route`: its one From address is on the roster, and the receiving
/// server's own results ([`Origin::receiving_results`]) from a trusted id show
/// DMARC pass for that From domain or an aligned DKIM pass, or (only when
/// configured) the receiving server saw a local submission.
pub fn authorize(cfg: &AuthConfig, route: &Route, origin: &Origin) -> Verdict {
    let Some(sender) = origin.sole_sender() else {
        return Verdict::Refused(Reason::BadSender {
            sender: origin.from_addresses.join(", "),
        });
    };
    let Some(sender_domain) = address_domain(sender) else {
        return Verdict::Refused(Reason::BadSender {
            sender: sender.to_string(),
        });
    };
    let Some(role) = roster_role(route, sender) else {
        return Verdict::Refused(Reason::NotOnRoster {
            sender: sender.to_string(),
        });
    };
    if cfg.mode == AuthMode::ExchangeOnline {
        return exchange_online(role, origin);
    }
    let trusted = cfg.trusted_ids();
    // Only the receiving server's header is read; a malformed one proves
    // nothing and is not skipped for one below it.
    let results = origin
        .receiving_results()
        .map(|raw| parse_auth_results(raw).map(|ar| (AuthservId::parse(&ar.authserv_id), ar)));
    let ours = match results {
        Some(Ok((Some(id), ar))) if trusted.contains(&id) => Some((id, Ok(ar))),
        Some(Err(e)) => leading_authserv_id(origin.receiving_results().unwrap_or(""))
            .and_then(|id| AuthservId::parse(&id))
            .filter(|id| trusted.contains(id))
            .map(|id| (id, Err(e))),
        _ => None,
    };
    if let Some((id, Ok(ar))) = &ours {
        if let Some(via) = authenticated_by(id, ar, &sender_domain) {
            return Verdict::Allowed { role, via };
        }
    }
    if cfg.trust_local_submission && origin.submission() == Submission::Local {
        return Verdict::Allowed {
            role,
            via: Via::LocalSubmission,
        };
    }
    match ours {
        None => Verdict::Refused(Reason::NoTrustedResults),
        Some((id, Err(_))) => Verdict::Refused(Reason::NotAuthenticated {
            seen: format!("{}: malformed", id.as_str()),
        }),
        Some((id, Ok(ar))) => Verdict::Refused(Reason::NotAuthenticated {
            seen: seen(&id, &ar),
        }),
    }
}

/// Host names of Exchange Online's own servers (mailbox servers, front ends,
/// Exchange Online Protection). A `Received` hop counts as Exchange's only
/// when both its `from` and `by` hosts are under one of these.
const EXCHANGE_ONLINE_DOMAINS: &[&str] = &[
    "prod.outlook.com",
    "protection.outlook.com",
    "outlook.office365.com",
];

fn is_exchange_host(host: &str) -> bool {
    let h = host
        .trim_end_matches('.')
        .trim_end_matches(';')
        .to_ascii_lowercase();
    EXCHANGE_ONLINE_DOMAINS
        .iter()
        .any(|d| h.len() > d.len() && h.ends_with(d) && h.as_bytes()[h.len() - d.len() - 1] == b'.')
}

/// One `Received` value is a hop between Exchange Online servers: it starts
/// `from HOST` and has `by HOST`, both Exchange's (`from AM0PR… (2603:…) by
/// AM0PR… with mapi` or `… with Microsoft SMTP Server`).
fn is_exchange_hop(received: &str) -> bool {
    let words: Vec<&str> = received.split_ascii_whitespace().collect();
    let from = match words.as_slice() {
        [f, host, ..] if f.eq_ignore_ascii_case("from") => Some(*host),
        _ => None,
    };
    let by = words
        .windows(2)
        .find(|w| w[0].eq_ignore_ascii_case("by"))
        .map(|w| w[1]);
    matches!((from, by), (Some(f), Some(b)) if is_exchange_host(f) && is_exchange_host(b))
}

/// `auth.mode = "exchange-online"`: Exchange Online's header firewall removes
/// every `X-MS-Exchange-Organization-*` header from mail entering the
/// organisation, and Exchange stamps `AuthAs` itself; so in a mailbox hosted
/// there, `AuthAs: Internal` (with the `AuthSource` server and the
/// `AuthMechanism` code) means a sender who authenticated to the tenant. That
/// holds only when every hop was Exchange Online's: a relay in front of
/// Exchange (an on-premises gateway, a partner connector) could hand in a
/// message with forged organisation headers, so any other `Received` hop
/// refuses. Exactly one of each header; anything unusual refuses.
fn exchange_online(role: Role, origin: &Origin) -> Verdict {
    // A full list may have lost hops below it: nothing to vouch for.
    if origin.trace.len() >= MAX_TRACE_HEADERS {
        return Verdict::Refused(Reason::ForeignHop {
            hop: format!("more than {MAX_TRACE_HEADERS} trace headers"),
        });
    }
    let mut hops = 0;
    let (mut auth_as, mut source, mut mechanism) = (Vec::new(), Vec::new(), Vec::new());
    for h in &origin.trace {
        match h {
            TraceHeader::Received(v) => {
                if !is_exchange_hop(v) {
                    return Verdict::Refused(Reason::ForeignHop {
                        hop: super::bounded::one_line(v, 200),
                    });
                }
                hops += 1;
            }
            TraceHeader::ExchangeOrganization(ExchangeHeader::AuthAs, v) => auth_as.push(v.trim()),
            TraceHeader::ExchangeOrganization(ExchangeHeader::AuthSource, v) => {
                source.push(v.trim())
            }
            TraceHeader::ExchangeOrganization(ExchangeHeader::AuthMechanism, v) => {
                mechanism.push(v.trim())
            }
            TraceHeader::AuthenticationResults(_) => {}
        }
    }
    if hops == 0 {
        return Verdict::Refused(Reason::ForeignHop {
            hop: "no Received header (not delivered by Exchange)".into(),
        });
    }
    let seen = || {
        super::bounded::one_line(
            &format!(
                "AuthAs={} AuthSource={} AuthMechanism={}",
                auth_as.join("|"),
                source.join("|"),
                mechanism.join("|")
            ),
            200,
        )
    };
    match (auth_as.as_slice(), source.as_slice(), mechanism.as_slice()) {
        ([a], [src], [m])
            if a.eq_ignore_ascii_case("Internal")
                && is_exchange_host(src)
                && (1..=3).contains(&m.len())
                && m.bytes().all(|b| b.is_ascii_digit()) =>
        {
            Verdict::Allowed {
                role,
                via: Via::ExchangeInternal {
                    auth_source: src.to_ascii_lowercase(),
                    auth_mechanism: m.to_string(),
                },
            }
        }
        _ => Verdict::Refused(Reason::NotExchangeInternal { seen: seen() }),
    }
}

/// DMARC pass naming the sender's domain in `header.from` (DMARC first: it is
/// the stronger statement, so the record names it when both pass), else a DKIM
/// pass for a domain aligned with it.
fn authenticated_by(id: &AuthservId, ar: &AuthResults, sender_domain: &str) -> Option<Via> {
    let passes = || ar.results.iter().filter(|ri| ri.result == "pass");
    let dmarc = passes().any(|ri| {
        ri.method == "dmarc"
            && ri
                .prop("header.from")
                .and_then(header_domain)
                .is_some_and(|d| d == sender_domain)
    });
    if dmarc {
        return Some(Via::Dmarc {
            authserv_id: id.as_str().to_string(),
        });
    }
    passes()
        .filter(|ri| ri.method == "dkim")
        .filter_map(|ri| {
            ri.prop("header.d")
                .and_then(header_domain)
                .or_else(|| ri.prop("header.i").and_then(header_domain))
        })
        .find(|d| domains_aligned(d, sender_domain))
        .map(|domain| Via::Dkim {
            authserv_id: id.as_str().to_string(),
            domain,
        })
}

/// A domain named in a result property: `kommun.example`, `@kommun.example`
/// or `a@kommun.example`, lower-cased without a trailing dot.
fn header_domain(v: &str) -> Option<String> {
    let d = v.trim().rsplit_once('@').map_or(v.trim(), |(_, d)| d);
    let d = d.strip_suffix('.').unwrap_or(d).to_ascii_lowercase();
    (!d.is_empty() && d.contains('.')).then_some(d)
}

fn seen(id: &AuthservId, ar: &AuthResults) -> String {
    let rs: Vec<String> = ar
        .results
        .iter()
        .map(|ri| {
            let d = ri
                .prop("header.d")
                .map(|d| format!(" d={d}"))
                .unwrap_or_default();
            format!("{}={}{d}", ri.method, ri.result)
        })
        .collect();
    let rs = if rs.is_empty() {
        "none".to_string()
    } else {
        rs.join("; ")
    };
    format!("{}: {rs}", id.as_str())
}

#[cfg(test)]
mod received_tests {
    use super::*;

    const LMTP: &str = "from mail.example.test by mail.example.test with LMTP id x (envelope-from <a@example.test>); Sun, 22 Nov 2026 05:24:33 +0000";
    const LOCAL: &str = "from vm (localhost [127.0.0.1]) by mail.example.test (Postfix) with ESMTP id 7E; Sun, 22 Nov 2026 05:24:33 +0000";
    const REMOTE: &str = "from mx.evil.example (mx.evil.example [203.0.113.9]) by mail.example.test (Postfix) with ESMTPS id 9; Sun, 22 Nov 2026 05:24:33 +0000";

    #[test]
    fn only_the_receiving_hop_counts_for_local_submission() {
        assert_eq!(submission_from_received(&[LMTP, LOCAL]), Submission::Local);
        // A forged "local" header below a real remote hop does not count.
        assert_eq!(
            submission_from_received(&[LMTP, REMOTE, LOCAL]),
            Submission::Remote
        );
        assert_eq!(submission_from_received(&[]), Submission::Remote);
        assert_eq!(submission_from_received(&[LMTP]), Submission::Remote);
    }

    #[test]
    fn the_address_comes_from_the_tcp_info_never_from_helo() {
        for (received, want) in [
            (LOCAL, Submission::Local),
            ("from localhost (localhost [IPv6:::1]) by mail.example.test (Postfix) with ESMTP id 1", Submission::Local),
            ("from x (unknown [::1]) by mail.example.test with ESMTP", Submission::Local),
            // A remote client whose HELO is [127.0.0.1].
            ("from [127.0.0.1] (mx.evil.example [203.0.113.9]) by mail.example.test (Postfix) with ESMTP id 2", Submission::Remote),
            ("from [127.0.0.1] (unknown [203.0.113.9]) by mail.example.test", Submission::Remote),
            // No TCP-info at all: could not tell.
            ("from [127.0.0.1] by mail.example.test with ESMTP", Submission::Remote),
            // Exim's TCP-info: the address with its port.
            ("from localhost ([127.0.0.1]:2525 helo=x) by mx with esmtp", Submission::Local),
            ("from localhost ([203.0.113.9]:2525 helo=[127.0.0.1]) by mx with esmtp", Submission::Remote),
            ("by mail.example.test (Postfix, from userid 0) id 3", Submission::Remote),
            ("from vm (localhost [127.0.0.2]) by mail.example.test", Submission::Remote),
            ("fromx (localhost [127.0.0.1]) by mail.example.test", Submission::Remote),
        ] {
            assert_eq!(submission_from_received(&[received]), want, "{received}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::routing::{Committee, Contact};

    fn contact(a: &str) -> Contact {
        Contact {
            name: a.into(),
            address: a.into(),
            title: None,
        }
    }

    fn route() -> Route {
        Route {
            committee: Committee {
                name: "Kommunstyrelsen".into(),
                diarie_prefix: "KS".into(),
                delegation_point: "1.4.2".into(),
                delegation_point_art34: None,
            },
            official: contact("Anna.Andersson@Kommun.example"),
            deputy: contact("bo@kommun.example"),
            dpo: contact("dso@dpo-firma.example"),
            coordinator: Some(contact("samordnare@kommun.example")),
        }
    }

    fn cfg(local: bool) -> AuthConfig {
        AuthConfig {
            trusted_authserv_ids: vec!["mx.kommun.example".into()],
            trust_local_submission: local,
            ..Default::default()
        }
    }

    const RECEIVED_REMOTE: &str = "from mail-out.kommun.example (mail-out.kommun.example [192.0.2.10]) by mx.kommun.example (Postfix) with ESMTPS id 4A";
    const RECEIVED_LOCAL: &str =
        "from vm (localhost [127.0.0.1]) by mx.kommun.example (Postfix) with ESMTP id 4B";

    /// A message from `sender` whose receiving server wrote `results` (top
    /// first) above its own Received line.
    fn origin(sender: &str, results: &[&str], sub: Submission) -> Origin {
        let mut trace: Vec<TraceHeader> = results
            .iter()
            .map(|r| TraceHeader::AuthenticationResults(r.to_string()))
            .collect();
        trace.push(TraceHeader::Received(
            match sub {
                Submission::Local => RECEIVED_LOCAL,
                Submission::Remote => RECEIVED_REMOTE,
            }
            .to_string(),
        ));
        Origin {
            from_fields: 1,
            from_addresses: vec![sender.to_string()],
            trace,
        }
    }

    #[test]
    fn parses_the_rfc_8601_examples_and_real_world_headers() {
        let ar = parse_auth_results("example.org 1; none").unwrap();
        assert_eq!(
            (ar.authserv_id.as_str(), ar.version),
            ("example.org", Some(1))
        );
        assert!(ar.results.is_empty());

        let ar = parse_auth_results("example.com; none").unwrap();
        assert!(ar.results.is_empty());

        let ar = parse_auth_results("example.com;\r\n          spf=pass smtp.mailfrom=example.net")
            .unwrap();
        assert_eq!(ar.results[0].method, "spf");
        assert_eq!(ar.results[0].prop("smtp.mailfrom"), Some("example.net"));

        let ar = parse_auth_results(
            "example.com;\r\n          auth=pass (cram-md5) smtp.auth=sender@example.net;\r\n          spf=pass smtp.mailfrom=example.net",
        )
        .unwrap();
        assert_eq!(ar.results.len(), 2);
        assert_eq!(ar.results[0].prop("smtp.auth"), Some("sender@example.net"));

        let ar = parse_auth_results(
            "mx.google.com;\r\n       dkim=pass header.i=@kommun.example header.s=sel1 header.b=AbC+/9xy;\r\n       spf=pass (google.com: domain of a@kommun.example designates 1.2.3.4 as permitted sender) smtp.mailfrom=a@kommun.example;\r\n       dmarc=pass (p=REJECT sp=REJECT dis=NONE) header.from=kommun.example",
        )
        .unwrap();
        assert_eq!(ar.results.len(), 3);
        assert_eq!(ar.results[0].prop("header.i"), Some("@kommun.example"));
        assert_eq!(ar.results[0].prop("header.b"), Some("AbC+/9xy"));
        assert_eq!(ar.results[2].method, "dmarc");
        assert_eq!(ar.results[2].prop("header.from"), Some("kommun.example"));

        // Quoted authserv-id, method version, reason, comments everywhere, nested.
        let ar = parse_auth_results(
            "(first) \"mx.kommun.example\" (v) 1 ; dkim/1 (x (nested) y) = pass reason=\"good sig\" header.d=kommun.example ; dmarc=fail policy.dmarc=reject;",
        )
        .unwrap();
        assert_eq!(ar.authserv_id, "mx.kommun.example");
        assert_eq!(ar.results[0].reason.as_deref(), Some("good sig"));
        assert_eq!(ar.results[0].prop("header.d"), Some("kommun.example"));
        assert_eq!(ar.results[1].result, "fail");

        // Microsoft's bare `action=none` and `compauth=pass reason=100`.
        let ar = parse_auth_results(
            "mx.kommun.example; spf=pass (sender IP is 192.0.2.1) smtp.mailfrom=kommun.example; dkim=pass (signature was verified) header.d=kommun.example;dmarc=pass action=none header.from=kommun.example;compauth=pass reason=100",
        )
        .unwrap();
        assert_eq!(ar.results.len(), 4);
        assert_eq!(ar.results[2].prop("action"), Some("none"));
        assert_eq!(ar.results[2].prop("header.from"), Some("kommun.example"));
        assert_eq!(ar.results[3].reason.as_deref(), Some("100"));

        // Case of method/result/property does not matter.
        let ar = parse_auth_results("mx; DKIM=PASS Header.D=Kommun.example").unwrap();
        assert_eq!(
            (ar.results[0].method.as_str(), ar.results[0].result.as_str()),
            ("dkim", "pass")
        );
        assert_eq!(ar.results[0].prop("header.d"), Some("Kommun.example"));
    }

    #[test]
    fn malformed_headers_are_errors_not_panics() {
        for bad in [
            "",
            "   ",
            "mx; dkim",
            "mx; dkim=",
            "mx; dkim=pass header",
            "mx; dkim=pass header.d",
            "mx; dkim=pass (unclosed",
            "mx; dkim=pass header.d=\"unclosed",
            "mx junk; dkim=pass",
            "mx; =pass",
        ] {
            assert!(parse_auth_results(bad).is_err(), "{bad:?}");
        }
        // A comment ending in a backslash at the very end must not read past it.
        assert!(parse_auth_results("mx; dkim=pass (a\\").is_err());
    }

    #[test]
    fn parser_never_panics_on_odd_input() {
        let alphabet: [&str; 16] = [
            "mx", " ", ";", "=", ".", "(", ")", "\\", "\"", "dkim", "pass", "header", "d", "@",
            "/", "\r\n",
        ];
        let mut x: u64 = 0x9E3779B97F4A7C15;
        for len in 0..4000usize {
            let mut s = String::new();
            for _ in 0..(len % 30) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                s.push_str(alphabet[(x % 16) as usize]);
            }
            let _ = parse_auth_results(&s);
            let _ = authorize(
                &cfg(true),
                &route(),
                &origin("bo@kommun.example", &[&s], Submission::Remote),
            );
        }
    }

    #[test]
    fn roster_compares_addresses_ignoring_case() {
        let r = route();
        let table = [
            ("anna.andersson@kommun.example", Some(Role::Official)),
            ("Anna <ANNA.ANDERSSON@KOMMUN.EXAMPLE>", Some(Role::Official)),
            ("bo@kommun.example", Some(Role::Deputy)),
            ("DSO@dpo-firma.example", Some(Role::Dpo)),
            ("samordnare@kommun.example", Some(Role::Coordinator)),
            ("mallory@kommun.example", None),
            ("bo@kommun.example.evil.example", None),
            ("not an address", None),
        ];
        for (addr, want) in table {
            assert_eq!(roster_role(&r, addr), want, "{addr}");
        }
    }

    const DMARC_PASS: &str = "mx.kommun.example; dkim=pass header.d=kommun.example; dmarc=pass header.from=kommun.example";

    #[test]
    fn authorisation_table() {
        use Submission::*;
        let official = "anna.andersson@kommun.example";
        // (case, sender, headers top first, submission, trust_local_submission, outcome)
        type Row<'a> = (&'a str, &'a str, Vec<&'a str>, Submission, bool, &'a str);
        let table: Vec<Row> = vec![
            (
                "dmarc pass",
                official,
                vec![DMARC_PASS],
                Remote,
                false,
                "dmarc",
            ),
            (
                "dmarc pass without header.from proves nothing about this From",
                official,
                vec!["mx.kommun.example; dmarc=pass"],
                Remote,
                false,
                "refused:auth",
            ),
            (
                "dmarc pass, header.from with a trailing dot and capitals",
                official,
                vec!["mx.kommun.example; dmarc=pass header.from=Kommun.Example."],
                Remote,
                false,
                "dmarc",
            ),
            (
                "quoted authserv-id that is a plain token",
                official,
                vec!["\"mx.kommun.example\"; dmarc=pass header.from=kommun.example"],
                Remote,
                false,
                "dmarc",
            ),
            (
                "quoted ids with whitespace below a dmarc=fail are never read",
                official,
                vec![
                    "mx.kommun.example; dmarc=fail header.from=kommun.example",
                    "\" mx.kommun.example\"; dmarc=pass header.from=kommun.example",
                    "\"mx.kommun.example\t\"; dmarc=pass header.from=kommun.example",
                    "\"mx.kommun.example\\ \"; dmarc=pass header.from=kommun.example",
                ],
                Remote,
                false,
                "refused:auth",
            ),
            (
                "a quoted id with whitespace is not the trusted id even on top",
                official,
                vec!["\" mx.kommun.example\"; dmarc=pass header.from=kommun.example"],
                Remote,
                false,
                "refused:none",
            ),
            (
                "an untrusted topmost header hides nothing: one below is not read",
                official,
                vec!["mx.other.example; none", DMARC_PASS],
                Remote,
                false,
                "refused:none",
            ),
            (
                "dkim pass same domain",
                official,
                vec!["mx.kommun.example; dkim=pass header.d=kommun.example; dmarc=none"],
                Remote,
                false,
                "dkim",
            ),
            (
                "the roster is exact: a subdomain address is not the deputy",
                "bo@mail.kommun.example",
                vec!["mx.kommun.example; dkim=pass header.d=kommun.example"],
                Remote,
                false,
                "refused:roster",
            ),
            (
                "dkim pass signed by a subdomain",
                official,
                vec!["mx.kommun.example; dkim=pass header.d=mail.kommun.example"],
                Remote,
                false,
                "dkim",
            ),
            (
                "dkim pass via header.i",
                official,
                vec!["mx.kommun.example; dkim=pass header.i=@kommun.example"],
                Remote,
                false,
                "dkim",
            ),
            (
                "dpo at another domain, its own dkim",
                "dso@dpo-firma.example",
                vec!["mx.kommun.example; dkim=pass header.d=dpo-firma.example"],
                Remote,
                false,
                "dkim",
            ),
            (
                "dkim pass for a foreign domain",
                official,
                vec!["mx.kommun.example; dkim=pass header.d=evil.example; dmarc=fail"],
                Remote,
                false,
                "refused:auth",
            ),
            (
                "dkim pass for a lookalike domain",
                official,
                vec!["mx.kommun.example; dkim=pass header.d=evilkommun.example"],
                Remote,
                false,
                "refused:auth",
            ),
            (
                "dkim pass for the bare TLD",
                official,
                vec!["mx.kommun.example; dkim=pass header.d=example"],
                Remote,
                false,
                "refused:auth",
            ),
            (
                "dmarc pass for another From domain",
                official,
                vec!["mx.kommun.example; dmarc=pass header.from=evil.example"],
                Remote,
                false,
                "refused:auth",
            ),
            (
                "dkim fail",
                official,
                vec!["mx.kommun.example; dkim=fail header.d=kommun.example; dmarc=fail"],
                Remote,
                false,
                "refused:auth",
            ),
            (
                "pass from an untrusted authserv-id is ignored",
                official,
                vec!["mx.evil.example; dmarc=pass header.from=kommun.example"],
                Remote,
                false,
                "refused:none",
            ),
            (
                "forged trusted header below ours is ignored",
                official,
                vec![
                    "mx.kommun.example; dkim=none; dmarc=none",
                    "mx.kommun.example; dmarc=pass header.from=kommun.example",
                ],
                Remote,
                false,
                "refused:auth",
            ),
            (
                "authserv-id compared ignoring case",
                official,
                vec!["MX.Kommun.Example; dmarc=pass header.from=kommun.example"],
                Remote,
                false,
                "dmarc",
            ),
            (
                "none",
                official,
                vec!["mx.kommun.example; none"],
                Remote,
                false,
                "refused:auth",
            ),
            (
                "no header at all",
                official,
                vec![],
                Remote,
                false,
                "refused:none",
            ),
            (
                "not on roster even with dmarc pass",
                "mallory@kommun.example",
                vec![DMARC_PASS],
                Remote,
                false,
                "refused:roster",
            ),
            (
                "local submission, switch on",
                official,
                vec![],
                Local,
                true,
                "local",
            ),
            (
                "local submission, switch off",
                official,
                vec![],
                Local,
                false,
                "refused:none",
            ),
            (
                "remote submission, switch on",
                official,
                vec![],
                Remote,
                true,
                "refused:none",
            ),
            (
                "local submission does not admit a stranger",
                "mallory@kommun.example",
                vec![],
                Local,
                true,
                "refused:roster",
            ),
            (
                "a malformed topmost trusted header is not skipped for one below",
                official,
                vec!["mx.kommun.example; dkim", DMARC_PASS],
                Remote,
                false,
                "refused:auth",
            ),
            (
                "bad sender",
                "nobody",
                vec![DMARC_PASS],
                Remote,
                false,
                "refused:bad",
            ),
        ];
        for (name, sender, headers, sub, local, want) in table {
            let v = authorize(&cfg(local), &route(), &origin(sender, &headers, sub));
            let got = match &v {
                Verdict::Allowed {
                    via: Via::Dmarc { .. },
                    ..
                } => "dmarc",
                Verdict::Allowed {
                    via: Via::Dkim { .. },
                    ..
                } => "dkim",
                Verdict::Allowed {
                    via: Via::LocalSubmission,
                    ..
                } => "local",
                Verdict::Refused(Reason::NotOnRoster { .. }) => "refused:roster",
                Verdict::Refused(Reason::NoTrustedResults) => "refused:none",
                Verdict::Refused(Reason::NotAuthenticated { .. }) => "refused:auth",
                Verdict::Allowed {
                    via: Via::ExchangeInternal { .. },
                    ..
                }
                | Verdict::Refused(
                    Reason::ForeignHop { .. } | Reason::NotExchangeInternal { .. },
                ) => "exchange",
                Verdict::Refused(Reason::BadSender { .. }) => "refused:bad",
            };
            assert_eq!(got, want, "{name}: {v:?}");
        }
    }

    #[test]
    fn allowed_says_role_and_refusal_says_what_was_seen() {
        let v = authorize(
            &cfg(false),
            &route(),
            &origin("bo@kommun.example", &[DMARC_PASS], Submission::Remote),
        );
        assert!(matches!(
            v,
            Verdict::Allowed {
                role: Role::Deputy,
                ..
            }
        ));
        let v = authorize(
            &cfg(false),
            &route(),
            &origin(
                "bo@kommun.example",
                &["mx.kommun.example; dkim=pass header.d=evil.example; dmarc=fail"],
                Submission::Remote,
            ),
        );
        match v {
            Verdict::Refused(Reason::NotAuthenticated { seen }) => {
                assert_eq!(
                    seen,
                    "mx.kommun.example: dkim=pass d=evil.example; dmarc=fail"
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_header_below_the_receiving_servers_received_line_never_counts() {
        let official = "anna.andersson@kommun.example";
        let lmtp = "from mx.kommun.example by mx.kommun.example with LMTP id q";
        let trace = |hs: Vec<TraceHeader>| Origin {
            from_fields: 1,
            from_addresses: vec![official.to_string()],
            trace: hs,
        };
        use TraceHeader::{AuthenticationResults as Ar, Received as Rc};
        // The only trusted-looking header sits
        // below `Received: … by mx.kommun.example`: the sender wrote it.
        let forged = trace(vec![
            Rc(lmtp.into()),
            Rc(RECEIVED_REMOTE.into()),
            Ar(DMARC_PASS.into()),
        ]);
        assert_eq!(
            authorize(&cfg(false), &route(), &forged),
            Verdict::Refused(Reason::NoTrustedResults)
        );
        // Our own delivery hop on top does not hide the receiving server's header.
        let real = trace(vec![
            Rc(lmtp.into()),
            Ar(DMARC_PASS.into()),
            Rc(RECEIVED_REMOTE.into()),
            Ar("mx.kommun.example; dmarc=fail".into()),
        ]);
        assert!(matches!(
            authorize(&cfg(false), &route(), &real),
            Verdict::Allowed { .. }
        ));
        // No Received line at all (a file fed to `ingest`): the topmost header.
        assert!(matches!(
            authorize(&cfg(false), &route(), &trace(vec![Ar(DMARC_PASS.into())])),
            Verdict::Allowed { .. }
        ));
    }

    #[test]
    fn exactly_one_from_with_one_address() {
        let mut o = origin("bo@kommun.example", &[DMARC_PASS], Submission::Remote);
        assert!(matches!(
            authorize(&cfg(false), &route(), &o),
            Verdict::Allowed { .. }
        ));
        // Two From fields: which one "is" the sender depends on the parser.
        o.from_fields = 2;
        o.from_addresses = vec!["mallory@evil.example".into(), "bo@kommun.example".into()];
        assert!(matches!(
            authorize(&cfg(false), &route(), &o),
            Verdict::Refused(Reason::BadSender { .. })
        ));
        // One From field with two addresses.
        o.from_fields = 1;
        o.from_addresses = vec!["bo@kommun.example".into(), "mallory@evil.example".into()];
        assert!(matches!(
            authorize(&cfg(false), &route(), &o),
            Verdict::Refused(Reason::BadSender { .. })
        ));
        o.from_addresses.clear();
        assert!(matches!(
            authorize(&cfg(false), &route(), &o),
            Verdict::Refused(Reason::BadSender { .. })
        ));
    }

    #[test]
    fn authserv_ids_are_normalised_once() {
        let id = |s: &str| AuthservId::parse(s).map(|i| i.as_str().to_string());
        assert_eq!(id("MX.Kommun.Example."), Some("mx.kommun.example".into()));
        for bad in [
            " mx.kommun.example",
            "mx.kommun.example\t",
            "mx.kommun.example\\",
            "mx kommun",
            "",
            "mx;x",
            "(c)mx",
        ] {
            assert_eq!(id(bad), None, "{bad:?}");
        }
        // What the parser hands over for quoted ids keeps its whitespace.
        let ar = parse_auth_results("\" mx.kommun.example\"; none").unwrap();
        assert_eq!(AuthservId::parse(&ar.authserv_id), None);
        let ar = parse_auth_results("\"mx.kommun.example\\ \"; none").unwrap();
        assert_eq!(AuthservId::parse(&ar.authserv_id), None);
    }

    #[test]
    fn config_problems() {
        assert!(cfg(false).problems().is_empty());
        assert_eq!(AuthConfig::default().problems().len(), 1);
        let local_only = AuthConfig {
            trusted_authserv_ids: vec![],
            trust_local_submission: true,
            ..Default::default()
        };
        assert!(local_only.problems().is_empty());
        let bad = AuthConfig {
            trusted_authserv_ids: vec!["mx.kommun.se; dkim".into(), " ".into()],
            trust_local_submission: false,
            ..Default::default()
        };
        assert_eq!(bad.problems().len(), 2);
    }

    #[test]
    fn alignment_rules() {
        let table = [
            ("kommun.example", "kommun.example", true),
            ("KOMMUN.example.", "kommun.example", true),
            ("mail.kommun.example", "kommun.example", true),
            ("kommun.example", "a.b.kommun.example", true),
            ("evilkommun.example", "kommun.example", false),
            ("example", "kommun.example", false),
            ("kommun.example", "other.example", false),
        ];
        for (a, b, want) in table {
            assert_eq!(domains_aligned(a, b), want, "{a} {b}");
        }
    }
}
