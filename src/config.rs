//! Configuration: defaults, then the TOML file, then secret files, then
//! environment variables (env wins), validated once into a typed [`Config`].
//! `check-config` prints every problem with the full key it belongs to, in an
//! admin's words; `run` refuses a bad config the same way. Each section is
//! decoded on its own and a bad key is removed and decoding retried, so one
//! mistake does not hide the next. What a command checks depends on what it
//! uses ([`Use`]). This module reads files but connects to nothing.
//!
//! Secrets (passwords) are wrapped in [`Secret`] so `Debug` never prints them.

use std::fmt;
use std::path::{Path, PathBuf};

use chrono_tz::Tz;
use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::core::auth::AuthConfig;
use crate::core::clock::ReminderPlan;
use crate::core::notice::{ReadOptions, SupplierHint};
use crate::core::routing::{Route, Rule};

mod mailauth;
mod mailboxes;
pub use mailauth::{Flow, MailAuth, OAuth2, Provider, RefreshTokenStore, SaslMechanism};
pub use mailboxes::Mailbox;

/// Where the config is looked for when `--config` is not given.
pub const DEFAULT_PATH: &str = "/etc/breachwatch/breachwatch.toml";

/// A string that must not end up in logs.
#[derive(Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub general: General,
    /// Generated documents (draft decisions, IMY form, calendar entry).
    #[serde(default)]
    pub documents: Documents,
    pub imap: Imap,
    pub smtp: Smtp,
    #[serde(default)]
    pub clock: ReminderPlan,
    #[serde(default)]
    pub suppliers: Vec<Supplier>,
    pub routing: Routing,
    /// Who may command a case by reply.
    #[serde(default)]
    pub auth: AuthConfig,
    #[serde(default)]
    pub workflow: Workflow,
    /// How attached files are read (`[reader]`).
    #[serde(default)]
    pub reader: Reader,
    #[serde(default)]
    pub digest: Digest,
    /// The web view, JSON API, health and metrics (off when absent).
    #[serde(default)]
    pub web: Option<crate::web::WebConfig>,
    /// More watched mailboxes beside `[imap]` (`config::mailboxes`).
    #[serde(default)]
    pub mailboxes: Vec<Mailbox>,
    /// The NIS2 regime (`core::regime`): the municipality's services in scope.
    #[serde(default)]
    pub nis2: Nis2Config,
    /// What an admin should fix but that does not stop breachwatch (a
    /// deprecated key, mail or database traffic in clear text). `check-config`
    /// prints them; `run` logs them at start.
    #[serde(skip)]
    pub warnings: Vec<ConfigProblem>,
    /// The PDF reader the command line gives the daemon (`crate::pdf`, a
    /// child process of this binary); never from the file. None: attached
    /// PDFs are named, not read.
    #[serde(skip)]
    pub pdf_reader: Option<crate::core::notice::PdfReader>,
}

/// The longest series window `check-config` accepts (ten years): longer is a
/// typo, and the window stays a representable duration.
pub const MAX_SERIES_WINDOW_DAYS: i64 = 3650;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Workflow {
    /// A supplier's follow-up or status update without thread headers joins
    /// the supplier's open case of the same incident only within this many
    /// days of the case's awareness or opening (`core::series`). A new breach
    /// notice never joins by resemblance, whatever the window.
    pub series_window_days: i64,
    /// A time in the forward chain more than this many days before the
    /// delivery (a forged or broken date) is not used for the clock.
    pub max_forward_age_days: i64,
}

impl Default for Workflow {
    fn default() -> Self {
        Workflow {
            series_window_days: crate::core::case::DEFAULT_SERIES_WINDOW_DAYS,
            max_forward_age_days: crate::core::notice::DEFAULT_MAX_FORWARD_AGE_DAYS,
        }
    }
}

/// `[reader]`: reading attached PDF forms in a child process with limits
/// (`crate::pdf`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Reader {
    /// Read the text of an attached PDF (a notice form) for its facts.
    pub pdf: bool,
    /// The child process reading one PDF is killed after this many seconds
    /// (wall clock; its CPU time is bounded to the same).
    pub pdf_timeout_seconds: u64,
    /// The child's address space, in MiB.
    pub pdf_memory_mib: u64,
}

