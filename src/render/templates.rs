//! The minijinja templates that lay out the text and HTML documents: the shipped
//! Swedish and English sets (embedded, so the binary works without the
//! directory) and an admin's own directory, loaded and validated up front so a
//! missing or broken template is reported by `check-config` with its file
//! name instead of failing when a case is decided.

use std::path::{Path, PathBuf};

use std::collections::BTreeMap;

use minijinja::{Environment, UndefinedBehavior, Value};
use serde::Serialize;

use crate::core::documents::words::{datetime_short, placeholder_pieces, TO_FILL_IN};
use crate::core::documents::{
    decision, imy_form, sample, CaseFile, DraftDecision, ImyForm, Outcome,
};

pub const DECISION_TXT: &str = "decision.txt.j2";
pub const IMY_TXT: &str = "imy.txt.j2";
pub const IMY_HTML: &str = "imy.html.j2";
/// Built in (`src/render/nis2.html.j2`), whatever the template directory.
pub const NIS2_HTML: &str = "nis2.html.j2";
pub const CALENDAR_TXT: &str = "calendar.txt.j2";

/// Every template a set must have.
pub const TEMPLATE_FILES: [&str; 4] = [DECISION_TXT, IMY_TXT, IMY_HTML, CALENDAR_TXT];

/// The shipped sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    Sv,
    En,
}

impl std::str::FromStr for Language {
    type Err = String;

    /// "sv" or "en", as written in the configuration.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "sv" => Ok(Language::Sv),
            "en" => Ok(Language::En),
            other => Err(format!("unknown template language {other:?} (sv or en)")),
        }
    }
}

const SV: [(&str, &str); 4] = [
    (
        DECISION_TXT,
        include_str!("../../config/templates/sv/decision.txt.j2"),
    ),
    (
        IMY_TXT,
        include_str!("../../config/templates/sv/imy.txt.j2"),
    ),
    (
        IMY_HTML,
        include_str!("../../config/templates/sv/imy.html.j2"),
    ),
    (
        CALENDAR_TXT,
        include_str!("../../config/templates/sv/calendar.txt.j2"),
    ),
];

const EN: [(&str, &str); 4] = [
    (
        DECISION_TXT,
        include_str!("../../config/templates/en/decision.txt.j2"),
    ),
    (
        IMY_TXT,
        include_str!("../../config/templates/en/imy.txt.j2"),
    ),
    (
        IMY_HTML,
        include_str!("../../config/templates/en/imy.html.j2"),
    ),
    (
        CALENDAR_TXT,
        include_str!("../../config/templates/en/calendar.txt.j2"),
    ),
];

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("template directory {dir} cannot be read: {source}")]
    Dir {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("template {file} is missing")]
    Missing { file: PathBuf },
    #[error("template {file} cannot be read: {source}")]
    Read {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("template {file} is broken{}: {detail}", line.map(|l| format!(" at line {l}")).unwrap_or_default())]
    Broken {
        file: PathBuf,
        line: Option<usize>,
        detail: String,
    },
}

impl TemplateError {
    /// The template file the error is about (the directory for `Dir`).
    pub fn file(&self) -> &Path {
        match self {
            TemplateError::Dir { dir, .. } => dir,
            TemplateError::Missing { file }
            | TemplateError::Read { file, .. }
            | TemplateError::Broken { file, .. } => file,
        }
    }
}

/// A compiled, validated template set.
pub struct Templates {
    env: Environment<'static>,
    /// Where the set came from ("built-in sv" or a directory), for error messages.
    origin: PathBuf,
}

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Templates")
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

#[derive(Serialize)]
struct CalendarCase<'a> {
    case_ref: String,
    committee: &'a str,
    diarienummer: &'a str,
    deadline: String,
    aware: String,
    processor: Option<&'a str>,
    systems: &'a [String],
}

/// The inline highlight of a blank in HTML, seen by LibreOffice too (the
/// IMY draft rendered there showed no <mark> at all).
pub const BLANK_SPAN: &str = r#"<span style="background: #ffeb3b; font-weight: bold">"#;

