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
//! Trust model (RFC 8601 §5): anyone can add an `Authentication-Results` header, so
//! only headers whose authserv-id is in the configured trusted list count, and of
//! those only the topmost one per authserv-id: our MTA prepends its own header
//! above whatever the message carried. The trusted MTA must also remove incoming
//! headers that claim its authserv-id (OpenDKIM/OpenDMARC/rspamd do); that is a
//! deployment requirement written in the operations guide.

use serde::{Deserialize, Serialize};

use super::routing::Route;

/// Configuration of the decision (part of the daemon's config).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
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
        if self.trusted_authserv_ids.is_empty() && !self.trust_local_submission {
            out.push(
                "auth.trusted_authserv_ids is empty and trust_local_submission is off: no reply can ever command a case"
                    .to_string(),
            );
        }
        for id in &self.trusted_authserv_ids {
            let id = id.trim();
            if id.is_empty() || id.contains(|c: char| c.is_whitespace() || c == ';') {
                out.push(format!(
                    "auth.trusted_authserv_ids: {id:?} is not an authserv-id (a host name such as \"mx.kommun.se\")"
                ));
            }
        }
        out
    }
}

/// What the shell observed about how the message entered the mail system.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Submission {
    /// The top `Received` header is from the trusted local MTA on 127.0.0.1/::1
    /// with no hop from outside before it.
    Local,
    /// Anything else, including "could not tell".
    Remote,
}

