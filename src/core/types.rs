//! Newtypes shared across the core and the shell: things that must not be mixed up.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A case reference such as `PUI-2026-0007`: prefix, year and a per-year sequence.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CaseRef(String);

impl CaseRef {
    /// Builds the reference for sequence `seq` of `year` with `prefix` (e.g. "PUI").
    pub fn new(prefix: &str, year: i32, seq: u32) -> Self {
        CaseRef(format!("{prefix}-{year}-{seq:04}"))
    }

    /// Accepts `PREFIX-YYYY-NNNN` (the sequence may have more than four digits).
    pub fn parse(prefix: &str, s: &str) -> Option<Self> {
        let rest = s.strip_prefix(prefix)?.strip_prefix('-')?;
        let (year, seq) = rest.split_once('-')?;
        if year.len() == 4
            && year.bytes().all(|b| b.is_ascii_digit())
            && seq.len() >= 4
            && seq.bytes().all(|b| b.is_ascii_digit())
        {
            Some(CaseRef(s.to_string()))
        } else {
            None
        }
    }

    /// Wraps a reference read back from our own database.
    pub fn from_stored(s: String) -> Self {
        CaseRef(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CaseRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A plain mail address: `local@domain`, lower-cased, with a dot-atom local
/// part of at most 64 octets and a host-name domain. This is the only shape
/// breachwatch ever mails: quoted local parts, route syntax and the relay
/// tricks `%` and `!` (which forward to another host) are not plain, nor is
/// anything with a second `@`, whitespace or a display name. Every address
/// accepted here is also accepted by the SMTP library (a property test holds
/// the two together), so a recipient chosen from it can always be composed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PlainAddress(String);

/// Why an address is not mailed (for the timeline; never logged in clear).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    #[error("not a single local@domain address")]
    Shape,
    #[error(
        "the local part is not a plain dot-atom (quotes, %, !, route syntax or other specials)"
    )]
    LocalPart,
    #[error("the local part is longer than 64 octets")]
    LocalTooLong,
    #[error("the domain is not a host name")]
    Domain,
    #[error("the address is longer than 254 octets")]
    TooLong,
    #[error("the address is outside the internal domains")]
    Outside,
}

/// atext of RFC 5322 without `%` and `!` (relay syntax) and without `/`, `|`
/// and `` ` `` that some MTAs hand to programs or files.
fn plain_atext(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'#' | b'$'
                | b'&'
                | b'\''
                | b'*'
                | b'+'
                | b'-'
                | b'='
                | b'?'
                | b'^'
                | b'_'
                | b'{'
                | b'}'
                | b'~'
        )
}

impl PlainAddress {
    /// Parses a bare address (no display name, no angle brackets); surrounding
    /// whitespace is trimmed and the result lower-cased.
    pub fn parse(s: &str) -> Result<Self, AddressError> {
        let s = s.trim();
        if s.len() > 254 {
            return Err(AddressError::TooLong);
        }
        let (local, domain) = s.split_once('@').ok_or(AddressError::Shape)?;
        if domain.contains('@') {
            return Err(AddressError::Shape);
        }
        if local.len() > 64 {
            return Err(AddressError::LocalTooLong);
        }
        let atoms_ok = !local.is_empty()
            && local
                .split('.')
                .all(|atom| !atom.is_empty() && atom.bytes().all(plain_atext));
        if !atoms_ok {
            return Err(AddressError::LocalPart);
        }
        let domain = domain.strip_suffix('.').unwrap_or(domain);
        let labels_ok = domain.len() <= 253
            && domain.contains('.')
            && domain.split('.').all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            });
        if !labels_ok {
            return Err(AddressError::Domain);
        }
        Ok(PlainAddress(format!(
            "{}@{}",
            local.to_ascii_lowercase(),
            domain.to_ascii_lowercase()
        )))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The domain, lower-cased.
    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map(|(_, d)| d).unwrap_or("")
    }

    /// In one of `domains` (or a subdomain of one).
    pub fn is_in(&self, domains: &[String]) -> bool {
        let domain = self.domain();
        domains.iter().any(|d| {
            let d = d.trim().trim_end_matches('.').to_ascii_lowercase();
            !d.is_empty() && (domain == d || domain.ends_with(&format!(".{d}")))
        })
    }

    /// A short stable hash of the address for logs (addresses never appear in
    /// logs in clear).
    pub fn log_hash(&self) -> String {
        log_name(&self.0)
    }
}

