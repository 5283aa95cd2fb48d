//! Forward chains: finding the notice inside a forward and when each link of
//! the chain received it.
//!
//! Handles inline forwards (Outlook header blocks in Swedish and English,
//! Gmail's "---------- Forwarded message ---------", Thunderbird's
//! "-------- Vidarebefordrat meddelande --------" / "Original Message", Apple's
//! "Begin forwarded message:"), nested several deep, and message/rfc822
//! attachments. A quoted header block in a *reply* ("SV:", "Re:") is a quote,
//! not a forward: the text below it is cut away instead.
//!
//! Owns no classification: it returns the chain and the notice's own text.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use mail_parser::Message;
use once_cell::sync::Lazy;
use regex::Regex;

use super::text::normalize;
use crate::core::dates::parse_header_date;

/// One forwarded message of the chain, as its header block (or its own
/// headers, for an attached message) describes it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Layer {
    pub name: Option<String>,
    pub address: Option<String>,
    pub sent: Option<DateTime<Utc>>,
    pub subject: Option<String>,
    /// The forwarded message's own Message-ID, without angle brackets: known
    /// only when it is attached whole (message/rfc822), not for inline forwards.
    pub message_id: Option<String>,
}

/// The result of unwrapping: the forwarded links (outermost first) and the
/// text of the notice itself, with the forwarder's note and quotes removed.
#[derive(Debug, Clone, Default)]
pub struct Chain {
    pub layers: Vec<Layer>,
    pub text: String,
    /// Subject of the innermost message (the notice's own subject).
    pub subject: Option<String>,
    /// The outer message's whole body as text (forwarder's note and quotes included).
    pub full: String,
}

impl Chain {
    pub fn forwarded(&self) -> bool {
        !self.layers.is_empty()
    }
}

static RE_FWD_MARKER: Lazy<Regex> = Lazy::new(|| {
    Regex::new(r"(?i)^\s*(?:-{2,}\s*(?:forwarded message|vidarebefordrat meddelande|vidarebefordrat brev|videresendt melding|weitergeleitete nachricht|message transféré)\s*-{2,}|(?:begin forwarded message|början av vidarebefordrat meddelande|start of forwarded message)\s*:)\s*$")
        .expect("static regex")
});
static RE_NEUTRAL_MARKER: Lazy<Regex> = Lazy::new(|| {
    Regex::new(r"(?i)^\s*-{2,}\s*(?:original message|ursprungligt meddelande|originalmeddelande|opprinnelig melding)\s*-{2,}\s*$")
        .expect("static regex")
});
/// A reply's quote line as a pattern: "On Mon, 3 Mar 2025, Anna <…> wrote:",
/// "Den 3 mars 2025 kl. 10:00 skrev Anna <…>:", "Anna Andersson <…> skrev:".
/// [`is_reply_marker`] checks it by hand; the tests hold the two to the same
/// answers. Compiled, its three counted any-character runs were the reader's
/// largest automaton: 0.9 MB of program and 1.1 MB of search cache of the
/// reader's 28 MB (`benches/reader_memory.rs`, issue #10).
#[cfg(test)]
const REPLY_MARKER: &str =
    r"(?i)^\s*(?:on\s.{4,200}\swrote:|den\s.{4,200}\sskrev\s.{0,200}:|.{4,200}\sskrev\s*:)\s*$";

/// Whether `line` is a reply's quote line ([`REPLY_MARKER`]): "on … wrote:",
/// "den … skrev …:" or "… skrev:", each run of any characters 4 to 200 long
/// (0 to 200 after "skrev"). `char::is_whitespace` is the pattern's `\s`
/// (Unicode White_Space); the words compare as `(?i)` does.
fn is_reply_marker(line: &str) -> bool {
    let all: Vec<char> = line.chars().collect();
    // `\s*$`: the marker ends at the last character that is not a space.
    let end = all
        .iter()
        .rposition(|c| !c.is_whitespace())
        .map_or(0, |i| i + 1);
    let c = all.get(..end).unwrap_or_default();
    let lead = c.iter().take_while(|x| x.is_whitespace()).count();
    let u = c.get(lead..).unwrap_or_default();
    on_wrote(u) || den_skrev(u) || name_skrev(c, lead)
}

/// `on\s.{4,200}\swrote:` of the whole of `u`.
fn on_wrote(u: &[char]) -> bool {
    let n = u.len();
    n >= 10
        && starts_ci(u, "on")
        && u.get(2).is_some_and(|c| c.is_whitespace())
        && u.get(n - 7).is_some_and(|c| c.is_whitespace())
        && u.get(n - 6..).is_some_and(|t| starts_ci(t, "wrote:"))
        && u.get(3..n - 7).is_some_and(|x| run(x, 4, 200))
}

/// `den\s.{4,200}\sskrev\s.{0,200}:` of the whole of `u`, "skrev" wherever
/// the runs around it fit.
fn den_skrev(u: &[char]) -> bool {
    if !(starts_ci(u, "den")
        && u.get(3).is_some_and(|c| c.is_whitespace())
        && u.last() == Some(&':'))
    {
        return false;
    }
    let m = u.get(4..u.len() - 1).unwrap_or_default();
    (0..m.len()).any(|i| {
        m.get(i).is_some_and(|c| c.is_whitespace())
            && m.get(i + 1..).is_some_and(|t| starts_ci(t, "skrev"))
            && m.get(i + 6).is_some_and(|c| c.is_whitespace())
            && m.get(..i).is_some_and(|x| run(x, 4, 200))
            && m.get(i + 7..).is_some_and(|y| run(y, 0, 200))
    })
}

