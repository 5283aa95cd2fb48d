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

/// True when `address` is in one of `domains` (or a subdomain of one).
pub fn is_internal(domains: &[String], address: &str) -> bool {
    let Some((_, domain)) = address.trim().rsplit_once('@') else {
        return false;
    };
    let domain = domain.trim_end_matches('>').to_lowercase();
    domains.iter().any(|d| {
        let d = d.to_lowercase();
        domain == d || domain.ends_with(&format!(".{d}"))
    })
}

/// A short, stable name for an address in logs: the first 12 hex digits of
/// the SHA-256 of the trimmed, lower-cased address. Logs may not carry
/// addresses in clear; the same address always gives the same name, so a log
/// line can still be matched with the register by whoever may read both.
pub fn addr_hash(address: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(address.trim().to_lowercase().as_bytes());
    let mut h = hex::encode(digest);
    h.truncate(12);
    h
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