impl fmt::Display for PlainAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The plain internal address `address` is, if it is one: what breachwatch may
/// mail. Anything else (an outside domain, or an address that is not plain)
/// is never a recipient.
pub fn mailable(domains: &[String], address: &str) -> Result<PlainAddress, AddressError> {
    let a = PlainAddress::parse(address)?;
    if a.is_in(domains) {
        Ok(a)
    } else {
        Err(AddressError::Outside)
    }
}

/// True when `address` is a plain address in one of `domains` (or a subdomain
/// of one): the one test of "internal" everywhere.
pub fn is_internal(domains: &[String], address: &str) -> bool {
    PlainAddress::parse(address).is_ok_and(|a| a.is_in(domains))
}

/// A short, stable name for an address in logs: the first 12 hex digits of
/// the SHA-256 of the trimmed, lower-cased address. Logs may not carry
/// addresses in clear; the same address always gives the same name, so a log
/// line can still be matched with the register by whoever may read both.
pub fn addr_hash(address: &str) -> String {
    log_name(&address.trim().to_lowercase())
}

/// The logs' one short name for a value they may not show: the first 12 hex
/// digits of its SHA-256.
fn log_name(value: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(&Sha256::digest(value.as_bytes())[..6])
}

/// A short, stable name for a Message-ID in logs: the first 12 hex digits
/// of the SHA-256 of the id without its angle brackets, or "-" for none. A
/// Message-ID is the sender's text and often carries an address or a name
/// (`<1733.anna.svensson@…>`): logs name it by this, and whoever may read the
/// register finds the message by hashing its recorded id the same way.
pub fn message_id_hash(id: Option<&str>) -> String {
    match id.map(|i| i.trim().trim_start_matches('<').trim_end_matches('>')) {
        Some(i) if !i.is_empty() => log_name(i),
        _ => "-".into(),
    }
}