impl Default for Reader {
    fn default() -> Self {
        Reader {
            pdf: true,
            pdf_timeout_seconds: 10,
            pdf_memory_mib: 256,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Digest {
    /// Mail the DPO every open case with its time left.
    pub enabled: bool,
    /// Six or seven cron fields, seconds first, day names (`Mon-Fri`), evaluated in
    /// `general.timezone`.
    pub cron: String,
}

/// `[nis2]`: what the reader needs to suggest that NIS2 (cybersäkerhetslagen)
/// may apply to a notice (`core::regime::suggest_nis2`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Nis2Config {
    /// Whether the reader suggests NIS2 at opening (default true). Off, no
    /// case is suggested; an official can still switch NIS2 on for a case by
    /// replying `nis2: ja` (docs/nis2.md).
    pub enabled: bool,
    /// The municipality's services in scope of the cybersäkerhetslag, as they
    /// are named in suppliers' notices (e.g. "larmcentral", "trygghetslarm");
    /// a notice naming one is suggested for NIS2. Matched without regard to
    /// case; at least 3 characters each.
    pub services: Vec<String>,
}

impl Default for Nis2Config {
    fn default() -> Self {
        Nis2Config {
            enabled: true,
            services: Vec::new(),
        }
    }
}

/// At most this many in-scope services (each is searched in every notice).
pub const MAX_NIS2_SERVICES: usize = 200;

impl Default for Digest {
    fn default() -> Self {
        Digest {
            enabled: true,
            cron: crate::core::digest::DEFAULT_DIGEST_CRON.to_string(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct General {
    /// Zone for rendering times and for times written without a zone.
    pub timezone: String,
    /// `timezone` parsed, once, when the configuration is decoded
    /// ([`Config::tz`]); None when it names no zone (reported as a problem).
    #[serde(skip)]
    pub zone: Option<Tz>,
    /// Case references are `PREFIX-YYYY-NNNN`.
    pub case_prefix: String,
    /// Only these domains ever receive mail from breachwatch.
    pub internal_domains: Vec<String>,
    /// `sqlite://path` (created if missing) or `postgres://…`; env
    /// `BREACHWATCH_DATABASE_URL` overrides.
    pub database_url: String,
    /// A file holding the database URL (it may carry a password): under
    /// systemd a `LoadCredential=` name, read from `$CREDENTIALS_DIRECTORY`
    /// when relative. Wins over `database_url`; env
    /// `BREACHWATCH_DATABASE_URL` wins over both.
    pub database_url_file: Option<PathBuf>,
    /// `text` or `json` log lines.
    pub log_format: String,
    /// How long `run` may take to stop after SIGTERM/SIGINT.
    pub shutdown_grace_secs: u64,
}

impl Default for General {
    fn default() -> Self {
        General {
            timezone: "Europe/Stockholm".into(),
            zone: Some(chrono_tz::Europe::Stockholm),
            case_prefix: "PUI".into(),
            internal_domains: Vec::new(),
            database_url: "sqlite://breachwatch.db".into(),
            database_url_file: None,
            log_format: "text".into(),
            shutdown_grace_secs: 8,
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ImapTls {
    /// IMAPS: TLS from the first byte (port 993).
    Implicit,
    /// Plain connection upgraded with STARTTLS (port 143).
    Starttls,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Imap {
    pub host: String,
    pub port: u16,
    #[serde(default = "default_imap_tls")]
    pub tls: ImapTls,
    /// Name checked against the server certificate (defaults to `host`).
    #[serde(default)]
    pub server_name: Option<String>,
    /// PEM file with extra trusted roots (a self-signed test CA); env
    /// `BREACHWATCH_IMAP_CA_FILE` replaces it. Without it, the public web roots.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    pub username: String,
    /// `password` (default) or `oauth2` (SASL XOAUTH2 with a token from `[imap.oauth2]`).
    #[serde(default)]
    pub auth: MailAuth,
    #[serde(default)]
    pub oauth2: Option<OAuth2>,
    /// Env `BREACHWATCH_IMAP_PASSWORD` overrides.
    #[serde(default)]
    pub password: Secret,
    /// A file holding the password instead (one line; a trailing newline is
    /// dropped). A relative name is read from `$CREDENTIALS_DIRECTORY` when
    /// systemd set it (`LoadCredential=`), else from the working directory.
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    #[serde(default = "default_inbox")]
    pub mailbox: String,
    #[serde(default = "default_processed")]
    pub processed_mailbox: String,
    #[serde(default = "default_quarantine")]
    pub quarantine_mailbox: String,
    /// IDLE is re-issued at least this often (RFC 2177 asks for < 29 min; we keep
    /// it at most 5 min so a silently dead connection is noticed).
    #[serde(default = "default_idle_secs")]
    pub idle_reissue_secs: u64,
    /// Polling interval when the server has no IDLE.
    #[serde(default = "default_poll_secs")]
    pub poll_interval_secs: u64,
    /// Every IMAP command runs under this timeout.
    #[serde(default = "default_cmd_timeout")]
    pub command_timeout_secs: u64,
    /// Use IDLE when the server offers it (else poll every poll_interval_secs).
    #[serde(default = "default_true")]
    pub use_idle: bool,
    /// Use MOVE when the server offers it (else COPY, \\Deleted and UID EXPUNGE).
    #[serde(default = "default_true")]
    pub use_move: bool,
    /// Intake fetches a backlog in batches of at most this many messages ...
    #[serde(default = "default_batch_messages")]
    pub batch_max_messages: usize,
    /// ... and at most this many bytes (a larger message goes alone).
    #[serde(default = "default_batch_bytes")]
    pub batch_max_bytes: u64,
    /// A drain moves its handled messages out of the INBOX in sets of this
    /// many, on a second session beside the one that fetches, so the drain
    /// does not wait for the moves (the rest, and a pass of news, on the
    /// watcher's own session when the pass ends).
    #[serde(default = "default_move_every")]
    pub move_every: usize,
    /// Set for a `[[mailboxes]]` entry: its checkpoint key (account and folder).
    #[serde(skip)]
    pub checkpoint_key: Option<String>,
    /// Set for a `[[mailboxes]]` entry: its config key (`mailboxes[1].imap`).
    #[serde(skip)]
    pub section: Option<String>,
}

/// `imap.batch_max_messages` when not set. A drain holds two batches (the
/// one written, the next one fetched and read), so the batch is in the
/// drain's peak RSS: batches of 100 instead of 200 took the 10,000-message
/// drain's peak from 71.1-72.8 MB to 66.4-66.9 MB (session 25), batches of
/// 50 instead of 100 from 64.0-64.9 MB to 59.8-61.0 MB (session 26; PostgreSQL
/// 65.1 -> 60.2 MB), the INBOX empty within the spread of runs each time
/// (`make bench-daemon`, `BENCH_BATCH_MESSAGES`; docs/benchmarks.md).
pub const DEFAULT_BATCH_MESSAGES: usize = 50;
/// `imap.batch_max_bytes` when not set.
pub const DEFAULT_BATCH_BYTES: u64 = 8 * 1024 * 1024;

fn default_batch_messages() -> usize {
    DEFAULT_BATCH_MESSAGES
}

fn default_batch_bytes() -> u64 {
    DEFAULT_BATCH_BYTES
}

/// `imap.move_every` when not set.
pub const DEFAULT_MOVE_EVERY: usize = 2000;

fn default_move_every() -> usize {
    DEFAULT_MOVE_EVERY
}

impl Imap {
    /// The key of this mailbox's IMAP checkpoint: the folder name for `[imap]`
    /// (as it always was), account and folder for a `[[mailboxes]]` entry.
    pub fn checkpoint_key(&self) -> String {
        self.checkpoint_key
            .clone()
            .unwrap_or_else(|| self.mailbox.clone())
    }

    /// `imap`, or `mailboxes[i].imap`: errors name it.
    pub fn section(&self) -> &str {
        self.section.as_deref().unwrap_or("imap")
    }
}

fn default_true() -> bool {
    true
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    None,
    Starttls,
    Implicit,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Smtp {
    pub host: String,
    pub port: u16,
    #[serde(default = "default_smtp_tls")]
    pub tls: SmtpTls,
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    #[serde(default)]
    pub username: Option<String>,
    /// `password` (default) or `oauth2` (XOAUTH2 with a token from `[smtp.oauth2]`).
    #[serde(default)]
    pub auth: MailAuth,
    #[serde(default)]
    pub oauth2: Option<OAuth2>,
    /// Env `BREACHWATCH_SMTP_PASSWORD` overrides.
    #[serde(default)]
    pub password: Secret,
    /// A file holding the password instead; read like `imap.password_file`.
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    /// The From address of every mail; officials reply to it, so it should be
    /// the watched shared mailbox.
    pub from: String,
    #[serde(default = "default_from_name")]
    pub from_name: String,
    /// Attempts after which a mail that still waits on a failing server is
    /// reported as an error. Transient failures are never final: the mail is
    /// retried until the server takes it; only a permanent refusal (5xx) ends it.
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
    #[serde(default = "default_retry_base")]
    pub retry_base_secs: u64,
    #[serde(default = "default_retry_max")]
    pub retry_max_secs: u64,
    #[serde(default = "default_smtp_timeout")]
    pub timeout_secs: u64,
    /// Sender tasks of this replica: each claims a due mail and sends it on a
    /// pooled SMTP connection, so mail goes out back to back in parallel.
    #[serde(default = "default_smtp_senders")]
    pub senders: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Supplier {
    pub organisation: String,
    #[serde(default)]
    pub domains: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Routing {
    pub default: Route,
    #[serde(default)]
    pub rules: Vec<Rule>,
}

/// `[documents]`: how the draft decision, the IMY form draft and the deadline
/// calendar entry are laid out and what the configuration contributes to them.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Documents {
    /// A directory with the four templates (see config/templates/README.md);
    /// None uses the set built into the binary. Relative paths are relative to
    /// the working directory, as for `imap.ca_file`.
    pub templates_dir: Option<PathBuf>,
    /// The built-in set: "sv" (default) or "en". Ignored with `templates_dir`.
    pub language: String,
    /// The "Beredning" paragraph of every draft decision (who prepares cases).
    pub preparation: Option<String>,
    /// The controller as the IMY form asks for it (questions 1-3 and 20).
    pub controller: DocumentsController,
}

impl Default for Documents {
    fn default() -> Self {
        Documents {
            templates_dir: None,
            language: "sv".into(),
            preparation: None,
            controller: DocumentsController::default(),
        }
    }
}

/// `[documents.controller]`; every part optional (the form then shows
/// "[att fylla i]").
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DocumentsController {
    /// "Vallsjö kommun"
    pub name: Option<String>,
    /// "212000-0000"
    pub organisation_number: Option<String>,
    pub street: Option<String>,
    pub postcode: Option<String>,
    pub city: Option<String>,
    pub country: Option<String>,
    /// IMY question 20, e.g. "Kommunal förvaltning".
    pub activity_area: Option<String>,
}

impl Documents {
    /// The configured template set, compiled and rendered once against a sample
    /// case (so a broken file is found here, not when a case is decided).
    pub fn templates(&self) -> Result<crate::render::Templates, crate::render::TemplateError> {
        // An unknown language is reported by `problems`; fall back quietly here.
        let lang = self.language.parse().unwrap_or(crate::render::Language::Sv);
        crate::render::Templates::from_config(self.templates_dir.as_deref(), lang)
    }

    fn problems(&self, out: &mut Vec<ConfigProblem>) {
        if let Err(e) = self.language.parse::<crate::render::Language>() {
            out.push(problem("documents.language", e));
        }
        // Checked at load time so `check-config` and `run` refuse a missing or
        // broken template directory instead of failing when a case opens.
        if let Err(e) = self.templates() {
            out.push(problem("documents.templates_dir", e.to_string()));
        }
    }
}

fn default_imap_tls() -> ImapTls {
    ImapTls::Implicit
}
fn default_smtp_tls() -> SmtpTls {
    SmtpTls::Starttls
}
fn default_inbox() -> String {
    "INBOX".into()
}
fn default_processed() -> String {
    "Processed".into()
}
fn default_quarantine() -> String {
    "Quarantine".into()
}
fn default_idle_secs() -> u64 {
    290
}
fn default_poll_secs() -> u64 {
    30
}
fn default_cmd_timeout() -> u64 {
    30
}
fn default_from_name() -> String {
    "breachwatch".into()
}
fn default_max_attempts() -> u32 {
    12
}
fn default_retry_base() -> u64 {
    5
}
fn default_retry_max() -> u64 {
    600
}
fn default_smtp_timeout() -> u64 {
    30
}
fn default_smtp_senders() -> u32 {
    4
}

/// One problem with the configuration, tied to its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    pub key: String,
    pub message: String,
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

/// Every problem found; `Display` prints one per line.
#[derive(Debug, thiserror::Error)]
pub struct ConfigError(pub Vec<ConfigProblem>, pub Warnings);

/// Warnings found on the way to the problems, so an admin sees them in the
/// same pass.
pub type Warnings = Vec<ConfigProblem>;

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

fn problem(key: &str, message: impl Into<String>) -> ConfigProblem {
    ConfigProblem {
        key: key.to_string(),
        message: message.into(),
    }
}

/// The config file to use: `--config`, else `$BREACHWATCH_CONFIG`, else the default.
pub fn resolve_path(flag: Option<&Path>) -> PathBuf {
    if let Some(p) = flag {
        return p.to_path_buf();
    }
    match std::env::var_os("BREACHWATCH_CONFIG") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => PathBuf::from(DEFAULT_PATH),
    }
}

/// What a command uses of the configuration. The daemon needs every setting;
/// a command that only reads a mail file or the database must not fail over
/// mailbox credentials or CA files it never uses (an admin runs `cases list`
/// without read access to the daemon's secrets).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use {
    /// `run` and `check-config`: everything is checked, secret files are read.
    Daemon,
    /// `ingest`, `inspect --config`, `rules`, `cases`, `register`,
    /// `quarantine`, `migrate`, `backup`: IMAP/SMTP credentials and CA files
    /// are neither read nor checked.
    Offline,
}

/// The top-level sections, for "did you mean" on an unknown one.
const SECTIONS: &[&str] = &[
    "general",
    "documents",
    "imap",
    "smtp",
    "clock",
    "suppliers",
    "routing",
    "auth",
    "workflow",
    "reader",
    "digest",
    "web",
    "mailboxes",
    "nis2",
];

/// A section stops being decoded after this many problems (each round removes
/// one bad key and decodes again), so a hostile file cannot make us loop long.
const MAX_PROBLEMS_PER_SECTION: usize = 50;

/// A configuration file is a few kilobytes.
const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

/// Secret files are one line; anything longer is not a password.
const MAX_SECRET_FILE_BYTES: u64 = 64 * 1024;

impl Config {
    /// Reads the file for the daemon (every setting), applies the environment,
    /// and validates.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        Self::load_for(path, Use::Daemon)
    }

    /// Reads the file for a command that uses only part of it.
    pub fn load_for(path: &Path, use_: Use) -> Result<Config, ConfigError> {
        // A configuration is a few kilobytes; a huge file is a wrong path.
        if let Ok(meta) = std::fs::metadata(path) {
            if meta.len() > MAX_CONFIG_BYTES {
                return Err(ConfigError(
                    vec![problem(
                        &path.display().to_string(),
                        format!(
                            "is {} bytes; a configuration file is at most {MAX_CONFIG_BYTES}",
                            meta.len()
                        ),
                    )],
                    Vec::new(),
                ));
            }
        }
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigError(
                vec![problem(
                    &path.display().to_string(),
                    format!("cannot read: {e}"),
                )],
                Vec::new(),
            )
        })?;
        Self::from_toml_for(&text, |k| std::env::var(k).ok(), use_)
    }

    /// Parses TOML text for the daemon, applies environment overrides from
    /// `env`, validates.
    pub fn from_toml(
        text: &str,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        Self::from_toml_for(text, env, Use::Daemon)
    }

    /// Parses, decodes every section (collecting every problem with its full
    /// key rather than stopping at the first), applies the environment and
    /// secret files, validates.
    pub fn from_toml_for(
        text: &str,
        env: impl Fn(&str) -> Option<String>,
        use_: Use,
    ) -> Result<Config, ConfigError> {
        let mut table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
            ConfigError(vec![syntax_problem(text, &e)], Vec::new())
        })?;
        let mut out = Vec::new();
        let mut warnings = Vec::new();
        deprecated_keys(&mut table, &mut out, &mut warnings);
        // The session cookie key is a secret: `BREACHWATCH_WEB_COOKIE_KEY`
        // (a Kubernetes Secret, a systemd credential) replaces web.cookie_key,
        // which may then be left out of a `[web]` section kept in a ConfigMap.
        if let (Some(k), Some(toml::Value::Table(w))) = (
            env("BREACHWATCH_WEB_COOKIE_KEY").filter(|v| !v.trim().is_empty()),
            table.get_mut("web"),
        ) {
            w.insert("cookie_key".into(), toml::Value::String(k));
        }
        let cfg = decode(table, &mut out);
        let Some(mut cfg) = cfg else {
            return Err(ConfigError(out, warnings));
        };
        cfg.warnings = warnings;
        cfg.apply_env(&env, use_, &mut out);
        // A key already reported (bad type, missing) holds a default or a
        // placeholder now: what the semantic checks say of it is noise.
        let semantic: Vec<ConfigProblem> = cfg
            .problems_for(use_)
            .into_iter()
            .filter(|p| !out.iter().any(|o| covers(&o.key, &p.key)))
            .collect();
        out.extend(semantic);
        cfg.warnings.extend(cfg.transport_warnings());
        if out.is_empty() {
            Ok(cfg)
        } else {
            let warnings = std::mem::take(&mut cfg.warnings);
            Err(ConfigError(out, warnings))
        }
    }

    fn apply_env(
        &mut self,
        env: &impl Fn(&str) -> Option<String>,
        use_: Use,
        out: &mut Vec<ConfigProblem>,
    ) {
        let set = |k: &str| env(k).filter(|v| !v.is_empty());
        let creds = env("CREDENTIALS_DIRECTORY").filter(|v| !v.is_empty());
        let creds = creds.as_deref().map(Path::new);
        // The database is used by every command, so its file is always read.
        if let Some(f) = &self.general.database_url_file {
            match read_secret_file(f, creds) {
                Ok(v) => self.general.database_url = v,
                Err(e) => out.push(problem("general.database_url_file", e.to_string())),
            }
        }
        if let Some(v) = set("BREACHWATCH_DATABASE_URL") {
            self.general.database_url = v;
        }
        if use_ == Use::Daemon {
            if let Some(f) = &self.imap.password_file {
                if !self.imap.password.expose().is_empty() {
                    out.push(problem(
                        "imap.password_file",
                        "set either imap.password or imap.password_file, not both",
                    ));
                }
                match read_secret_file(f, creds) {
                    Ok(v) => self.imap.password = Secret(v),
                    Err(e) => out.push(problem("imap.password_file", e.to_string())),
                }
            }
            if let Some(f) = &self.smtp.password_file {
                if !self.smtp.password.expose().is_empty() {
                    out.push(problem(
                        "smtp.password_file",
                        "set either smtp.password or smtp.password_file, not both",
                    ));
                }
                match read_secret_file(f, creds) {
                    Ok(v) => self.smtp.password = Secret(v),
                    Err(e) => out.push(problem("smtp.password_file", e.to_string())),
                }
            }
        }
        if use_ == Use::Daemon {
            mailauth::apply_env(self, env, creds, out);
            mailboxes::apply_env(self, env, creds, out);
        }
        if let Some(v) = set("BREACHWATCH_IMAP_PASSWORD") {
            self.imap.password = Secret(v);
        }
        if let Some(v) = set("BREACHWATCH_SMTP_PASSWORD") {
            self.smtp.password = Secret(v);
        }
        if let Some(v) = set("BREACHWATCH_IMAP_CA_FILE") {
            self.imap.ca_file = Some(PathBuf::from(v));
        }
        if let (Some(v), Some(w)) = (set("BREACHWATCH_WEB_METRICS_TOKEN"), self.web.as_mut()) {
            w.metrics_token = Some(Secret(v));
        }
        if let (Some(v), Some(o)) = (
            set("BREACHWATCH_WEB_OIDC_CLIENT_SECRET"),
            self.web.as_mut().and_then(|w| w.oidc.as_mut()),
        ) {
            o.client_secret = Some(Secret(v));
        }
    }

    /// Every semantic problem for the daemon, each with its key.
    pub fn problems(&self) -> Vec<ConfigProblem> {
        self.problems_for(Use::Daemon)
    }

    /// Warnings about traffic in clear text that is allowed but risky: SMTP
    /// without TLS to another machine, PostgreSQL to another machine without
    /// certificate and name verification.
    fn transport_warnings(&self) -> Vec<ConfigProblem> {
        let mut out = Vec::new();
        mailauth::warnings(self, &mut out);
        if self.smtp.tls == SmtpTls::None
            && !is_loopback(&self.smtp.host)
            && !self.smtp_has_credentials()
        {
            out.push(problem(
                "smtp.tls",
                format!(
                    "\"none\" sends every mail (case details included) unencrypted to {}; use \"starttls\" or \"implicit\" unless that host is this machine",
                    self.smtp.host
                ),
            ));
        }
        let url = &self.general.database_url;
        if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            if let Some(host) = postgres_host(url) {
                if !is_loopback(&host) && !url.contains("sslmode=verify-full") {
                    out.push(problem(
                        "general.database_url",
                        format!(
                            "PostgreSQL on {host} without sslmode=verify-full: the case register may travel unencrypted or to an impostor; add ?sslmode=verify-full"
                        ),
                    ));
                }
            }
        }
        out
    }

    fn smtp_has_credentials(&self) -> bool {
        self.smtp.username.as_deref().is_some_and(|u| !u.is_empty())
            || !self.smtp.password.expose().is_empty()
            || self.smtp.password_file.is_some()
    }

    /// Every semantic problem for a command's use, each with its key.
    pub fn problems_for(&self, use_: Use) -> Vec<ConfigProblem> {
        let mut out = Vec::new();
        let daemon = use_ == Use::Daemon;
        let tz_ok = self.general.timezone.parse::<Tz>().is_ok();
        if !tz_ok {
            out.push(problem(
                "general.timezone",
                format!("unknown time zone {:?}", self.general.timezone),
            ));
        }
        let prefix = &self.general.case_prefix;
        if prefix.is_empty() || !prefix.chars().all(|c| c.is_ascii_uppercase()) {
            out.push(problem(
                "general.case_prefix",
                "must be one or more capital letters A-Z",
            ));
        }
        if self.general.internal_domains.is_empty() {
            out.push(problem(
                "general.internal_domains",
                "name at least one domain: breachwatch mails nobody outside them",
            ));
        }
        let url = &self.general.database_url;
        if !(url.starts_with("sqlite:")
            || url.starts_with("postgres:")
            || url.starts_with("postgresql:"))
        {
            out.push(problem(
                "general.database_url",
                "must start with sqlite: or postgres:",
            ));
        }
        if !matches!(self.general.log_format.as_str(), "text" | "json") {
            out.push(problem("general.log_format", "must be text or json"));
        }
        if self.imap.host.is_empty() {
            out.push(problem("imap.host", "must not be empty"));
        }
        if self.imap.username.is_empty() {
            out.push(problem("imap.username", "must not be empty"));
        }
        if daemon
            && self.imap.auth == MailAuth::Password
            && self.imap.password.expose().is_empty()
            && self.imap.password_file.is_none()
        {
            out.push(problem(
                "imap.password",
                "missing (set imap.password_file, imap.password or BREACHWATCH_IMAP_PASSWORD)",
            ));
        }
        if let Some(ca) = self.imap.ca_file.as_ref().filter(|_| daemon) {
            if !ca.is_file() {
                out.push(problem(
                    "imap.ca_file",
                    format!("{} is not a readable file", ca.display()),
                ));
            }
        }
        if self.imap.idle_reissue_secs == 0 || self.imap.idle_reissue_secs > 300 {
            out.push(problem(
                "imap.idle_reissue_secs",
                "must be between 1 and 300 (IDLE is re-issued at most every 5 minutes)",
            ));
        }
        if self.imap.poll_interval_secs == 0 {
            out.push(problem("imap.poll_interval_secs", "must be positive"));
        }
        if self.imap.command_timeout_secs == 0 {
            out.push(problem("imap.command_timeout_secs", "must be positive"));
        }
        if !(1..=10_000).contains(&self.imap.batch_max_messages) {
            out.push(problem("imap.batch_max_messages", "must be 1 to 10000"));
        }
        if !(1..=10_000).contains(&self.imap.move_every) {
            out.push(problem("imap.move_every", "must be 1 to 10000"));
        }
        if !(1024 * 1024..=1024 * 1024 * 1024).contains(&self.imap.batch_max_bytes) {
            out.push(problem("imap.batch_max_bytes", "must be 1 MiB to 1 GiB"));
        }
        let boxes = [
            &self.imap.mailbox,
            &self.imap.processed_mailbox,
            &self.imap.quarantine_mailbox,
        ];
        if boxes[0] == boxes[1] || boxes[0] == boxes[2] || boxes[1] == boxes[2] {
            out.push(problem(
                "imap.processed_mailbox",
                "mailbox, processed_mailbox and quarantine_mailbox must differ",
            ));
        }
        if self.smtp.host.is_empty() {
            out.push(problem("smtp.host", "must not be empty"));
        }
        if !(1..=32).contains(&self.smtp.senders) {
            out.push(problem("smtp.senders", "must be between 1 and 32"));
        }
        if !self.smtp.from.contains('@') {
            out.push(problem("smtp.from", "must be a mail address"));
        } else if !self.is_internal(&self.smtp.from) {
            out.push(problem(
                "smtp.from",
                "must be in one of general.internal_domains",
            ));
        }
        if self.smtp.max_attempts == 0 {
            out.push(problem("smtp.max_attempts", "must be at least 1"));
        }
        if self.smtp.retry_base_secs == 0 || self.smtp.retry_max_secs < self.smtp.retry_base_secs {
            out.push(problem(
                "smtp.retry_base_secs",
                "must be positive and not above smtp.retry_max_secs",
            ));
        }
        if let Some(ca) = self.smtp.ca_file.as_ref().filter(|_| daemon) {
            if !ca.is_file() {
                out.push(problem(
                    "smtp.ca_file",
                    format!("{} is not a readable file", ca.display()),
                ));
            }
        }
        if daemon
            && self.smtp.tls == SmtpTls::None
            && !is_loopback(&self.smtp.host)
            && self.smtp_has_credentials()
        {
            out.push(problem(
                "smtp.tls",
                format!(
                    "\"none\" would send the SMTP password unencrypted to {}; use \"starttls\" or \"implicit\"",
                    self.smtp.host
                ),
            ));
        }
        for p in self.clock.problems() {
            // The plan names its field first ("hours_after_awareness must …").
            match p.split_once(' ') {
                Some((field, rest))
                    if matches!(field, "hours_after_awareness" | "overdue_every_hours") =>
                {
                    out.push(problem(&format!("clock.{field}"), rest))
                }
                _ => out.push(problem("clock", p)),
            }
        }
        for p in self.auth.problems() {
            out.push(problem("auth", p));
        }
        if let Some(w) = &self.web {
            for (key, p) in w.problems() {
                out.push(problem(&format!("web.{key}"), p));
            }
        }
        if !(1..=3650).contains(&self.workflow.max_forward_age_days) {
            out.push(problem(
                "workflow.max_forward_age_days",
                "must be between 1 and 3650 days",
            ));
        }
        if !(1..=120).contains(&self.reader.pdf_timeout_seconds) {
            out.push(problem(
                "reader.pdf_timeout_seconds",
                "must be between 1 and 120 seconds",
            ));
        }
        if !(128..=4096).contains(&self.reader.pdf_memory_mib) {
            out.push(problem(
                "reader.pdf_memory_mib",
                "must be between 128 and 4096 MiB",
            ));
        }
        if !(0..=MAX_SERIES_WINDOW_DAYS).contains(&self.workflow.series_window_days) {
            out.push(problem(
                "workflow.series_window_days",
                format!("must be between 0 and {MAX_SERIES_WINDOW_DAYS} days"),
            ));
        }
        if self.nis2.services.len() > MAX_NIS2_SERVICES {
            out.push(problem(
                "nis2.services",
                format!("at most {MAX_NIS2_SERVICES} services"),
            ));
        }
        for (i, s) in self.nis2.services.iter().enumerate() {
            let n = s.trim().chars().count();
            if !(3..=100).contains(&n) {
                out.push(problem(
                    &format!("nis2.services[{i}]"),
                    "must be between 3 and 100 characters (a shorter name would match inside ordinary words)",
                ));
            }
        }
        if self.digest.enabled {
            // A bad zone is reported once, under general.timezone; the cron
            // expression is still checked, in UTC.
            let zone = if tz_ok {
                self.general.timezone.as_str()
            } else {
                "UTC"
            };
            if let Err(e) = crate::core::digest::DigestSchedule::parse(&self.digest.cron, zone) {
                out.push(problem("digest.cron", e.to_string()));
            }
        }
        for (i, s) in self.suppliers.iter().enumerate() {
            if s.organisation.trim().is_empty() {
                out.push(problem(
                    &format!("suppliers[{i}].organisation"),
                    "must not be empty",
                ));
            }
        }
        self.route_problems("routing.default", &self.routing.default, &mut out);
        for (i, r) in self.routing.rules.iter().enumerate() {
            let key = format!("routing.rules[{i}]");
            if r.reporter.is_empty()
                && r.organisation.is_empty()
                && r.systems.is_empty()
                && r.keywords.is_empty()
            {
                out.push(problem(
                    &key,
                    format!(
                        "rule {:?} has no condition (reporter, organisation, systems or keywords) and would never match",
                        r.name
                    ),
                ));
            }
            self.route_problems(&format!("{key}.route"), &r.route, &mut out);
        }
        self.documents.problems(&mut out);
        mailauth::problems(self, &mut out);
        mailboxes::problems(self, use_, &mut out);
        out
    }

    fn route_problems(&self, key: &str, r: &Route, out: &mut Vec<ConfigProblem>) {
        for (role, c) in r.roster() {
            let role = role.as_str();
            if !c.address.contains('@') {
                out.push(problem(
                    &format!("{key}.{role}.address"),
                    "must be a mail address",
                ));
            } else if !self.is_internal(&c.address) {
                out.push(problem(
                    &format!("{key}.{role}.address"),
                    "must be in one of general.internal_domains",
                ));
            }
        }
        if r.committee.name.trim().is_empty() {
            out.push(problem(
                &format!("{key}.committee.name"),
                "must not be empty",
            ));
        }
    }

    /// The zone times are rendered in (parsed once at load; Stockholm when
    /// `general.timezone` names no zone, which `check-config` reports).
    pub fn tz(&self) -> Tz {
        self.general.zone.unwrap_or(chrono_tz::Europe::Stockholm)
    }

    /// True when `address` is in one of the internal domains (or a subdomain).
    pub fn is_internal(&self, address: &str) -> bool {
        is_internal(&self.general.internal_domains, address)
    }

    /// Options for the notice reader, from this config.
    pub fn read_options(&self) -> ReadOptions {
        ReadOptions {
            tz: self.tz(),
            delivered_at: None,
            case_ref_prefix: self.general.case_prefix.clone(),
            max_forward_age: chrono::Duration::days(
                self.workflow.max_forward_age_days.clamp(1, 3650),
            ),
            suppliers: self
                .suppliers
                .iter()
                .map(|s| SupplierHint {
                    organisation: s.organisation.clone(),
                    domains: s.domains.clone(),
                })
                .collect(),
            pdf: self.pdf_reader.clone(),
        }
    }
}

/// A TOML syntax error: the line, and the key on that line when there is one
/// (the parser cannot go on, so this is the only problem reported).
fn syntax_problem(text: &str, e: &toml::de::Error) -> ConfigProblem {
    let msg = e.message().trim().replace('\n', "; ");
    let Some(span) = e.span() else {
        return problem("file", format!("not valid TOML: {msg}"));
    };
    let start = span.start.min(text.len());
    let line_no = text
        .get(..start)
        .map(|t| t.matches('\n').count() + 1)
        .unwrap_or(1);
    let lines: Vec<&str> = text.lines().collect();
    let key = lines
        .get(line_no.saturating_sub(1))
        .and_then(|l| l.split_once('='))
        .map(|(k, _)| k.trim().trim_matches('"').to_string())
        .filter(|k| !k.is_empty() && !k.starts_with('['));
    // The section the line is in: the nearest header above it.
    let section = lines
        .iter()
        .take(line_no.saturating_sub(1))
        .rev()
        .map(|l| l.trim())
        .find(|l| l.starts_with('['))
        .map(|l| l.trim_matches(|c| c == '[' || c == ']').trim().to_string());
    match key {
        Some(k) => {
            let full = match section {
                Some(s) => format!("{s}.{k}"),
                None => k,
            };
            problem(
                &full,
                format!("line {line_no}: not valid TOML: {msg} (the file is read no further)"),
            )
        }
        None => problem(
            &format!("line {line_no}"),
            format!("not valid TOML: {msg} (the file is read no further)"),
        ),
    }
}

/// Renamed keys: the old name still works, with a warning; both at once is a
/// problem (which one was meant?).
fn deprecated_keys(
    table: &mut toml::Table,
    out: &mut Vec<ConfigProblem>,
    warnings: &mut Vec<ConfigProblem>,
) {
    // The reminders are hours after awareness, not hours before the deadline.
    const RENAMES: &[(&str, &str, &str)] =
        &[("clock", "before_deadline_hours", "hours_after_awareness")];
    for (section, old, new) in RENAMES {
        let Some(toml::Value::Table(t)) = table.get_mut(*section) else {
            continue;
        };
        let Some(v) = t.remove(*old) else {
            continue;
        };
        if t.contains_key(*new) {
            out.push(problem(
                &format!("{section}.{old}"),
                format!("is the old name of {section}.{new}; remove it (both are set)"),
            ));
        } else {
            t.insert((*new).to_string(), v);
            warnings.push(problem(
                &format!("{section}.{old}"),
                format!(
                    "is deprecated: the hours count from awareness, not back from the deadline; rename it to {new}"
                ),
            ));
        }
    }
}

/// Decodes every section on its own, so a problem in one does not hide the
/// problems in the others; None when any could not be decoded.
fn decode(mut table: toml::Table, out: &mut Vec<ConfigProblem>) -> Option<Config> {
    let unknown: Vec<String> = table
        .keys()
        .filter(|k| !SECTIONS.contains(&k.as_str()))
        .cloned()
        .collect();
    for k in unknown {
        table.remove(&k);
        out.push(problem(&k, unknown_key_message(&k, SECTIONS)));
    }
    let general = optional::<General>(&mut table, "general", out).map(|mut g| {
        g.zone = g.timezone.parse().ok();
        g
    });
    let documents = optional::<Documents>(&mut table, "documents", out);
    let imap = required::<Imap>(&mut table, "imap", out);
    let smtp = required::<Smtp>(&mut table, "smtp", out);
    let clock = optional::<ReminderPlan>(&mut table, "clock", out);
    let suppliers = optional::<Vec<Supplier>>(&mut table, "suppliers", out);
    let routing = required::<Routing>(&mut table, "routing", out);
    let auth = optional::<AuthConfig>(&mut table, "auth", out);
    let workflow = optional::<Workflow>(&mut table, "workflow", out);
    let reader = optional::<Reader>(&mut table, "reader", out);
    let digest = optional::<Digest>(&mut table, "digest", out);
    let web = optional::<Option<crate::web::WebConfig>>(&mut table, "web", out);
    let mailboxes = optional::<Vec<Mailbox>>(&mut table, "mailboxes", out);
    let nis2 = optional::<Nis2Config>(&mut table, "nis2", out);
    let cfg = Config {
        general: general?,
        documents: documents?,
        imap: imap?,
        smtp: smtp?,
        clock: clock?,
        suppliers: suppliers?,
        routing: routing?,
        auth: auth?,
        workflow: workflow?,
        reader: reader?,
        digest: digest?,
        web: web?,
        mailboxes: mailboxes?,
        nis2: nis2?,
        warnings: Vec::new(),
        pdf_reader: None,
    };
    // A bad value of a key with a default was removed and the default used:
    // the config decodes (so its semantic checks run too), but the problem stands.
    Some(cfg)
}

fn optional<T: DeserializeOwned + Default>(
    table: &mut toml::Table,
    name: &str,
    out: &mut Vec<ConfigProblem>,
) -> Option<T> {
    match table.remove(name) {
        None => Some(T::default()),
        Some(v) => decode_value(name, v, out),
    }
}

fn required<T: DeserializeOwned>(
    table: &mut toml::Table,
    name: &str,
    out: &mut Vec<ConfigProblem>,
) -> Option<T> {
    match table.remove(name) {
        None => {
            out.push(problem(
                name,
                format!("the [{name}] section is missing; it is required"),
            ));
            None
        }
        Some(v) => decode_value(name, v, out),
    }
}

/// One step of a key path inside a section.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Key(String),
    Index(usize),
}

fn key_of(section: &str, steps: &[Step]) -> String {
    let mut k = section.to_string();
    for s in steps {
        match s {
            Step::Key(name) => {
                k.push('.');
                k.push_str(name);
            }
            Step::Index(i) => k.push_str(&format!("[{i}]")),
        }
    }
    k
}

/// Decodes one section; on an error, records it with its full key, removes
/// the offending key and tries again, so every bad key is reported once. A
/// required key that is missing (or was removed for a bad value) is filled
/// with a placeholder, so the rest of the section is still checked; the
/// caller drops semantic complaints about keys already reported.
fn decode_value<T: DeserializeOwned>(
    section: &str,
    mut value: toml::Value,
    out: &mut Vec<ConfigProblem>,
) -> Option<T> {
    let mut reported: Vec<String> = Vec::new();
    // Key → which placeholder it holds now.
    let mut filled: Vec<(String, usize)> = Vec::new();
    for _ in 0..MAX_PROBLEMS_PER_SECTION {
        let err = match serde_path_to_error::deserialize::<_, T>(value.clone()) {
            Ok(v) => return Some(v),
            Err(e) => e,
        };
        let mut steps: Vec<Step> = err
            .path()
            .iter()
            .filter_map(|s| match s {
                serde_path_to_error::Segment::Map { key } => Some(Step::Key(key.clone())),
                serde_path_to_error::Segment::Seq { index } => Some(Step::Index(*index)),
                _ => None,
            })
            .collect();
        let msg = err.inner().message().to_string();
        if let Some(rest) = msg.strip_prefix("missing field ") {
            let field = backticked(rest).into_iter().next().unwrap_or_default();
            steps.push(Step::Key(field));
            let key = key_of(section, &steps);
            // The key was there with a bad value that we removed: said already.
            if !reported.iter().any(|r| covers(r, &key)) {
                out.push(problem(&key, "is required but missing"));
                reported.push(key.clone());
            }
            if !set_at(&mut value, &steps, placeholder(0)) {
                return None;
            }
            filled.push((key, 0));
            continue;
        }
        let key = key_of(section, &steps);
        if let Some(slot) = filled.iter_mut().find(|(k, _)| *k == key) {
            // The placeholder has the wrong type for this key: try the next.
            slot.1 += 1;
            if slot.1 >= PLACEHOLDERS || !set_at(&mut value, &steps, placeholder(slot.1)) {
                return None;
            }
            continue;
        }
        let text = if let Some(rest) = msg.strip_prefix("unknown field ") {
            let names = backticked(rest);
            let field = names.first().cloned().unwrap_or_default();
            if steps.last() != Some(&Step::Key(field.clone())) {
                steps.push(Step::Key(field.clone()));
            }
            let expected: Vec<&str> = names.iter().skip(1).map(String::as_str).collect();
            unknown_key_message(&field, &expected)
        } else {
            humanize(&msg)
        };
        let key = key_of(section, &steps);
        // A bad list element: drop the whole list, so later elements keep
        // their numbers in what is reported.
        while matches!(steps.last(), Some(Step::Index(_))) {
            steps.pop();
        }
        out.push(problem(&key, text));
        reported.push(key);
        if steps.is_empty() || !remove_at(&mut value, &steps) {
            return None;
        }
    }
    None
}

/// True when a problem reported for `reported` already covers `key` (the key
/// itself, or something inside it).
fn covers(reported: &str, key: &str) -> bool {
    reported == key
        || reported
            .strip_prefix(key)
            .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
        || key
            .strip_prefix(reported)
            .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
}

const PLACEHOLDERS: usize = 5;

/// Stand-ins for a missing required value, tried in turn until one has the
/// type the key wants. Empty values, so the semantic checks complain about
/// them (and those complaints are dropped as already reported).
fn placeholder(i: usize) -> toml::Value {
    match i {
        0 => toml::Value::String(String::new()),
        1 => toml::Value::Integer(0),
        2 => toml::Value::Table(toml::Table::new()),
        3 => toml::Value::Array(Vec::new()),
        _ => toml::Value::Boolean(false),
    }
}

/// Sets the key at `steps` (inserting it); false when its parent is missing.
fn set_at(value: &mut toml::Value, steps: &[Step], v: toml::Value) -> bool {
    let Some((Step::Key(last), parents)) = steps.split_last() else {
        return false;
    };
    let mut cur = value;
    for s in parents {
        let next = match (s, cur) {
            (Step::Key(k), toml::Value::Table(t)) => t.get_mut(k),
            (Step::Index(i), toml::Value::Array(a)) => a.get_mut(*i),
            _ => None,
        };
        match next {
            Some(n) => cur = n,
            None => return false,
        }
    }
    match cur {
        toml::Value::Table(t) => {
            t.insert(last.clone(), v);
            true
        }
        _ => false,
    }
}

/// Removes the key at `steps`; false when there is no such key.
fn remove_at(value: &mut toml::Value, steps: &[Step]) -> bool {
    let Some((last, parents)) = steps.split_last() else {
        return false;
    };
    let mut cur = value;
    for s in parents {
        let next = match (s, cur) {
            (Step::Key(k), toml::Value::Table(t)) => t.get_mut(k),
            (Step::Index(i), toml::Value::Array(a)) => a.get_mut(*i),
            _ => None,
        };
        match next {
            Some(n) => cur = n,
            None => return false,
        }
    }
    match (last, cur) {
        (Step::Key(k), toml::Value::Table(t)) => t.remove(k).is_some(),
        _ => false,
    }
}

/// The names in backticks in a serde message, in order.
fn backticked(s: &str) -> Vec<String> {
    s.split('`')
        .enumerate()
        .filter(|(i, _)| i % 2 == 1)
        .map(|(_, p)| p.to_string())
        .collect()
}

fn unknown_key_message(name: &str, known: &[&str]) -> String {
    match did_you_mean(name, known) {
        Some(s) => format!("unknown setting; did you mean {s}?"),
        None if known.is_empty() => "unknown setting; this table takes none".to_string(),
        None => format!(
            "unknown setting; the known ones here are {}",
            known.join(", ")
        ),
    }
}

/// The closest known name within a small edit distance (a typo, not a guess).
fn did_you_mean<'a>(name: &str, known: &[&'a str]) -> Option<&'a str> {
    let name = name.to_lowercase();
    let limit = (name.chars().count() / 3).clamp(1, 3);
    known
        .iter()
        .map(|k| (edit_distance(&name, &k.to_lowercase()), *k))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// Edit distance over chars counting a swap of two neighbours as one edit
/// (optimal string alignment): `prot` is one typo away from `port`. Names are
/// short; the file is bounded by what TOML parsed.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // d[i][j]: distance between a[..i] and b[..j].
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    if let Some(first) = d.first_mut() {
        for (j, cell) in first.iter_mut().enumerate() {
            *cell = j;
        }
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
        }
    }
    d[a.len()][b.len()]
}

