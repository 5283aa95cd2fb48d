//! Case joining without thread headers or a case reference: which existing case
//! a message belongs to, if any. Pure; the shell looks up the candidates (one
//! indexed query each) and passes them in.
//!
//! The rules, strongest first, and why:
//!
//! - **The same notice** (its own Message-ID, or the Message-ID of the message
//!   forwarded as an attachment, or the same normalised text of the innermost
//!   notice with the same attached documents) joins the case that holds it,
//!   whatever its kind: two colleagues
//!   forwarding one supplier mail, or a supplier writing to two addresses that
//!   both reach the mailbox, is one incident. The earliest receipt still starts
//!   the clock: an earlier receipt moves the case's `aware_at`.
//! - **A breach notice never joins by resemblance.** A new notice from a
//!   supplier with an open case may be a new incident about the same system;
//!   attaching it would give it no clock and no opening notice. It opens its
//!   own case; when it looks like the same incident (a system in common, the
//!   discovery time not different) the official is told which case it may
//!   belong to ([`Verdict::Hint`]).
//! - **A follow-up joins the supplier's open case of the same incident**: same
//!   supplier (mail domain, subdomains included, or organisation name), within
//!   the window around the case, no contradicting system, no discovery time
//!   more than an hour from the case's, and a system in common, or (none
//!   named) shared facts, or the supplier's only open case. With several
//!   candidates the best overlap wins and the reasons are given. A follow-up
//!   that names another discovery time may be a new incident that calls
//!   itself an update: it opens its own case, which names the case it may
//!   belong to ([`Verdict::Hint`]).
//! - Anything else (out-of-office, newsletters, other mail) never joins by
//!   resemblance.

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::notice::{Kind, Notice};

/// Default series window in days (`workflow.series_window_days`).
pub const DEFAULT_WINDOW_DAYS: i64 = 14;

/// Normalised text shorter than this (letters and digits) is too generic to
/// identify a notice ("Se bifogad fil.").
const MIN_TEXT_CHARS: usize = 80;

/// How much of a notice's text the hash covers; the reader bounds the text too.
const MAX_TEXT_BYTES: usize = 64 * 1024;

/// How many candidate cases of one supplier are considered (the store query's
/// limit): a supplier with more open cases in the window is not a series.
pub const MAX_CANDIDATES: usize = 50;

/// Discovery times further apart than this are different discoveries.
const SAME_DISCOVERY_SECS: i64 = 3600;

/// What identifies a notice across forwards and copies, stored on the message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identity {
    /// The notice's own Message-ID (see `Notice::notice_message_id`), without brackets.
    pub notice_message_id: Option<String>,
    /// SHA-256 (hex) of the innermost notice's normalised text, when long enough.
    pub text_hash: Option<String>,
}

/// The identity of an incident message; other kinds of mail have none (a
/// reply or an out-of-office must not be taken for a notice).
pub fn identity(n: &Notice) -> Identity {
    if !n.kind.is_incident() {
        return Identity::default();
    }
    let id = n
        .notice_message_id
        .as_deref()
        .map(|m| m.trim().trim_start_matches('<').trim_end_matches('>'))
        .filter(|m| !m.is_empty() && m.len() <= 998)
        .map(str::to_string);
    Identity {
        notice_message_id: id,
        // The reader hashed the text once (`Notice::notice_text_hash`).
        text_hash: n.notice_text_hash.clone(),
    }
}

/// Hash of the text with everything but letters and digits removed and lower
/// case: forwarding clients rewrap lines, change quotes, spaces and dashes,
/// but keep the words.
pub fn text_hash(text: &str) -> Option<String> {
    text_and_documents_hash(text, None)
}

/// [`text_hash`] of a notice with documents attached: the text and the
/// documents' digest together (the same covering text with another report
/// is another notice). None when the text is too short, documents or not.
pub fn text_and_documents_hash(text: &str, documents: Option<&[u8; 32]>) -> Option<String> {
    let text = super::notice::text_prefix(text, MAX_TEXT_BYTES);
    let norm: String = text
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect();
    if norm.chars().count() < MIN_TEXT_CHARS {
        return None;
    }
    let mut h = Sha256::new();
    h.update(norm.as_bytes());
    if let Some(d) = documents {
        // No normalised text holds a NUL: the two parts cannot run together.
        h.update(b"\0documents\0");
        h.update(d);
    }
    Some(hex::encode(h.finalize()))
}

