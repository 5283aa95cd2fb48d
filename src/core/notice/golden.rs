//! Golden and robustness tests of the notice reader (test-only module).
//!
//! * `golden_notices`: every `tests/fixtures/notices*/NAME.eml` is read and its
//!   contract JSON compared field by field with `NAME.expected.json`, the way
//!   the shared scorer compares (times within 60 s, sets case-insensitive,
//!   organisation without legal suffixes, data subjects by overlap). Any
//!   regression of a scored field fails the test.
//! * `public_corpus_never_panics`: every file under `$BREACHWATCH_PUBLIC_CORPUS`
//!   goes through `read` and `to_contract_json` without a panic. Timing is
//!   measured in `benches/inspect.rs`, not asserted here.

use std::path::{Path, PathBuf};

use chrono::DateTime;
use serde_json::Value;

use super::{present, read, ReadOptions};

fn fixture_dirs() -> Vec<PathBuf> {
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    ["notices", "notices-extra"]
        .iter()
        .map(|d| base.join(d))
        .filter(|d| d.is_dir())
        .collect()
}

fn get<'a>(v: &'a Value, dotted: &str) -> &'a Value {
    let mut cur = v;
    for k in dotted.split('.') {
        cur = match cur.get(k) {
            Some(x) => x,
            None => return &Value::Null,
        };
    }
    cur
}

fn time_ok(e: &Value, g: &Value) -> bool {
    match (e.as_str(), g.as_str()) {
        (None, None) => e.is_null() && g.is_null(),
        (Some(e), Some(g)) => match (
            DateTime::parse_from_rfc3339(e),
            DateTime::parse_from_rfc3339(g),
        ) {
            (Ok(a), Ok(b)) => (a - b).num_seconds().abs() <= 60,
            _ => false,
        },
        _ => false,
    }
}

fn set_of(v: &Value) -> Vec<String> {
    let mut out: Vec<String> = v
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str())
                .map(|s| s.trim().to_lowercase())
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out.dedup();
    out
}

fn norm_org(v: &Value) -> Option<String> {
    const SUFFIXES: &[&str] = &[
        "ab", "inc", "ltd", "gmbh", "oy", "oyj", "as", "asa", "aps", "publ", "ag", "sa", "bv",
        "nv", "llc", "plc", "corp", "limited", "hb", "kb",
    ];
    let s = v.as_str()?.to_lowercase();
    let cleaned: String = s
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c.is_whitespace() {
                c
            } else {
                ' '
            }
        })
        .collect();
    let mut words: Vec<&str> = cleaned.split_whitespace().collect();
    while words.last().is_some_and(|w| SUFFIXES.contains(w)) {
        words.pop();
    }
    while words.first().is_some_and(|w| SUFFIXES.contains(w)) {
        words.remove(0);
    }
    (!words.is_empty()).then(|| words.join(" "))
}

fn range(v: &Value) -> Option<(f64, f64)> {
    if let Some(n) = v.as_f64() {
        return Some((n, n));
    }
    let lo = v.get("min").and_then(|x| x.as_f64());
    let hi = v.get("max").and_then(|x| x.as_f64());
    if lo.is_none() && hi.is_none() {
        return None;
    }
    Some((lo.unwrap_or(0.0), hi.unwrap_or(f64::INFINITY)))
}

fn subjects_ok(e: &Value, g: &Value) -> bool {
    match (e.is_null(), g.is_null()) {
        (true, true) => true,
        (false, false) => match (range(e), range(g)) {
            (Some(a), Some(b)) => a.0 <= b.1 && b.0 <= a.1,
            _ => false,
        },
        _ => false,
    }
}