/// `^\s*.{4,200}\sskrev\s*:` of the whole of `c`, whose first `lead`
/// characters are spaces (the run may begin with some of them).
fn name_skrev(c: &[char], lead: usize) -> bool {
    let Some((&':', before)) = c.split_last() else {
        return false;
    };
    let w_end = before
        .iter()
        .rposition(|x| !x.is_whitespace())
        .map_or(0, |i| i + 1);
    let Some(z_end) = w_end.checked_sub(6) else {
        return false;
    };
    before.get(z_end).is_some_and(|x| x.is_whitespace())
        && before
            .get(z_end + 1..w_end)
            .is_some_and(|t| starts_ci(t, "skrev"))
        && (0..=lead.min(z_end)).any(|k| before.get(k..z_end).is_some_and(|x| run(x, 4, 200)))
}

/// `.{lo,hi}`: between `lo` and `hi` characters, none a line break.
fn run(x: &[char], lo: usize, hi: usize) -> bool {
    (lo..=hi).contains(&x.len()) && !x.contains(&'\n')
}

/// Whether `c` begins with the ASCII text `w`, letters compared as `(?i)`
/// does: by simple case folding, in which K is also the Kelvin sign and s
/// also the long s.
fn starts_ci(c: &[char], w: &str) -> bool {
    c.len() >= w.len()
        && c.iter().zip(w.chars()).all(|(&a, b)| {
            a.to_ascii_lowercase() == b
                || (b == 'k' && a == '\u{212A}')
                || (b == 's' && a == '\u{17F}')
        })
}
static RE_FWD_PREFIX: Lazy<Regex> = Lazy::new(|| {
    Regex::new(r"(?i)^\s*(?:\[[^\]]*\]\s*)?(?:(?:re|sv|svar|aw|antw)\s*:\s*)*(?:vb|fw|fwd|vs|wg|tr|rv|doorst|vidarebefordrat)\s*:").expect("static regex")
});
static RE_REPLY_PREFIX: Lazy<Regex> = Lazy::new(|| {
    Regex::new(r"(?i)^\s*(?:\[[^\]]*\]\s*)?(?:re|sv|svar|aw|antw|ang)\s*:").expect("static regex")
});
static RE_ANGLE_ADDR: Lazy<Regex> = Lazy::new(|| {
    Regex::new(r"^(?P<name>.*?)\s*(?:<|\[mailto:|\(mailto:)\s*(?P<addr>[^<>\[\]()\s]+@[^<>\[\]()\s]+?)\s*(?:>|\]|\))").expect("static regex")
});

pub fn is_forward_subject(s: Option<&str>) -> bool {
    s.is_some_and(|s| RE_FWD_PREFIX.is_match(s))
}

