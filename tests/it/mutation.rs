//! The bounded mutation run: every file of the public corpus of real-world mail
//! (`$BREACHWATCH_PUBLIC_CORPUS`), damaged the ways hostile or broken mail is
//! damaged — bit flips, truncation, duplicated headers, broken MIME boundaries,
//! broken header folding, NUL bytes, giant header lines, impossible dates,
//! mixed line endings, floods of times, names or forward headers — goes
//! through the whole ingest path (`Pipeline::handle`) on a real store over a
//! temporary SQLite file.
//!
//! What must hold for every message:
//! * no panic: the pipeline catches one and quarantines the message with an
//!   "internal error" (or "reader failed") reason; such a quarantine is counted
//!   as a failure here, because the reader and the intake are meant to be total;
//! * no stuck intake: `handle` returns `Err` only when the store is down, never
//!   because of a property of the message;
//! * every message ends on the register: opened, attached, recorded or
//!   quarantined, one row each (a message already seen is a `Duplicate`).
//!
//! The mutations come from a seeded generator, one stream per file and
//! iteration, so a failure names what reproduces it: the file, the iteration,
//! the seed. Knobs (README, Tests):
//! * `BREACHWATCH_MUTATION_ITERS` mutated copies of each file (default 1);
//! * `BREACHWATCH_MUTATION_SEED` the base seed (default fixed, so CI is stable);
//! * `BREACHWATCH_MUTATION_ONLY` only files whose path contains this text;
//! * `BREACHWATCH_MUTATION_DUMP` a folder to write each mutated message to
//!   (`N.eml`, N the message's place in the run), to replay one with
//!   `breachwatch inspect` or `breachwatch ingest`.
//!
//! The corpus is read in place and never copied into the project.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use breachwatch::config::Config;
use breachwatch::store::Store;
use breachwatch::workers::ingest::{content_hash, Handled, Origin, Pipeline};

use crate::harness::repo;

const DEFAULT_SEED: u64 = 0x00b7_eac4_2026_1130;

/// SplitMix64: tiny, seedable and stable across dependency upgrades, so a seed
/// printed today reproduces the same mutation later.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }

    pub fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
}

/// FNV-1a of a path, so that a file's stream does not depend on which other
/// files the corpus holds.
fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01B3)
    })
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn find_ci(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
}

/// Where the header section ends (the blank line), or the end.
fn header_end(raw: &[u8]) -> usize {
    let a = find(raw, b"\r\n\r\n").map(|i| i + 2);
    let b = find(raw, b"\n\n").map(|i| i + 1);
    match (a, b) {
        (Some(a), Some(b)) => a.min(b),
        (a, b) => a.or(b).unwrap_or(raw.len()),
    }
}

/// Start offsets of the header lines (not continuation lines) and where each
/// field, continuations included, ends.
fn header_fields(raw: &[u8]) -> Vec<(usize, usize)> {
    let end = header_end(raw);
    let mut starts = Vec::new();
    let mut i = 0;
    while i < end {
        let line_end = raw[i..end]
            .iter()
            .position(|b| *b == b'\n')
            .map_or(end, |p| i + p + 1);
        if !matches!(raw[i], b' ' | b'\t') {
            starts.push(i);
        }
        i = line_end;
    }
    let mut out = Vec::new();
    for (k, s) in starts.iter().enumerate() {
        let e = starts.get(k + 1).copied().unwrap_or(end);
        out.push((*s, e));
    }
    out
}

fn insert(raw: &mut Vec<u8>, at: usize, bytes: &[u8]) {
    let at = at.min(raw.len());
    raw.splice(at..at, bytes.iter().copied());
}

// Every mutator has the same signature, so this one takes a Vec too.
#[allow(clippy::ptr_arg)]
fn bit_flips(raw: &mut Vec<u8>, rng: &mut Rng) {
    if raw.is_empty() {
        return;
    }
    for _ in 0..1 + rng.below(16) {
        let i = rng.below(raw.len());
        raw[i] ^= 1 << rng.below(8);
    }
}