/// A serde message in an admin's words: what was expected, what was found.
fn humanize(msg: &str) -> String {
    if let Some(rest) = msg.strip_prefix("unknown variant ") {
        let names = backticked(rest);
        let found = names.first().cloned().unwrap_or_default();
        let allowed: Vec<&str> = names.iter().skip(1).map(String::as_str).collect();
        let list = allowed
            .iter()
            .map(|a| format!("\"{a}\""))
            .collect::<Vec<_>>()
            .join(", ");
        return match did_you_mean(&found, &allowed) {
            Some(s) => format!("\"{found}\" is not one of {list}; did you mean \"{s}\"?"),
            None => format!("\"{found}\" is not one of {list}"),
        };
    }
    for (prefix, range) in [("invalid type: ", false), ("invalid value: ", true)] {
        if let Some(rest) = msg.strip_prefix(prefix) {
            if let Some((found, expected)) = rest.rsplit_once(", expected ") {
                let want = expected_words(expected);
                let got = found_words(found);
                let mut s = format!("expected {want}, found {got}");
                if range {
                    s.push_str(" (out of range)");
                } else if let Some(t) = quoted(found) {
                    if t.trim().parse::<f64>().is_ok() && want.contains("number") {
                        s.push_str(" (write numbers without quotes)");
                    } else if matches!(t.trim(), "true" | "false") && want.contains("true") {
                        s.push_str(" (write true or false without quotes)");
                    }
                }
                return s;
            }
        }
    }
    msg.to_string()
}

