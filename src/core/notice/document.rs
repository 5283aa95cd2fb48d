//! The text of a notice attached as a Word (.docx) or OpenDocument (.odt)
//! file: a supplier's covering mail often says only "Se bifogad
//! incidentrapport", the facts are in the attached form. Its paragraphs
//! become lines and a table row one line ("Antal berörda: cirka 1 100" from
//! a row of two cells), which the reader reads facts in as in a mail's text.
//!
//! Everything here is bounded: the file read (`MAX_FILE_BYTES`, decoded),
//! the entries of its ZIP directory (`MAX_ENTRIES`, their signatures
//! counted before the archive is opened), the XML inflated
//! (`MAX_XML_BYTES`, however well it compresses), the text kept
//! (`MAX_TEXT_CHARS`). A file that is none of
//! these formats, is encrypted, damaged or cut gives the text read up to
//! the damage, or none. Deleted tracked changes, field codes and comments
//! are not the document's text.
//!
//! A PDF is read only through a [`PdfReader`] the shell gives
//! (`ReadOptions::pdf`): a PDF parser can loop or balloon on hostile input,
//! so the shell runs it in a child process with time and memory limits
//! (`crate::pdf`); here its text is only bounded and its lines joined. The
//! old binary .doc is not read (the official reads it).

use std::io::Read;

use quick_xml::events::Event;

/// The largest attached file read, decoded. A notice form with a logo is
/// tens to hundreds of kilobytes.
pub const MAX_FILE_BYTES: usize = 4 * 1024 * 1024;
/// The most entries a file's ZIP directory may have. A Word file has
/// 10-30; each entry costs memory when the archive is opened.
pub const MAX_ENTRIES: usize = 1_000;
/// The most bytes of the document's XML inflated: a form's `document.xml`
/// is 10-200 KB; a crafted one that inflates 1,000-fold stops here. With
/// the file, what one read holds stays under `tests/reader_heap.rs`'s 8 MiB.
pub const MAX_XML_BYTES: u64 = 2 * 1024 * 1024;
/// The most characters of text kept (the reader reads facts in the first
/// 30,000 of a text).
pub const MAX_TEXT_CHARS: usize = 30_000;

/// Which format an attached document is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Office Open XML (Word 2007 and later): `word/document.xml`.
    Docx,
    /// OpenDocument text (LibreOffice): `content.xml`.
    Odt,
}

impl Format {
    fn part(self) -> &'static str {
        match self {
            Format::Docx => "word/document.xml",
            Format::Odt => "content.xml",
        }
    }
}

/// Reads a PDF file's text outside the reader (the shell's child process,
/// `crate::pdf`): called with at most [`MAX_FILE_BYTES`] of a file that
/// starts like a PDF; None when it could not.
///
/// A reader holds no state a panic could leave half-changed (the shell's
/// holds the binary's path and its limits), hence `RefUnwindSafe`: the
/// reader is called inside the intake's `catch_unwind`.
#[derive(Clone)]
pub struct PdfReader(std::sync::Arc<dyn ReadPdf>);

/// What a [`PdfReader`] calls.
pub trait ReadPdf: Fn(&[u8]) -> Option<String> + Send + Sync + std::panic::RefUnwindSafe {}
impl<F: Fn(&[u8]) -> Option<String> + Send + Sync + std::panic::RefUnwindSafe> ReadPdf for F {}

impl PdfReader {
    pub fn new(read: impl ReadPdf + 'static) -> Self {
        PdfReader(std::sync::Arc::new(read))
    }
}

impl std::fmt::Debug for PdfReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PdfReader")
    }
}