fn truncate(raw: &mut Vec<u8>, rng: &mut Rng) {
    // Half the time inside the headers, where a cut hurts most.
    let limit = if rng.below(2) == 0 {
        header_end(raw)
    } else {
        raw.len()
    };
    raw.truncate(rng.below(limit + 1));
}

fn duplicate_header(raw: &mut Vec<u8>, rng: &mut Rng) {
    let fields = header_fields(raw);
    if fields.is_empty() {
        return;
    }
    // Prefer the fields the reader acts on.
    let wanted = [
        &b"from:"[..],
        b"date:",
        b"message-id:",
        b"content-type:",
        b"subject:",
        b"references:",
        b"in-reply-to:",
    ];
    let important: Vec<(usize, usize)> = fields
        .iter()
        .copied()
        .filter(|(s, _)| wanted.iter().any(|w| raw[*s..].starts_with_ci(w)))
        .collect();
    let pool = if !important.is_empty() && rng.below(3) > 0 {
        important
    } else {
        fields
    };
    let (s, e) = *rng.pick(&pool);
    let field = raw[s..e].to_vec();
    // Up to a thousand copies, but at most about a megabyte of them: the
    // point is many fields, not a message larger than any mailbox accepts.
    let copies = (*rng.pick(&[1usize, 2, 3, 10, 100, 1000])).min(1 + (1 << 20) / (e - s).max(1));
    let at = if rng.below(2) == 0 { s } else { e };
    let block: Vec<u8> = field.repeat(copies);
    insert(raw, at, &block);
}

trait StartsWithCi {
    fn starts_with_ci(&self, p: &[u8]) -> bool;
}

impl StartsWithCi for [u8] {
    fn starts_with_ci(&self, p: &[u8]) -> bool {
        self.len() >= p.len() && self[..p.len()].eq_ignore_ascii_case(p)
    }
}

/// The MIME boundary of the outer multipart, if the message names one.
fn boundary(raw: &[u8]) -> Option<(usize, usize)> {
    let p = find_ci(raw, b"boundary=")? + b"boundary=".len();
    let quoted = raw.get(p) == Some(&b'"');
    let start = if quoted { p + 1 } else { p };
    let len = raw[start..]
        .iter()
        .position(|b| {
            if quoted {
                *b == b'"' || *b == b'\n'
            } else {
                b.is_ascii_whitespace() || *b == b';'
            }
        })
        .unwrap_or(raw.len() - start);
    (len > 0).then_some((start, start + len))
}

fn boundary_damage(raw: &mut Vec<u8>, rng: &mut Rng) {
    let Some((s, e)) = boundary(raw) else {
        // No multipart: make one that lies about its boundary.
        let at = header_end(raw).saturating_sub(1);
        insert(
            raw,
            at,
            b"\nContent-Type: multipart/mixed; boundary=\"zz\"\n",
        );
        let len = raw.len();
        insert(
            raw,
            rng.below(len + 1),
            b"\n--zz\nContent-Type: text/plain\n\n",
        );
        return;
    };
    let b = raw[s..e].to_vec();
    let mut delim = b"--".to_vec();
    delim.extend(&b);
    match rng.below(6) {
        // The parameter no longer matches the delimiters in the body.
        0 => {
            let choices: [&[u8]; 5] = [b"", b"x", b"\"", b"--", &b[..b.len() / 2]];
            let new = *rng.pick(&choices);
            raw.splice(s..e, new.iter().copied());
        }
        // The closing delimiter is gone.
        1 => {
            let mut close = delim.clone();
            close.extend(b"--");
            if let Some(i) = find(raw, &close) {
                raw.splice(i..i + close.len(), std::iter::empty());
            }
        }
        // A delimiter line is cut short.
        2 => {
            let body = header_end(raw);
            if let Some(i) = find(&raw[body..], &delim) {
                let i = body + i;
                let cut = 2 + rng.below(b.len().max(1));
                raw.splice(
                    i + cut.min(delim.len())..i + delim.len(),
                    std::iter::empty(),
                );
            }
        }
        // Extra delimiters in random places.
        3 => {
            for _ in 0..1 + rng.below(20) {
                let mut line = b"\n".to_vec();
                line.extend(&delim);
                line.extend(b"\n");
                let len = raw.len();
                insert(raw, rng.below(len + 1), &line);
            }
        }
        // The closing delimiter opens a part that reuses the same boundary.
        4 => {
            let mut close = delim.clone();
            close.extend(b"--");
            if let Some(i) = find(raw, &close) {
                let mut nested = delim.clone();
                nested.extend(b"\nContent-Type: multipart/mixed; boundary=\"");
                nested.extend(&b);
                nested.extend(b"\"\n\n");
                nested.extend(&delim);
                nested.extend(b"\n");
                raw.splice(i..i + close.len(), nested);
            }
        }
        // A giant boundary parameter.
        _ => {
            let giant = vec![b'b'; 10_000 + rng.below(100_000)];
            raw.splice(s..e, giant);
        }
    }
}