/// The `mark` filter of the HTML templates: the text escaped, with every
/// placeholder inside it ("… [att fylla i] …", "KS 2026/____") in a
/// `<mark>`, so a blank inside an answer is as visible as a missing answer.
fn mark(text: String) -> Value {
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
            .replace('\'', "&#x27;")
    };
    let html: String = placeholder_pieces(&text)
        .into_iter()
        .map(|(blank, piece)| {
            if blank {
                // LibreOffice ignores <mark> (and its style); the span
                // carries the highlight there, <mark> in browsers.
                format!("<mark>{BLANK_SPAN}{}</span></mark>", esc(piece))
            } else {
                esc(piece)
            }
        })
        .collect();
    Value::from_safe_string(html)
}

impl Templates {
    /// A shipped set, compiled and validated (a test makes sure both are valid).
    pub fn builtin(lang: Language) -> Result<Templates, TemplateError> {
        let (files, origin) = match lang {
            Language::Sv => (SV, "built-in:sv"),
            Language::En => (EN, "built-in:en"),
        };
        let sources = files
            .iter()
            .map(|(n, s)| (n.to_string(), s.to_string()))
            .collect();
        Templates::compile(PathBuf::from(origin), sources)
    }

    /// What configuration asks for: the admin's directory when one is set,
    /// else the shipped set of `lang`.
    pub fn from_config(dir: Option<&Path>, lang: Language) -> Result<Templates, TemplateError> {
        match dir {
            Some(dir) => Templates::load(dir),
            None => Templates::builtin(lang),
        }
    }

    /// A set with no templates: every rendering fails with "missing". For a
    /// daemon whose configured set could not be loaded although the
    /// configuration was validated (files changed since): documents then fail
    /// case by case (recorded on the timeline) and mail still goes out.
    pub fn unavailable() -> Templates {
        Templates {
            env: Environment::new(),
            origin: PathBuf::from("unavailable"),
        }
    }

    /// Loads every template of [`TEMPLATE_FILES`] from `dir`, compiles it and
    /// renders it once against a sample case for every outcome, so a syntax
    /// error, a missing file or a misspelt variable is reported now, naming the
    /// file.
    pub fn load(dir: &Path) -> Result<Templates, TemplateError> {
        let meta = std::fs::metadata(dir).map_err(|source| TemplateError::Dir {
            dir: dir.to_path_buf(),
            source,
        })?;
        if !meta.is_dir() {
            return Err(TemplateError::Dir {
                dir: dir.to_path_buf(),
                source: std::io::Error::other("not a directory"),
            });
        }
        let mut sources = Vec::new();
        for name in TEMPLATE_FILES {
            let file = dir.join(name);
            match std::fs::read_to_string(&file) {
                Ok(s) => sources.push((name.to_string(), s)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Err(TemplateError::Missing { file })
                }
                Err(source) => return Err(TemplateError::Read { file, source }),
            }
        }
        Templates::compile(dir.to_path_buf(), sources)
    }

    fn compile(
        origin: PathBuf,
        sources: Vec<(String, String)>,
    ) -> Result<Templates, TemplateError> {
        let mut env = Environment::new();
        // A misspelt variable must be an error, not an empty string in a
        // legal document.
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        let syntax = minijinja::syntax::SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .keep_trailing_newline(true)
            .build()
            .map_err(|e| TemplateError::Broken {
                file: origin.clone(),
                line: None,
                detail: e.to_string(),
            })?;
        env.set_syntax(syntax);
        env.add_filter("mark", mark);
        // The NIS2 drafts' page is built in (not an admin's template: a
        // directory written before NIS2 keeps loading).
        env.add_template(NIS2_HTML, include_str!("nis2.html.j2"))
            .map_err(|e| broken(PathBuf::from("built-in").join(NIS2_HTML), &e))?;
        for (name, source) in sources {
            let file = origin.join(&name);
            env.add_template_owned(name, source)
                .map_err(|e| broken(file, &e))?;
        }
        let t = Templates { env, origin };
        t.validate()?;
        Ok(t)
    }

    /// Renders every template against the sample case for every outcome.
    fn validate(&self) -> Result<(), TemplateError> {
        for outcome in Outcome::ALL {
            let case = match outcome {
                Outcome::Withdraw => sample::seed_001_withdrawn(),
                _ => sample::seed_001(),
            };
            self.decision_text(&decision(&case, outcome))?;
            let form = imy_form(&case, outcome);
            self.imy_text(&form)?;
            self.imy_html(&form)?;
            self.calendar_text(&case, outcome)?;
        }
        let case = sample::seed_001();
        for d in crate::core::documents::Nis2Draft::ALL {
            let form = crate::core::documents::nis2_form(&case, &Default::default(), d);
            self.nis2_html(&form)?;
        }
        Ok(())
    }

