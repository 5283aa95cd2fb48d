//! The reader's one MIME parse, and the decoded text of the few parts it
//! reads.
//!
//! mail-parser decodes every leaf part's transfer encoding while it looks for
//! the part's end. Most of a mailbox's bytes are attachments the reader never
//! reads (pictures, PDFs, office files), and decoding their base64 was a third
//! of the reader's instructions (docs/benchmarks.md, session 40). So the
//! reader's parser does not read `Content-Transfer-Encoding` as a transfer
//! encoding: mail-parser then only delimits each leaf part (the MIME structure
//! is still wholly its own), and this module decodes, with mail-parser's own
//! decoders and charset tables, the parts the reader reads: the first text
//! and HTML bodies and attached messages.

use std::borrow::Cow;

use mail_parser::decoders::charsets::map::charset_decoder;
use mail_parser::decoders::html::text_to_html;
use mail_parser::parsers::MessageStream;
use mail_parser::{HeaderName, Message, MessagePart, MimeHeaders, PartType};

/// The reader's one MIME parser. The header fields it reads are parsed as
/// mail-parser parses them by default (MIME, dates, addresses, ids, subject),
/// except `Content-Transfer-Encoding` (module doc): it is parsed as a
/// content-type-shaped value, which mail-parser does not take for an encoding
/// (`transfer` reads the field's raw value).
/// Every other field is skipped, not decoded: a `Received` chain, DKIM
/// signatures and `X-` fields are most of a header block and cost the most to
/// parse. Their bytes stay where they are (`origin` and `header_raw` read them
/// by offset).
pub(super) static PARSER: std::sync::LazyLock<mail_parser::MessageParser> =
    std::sync::LazyLock::new(|| parser(false));

/// The reader's parser (`decode_all` false), or its twin that decodes every
/// part as mail-parser does by default (for the tests that hold the two equal).
fn parser(decode_all: bool) -> mail_parser::MessageParser {
    use mail_parser::HeaderName as H;
    let p = mail_parser::MessageParser::new().with_mime_headers();
    let p = if decode_all {
        p
    } else {
        p.header_content_type(H::ContentTransferEncoding)
    };
    p.header_comma_separated(H::ContentLanguage)
        .with_date_headers()
        .with_address_headers()
        .with_message_ids()
        .header_text(H::Subject)
        .header_text(H::Comments)
        .header_id(H::ReturnPath)
        .header_raw(H::MimeVersion)
        .default_header_ignore()
}

/// The transfer encodings the reader decodes; any other is read as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transfer {
    Base64,
    QuotedPrintable,
    Identity,
}

/// A part's transfer encoding, as mail-parser would take it: its last
/// `Content-Transfer-Encoding` field, the whole value without the space
/// around it (so `base64; x` is no encoding, as mail-parser has it).
fn transfer(msg: &Message<'_>, part: &MessagePart<'_>) -> Transfer {
    let value = part
        .headers
        .iter()
        .rev()
        .find(|h| h.name == HeaderName::ContentTransferEncoding)
        .and_then(|h| {
            msg.raw_message
                .get(h.offset_start as usize..h.offset_end as usize)
        })
        .map(<[u8]>::trim_ascii);
    match value {
        Some(v) if v.eq_ignore_ascii_case(b"base64") => Transfer::Base64,
        Some(v) if v.eq_ignore_ascii_case(b"quoted-printable") => Transfer::QuotedPrintable,
        _ => Transfer::Identity,
    }
}

/// The multipart part whose children include part `id`.
fn parent<'a>(msg: &'a Message<'_>, id: usize) -> Option<&'a MessagePart<'a>> {
    msg.parts
        .iter()
        .find(|p| matches!(&p.body, PartType::Multipart(c) if c.iter().any(|c| *c as usize == id)))
}