fn folding_damage(raw: &mut Vec<u8>, rng: &mut Rng) {
    let end = header_end(raw);
    let folds: Vec<usize> = (0..end.saturating_sub(1))
        .filter(|&i| raw[i] == b'\n' && matches!(raw[i + 1], b' ' | b'\t'))
        .collect();
    match rng.below(5) {
        // A continuation line loses its leading space and becomes a bogus line.
        0 if !folds.is_empty() => {
            let i = *rng.pick(&folds);
            raw.remove(i + 1);
        }
        // A fold in the middle of a field name.
        1 => {
            let fields = header_fields(raw);
            if !fields.is_empty() {
                let (s, _) = *rng.pick(&fields);
                insert(raw, s + 2, b"\r\n ");
            }
        }
        // Line ends turned into bare CRs inside the headers.
        2 => {
            for b in raw.iter_mut().take(end) {
                if *b == b'\n' && rng.below(3) == 0 {
                    *b = b'\r';
                }
            }
        }
        // A whitespace-only continuation line, which some readers take for the
        // end of the headers.
        3 => {
            let fields = header_fields(raw);
            if !fields.is_empty() {
                let (_, e) = *rng.pick(&fields);
                insert(raw, e, b" \r\n");
            }
        }
        // Leading whitespace before the first header, and a fold of 10 000 lines.
        _ => {
            insert(raw, 0, b" \t");
            let mut long = b"X-Folded: start".to_vec();
            for _ in 0..10_000 {
                long.extend(b"\r\n x");
            }
            long.extend(b"\r\n");
            insert(raw, 2, &long);
        }
    }
}

fn nul_bytes(raw: &mut Vec<u8>, rng: &mut Rng) {
    if rng.below(2) == 0 {
        for _ in 0..1 + rng.below(50) {
            let len = raw.len();
            insert(raw, rng.below(len + 1), b"\0");
        }
    } else if !raw.is_empty() {
        let s = rng.below(raw.len());
        let e = (s + 1 + rng.below(64)).min(raw.len());
        raw[s..e].fill(0);
    }
}

fn giant_header(raw: &mut Vec<u8>, rng: &mut Rng) {
    let n = 10_000 + rng.below(200_000);
    let line: Vec<u8> = match rng.below(5) {
        0 => {
            let mut l = b"Subject: ".to_vec();
            l.extend(std::iter::repeat_n(b'A', n));
            l
        }
        1 => {
            let mut l = b"References:".to_vec();
            for i in 0..n / 20 {
                l.extend(format!(" <r{i}@x.example>").as_bytes());
            }
            l
        }
        2 => {
            let mut l = b"To: ".to_vec();
            for i in 0..n / 20 {
                l.extend(format!("u{i}@x{i}.example, ").as_bytes());
            }
            l
        }
        3 => {
            let mut l = vec![b'X'; n];
            l.extend(b": v");
            l
        }
        _ => {
            let mut l = b"Subject: ".to_vec();
            for _ in 0..n / 30 {
                l.extend(b"=?utf-8?B?SW50cuXbmc==?= ");
            }
            l
        }
    };
    let mut line = line;
    line.extend(b"\r\n");
    let at = if rng.below(2) == 0 {
        0
    } else {
        header_end(raw).saturating_sub(1)
    };
    insert(raw, at, &line);
}