/// Field-by-field differences between expected and got, empty when equal.
fn diff(exp: &Value, got: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for f in [
        "kind",
        "forwarded",
        "case_ref",
        "incident.ongoing",
        "incident.cause",
    ] {
        if get(exp, f) != get(got, f) {
            out.push(format!("{f}: expected {} got {}", get(exp, f), get(got, f)));
        }
    }
    for f in [
        "aware_at",
        "deadline_at",
        "incident.discovered_at",
        "incident.occurred_from",
        "incident.occurred_to",
    ] {
        if !time_ok(get(exp, f), get(got, f)) {
            out.push(format!("{f}: expected {} got {}", get(exp, f), get(got, f)));
        }
    }
    for f in ["incident.systems", "incident.data_categories"] {
        if set_of(get(exp, f)) != set_of(get(got, f)) {
            out.push(format!("{f}: expected {} got {}", get(exp, f), get(got, f)));
        }
    }
    let f = "reporter.organisation";
    if norm_org(get(exp, f)) != norm_org(get(got, f)) {
        out.push(format!("{f}: expected {} got {}", get(exp, f), get(got, f)));
    }
    let f = "incident.data_subjects";
    if !subjects_ok(get(exp, f), get(got, f)) {
        out.push(format!("{f}: expected {} got {}", get(exp, f), get(got, f)));
    }
    out
}

/// Every `NAME.eml` of `dir` with its `NAME.expected.json` and the reader's
/// contract JSON for it.
fn read_folder(dir: &Path) -> Vec<(PathBuf, Value, Value)> {
    let mut out = Vec::new();
    for eml in emls(dir) {
        let exp_path = eml.with_extension("expected.json");
        let Ok(exp_text) = std::fs::read_to_string(&exp_path) else {
            continue;
        };
        let exp: Value = serde_json::from_str(&exp_text).unwrap();
        let raw = std::fs::read(&eml).unwrap();
        let opts = ReadOptions::default();
        let n = read(&raw, &opts).unwrap_or_else(|e| panic!("{}: {e}", eml.display()));
        let got = present::to_contract_json(&n, opts.tz);
        out.push((eml, exp, got));
    }
    out
}

/// The `.eml` files of `dir`, sorted.
fn emls(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .collect();
    files.sort();
    files
}

/// The scored fields, in the shared scorer's order.
const FIELDS: [&str; 14] = [
    "kind",
    "forwarded",
    "aware_at",
    "deadline_at",
    "reporter.organisation",
    "case_ref",
    "incident.discovered_at",
    "incident.occurred_from",
    "incident.occurred_to",
    "incident.ongoing",
    "incident.systems",
    "incident.data_categories",
    "incident.data_subjects",
    "incident.cause",
];

/// Per-field floor of the class set (`tests/fixtures/notices-classes`, issue
/// #13): the test fails when a field's share of exactly right notices falls
/// below it. Raised as the reader gets better; never lowered to pass. 0.98 is
/// the bar for every field.
const CLASS_FLOOR: f64 = 0.98;

/// Fields held above [`CLASS_FLOOR`]: what the reader reached on them (84
/// notices, c73–c84 written for data subjects and cause).
const CLASS_FIELD_FLOORS: [(&str, f64); 3] = [
    ("incident.data_subjects", 1.0),
    ("incident.cause", 1.0),
    ("incident.occurred_from", 1.0),
];

fn class_floor(field: &str) -> f64 {
    CLASS_FIELD_FLOORS
        .iter()
        .find(|(f, _)| *f == field)
        .map_or(CLASS_FLOOR, |(_, v)| *v)
}

#[test]
fn golden_classes_per_field() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/notices-classes");
    let rows = read_folder(&dir);
    assert!(rows.len() >= 84, "only {} class notices found", rows.len());
    let mut wrong = [0usize; FIELDS.len()];
    for (eml, exp, got) in &rows {
        for d in diff(exp, got) {
            let field = d.split(':').next().unwrap_or_default();
            if let Some(i) = FIELDS.iter().position(|f| *f == field) {
                wrong[i] += 1;
            }
            println!("{}: {d}", eml.file_name().unwrap().to_string_lossy());
        }
    }
    let n = rows.len() as f64;
    let mut low = Vec::new();
    println!(
        "per-field accuracy ({} notices, exact per field):",
        rows.len()
    );
    for (i, f) in FIELDS.iter().enumerate() {
        let acc = 1.0 - wrong[i] as f64 / n;
        println!("  {f:<26}{acc:.3}");
        // Compared in whole notices: 1.0 means none wrong.
        let floor = class_floor(f);
        if acc + 1e-9 < floor {
            low.push(format!("{f} {acc:.3} (floor {floor:.3})"));
        }
    }
    assert!(low.is_empty(), "below the floor: {low:?}");
}