/// The boundary that ends part `id` of `msg`: its multipart parent's, or
/// `end` (the boundary that ends `msg` itself: none for a whole message, the
/// enclosing multipart's for a message attached as it is).
fn boundary<'a>(msg: &'a Message<'_>, id: usize, end: &'a [u8]) -> &'a [u8] {
    parent(msg, id)
        .and_then(|p| p.content_type())
        .and_then(|ct| ct.attribute("boundary"))
        .map_or(end, str::as_bytes)
}

/// The decoded bytes of part `id`, which is in base64 or quoted-printable:
/// mail-parser's own decoder run where mail-parser would have run it (from
/// the part's body to its boundary), so the bytes are those mail-parser would
/// have made. `None` when the body does not decode.
fn decoded_bytes(msg: &Message<'_>, id: usize, end: &[u8], how: Transfer) -> Option<Vec<u8>> {
    let decode = match how {
        Transfer::Base64 => MessageStream::decode_base64_mime,
        Transfer::QuotedPrintable => MessageStream::decode_quoted_printable_mime,
        Transfer::Identity => return None,
    };
    let body = msg
        .raw_message
        .get(msg.parts.get(id)?.offset_body as usize..)?;
    let (offset_end, bytes) = decode(&mut MessageStream::new(body), boundary(msg, id, end));
    (offset_end != usize::MAX).then(|| bytes.into_owned())
}

/// Body part `id`'s text, or `None` where mail-parser would not have kept it
/// as a body: its transfer encoding does not decode, and it is not a plain
/// text part that is the message's only part or one of an alternative's
/// (mail-parser keeps such a part's bytes as they are, as the parse here does).
fn body_part<'a>(msg: &'a Message<'_>, id: usize, end: &[u8]) -> Option<Cow<'a, str>> {
    let part = msg.parts.get(id)?;
    let (PartType::Text(text) | PartType::Html(text)) = &part.body else {
        return None;
    };
    let how = transfer(msg, part);
    if how == Transfer::Identity {
        return Some(Cow::Borrowed(text));
    }
    let Some(bytes) = decoded_bytes(msg, id, end, how) else {
        let kept = matches!(part.body, PartType::Text(_)) && (id == 0 || in_alternative(msg, id));
        return kept.then_some(Cow::Borrowed(text));
    };
    let charset = part
        .content_type()
        .and_then(|ct| ct.attribute("charset"))
        .and_then(|c| charset_decoder(c.as_bytes()));
    Some(Cow::Owned(match charset {
        Some(decode) => decode(&bytes),
        None => String::from_utf8(bytes)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
    }))
}

fn in_alternative(msg: &Message<'_>, id: usize) -> bool {
    parent(msg, id)
        .and_then(|p| p.content_type())
        .and_then(|ct| ct.subtype())
        .is_some_and(|s| s.eq_ignore_ascii_case("alternative"))
}

/// The first of a list of body parts, decoded; `None` when mail-parser would
/// not have kept it as a body (`body_part`). mail-parser's list would then
/// have been another, sometimes with a later part first: no public-corpus
/// mail has such a part, and on damaged mail the reader then reads no body
/// where mail-parser read a later one (16 of 2,520 in session 40's check).
fn first<'a>(
    msg: &'a Message<'_>,
    end: &[u8],
    list: &[u32],
) -> Option<(&'a MessagePart<'a>, Cow<'a, str>)> {
    let id = *list.first()? as usize;
    let part = msg.parts.get(id)?;
    Some((part, as_typed(part, body_part(msg, id, end)?)))
}

/// A plain part's text as its writer typed it: a `format=flowed` one
/// decoded (`text::flowed_decoded`, with its `delsp`), any other as it is.
/// The whole part is decoded, as [`body_part`] decoded it from its transfer
/// encoding (the reply's "text was N bytes" counts it): one linear pass, the
/// copy no longer than the text and a space a line, the text dropped.
fn as_typed<'a>(part: &MessagePart<'_>, text: Cow<'a, str>) -> Cow<'a, str> {
    let Some(ct) = part.content_type().filter(|_| !part.is_text_html()) else {
        return text;
    };
    let is = |name: &str, value: &str| {
        ct.attribute(name)
            .is_some_and(|v| v.trim().eq_ignore_ascii_case(value))
    };
    if !is("format", "flowed") {
        return text;
    }
    match super::text::flowed_decoded(&text, is("delsp", "yes")) {
        Cow::Borrowed(_) => text,
        Cow::Owned(decoded) => Cow::Owned(decoded),
    }
}