/// The text of PDF `file` as `pdf` reads it, bounded to
/// [`MAX_TEXT_CHARS`] and cleaned ([`pdf_lines`]); None when it is too
/// large, does not start like a PDF, or `pdf` finds no text.
pub fn pdf_text(file: &[u8], pdf: &PdfReader) -> Option<String> {
    // "%PDF-" within the first kilobyte (PDF 1.7, 7.5.2 allows junk before).
    let head = &file[..file.len().min(1024)];
    if file.len() > MAX_FILE_BYTES || !head.windows(5).any(|w| w == b"%PDF-") {
        return None;
    }
    let raw = (pdf.0)(file)?;
    let text = pdf_lines(text_prefix(&raw, MAX_TEXT_CHARS));
    (!text.trim().is_empty()).then_some(text)
}

/// The first `n` characters of `s`.
fn text_prefix(s: &str, n: usize) -> &str {
    s.char_indices().nth(n).map_or(s, |(i, _)| &s[..i])
}

/// A PDF's text as lines the reader reads: a line broken where the page's
/// line or a table cell was full joins the next — when the extracted line
/// ends in the space before the next word, or in a hyphen inside a date or
/// number ("2026-12-"), or when the next line goes on in lower case ("…
/// och uppgifter" / "om hälsa") after a line that ends no sentence (a
/// line ending in a hyphen joins without a space).
/// Control characters (form feeds between pages) and runs of spaces become
/// one space; blank lines go.
pub fn pdf_lines(raw: &str) -> String {
    // Each line's words joined by one space, and whether it ended in one;
    // None for a blank line.
    let lines: Vec<Option<(String, bool)>> = raw
        .split('\n')
        .map(|line| {
            let clean: String = line
                .chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect();
            let words: Vec<&str> = clean.split(' ').filter(|w| !w.is_empty()).collect();
            (!words.is_empty()).then(|| (words.join(" "), clean.ends_with(' ')))
        })
        .collect();
    let mut out = String::with_capacity(raw.len());
    let mut joining = false;
    for (i, line) in lines.iter().enumerate() {
        let Some((text, spaced)) = line else {
            joining = false;
            continue;
        };
        if !out.is_empty() && !joining {
            out.push('\n');
        }
        out.push_str(text);
        let next = lines
            .get(i + 1)
            .and_then(|l| l.as_ref())
            .map(|(t, _)| t.as_str());
        let Some(next) = next else {
            joining = false;
            continue;
        };
        let hyphen = text.ends_with('-')
            && text
                .trim_end_matches('-')
                .ends_with(|c: char| c.is_ascii_digit())
            && next.starts_with(|c: char| c.is_ascii_digit());
        let goes_on =
            next.starts_with(char::is_lowercase) && !text.ends_with(['.', '!', '?', ':', ';']);
        joining = *spaced || hyphen || goes_on;
        // A word broken at its hyphen ("fri-" / "text") keeps it, no space;
        // a line that ended in a space after its hyphen ("ord - ") gets one.
        let glued = text.ends_with('-') && !*spaced;
        if joining && !glued {
            out.push(' ');
        }
    }
    // A line whose words the extraction split by the glyphs' spacing ("v å
    // r öv erv akning", "kl. 1 4 :2 0", seen in Chromium's PDFs) is not
    // read: its times and words would be read wrong.
    match out.lines().any(|l| split_fragments(l) >= 2) {
        true => out
            .lines()
            .filter(|l| split_fragments(l) < 2)
            .collect::<Vec<_>>()
            .join("\n"),
        false => out,
    }
}

/// Short words a line may hold more than one of (Swedish and English).
const SHORT_WORDS: &[&str] = &[
    "i", "a", "å", "ö", "o", "på", "om", "av", "en", "är", "de", "du", "ni", "vi", "nu", "så",
    "ju", "då", "ej", "ca", "kl", "nr", "st", "el", "se", "ha", "gå", "få", "bl", "kr", "mm", "cm",
    "km", "ok", "id", "to", "of", "at", "on", "is", "by", "an", "or", "it", "we", "no", "in", "as",
    "be", "do", "he", "me", "my", "so", "up", "us", "if", "go", "am",
];