fn date_extremes(raw: &mut Vec<u8>, rng: &mut Rng) {
    let choices: [&[u8]; 6] = [
        b"Mon, 1 Jan 0001 00:00:00 +0000",
        b"Fri, 31 Dec 9999 23:59:59 -2359",
        b"Sat, 31 Feb 2026 99:99:99 +9999",
        b"Thu, 1 Jan 1970 00:00:00 +0000",
        b"1 Jan 65536 00:00:00 GMT",
        b"-1",
    ];
    let date = *rng.pick(&choices);
    let mut line = b"Date: ".to_vec();
    line.extend(date);
    line.extend(b"\r\n");
    if let Some((s, e)) = header_fields(raw)
        .into_iter()
        .find(|(s, _)| raw[*s..].starts_with_ci(b"date:"))
    {
        raw.splice(s..e, line);
    } else {
        insert(raw, 0, &line);
    }
    // And a forward block with the same date in the body.
    let mut fwd = b"\r\n________________________________\r\nFr\xc3\xa5n: x@y.example\r\nSkickat: den 1 januari 0001 kl. 00:00\r\n\r\n".to_vec();
    fwd.extend(b"Date: ");
    fwd.extend(date);
    fwd.extend(b"\r\n");
    raw.extend(fwd);
}

fn line_endings(raw: &mut Vec<u8>, rng: &mut Rng) {
    *raw = match rng.below(3) {
        0 => String::from_utf8_lossy(raw)
            .replace("\r\n", "\n")
            .into_bytes(),
        1 => raw
            .iter()
            .flat_map(|b| {
                if *b == b'\n' {
                    vec![b'\r', b'\n']
                } else {
                    vec![*b]
                }
            })
            .collect(),
        _ => raw
            .iter()
            .map(|b| if *b == b'\n' { b'\r' } else { *b })
            .collect(),
    };
}

type Mutator = fn(&mut Vec<u8>, &mut Rng);

/// Thousands of one kind of thing in one run of text (times, dates, days,
/// counts, capitalised names, case references, forward headers, quote
/// levels), put after the body's first paragraph (the cue's, when there is
/// one): the shapes that made the reader quadratic (its systems in session
/// 45, its times in session 46; `tests/reader_heap.rs` holds their heap).
fn text_flood(raw: &mut Vec<u8>, rng: &mut Rng) {
    let n = 500 + rng.below(5_000);
    let kind = rng.below(8);
    let mut text = String::new();
    for i in 0..n {
        let item = match kind {
            0 => format!("kl {:02}.{:02} ", i % 24, (i * 7) % 60),
            1 => format!(
                "2026-{:02}-{:02} {:02}:{:02} ",
                1 + i % 12,
                1 + i % 28,
                i % 24,
                i % 60
            ),
            2 => "i fredags kv\u{e4}ll, ig\u{e5}r, i morse, ".to_string(),
            3 => format!("cirka {} personer ber\u{f6}rs, ", 1 + i * 7),
            4 => format!("Qx{}Zy{i} ", char::from(b'a' + (i % 26) as u8)),
            5 => format!("PUI-2026-{:04} ", i % 10_000),
            6 => format!(
                "\r\n-----Ursprungligt meddelande-----\r\nFr\u{e5}n: a{i}@x.example\r\n\
                 Skickat: den {} november 2026 {:02}:00\r\n\u{c4}mne: VB: incident\r\n\r\n",
                1 + i % 28,
                i % 24
            ),
            _ => format!("{} rad\r\n", ">".repeat(i % 300)),
        };
        text.push_str(&item);
    }
    text.push_str("\r\n\r\n");
    let end = header_end(raw);
    let start = end
        + if raw[end..].starts_with(b"\r\n") {
            2
        } else {
            0
        };
    let at = find(&raw[start..], b"\r\n\r\n").map_or(start, |k| start + k + 4);
    insert(raw, at, text.as_bytes());
}