/// A message's first text body, decoded, and whether it is HTML
/// (mail-parser's `text_part(0)` and `body_text(0)` before the HTML is made
/// text).
pub(super) fn first_text<'a>(msg: &'a Message<'_>, end: &[u8]) -> Option<(bool, Cow<'a, str>)> {
    first(msg, end, &msg.text_body).map(|(p, t)| (p.is_text_html(), t))
}

/// A message's first HTML body as HTML (mail-parser's `body_html(0)`), decoded.
pub(super) fn first_html<'a>(msg: &'a Message<'_>, end: &[u8]) -> Option<Cow<'a, str>> {
    first(msg, end, &msg.html_body).map(|(p, t)| {
        if p.is_text_html() {
            t
        } else {
            Cow::Owned(text_to_html(&t))
        }
    })
}

/// A message's first HTML body when it is HTML and another part than its
/// first text body (the HTML of a multipart/alternative), decoded.
pub(super) fn other_html<'a>(msg: &'a Message<'_>, end: &[u8]) -> Option<Cow<'a, str>> {
    if msg.html_body.first() == msg.text_body.first() {
        return None;
    }
    first(msg, end, &msg.html_body)
        .filter(|(p, _)| p.is_text_html())
        .map(|(_, t)| t)
}

/// The first attached message, with the boundary that ends it. One sent in
/// base64 or quoted-printable (RFC 2046 allows neither, but mail does it) is
/// decoded and parsed here, as mail-parser would have parsed it.
pub(super) fn attached_message<'a>(
    msg: &'a Message<'a>,
    end: &'a [u8],
) -> Option<(Cow<'a, Message<'a>>, &'a [u8])> {
    msg.attachments.iter().find_map(|&id| {
        let id = id as usize;
        let p = msg.parts.get(id)?;
        let how = transfer(msg, p);
        if how != Transfer::Identity && (is_message(p) || p.message().is_some()) {
            let bytes = decoded_bytes(msg, id, end, how)?;
            let inner = PARSER.parse(&bytes)?.into_owned();
            Some((Cow::Owned(inner), &b""[..]))
        } else {
            p.message()
                .map(|m| (Cow::Borrowed(m), boundary(msg, id, end)))
        }
    })
}

/// How many of a message's attachments [`has_document`] looks at.
const MAX_DOCUMENT_LOOKS: usize = 64;

/// Whether `msg` (or the message it forwards as an attachment) has a document
/// attached, among the first [`MAX_DOCUMENT_LOOKS`] attachments: a PDF, a
/// Word, OpenDocument or RTF file, by its type or by its file name. A supplier's
/// notice may be only that ("Se bifogad incidentrapport"). Pictures,
/// signatures and attached messages are not documents.
pub(super) fn has_document(msg: &Message<'_>) -> bool {
    let looks = |m: &Message<'_>| {
        m.attachments
            .iter()
            .take(MAX_DOCUMENT_LOOKS)
            .filter_map(|&id| m.parts.get(id as usize))
            .any(is_document)
    };
    looks(msg)
        || msg
            .attachments
            .iter()
            .take(MAX_DOCUMENT_LOOKS)
            .filter_map(|&id| msg.parts.get(id as usize)?.message())
            .next()
            .is_some_and(looks)
}