/// `text` with every address-like word (`local@domain.tld`) replaced by
/// `addr:<addr_hash>`: for error texts from servers and libraries (an SMTP
/// refusal quotes the recipient) before they reach a log line.
pub fn redact_addresses(text: &str) -> String {
    // Characters that cannot be part of an unquoted address, so they end one.
    let delimiter = |c: char| c.is_whitespace() || "<>\"'(),;:[]{}|".contains(c);
    let mut out = String::with_capacity(text.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        // A sentence may end right after an address: the full stop stays.
        let address = word.trim_end_matches('.');
        if looks_like_address(address) {
            out.push_str("addr:");
            out.push_str(&addr_hash(address));
            out.push_str(&word[address.len()..]);
        } else {
            out.push_str(word);
        }
        word.clear();
    };
    for c in text.chars() {
        if delimiter(c) {
            flush(&mut word, &mut out);
            out.push(c);
        } else {
            word.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

fn looks_like_address(word: &str) -> bool {
    match word.rsplit_once('@') {
        Some((local, domain)) => !local.is_empty() && domain.contains('.'),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn internal() -> Vec<String> {
        vec!["example.test".to_string()]
    }

    #[test]
    fn plain_addresses_only() {
        let ok = |s: &str| PlainAddress::parse(s).map(|a| a.to_string());
        assert_eq!(
            ok(" Official@Example.Test ").unwrap(),
            "official@example.test"
        );
        assert_eq!(
            ok("a.b+tag@sub.example.test.").unwrap(),
            "a.b+tag@sub.example.test"
        );
        assert_eq!(
            ok(&format!("{}@example.test", "x".repeat(64))).map(|_| ()),
            Ok(())
        );
        // Addresses that slip past naive checks: each refused, none mailed.
        for (bad, why) in [
            (
                format!("{}@example.test", "x".repeat(65)),
                AddressError::LocalTooLong,
            ),
            ("\"x@evil\"@example.test".to_string(), AddressError::Shape),
            ("\"x\"@example.test".to_string(), AddressError::LocalPart),
            ("a@b@example.test".to_string(), AddressError::Shape),
            (
                "victim%external.example@example.test".to_string(),
                AddressError::LocalPart,
            ),
            (
                "external.example!victim@example.test".to_string(),
                AddressError::LocalPart,
            ),
            (
                "@relay.example:victim@example.test".to_string(),
                AddressError::Shape,
            ),
            ("a..b@example.test".to_string(), AddressError::LocalPart),
            (".a@example.test".to_string(), AddressError::LocalPart),
            ("a b@example.test".to_string(), AddressError::LocalPart),
            ("Name <a@example.test>".to_string(), AddressError::LocalPart),
            ("a@localhost".to_string(), AddressError::Domain),
            ("a@[127.0.0.1]".to_string(), AddressError::Domain),
            ("a@exa_mple.test".to_string(), AddressError::Domain),
            ("a@-x.example.test".to_string(), AddressError::Domain),
            ("no-at-sign".to_string(), AddressError::Shape),
            (format!("a@{}.test", "b".repeat(250)), AddressError::TooLong),
        ] {
            assert_eq!(PlainAddress::parse(&bad), Err(why), "{bad}");
            assert!(!is_internal(&internal(), &bad), "{bad}");
        }
    }

    #[test]
    fn internal_means_a_plain_address_in_an_internal_domain() {
        let d = internal();
        assert!(is_internal(&d, "a@example.test"));
        assert!(is_internal(&d, "a@sub.example.test"));
        assert!(!is_internal(&d, "a@badexample.test"));
        assert!(!is_internal(&d, "a@example.test.evil.example"));
        assert_eq!(mailable(&d, "a@evil.example"), Err(AddressError::Outside));
        assert_eq!(
            mailable(&d, "A@Example.Test").map(|a| a.to_string()),
            Ok("a@example.test".to_string())
        );
    }

    #[test]
    fn every_plain_address_is_one_lettre_accepts() {
        // The address the core accepts must be one the SMTP library can send to:
        // a sample of edge shapes (the property test walks generated ones).
        for a in [
            "a@example.test",
            "a.b.c@example.test",
            "#$&'*+-=?^_{}~@example.test",
            &format!("{}@example.test", "x".repeat(64)),
            &format!("a@{}.example.test", "d".repeat(63)),
        ] {
            let p = PlainAddress::parse(a).expect(a);
            assert!(
                p.as_str().parse::<lettre::Address>().is_ok(),
                "lettre refuses {a}"
            );
        }
    }

    #[test]
    fn case_ref_round_trips_and_rejects_junk() {
        let r = CaseRef::new("PUI", 2026, 7);
        assert_eq!(r.as_str(), "PUI-2026-0007");
        assert_eq!(CaseRef::parse("PUI", "PUI-2026-0007"), Some(r));
        assert_eq!(CaseRef::parse("PUI", "PUI-26-0007"), None);
        assert_eq!(CaseRef::parse("PUI", "XYZ-2026-0007"), None);
        assert_eq!(CaseRef::parse("PUI", "PUI-2026-07"), None);
    }

    #[test]
    fn a_message_id_is_logged_as_a_hash_of_the_id_without_brackets() {
        let id = "1733.anna.svensson@kommun.example";
        let h = message_id_hash(Some(&format!("<{id}>")));
        assert_eq!(h.len(), 12);
        assert!(h.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(h, message_id_hash(Some(id)));
        assert_eq!(h, message_id_hash(Some(&format!(" <{id}> "))));
        assert!(!h.contains("anna"));
        // The local part of an id is the sender's text: case tells ids apart.
        assert_ne!(h, message_id_hash(Some(&id.to_uppercase())));
        assert_eq!(message_id_hash(None), "-");
        assert_eq!(message_id_hash(Some("<>")), "-");
    }

    #[test]
    fn addr_hash_is_short_stable_and_case_blind() {
        let h = addr_hash("Olivia.Official@Example.test");
        assert_eq!(h.len(), 12);
        assert!(h.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(h, addr_hash(" olivia.official@example.test "));
        assert_ne!(h, addr_hash("dora.dpo@example.test"));
    }

    #[test]
    fn addresses_in_error_texts_are_replaced_by_their_hash() {
        let e = "permanent error (550): 5.1.1 <Olivia@Example.test>: Recipient address rejected, from x@y.example.";
        let r = redact_addresses(e);
        assert!(!r.to_lowercase().contains("olivia"), "{r}");
        assert!(!r.contains("x@y"), "{r}");
        assert!(
            r.ends_with(&format!("from addr:{}.", addr_hash("x@y.example"))),
            "{r}"
        );
        assert!(r.contains(&format!("<addr:{}>", addr_hash("olivia@example.test"))));
        assert!(r.starts_with("permanent error (550): 5.1.1 <addr:"));
        assert_eq!(
            redact_addresses("no address @ here, a@b"),
            "no address @ here, a@b"
        );
    }
}