const MUTATIONS: &[(&str, Mutator)] = &[
    ("bit-flips", bit_flips),
    ("truncate", truncate),
    ("duplicate-header", duplicate_header),
    ("boundary-damage", boundary_damage),
    ("folding-damage", folding_damage),
    ("nul-bytes", nul_bytes),
    ("giant-header", giant_header),
    ("date-extremes", date_extremes),
    ("line-endings", line_endings),
    ("text-flood", text_flood),
];

/// Replaces the Subject (or adds one) and puts `text` first in the body.
fn set_subject_and_text(raw: &mut Vec<u8>, subject: &[u8], text: &[u8]) {
    let end = header_end(raw);
    let blank = if raw[end..].starts_with(b"\r\n") {
        2
    } else {
        usize::from(raw[end..].starts_with(b"\n"))
    };
    insert(raw, end + blank, text);
    let mut line = b"Subject: ".to_vec();
    line.extend(subject);
    line.extend(b"\r\n");
    match header_fields(raw)
        .into_iter()
        .find(|(s, _)| raw[*s..].starts_with_ci(b"subject:"))
    {
        Some((s, e)) => {
            raw.splice(s..e, line);
        }
        None => insert(raw, 0, &line),
    }
}

/// Most of the corpus is not about breaches, so most of it would only be
/// recorded. To send real-world headers and structure down the other paths
/// too, a third of the messages are made to read as a breach notice (a case
/// is opened: acknowledgement and opening notice composed from whatever the
/// headers hold) and a third as a reply to the first case (attached: the
/// command reader, the roster check and the answers run).
fn cue(raw: &mut Vec<u8>, rng: &mut Rng) -> Option<&'static str> {
    match rng.below(3) {
        0 => {
            set_subject_and_text(
                raw,
                "VB: Personuppgiftsincident: dataintr\u{e5}ng hos leverant\u{f6}ren".as_bytes(),
                "Vi har drabbats av ett dataintr\u{e5}ng i ProvWeb. Personnummer f\u{f6}r 1 200 patienter kan ha l\u{e4}sts.\r\n\r\n".as_bytes(),
            );
            Some("breach-cue")
        }
        1 => {
            set_subject_and_text(
                raw,
                b"SV: [PUI-2026-0001] Personuppgiftsincident",
                b"kvittera\r\n\r\n",
            );
            Some("reply-cue")
        }
        _ => None,
    }
}

/// Staff and officials of the municipality write from the internal domain,
/// and only they are ever mailed: the acknowledgement to a forwarder, the
/// answer to a command. Their addresses as mail clients and forgers write them,
/// some of which no SMTP library accepts as a recipient.
fn internal_sender(raw: &mut Vec<u8>, rng: &mut Rng) {
    let choices: [&[u8]; 14] = [
        b"Sam Staff <staff@example.test>",
        b"\"staff member\"@example.test",
        b"staff..x@example.test",
        b".staff@example.test",
        b"st\xc3\xa4ff@example.test",
        b"STAFF@EXAMPLE.TEST",
        b"staff@example.test.",
        b"staff(comment)@example.test",
        b"\"a\\\"b\"@example.test",
        b"staff@sub.example.test",
        b"official@example.test",
        b"<@relay.example:staff@example.test>",
        b"staff@example.test, other@elsewhere.example",
        b"=?utf-8?B?U2FtIFN0YWZm?= <staff@[127.0.0.1]>",
    ];
    let mut line = b"From: ".to_vec();
    line.extend(*rng.pick(&choices));
    line.extend(b"\r\n");
    match header_fields(raw)
        .into_iter()
        .find(|(s, _)| raw[*s..].starts_with_ci(b"from:"))
    {
        Some((s, e)) => {
            raw.splice(s..e, line);
        }
        None => insert(raw, 0, &line),
    }
}