/// How many pieces of split words `line` has: lower-case tokens of one or
/// two letters that are no short word ("frå n", "ansv arig" give none: the
/// pieces "n" and "v").
fn split_fragments(line: &str) -> usize {
    line.split(' ')
        .filter(|w| {
            let n = w.chars().count();
            (1..=2).contains(&n)
                && w.chars().all(|c| c.is_alphabetic() && c.is_lowercase())
                && !SHORT_WORDS.contains(w)
        })
        .count()
}

/// The text of document `file` in `format`, paragraphs as lines; None when
/// it is too large, not a ZIP archive with the format's document part, or
/// holds no text.
pub fn text(file: &[u8], format: Format) -> Option<String> {
    if file.len() > MAX_FILE_BYTES || directory_entries_at_most(file) > MAX_ENTRIES {
        return None;
    }
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(file)).ok()?;
    let part = archive.by_name(format.part()).ok()?;
    // Room for the size the entry gives (bounded): read_to_end then does
    // not double its buffer past the bound.
    let mut xml = Vec::with_capacity(part.size().min(MAX_XML_BYTES) as usize);
    // An error part-way (a damaged or cut stream) keeps what was inflated.
    let _ = part.take(MAX_XML_BYTES).read_to_end(&mut xml);
    let text = xml_text(&String::from_utf8_lossy(&xml), format);
    (!text.trim().is_empty()).then_some(text)
}

/// At most how many entries the ZIP archive `file` can have in its
/// directory: every entry the ZIP reader parses starts with the central
/// directory's signature, so the signatures in the file bound them (the
/// end record's own count can be forged, or a second end record put in
/// its comment).
fn directory_entries_at_most(file: &[u8]) -> usize {
    const CENTRAL: &[u8] = b"PK\x01\x02";
    file.windows(CENTRAL.len())
        .filter(|w| *w == CENTRAL)
        .count()
}

/// What an element is to the text, by its local name (the namespace prefix
/// differs between writers; the names do not clash within one format).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// A paragraph or heading: ends a line.
    Paragraph,
    /// A table cell: ends a cell.
    Cell,
    /// A table row: ends a line of cells.
    Row,
    /// A line break inside a paragraph.
    Break,
    /// A tab.
    Tab,
    /// Spaces (OpenDocument's `<text:s text:c="3"/>`).
    Spaces,
    /// Word's text run content (`<w:t>`): the only place Word's text is.
    WordText,
    /// Not the document's text: a deleted tracked change, a field code, a
    /// comment or its anchor, a note's body kept out of the running text,
    /// Word's properties (a paragraph's tab stops are `<w:tab>` too) and
    /// the fallback copy of a text box.
    Skip,
    /// Anything else: its content is read.
    Other,
}

fn role(local: &[u8], format: Format) -> Role {
    match (format, local) {
        (_, b"p" | b"h") => Role::Paragraph,
        (Format::Docx, b"tc") | (Format::Odt, b"table-cell") => Role::Cell,
        (Format::Docx, b"tr") | (Format::Odt, b"table-row") => Role::Row,
        (Format::Docx, b"br" | b"cr") | (Format::Odt, b"line-break") => Role::Break,
        (_, b"tab") => Role::Tab,
        (Format::Odt, b"s") => Role::Spaces,
        (Format::Docx, b"t") => Role::WordText,
        (
            Format::Docx,
            b"delText" | b"instrText" | b"del" | b"comment" | b"footnoteReference" | b"pPr"
            | b"rPr" | b"tblPr" | b"trPr" | b"tcPr" | b"sectPr" | b"Fallback",
        )
        | (
            Format::Odt,
            b"tracked-changes" | b"annotation" | b"note-body" | b"deletion" | b"table-of-content",
        ) => Role::Skip,
        _ => Role::Other,
    }
}

