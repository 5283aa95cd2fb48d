//! Commands by reply: an official answers one of breachwatch's mails and the FIRST
//! line they wrote is read as a command (`kvittera`, `beslut: anmäl`, `reported
//! DI-2026-1234`, …, in Swedish or English); the rest of what they wrote, without
//! the quoted history, is kept as the body for the case timeline.
//!
//! This module only turns text into a [`Parsed`] value. It must not decide whether
//! the sender may command (that is `auth`) nor whether the command fits the case
//! (that is `case`), and it never fails: any text gives an answer.
//!
//! Conservative on purpose: a command without an argument must be the whole line
//! ("Stäng inte ärendet än" must not close the case), and free-text commands need
//! their colon ("Försening beror på…" is a sentence, `försening: …` a command).
//! A line that clearly starts like a command but has a bad value (`beslut: kanske`)
//! gives [`Parsed::Invalid`] with a bilingual error listing what is accepted.

use serde::{Deserialize, Serialize};

use super::case::{Assessment, Decision};
use super::types::CaseRef;

mod nis2;
pub use nis2::{AuthorityRef, Nis2Command};

/// The language the official wrote the command in; answers use the same one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Lang {
    Sv,
    En,
}

/// IMY's reference for a notification, normalised to upper case, e.g.
/// `DI-2026-1234` (older) or `IMY-2026-1234` (current numbering).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ImyRef(String);

/// A stored or sent reference that is not in the form its kind takes (a
/// record decoded at the store boundary, a value from a form).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not {kind}: {value:?}")]
pub struct NotAReference {
    /// "an IMY reference", "a diarienummer", "an authority reference".
    pub kind: &'static str,
    pub value: String,
}

impl TryFrom<String> for ImyRef {
    type Error = NotAReference;
    fn try_from(s: String) -> Result<Self, NotAReference> {
        ImyRef::parse(&s).ok_or(NotAReference {
            kind: "an IMY reference",
            value: s,
        })
    }
}

impl From<ImyRef> for String {
    fn from(r: ImyRef) -> String {
        r.0
    }
}