/// SHA-256 of the documents attached to `msg` itself (as [`has_document`]
/// finds them, in order), each decoded, so that the same file sent with
/// other line lengths or another transfer encoding hashes the same; None
/// without documents. A supplier's notice that is a document may come with
/// the same covering text every time ("Se bifogad rapport …"): the text alone
/// does not tell two notices apart, their documents do.
pub(super) fn documents_digest(msg: &Message<'_>) -> Option<[u8; 32]> {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    let mut any = false;
    for &id in msg.attachments.iter().take(MAX_DOCUMENT_LOOKS) {
        let id = id as usize;
        let Some(p) = msg.parts.get(id).filter(|p| is_document(p)) else {
            continue;
        };
        let how = transfer(msg, p);
        let decoded = decoded_bytes(msg, id, b"", how);
        let bytes: &[u8] = decoded.as_deref().unwrap_or_else(|| p.contents());
        h.update((bytes.len() as u64).to_be_bytes());
        h.update(bytes);
        any = true;
    }
    any.then(|| h.finalize().into())
}

/// The file names of the documents attached to `msg` itself (as
/// [`documents_digest`] finds them), at most `max`, each on one line and
/// bounded; a document without a name is not named.
pub(super) fn document_names(msg: &Message<'_>, max: usize) -> Vec<String> {
    msg.attachments
        .iter()
        .take(MAX_DOCUMENT_LOOKS)
        .filter_map(|&id| msg.parts.get(id as usize))
        .filter(|p| is_document(p))
        .filter_map(|p| p.attachment_name())
        .map(|n| crate::core::bounded::one_line(n.trim(), 100))
        .filter(|n| !n.is_empty())
        .take(max)
        .collect()
}

/// How many attached forms [`document_text`] reads at most before it gives
/// up finding text in one.
const MAX_DOCUMENTS_READ: usize = 2;

/// The text of the first Word (.docx), OpenDocument (.odt) or, with `pdf`,
/// PDF file attached to `msg`, or else to the message it forwards as an
/// attachment, that has text (`document::text`, `document::pdf_text`),
/// with the file's name (bounded, on one line). A file whose
/// transfer-encoded body is larger than the decoded bound allows is not
/// decoded. Only for mail whose incident cue fires or that has a document
/// attached (`has_document`): most mail never comes here. A message
/// attached in base64 is decoded and parsed again here (once, bounded like
/// the rest), as [`attached_message`] does for the reader.
pub(super) fn document_text(
    msg: &Message<'_>,
    pdf: Option<&super::document::PdfReader>,
) -> Option<(Option<String>, String)> {
    own_document_text(msg, b"", pdf).or_else(|| {
        let (inner, end) = attached_message(msg, b"")?;
        own_document_text(&inner, end, pdf)
    })
}

fn own_document_text(
    msg: &Message<'_>,
    end: &[u8],
    pdf: Option<&super::document::PdfReader>,
) -> Option<(Option<String>, String)> {
    // Base64 is 4 bytes for 3, with line ends.
    const MAX_ENCODED: usize = super::document::MAX_FILE_BYTES / 3 * 4 * 78 / 76 + 1024;
    msg.attachments
        .iter()
        .take(MAX_DOCUMENT_LOOKS)
        .filter_map(|&id| {
            let p = msg.parts.get(id as usize)?;
            let readable = match readable_format(p)? {
                Readable::Pdf if pdf.is_none() => return None,
                r => r,
            };
            Some((id as usize, p, readable))
        })
        .take(MAX_DOCUMENTS_READ)
        .find_map(|(id, p, readable)| {
            if (p.offset_end as usize).saturating_sub(p.offset_body as usize) > MAX_ENCODED {
                return None;
            }
            let decoded = decoded_bytes(msg, id, end, transfer(msg, p));
            let bytes: &[u8] = decoded.as_deref().unwrap_or_else(|| p.contents());
            let text = match (readable, pdf) {
                (Readable::Form(format), _) => super::document::text(bytes, format)?,
                (Readable::Pdf, Some(pdf)) => super::document::pdf_text(bytes, pdf)?,
                (Readable::Pdf, None) => return None,
            };
            let name = p
                .attachment_name()
                .map(|n| crate::core::bounded::one_line(n.trim(), 100))
                .filter(|n| !n.is_empty());
            Some((name, text))
        })
}