pub fn is_reply_subject(s: Option<&str>) -> bool {
    s.is_some_and(|s| RE_REPLY_PREFIX.is_match(s))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lbl {
    From,
    Date,
    To,
    Subject,
    Other,
}

/// A header label line of a forward or quote block ("Från: …", "**Sent:** …"):
/// the label's kind and the value. A plain byte scan; called on many lines.
fn label(line: &str) -> Option<(Lbl, &str)> {
    let t = line.trim_start().trim_start_matches('*').trim_start();
    let colon = t.find(':')?;
    let name = t.get(..colon)?.trim_end().trim_end_matches('*').trim_end();
    if name.is_empty() || name.len() > 16 {
        return None;
    }
    let kind = match name.to_lowercase().as_str() {
        "från" | "from" | "fra" => Lbl::From,
        "skickat" | "sent" | "datum" | "date" | "sendt" => Lbl::Date,
        "till" | "to" | "kopia" | "cc" | "til" => Lbl::To,
        "ämne" | "subject" | "emne" => Lbl::Subject,
        "bifogade filer" | "attachments" | "svara till" | "reply-to" | "prioritet"
        | "importance" => Lbl::Other,
        _ => return None,
    };
    let val = t
        .get(colon + 1..)?
        .trim_start()
        .trim_start_matches('*')
        .trim_start();
    Some((kind, val))
}

#[derive(Debug, Clone)]
struct Block {
    /// Byte offset where the block (or its marker line) starts.
    start: usize,
    /// Byte offset just after the block.
    end: usize,
    explicit: bool,
    from: Option<String>,
    date: Option<String>,
    subject: Option<String>,
}

#[derive(Debug, Clone)]
enum Event {
    Block(Block),
    Quote(usize),
}

/// "Name <addr>", "Name [mailto:addr]", "addr" or "Name".
pub fn parse_person(v: &str) -> (Option<String>, Option<String>) {
    let v = v.trim();
    let clean = |s: &str| {
        let s = s.trim().trim_matches('"').trim_matches('\'').trim();
        (!s.is_empty()).then(|| s.to_string())
    };
    if let Some(c) = RE_ANGLE_ADDR.captures(v) {
        let name = c.name("name").and_then(|n| clean(n.as_str()));
        let addr = c.name("addr").map(|a| a.as_str().to_lowercase());
        return (name, addr);
    }
    if v.contains('@') && !v.contains(' ') {
        return (None, Some(v.trim_matches(['<', '>']).to_lowercase()));
    }
    (clean(v), None)
}

/// The words above the first forwarded header block or reply quote line of
/// `text` (a forwarder's note, a reply's own words): all of it when there is
/// none.
pub fn note_above_blocks(text: &str) -> &str {
    let end = scan(text).first().map_or(text.len(), |e| match e {
        Event::Block(b) => b.start,
        Event::Quote(off) => *off,
    });
    text.get(..end).unwrap_or(text)
}

/// Byte offsets of line starts, so events can point into the text.
fn lines_with_offsets(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut pos = 0;
    for line in text.split('\n') {
        out.push((pos, line));
        pos += line.len() + 1;
    }
    out
}

/// Strips quote marks ("> > ") from the start of a line.
fn unquote(line: &str) -> &str {
    let mut l = line.trim_start();
    while let Some(r) = l.strip_prefix('>') {
        l = r.trim_start();
    }
    l
}

fn scan(text: &str) -> Vec<Event> {
    let lines = lines_with_offsets(text);
    let mut events = Vec::new();
    let mut marker: Option<(usize, bool)> = None;
    let mut i = 0;
    while i < lines.len() {
        let Some(&(off, raw)) = lines.get(i) else {
            break;
        };
        let line = unquote(raw);
        let t = line.trim();
        // Cheap byte tests first: markers have dashes or end in a colon, and
        // header labels have a colon near the start. Most lines have neither.
        let dashes = t.contains("--");
        let colon = t.find(':');
        if colon.is_none() && !dashes {
            if !t.is_empty() {
                if let Some((moff, _)) = marker {
                    if off.saturating_sub(moff) > 200 {
                        marker = None;
                    }
                }
            }
            i += 1;
            continue;
        }
        if (dashes || t.ends_with(':')) && RE_FWD_MARKER.is_match(line) {
            marker = Some((off, true));
            i += 1;
            continue;
        }
        if dashes && RE_NEUTRAL_MARKER.is_match(line) {
            marker = Some((off, false));
            i += 1;
            continue;
        }
        if marker.is_none() && t.ends_with(':') && t.len() < 400 && is_reply_marker(line) {
            events.push(Event::Quote(off));
            i += 1;
            continue;
        }
        if colon.is_some_and(|c| c > 40) {
            i += 1;
            continue;
        }
        if let Some((kind, _)) = label(line) {
            if matches!(kind, Lbl::From | Lbl::Date | Lbl::Subject) {
                if let Some((block, next)) = parse_block(&lines, i, marker) {
                    events.push(Event::Block(block));
                    marker = None;
                    i = next;
                    continue;
                }
            }
        }
        if !line.trim().is_empty() {
            // A marker only introduces the block that follows it closely.
            if let Some((moff, _)) = marker {
                if off.saturating_sub(moff) > 200 {
                    marker = None;
                }
            }
        }
        i += 1;
    }
    events
}

fn parse_block(
    lines: &[(usize, &str)],
    first: usize,
    marker: Option<(usize, bool)>,
) -> Option<(Block, usize)> {
    let mut from = None;
    let mut date = None;
    let mut subject = None;
    let mut labels = 0;
    let mut last = Lbl::Other;
    let mut j = first;
    let mut loose = 0;
    let mut seen = 0;
    while j < lines.len() && seen < 14 {
        let Some(&(_, raw)) = lines.get(j) else {
            break;
        };
        let line = unquote(raw);
        if line.trim().is_empty() {
            // A header block written as one HTML block per line (Apple Mail's
            // and Yahoo's divs, Outlook's paragraphs) reads with blank lines
            // between its lines: go on over at most two of them while the
            // block still lacks its sender, date or subject and a label line
            // follows. A complete block ends at a blank line, as before.
            if from.is_some() && date.is_some() && subject.is_some() {
                break;
            }
            let next = (j + 1..(j + 3).min(lines.len()))
                .filter_map(|k| lines.get(k).map(|&(_, l)| (k, unquote(l))))
                .find(|(_, l)| !l.trim().is_empty());
            match next {
                Some((k, l)) if label(l).is_some() => {
                    j = k;
                    continue;
                }
                _ => break,
            }
        }
        seen += 1;
        if let Some((kind, v)) = label(line) {
            let val = Some(v.trim().to_string());
            match kind {
                Lbl::From if from.is_none() => from = val,
                Lbl::Date if date.is_none() => date = val,
                Lbl::Subject if subject.is_none() => subject = val,
                _ => {}
            }
            labels += 1;
            last = kind;
        } else if matches!(last, Lbl::To | Lbl::Subject | Lbl::From) && loose < 3 {
            // a wrapped recipient list or subject
            loose += 1;
            if last == Lbl::Subject {
                if let Some(s) = subject.as_mut() {
                    s.push(' ');
                    s.push_str(line.trim());
                }
            }
        } else {
            break;
        }
        j += 1;
    }
    if from.is_none() || date.is_none() || labels < 3 {
        return None;
    }
    let start = marker
        .map(|(o, _)| o)
        .unwrap_or(lines.get(first).map_or(0, |l| l.0));
    let end = lines
        .get(j)
        .map(|(o, _)| *o)
        .unwrap_or_else(|| lines.last().map(|(o, l)| o + l.len()).unwrap_or_default());
    Some((
        Block {
            start,
            end,
            explicit: marker.is_some_and(|(_, e)| e),
            from,
            date,
            subject,
        },
        j,
    ))
}

/// Removes quoted lines ("> …") and leading quote marks from forwarded text.
fn strip_quotes(text: &str, keep_quoted: bool) -> String {
    if !text.contains('>') {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    for line in text.split('\n') {
        let is_quoted = line.trim_start().starts_with('>');
        if is_quoted && !keep_quoted {
            continue;
        }
        out.push_str(if is_quoted { unquote(line) } else { line });
        out.push('\n');
    }
    out
}

/// Finds inline forward blocks in `text`. Returns the forwarded links and the
/// notice's own text.
fn inline(
    text: &str,
    subject: Option<&str>,
    in_reply: bool,
    tz: Tz,
    reference: DateTime<Utc>,
) -> (Vec<Layer>, String, Option<String>) {
    let events = scan(text);
    let mut layers = Vec::new();
    let mut start = 0;
    let mut end = text.len();
    let mut prev_subject: Option<String> = subject.map(str::to_string);
    for ev in events {
        match ev {
            Event::Quote(pos) => {
                if pos >= start {
                    end = pos;
                    break;
                }
            }
            Event::Block(b) => {
                let first = layers.is_empty();
                let is_fwd = b.explicit
                    || is_forward_subject(prev_subject.as_deref())
                    || (first && !is_reply_subject(prev_subject.as_deref()) && !in_reply);
                if !is_fwd {
                    end = b.start;
                    break;
                }
                let (name, address) = b.from.as_deref().map(parse_person).unwrap_or_default();
                let sent = b
                    .date
                    .as_deref()
                    .and_then(|d| parse_header_date(d, tz, reference));
                layers.push(Layer {
                    name,
                    address,
                    sent,
                    subject: b.subject.clone(),
                    message_id: None,
                });
                prev_subject = b.subject;
                start = b.end;
            }
        }
    }
    let body = text.get(start..end.max(start)).unwrap_or("");
    let notice = strip_quotes(body, !layers.is_empty());
    let own_subject = if layers.is_empty() {
        subject.map(str::to_string)
    } else {
        prev_subject
    };
    (layers, notice, own_subject)
}

/// Puts a `<br>` before block-level tags (headings, list items, table rows,
/// divs), so that mail-parser's HTML-to-text keeps them on their own lines.
/// A table row breaks where it opens only, so the rows of a table are lines
/// one after the other, with no blank line between them: Thunderbird's and
/// Roundcube's forwards write their header block ("Ämne:", "Datum:",
/// "Från:") as such a table, and a blank line ends a header block
/// ([`parse_block`]). A byte scan: HTML bodies can be large and are full of `<`.
fn mark_blocks(html: &str) -> String {
    const BLOCK: &[&[u8]] = &[
        b"h1",
        b"h2",
        b"h3",
        b"h4",
        b"h5",
        b"h6",
        b"li",
        b"div",
        b"tr",
        b"table",
        b"ul",
        b"ol",
        b"blockquote",
        b"section",
        b"article",
        b"header",
        b"footer",
        b"title",
        b"dt",
        b"dd",
        b"p",
    ];
    const CELL: &[&[u8]] = &[b"td", b"th"];
    let bytes = html.as_bytes();
    let mut out = String::with_capacity(html.len() + html.len() / 16);
    let mut last = 0;
    let mut name = [0u8; 12];
    let mut cells = 0usize;
    for (i, _) in html.match_indices('<') {
        let mut j = i + 1;
        if bytes.get(j) == Some(&b'/') {
            j += 1;
        }
        let mut n = 0;
        while let Some(c) = bytes.get(j + n) {
            if !c.is_ascii_alphanumeric() || n >= name.len() {
                break;
            }
            if let Some(slot) = name.get_mut(n) {
                *slot = c.to_ascii_lowercase();
            }
            n += 1;
        }
        let tag = name.get(..n).unwrap_or(&[]);
        let closing = bytes.get(i + 1) == Some(&b'/');
        if n > 0 && tag == b"tr" && closing {
            // The next row (or the table's end) breaks the line.
            cells = 0;
        } else if n > 0 && BLOCK.contains(&tag) {
            out.push_str(html.get(last..i).unwrap_or(""));
            out.push_str("<br>");
            last = i;
            cells = 0;
        } else if n > 0 && CELL.contains(&tag) && !closing {
            // Table cells of one row stay on one line, but never glued:
            // "<td>Service</td><td>PeopleSync</td>" is "Service: PeopleSync",
            // and a label cell with its own colon ("<th>Från: </th>") is
            // followed by a space only.
            if cells > 0 {
                let cell = html.get(last..i).unwrap_or("");
                out.push_str(cell);
                out.push_str(if ends_in_colon(cell) { " " } else { ": " });
                last = i;
            }
            cells += 1;
        }
    }
    out.push_str(html.get(last..).unwrap_or(""));
    out
}

/// Whether the text of an HTML fragment ends in a colon, after its closing
/// tags, spaces and non-breaking spaces ("<b>Från:</b>&nbsp;</th>"). Looks
/// back at most a few tags; a fragment that ends inside a tag does not.
fn ends_in_colon(fragment: &str) -> bool {
    let mut s = fragment;
    for _ in 0..8 {
        s = s.trim_end();
        if let Some(rest) = s.strip_suffix("&nbsp;") {
            s = rest;
        } else if s.ends_with('>') {
            match s.rfind('<') {
                Some(open) => s = s.get(..open).unwrap_or(""),
                None => return false,
            }
        } else {
            return s.ends_with(':');
        }
    }
    false
}

/// A message's own text as decoded, read once for both of its uses: the
/// reader's body text ([`OwnText::body`]) and a reply's text, which keeps line
/// ends and spaces as written ([`OwnText::text`]).
pub struct OwnText<'a> {
    /// The first text body, else its HTML as text (with the block breaks of
    /// [`mark_blocks`]): from at most [`MAX_HTML_BYTES`] of the HTML's text.
    pub text: std::borrow::Cow<'a, str>,
    /// The bytes of the source the text was read from (more than `text`
    /// holds when a huge HTML body was read only in part).
    pub whole: usize,
}

impl OwnText<'_> {
    /// The plain text the reader works on: the first [`MAX_BODY_BYTES`],
    /// normalised.
    pub fn body(&self) -> String {
        normalize(super::text::prefix(&self.text, MAX_BODY_BYTES))
    }
}