impl ImyRef {
    /// Accepts `DI-YYYY-N…` or `IMY-YYYY-N…` in any case, with a hyphen, an en dash
    /// or a space between the parts (mail clients and people vary).
    pub fn parse(s: &str) -> Option<Self> {
        let s = s
            .trim()
            .trim_matches(|c: char| !c.is_alphanumeric())
            .to_uppercase();
        let parts: Vec<&str> = s.split(['-', '–', ' ']).filter(|p| !p.is_empty()).collect();
        let [prefix, year, seq] = parts.as_slice() else {
            return None;
        };
        let ok = (*prefix == "DI" || *prefix == "IMY")
            && year.len() == 4
            && year.bytes().all(|b| b.is_ascii_digit())
            && !seq.is_empty()
            && seq.len() <= 8
            && seq.bytes().all(|b| b.is_ascii_digit());
        ok.then(|| ImyRef(format!("{prefix}-{year}-{seq}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ImyRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The municipality's own registry number (diarienummer) of the case, e.g.
/// `KS 2026/0123`: the committee's series, the year and the number, normalised
/// to upper case with one space. Given by the registry (diariet), not by
/// breachwatch; set by reply and used in every later document and subject.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Diarienummer(String);

impl TryFrom<String> for Diarienummer {
    type Error = NotAReference;
    fn try_from(s: String) -> Result<Self, NotAReference> {
        Diarienummer::parse(&s).ok_or(NotAReference {
            kind: "a diarienummer",
            value: s,
        })
    }
}

impl From<Diarienummer> for String {
    fn from(d: Diarienummer) -> String {
        d.0
    }
}

impl Diarienummer {
    /// Accepts `SERIES YYYY/N…` with 1-8 letters of series (Swedish letters
    /// too), a four-digit year and 1-8 digits, in any case and with or without
    /// the space ("ks2026/123" → "KS 2026/123"). The number keeps its digits
    /// as written: the registry's zero padding is part of the number.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim().trim_end_matches(['.', ',', ';']).trim();
        let (head, seq) = s.split_once('/')?;
        let head = head.trim();
        let seq = seq.trim();
        let split = head.find(|c: char| c.is_ascii_digit())?;
        let (series, year) = head.split_at(split);
        let series = series.trim();
        let year = year.trim();
        let ok = (1..=8).contains(&series.chars().count())
            && series.chars().all(char::is_alphabetic)
            && year.len() == 4
            && year.bytes().all(|b| b.is_ascii_digit())
            && (1..=8).contains(&seq.len())
            && seq.bytes().all(|b| b.is_ascii_digit());
        ok.then(|| Diarienummer(format!("{} {year}/{seq}", series.to_uppercase())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Diarienummer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What an official asked for. Adjacently tagged (`{"command": "reported", "arg":
/// "DI-2026-1234"}`): an internally tagged enum cannot hold the string arguments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "command", content = "arg", rename_all = "snake_case")]
pub enum Command {
    /// `kvittera` / `ack`
    Ack,
    /// `bedömning: ingen risk|risk|hög risk` / `assess: none|risk|high`
    Assess(Assessment),
    /// `beslut: anmäl|anmäl och informera|ej anmäl` / `decide: notify|notify-inform|no-notify`
    Decide(Decision),
    /// `anmält DI-2026-1234` / `reported DI-2026-1234`
    Reported(ImyRef),
    /// `försening: …` / `delay: …`: why the notification is later than 72 hours.
    Delay(String),
    /// `komplettera` / `supplement`, optionally `komplettera: what was sent`
    Supplement(Option<String>),
    /// `återta` / `withdraw`, optionally `återta: why`
    Withdraw(Option<String>),
    /// `stäng` / `close`
    Close,
    /// `återöppna` / `reopen`
    Reopen,
    /// `notering: …` / `note: …`
    Note(String),
    /// `diarienummer: KS 2026/0123` / `registry: KS 2026/0123`
    Registry(Diarienummer),
    /// `sammanfoga PUI-2026-0007` / `merge PUI-2026-0007`: this case (the one
    /// replied to) is the same incident as the named one and moves into it.
    Merge(CaseRef),
    /// `dela` / `split`, optionally `dela: why`: the message replied to is
    /// another incident; it moves out of this case into a new case of its own.
    Split(Option<String>),
    /// The NIS2 commands (`nis2: ja|nej`, the reports sent): `commands/nis2.rs`.
    Nis2(Nis2Command),
}

impl Command {
    /// Short stable name for logs, the timeline and error texts.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Ack => "ack",
            Command::Assess(_) => "assess",
            Command::Decide(_) => "decide",
            Command::Reported(_) => "reported",
            Command::Delay(_) => "delay",
            Command::Supplement(_) => "supplement",
            Command::Withdraw(_) => "withdraw",
            Command::Close => "close",
            Command::Reopen => "reopen",
            Command::Note(_) => "note",
            Command::Registry(_) => "registry",
            Command::Merge(_) => "merge",
            Command::Split(_) => "split",
            Command::Nis2(_) => "nis2",
        }
    }

    /// Whether the answer to this command carries documents made from the
    /// whole case file: a decision's drafts, and the NIS2 drafts when NIS2 is
    /// decided to apply. Every other command runs without the case file.
    pub fn needs_case_file(&self) -> bool {
        matches!(
            self,
            Command::Decide(_) | Command::Nis2(Nis2Command::Decide { applies: true, .. })
        )
    }
}

/// What the shell looks up before the case machine runs a reply, read from
/// the reply's one parse: the case file for documents, the case a `merge`
/// names, and the message a `split` takes out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplyNeeds {
    pub case_file: bool,
    pub merge_target: Option<CaseRef>,
    pub split: bool,
}

impl Parsed {
    /// What running this reply needs from the store ([`ReplyNeeds`]).
    pub fn needs(&self) -> ReplyNeeds {
        match self {
            Parsed::Command { command, .. } => ReplyNeeds {
                case_file: command.needs_case_file(),
                merge_target: match command {
                    Command::Merge(r) => Some(r.clone()),
                    _ => None,
                },
                split: matches!(command, Command::Split(_)),
            },
            Parsed::NotACommand { .. } | Parsed::Invalid { .. } => ReplyNeeds::default(),
        }
    }
}

/// A command-looking first line that could not be read, with text to mail back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{sv} / {en}")]
pub struct CommandError {
    /// The keyword as the official wrote it, lower-cased ("beslut").
    pub keyword: String,
    /// The language of the keyword, for choosing the answer's language.
    pub lang: Lang,
    pub sv: String,
    pub en: String,
}

/// The result of reading a reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "parsed", rename_all = "snake_case")]
pub enum Parsed {
    Command {
        command: Command,
        lang: Lang,
        /// What the official wrote after the command line, without quoted history.
        body: String,
    },
    /// The first line is not a command: the whole new text is a follow-up.
    NotACommand { body: String },
    /// The first line looks like a command but is not a valid one.
    Invalid { error: CommandError, body: String },
}

/// Reads a reply's plain text.
pub fn parse_reply(text: &str) -> Parsed {
    let own = own_text(text);
    let mut lines = own.iter().skip_while(|l| l.trim().is_empty());
    let Some(first) = lines.next() else {
        return Parsed::NotACommand {
            body: String::new(),
        };
    };
    let rest: Vec<&str> = lines.map(|s| s.as_str()).collect();
    let rest_body = join_trimmed(&rest);
    match parse_line(first) {
        LineResult::Command(command, lang) => Parsed::Command {
            command,
            lang,
            body: rest_body,
        },
        LineResult::Invalid(error) => Parsed::Invalid {
            error,
            body: join_trimmed(&own.iter().map(|s| s.as_str()).collect::<Vec<_>>()),
        },
        LineResult::NotACommand => Parsed::NotACommand {
            body: join_trimmed(&own.iter().map(|s| s.as_str()).collect::<Vec<_>>()),
        },
    }
}

fn join_trimmed(lines: &[&str]) -> String {
    lines
        .iter()
        .map(|l| l.trim_end())
        .collect::<Vec<_>>()
        .join("\n")
        .trim_matches('\n')
        .to_string()
}

/// Replaces the characters mail clients put in place of plain spaces, and drops
/// invisible ones, so that matching sees what the official sees.
fn clean_spaces(s: &str) -> String {
    s.chars()
        .filter(|c| {
            !matches!(
                c,
                '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{FEFF}' | '\u{00AD}'
            )
        })
        .map(|c| match c {
            '\u{00A0}' | '\u{2007}' | '\u{202F}' | '\u{2009}' | '\u{200A}' | '\t' | '\r' => ' ',
            c => c,
        })
        .collect()
}

/// The lines the official wrote: bottom-posted replies (quote first, text after)
/// have the leading quote and its attribution line skipped; everything from the
/// first quoted-history marker on is dropped.
fn own_text(text: &str) -> Vec<String> {
    let lines: Vec<String> = text.lines().map(clean_spaces).collect();
    // Bottom posting: skip leading blank lines, at most one attribution and the
    // `>` block after it; the official's text starts below.
    let first = lines
        .iter()
        .position(|l| !l.trim().is_empty())
        .unwrap_or(lines.len());
    let quote_start = first + is_attribution(&lines, first).unwrap_or(0);
    let quote_end = lines[quote_start.min(lines.len())..]
        .iter()
        .position(|l| !(l.trim_start().starts_with('>') || l.trim().is_empty()))
        .map_or(lines.len(), |n| quote_start + n);
    let quoted = lines
        .get(quote_start..quote_end)
        .is_some_and(|q| q.iter().any(|l| l.trim_start().starts_with('>')));
    let start = if quoted { quote_end } else { 0 };
    let end = (start..lines.len())
        .find(|&k| is_history_start(&lines, k))
        .unwrap_or(lines.len());
    lines
        .get(start..end)
        .map(<[String]>::to_vec)
        .unwrap_or_default()
}

/// How many lines an attribution ("On … wrote:", "Den … skrev:") at `i` spans,
/// if there is one. Gmail wraps long attributions over two lines.
fn is_attribution(lines: &[String], i: usize) -> Option<usize> {
    let l = lines.get(i)?.trim().to_lowercase();
    // Gmail: "On …" / "Den …" / "Am …"; Apple Mail in Swedish starts with the date.
    let opens = l.starts_with("on ")
        || l.starts_with("den ")
        || l.starts_with("am ")
        || l.starts_with(|c: char| c.is_ascii_digit());
    if !opens {
        return None;
    }
    // "… wrote:", "… skrev:", or the Swedish "… skrev Namn <adress>:".
    let ends = |s: &str| {
        let s = s.trim_end();
        s.ends_with("wrote:")
            || s.ends_with("skrev:")
            || s.ends_with("schrieb:")
            || (s.ends_with(':') && (s.contains(" skrev ") || s.starts_with("skrev ")))
    };
    if ends(&l) {
        return Some(1);
    }
    let next = lines.get(i + 1)?.trim().to_lowercase();
    ends(&format!("{l} {next}")).then_some(2)
}

/// Whether quoted history starts at line `i`: a `>` line, an attribution, an
/// Outlook separator or an Outlook header block (From:/Från: followed by Sent:,
/// Date:, To:, Subject: or their Swedish names), or the `-- ` signature marker.
fn is_history_start(lines: &[String], i: usize) -> bool {
    let raw = &lines[i];
    let l = raw.trim().to_lowercase();
    if l.starts_with('>') || raw == "-- " || raw == "--" {
        return true;
    }
    if is_attribution(lines, i).is_some() {
        return true;
    }
    let trimmed = l.trim_matches('-').trim();
    if l.starts_with("-----")
        && (trimmed.contains("original message")
            || trimmed.contains("ursprungligt meddelande")
            || trimmed.contains("originalmeddelande")
            || trimmed.contains("forwarded message")
            || trimmed.contains("vidarebefordrat meddelande"))
    {
        return true;
    }
    if l.len() >= 10 && l.chars().all(|c| c == '_') {
        // Outlook's horizontal rule above its header block.
        return true;
    }
    if l.starts_with("from:") || l.starts_with("från:") {
        const NEXT: [&str; 10] = [
            "sent:", "skickat:", "date:", "datum:", "to:", "till:", "subject:", "ämne:", "cc:",
            "kopia:",
        ];
        return lines
            .iter()
            .skip(i + 1)
            .take(4)
            .any(|n| NEXT.iter().any(|p| n.trim().to_lowercase().starts_with(p)));
    }
    false
}

enum LineResult {
    Command(Command, Lang),
    Invalid(CommandError),
    NotACommand,
}

/// Lower-cases, folds runs of spaces, strips surrounding emphasis and trailing
/// punctuation, and a leading `Re:`/`Sv:` that some people type by habit.
fn normalise(s: &str) -> String {
    let s = strip_reply_prefix(s)
        .trim_matches(|c: char| matches!(c, '*' | '_' | '"' | '\'' | '“' | '”'))
        .trim_end_matches(|c: char| matches!(c, '.' | '!' | ',' | ';' | '?') || c.is_whitespace())
        .trim();
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// Drops a leading `Re:`/`Sv:`/`Aw:`/`Vs:` that some people type by habit.
fn strip_reply_prefix(s: &str) -> &str {
    let s = s.trim();
    for p in ["re:", "sv:", "aw:", "vs:"] {
        if s.get(..p.len()).is_some_and(|h| h.eq_ignore_ascii_case(p)) {
            return s.get(p.len()..).unwrap_or("").trim_start();
        }
    }
    s
}

/// The keywords, each with the language it belongs to.
#[derive(Clone, Copy)]
enum Kw {
    Ack,
    Assess,
    Decide,
    Reported,
    Delay,
    Supplement,
    Withdraw,
    Close,
    Reopen,
    Note,
    Registry,
    Merge,
    Split,
}

const KEYWORDS: &[(&str, Kw, Lang)] = &[
    ("kvittera", Kw::Ack, Lang::Sv),
    ("kvitterar", Kw::Ack, Lang::Sv),
    ("kvitterat", Kw::Ack, Lang::Sv),
    ("ack", Kw::Ack, Lang::En),
    ("acknowledge", Kw::Ack, Lang::En),
    ("acknowledged", Kw::Ack, Lang::En),
    ("bedömning", Kw::Assess, Lang::Sv),
    ("bedomning", Kw::Assess, Lang::Sv),
    ("assess", Kw::Assess, Lang::En),
    ("assessment", Kw::Assess, Lang::En),
    ("beslut", Kw::Decide, Lang::Sv),
    ("decide", Kw::Decide, Lang::En),
    ("decision", Kw::Decide, Lang::En),
    ("anmält", Kw::Reported, Lang::Sv),
    ("anmalt", Kw::Reported, Lang::Sv),
    ("anmäld", Kw::Reported, Lang::Sv),
    ("reported", Kw::Reported, Lang::En),
    ("försening", Kw::Delay, Lang::Sv),
    ("forsening", Kw::Delay, Lang::Sv),
    ("delay", Kw::Delay, Lang::En),
    ("komplettera", Kw::Supplement, Lang::Sv),
    ("kompletterat", Kw::Supplement, Lang::Sv),
    ("supplement", Kw::Supplement, Lang::En),
    ("supplemented", Kw::Supplement, Lang::En),
    ("återta", Kw::Withdraw, Lang::Sv),
    ("återtagen", Kw::Withdraw, Lang::Sv),
    ("withdraw", Kw::Withdraw, Lang::En),
    ("withdrawn", Kw::Withdraw, Lang::En),
    ("stäng", Kw::Close, Lang::Sv),
    ("stang", Kw::Close, Lang::Sv),
    ("close", Kw::Close, Lang::En),
    ("återöppna", Kw::Reopen, Lang::Sv),
    ("reopen", Kw::Reopen, Lang::En),
    ("notering", Kw::Note, Lang::Sv),
    ("anteckning", Kw::Note, Lang::Sv),
    ("note", Kw::Note, Lang::En),
    ("diarienummer", Kw::Registry, Lang::Sv),
    ("dnr", Kw::Registry, Lang::Sv),
    ("registry", Kw::Registry, Lang::En),
    ("sammanfoga", Kw::Merge, Lang::Sv),
    ("merge", Kw::Merge, Lang::En),
    ("dela", Kw::Split, Lang::Sv),
    ("split", Kw::Split, Lang::En),
];

fn parse_line(line: &str) -> LineResult {
    let norm = normalise(line);
    // Keep the original spelling of free text (reasons, notes): take it from the
    // cleaned line, after the first colon.
    let original = strip_reply_prefix(line);
    if let Some(r) = nis2::parse(&norm, original) {
        return r;
    }
    let (head, colon, value) = match norm.split_once(':') {
        Some((h, v)) => (h.trim().to_string(), true, v.trim().to_string()),
        None => match norm.split_once(' ') {
            Some((h, v)) => (h.to_string(), false, v.trim().to_string()),
            None => (norm.clone(), false, String::new()),
        },
    };
    // A keyword must be a single word; "Hej: …" or "Mötet i morgon: …" are text.
    if head.contains(' ') {
        return LineResult::NotACommand;
    }
    let Some(&(_, kw, lang)) = KEYWORDS.iter().find(|(k, _, _)| *k == head) else {
        return LineResult::NotACommand;
    };
    let free_text = || -> String {
        match original.split_once(':') {
            Some((_, v)) => v.trim().to_string(),
            None => String::new(),
        }
    };
    let err = |sv: String, en: String| {
        LineResult::Invalid(CommandError {
            keyword: head.clone(),
            lang,
            sv,
            en,
        })
    };
    match kw {
        Kw::Ack | Kw::Close | Kw::Reopen => {
            if !value.is_empty() {
                return LineResult::NotACommand;
            }
            let c = match kw {
                Kw::Ack => Command::Ack,
                Kw::Close => Command::Close,
                _ => Command::Reopen,
            };
            LineResult::Command(c, lang)
        }
        Kw::Supplement | Kw::Withdraw | Kw::Split => {
            // "Split the invoice …" is a sentence: only the bare word or the
            // word with a colon commands.
            if !value.is_empty() && !colon {
                return LineResult::NotACommand;
            }
            let text = free_text();
            let text = (!text.is_empty()).then_some(text);
            let c = match kw {
                Kw::Supplement => Command::Supplement(text),
                Kw::Split => Command::Split(text),
                _ => Command::Withdraw(text),
            };
            LineResult::Command(c, lang)
        }
        Kw::Delay | Kw::Note => {
            if !value.is_empty() && !colon {
                return LineResult::NotACommand;
            }
            let text = free_text();
            if text.is_empty() {
                let (sv, en) = match kw {
                    Kw::Delay => (
                        "Skriv skälet till förseningen efter kolon, t.ex. \"försening: leverantörens rapport kom först efter fyra dagar\".",
                        "Write the reason for the delay after the colon, e.g. \"delay: the supplier's report arrived only after four days\".",
                    ),
                    _ => (
                        "Skriv noteringen efter kolon, t.ex. \"notering: leverantören ringd\".",
                        "Write the note after the colon, e.g. \"note: called the supplier\".",
                    ),
                };
                return err(sv.into(), en.into());
            }
            let c = match kw {
                Kw::Delay => Command::Delay(text),
                _ => Command::Note(text),
            };
            LineResult::Command(c, lang)
        }
        Kw::Assess => match assessment(&value) {
            Some(a) => LineResult::Command(Command::Assess(a), lang),
            None if colon || value.is_empty() => err(
                format!(
                    "Okänd bedömning \"{value}\". Skriv en av: \"bedömning: ingen risk\", \"bedömning: risk\", \"bedömning: hög risk\"."
                ),
                format!(
                    "Unknown assessment \"{value}\". Write one of: \"assess: none\", \"assess: risk\", \"assess: high\"."
                ),
            ),
            None => LineResult::NotACommand,
        },
        Kw::Decide => match decision(&value) {
            Some(d) => LineResult::Command(Command::Decide(d), lang),
            None if colon || value.is_empty() => err(
                format!(
                    "Okänt beslut \"{value}\". Skriv ett av: \"beslut: anmäl\", \"beslut: anmäl och informera\", \"beslut: ej anmäl\"."
                ),
                format!(
                    "Unknown decision \"{value}\". Write one of: \"decide: notify\", \"decide: notify-inform\", \"decide: no-notify\"."
                ),
            ),
            None => LineResult::NotACommand,
        },
        Kw::Registry => {
            // Needs its colon, like the free-text commands: "Diarienummer
            // saknas fortfarande" is a sentence.
            if !colon {
                return LineResult::NotACommand;
            }
            match Diarienummer::parse(&value) {
                Some(d) => LineResult::Command(Command::Registry(d), lang),
                None => err(
                    format!("\"{value}\" är inte ett diarienummer. Skriv t.ex. \"diarienummer: KS 2026/0123\"."),
                    format!("\"{value}\" is not a registry number. Write e.g. \"registry: KS 2026/0123\"."),
                ),
            }
        }
        Kw::Merge => {
            // The case reference may sit anywhere on the line ("sammanfoga med
            // PUI-2026-0007"). A line starting with the word but naming no case
            // is text unless it is the bare keyword or has a colon ("Merge
            // request from the supplier" is a sentence).
            let found = value
                .split([' ', ',', ';', ':', '(', ')'])
                .find_map(parse_case_ref);
            match found {
                Some(r) => LineResult::Command(Command::Merge(r), lang),
                None if colon || value.is_empty() => err(
                    "Ange ärendet som det här ärendet ska sammanfogas med, t.ex. \"sammanfoga PUI-2026-0007\".".into(),
                    "Name the case this case is to be merged into, e.g. \"merge PUI-2026-0007\".".into(),
                ),
                None => LineResult::NotACommand,
            }
        }
        Kw::Reported => {
            // The reference may sit anywhere on the line ("anmält till IMY,
            // diarienummer DI-2026-1234").
            let tokens: Vec<&str> = value.split([' ', ',', ';', ':', '(', ')']).collect();
            let found = tokens.iter().find_map(|t| ImyRef::parse(t)).or_else(|| {
                // "DI 2026 1234" split over tokens.
                tokens
                    .windows(3)
                    .find_map(|w| ImyRef::parse(&w.join(" ")))
            });
            match found {
                Some(r) => LineResult::Command(Command::Reported(r), lang),
                None => err(
                    "IMY:s diarienummer saknas. Skriv t.ex. \"anmält DI-2026-1234\".".into(),
                    "IMY's reference is missing. Write e.g. \"reported DI-2026-1234\".".into(),
                ),
            }
        }
    }
}

/// A case reference as an official writes it: `PREFIX-YYYY-N…` in any letter
/// case, hyphens or en dashes, the sequence with or without its zero padding
/// (at most 8 digits), the prefix 1-10 ASCII letters or digits. Normalised to
/// the stored form (`PUI-2026-0007`), so only normalised references are
/// compared. The prefix is not checked here: the parser does not know the
/// configured one; a reference naming no stored case is refused later.
pub fn parse_case_ref(s: &str) -> Option<CaseRef> {
    let s = s
        .trim()
        .trim_matches(|c: char| !c.is_alphanumeric())
        .to_uppercase();
    let parts: Vec<&str> = s.split(['-', '–']).collect();
    let [prefix, year, seq] = parts.as_slice() else {
        return None;
    };
    let ok = (1..=10).contains(&prefix.len())
        && prefix.bytes().all(|b| b.is_ascii_alphanumeric())
        && prefix.bytes().any(|b| b.is_ascii_alphabetic())
        && year.len() == 4
        && year.bytes().all(|b| b.is_ascii_digit())
        && (1..=8).contains(&seq.len())
        && seq.bytes().all(|b| b.is_ascii_digit());
    if !ok {
        return None;
    }
    let year: i32 = year.parse().ok()?;
    let seq: u32 = seq.parse().ok()?;
    Some(CaseRef::new(prefix, year, seq))
}

fn value_key(v: &str) -> String {
    v.replace(['-', '_', '/'], " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn assessment(v: &str) -> Option<Assessment> {
    match value_key(v).as_str() {
        "ingen risk" | "ingen" | "none" | "no risk" | "no" => Some(Assessment::NoRisk),
        "risk" => Some(Assessment::Risk),
        "hög risk" | "hog risk" | "hög" | "high" | "high risk" => Some(Assessment::HighRisk),
        _ => None,
    }
}

fn decision(v: &str) -> Option<Decision> {
    match value_key(v).as_str() {
        "anmäl" | "anmal" | "notify" => Some(Decision::Notify),
        "anmäl och informera" | "anmal och informera" | "notify inform" | "notify and inform" => {
            Some(Decision::NotifyAndInform)
        }
        "ej anmäl" | "ej anmal" | "anmäl ej" | "inte anmäl" | "anmäl inte" | "no notify"
        | "do not notify" | "don't notify" | "not notify" => Some(Decision::DoNotNotify),
        _ => None,
    }
}

#[cfg(test)]
mod serde_tests {
    use super::*;

    #[test]
    fn every_command_serialises_for_the_timeline() {
        let all = [
            "kvittera",
            "bedömning: hög risk",
            "beslut: ej anmäl",
            "anmält DI-2026-1234",
            "försening: sent läst",
            "komplettera",
            "återta: fel kund",
            "stäng",
            "återöppna",
            "notering: ringde leverantören",
            "diarienummer: KS 2026/0123",
            "sammanfoga PUI-2026-0007",
        ];
        for line in all {
            let Parsed::Command { command, .. } = parse_reply(line) else {
                panic!("{line} is a command");
            };
            let v = serde_json::to_value(&command).expect("serialises");
            assert_eq!(v["command"], command.name(), "{v}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(text: &str) -> Option<(Command, Lang)> {
        match parse_reply(text) {
            Parsed::Command { command, lang, .. } => Some((command, lang)),
            _ => None,
        }
    }

    fn imy(s: &str) -> ImyRef {
        ImyRef::parse(s).unwrap()
    }

    #[test]
    fn a_reply_says_what_it_needs_from_the_store() {
        let needs = |t: &str| parse_reply(t).needs();
        assert!(needs("beslut: anmäl").case_file);
        assert!(needs("nis2: ja").case_file);
        assert!(!needs("nis2: nej").case_file);
        assert!(!needs("kvittera").case_file);
        assert_eq!(
            needs("sammanfoga PUI-2026-0007").merge_target,
            parse_case_ref("PUI-2026-0007")
        );
        assert!(needs("dela: en annan incident").split);
        assert_eq!(needs("Tack, vi tittar på det."), ReplyNeeds::default());
        assert_eq!(needs("beslut: kanske"), ReplyNeeds::default());
    }

    #[test]
    fn every_command_in_both_languages() {
        use Command as C;
        let table: Vec<(&str, C, Lang)> = vec![
            ("kvittera", C::Ack, Lang::Sv),
            ("ack", C::Ack, Lang::En),
            (
                "bedömning: ingen risk",
                C::Assess(Assessment::NoRisk),
                Lang::Sv,
            ),
            ("bedömning: risk", C::Assess(Assessment::Risk), Lang::Sv),
            (
                "bedömning: hög risk",
                C::Assess(Assessment::HighRisk),
                Lang::Sv,
            ),
            ("assess: none", C::Assess(Assessment::NoRisk), Lang::En),
            ("assess: risk", C::Assess(Assessment::Risk), Lang::En),
            ("assess: high", C::Assess(Assessment::HighRisk), Lang::En),
            ("beslut: anmäl", C::Decide(Decision::Notify), Lang::Sv),
            (
                "beslut: anmäl och informera",
                C::Decide(Decision::NotifyAndInform),
                Lang::Sv,
            ),
            (
                "beslut: ej anmäl",
                C::Decide(Decision::DoNotNotify),
                Lang::Sv,
            ),
            ("decide: notify", C::Decide(Decision::Notify), Lang::En),
            (
                "decide: notify-inform",
                C::Decide(Decision::NotifyAndInform),
                Lang::En,
            ),
            (
                "decide: no-notify",
                C::Decide(Decision::DoNotNotify),
                Lang::En,
            ),
            (
                "anmält DI-2026-1234",
                C::Reported(imy("DI-2026-1234")),
                Lang::Sv,
            ),
            (
                "reported DI-2026-1234",
                C::Reported(imy("DI-2026-1234")),
                Lang::En,
            ),
            (
                "försening: Leverantören svarade sent",
                C::Delay("Leverantören svarade sent".into()),
                Lang::Sv,
            ),
            (
                "delay: Supplier was late",
                C::Delay("Supplier was late".into()),
                Lang::En,
            ),
            ("komplettera", C::Supplement(None), Lang::Sv),
            ("supplement", C::Supplement(None), Lang::En),
            (
                "komplettera: antal registrerade",
                C::Supplement(Some("antal registrerade".into())),
                Lang::Sv,
            ),
            ("återta", C::Withdraw(None), Lang::Sv),
            ("withdraw", C::Withdraw(None), Lang::En),
            (
                "återta: ingen av våra berörda",
                C::Withdraw(Some("ingen av våra berörda".into())),
                Lang::Sv,
            ),
            ("stäng", C::Close, Lang::Sv),
            ("close", C::Close, Lang::En),
            ("återöppna", C::Reopen, Lang::Sv),
            ("reopen", C::Reopen, Lang::En),
            (
                "notering: Ringde Åsa på leverantören",
                C::Note("Ringde Åsa på leverantören".into()),
                Lang::Sv,
            ),
            (
                "note: Called the supplier",
                C::Note("Called the supplier".into()),
                Lang::En,
            ),
        ];
        for (text, want, lang) in table {
            assert_eq!(cmd(text), Some((want, lang)), "{text:?}");
        }
    }

    #[test]
    fn robust_to_case_spaces_punctuation_and_invisible_characters() {
        use Command as C;
        let table: Vec<(&str, C)> = vec![
            ("KVITTERA", C::Ack),
            ("Kvittera.", C::Ack),
            ("  ack!  ", C::Ack),
            ("\u{FEFF}kvittera", C::Ack),
            ("*Kvittera*", C::Ack),
            ("Re: ack", C::Ack),
            (
                "Bedömning:\u{00A0}Hög\u{00A0}risk",
                C::Assess(Assessment::HighRisk),
            ),
            ("bedömning:hög risk.", C::Assess(Assessment::HighRisk)),
            (
                "BESLUT :  Anmäl  och  informera",
                C::Decide(Decision::NotifyAndInform),
            ),
            ("beslut anmäl", C::Decide(Decision::Notify)),
            ("Decide: No_Notify", C::Decide(Decision::DoNotNotify)),
            ("decide: do not notify", C::Decide(Decision::DoNotNotify)),
            ("assess\u{202F}: high risk", C::Assess(Assessment::HighRisk)),
            ("Anmält di-2026-1234.", C::Reported(imy("DI-2026-1234"))),
            ("anmält: DI–2026–77", C::Reported(imy("DI-2026-77"))),
            (
                "anmält till IMY, diarienummer IMY-2026-4711",
                C::Reported(imy("IMY-2026-4711")),
            ),
            ("Reported (DI 2026 1234)", C::Reported(imy("DI-2026-1234"))),
            ("Stäng\t", C::Close),
        ];
        for (text, want) in table {
            assert_eq!(cmd(text).map(|c| c.0), Some(want), "{text:?}");
        }
    }

    #[test]
    fn sentences_that_start_with_a_keyword_are_not_commands() {
        for text in [
            "Stäng inte ärendet än, vi väntar på leverantören.",
            "Ack, vad tråkigt att höra.",
            "Komplettera gärna med antalet berörda.",
            "Försening beror på semester.",
            "Beslut om anmälan fattas i morgon",
            "Notera att jag är ledig",
            "Hej! Jag tittar på detta.",
            "Mötet i morgon: kl 10",
            "Tack",
            "",
            "   \n\n  ",
        ] {
            assert!(
                matches!(parse_reply(text), Parsed::NotACommand { .. }),
                "{text:?} -> {:?}",
                parse_reply(text)
            );
        }
    }

    #[test]
    fn command_looking_lines_with_bad_values_give_helpful_errors() {
        let table: Vec<(&str, &str, &str)> = vec![
            ("beslut: kanske", "beslut: ej anmäl", "decide: no-notify"),
            ("beslut", "beslut: anmäl", "decide: notify"),
            (
                "decide: later",
                "beslut: anmäl och informera",
                "decide: notify-inform",
            ),
            ("bedömning: medel", "bedömning: hög risk", "assess: high"),
            ("assess:", "bedömning: ingen risk", "assess: none"),
            ("anmält", "anmält DI-2026-1234", "reported DI-2026-1234"),
            (
                "reported to IMY yesterday",
                "anmält DI-2026-1234",
                "reported DI-2026-1234",
            ),
            (
                "anmält DI-26-1234",
                "anmält DI-2026-1234",
                "reported DI-2026-1234",
            ),
            ("försening:", "försening:", "delay:"),
            ("delay", "försening:", "delay:"),
            ("note:   ", "notering:", "note:"),
        ];
        for (text, sv, en) in table {
            match parse_reply(text) {
                Parsed::Invalid { error, .. } => {
                    assert!(error.sv.contains(sv), "{text:?}: {}", error.sv);
                    assert!(error.en.contains(en), "{text:?}: {}", error.en);
                }
                other => panic!("{text:?} gave {other:?}"),
            }
        }
    }

    #[test]
    fn body_is_the_rest_without_outlook_history() {
        let text = "\r\n\r\nbeslut: anmäl\r\nVi anmäler i dag.\r\nMvh Anna\r\n\r\n________________________________\r\nFrån: breachwatch <breach@kommun.example>\r\nSkickat: den 18 juni 2021 20:10\r\nTill: Anna <anna@kommun.example>\r\nÄmne: [PUI-2026-0007] Ny incident\r\n\r\nkvittera\r\n";
        match parse_reply(text) {
            Parsed::Command { command, body, .. } => {
                assert_eq!(command, Command::Decide(Decision::Notify));
                assert_eq!(body, "Vi anmäler i dag.\nMvh Anna");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn history_markers_are_cut_from_the_body() {
        let tails = [
            "On Mon, 1 Jun 2026 at 10:00, breachwatch <b@k.example> wrote:\n> kvittera",
            "On Mon, 1 Jun 2026 at 10:00, breachwatch\n<b@k.example> wrote:\n> kvittera",
            "Den mån 1 juni 2026 kl 10:00 skrev breachwatch <b@k.example>:\n> stäng",
            "1 juni 2026 kl. 10:00 skrev breachwatch <b@k.example>:\n\n> stäng",
            "Den mån 1 juni 2026 kl 10:00 skrev breachwatch\n<b@k.example>:\n> stäng",
            "-----Original Message-----\nFrom: breachwatch\nSent: Monday\n\nstäng",
            "-----Ursprungligt meddelande-----\nFrån: breachwatch\n\nstäng",
            "From: breachwatch <b@k.example>\nSent: Monday, June 1, 2026 10:00\nTo: x\n\nstäng",
            "> stäng\n> kvittera",
            "-- \nAnna Andersson\nKommunstyrelsen",
        ];
        for tail in tails {
            let text = format!("ack\nJag tar det.\n\n{tail}");
            match parse_reply(&text) {
                Parsed::Command { command, body, .. } => {
                    assert_eq!(command, Command::Ack, "{tail:?}");
                    assert_eq!(body, "Jag tar det.", "{tail:?}");
                }
                other => panic!("{tail:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_command_inside_the_quoted_history_is_never_read() {
        // The official wrote only a greeting on top; the quote holds a command.
        let text = "Hej, se nedan\n\n> beslut: ej anmäl\n";
        assert_eq!(
            parse_reply(text),
            Parsed::NotACommand {
                body: "Hej, se nedan".into()
            }
        );
        // Nothing written at all above an Outlook block.
        let text = "\n\nFrån: breachwatch\nSkickat: i dag\nÄmne: x\n\nstäng\n";
        assert_eq!(
            parse_reply(text),
            Parsed::NotACommand {
                body: String::new()
            }
        );
    }

    #[test]
    fn bottom_posted_reply_is_read_below_the_quote() {
        let text = "On Mon, 1 Jun 2026 at 10:00, breachwatch <b@k.example> wrote:\n> Ny incident PUI-2026-0007\n> kvittera?\n\nbedömning: risk\nRimligt.\n";
        match parse_reply(text) {
            Parsed::Command { command, body, .. } => {
                assert_eq!(command, Command::Assess(Assessment::Risk));
                assert_eq!(body, "Rimligt.");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn outlook_html_reply_with_nbsp_lines_and_signature() {
        let text = "\u{a0}\r\n\u{a0}\r\nKvittera\u{a0}\r\n\u{a0}\r\nMed vänlig hälsning\r\nAnna Andersson\r\nKommunstyrelsen\r\n\r\nFrån: breachwatch <breach@kommun.example>\r\nSkickat: den 27 mars 2026 10:05\r\nTill: Anna Andersson\r\nÄmne: [PUI-2026-0007] Ny incident\r\n\r\nSvara \"kvittera\" …\r\n";
        match parse_reply(text) {
            Parsed::Command {
                command,
                lang,
                body,
            } => {
                assert_eq!((command, lang), (Command::Ack, Lang::Sv));
                assert_eq!(body, "Med vänlig hälsning\nAnna Andersson\nKommunstyrelsen");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn only_quote_and_nothing_else_is_empty() {
        assert_eq!(
            parse_reply("> kvittera\n> stäng\n"),
            Parsed::NotACommand {
                body: String::new()
            }
        );
    }

    #[test]
    fn a_non_command_keeps_all_own_text_as_body() {
        let text = "Hej!\nLeverantören har ringt.\n\n> gammalt\n";
        assert_eq!(
            parse_reply(text),
            Parsed::NotACommand {
                body: "Hej!\nLeverantören har ringt.".into()
            }
        );
    }

    #[test]
    fn free_text_keeps_its_original_case_and_characters() {
        assert_eq!(
            cmd("Försening: IMY:s e-tjänst låg nere"),
            Some((Command::Delay("IMY:s e-tjänst låg nere".into()), Lang::Sv))
        );
    }

    /// A small deterministic generator, so the no-panic test needs no extra crate.
    fn noise(seed: u64, len: usize, alphabet: &[&str]) -> String {
        let mut x = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let mut out = String::new();
        for _ in 0..len {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            out.push_str(alphabet[(x % alphabet.len() as u64) as usize]);
        }
        out
    }

    #[test]
    fn never_panics_on_odd_text() {
        let alphabet = [
            "a",
            "ä",
            " ",
            "\u{a0}",
            "\n",
            "\r\n",
            ">",
            ":",
            "-",
            "–",
            "beslut",
            "anmält",
            "kvittera",
            "DI",
            "2026",
            "1234",
            "Från: x",
            "Sent: y",
            "On x wrote:",
            "-- ",
            "_",
            "*",
            "\u{feff}",
            "🙂",
            ";",
            "(",
            "\"",
            "återta",
        ];
        for seed in 0..3000 {
            let text = noise(seed, (seed % 40) as usize, &alphabet);
            let _ = parse_reply(&text);
        }
    }

    #[test]
    fn imy_ref_deserialisation_validates() {
        let r: ImyRef = serde_json::from_str("\"DI-2026-1234\"").unwrap();
        assert_eq!(r, imy("DI-2026-1234"));
        assert!(serde_json::from_str::<ImyRef>("\"junk\"").is_err());
        assert_eq!(serde_json::to_string(&r).unwrap(), "\"DI-2026-1234\"");
    }

    #[test]
    fn imy_refs_are_validated_and_normalised() {
        assert_eq!(imy("di-2026-1234").as_str(), "DI-2026-1234");
        assert_eq!(imy("IMY 2026 9").as_str(), "IMY-2026-9");
        for bad in [
            "DI-2026",
            "XY-2026-1",
            "DI-26-1",
            "DI-2026-12a",
            "DI-2026-123456789",
        ] {
            assert_eq!(ImyRef::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn split_is_the_bare_word_or_the_word_with_a_reason() {
        assert_eq!(cmd("dela"), Some((Command::Split(None), Lang::Sv)));
        assert_eq!(cmd("Split."), Some((Command::Split(None), Lang::En)));
        assert_eq!(
            cmd("dela: annat system, annan upptäckt"),
            Some((
                Command::Split(Some("annat system, annan upptäckt".into())),
                Lang::Sv
            ))
        );
        // A sentence starting with the word is text.
        assert_eq!(cmd("Dela gärna rapporten med IT"), None);
        assert_eq!(cmd("Split the invoice in two"), None);
    }

    #[test]
    fn merge_names_the_target_case_in_both_languages() {
        let r = |s: &str| CaseRef::from_stored(s.into());
        assert_eq!(
            cmd("sammanfoga PUI-2026-0007"),
            Some((Command::Merge(r("PUI-2026-0007")), Lang::Sv))
        );
        assert_eq!(
            cmd("merge PUI-2026-0007"),
            Some((Command::Merge(r("PUI-2026-0007")), Lang::En))
        );
        // Any letter case, en dash, missing zero padding, a word in between,
        // trailing punctuation: all normalise to the stored form.
        for text in [
            "Sammanfoga pui-2026-7.",
            "sammanfoga med PUI–2026–0007",
            "sammanfoga: (PUI-2026-0007)",
            "Merge into pui-2026-0007!",
        ] {
            assert_eq!(
                cmd(text).map(|c| c.0),
                Some(Command::Merge(r("PUI-2026-0007"))),
                "{text:?}"
            );
        }
        // A sentence starting with the word is text; the bare keyword or a bad
        // reference after a colon is a helpful error in both languages.
        assert_eq!(cmd("Merge request from the supplier"), None);
        assert_eq!(cmd("Sammanfoga inte dessa"), None);
        for text in [
            "sammanfoga",
            "merge:",
            "sammanfoga: PUI-26-7",
            "merge: PUI-2026-",
        ] {
            match parse_reply(text) {
                Parsed::Invalid { error, .. } => {
                    assert!(
                        error.sv.contains("sammanfoga PUI-2026-0007"),
                        "{}",
                        error.sv
                    );
                    assert!(error.en.contains("merge PUI-2026-0007"), "{}", error.en);
                }
                other => panic!("{text:?} gave {other:?}"),
            }
        }
        for bad in [
            "PUI-2026",
            "PUI-26-7",
            "PUI-2026-123456789",
            "PUI-2026-7a",
            "2026-2026-7",
            "TOOLONGPREFIX-2026-7",
        ] {
            assert_eq!(parse_case_ref(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_diarienummer_is_set_by_reply_in_both_languages() {
        let d = |s: &str| Diarienummer::parse(s).unwrap();
        assert_eq!(
            cmd("diarienummer: KS 2026/0123"),
            Some((Command::Registry(d("KS 2026/0123")), Lang::Sv))
        );
        assert_eq!(
            cmd("Dnr: ks2026/0123"),
            Some((Command::Registry(d("KS 2026/0123")), Lang::Sv))
        );
        assert_eq!(
            cmd("Registry: SN 2026/7."),
            Some((Command::Registry(d("SN 2026/7")), Lang::En))
        );
        // Swedish letters in the series, spaces around the slash.
        assert_eq!(d("bun 2026 / 0042").as_str(), "BUN 2026/0042");
        assert_eq!(d("ÄN 2026/1").as_str(), "ÄN 2026/1");
        // A sentence is not a command; a bad number is a helpful error.
        assert_eq!(cmd("Diarienummer saknas fortfarande"), None);
        match parse_reply("diarienummer: 2026-0123") {
            Parsed::Invalid { error, .. } => {
                assert!(error.sv.contains("KS 2026/0123"), "{}", error.sv);
                assert!(error.en.contains("registry: KS 2026/0123"), "{}", error.en);
            }
            other => panic!("expected an error, got {other:?}"),
        }
        for bad in [
            "KS 26/1",
            "KS 2026/",
            "/2026/1",
            "KS 2026/12a",
            "TOOLONGSERIES 2026/1",
            "KS 2026/123456789",
        ] {
            assert_eq!(Diarienummer::parse(bad), None, "{bad}");
        }
        let back: Diarienummer = serde_json::from_str("\"KS 2026/0123\"").unwrap();
        assert_eq!(back, d("ks 2026/0123"));
        assert!(serde_json::from_str::<Diarienummer>("\"junk\"").is_err());
    }
}