fn quoted(found: &str) -> Option<&str> {
    found
        .strip_prefix("string \"")
        .and_then(|s| s.strip_suffix('"'))
}

fn expected_words(expected: &str) -> String {
    match expected.trim() {
        "u8" => "a whole number from 0 to 255".into(),
        "u16" => "a whole number from 0 to 65535".into(),
        "u32" => "a whole number from 0 to 4294967295".into(),
        "u64" | "usize" => "a whole number, 0 or more".into(),
        "i8" | "i16" | "i32" | "i64" | "isize" => "a whole number".into(),
        "f32" | "f64" => "a number".into(),
        "a boolean" => "true or false".into(),
        "a string" => "text in double quotes".into(),
        "a sequence" => "a list in square brackets, like [\"a\", \"b\"]".into(),
        "a map" => "a table ([section] or { key = value })".into(),
        e if e.starts_with("struct ") => "a table ([section] or { key = value })".into(),
        e => e.to_string(),
    }
}

fn found_words(found: &str) -> String {
    if let Some(t) = quoted(found) {
        return format!("the text \"{t}\"");
    }
    for (prefix, what) in [
        ("integer ", "the number"),
        ("floating point ", "the number"),
        ("boolean ", "the value"),
    ] {
        if let Some(v) = found.strip_prefix(prefix) {
            return format!("{what} {}", v.trim_matches('`'));
        }
    }
    match found {
        "sequence" => "a list".into(),
        "map" => "a table".into(),
        f => f.to_string(),
    }
}

