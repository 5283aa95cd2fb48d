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
}
