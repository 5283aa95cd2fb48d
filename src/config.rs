//! Configuration: defaults, then the TOML file, then environment variables (env
//! wins), validated once into a typed [`Config`]. `check-config` prints every
//! problem with the key it belongs to; `run` refuses a bad config the same way.
//!
//! Secrets (passwords) are wrapped in [`Secret`] so `Debug` never prints them.

use std::fmt;
use std::path::{Path, PathBuf};

use chrono_tz::Tz;
use serde::Deserialize;

use crate::core::auth::AuthConfig;
use crate::core::clock::ReminderPlan;
use crate::core::notice::{ReadOptions, SupplierHint};
use crate::core::routing::{Route, Rule};

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
    #[serde(default)]
    pub digest: Digest,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Workflow {
    /// A message from the same supplier about the same system within this many
    /// days of an open case's opening joins that case without thread headers.
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

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Digest {
    /// Mail the DPO every open case with its time left.
    pub enabled: bool,
    /// Six or seven cron fields, seconds first, day names (`Mon-Fri`), evaluated in
    /// `general.timezone`.
    pub cron: String,
}

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
    /// Case references are `PREFIX-YYYY-NNNN`.
    pub case_prefix: String,
    /// Only these domains ever receive mail from breachwatch.
    pub internal_domains: Vec<String>,
    /// `sqlite://path` (created if missing) or `postgres://…`; env
    /// `BREACHWATCH_DATABASE_URL` overrides.
    pub database_url: String,
    /// `text` or `json` log lines.
    pub log_format: String,
    /// How long `run` may take to stop after SIGTERM/SIGINT.
    pub shutdown_grace_secs: u64,
}

impl Default for General {
    fn default() -> Self {
        General {
            timezone: "Europe/Stockholm".into(),
            case_prefix: "PUI".into(),
            internal_domains: Vec::new(),
            database_url: "sqlite://breachwatch.db".into(),
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
    /// Env `BREACHWATCH_IMAP_PASSWORD` overrides.
    #[serde(default)]
    pub password: Secret,
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
    /// Env `BREACHWATCH_SMTP_PASSWORD` overrides.
    #[serde(default)]
    pub password: Secret,
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
pub struct ConfigError(pub Vec<ConfigProblem>);

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

impl Config {
    /// Reads, applies the environment, and validates.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigError(vec![problem(
                &path.display().to_string(),
                format!("cannot read: {e}"),
            )])
        })?;
        Self::from_toml(&text, |k| std::env::var(k).ok())
    }

    /// Parses TOML text, applies environment overrides from `env`, validates.
    pub fn from_toml(
        text: &str,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let mut cfg: Config = toml::from_str(text).map_err(|e| {
            let msg = e.message().to_string();
            let key = match e.span() {
                Some(span) => {
                    let line = text[..span.start.min(text.len())].lines().count().max(1);
                    format!("line {line}")
                }
                None => "file".to_string(),
            };
            ConfigError(vec![problem(&key, msg)])
        })?;
        cfg.apply_env(env);
        let problems = cfg.problems();
        if problems.is_empty() {
            Ok(cfg)
        } else {
            Err(ConfigError(problems))
        }
    }

    fn apply_env(&mut self, env: impl Fn(&str) -> Option<String>) {
        let set = |k: &str| env(k).filter(|v| !v.is_empty());
        if let Some(v) = set("BREACHWATCH_DATABASE_URL") {
            self.general.database_url = v;
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
    }

    /// Every semantic problem, each with its key.
    pub fn problems(&self) -> Vec<ConfigProblem> {
        let mut out = Vec::new();
        if self.general.timezone.parse::<Tz>().is_err() {
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
        if self.imap.password.expose().is_empty() {
            out.push(problem(
                "imap.password",
                "missing (set it here or in BREACHWATCH_IMAP_PASSWORD)",
            ));
        }
        if let Some(ca) = &self.imap.ca_file {
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
        if let Some(ca) = &self.smtp.ca_file {
            if !ca.is_file() {
                out.push(problem(
                    "smtp.ca_file",
                    format!("{} is not a readable file", ca.display()),
                ));
            }
        }
        for p in self.clock.problems() {
            out.push(problem("clock", p));
        }
        for p in self.auth.problems() {
            out.push(problem("auth", p));
        }
        if !(1..=3650).contains(&self.workflow.max_forward_age_days) {
            out.push(problem(
                "workflow.max_forward_age_days",
                "must be between 1 and 3650 days",
            ));
        }
        if self.workflow.series_window_days < 0 {
            out.push(problem(
                "workflow.series_window_days",
                "must not be negative",
            ));
        }
        if self.digest.enabled {
            if let Err(e) = crate::core::digest::DigestSchedule::parse(
                &self.digest.cron,
                &self.general.timezone,
            ) {
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
        out
    }

    fn route_problems(&self, key: &str, r: &Route, out: &mut Vec<ConfigProblem>) {
        let mut people = vec![
            ("official", &r.official),
            ("deputy", &r.deputy),
            ("dpo", &r.dpo),
        ];
        if let Some(c) = &r.coordinator {
            people.push(("coordinator", c));
        }
        for (role, c) in people {
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

    pub fn tz(&self) -> Tz {
        self.general
            .timezone
            .parse()
            .unwrap_or(chrono_tz::Europe::Stockholm)
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
        }
    }
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
    fn syntax_errors_name_the_line() {
        let err = Config::from_toml("[general]\ntimezone = \n", no_env).unwrap_err();
        assert!(err.0[0].key.starts_with("line"), "{err}");
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