/// An attached file the reader can read the text of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Readable {
    /// A Word or OpenDocument form, read here.
    Form(super::document::Format),
    /// A PDF, read by the shell's reader when it gives one.
    Pdf,
}

/// The format of an attached Word, OpenDocument or PDF file, by its type,
/// else by its file name's ending; None for any other attachment.
fn readable_format(p: &MessagePart<'_>) -> Option<Readable> {
    use super::document::Format;
    let by_type = p.content_type().and_then(|ct| {
        if !ct.ctype().eq_ignore_ascii_case("application") {
            return None;
        }
        let sub = ct.subtype()?.trim().to_ascii_lowercase();
        if sub.starts_with("vnd.openxmlformats-officedocument.wordprocessingml")
            || sub == "vnd.ms-word.document.macroenabled.12"
        {
            Some(Readable::Form(Format::Docx))
        } else if sub.starts_with("vnd.oasis.opendocument.text") {
            Some(Readable::Form(Format::Odt))
        } else if sub == "pdf" || sub == "x-pdf" {
            Some(Readable::Pdf)
        } else {
            None
        }
    });
    by_type.or_else(|| {
        let n = p.attachment_name()?.trim().to_ascii_lowercase();
        if [".docx", ".docm", ".dotx"].iter().any(|e| n.ends_with(e)) {
            Some(Readable::Form(Format::Docx))
        } else if [".odt", ".ott"].iter().any(|e| n.ends_with(e)) {
            Some(Readable::Form(Format::Odt))
        } else if n.ends_with(".pdf") {
            Some(Readable::Pdf)
        } else {
            None
        }
    })
}

fn is_document(p: &MessagePart<'_>) -> bool {
    let by_type = p.content_type().is_some_and(|ct| {
        let sub = ct.subtype().unwrap_or("").to_ascii_lowercase();
        match ct.ctype().to_ascii_lowercase().as_str() {
            "application" => {
                matches!(sub.as_str(), "pdf" | "msword" | "rtf")
                    || sub.starts_with("vnd.openxmlformats-officedocument.wordprocessingml")
                    || sub.starts_with("vnd.oasis.opendocument.text")
            }
            "text" => sub == "rtf",
            _ => false,
        }
    });
    let by_name = p.attachment_name().is_some_and(|n| {
        let n = n.trim().to_ascii_lowercase();
        [".pdf", ".doc", ".docx", ".odt", ".rtf"]
            .iter()
            .any(|e| n.ends_with(e))
    });
    by_type || by_name
}