/// Why a secret file gives no secret (a configuration problem of its key).
#[derive(Debug, thiserror::Error)]
enum SecretFileError {
    #[error("{} cannot be read: {error}", path.display())]
    Unreadable {
        path: std::path::PathBuf,
        error: std::io::Error,
    },
    #[error("{} is {bytes} bytes; a secret file holds one line", path.display())]
    TooLong {
        path: std::path::PathBuf,
        bytes: u64,
    },
    #[error("{} is empty", path.display())]
    Empty { path: std::path::PathBuf },
}

/// Reads a one-line secret; a relative name is a systemd credential when
/// `$CREDENTIALS_DIRECTORY` is set.
fn read_secret_file(file: &Path, creds: Option<&Path>) -> Result<String, SecretFileError> {
    let path = match creds {
        Some(dir) if file.is_relative() => dir.join(file),
        _ => file.to_path_buf(),
    };
    let unreadable = |error| SecretFileError::Unreadable {
        path: path.clone(),
        error,
    };
    let meta = std::fs::metadata(&path).map_err(unreadable)?;
    if meta.len() > MAX_SECRET_FILE_BYTES {
        return Err(SecretFileError::TooLong {
            path: path.clone(),
            bytes: meta.len(),
        });
    }
    let text = std::fs::read_to_string(&path).map_err(unreadable)?;
    let v = text.trim_end_matches(['\n', '\r']).to_string();
    if v.is_empty() {
        return Err(SecretFileError::Empty { path: path.clone() });
    }
    Ok(v)
}