/// The most of an HTML body's text read: a notice, its forward headers and
/// its facts come first, and a megabyte-long newsletter or log dump must not
/// cost more than a short mail. Counted in text as written between the tags
/// ([`compact_html`]), not in bytes of HTML: a 300 kB stylesheet or an
/// inline image ahead of the text must not use the bound up and leave the
/// notice unread.
pub const MAX_HTML_BYTES: usize = 4 * MAX_BODY_BYTES;

/// The most of an HTML body kept for HTML-to-text, tags included.
const MAX_COMPACT_HTML_BYTES: usize = 2 * MAX_HTML_BYTES;

/// The elements whose content is never text (mail-parser's HTML-to-text
/// hides them too): skipped whole.
const HIDDEN_ELEMENTS: &[&str] = &["head", "style", "script", "template"];

/// The longest tag name kept: the names that matter are short, and a longer
/// one is cut, never turned into one of them.
const MAX_TAG_NAME: usize = 32;

/// What HTML-to-text reads of `html`, and only that: tags without their
/// attributes, the text between them as written; comments and the head,
/// style, script and template elements left out. One byte scan; stops once
/// `max_text` bytes of text or `max_out` bytes in all are kept, and then
/// says so (`true`). As mail-parser reads it, a `<` opens a tag up to the
/// next `>`, and a tag left open hides the rest.
fn compact_html(html: &str, max_text: usize, max_out: usize) -> (String, bool) {
    let b = html.as_bytes();
    let mut out = String::new();
    let mut text = 0usize;
    let mut i = 0usize;
    while i < b.len() {
        let rest = html.get(i..).unwrap_or("");
        let lt = rest.find('<').map_or(b.len(), |k| i + k);
        if lt > i {
            let run = html.get(i..lt).unwrap_or("");
            let room = max_text
                .saturating_sub(text)
                .min(max_out.saturating_sub(out.len()));
            if run.len() > room {
                out.push_str(super::text::prefix(run, room));
                return (out, true);
            }
            out.push_str(run);
            text += run.len();
        }
        if lt >= b.len() {
            break;
        }
        if out.len() >= max_out {
            return (out, true);
        }
        let tag = html.get(lt..).unwrap_or("");
        if tag.starts_with("<!--") {
            match tag.get(4..).and_then(|t| t.find("-->")) {
                Some(k) => {
                    i = lt + 4 + k + 3;
                    continue;
                }
                None => break,
            }
        }
        let Some(gt) = tag.find('>') else { break };
        let after = lt + gt + 1;
        let closing = tag.as_bytes().get(1) == Some(&b'/');
        let inner = tag.get(1 + usize::from(closing)..gt).unwrap_or("");
        let name_len = inner
            .find(|c: char| c.is_ascii_whitespace() || c == '/')
            .unwrap_or(inner.len());
        let name = super::text::prefix(inner.get(..name_len).unwrap_or(""), MAX_TAG_NAME);
        if !closing && HIDDEN_ELEMENTS.iter().any(|h| name.eq_ignore_ascii_case(h)) {
            match end_of_element(html, after, name) {
                Some(end) => {
                    i = end;
                    continue;
                }
                None => break,
            }
        }
        out.push('<');
        if closing {
            out.push('/');
        }
        out.push_str(name);
        out.push('>');
        i = after;
    }
    (out, false)
}