/// Whether a case that holds a notice with the same normalised text holds
/// this one (a copy: another forward, another address) and not another
/// notice in the same words (a template: the next outage, a colleague's
/// report in the intranet's wording). A copy is received within `window`
/// of the case's awareness (any of `times`, the message's receipt and its
/// chain's earliest), and its reporter (address, organisation) is the
/// case's when both are known and of one kind: two of ours by address, two
/// outside by supplier (a registered domain or an organisation in common:
/// a supplier's notice again from another of its addresses is a copy). A
/// forward the reader could not unwrap names the forwarder, one of ours,
/// and is not told apart from a supplier's by that.
pub fn same_text_is_a_copy(
    times: &[DateTime<Utc>],
    reporter: (Option<&str>, Option<&str>),
    case_aware_at: DateTime<Utc>,
    case_reporter: (Option<&str>, Option<&str>),
    window: Duration,
    internal_domains: &[String],
) -> bool {
    let near = times
        .iter()
        .any(|t| (*t - case_aware_at).num_seconds().abs() <= window.num_seconds());
    let other_reporter = match (reporter.0, case_reporter.0) {
        (Some(a), Some(b)) => {
            let (ours_a, ours_b) = (
                super::types::is_internal(internal_domains, a),
                super::types::is_internal(internal_domains, b),
            );
            match (ours_a, ours_b) {
                (true, true) => !a.eq_ignore_ascii_case(b),
                (false, false) => {
                    let ka = supplier_key_of(Some(a), reporter.1, internal_domains);
                    let kb = supplier_key_of(Some(b), case_reporter.1, internal_domains);
                    // No supplier to compare (a bare name, free mail): the
                    // addresses are all there is.
                    match ka.is_empty() || kb.is_empty() {
                        true => !a.eq_ignore_ascii_case(b),
                        false => !same_supplier(&ka, &kb),
                    }
                }
                _ => false,
            }
        }
        _ => false,
    };
    near && !other_reporter
}

/// Mail providers whose domain says nothing about the organisation.
const FREEMAIL: &[&str] = &[
    "gmail.com",
    "googlemail.com",
    "outlook.com",
    "hotmail.com",
    "hotmail.se",
    "live.com",
    "live.se",
    "msn.com",
    "yahoo.com",
    "yahoo.se",
    "icloud.com",
    "me.com",
    "aol.com",
    "proton.me",
    "protonmail.com",
    "gmx.com",
    "gmx.de",
    "mail.com",
    "telia.com",
    "bredband.net",
];

/// Second-level labels under which organisations register a third level.
const TWO_LEVEL_SUFFIXES: &[&str] = &[
    "co.uk", "org.uk", "ac.uk", "gov.uk", "com.au", "net.au", "org.au", "co.nz", "co.jp", "com.br",
    "co.za", "com.cn", "com.tr",
];

/// The organisation's mail domain of an address or domain: the registered
/// domain, so that `status.provdata.example` and `mail.provdata.example` are
/// both `provdata.example`. None for a free-mail provider or no domain at all.
pub fn supplier_domain(addr_or_domain: &str) -> Option<String> {
    let d = addr_or_domain
        .rsplit('@')
        .next()?
        .trim()
        .trim_end_matches('.')
        .to_ascii_lowercase();
    if d.len() > 253 || !d.contains('.') || d.split('.').any(str::is_empty) {
        return None;
    }
    let labels: Vec<&str> = d.split('.').collect();
    let keep = if labels.len() >= 3
        && TWO_LEVEL_SUFFIXES
            .iter()
            .any(|s| d.ends_with(&format!(".{s}")))
    {
        3
    } else {
        2
    };
    let reg = labels
        .get(labels.len().saturating_sub(keep)..)
        .map(|l| l.join("."))?;
    if FREEMAIL.contains(&reg.as_str()) {
        return None;
    }
    Some(reg)
}

/// The organisation's name folded for comparison: lower case, letters and
/// digits only, legal form and words like "Sverige" left out
/// ("Provdata Sverige AB" and "PROVDATA AB" are both `provdata`).
pub fn org_key(org: &str) -> Option<String> {
    let words: Vec<&str> = org
        .split_whitespace()
        .filter(|w| !super::notice::is_legal_form(w) && !super::notice::is_region_word(w))
        .collect();
    let key: String = words
        .concat()
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .take(200)
        .collect();
    (key.chars().count() >= 3).then_some(key)
}

/// Who a supplier is, for the series lookup.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SupplierKey {
    pub domain: Option<String>,
    pub org: Option<String>,
}

impl SupplierKey {
    pub fn is_empty(&self) -> bool {
        self.domain.is_none() && self.org.is_none()
    }
}