/// The name of this machine: `localhost`, 127.0.0.0/8, ::1.
fn is_loopback(host: &str) -> bool {
    let h = host.trim().trim_start_matches('[').trim_end_matches(']');
    if h.eq_ignore_ascii_case("localhost") || h.to_ascii_lowercase().ends_with(".localhost") {
        return true;
    }
    h.parse::<std::net::IpAddr>()
        .map(|ip| ip.is_loopback())
        .unwrap_or(false)
}

/// The host of a `postgres://user:pw@host:port/db?…` URL; None for a Unix
/// socket (no host, or a `host=/path` parameter), which never leaves the
/// machine.
fn postgres_host(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?']).next().unwrap_or("");
    let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if let Some(v6) = hostport.strip_prefix('[') {
        v6.split(']').next().unwrap_or("").to_string()
    } else {
        hostport.split(':').next().unwrap_or("").to_string()
    };
    if host.is_empty() || host.starts_with('%') {
        let query = url.split_once('?').map(|(_, q)| q).unwrap_or("");
        let param = query
            .split('&')
            .find_map(|kv| kv.strip_prefix("host="))
            .map(str::to_string);
        return param.filter(|h| !h.starts_with('/') && !h.starts_with("%2F"));
    }
    Some(host)
}

pub use crate::core::types::is_internal;

#[cfg(test)]
mod tests {
    use super::*;