/// Where the element `name` opened before `from` ends: just past its closing
/// tag (`</name`, any case, to its `>`); a head left open ends where the
/// body begins (`<body`, which is kept). `None` when it never ends.
fn end_of_element(html: &str, from: usize, name: &str) -> Option<usize> {
    let b = html.as_bytes();
    let is_name = |at: usize, n: &str| {
        b.get(at..at + n.len())
            .is_some_and(|x| x.eq_ignore_ascii_case(n.as_bytes()))
            && !b
                .get(at + n.len())
                .is_some_and(|c| c.is_ascii_alphanumeric())
    };
    let head = name.eq_ignore_ascii_case("head");
    let mut i = from;
    loop {
        let k = i + html.get(i..)?.find('<')?;
        if b.get(k + 1) == Some(&b'/') && is_name(k + 2, name) {
            return Some(k + html.get(k..)?.find('>')? + 1);
        }
        if head && is_name(k + 1, "body") {
            return Some(k);
        }
        i = k + 1;
    }
}

/// A message's own text: its first text body, else its HTML as text.
/// mail-parser breaks lines only at `<br>` and `</p>`; headings, list items
/// and table rows get a break too, so that sentences do not run together.
pub fn own_text<'a>(msg: &'a Message, end: &[u8]) -> OwnText<'a> {
    match super::mime::first_text(msg, end) {
        Some((true, first)) => {
            // Its first HTML body (the same part, as HTML), read to its text's
            // bound like any other.
            html_text(&super::mime::first_html(msg, end).unwrap_or(first))
        }
        Some((false, text)) => {
            // A blank or "this is an HTML message" plain part beside the
            // HTML that holds the notice: the HTML is the text.
            let html = is_placeholder(&text)
                .then(|| super::mime::other_html(msg, end))
                .flatten()
                .map(|h| html_text(&h))
                .filter(|own| !own.text.trim().is_empty());
            html.unwrap_or(OwnText {
                whole: text.len(),
                text,
            })
        }
        None => OwnText {
            text: Default::default(),
            whole: 0,
        },
    }
}

/// An HTML body as text: [`compact_html`], the block breaks, mail-parser's
/// HTML-to-text.
fn html_text(html: &str) -> OwnText<'static> {
    let (kept, cut) = compact_html(html, MAX_HTML_BYTES, MAX_COMPACT_HTML_BYTES);
    let text = mail_parser::decoders::html::html_to_text(&mark_blocks(&kept));
    let whole = if cut { html.len() } else { text.len() };
    OwnText {
        text: text.into(),
        whole,
    }
}

/// The most a plain part saying only that the mail is HTML holds.
const MAX_PLACEHOLDER_BYTES: usize = 300;

/// A plain text part that is no text: blank, or a short line saying the mail
/// is HTML ("This is an HTML message. Please use an HTML capable mail
/// program", "Detta meddelande är i HTML-format"), which some ticket systems
/// and mailers put beside the HTML that holds the notice.
fn is_placeholder(text: &str) -> bool {
    let t = text.trim();
    t.is_empty()
        || (t.len() <= MAX_PLACEHOLDER_BYTES
            && t.as_bytes()
                .windows(4)
                .any(|w| w.eq_ignore_ascii_case(b"html")))
}

/// The plain text of a message ([`OwnText::body`]). Only the first
/// [`MAX_BODY_BYTES`] of a body are read.
pub fn body_text(msg: &Message, end: &[u8]) -> String {
    own_text(msg, end).body()
}

/// How much of a body's text is read (bytes, cut at a character boundary).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

