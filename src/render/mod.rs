//! Turning the document content of `core::documents` into files: the decision
//! as .docx and text, the IMY draft as text, HTML and JSON, the deadline as
//! .ics, each with its SHA-256 for the case timeline. One entry point,
//! [`bundle`]. No clock and no network; the only IO is reading an admin's
//! template directory in [`Templates::load`].

pub mod docx;
pub mod ics;
pub mod stats;
pub mod templates;

#[cfg(test)]
mod tests;

use sha2::{Digest, Sha256};

use crate::core::documents::{decision, imy_form, CaseFile, Outcome};
pub use templates::{Language, TemplateError, Templates, TEMPLATE_FILES};

pub const MEDIA_DOCX: &str =
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
pub const MEDIA_TEXT: &str = "text/plain; charset=utf-8";
pub const MEDIA_HTML: &str = "text/html; charset=utf-8";
pub const MEDIA_JSON: &str = "application/json";
pub const MEDIA_ICS: &str = "text/calendar; charset=utf-8; method=PUBLISH";

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error("the .docx could not be written: {0}")]
    Docx(String),
}

/// One generated file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    /// ASCII, e.g. `Beslut-anmalan-PUI-2021-0001.docx` (no RFC 2231 needed in mail).
    pub file_name: String,
    pub media_type: &'static str,
    pub bytes: Vec<u8>,
    /// Lower-case hex SHA-256 of `bytes`.
    pub sha256: String,
}

impl Document {
    fn new(file_name: String, media_type: &'static str, bytes: Vec<u8>) -> Document {
        let sha256 = sha256_hex(&bytes);
        Document {
            file_name,
            media_type,
            bytes,
            sha256,
        }
    }
}

/// Lower-case hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// (file name, SHA-256) of every document, for the case timeline.
pub fn checksums(docs: &[Document]) -> Vec<(String, String)> {
    docs.iter()
        .map(|d| (d.file_name.clone(), d.sha256.clone()))
        .collect()
}

/// Base name of the decision files for `outcome`.
pub fn decision_file_stem(case: &CaseFile, outcome: Outcome) -> String {
    format!("Beslut-{}-{}", outcome.slug(), case.case_ref)
}

/// Every document for a case decided (or drafted) with `outcome`:
/// - the decision, `.docx` and `.txt`;
/// - for the notifying outcomes, the IMY draft as `.txt`, `.html` and `.json`
///   (a decision not to notify, or to withdraw, has no form to fill in);
/// - the deadline `.ics`; CANCELLED for the outcomes that stop the clock, so the
///   same UID removes the reminder from the official's calendar.
pub fn bundle(
    case: &CaseFile,
    templates: &Templates,
    outcome: Outcome,
) -> Result<Vec<Document>, RenderError> {
    let d = decision(case, outcome);
    let stem = decision_file_stem(case, outcome);
    let mut docs = vec![
        Document::new(
            format!("{stem}.docx"),
            MEDIA_DOCX,
            docx::decision_docx(
                &d,
                case.date,
                crate::core::documents::words::given(&case.official.name).unwrap_or("breachwatch"),
            )?,
        ),
        Document::new(
            format!("{stem}.txt"),
            MEDIA_TEXT,
            templates.decision_text(&d)?.into_bytes(),
        ),
    ];
    if outcome.notifies() {
        let form = imy_form(case, outcome);
        let imy = format!("IMY-anmalan-{}", case.case_ref);
        docs.push(Document::new(
            format!("{imy}.txt"),
            MEDIA_TEXT,
            templates.imy_text(&form)?.into_bytes(),
        ));
        docs.push(Document::new(
            format!("{imy}.html"),
            MEDIA_HTML,
            templates.imy_html(&form)?.into_bytes(),
        ));
        docs.push(Document::new(
            format!("{imy}.json"),
            MEDIA_JSON,
            form.to_json().into_bytes(),
        ));
    }
    let (summary, description) = templates.calendar_text(case, outcome)?;
    docs.push(Document::new(
        format!("Tidsfrist-{}.ics", case.case_ref),
        MEDIA_ICS,
        ics::calendar(case, &summary, &description, !outcome.notifies()).into_bytes(),
    ));
    Ok(docs)
}

/// The NIS2 drafts of a case: for the early warning and the incident
/// notification, `.txt`, `.html` and `.json` (`core::documents::nis2`), and
/// one `.ics` with a VEVENT per NIS2 deadline (met ones CANCELLED). `nis2` is
/// the case's NIS2 state.
pub fn nis2_bundle(
    case: &CaseFile,
    templates: &Templates,
    nis2: &crate::core::regime::Nis2,
) -> Result<Vec<Document>, RenderError> {
    use crate::core::documents::{nis2_form, Nis2Draft};
    let mut docs = Vec::new();
    for d in Nis2Draft::ALL {
        let form = nis2_form(case, nis2, d);
        let stem = d.file_stem(&case.case_ref.to_string());
        docs.push(Document::new(
            format!("{stem}.txt"),
            MEDIA_TEXT,
            form.to_text().into_bytes(),
        ));
        docs.push(Document::new(
            format!("{stem}.html"),
            MEDIA_HTML,
            templates.nis2_html(&form)?.into_bytes(),
        ));
        docs.push(Document::new(
            format!("{stem}.json"),
            MEDIA_JSON,
            form.to_json().into_bytes(),
        ));
    }
    // The clocks as the case holds them; a case only suggested runs them too.
    let mut state = nis2.clone();
    if state.status == crate::core::regime::Nis2Status::NotConsidered {
        state.status = crate::core::regime::Nis2Status::Suggested;
    }
    let dues = crate::core::regime::deadlines(case.aware_at, None, &state, case.tz);
    docs.push(Document::new(
        format!("Tidsfrister-NIS2-{}.ics", case.case_ref),
        MEDIA_ICS,
        ics::nis2_calendar(
            case,
            &dues,
            nis2.status != crate::core::regime::Nis2Status::DoesNotApply,
        )
        .into_bytes(),
    ));
    Ok(docs)
}