fn is_message(part: &MessagePart<'_>) -> bool {
    part.content_type().is_some_and(|ct| {
        ct.ctype().eq_ignore_ascii_case("message")
            && ct.subtype().is_some_and(|s| {
                s.eq_ignore_ascii_case("rfc822") || s.eq_ignore_ascii_case("global")
            })
    })
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use mail_parser::decoders::html::html_to_text;

    /// What the reader reads of `raw` against what mail-parser makes of it
    /// when it decodes every part: the first text body (and whether it is
    /// HTML), the first HTML body when that is the text, and the same of the
    /// first attached message, four levels down.
    pub(in crate::core::notice) fn same_as_mail_parser(raw: &[u8]) -> Result<(), String> {
        let ours = PARSER.parse(raw);
        let full = parser(true).parse(raw);
        match (ours, full) {
            (None, None) => Ok(()),
            (Some(o), Some(f)) => compare(&o, b"", &f, 0),
            (o, f) => Err(format!(
                "parsed: ours {}, mail-parser's {}",
                o.is_some(),
                f.is_some()
            )),
        }
    }

    fn compare(o: &Message<'_>, end: &[u8], f: &Message<'_>, depth: usize) -> Result<(), String> {
        let ours = first_text(o, end).map(|(html, t)| {
            let t = if html { html_to_text(&t).into() } else { t };
            (html, t.into_owned())
        });
        // mail-parser leaves format=flowed as sent: its text made the
        // reader's way (`as_typed`) is what the reader must read.
        let theirs = f.text_part(0).and_then(|p| {
            f.body_text(0)
                .map(|t| (p.is_text_html(), as_typed(p, t).into_owned()))
        });
        if ours != theirs {
            return Err(format!("depth {depth}: text {ours:?} against {theirs:?}"));
        }
        if ours.is_some_and(|(html, _)| html) {
            let ours = first_html(o, end).map(Cow::into_owned);
            let theirs = f.body_html(0).map(Cow::into_owned);
            if ours != theirs {
                return Err(format!("depth {depth}: html {ours:?} against {theirs:?}"));
            }
        }
        if depth == 4 {
            return Ok(());
        }
        let ours = attached_message(o, end);
        let theirs = f.attachments().find_map(|p| p.message());
        match (ours, theirs) {
            (None, None) => Ok(()),
            (Some((o, end)), Some(f)) => {
                if (o.subject(), o.message_id()) != (f.subject(), f.message_id()) {
                    return Err(format!("depth {depth}: attached message's headers differ"));
                }
                compare(&o, end, f, depth + 1)
            }
            (o, f) => Err(format!(
                "depth {depth}: attached message: ours {}, mail-parser's {}",
                o.is_some(),
                f.is_some()
            )),
        }
    }

    fn mail(parts: &str) -> Vec<u8> {
        format!(
            "From: a@b.test\r\nTo: c@d.test\r\nSubject: s\r\nMessage-ID: <m@b.test>\r\nMIME-Version: 1.0\r\n{parts}"
        )
        .replace('\n', "\r\n")
        .replace("\r\r\n", "\r\n")
        .into_bytes()
    }

    const PDF_B64: &str = "JVBERi0xLjQKJcfsj6IKNSAwIG9iago8PC9MZW5ndGggNiAwIFI+PgpzdHJlYW0K";

    #[test]
    fn an_attachment_is_delimited_not_decoded() {
        let raw = mail(&format!(
            "Content-Type: multipart/mixed; boundary=\"b1\"\n\n--b1\nContent-Type: text/plain\n\nHej\n--b1\nContent-Type: application/pdf; name=a.pdf\nContent-Transfer-Encoding: base64\n\n{PDF_B64}\n--b1--\n"
        ));
        let m = PARSER.parse(&raw).expect("parses");
        let pdf = m
            .parts
            .iter()
            .find(|p| p.content_type().is_some_and(|c| c.subtype() == Some("pdf")))
            .expect("the attachment");
        match &pdf.body {
            PartType::Binary(Cow::Borrowed(b)) => assert_eq!(*b, PDF_B64.as_bytes()),
            other => panic!("the attachment was decoded: {other:?}"),
        }
        assert_eq!(
            first_text(&m, b"").map(|(_, t)| t.into_owned()),
            Some("Hej".into())
        );
        same_as_mail_parser(&raw).unwrap();
    }

    #[test]
    fn encoded_bodies_read_as_mail_parser_decodes_them() {
        // base64 Latin-1 text, with the attachment beside it.
        let latin1 = "Obeh\u{f6}rig \u{e5}tkomst till LabPortalen.";
        let latin1_b64 = {
            use base64::Engine;
            let bytes: Vec<u8> = latin1.chars().map(|c| c as u8).collect();
            base64::engine::general_purpose::STANDARD.encode(bytes)
        };
        let cases = [
            // A whole message in base64.
            mail(&format!("Content-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: base64\n\n{latin1_b64}\n")),
            // An alternative of base64 text and quoted-printable HTML, and a PDF.
            mail(&format!("Content-Type: multipart/mixed; boundary=\"o\"\n\n--o\nContent-Type: multipart/alternative; boundary=\"a\"\n\n--a\nContent-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: base64\n\n{latin1_b64}\n--a\nContent-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n<p>Obeh=C3=B6rig =\n=C3=A5tkomst</p>\n--a--\n--o\nContent-Type: application/pdf\nContent-Transfer-Encoding: base64\n\n{PDF_B64}\n--o--\n")),
            // HTML only, quoted-printable, a soft break just before the boundary.
            mail("Content-Type: multipart/mixed; boundary=\"h\"\n\n--h\nContent-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n<div>Intr=C3=A5ng i systemet=\n--h--\n"),
            // A forward attached as it is, its own text in base64: the part
            // ends at the outer boundary.
            mail(&format!("Content-Type: multipart/mixed; boundary=\"f\"\n\n--f\nContent-Type: text/plain\n\nSe nedan.\n--f\nContent-Type: message/rfc822\n\nFrom: x@supplier.test\nSubject: Incident\nMessage-ID: <i@supplier.test>\nContent-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: base64\n\n{latin1_b64}\n--f--\n")),
            // A forward attached in base64 (RFC 2046 forbids it; mail does it).
            {
                use base64::Engine;
                let inner = "From: x@supplier.test\r\nSubject: Incident\r\nMessage-ID: <j@supplier.test>\r\nContent-Type: text/plain\r\n\r\nWe detected unauthorised access.\r\n";
                let b64 = base64::engine::general_purpose::STANDARD.encode(inner);
                mail(&format!("Content-Type: multipart/mixed; boundary=\"g\"\n\n--g\nContent-Type: text/plain\n\nFYI\n--g\nContent-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\n{b64}\n--g--\n"))
            },
            // Broken base64 text: the only part (kept as it is), and beside
            // an attachment (not a body).
            mail("Content-Type: text/plain\nContent-Transfer-Encoding: base64\n\nThis is not base64.\n"),
            mail(&format!("Content-Type: multipart/mixed; boundary=\"x\"\n\n--x\nContent-Type: text/html\nContent-Transfer-Encoding: base64\n\n<p>not base64</p>\n--x\nContent-Type: application/pdf\nContent-Transfer-Encoding: base64\n\n{PDF_B64}\n--x--\n")),
            // Two transfer encodings (mail-parser takes the last), and one
            // with a parameter (no encoding to mail-parser).
            mail(&format!("Content-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: 7bit\nContent-Transfer-Encoding: base64\n\n{latin1_b64}\n")),
            mail("Content-Type: text/plain\nContent-Transfer-Encoding: quoted-printable;\n\nIntr=C3=A5ng\n"),
            // Broken quoted-printable in an alternative.
            mail("Content-Type: multipart/alternative; boundary=\"q\"\n\n--q\nContent-Type: text/plain\nContent-Transfer-Encoding: quoted-printable\n\na =\n= b\n--q\nContent-Type: text/html\nContent-Transfer-Encoding: quoted-printable\n\n<b>a</b>\n--q--\n"),
        ];
        for (i, raw) in cases.iter().enumerate() {
            if let Err(e) = same_as_mail_parser(raw) {
                panic!("case {i}: {e}");
            }
        }
        // And the reader sees the decoded text, not the transfer encoding.
        let m = PARSER.parse(&cases[0]).expect("parses");
        assert_eq!(
            first_text(&m, b"").map(|(_, t)| t.into_owned()),
            Some(latin1.to_string())
        );
        let m = PARSER.parse(&cases[3]).expect("parses");
        let (inner, end) = attached_message(&m, b"").expect("the forward");
        assert_eq!(end, b"f");
        assert_eq!(
            first_text(&inner, end).map(|(_, t)| t.into_owned()),
            Some(latin1.to_string())
        );
        let m = PARSER.parse(&cases[4]).expect("parses");
        let (inner, _) = attached_message(&m, b"").expect("the forward");
        assert_eq!(inner.message_id(), Some("j@supplier.test"));
    }
}