    /// Renders `name` with the top-level variables `vars` (each serialised).
    fn render(
        &self,
        name: &str,
        vars: &[(&str, serde_json::Value)],
    ) -> Result<String, TemplateError> {
        let file = self.origin.join(name);
        let t = self
            .env
            .get_template(name)
            .map_err(|e| broken(file.clone(), &e))?;
        let ctx: BTreeMap<String, Value> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), to_value(v)))
            .collect();
        t.render(Value::from(ctx)).map_err(|e| broken(file, &e))
    }

    /// The decision as plain text.
    pub fn decision_text(&self, d: &DraftDecision) -> Result<String, TemplateError> {
        self.render(DECISION_TXT, &[("decision", json(d))])
    }

    /// The IMY draft as plain text.
    pub fn imy_text(&self, f: &ImyForm) -> Result<String, TemplateError> {
        self.render(
            IMY_TXT,
            &[("form", json(f)), ("to_fill_in", TO_FILL_IN.into())],
        )
    }

    /// The IMY draft as an HTML page.
    pub fn imy_html(&self, f: &ImyForm) -> Result<String, TemplateError> {
        self.render(
            IMY_HTML,
            &[("form", json(f)), ("to_fill_in", TO_FILL_IN.into())],
        )
    }

    /// A NIS2 draft as an HTML page (the built-in template).
    pub fn nis2_html(&self, f: &crate::core::documents::Nis2Form) -> Result<String, TemplateError> {
        self.render(
            NIS2_HTML,
            &[("form", json(f)), ("to_fill_in", TO_FILL_IN.into())],
        )
    }

    /// The calendar event's (summary, description).
    pub fn calendar_text(
        &self,
        case: &CaseFile,
        outcome: Outcome,
    ) -> Result<(String, String), TemplateError> {
        let diarienummer = case.diarienummer_or_blank();
        let c = CalendarCase {
            case_ref: case.case_ref.to_string(),
            committee: &case.committee,
            diarienummer: &diarienummer,
            deadline: datetime_short(case.deadline_at, case.tz),
            aware: datetime_short(case.aware_at, case.tz),
            // The template ends the sentence with a full stop: "Inc." must not
            // give "Inc..".
            processor: case
                .processor
                .organisation
                .as_deref()
                .map(|p| p.trim().trim_end_matches('.')),
            systems: &case.facts.systems,
        };
        let text = self.render(
            CALENDAR_TXT,
            &[
                ("case", json(&c)),
                ("cancelled", (!outcome.notifies()).into()),
            ],
        )?;
        let (summary, description) = text.split_once('\n').unwrap_or((text.as_str(), ""));
        Ok((summary.trim().to_string(), description.trim().to_string()))
    }
}

/// The context goes through serde_json: minijinja is built without its `serde`
/// feature here, and our context types already serialise for the JSON output.
fn json<T: Serialize>(v: &T) -> serde_json::Value {
    // Plain structs of strings, numbers and booleans always serialise.
    serde_json::to_value(v).unwrap_or(serde_json::Value::Null)
}

fn to_value(v: &serde_json::Value) -> Value {
    use serde_json::Value as J;
    match v {
        J::Null => Value::from(()),
        J::Bool(b) => Value::from(*b),
        J::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => Value::from(i),
            (_, Some(u), _) => Value::from(u),
            (_, _, Some(f)) => Value::from(f),
            _ => Value::from(()),
        },
        J::String(s) => Value::from(s.as_str()),
        J::Array(a) => Value::from(a.iter().map(to_value).collect::<Vec<_>>()),
        J::Object(o) => Value::from(
            o.iter()
                .map(|(k, v)| (k.clone(), to_value(v)))
                .collect::<BTreeMap<String, Value>>(),
        ),
    }
}

fn broken(file: PathBuf, e: &minijinja::Error) -> TemplateError {
    // The kind and detail without minijinja's "(in name:line)" suffix: the file
    // and line are ours to report.
    let detail = match e.detail() {
        Some(d) => format!("{}: {d}", e.kind()),
        None => e.kind().to_string(),
    };
    TemplateError::Broken {
        file,
        line: e.line(),
        detail,
    }
}