fn has_thread_headers(msg: &Message) -> bool {
    !msg.in_reply_to().is_empty() || !msg.references().is_empty()
}

/// Unwraps a message: inline forwards first, else an attached message/rfc822
/// (recursively, at most a few levels deep so that a crafted message cannot
/// make us dig forever).
/// `text`: the message's [`body_text`], which the caller has read already.
pub fn unwrap(
    msg: &Message,
    end: &[u8],
    text: String,
    tz: Tz,
    reference: DateTime<Utc>,
    depth: usize,
) -> Chain {
    let subject = msg.subject();
    let (layers, notice, own_subject) =
        inline(&text, subject, has_thread_headers(msg), tz, reference);
    if !layers.is_empty() {
        return Chain {
            layers,
            text: notice,
            subject: own_subject,
            full: text,
        };
    }
    if depth < 4 {
        if let Some((inner, inner_end)) = super::mime::attached_message(msg, end) {
            let inner: &Message = &inner;
            let from = inner.from().and_then(|a| a.first());
            let sent = inner
                .date()
                .filter(|d| d.is_valid())
                .and_then(|d| DateTime::from_timestamp(d.to_timestamp(), 0));
            let layer = Layer {
                name: from.and_then(|a| a.name()).map(str::to_string),
                address: from.and_then(|a| a.address()).map(str::to_lowercase),
                sent,
                subject: inner.subject().map(str::to_string),
                message_id: inner.message_id().map(str::to_string),
            };
            let sub = unwrap(
                inner,
                inner_end,
                body_text(inner, inner_end),
                tz,
                sent.unwrap_or(reference),
                depth + 1,
            );
            let mut layers = vec![layer];
            let subject = if sub.layers.is_empty() {
                inner.subject().map(str::to_string)
            } else {
                sub.subject.clone()
            };
            layers.extend(sub.layers);
            return Chain {
                layers,
                text: sub.text,
                subject,
                full: text,
            };
        }
    }
    Chain {
        layers,
        text: notice,
        subject: own_subject,
        full: text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::Europe::Stockholm;

    /// Lines built from the pieces of a reply marker: the words, every kind
    /// of space the pattern's `\s` knows (and a line break), the letters
    /// `(?i)` folds specially, and runs of filler around the counted bounds
    /// (3, 4, 200, 201 characters).
    fn marker_like() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        const WORDS: &[&str] = &[
            "on",
            "On",
            "den",
            "Den",
            "skrev",
            "SKREV",
            "\u{17F}\u{212A}rev",
            "wrote:",
            "WROTE:",
            ":",
            " ",
            "\t",
            "\n",
            "\u{a0}",
            "\u{3000}",
            "\u{2028}",
            "x",
            "åäö",
        ];
        // Each word as likely as each run below (one arm per word before).
        let piece = prop_oneof![
            18 => proptest::sample::select(WORDS).prop_map(str::to_string),
            1 => (0usize..=3).prop_map(|n| "a".repeat(n)),
            1 => (0usize..=2).prop_map(|n| "é".repeat(n)),
            1 => proptest::sample::select(&[3usize, 4, 196, 199, 200, 201][..])
                .prop_map(|n| "b".repeat(n)),
        ];
        proptest::collection::vec(piece, 0..9).prop_map(|v| v.concat())
    }

    proptest::proptest! {
        #![proptest_config(crate::core::notice::proptests::cases(4000))]
        /// The hand check answers as the pattern does, on every line.
        #[test]
        fn reply_marker_check_is_the_pattern(line in marker_like()) {
            static RE: Lazy<Regex> = Lazy::new(|| Regex::new(REPLY_MARKER).expect("pattern"));
            proptest::prop_assert_eq!(is_reply_marker(&line), RE.is_match(&line), "{:?}", line);
        }
    }

    #[test]
    fn reply_markers_are_read_as_the_pattern_reads_them() {
        let re = regex::Regex::new(REPLY_MARKER).expect("pattern");
        let b = |n: usize| "b".repeat(n);
        let lines = [
            "On Mon, 3 Mar 2025 at 10:00, Anna Andersson <anna@example.se> wrote:".to_string(),
            "  On Mon, 3 Mar 2025, Anna wrote:\u{a0} ".to_string(),
            "Den 3 mars 2025 kl. 10:00 skrev Anna Andersson <anna@example.se>:".to_string(),
            "den 3 mars skrev Anna:".to_string(),
            "Anna Andersson <anna@example.se> skrev:".to_string(),
            "Anna \u{17F}\u{212A}REV :".to_string(),
            "   ab skrev:".to_string(),
            " a skrev:".to_string(),
            format!("on {} wrote:", b(200)),
            format!("on {} wrote:", b(201)),
            format!("on {} wrote:", b(3)),
            format!("den {} skrev {}:", b(4), b(200)),
            format!("den {} skrev {}:", b(4), b(201)),
            format!("den {} skrev {} skrev {}:", b(4), b(150), b(60)),
            format!("den {} skrev {} skrev {}:", b(4), b(150), b(201)),
            format!("{} skrev:", b(200)),
            format!("{} skrev:", b(201)),
            format!("\u{3000}{} skrev:", b(200)),
            "on ab\ncd wrote:".to_string(),
            "Subject: Re: skrev".to_string(),
            "wrote:".to_string(),
            String::new(),
        ];
        let want = [
            true, true, true, true, true, true, true, false, true, false, false, true, false, true,
            false, true, false, true, false, false, false, false,
        ];
        for (line, want) in lines.iter().zip(want) {
            assert_eq!(re.is_match(line), want, "pattern on {line:?}");
            assert_eq!(is_reply_marker(line), want, "hand check on {line:?}");
        }
    }

    fn reference() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-04-01T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn run(text: &str, subject: &str, in_reply: bool) -> (Vec<Layer>, String) {
        let (l, t, _) = inline(text, Some(subject), in_reply, Stockholm, reference());
        (l, t)
    }

    fn sent(l: &Layer) -> String {
        l.sent.unwrap().with_timezone(&Stockholm).to_rfc3339()
    }

    /// A header block with blank lines between its lines (one HTML block
    /// per line) is one block while it lacks a sender, date or subject; a
    /// complete block still ends at a blank line, so the notice's own
    /// "Datum: …" line after it stays the notice's text.
    #[test]
    fn a_header_block_with_blank_lines_between_its_lines() {
        let t = "F\u{f6}r k\u{e4}nnedom.\n\nFr\u{e5}n: Lev <lev@x.example>\n\n\nSkickat: den 18 juni 2021 20:05\n\nTill: IT <it@k.example>\n\n\u{c4}mne: Intr\u{e5}ng\n\nDatum: 17 juni\nSystem: ProvWeb\n";
        let (l, notice) = run(t, "VB: Intr\u{e5}ng", false);
        assert_eq!(l.len(), 1);
        assert_eq!(l[0].address.as_deref(), Some("lev@x.example"));
        assert_eq!(sent(&l[0]), "2021-06-18T20:05:00+02:00");
        assert!(
            notice.contains("Datum: 17 juni\nSystem: ProvWeb"),
            "{notice:?}"
        );
        // Three blank lines, or a line that is no label, end it as before.
        for t in [
            "Fr\u{e5}n: Lev <lev@x.example>\n\n\n\nSkickat: den 18 juni 2021 20:05\nTill: IT\n\u{c4}mne: X\n\nText.\n",
            "Fr\u{e5}n: Lev <lev@x.example>\n\nText.\nSkickat: den 18 juni 2021 20:05\nTill: IT\n\u{c4}mne: X\n\nText.\n",
        ] {
            let (l, _) = run(t, "VB: X", false);
            assert!(l.is_empty(), "{t:?}: {l:?}");
        }
    }

    /// A Norwegian Outlook forward: its labels were read, its month
    /// ("desember") was not, and the clock fell back to the forward.
    #[test]
    fn norwegian_outlook_forward() {
        let t = "Se under.\n\nFra: Lev <lev@x.example>\nSendt: fredag 4. desember 2026 20:05\nTil: IT <it@k.example>\nEmne: Sikkerhetshendelse\n\nHei,\nTekst.\n";
        let (l, _) = run(t, "VS: Sikkerhetshendelse", false);
        assert_eq!(l.len(), 1);
        assert_eq!(sent(&l[0]), "2026-12-04T20:05:00+01:00");
    }

    #[test]
    fn outlook_sv_forward() {
        let t = "Hej!\nSe nedan.\n\n________________________________\nFrån: Provdata <noreply@provdata.example>\nSkickat: den 18 juni 2021 20:05\nTill: IT <it@k.example>\nÄmne: Intrång\n\nTill våra kunder\nText.\n";
        let (l, notice) = run(t, "VB: Intrång", false);
        assert_eq!(l.len(), 1);
        assert_eq!(l[0].address.as_deref(), Some("noreply@provdata.example"));
        assert_eq!(sent(&l[0]), "2021-06-18T20:05:00+02:00");
        assert!(notice.trim_start().starts_with("Till våra kunder"));
        assert!(!notice.contains("Se nedan"));
    }

    #[test]
    fn outlook_en_us_forward() {
        let t = "FYI\n\nFrom: Acme Security <sec@acme.example>\nSent: Friday, June 18, 2021 8:05 PM\nTo: IT <it@k.example>\nSubject: Incident\n\nDear customer,\n";
        let (l, notice) = run(t, "FW: Incident", false);
        assert_eq!(sent(&l[0]), "2021-06-18T20:05:00+02:00");
        assert_eq!(l[0].name.as_deref(), Some("Acme Security"));
        assert!(notice.trim_start().starts_with("Dear customer"));
    }

    #[test]
    fn reply_quote_is_not_a_forward() {
        let t = "Svar här.\n\nFrån: Pia <pia@k.example>\nSkickat: den 21 juni 2021 10:12\nTill: X <x@y.example>\nÄmne: Frågor\n\nFrågor?\n";
        let (l, notice) = run(t, "SV: Frågor", true);
        assert!(l.is_empty());
        assert_eq!(notice.trim(), "Svar här.");
    }

    #[test]
    fn gmail_thunderbird_apple_markers() {
        for (t, subj, want) in [
            ("Note\n\n---------- Forwarded message ---------\nFrom: A <a@x.example>\nDate: Tue, Sep 9, 2025 at 11:47 PM\nSubject: N\nTo: <b@k.example>\n\n\nDear\n", "Fwd: N", "2025-09-09T23:47:00+02:00"),
            ("Note\n\n---------- Vidarebefordrat meddelande ---------\nFrån: A <a@x.example>\nDate: lör 29 mars 2025 kl. 10:14\nSubject: N\nTo: <b@k.example>\n\nHej\n", "Fwd: N", "2025-03-29T10:14:00+01:00"),
            ("\n-------- Vidarebefordrat meddelande --------\nÄmne: \tN\nDatum: \tTue, 3 Dec 2024 17:31:00 +0100\nFrån: \tA <a@x.example>\nTill: \tb@k.example\n\nHej\n", "N", "2024-12-03T17:31:00+01:00"),
            ("\n-------- Original Message --------\nSubject: N\nDate: Tue, 3 Dec 2024 17:31:00 +0100\nFrom: A <a@x.example>\nTo: b@k.example\n\nHej\n", "Fwd: N", "2024-12-03T17:31:00+01:00"),
            ("Note\n\nBörjan av vidarebefordrat meddelande:\n\nFrån: A <a@x.example>\nÄmne: N\nDatum: 7 november 2024 kl. 16:44:09 CET\nTill: b@k.example\n\nHej\n", "N", "2024-11-07T16:44:09+01:00"),
            ("Note\n\nBegin forwarded message:\n\nFrom: A <a@x.example>\nSubject: N\nDate: November 7, 2024 at 4:44:09 PM GMT+1\nTo: b@k.example\n\nHi\n", "N", "2024-11-07T16:44:09+01:00"),
        ] {
            let (l, notice) = run(t, subj, false);
            assert_eq!(l.len(), 1, "{t}");
            assert_eq!(sent(&l[0]), want, "{t}");
            assert_eq!(l[0].address.as_deref(), Some("a@x.example"));
            assert!(!notice.contains("Note"));
        }
    }

    #[test]
    fn nested_forwards_keep_every_link() {
        let t = "Till er.\n\nFrån: B <b@k.example>\nSkickat: den 20 juni 2021 09:00\nTill: C <c@k.example>\nÄmne: VB: Intrång\n\nKolla detta.\n\nFrån: Lev <lev@x.example>\nSkickat: den 18 juni 2021 20:05\nTill: B <b@k.example>\nÄmne: Intrång\n\nOriginal.\n";
        let (l, notice) = run(t, "VB: VB: Intrång", false);
        assert_eq!(l.len(), 2);
        assert_eq!(l[1].address.as_deref(), Some("lev@x.example"));
        assert_eq!(notice.trim(), "Original.");
    }

    #[test]
    fn reply_marker_cuts() {
        let t =
            "Ny info.\n\nOn Mon, 30 Mar 2026 at 09:12, Dataskydd <d@k.example> wrote:\n> fråga\n";
        let (l, notice) = run(t, "Re: x", true);
        assert!(l.is_empty());
        assert_eq!(notice.trim(), "Ny info.");
    }

    #[test]
    fn block_tags_get_line_breaks() {
        assert_eq!(
            mark_blocks("<h3>What</h3><p>x</p><LI>a</li><b>y</b><divx>"),
            "<br><h3>What<br></h3><br><p>x<br></p><br><LI>a<br></li><b>y</b><divx>"
        );
    }

    #[test]
    fn compact_html_keeps_what_html_to_text_reads_and_no_more() {
        let html = "<!DOCTYPE html><HTML><Head lang=sv><title>T</title>\
            <style type=\"text/css\">p{}</style></HEAD><body class=x>\
            <p style=\"margin:0\">Hej <b>du</b></p><!-- <p>x</p> --><br/>rad\
            <script>if(a<b){}</script><o:p></o:p><img src=\"data:image/png;base64,AAAA\"></body>";
        assert_eq!(
            compact_html(html, 1000, 1000),
            (
                "<!DOCTYPE><HTML><body><p>Hej <b>du</b></p><br>rad<o:p></o:p><img></body>"
                    .to_string(),
                false
            )
        );
        // A head left open ends where the body begins; a style left open
        // hides the rest, as in mail-parser.
        assert_eq!(
            compact_html("<head><title>x</title><body>Hej", 100, 100).0,
            "<body>Hej"
        );
        assert_eq!(
            compact_html("a<style>b", 100, 100),
            ("a".to_string(), false)
        );
        // The bounds: text, then all that is kept.
        assert_eq!(
            compact_html(&"å".repeat(10), 5, 100),
            ("åå".to_string(), true)
        );
        let (kept, cut) = compact_html(&"<b>x</b>".repeat(1_000), 10_000, 100);
        assert!(
            cut && kept.len() <= 100 + MAX_TAG_NAME + 3,
            "{}",
            kept.len()
        );
    }

    #[test]
    fn table_cells_are_never_glued() {
        assert_eq!(
            mark_blocks("<tr><td>Service</td><td>PeopleSync</td></tr>"),
            "<br><tr><td>Service</td>: <td>PeopleSync</td></tr>"
        );
        // A label cell with its own colon gets a space, not a second colon.
        assert_eq!(
            mark_blocks("<tr><th>Från: </th><td>X</td></tr><tr><td><b>Datum:</b>&nbsp;</td><td>Y</td></tr>"),
            "<br><tr><th>Från: </th> <td>X</td></tr><br><tr><td><b>Datum:</b>&nbsp;</td> <td>Y</td></tr>"
        );
        assert!(ends_in_colon("<b>Ämne:</b> </th>"));
        assert!(!ends_in_colon("<b>Ämne</b></th>"));
        assert!(!ends_in_colon("a:<b"));
        assert!(!ends_in_colon(""));
    }

    /// The rows of a forward's header table are lines one after another,
    /// "Label: value", so the header block reads as a plain one does.
    #[test]
    fn a_header_table_reads_as_header_lines() {
        let html = "<p>F\u{f6}r k\u{e4}nnedom.</p><table><tbody>\
            <tr><th>\u{c4}mne: </th><td>Incident</td></tr>\
            <tr><th>Datum: </th><td>Fri, 4 Dec 2026 20:05:00 +0100</td></tr>\
            <tr><th>Fr\u{e5}n: </th><td>Lev &lt;s@lev.example&gt;</td></tr>\
            </tbody></table><p>Text.</p>";
        let text = html_text(html).text.into_owned();
        assert!(
            text.contains(
                "\u{c4}mne: Incident\nDatum: Fri, 4 Dec 2026 20:05:00 +0100\nFr\u{e5}n: Lev <s@lev.example>\n"
            ),
            "{text:?}"
        );
    }

    #[test]
    fn persons() {
        assert_eq!(
            parse_person("\"Ek, Anna\" <Anna@X.example>"),
            (Some("Ek, Anna".into()), Some("anna@x.example".into()))
        );
        assert_eq!(
            parse_person("Anna Ek [mailto:anna@x.example]"),
            (Some("Anna Ek".into()), Some("anna@x.example".into()))
        );
        assert_eq!(
            parse_person("anna@x.example"),
            (None, Some("anna@x.example".into()))
        );
    }
}