/// The supplier who wrote the notice: the reporter's domain (not when it is
/// one of ours: colleagues are not suppliers) and organisation name.
pub fn supplier_key(n: &Notice, internal_domains: &[String]) -> SupplierKey {
    let addr = n
        .reporter
        .address
        .as_deref()
        .or(n.sender.address.as_deref());
    supplier_key_of(addr, n.reporter.organisation.as_deref(), internal_domains)
}

/// [`supplier_key`] of a reporter's address and organisation (as a case
/// keeps them).
pub fn supplier_key_of(
    addr: Option<&str>,
    organisation: Option<&str>,
    internal_domains: &[String],
) -> SupplierKey {
    let internal = addr.is_some_and(|a| super::types::is_internal(internal_domains, a));
    if internal {
        return SupplierKey::default();
    }
    SupplierKey {
        domain: addr.and_then(supplier_domain),
        org: organisation.and_then(org_key),
    }
}

/// An open case of the same supplier, as the store gives it.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub case_id: i64,
    pub case_ref: String,
    pub aware_at: DateTime<Utc>,
    pub opened_at: DateTime<Utc>,
    pub systems: Vec<String>,
    pub discovered_at: Option<DateTime<Utc>>,
    pub occurred_from: Option<DateTime<Utc>>,
    pub occurred_to: Option<DateTime<Utc>>,
    pub data_categories: Vec<String>,
    pub cause: Option<String>,
}

impl Candidate {
    /// Reads the incident facts from the case's stored inspect-v1 JSON; a
    /// field that does not parse is unknown.
    pub fn with_facts(mut self, facts: &serde_json::Value) -> Candidate {
        let i = &facts["incident"];
        let t = |k: &str| {
            i[k].as_str()
                .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
                .map(|d| d.with_timezone(&Utc))
        };
        self.discovered_at = t("discovered_at");
        self.occurred_from = t("occurred_from");
        self.occurred_to = t("occurred_to");
        self.data_categories = i["data_categories"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str())
                    .take(50)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        self.cause = i["cause"].as_str().map(str::to_string);
        self
    }
}

/// The message being placed, as the rule needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct Incoming {
    pub kind: Kind,
    /// Times the message can be placed by: its receipt and the earliest
    /// receipt in its forward chain.
    pub times: Vec<DateTime<Utc>>,
    pub systems: Vec<String>,
    pub discovered_at: Option<DateTime<Utc>>,
    pub occurred_from: Option<DateTime<Utc>>,
    pub occurred_to: Option<DateTime<Utc>>,
    pub data_categories: Vec<String>,
    pub cause: Option<String>,
    /// The local time zone: a discovery time at local midnight is a date
    /// without a time ("upptäcktes den 20 november").
    pub tz: Tz,
}

impl Incoming {
    pub fn of(n: &Notice, now: DateTime<Utc>, tz: Tz) -> Incoming {
        let mut times: Vec<DateTime<Utc>> =
            [n.received_at, n.aware_at].into_iter().flatten().collect();
        if times.is_empty() {
            times.push(now);
        }
        let i = &n.incident;
        Incoming {
            kind: n.kind,
            times,
            systems: i.systems.clone(),
            discovered_at: i.discovered_at,
            occurred_from: i.occurred_from,
            occurred_to: i.occurred_to,
            data_categories: i.data_categories.clone(),
            cause: i
                .cause
                .and_then(|c| serde_json::to_value(c).ok())
                .and_then(|v| v.as_str().map(str::to_string)),
            tz,
        }
    }
}

/// How one candidate compares with the message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Overlap {
    #[serde(rename = "case")]
    pub case_ref: String,
    #[serde(skip)]
    pub case_id: i64,
    pub score: u32,
    pub systems: Vec<String>,
    pub same_discovery: bool,
    pub periods_overlap: bool,
    pub data_categories: Vec<String>,
    pub same_cause: bool,
    /// Both name systems and none is shared: another incident.
    #[serde(skip)]
    other_system: bool,
    /// Both give a discovery time and they differ: another discovery.
    #[serde(skip)]
    other_discovery: bool,
    #[serde(skip)]
    in_window: bool,
}

impl Overlap {
    fn terms(&self) -> bool {
        self.same_discovery
            || self.periods_overlap
            || !self.data_categories.is_empty()
            || self.same_cause
    }
}