    fn local() -> String {
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config/local.toml"))
            .expect("config/local.toml is shipped")
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn shipped_configs_are_valid() {
        // The CA file of the loopback stack may not exist on this machine.
        let env = |k: &str| (k == "BREACHWATCH_IMAP_CA_FILE").then(|| "Cargo.toml".to_string());
        let c = Config::from_toml(&local(), env).expect("local.toml valid");
        assert_eq!(c.imap.port, 3993);
        let example =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config/example.toml"))
                .expect("example.toml is shipped");
        Config::from_toml(&example, no_env).expect("example.toml valid");
    }

    #[test]
    fn env_overrides_file() {
        let env = |k: &str| match k {
            "BREACHWATCH_DATABASE_URL" => Some("postgres://x/y".to_string()),
            "BREACHWATCH_IMAP_PASSWORD" => Some("pw-from-env".to_string()),
            "BREACHWATCH_IMAP_CA_FILE" => Some("Cargo.toml".to_string()),
            _ => None,
        };
        let c = Config::from_toml(&local(), env).unwrap();
        assert_eq!(c.general.database_url, "postgres://x/y");
        assert_eq!(c.imap.password.expose(), "pw-from-env");
        assert_eq!(c.imap.ca_file.as_deref(), Some(Path::new("Cargo.toml")));
        assert!(!format!("{c:?}").contains("pw-from-env"));
    }

    /// `[web]` in a ConfigMap without its key; the key from a Secret.
    #[test]
    fn web_cookie_key_comes_from_the_environment() {
        let key = "ab".repeat(64);
        let text = local()
            .lines()
            .filter(|l| !l.starts_with("cookie_key"))
            .collect::<Vec<_>>()
            .join("\n");
        let ca = |k: &str| (k == "BREACHWATCH_IMAP_CA_FILE").then(|| "Cargo.toml".to_string());
        let err = Config::from_toml(&text, ca).unwrap_err();
        assert!(err.0.iter().any(|p| p.key.starts_with("web")), "{err:?}");
        let env = |k: &str| match k {
            "BREACHWATCH_WEB_COOKIE_KEY" => Some(key.clone()),
            _ => ca(k),
        };
        let c = Config::from_toml(&text, env).unwrap();
        assert_eq!(c.web.unwrap().cookie_key.expose(), key);
    }

    #[test]
    fn every_problem_is_listed_with_its_key() {
        let bad = local()
            .replace(
                "timezone = \"Europe/Stockholm\"",
                "timezone = \"Mars/Olympus\"",
            )
            .replace("official@example.test", "official@gmail.example")
            .replace("idle_reissue_secs = 290", "idle_reissue_secs = 900");
        let env = |k: &str| (k == "BREACHWATCH_IMAP_CA_FILE").then(|| "Cargo.toml".to_string());
        let err = Config::from_toml(&bad, env).unwrap_err();
        let keys: Vec<&str> = err.0.iter().map(|p| p.key.as_str()).collect();
        assert!(keys.contains(&"general.timezone"), "{keys:?}");
        assert!(keys.contains(&"imap.idle_reissue_secs"), "{keys:?}");
        assert!(
            keys.contains(&"routing.default.official.address"),
            "{keys:?}"
        );
    }

    #[test]
    fn the_pdf_readers_limits_are_bounded_and_default_to_on() {
        let c = Config::from_toml(&local(), ca_env).unwrap();
        assert!(c.reader.pdf);
        assert_eq!(
            (c.reader.pdf_timeout_seconds, c.reader.pdf_memory_mib),
            (10, 256)
        );
        // Only the command line gives a reader: a config from a file has none.
        assert!(c.read_options().pdf.is_none());
        let bad = format!(
            "{}\n[reader]\npdf_timeout_seconds = 0\npdf_memory_mib = 64\n",
            local()
        );
        let err = Config::from_toml(&bad, ca_env).unwrap_err();
        assert!(
            problem_of(&err, "reader.pdf_timeout_seconds").is_some(),
            "{err}"
        );
        assert!(problem_of(&err, "reader.pdf_memory_mib").is_some(), "{err}");
        let off = format!("{}\n[reader]\npdf = false\n", local());
        assert!(!Config::from_toml(&off, ca_env).unwrap().reader.pdf);
    }

    #[test]
    fn syntax_errors_name_the_line_and_the_key() {
        let err = Config::from_toml("[general]\ntimezone = \n", no_env).unwrap_err();
        assert_eq!(err.0.len(), 1, "{err}");
        assert_eq!(err.0[0].key, "general.timezone", "{err}");
        assert!(err.0[0].message.starts_with("line 2: "), "{err}");
        // A line without a key is named by its number.
        let err = Config::from_toml("[general\n", no_env).unwrap_err();
        assert!(err.0[0].key.starts_with("line 1"), "{err}");
    }

    fn ca_env(k: &str) -> Option<String> {
        (k == "BREACHWATCH_IMAP_CA_FILE").then(|| "Cargo.toml".to_string())
    }

    fn problem_of<'a>(e: &'a ConfigError, key: &str) -> Option<&'a str> {
        e.0.iter()
            .find(|p| p.key == key)
            .map(|p| p.message.as_str())
    }

    #[test]
    fn a_wrong_type_names_the_full_key_in_words() {
        let bad = local().replace("port = 3993", "port = \"3993\"");
        let err = Config::from_toml(&bad, ca_env).unwrap_err();
        assert_eq!(err.0.len(), 1, "{err}");
        assert_eq!(
            problem_of(&err, "imap.port"),
            Some("expected a whole number from 0 to 65535, found the text \"3993\" (write numbers without quotes)"),
            "{err}"
        );
        let bad = local().replace("use_idle = true", "use_idle = \"yes\"");
        let bad = if bad.contains("use_idle") {
            bad
        } else {
            local().replace("[smtp]", "use_idle = \"yes\"\n\n[smtp]")
        };
        let err = Config::from_toml(&bad, ca_env).unwrap_err();
        let m = problem_of(&err, "imap.use_idle").expect("imap.use_idle reported");
        assert!(m.starts_with("expected true or false"), "{m}");
    }

    #[test]
    fn every_problem_is_reported_in_one_pass_across_sections() {
        let bad = local()
            .replace("port = 3993", "port = \"3993\"")
            .replace("username = ", "usernme = ")
            .replace("tls = \"none\"", "tls = \"nane\"")
            .replace(
                "timezone = \"Europe/Stockholm\"",
                "timezone = \"Mars/Olympus\"",
            )
            + "\n[digets]\nenabled = false\n";
        let err = Config::from_toml(&bad, ca_env).unwrap_err();
        let keys: Vec<&str> = err.0.iter().map(|p| p.key.as_str()).collect();
        for k in [
            "imap.port",
            "imap.usernme",
            "imap.username",
            "smtp.tls",
            "general.timezone",
            "digets",
        ] {
            assert!(keys.contains(&k), "{k} missing from {keys:?}");
        }
        assert_eq!(
            problem_of(&err, "imap.usernme"),
            Some("unknown setting; did you mean username?")
        );
        assert_eq!(
            problem_of(&err, "digets"),
            Some("unknown setting; did you mean digest?")
        );
        assert_eq!(
            problem_of(&err, "smtp.tls"),
            Some("\"nane\" is not one of \"none\", \"starttls\", \"implicit\"; did you mean \"none\"?")
        );
        // Each key once: the removed username is not also "must not be empty".
        let mut sorted = keys.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), keys.len(), "{keys:?}");
    }

    #[test]
    fn a_missing_required_key_is_named_and_the_rest_still_checked() {
        let bad = local()
            .replace("from = \"breach@example.test\"", "")
            .replace("idle_reissue_secs = 290", "idle_reissue_secs = 900");
        let err = Config::from_toml(&bad, ca_env).unwrap_err();
        assert_eq!(
            problem_of(&err, "smtp.from"),
            Some("is required but missing"),
            "{err}"
        );
        assert!(
            problem_of(&err, "imap.idle_reissue_secs").is_some(),
            "{err}"
        );
        assert_eq!(err.0.len(), 2, "{err}");
    }

    #[test]
    fn a_far_off_unknown_key_lists_the_known_ones() {
        let bad = local().replace("[workflow]", "[workflow]\nzzzzzz = 1");
        let bad = if bad.contains("zzzzzz") {
            bad
        } else {
            format!("{}\n[workflow]\nzzzzzz = 1\n", local())
        };
        let err = Config::from_toml(&bad, ca_env).unwrap_err();
        let m = problem_of(&err, "workflow.zzzzzz").expect("reported");
        assert!(m.contains("series_window_days"), "{m}");
    }

    #[test]
    fn a_bad_zone_is_reported_once_not_again_under_the_digest() {
        let bad = local().replace(
            "timezone = \"Europe/Stockholm\"",
            "timezone = \"Mars/Olympus\"",
        );
        let err = Config::from_toml(&bad, ca_env).unwrap_err();
        let keys: Vec<&str> = err.0.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(keys, vec!["general.timezone"], "{err}");
        // A broken cron is still found with a broken zone.
        let bad = bad.replace("cron = \"0 30 7 * * Mon-Fri\"", "cron = \"0 30 7 * *\"");
        let err = Config::from_toml(&bad, ca_env).unwrap_err();
        let keys: Vec<&str> = err.0.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(keys, vec!["general.timezone", "digest.cron"], "{err}");
    }

    #[test]
    fn the_old_name_of_the_reminder_hours_works_with_a_warning() {
        let old = local().replace("hours_after_awareness", "before_deadline_hours");
        let c = Config::from_toml(&old, ca_env).expect("the old name still works");
        assert_eq!(c.clock.hours_after_awareness, vec![24, 48, 60, 66, 70]);
        assert_eq!(c.warnings.len(), 1, "{:?}", c.warnings);
        assert_eq!(c.warnings[0].key, "clock.before_deadline_hours");
        assert!(c.warnings[0].message.contains("hours_after_awareness"));
        let both = local().replace(
            "hours_after_awareness = [24, 48, 60, 66, 70]",
            "hours_after_awareness = [24, 48]\nbefore_deadline_hours = [24]",
        );
        let err = Config::from_toml(&both, ca_env).unwrap_err();
        assert!(
            problem_of(&err, "clock.before_deadline_hours").is_some(),
            "{err}"
        );
        let c = Config::from_toml(&local(), ca_env).expect("valid");
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
        // The plan's own problems carry its key.
        let bad = local().replace("[24, 48, 60, 66, 70]", "[24, 12]");
        let err = Config::from_toml(&bad, ca_env).unwrap_err();
        assert!(
            problem_of(&err, "clock.hours_after_awareness").is_some(),
            "{err}"
        );
    }

    #[test]
    fn offline_commands_do_not_demand_mailbox_credentials_or_ca_files() {
        let text = local()
            .replace("password = \"secret\"", "")
            .replace("[smtp]", "[smtp]\nca_file = \"/nonexistent/smtp-ca.pem\"");
        let missing_ca = |k: &str| {
            (k == "BREACHWATCH_IMAP_CA_FILE").then(|| "/nonexistent/imap-ca.pem".to_string())
        };
        Config::from_toml_for(&text, missing_ca, Use::Offline).expect("offline use is fine");
        let err = Config::from_toml_for(&text, missing_ca, Use::Daemon).unwrap_err();
        let keys: Vec<&str> = err.0.iter().map(|p| p.key.as_str()).collect();
        for k in ["imap.password", "imap.ca_file", "smtp.ca_file"] {
            assert!(keys.contains(&k), "{k} missing from {keys:?}");
        }
    }

    #[test]
    fn passwords_come_from_credential_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("imap-password"), "from-file\n").expect("write");
        std::fs::write(dir.path().join("smtp-password"), "smtp-secret\r\n").expect("write");
        let creds = dir.path().display().to_string();
        let env = |k: &str| match k {
            "CREDENTIALS_DIRECTORY" => Some(creds.clone()),
            "BREACHWATCH_IMAP_CA_FILE" => Some("Cargo.toml".to_string()),
            _ => None,
        };
        let text = local()
            .replace("password = \"secret\"", "password_file = \"imap-password\"")
            .replace("[smtp]", "[smtp]\npassword_file = \"smtp-password\"");
        let c = Config::from_toml(&text, env).expect("valid");
        assert_eq!(c.imap.password.expose(), "from-file");
        assert_eq!(c.smtp.password.expose(), "smtp-secret");
        // Offline commands do not read them (an admin may not be allowed to).
        let c = Config::from_toml_for(&text, no_env, Use::Offline).expect("offline");
        assert_eq!(c.imap.password.expose(), "");
        // Both a password and a file: which one was meant?
        let both = local().replace(
            "password = \"secret\"",
            "password = \"secret\"\npassword_file = \"imap-password\"",
        );
        let err = Config::from_toml(&both, env).unwrap_err();
        assert!(problem_of(&err, "imap.password_file").is_some(), "{err}");
        // A missing file is named.
        let gone = text.replace("\"imap-password\"", "\"nope\"");
        let err = Config::from_toml(&gone, env).unwrap_err();
        let m = problem_of(&err, "imap.password_file").expect("reported");
        assert!(m.contains("nope"), "{m}");
        // An empty one too.
        std::fs::write(dir.path().join("imap-password"), "\n").expect("write");
        let err = Config::from_toml(&text, env).unwrap_err();
        assert!(
            problem_of(&err, "imap.password_file").is_some_and(|m| m.contains("empty")),
            "{err}"
        );
    }

    #[test]
    fn the_database_url_can_come_from_a_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let f = dir.path().join("db-url");
        std::fs::write(&f, "postgres://bw:pw@127.0.0.1/bw\n").expect("write");
        let text = local().replace(
            "[general]",
            &format!(
                "[general]\ndatabase_url_file = {:?}",
                f.display().to_string()
            ),
        );
        let c = Config::from_toml_for(&text, no_env, Use::Offline).expect("valid");
        assert_eq!(c.general.database_url, "postgres://bw:pw@127.0.0.1/bw");
    }

    #[test]
    fn clear_text_smtp_to_another_machine_warns_and_with_credentials_fails() {
        let remote = local().replace(
            "host = \"127.0.0.1\"\nport = 2525",
            "host = \"smtp.example.test\"\nport = 2525",
        );
        assert!(
            remote.contains("smtp.example.test"),
            "the fixture has the SMTP host"
        );
        let c = Config::from_toml(&remote, ca_env).expect("a warning, not a problem");
        assert!(
            c.warnings.iter().any(|w| w.key == "smtp.tls"),
            "{:?}",
            c.warnings
        );
        let with_creds = remote.replace(
            "[smtp]",
            "[smtp]\nusername = \"breach@example.test\"\npassword = \"pw\"",
        );
        let err = Config::from_toml(&with_creds, ca_env).unwrap_err();
        assert!(
            problem_of(&err, "smtp.tls").is_some_and(|m| m.contains("password")),
            "{err}"
        );
        // Loopback is this machine: no warning.
        let c = Config::from_toml(&local(), ca_env).expect("valid");
        assert!(c.warnings.iter().all(|w| w.key != "smtp.tls"));
    }

    #[test]
    fn postgres_to_another_machine_without_verify_full_warns() {
        let with = |url: &str| {
            let env = |k: &str| match k {
                "BREACHWATCH_DATABASE_URL" => Some(url.to_string()),
                "BREACHWATCH_IMAP_CA_FILE" => Some("Cargo.toml".to_string()),
                _ => None,
            };
            Config::from_toml(&local(), env)
                .expect("valid")
                .warnings
                .iter()
                .any(|w| w.key == "general.database_url")
        };
        assert!(with("postgres://bw:pw@db.example.test:5432/bw"));
        assert!(with("postgres://bw@db.example.test/bw?sslmode=require"));
        assert!(!with(
            "postgres://bw@db.example.test/bw?sslmode=verify-full"
        ));
        assert!(!with("postgres://bw@127.0.0.1:5432/bw"));
        assert!(!with("postgres://bw@localhost/bw"));
        assert!(!with("postgres://bw@[::1]:5432/bw"));
        assert!(!with("postgres:///bw?host=/run/postgresql"));
        assert!(!with("sqlite:///var/lib/breachwatch/bw.db"));
    }

    #[test]
    fn did_you_mean_takes_only_near_names() {
        assert_eq!(did_you_mean("prot", &["port", "host"]), Some("port"));
        assert_eq!(did_you_mean("Timezone", &["timezone"]), Some("timezone"));
        assert_eq!(did_you_mean("colour", &["port", "host"]), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("prot", "port"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
    }

    fn local_with(extra: &str) -> Result<Config, ConfigError> {
        let env = |k: &str| (k == "BREACHWATCH_IMAP_CA_FILE").then(|| "Cargo.toml".to_string());
        // The shipped file has a [documents] section: replace it, keep the rest.
        let text = local();
        let start = text
            .find("[documents]")
            .expect("local.toml has [documents]");
        let end = text[start..]
            .find("[[suppliers]]")
            .map(|i| start + i)
            .expect("[[suppliers]] follows [documents]");
        let text = format!("{}{extra}\n{}", &text[..start], &text[end..]);
        Config::from_toml(&text, env)
    }

    fn keys_and_messages(e: &ConfigError) -> Vec<(String, String)> {
        e.0.iter()
            .map(|p| (p.key.clone(), p.message.clone()))
            .collect()
    }

    #[test]
    fn documents_default_to_the_built_in_swedish_set() {
        let c = local_with("").expect("no [documents] is fine");
        assert_eq!(c.documents.language, "sv");
        assert!(c.documents.templates_dir.is_none());
        assert!(c.documents.templates().is_ok());
        let c = local_with("[documents]\nlanguage = \"en\"\n").expect("en is a language");
        assert!(c.documents.templates().is_ok());
    }

    #[test]
    fn a_missing_template_directory_is_a_problem_of_its_key() {
        let err =
            local_with("[documents]\ntemplates_dir = \"/nonexistent/breachwatch-templates\"\n")
                .unwrap_err();
        let found = keys_and_messages(&err);
        assert!(
            found.iter().any(|(k, m)| k == "documents.templates_dir"
                && m.contains("/nonexistent/breachwatch-templates")),
            "{found:?}"
        );
    }

    #[test]
    fn a_broken_or_missing_template_file_is_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/templates/sv");
        for f in crate::render::TEMPLATE_FILES {
            std::fs::copy(src.join(f), dir.path().join(f)).expect("copy template");
        }
        let section = format!(
            "[documents]\ntemplates_dir = {:?}\n",
            dir.path().display().to_string()
        );
        local_with(&section).expect("a copy of the shipped set is valid");

        std::fs::write(dir.path().join("imy.html.j2"), "{{ form.no_such_field }}\n")
            .expect("write");
        let err = local_with(&section).unwrap_err();
        let found = keys_and_messages(&err);
        assert!(
            found
                .iter()
                .any(|(k, m)| k == "documents.templates_dir" && m.contains("imy.html.j2")),
            "{found:?}"
        );

        std::fs::remove_file(dir.path().join("calendar.txt.j2")).expect("remove");
        std::fs::copy(src.join("imy.html.j2"), dir.path().join("imy.html.j2")).expect("copy");
        let err = local_with(&section).unwrap_err();
        let found = keys_and_messages(&err);
        assert!(
            found.iter().any(|(k, m)| k == "documents.templates_dir"
                && m.contains("calendar.txt.j2")
                && m.contains("missing")),
            "{found:?}"
        );
    }

    #[test]
    fn an_unknown_document_language_is_a_problem() {
        let err = local_with("[documents]\nlanguage = \"fi\"\n").unwrap_err();
        let keys: Vec<String> = err.0.iter().map(|p| p.key.clone()).collect();
        assert!(keys.contains(&"documents.language".to_string()), "{keys:?}");
    }

    #[test]
    fn internal_domain_check_rejects_lookalikes() {
        let d = vec!["example.test".to_string()];
        assert!(is_internal(&d, "a@example.test"));
        assert!(is_internal(&d, "a@sub.example.test"));
        assert!(!is_internal(&d, "a@badexample.test"));
        assert!(!is_internal(&d, "not-an-address"));
    }
}