#[test]
fn golden_notices() {
    let mut checked = 0;
    let mut failures = Vec::new();
    for dir in fixture_dirs() {
        for (eml, exp, got) in read_folder(&dir) {
            for d in diff(&exp, &got) {
                failures.push(format!("{}: {d}", eml.display()));
            }
            checked += 1;
        }
    }
    assert!(checked >= 18, "only {checked} golden notices found");
    assert!(
        failures.is_empty(),
        "{} field(s) differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn golden_diff_catches_regressions() {
    // The comparison itself must notice a changed field.
    let exp: Value = serde_json::json!({"kind": "breach_notice", "aware_at": "2021-06-18T20:05:00+02:00",
        "reporter": {"organisation": "Provdata Sverige AB"},
        "incident": {"systems": ["ProvWeb"], "data_subjects": {"min": 1, "max": 49}}});
    let mut got = exp.clone();
    assert!(diff(&exp, &got).is_empty());
    got["reporter"]["organisation"] = "provdata sverige".into();
    assert!(diff(&exp, &got).is_empty(), "legal suffix ignored");
    got["aware_at"] = "2021-06-18T20:07:00+02:00".into();
    got["incident"]["systems"] = serde_json::json!(["provweb", "X"]);
    got["incident"]["data_subjects"] = serde_json::json!({"min": 50, "max": 60});
    assert_eq!(diff(&exp, &got).len(), 3);
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

#[test]
fn public_corpus_never_panics() {
    let Some(dir) = std::env::var_os("BREACHWATCH_PUBLIC_CORPUS") else {
        println!("BREACHWATCH_PUBLIC_CORPUS is not set: public corpus test skipped");
        return;
    };
    let mut files = Vec::new();
    walk(Path::new(&dir), &mut files);
    files.sort();
    assert!(
        !files.is_empty(),
        "no files under {}",
        Path::new(&dir).display()
    );
    let opts = ReadOptions::default();
    let (mut ok, mut not_message) = (0, 0);
    for f in &files {
        let Ok(raw) = std::fs::read(f) else { continue };
        let result = std::panic::catch_unwind(|| match read(&raw, &opts) {
            Ok(n) => {
                let _ = present::to_contract_json(&n, opts.tz);
                let _ = present::explain(&n, opts.tz);
                true
            }
            Err(_) => false,
        });
        match result {
            Ok(true) => ok += 1,
            Ok(false) => not_message += 1,
            Err(_) => panic!("panic on {}", f.display()),
        }
    }
    println!(
        "public corpus: {} files, {ok} read, {not_message} not a message, 0 panics",
        files.len()
    );
}

/// The reader's parse leaves attachments undecoded and decodes only what it
/// reads (`super::mime`): on every public-corpus mail and every fixture, what
/// it reads must be what mail-parser makes of the mail when it decodes every
/// part (a `format=flowed` text then decoded as the reader decodes it, which
/// mail-parser does not: 11 public-corpus mails).
#[test]
fn public_corpus_bodies_as_mail_parser_decodes_them() {
    let mut files = Vec::new();
    for d in fixture_dirs() {
        walk(&d, &mut files);
    }
    let fixtures = files.len();
    match std::env::var_os("BREACHWATCH_PUBLIC_CORPUS") {
        Some(dir) => walk(Path::new(&dir), &mut files),
        None => println!("BREACHWATCH_PUBLIC_CORPUS is not set: fixtures only"),
    }
    files.sort();
    assert!(fixtures > 0, "no fixtures");
    let mut differ = Vec::new();
    for f in &files {
        let Ok(raw) = std::fs::read(f) else { continue };
        if let Err(e) = super::mime::tests::same_as_mail_parser(&raw) {
            differ.push(format!("{}: {e}", f.display()));
        }
    }
    assert!(
        differ.is_empty(),
        "{} of {} differ:\n{}",
        differ.len(),
        files.len(),
        differ.join("\n")
    );
    println!("{} mails read as mail-parser decodes them", files.len());
}

/// `text` as a mail client that hard-wraps plain text sends it: every line
/// longer than `width` characters broken at spaces, its quote marks repeated.
fn hard_wrap(text: &str, width: usize) -> String {
    let len = |s: &str| s.chars().count();
    let mut out = Vec::new();
    for line in text.lines() {
        let body = line.trim_start_matches(['>', ' ']);
        let quote = if line.starts_with('>') {
            &line[..line.len() - body.len()]
        } else {
            ""
        };
        let body = if quote.is_empty() { line } else { body };
        if len(line) <= width || !body.trim().contains(' ') {
            out.push(line.to_string());
            continue;
        }
        for piece in word_wrapped(body, width.saturating_sub(len(quote))) {
            out.push(format!("{quote}{piece}"));
        }
    }
    out.join("\r\n")
}

/// `body` broken at spaces into lines of at most `room` characters (a word
/// longer than that on a line of its own), the breaking spaces left out.
fn word_wrapped(body: &str, room: usize) -> Vec<String> {
    let len = |s: &str| s.chars().count();
    let mut pieces = Vec::new();
    let mut piece = String::new();
    for word in body.split(' ') {
        if !piece.is_empty() && len(&piece) + 1 + len(word) > room {
            pieces.push(std::mem::take(&mut piece));
        } else if !piece.is_empty() {
            piece.push(' ');
        }
        piece.push_str(word);
    }
    pieces.push(piece);
    pieces
}

/// `raw`'s header fields (but its MIME ones) over a single UTF-8 text/plain
/// body `text`, its Content-Type with `params` ("; format=flowed").
fn with_text(raw: &[u8], text: &str, params: &str) -> Vec<u8> {
    let head_end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| i + 2)
        .or_else(|| raw.windows(2).position(|w| w == b"\n\n").map(|i| i + 1))
        .unwrap_or(raw.len());
    let head = String::from_utf8_lossy(&raw[..head_end]);
    let mut out = String::new();
    let mut keep = false;
    for line in head.lines() {
        if !line.starts_with([' ', '\t']) {
            let name = line.split(':').next().unwrap_or("").to_ascii_lowercase();
            keep = !name.starts_with("content-") && name != "mime-version";
        }
        if keep {
            out.push_str(line);
            out.push_str("\r\n");
        }
    }
    out.push_str(&format!(
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8{params}\r\n\
         Content-Transfer-Encoding: 8bit\r\n\r\n"
    ));
    out.push_str(text);
    out.into_bytes()
}

/// Every notice fixture with a plain-text body, its text made by `variant`
/// at each of `widths` (None: the variant is the text itself), read against
/// the same text as one plain part: how many variants were read, and each
/// field that differs.
fn fields_that_differ(
    widths: &[usize],
    variant: impl Fn(&[u8], &str, usize) -> Option<Vec<u8>>,
) -> (usize, Vec<String>) {
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let opts = ReadOptions::default();
    let read_json = |raw: &[u8]| {
        let n = read(raw, &opts).expect("a fixture reads");
        present::to_contract_json(&n, opts.tz)
    };
    let mut read_variants = 0;
    let mut failures = Vec::new();
    for dir in ["notices", "notices-extra", "notices-classes"] {
        for eml in emls(&base.join(dir)) {
            let raw = std::fs::read(&eml).unwrap();
            // Fixtures with a plain-text body (an HTML body is a paragraph
            // a line, and mail-parser's text of it is not the reader's).
            let Some(text) = mail_parser::MessageParser::default()
                .parse(&raw)
                .and_then(|m| {
                    let part = m.part(*m.text_body.first()?)?;
                    (!part.is_text_html()).then(|| m.body_text(0).map(|t| t.into_owned()))?
                })
            else {
                continue;
            };
            let text = text.replace("\r\n", "\n");
            let plain = read_json(&with_text(&raw, &text.replace('\n', "\r\n"), ""));
            for &width in widths {
                let Some(made) = variant(&raw, &text, width) else {
                    continue;
                };
                read_variants += 1;
                let got = read_json(&made);
                for f in FIELDS {
                    let sets = f == "incident.systems" || f == "incident.data_categories";
                    let same = match sets {
                        true => set_of(get(&plain, f)) == set_of(get(&got, f)),
                        false => get(&plain, f) == get(&got, f),
                    };
                    if !same {
                        failures.push(format!(
                            "{} at {width}: {f}: {} as typed, {} made",
                            eml.file_name().unwrap().to_string_lossy(),
                            get(&plain, f),
                            get(&got, f)
                        ));
                    }
                }
            }
        }
    }
    (read_variants, failures)
}

/// Every notice fixture, its text hard-wrapped at 66, 72 and 78 characters
/// (as many mail clients and ticket systems send plain text), reads as the
/// same text unwrapped: the same kind, times and facts. Both are the
/// fixture's header over its text as one plain part, so the wrapping is the
/// only difference. Before `text::unwrapped` a sentence broken over two
/// lines lost its discovery time, count or period (85 fields of 51 class
/// notices at 72).
#[test]
fn hard_wrapped_notices_read_as_unwrapped() {
    let (wrapped, failures) = fields_that_differ(&[66, 72, 78], |raw, text, width| {
        let w = hard_wrap(text, width);
        (w != text.replace('\n', "\r\n")).then(|| with_text(raw, &w, ""))
    });
    println!("{wrapped} wrapped readings");
    assert!(wrapped >= 200, "only {wrapped} wrapped readings");
    assert!(
        failures.is_empty(),
        "{} field(s) differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// `text` sent as `format=flowed` (RFC 3676) at `width`, as Thunderbird and
/// Apple Mail send it: a long line broken after a space, the space kept at
/// the line's end (a soft break); a line starting with a space, ">" or
/// "From " stuffed with a space; quote marks on every line of a quote.
fn flowed(text: &str, width: usize) -> String {
    let len = |s: &str| s.chars().count();
    let stuff = |s: &str, quoted: bool| {
        if s.starts_with(' ') || s.starts_with("From ") || (!quoted && s.starts_with('>')) {
            format!(" {s}")
        } else {
            s.to_string()
        }
    };
    let mut out = Vec::new();
    for line in text.lines() {
        let body = line.trim_start_matches('>');
        let marks = &line[..line.len() - body.len()];
        let body = match marks.is_empty() {
            true => body,
            false => body.strip_prefix(' ').unwrap_or(body),
        };
        let quote = match marks.is_empty() {
            true => String::new(),
            false => format!("{marks} "),
        };
        let body = body.trim_end_matches(' ');
        if len(&quote) + len(body) <= width || body == "--" {
            out.push(format!("{quote}{}", stuff(body, !marks.is_empty())));
            continue;
        }
        let pieces = word_wrapped(body, width.saturating_sub(len(&quote)));
        let last = pieces.len() - 1;
        for (i, piece) in pieces.into_iter().enumerate() {
            // A soft break: the line ends in a space.
            let piece = if i < last { piece + " " } else { piece };
            out.push(format!("{quote}{}", stuff(&piece, !marks.is_empty())));
        }
    }
    out.join("\r\n")
}

/// Every notice fixture, its text sent as `format=flowed` at 60 and 72
/// characters a line, reads as the text its writer typed; so do the same
/// lines sent as plain text. Before `text::flowed_decoded` and before
/// `text::unwrapped` joined a line ending in a space with one space, 16
/// fields of the 200 flowed readings were wrong: a count split at its
/// thousands' space ("1 100" read as 100) or lost, the incident's end
/// ("ongoing") lost, a cause, a system.
#[test]
fn flowed_notices_read_as_their_text() {
    let (sent, failures) = fields_that_differ(&[60, 72], |raw, text, width| {
        let f = flowed(text, width);
        Some(with_text(raw, &f, "; format=flowed"))
    });
    // The same lines sent as plain text (a client or a forward that lost
    // the parameter): read as hard-wrapped lines, their trailing spaces
    // as any other line's.
    let (plain, lost) = fields_that_differ(&[60, 72], |raw, text, width| {
        Some(with_text(raw, &flowed(text, width), ""))
    });
    println!("{sent} flowed readings, {plain} as plain text");
    assert!(sent >= 100, "only {sent} flowed readings");
    let failures = [failures, lost].concat();
    assert!(
        failures.is_empty(),
        "{} field(s) differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