/// The chosen case and why, for the timeline and the official.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Choice {
    pub case_id: i64,
    pub case_ref: String,
    /// The reasons in Swedish, one sentence (the officials' language).
    pub why: String,
    pub overlap: Overlap,
    /// The other candidates and their scores, best first.
    pub others: Vec<Overlap>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Verdict {
    /// No case of this supplier: the usual intake decides.
    #[default]
    None,
    /// The message joins this case.
    Join(Choice),
    /// The message opens its own case, which may belong to this one.
    Hint(Choice),
}

fn norm(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Whether two discovery times are the same discovery: at most an hour
/// apart, or one is a date without a time (local midnight, as the reader
/// gives "den 20 november") and the other falls on that local date. A final
/// report's "the incident discovered on 20 November" is the notice's
/// "20 November at 14:30".
fn close(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>, tz: Tz) -> Option<bool> {
    let (a, b) = (a?, b?);
    let date_only = |t| crate::core::local_time::read_without_time(t, tz);
    let same_date = a.with_timezone(&tz).date_naive() == b.with_timezone(&tz).date_naive();
    Some(
        (a - b).num_seconds().abs() <= SAME_DISCOVERY_SECS
            || (same_date && (date_only(a) || date_only(b))),
    )
}

fn overlap(m: &Incoming, c: &Candidate, window: Duration) -> Overlap {
    let mine: Vec<String> = m.systems.iter().map(|s| norm(s)).collect();
    let systems: Vec<String> = c
        .systems
        .iter()
        .filter(|s| {
            let n = norm(s);
            !n.is_empty() && mine.contains(&n)
        })
        .cloned()
        .collect();
    let other_system = systems.is_empty() && !mine.is_empty() && !c.systems.is_empty();
    let disc = close(m.discovered_at, c.discovered_at, m.tz);
    let periods_overlap = match (
        m.occurred_from.or(m.occurred_to),
        m.occurred_to.or(m.occurred_from),
        c.occurred_from.or(c.occurred_to),
        c.occurred_to.or(c.occurred_from),
    ) {
        (Some(a0), Some(a1), Some(b0), Some(b1)) => a0 <= b1 && b0 <= a1,
        _ => false,
    };
    let data_categories: Vec<String> = c
        .data_categories
        .iter()
        .filter(|d| m.data_categories.contains(d))
        .cloned()
        .collect();
    let same_cause = m.cause.is_some() && m.cause == c.cause;
    let lo = c.aware_at.min(c.opened_at) - window;
    let hi = c.aware_at.max(c.opened_at) + window;
    let in_window = m.times.iter().any(|t| *t >= lo && *t <= hi);
    let score = 10 * systems.len() as u32
        + if disc == Some(true) { 4 } else { 0 }
        + if periods_overlap { 2 } else { 0 }
        + data_categories.len().min(3) as u32
        + u32::from(same_cause);
    Overlap {
        case_ref: c.case_ref.clone(),
        case_id: c.case_id,
        score,
        systems,
        same_discovery: disc == Some(true),
        periods_overlap,
        data_categories,
        same_cause,
        other_system,
        other_discovery: disc == Some(false),
        in_window,
    }
}

fn why_sv(o: &Overlap, only_case: bool) -> String {
    super::text::timeline::resemblance_reason(&super::text::timeline::Resemblance {
        systems: &o.systems,
        same_discovery: o.same_discovery,
        periods_overlap: o.periods_overlap,
        data_categories: &o.data_categories,
        same_cause: o.same_cause,
        only_case,
        other_discovery: o.other_discovery,
    })
}

/// Decides where a message without thread or case reference belongs among
/// the supplier's open cases (`candidates`, any order). See the module doc.
pub fn decide(m: &Incoming, candidates: &[Candidate], window: Duration) -> Verdict {
    let mut ranked: Vec<Overlap> = candidates
        .iter()
        .take(MAX_CANDIDATES)
        .map(|c| overlap(m, c, window))
        .filter(|o| o.in_window && !o.other_system)
        .collect();
    // Best overlap first; on a tie the newer case (the supplier's latest).
    ranked.sort_by(|a, b| b.score.cmp(&a.score).then(b.case_id.cmp(&a.case_id)));
    match m.kind {
        Kind::FollowUp => {
            // A follow-up that names another discovery time than the case's
            // may as well be a new incident (a notice that calls itself an
            // update): it never joins by resemblance, it opens its own case
            // that names this one.
            let joinable: Vec<&Overlap> = ranked.iter().filter(|o| !o.other_discovery).collect();
            let only = ranked.len() == 1;
            let Some(best) = joinable.first().copied() else {
                return follow_up_hint(m, &ranked);
            };
            let tied = joinable.get(1).is_some_and(|o| o.score == best.score);
            let joins = !best.systems.is_empty()
                || (m.systems.is_empty() && best.terms() && !tied)
                || (m.systems.is_empty() && only);
            if !joins {
                return follow_up_hint(m, &ranked);
            }
            let mut why = why_sv(best, only);
            if ranked.len() > 1 {
                let others: Vec<(String, u32)> = ranked
                    .iter()
                    .filter(|o| o.case_id != best.case_id)
                    .map(|o| (o.case_ref.clone(), o.score))
                    .collect();
                why.push_str(&super::text::timeline::chosen_over(&others, best.score));
            }
            Verdict::Join(choice(best, why, &ranked))
        }
        Kind::BreachNotice => {
            let Some(best) = ranked.iter().find(|o| {
                !o.other_discovery
                    && (!o.systems.is_empty() || (m.systems.is_empty() && o.same_discovery))
            }) else {
                return Verdict::None;
            };
            Verdict::Hint(choice(best, why_sv(best, false), &ranked))
        }
        Kind::AutoReply | Kind::Other => Verdict::None,
    }
}

/// [`close`] for the shell: whether two discovery times are one discovery
/// (None when either is unknown).
pub fn same_discovery(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>, tz: Tz) -> Option<bool> {
    close(a, b, tz)
}

/// The case a message's thread headers or case reference name, as
/// [`another_incident`] needs it: its facts and its supplier.
#[derive(Debug, Clone, PartialEq)]
pub struct Named {
    pub case: Candidate,
    pub supplier: SupplierKey,
}

/// Whether two supplier keys name the same supplier (a domain or an
/// organisation in common).
fn same_supplier(a: &SupplierKey, b: &SupplierKey) -> bool {
    (a.domain.is_some() && a.domain == b.domain) || (a.org.is_some() && a.org == b.org)
}

/// A message that answers in a case's thread or names its reference is news
/// of that case, unless it shows it is another incident: it says so in its
/// own words ("en ny personuppgiftsincident", `says_new`) and does not give
/// the case's discovery time, or it is another supplier's notice (both
/// suppliers known and different) with a discovery time of its own that is
/// not the case's, or it reads as a breach notice (no reply, no update) with
/// another discovery time than the case's. Then it must not join that case (it would get no clock
/// and no opening notice): it opens its own, which names the case (the
/// returned choice). A copy of the case's notice gives the case's
/// discovery time and always joins; mail that is no incident message
/// always joins. The shell leaves out a reply from the case's roster (their
/// commands) before asking.
pub fn another_incident(
    m: &Incoming,
    says_new: bool,
    supplier: &SupplierKey,
    named: &Named,
    via_thread: bool,
) -> Option<Choice> {
    if !m.kind.is_incident() {
        return None;
    }
    let disc = close(m.discovered_at, named.case.discovered_at, m.tz);
    if disc == Some(true) {
        return None;
    }
    let other_supplier = !supplier.is_empty()
        && !named.supplier.is_empty()
        && !same_supplier(supplier, &named.supplier);
    // A breach notice (the reader saw no sign of a reply or an update: a
    // colleague's forward that answers one of our mails) with a discovery
    // of its own is another notice too.
    let another = says_new
        || (other_supplier && m.discovered_at.is_some())
        || (m.kind == Kind::BreachNotice && disc == Some(false));
    if !another {
        return None;
    }
    let o = overlap(m, &named.case, Duration::zero());
    let why = super::text::timeline::another_incident_reason(
        via_thread,
        other_supplier,
        says_new,
        disc == Some(false),
    );
    Some(choice(&o, why, &[]))
}

/// A follow-up that joins nothing: the case of the same system (or the
/// supplier's only case, when it names none) whose discovery time differs is
/// named as the case it may belong to.
fn follow_up_hint(m: &Incoming, ranked: &[Overlap]) -> Verdict {
    let only = ranked.len() == 1;
    match ranked
        .iter()
        .find(|o| o.other_discovery && (!o.systems.is_empty() || (m.systems.is_empty() && only)))
    {
        Some(best) => Verdict::Hint(choice(best, why_sv(best, only), ranked)),
        None => Verdict::None,
    }
}

fn choice(best: &Overlap, why: String, ranked: &[Overlap]) -> Choice {
    Choice {
        case_id: best.case_id,
        case_ref: best.case_ref.clone(),
        why,
        overlap: best.clone(),
        others: ranked
            .iter()
            .filter(|o| o.case_id != best.case_id)
            .take(10)
            .cloned()
            .collect(),
    }
}

#[cfg(test)]
mod tests;