/// Maybe a cue (see [`cue`]), then one to three kinds of damage, chosen and
/// applied by `rng`.
pub fn mutate(raw: &[u8], rng: &mut Rng) -> (Vec<u8>, Vec<&'static str>) {
    let mut out = raw.to_vec();
    let mut names = Vec::new();
    if let Some(c) = cue(&mut out, rng) {
        names.push(c);
        if rng.below(2) == 0 {
            internal_sender(&mut out, rng);
            names.push("internal-sender");
        }
    }
    for _ in 0..1 + rng.below(3) {
        let (name, f) = *rng.pick(MUTATIONS);
        f(&mut out, rng);
        names.push(name);
    }
    (out, names)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(&p, out);
        } else {
            out.push(p);
        }
    }
}

fn env_num<T: std::str::FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => v
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v:?} is not a number")),
        _ => default,
    }
}

/// A seed as the failure lines print it (`0x…`), or in decimal.
fn env_seed(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => {
            let v = v.trim();
            match v.strip_prefix("0x").or_else(|| v.strip_prefix("0X")) {
                Some(hex) => u64::from_str_radix(&hex.replace('_', ""), 16),
                None => v.parse(),
            }
            .unwrap_or_else(|_| panic!("{name}={v:?} is not a seed (decimal or 0x hex)"))
        }
        _ => default,
    }
}

fn config(db_url: &str) -> Config {
    let text = std::fs::read_to_string(repo().join("config/local.toml")).expect("local.toml");
    Config::from_toml(&text, |k| match k {
        "BREACHWATCH_DATABASE_URL" => Some(db_url.to_string()),
        "BREACHWATCH_IMAP_CA_FILE" => Some(repo().join("Cargo.toml").display().to_string()),
        _ => None,
    })
    .expect("config")
}

/// A message that broke a promise, with what reproduces it.
struct Failure {
    file: String,
    iter: usize,
    seed: u64,
    mutations: Vec<&'static str>,
    what: String,
}