/// Reads how a message reached us from its `Received` headers, topmost first (our
/// own MTA's are on top). Local delivery hops (LMTP) are skipped; the first SMTP
/// hop decides: a client connected from 127.0.0.1 or ::1 means local submission.
/// Lower headers are not looked at: anyone can write those.
pub fn submission_from_received(received: &[&str]) -> Submission {
    for h in received {
        let lower = h.to_ascii_lowercase();
        if lower.contains("with lmtp") {
            continue;
        }
        let from_clause = lower.split(" by ").next().unwrap_or("");
        return if from_clause.contains("[127.0.0.1]") || from_clause.contains("[::1]") {
            Submission::Local
        } else {
            Submission::Remote
        };
    }
    Submission::Remote
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

/// How the message was found to be authentic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "via", rename_all = "snake_case")]
pub enum Via {
    Dmarc { authserv_id: String },
    Dkim { authserv_id: String, domain: String },
    LocalSubmission,
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
    let same = |c: &super::routing::Contact| bare_address(&c.address).as_deref() == Some(&s);
    if same(&route.official) {
        Some(Role::Official)
    } else if same(&route.deputy) {
        Some(Role::Deputy)
    } else if same(&route.dpo) {
        Some(Role::Dpo)
    } else if route.coordinator.as_ref().is_some_and(same) {
        Some(Role::Coordinator)
    } else {
        None
    }
}

/// Decides whether `sender` may command the case routed by `route`.
/// `auth_results` are the raw values of every `Authentication-Results` header,
/// topmost first.
pub fn authorize(
    cfg: &AuthConfig,
    route: &Route,
    sender: &str,
    auth_results: &[&str],
    submission: Submission,
) -> Verdict {
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
    let trusted = |id: &str| {
        cfg.trusted_authserv_ids
            .iter()
            .any(|t| t.trim().eq_ignore_ascii_case(id.trim()))
    };
    // Topmost header per trusted authserv-id; malformed headers are skipped (they
    // cannot prove anything) but do not hide a later well-formed one from another
    // trusted id.
    let mut used: Vec<AuthResults> = Vec::new();
    for raw in auth_results {
        let ar = match parse_auth_results(raw) {
            Ok(ar) => ar,
            // A malformed header still takes its authserv-id's slot, with no
            // results: otherwise a forged well-formed header below our own could
            // stand in for it.
            Err(_) => match leading_authserv_id(raw) {
                Some(id) => AuthResults {
                    authserv_id: id,
                    version: None,
                    results: Vec::new(),
                },
                None => continue,
            },
        };
        if !trusted(&ar.authserv_id)
            || used
                .iter()
                .any(|u| u.authserv_id.eq_ignore_ascii_case(&ar.authserv_id))
        {
            continue;
        }
        used.push(ar);
    }
    // DMARC first: it is the stronger statement (alignment checked by the
    // verifier against its policy), so the record names it when both pass.
    let passes = || {
        used.iter()
            .flat_map(|ar| ar.results.iter().map(move |ri| (ar, ri)))
            .filter(|(_, ri)| ri.result == "pass")
    };
    for (ar, ri) in passes() {
        if ri.method == "dmarc" {
            // When the verifier names the From domain it checked, it must be
            // the sender's; otherwise the result is about the same From.
            let from_ok = ri
                .prop("header.from")
                .map(|d| {
                    let d = address_domain(d).unwrap_or_else(|| d.to_ascii_lowercase());
                    d == sender_domain
                })
                .unwrap_or(true);
            if from_ok {
                return Verdict::Allowed {
                    role,
                    via: Via::Dmarc {
                        authserv_id: ar.authserv_id.clone(),
                    },
                };
            }
        }
    }
    for (ar, ri) in passes() {
        if ri.method == "dkim" {
            let d = ri
                .prop("header.d")
                .map(|d| d.to_ascii_lowercase())
                .or_else(|| {
                    ri.prop("header.i").and_then(|i| {
                        i.rsplit_once('@')
                            .map(|(_, d)| d.to_ascii_lowercase())
                            .or_else(|| Some(i.to_ascii_lowercase()))
                    })
                });
            if let Some(d) = d {
                if domains_aligned(&d, &sender_domain) {
                    return Verdict::Allowed {
                        role,
                        via: Via::Dkim {
                            authserv_id: ar.authserv_id.clone(),
                            domain: d,
                        },
                    };
                }
            }
        }
    }
    if cfg.trust_local_submission && submission == Submission::Local {
        return Verdict::Allowed {
            role,
            via: Via::LocalSubmission,
        };
    }
    if used.is_empty() {
        return Verdict::Refused(Reason::NoTrustedResults);
    }
    let seen = used
        .iter()
        .map(|ar| {
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
            format!("{}: {rs}", ar.authserv_id)
        })
        .collect::<Vec<_>>()
        .join(" | ");
    Verdict::Refused(Reason::NotAuthenticated { seen })
}

#[cfg(test)]
mod received_tests {
    use super::*;

    #[test]
    fn only_the_top_smtp_hop_counts_for_local_submission() {
        let lmtp = "from mail.example.test by mail.example.test with LMTP id x (envelope-from <a@example.test>); Sun, 22 Nov 2026 05:24:33 +0000";
        let local = "from vm (localhost [127.0.0.1]) by mail.example.test (Postfix) with ESMTP id 7E; Sun, 22 Nov 2026 05:24:33 +0000";
        let remote = "from mx.evil.example (mx.evil.example [203.0.113.9]) by mail.example.test (Postfix) with ESMTPS id 9; Sun, 22 Nov 2026 05:24:33 +0000";
        assert_eq!(submission_from_received(&[lmtp, local]), Submission::Local);
        // A forged "local" header below a real remote hop does not count.
        assert_eq!(
            submission_from_received(&[lmtp, remote, local]),
            Submission::Remote
        );
        assert_eq!(submission_from_received(&[]), Submission::Remote);
        assert_eq!(submission_from_received(&[lmtp]), Submission::Remote);
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
                "bo@kommun.example",
                &[&s],
                Submission::Remote,
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
                "dmarc pass without header.from",
                official,
                vec!["mx.kommun.example; dmarc=pass"],
                Remote,
                false,
                "dmarc",
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
                vec!["MX.Kommun.Example; dmarc=pass"],
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
            let v = authorize(&cfg(local), &route(), sender, &headers, sub);
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
            "bo@kommun.example",
            &[DMARC_PASS],
            Submission::Remote,
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
            "bo@kommun.example",
            &["mx.kommun.example; dkim=pass header.d=evil.example; dmarc=fail"],
            Submission::Remote,
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
    fn config_problems() {
        assert!(cfg(false).problems().is_empty());
        assert_eq!(AuthConfig::default().problems().len(), 1);
        let local_only = AuthConfig {
            trusted_authserv_ids: vec![],
            trust_local_submission: true,
        };
        assert!(local_only.problems().is_empty());
        let bad = AuthConfig {
            trusted_authserv_ids: vec!["mx.kommun.se; dkim".into(), " ".into()],
            trust_local_submission: false,
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