/// The text of a document part's XML: each paragraph a line; a table row
/// one line, its cells' texts (their paragraphs joined by a space) joined
/// by ": " when the row has two cells and the first does not end in a
/// colon, else by " | "; at most [`MAX_TEXT_CHARS`] characters. Reads up
/// to the first XML error.
fn xml_text(xml: &str, format: Format) -> String {
    let mut out = Text::default();
    let mut reader = quick_xml::Reader::from_str(xml);
    // Word's text runs keep their spaces (`xml:space="preserve"`).
    reader.config_mut().trim_text(false);
    // How deep inside a skipped element (0: not in one).
    let mut skip = 0usize;
    // Inside `<w:t>` (Word's text is there only).
    let mut in_word_text = false;
    // How deep inside OpenDocument paragraphs (its text is there only).
    let mut in_paragraph = 0usize;
    while out.chars < MAX_TEXT_CHARS {
        let event = match reader.read_event() {
            Ok(Event::Eof) | Err(_) => break,
            Ok(e) => e,
        };
        match event {
            Event::Start(e) => {
                let r = role(e.local_name().as_ref(), format);
                if skip > 0 || r == Role::Skip {
                    skip += 1;
                    continue;
                }
                match r {
                    Role::WordText => in_word_text = true,
                    Role::Paragraph => in_paragraph += 1,
                    Role::Row => out.start_row(),
                    _ => {}
                }
            }
            Event::Empty(e) => {
                if skip > 0 {
                    continue;
                }
                match role(e.local_name().as_ref(), format) {
                    Role::Break => out.line_break(),
                    Role::Tab => out.push("\t"),
                    Role::Spaces => {
                        let n = e
                            .attributes()
                            .flatten()
                            .find(|a| a.key.local_name().as_ref() == b"c")
                            .and_then(|a| std::str::from_utf8(&a.value).ok()?.parse::<usize>().ok())
                            .unwrap_or(1)
                            .clamp(1, 20);
                        out.push(&" ".repeat(n));
                    }
                    Role::Paragraph => out.end_paragraph(),
                    _ => {}
                }
            }
            Event::End(e) => {
                if skip > 0 {
                    skip -= 1;
                    continue;
                }
                match role(e.local_name().as_ref(), format) {
                    Role::WordText => in_word_text = false,
                    Role::Paragraph => {
                        in_paragraph = in_paragraph.saturating_sub(1);
                        out.end_paragraph();
                    }
                    Role::Cell => out.end_cell(),
                    Role::Row => out.end_row(),
                    _ => {}
                }
            }
            Event::Text(t) if skip == 0 && reads(format, in_word_text, in_paragraph) => {
                if let Ok(s) = t.xml10_content() {
                    // OpenDocument collapses a run of white space to one
                    // space (ODF 1.2 §6.1.2; more are `<text:s>`).
                    match format {
                        Format::Odt => out.push(&collapsed(&s)),
                        Format::Docx => out.push(&s),
                    }
                }
            }
            Event::CData(t) if skip == 0 && reads(format, in_word_text, in_paragraph) => {
                out.push(&String::from_utf8_lossy(&t));
            }
            Event::GeneralRef(r) if skip == 0 && reads(format, in_word_text, in_paragraph) => {
                if let Ok(Some(c)) = r.resolve_char_ref() {
                    out.push(c.encode_utf8(&mut [0; 4]));
                } else if let Some(s) = r
                    .decode()
                    .ok()
                    .and_then(|n| quick_xml::escape::resolve_predefined_entity(&n))
                {
                    out.push(s);
                }
            }
            _ => {}
        }
    }
    out.finish()
}

/// Whether character data here is the document's text: Word's inside its
/// text runs, OpenDocument's inside paragraphs (between them it is the
/// XML's indentation).
fn reads(format: Format, in_word_text: bool, in_paragraph: usize) -> bool {
    match format {
        Format::Docx => in_word_text,
        Format::Odt => in_paragraph > 0,
    }
}