/// Writes straight to the process's stderr: the test harness captures
/// `println!` of a passing test, and this summary (and the notice that the run
/// was skipped) belongs in every CI log.
macro_rules! report {
    ($($arg:tt)*) => {{
        use std::io::Write;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

#[tokio::test]
async fn mutated_public_corpus_goes_through_intake() {
    let dir = match std::env::var("BREACHWATCH_PUBLIC_CORPUS") {
        Ok(d) if !d.trim().is_empty() => PathBuf::from(d),
        _ => {
            report!(
                "BREACHWATCH_PUBLIC_CORPUS is not set: mutation run over the public corpus SKIPPED"
            );
            return;
        }
    };
    let iters: usize = env_num("BREACHWATCH_MUTATION_ITERS", 1);
    let base_seed = env_seed("BREACHWATCH_MUTATION_SEED", DEFAULT_SEED);
    let only = std::env::var("BREACHWATCH_MUTATION_ONLY").unwrap_or_default();
    let dump = std::env::var_os("BREACHWATCH_MUTATION_DUMP").map(PathBuf::from);
    let mut files = Vec::new();
    walk(&dir, &mut files);
    files.sort();
    assert!(!files.is_empty(), "no files under {}", dir.display());

    let tmp = tempfile::tempdir().expect("tempdir");
    let db = format!("sqlite://{}/mutation.db", tmp.path().display());
    let store = Store::connect(&db).await.expect("store");
    let p = Pipeline::new(Arc::new(config(&db)), store.clone());
    // A fixed instant keeps runs comparable (the reminder plan, the case year).
    let now: DateTime<Utc> = "2026-11-30T12:00:00Z".parse().expect("instant");

    let t0 = Instant::now();
    let mut seen = HashSet::new();
    let mut fed = 0usize;
    let mut same_bytes = 0usize;
    let mut outcomes: BTreeMap<String, usize> = BTreeMap::new();
    let mut duplicates = 0usize;
    let mut failures: Vec<Failure> = Vec::new();
    let mut slowest: Vec<(Duration, String)> = Vec::new();
    let mut uid = 0u32;
    for f in &files {
        let rel = f.strip_prefix(&dir).unwrap_or(f).display().to_string();
        if !only.is_empty() && !rel.contains(&only) {
            continue;
        }
        let Ok(original) = std::fs::read(f) else {
            continue;
        };
        for iter in 0..iters {
            let seed = base_seed ^ fnv(&rel) ^ (iter as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            let mut rng = Rng::new(seed);
            let (raw, mutations) = mutate(&original, &mut rng);
            // The same bytes twice are one message; the register keeps one row.
            if !seen.insert(content_hash(&raw)) {
                same_bytes += 1;
                continue;
            }
            uid += 1;
            fed += 1;
            if let Some(d) = &dump {
                std::fs::write(d.join(format!("{uid}.eml")), &raw).expect("dump a mutated message");
            }
            let origin = Origin {
                mailbox: "INBOX".into(),
                uidvalidity: 1,
                uid,
            };
            let delivered = (iter % 2 == 0).then_some(now);
            let started = Instant::now();
            let result = p.handle(&raw, delivered, Some(origin), now).await;
            let took = started.elapsed();
            let label = format!("{rel} #{iter} {mutations:?} ({} bytes)", raw.len());
            slowest.push((took, label));
            slowest.sort_by_key(|s| std::cmp::Reverse(s.0));
            slowest.truncate(5);
            let fail = |what: String| Failure {
                file: rel.clone(),
                iter,
                seed,
                mutations: mutations.clone(),
                what,
            };
            match result {
                Ok(Handled::Opened(_)) => *outcomes.entry("opened".into()).or_default() += 1,
                Ok(Handled::Attached(_)) => *outcomes.entry("attached".into()).or_default() += 1,
                Ok(Handled::Recorded(r)) => {
                    *outcomes.entry(format!("recorded ({r})")).or_default() += 1
                }
                Ok(Handled::Duplicate) => duplicates += 1,
                Ok(Handled::Quarantined(reason)) => {
                    if reason.contains("internal error") || reason.contains("reader failed") {
                        failures.push(fail(format!("panicked, quarantined: {reason}")));
                    }
                    *outcomes.entry("quarantined".into()).or_default() += 1;
                }
                Err(e) => failures.push(fail(format!("handle returned Err (stuck intake): {e:#}"))),
            }
        }
    }
    let elapsed = t0.elapsed();

    let pool = sqlx::SqlitePool::connect(&db)
        .await
        .expect("open the register");
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM messages")
        .fetch_one(&pool)
        .await
        .expect("count messages");
    let by_disposition: Vec<(String, i64)> = sqlx::query_as(
        "SELECT disposition, COUNT(*) FROM messages GROUP BY disposition ORDER BY disposition",
    )
    .fetch_all(&pool)
    .await
    .expect("dispositions");
    pool.close().await;
    store.close().await;

    report!(
        "mutation run: {} files, {iters} iteration(s) each, seed {base_seed:#x}: {fed} messages fed \
({same_bytes} mutations gave bytes already fed, not fed again) in {:.1}s",
        files.len(),
        elapsed.as_secs_f64()
    );
    report!("  outcomes: {outcomes:?}, duplicates {duplicates}");
    report!("  register rows by disposition: {by_disposition:?} (total {rows})");
    for (d, l) in &slowest {
        report!("  slow: {:>6} ms  {l}", d.as_millis());
    }
    for f in failures.iter().take(30) {
        report!(
            "  FAILED: {} iteration {} seed {:#x} {:?}: {}\n    reproduce: BREACHWATCH_MUTATION_ONLY='{}' BREACHWATCH_MUTATION_SEED={:#x} BREACHWATCH_MUTATION_ITERS={}",
            f.file,
            f.iter,
            f.seed,
            f.mutations,
            f.what,
            f.file,
            base_seed,
            f.iter + 1
        );
    }
    let stuck = failures.iter().filter(|f| f.what.contains("Err")).count();
    assert_eq!(
        rows as usize,
        fed - duplicates - stuck,
        "every message fed is on the register once (duplicates and stuck ones excepted)"
    );
    assert!(
        failures.is_empty(),
        "{} of {fed} mutated messages broke intake ({stuck} stuck, {} panicked); see the list above",
        failures.len(),
        failures.len() - stuck
    );
}
