//! Downloads from a case: a message's attachments (as received) and the
//! generated documents (as mailed, found by their SHA-256 among the case's
//! queued mails and served only when a `documents_generated` event of the case
//! records that checksum and the bytes hash to it).

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use super::session::Session;
use super::views::{case_for, error_page, store_error};
use super::WebState;
use crate::core::bounded;

/// Attachments listed per message, and messages read per case page.
pub const MAX_ATTACHMENTS: usize = 50;
pub const MAX_MESSAGES: i64 = 200;
/// Outgoing mails searched for a document.
const MAX_OUTBOX: i64 = 500;

#[derive(Debug, Clone)]
pub struct Attachment {
    pub name: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// A message's attachments (at most [`MAX_ATTACHMENTS`]), names on one line;
/// nothing for bytes that do not parse.
pub fn attachments(raw: &[u8]) -> Vec<Attachment> {
    use mail_parser::MimeHeaders;
    std::panic::catch_unwind(|| {
        let Some(m) = mail_parser::MessageParser::default().parse(raw) else {
            return Vec::new();
        };
        m.attachments()
            .take(MAX_ATTACHMENTS)
            .enumerate()
            .map(|(i, a)| Attachment {
                name: a
                    .attachment_name()
                    .map(|n| bounded::one_line(n, bounded::MAX_NAME_CHARS))
                    .filter(|n| !n.trim().is_empty())
                    .unwrap_or_else(|| format!("bilaga-{}", i + 1)),
                content_type: a
                    .content_type()
                    .map(|c| format!("{}/{}", c.ctype(), c.subtype().unwrap_or("octet-stream")))
                    .unwrap_or_else(|| "application/octet-stream".into()),
                bytes: a.contents().to_vec(),
            })
            .collect()
    })
    .unwrap_or_default()
}

pub fn sha256_hex(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

/// A download: never shown inline, the name kept safe for the header.
fn download(name: &str, bytes: Vec<u8>) -> Response {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || ".-_ ".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b".-_".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let disp = format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}");
    let mut r = bytes.into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    if let Ok(v) = HeaderValue::from_str(&disp) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    r
}

pub async fn attachment(
    State(state): State<WebState>,
    session: Session,
    Path((case_ref, id, n)): Path<(String, i64, usize)>,
) -> Response {
    let (rec, _) = match case_for(&state, &session.address, &case_ref, false).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let raw = match state.p.store.web_case_message_raw(rec.id, id).await {
        Ok(Some(r)) => r,
        Ok(None) => {
            return error_page(
                &state,
                StatusCode::NOT_FOUND,
                "Meddelandet finns inte i ärendet.",
            )
        }
        Err(e) => return store_error(&state, e),
    };
    match attachments(&raw).into_iter().nth(n) {
        Some(a) => download(&a.name, a.bytes),
        None => error_page(&state, StatusCode::NOT_FOUND, "Bilagan finns inte."),
    }
}

pub async fn document(
    State(state): State<WebState>,
    session: Session,
    Path((case_ref, sha)): Path<(String, String)>,
) -> Response {
    let (rec, _) = match case_for(&state, &session.address, &case_ref, false).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let sha = sha.trim().to_ascii_lowercase();
    if sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
        return error_page(&state, StatusCode::NOT_FOUND, "Dokumentet finns inte.");
    }
    let st = &state.p.store;
    let (events, mails) = match tokio::try_join!(
        st.case_events(rec.id),
        st.web_case_outbox_raws(rec.id, MAX_OUTBOX)
    ) {
        Ok(x) => x,
        Err(e) => return store_error(&state, e),
    };
    let recorded = events
        .iter()
        .filter(|e| e.kind == "documents_generated")
        .flat_map(|e| {
            e.data
                .get("documents")
                .and_then(|d| d.as_array())
                .cloned()
                .unwrap_or_default()
        })
        .any(|d| d.get("sha256").and_then(|s| s.as_str()) == Some(sha.as_str()));
    if !recorded {
        return error_page(
            &state,
            StatusCode::NOT_FOUND,
            "Dokumentet finns inte i ärendets tidslinje.",
        );
    }
    for raw in &mails {
        if let Some(a) = attachments(raw)
            .into_iter()
            .find(|a| sha256_hex(&a.bytes) == sha)
        {
            return download(&a.name, a.bytes);
        }
    }
    error_page(
        &state,
        StatusCode::NOT_FOUND,
        "Dokumentet finns på tidslinjen men inte längre i utgående post.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attachments_are_listed_with_names_and_bytes() {
        let raw = b"From: a@b.test\r\nSubject: x\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=XX\r\n\r\n--XX\r\nContent-Type: text/plain\r\n\r\nhej\r\n\
--XX\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"rapport.pdf\"\r\n\
Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--XX--\r\n";
        let a = attachments(raw);
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].name, "rapport.pdf");
        assert_eq!(a[0].content_type, "application/pdf");
        assert_eq!(a[0].bytes, b"%PDF-1.4\n");
        assert!(attachments(b"\x00\x01 not mail").is_empty());
    }
}