/// `s` with every run of XML white space as one space.
fn collapsed(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut space = false;
    for c in s.chars() {
        if matches!(c, ' ' | '\t' | '\n' | '\r') {
            if !space {
                out.push(' ');
            }
            space = true;
        } else {
            out.push(c);
            space = false;
        }
    }
    out
}

/// The text being built: lines, and the cells of the table row in hand.
#[derive(Default)]
struct Text {
    lines: Vec<String>,
    /// The paragraph (or the cell's paragraphs) in hand.
    line: String,
    /// The cells of the row in hand, once a row has started.
    cells: Option<Vec<String>>,
    /// Rows open around the one in hand (a table inside a cell).
    rows_open: usize,
    chars: usize,
}

impl Text {
    fn push(&mut self, s: &str) {
        let room = MAX_TEXT_CHARS.saturating_sub(self.chars);
        let s = match s.char_indices().nth(room) {
            Some((at, _)) => &s[..at],
            None => s,
        };
        self.chars += s.chars().count();
        self.line.push_str(s);
    }

    fn line_break(&mut self) {
        match self.cells {
            Some(_) => self.push(" "),
            None => self.push("\n"),
        }
    }

    fn end_paragraph(&mut self) {
        if self.cells.is_some() {
            // A cell's paragraphs are one piece of the row's line.
            if !self.line.ends_with(' ') && !self.line.is_empty() {
                self.push(" ");
            }
            return;
        }
        let line = std::mem::take(&mut self.line);
        self.chars += 1;
        self.lines.push(line.trim().to_string());
    }

    fn start_row(&mut self) {
        if self.cells.is_some() {
            // A table in a cell: its rows read as part of the cell.
            self.rows_open += 1;
            return;
        }
        if !self.line.trim().is_empty() {
            self.end_paragraph();
        }
        self.line.clear();
        self.cells = Some(Vec::new());
    }

    fn end_cell(&mut self) {
        if self.rows_open > 0 {
            self.push(" ");
            return;
        }
        let cell = std::mem::take(&mut self.line);
        let cell = cell.split_whitespace().collect::<Vec<_>>().join(" ");
        if let Some(cells) = self.cells.as_mut() {
            cells.push(cell);
        }
    }

    fn end_row(&mut self) {
        if self.rows_open > 0 {
            self.rows_open -= 1;
            return;
        }
        let Some(cells) = self.cells.take() else {
            return;
        };
        let cells: Vec<String> = cells.into_iter().filter(|c| !c.is_empty()).collect();
        let line = match cells.as_slice() {
            [label, value] if !label.ends_with(':') => format!("{label}: {value}"),
            [label, value] => format!("{label} {value}"),
            _ => cells.join(" | "),
        };
        self.line.clear();
        self.chars += 3;
        self.lines.push(line);
    }

    fn finish(mut self) -> String {
        if let Some(cells) = self.cells.take() {
            // A row cut off: its cells so far.
            let mut cells: Vec<String> = cells.into_iter().filter(|c| !c.is_empty()).collect();
            cells.push(std::mem::take(&mut self.line));
            self.lines.push(cells.join(" | "));
        } else if !self.line.trim().is_empty() {
            let line = std::mem::take(&mut self.line);
            self.lines.push(line);
        }
        // Runs of blank lines as one.
        let mut out = String::new();
        let mut blank = true;
        for line in &self.lines {
            let is_blank = line.trim().is_empty();
            if is_blank && blank {
                continue;
            }
            out.push_str(line.trim());
            out.push('\n');
            blank = is_blank;
        }
        // Separators were counted roughly: the bound holds exactly.
        if let Some((at, _)) = out.char_indices().nth(MAX_TEXT_CHARS) {
            out.truncate(at);
        }
        out.truncate(out.trim_end().len());
        out
    }
}

#[cfg(test)]
#[path = "document/tests.rs"]
pub(super) mod tests;
