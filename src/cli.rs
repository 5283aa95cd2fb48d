//! Command line: one subcommand per user task. Each takes `--config FILE`, else
//! `$BREACHWATCH_CONFIG`, else `/etc/breachwatch/breachwatch.toml`.
//! Exit codes: 0 success, 1 runtime failure, 2 bad input or bad config.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use chrono::Utc;
use chrono_tz::Tz;
use clap::{Parser, Subcommand};
use tokio_util::sync::CancellationToken;

use crate::config::{self, Config};
use crate::core::notice::{self, present, ReadOptions};
use crate::store::{CaseSummary, Store};
use crate::workers::ingest::Pipeline;

#[derive(Parser, Debug)]
#[command(
    name = "breachwatch",
    version,
    about = "GDPR art. 33 breach-notice watcher"
)]
pub struct Cli {
    /// Configuration file (else $BREACHWATCH_CONFIG, else /etc/breachwatch/breachwatch.toml).
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Watch the mailbox and run the clock and the outbox until SIGTERM/SIGINT.
    Run {
        /// Do not migrate the database; refuse to start (exit 2) when the
        /// schema is behind. For deployments where an init step runs `migrate`.
        #[arg(long)]
        no_migrate: bool,
    },
    /// Apply pending database migrations and exit (an init step, systemd
    /// ExecStartPre, a Kubernetes init container).
    Migrate,
    /// Copy the SQLite database to FILE while the daemon may be running
    /// (PostgreSQL: use pg_dump).
    Backup {
        /// Where to write the copy; must not exist.
        #[arg(long)]
        out: PathBuf,
    },
    /// Run the ingest pipeline on one saved message (.eml).
    Ingest { file: PathBuf },
    /// The PDF reader's child process (`src/pdf.rs`): limits itself, reads
    /// one PDF on stdin, writes its text on stdout. Started by breachwatch
    /// itself; not for people.
    #[command(name = "pdf-text", hide = true)]
    PdfText {
        #[arg(long)]
        cpu_seconds: u64,
        #[arg(long)]
        memory_bytes: u64,
    },
    /// Read one message like the daemon does and print what it found.
    Inspect {
        file: PathBuf,
        /// Print the inspect-v1 JSON object (the default).
        #[arg(long)]
        json: bool,
        /// Print facts with the sentences they were read from.
        #[arg(long)]
        explain: bool,
        /// Zone for times written without one (default: the configured zone).
        #[arg(long)]
        tz: Option<String>,
    },
    /// Admin rules.
    Rules {
        #[command(subcommand)]
        command: RulesCommand,
    },
    /// Cases in the register.
    Cases {
        #[command(subcommand)]
        command: CasesCommand,
    },
    /// The art. 33(5) register of every breach.
    Register {
        #[command(subcommand)]
        command: RegisterCommand,
    },
    /// The DPO's yearly statistics: cases per month, committee, supplier,
    /// cause and data category; outcomes; notification within 72 hours.
    Stats {
        /// The year (by when the municipality became aware, in the configured zone).
        #[arg(long)]
        year: i32,
        #[arg(long, value_parser = ["text", "csv", "json", "html"], default_value = "text")]
        format: String,
    },
    /// Messages that could not be read and were moved to the quarantine folder.
    Quarantine {
        #[command(subcommand)]
        command: QuarantineCommand,
    },
    /// Print the argon2 hash of a password read from stdin, for a `[[web.accounts]]` entry.
    WebPassword,
    /// The one interactive step of an OAuth2 refresh-token flow: prints the
    /// address to open in a browser, reads the address the browser landed on
    /// (or the bare code) from stdin, and saves the refresh token (0600) in
    /// `imap.oauth2.refresh_token_file` (with --smtp: `smtp.oauth2`'s). With
    /// --device: prints a code to enter at the provider's address from any
    /// device, and waits for the approval (RFC 8628).
    Login {
        /// The mailbox: `default` (the `[imap]` section) or its username.
        #[arg(long, default_value = "default")]
        mailbox: String,
        /// Log in the `[smtp.oauth2]` client instead of `[imap.oauth2]`.
        #[arg(long)]
        smtp: bool,
        /// The device-code flow: no pasted address, approve on another device.
        #[arg(long)]
        device: bool,
    },
    /// Health probe for a container HEALTHCHECK or an exec probe: GET
    /// `/readyz` (with --live `/healthz`) of the daemon's `[web] listen`
    /// address; exit 0 on 200, 1 otherwise (never 2, which a HEALTHCHECK
    /// must not use), with one line. Without `[web]` and --url: the store
    /// answers and its schema is current.
    Probe {
        /// The address to GET instead, e.g. http://127.0.0.1:8080/readyz.
        #[arg(long, conflicts_with = "live")]
        url: Option<String>,
        /// Ask `/healthz` (the process serves) instead of `/readyz`.
        #[arg(long)]
        live: bool,
        /// Give up after this many seconds.
        #[arg(long, default_value_t = 5)]
        timeout: u64,
    },
    /// Validate a configuration file and list every problem.
    CheckConfig {
        /// The file to check (same as --config).
        file: Option<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
pub enum RulesCommand {
    /// Which rule matches this message, why, and the route it gives.
    Test { file: PathBuf },
}

#[derive(Subcommand, Debug)]
pub enum RegisterCommand {
    /// Every case, notified or not, with facts, effects, actions and decision.
    Export {
        #[arg(long, value_parser = ["csv", "json"], default_value = "json")]
        format: String,
        /// First day (YYYY-MM-DD, in the configured zone) a case was opened.
        #[arg(long)]
        from: Option<chrono::NaiveDate>,
        /// Last day (inclusive).
        #[arg(long)]
        to: Option<chrono::NaiveDate>,
    },
    /// Check every case's hash-chained timeline, its row against the timeline,
    /// the case numbers and the register-wide event sequence; exit 1 naming the
    /// first problem.
    Verify {
        /// A saved DPO digest mail (.eml) or a file holding its anchor line:
        /// also check that every case and event the anchor covered is unchanged.
        #[arg(long)]
        anchor: Option<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
pub enum QuarantineCommand {
    /// Every quarantined message, newest first, with the reason.
    List {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum CasesCommand {
    /// Every case.
    List {
        #[arg(long)]
        json: bool,
    },
    /// One case with its messages, timeline and mails.
    Show {
        case_ref: String,
        #[arg(long)]
        json: bool,
    },
    /// Write the draft documents of an outcome (decision .docx/.txt, IMY form
    /// draft when notifying, deadline .ics) to a directory; print each file's
    /// SHA-256 and path, and record the checksums on the case timeline.
    Draft {
        case_ref: String,
        #[arg(long, value_enum)]
        outcome: OutcomeArg,
        /// Directory to write to (created if missing; files are overwritten).
        #[arg(long)]
        out: PathBuf,
    },
    /// Write the NIS2 drafts of a case (early warning and incident
    /// notification as .txt/.html/.json, the NIS2 deadlines as .ics) to a
    /// directory; print each file's SHA-256 and path, and record the
    /// checksums on the case timeline.
    Nis2Draft {
        case_ref: String,
        /// Directory to write to (created if missing; files are overwritten).
        #[arg(long)]
        out: PathBuf,
    },
    /// Print the prefilled IMY notification form draft of a case.
    ImyForm {
        case_ref: String,
        #[arg(long, value_enum, default_value = "text")]
        format: FormFormat,
    },
}

/// The decision outcomes, as `cases draft --outcome` names them.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum OutcomeArg {
    Notify,
    NotifyInform,
    NoNotify,
    Withdraw,
}

impl From<OutcomeArg> for crate::core::documents::Outcome {
    fn from(o: OutcomeArg) -> Self {
        use crate::core::documents::Outcome;
        match o {
            OutcomeArg::Notify => Outcome::Notify,
            OutcomeArg::NotifyInform => Outcome::NotifyInform,
            OutcomeArg::NoNotify => Outcome::NoNotify,
            OutcomeArg::Withdraw => Outcome::Withdraw,
        }
    }
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum FormFormat {
    Text,
    Html,
    Json,
}

fn fail(code: u8, msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("breachwatch: {msg}");
    ExitCode::from(code)
}

/// `?` for a command's errors: print the error (with its causes) and end with
/// `code` (1: the run failed, 2: the input or configuration is wrong).
trait OrExit<T> {
    fn or_exit(self, code: u8) -> Result<T, ExitCode>;
    /// As [`OrExit::or_exit`], the message led by `context` ("database: …").
    fn or_exit_in(self, code: u8, context: impl std::fmt::Display) -> Result<T, ExitCode>;
}

impl<T, E: std::fmt::Display> OrExit<T> for Result<T, E> {
    fn or_exit(self, code: u8) -> Result<T, ExitCode> {
        self.map_err(|e| fail(code, format!("{e:#}")))
    }

    fn or_exit_in(self, code: u8, context: impl std::fmt::Display) -> Result<T, ExitCode> {
        self.map_err(|e| fail(code, format!("{context}: {e:#}")))
    }
}

/// The configuration for a command that uses only the database or mail files
/// (no mailbox credentials or CA files demanded).
fn load(flag: Option<&Path>) -> Result<Config, ExitCode> {
    load_for(flag, config::Use::Offline)
}

fn load_for(flag: Option<&Path>, use_: config::Use) -> Result<Config, ExitCode> {
    let path = config::resolve_path(flag);
    let cfg = Config::load_for(&path, use_).map(|mut cfg| {
        // Attached PDFs are read by this binary's child (`pdf`), as the
        // daemon, `ingest`, `inspect` and `rules test` all read mail.
        if cfg.reader.pdf {
            cfg.pdf_reader =
                crate::pdf::reader_of_this_binary(crate::pdf::Limits::from_config(&cfg.reader));
        }
        cfg
    });
    cfg.map_err(|e| {
        eprintln!(
            "breachwatch: invalid configuration {}: {} problem(s)",
            path.display(),
            e.0.len()
        );
        for p in &e.0 {
            eprintln!("  {p}");
        }
        for w in &e.1 {
            eprintln!("  warning: {w}");
        }
        ExitCode::from(2)
    })
}

async fn open_store(cfg: &Config) -> Result<Store, ExitCode> {
    Store::connect(&cfg.general.database_url)
        .await
        .or_exit_in(1, "database")
}

fn runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .or_exit_in(1, "cannot start runtime")
}

/// `web-password`: one line of stdin → an argon2 PHC string on stdout.
fn web_password() -> ExitCode {
    let mut line = String::new();
    if std::io::stdin().read_line(&mut line).is_err()
        || line.trim_end_matches(['\r', '\n']).is_empty()
    {
        eprintln!("breachwatch: give the password on stdin");
        return ExitCode::from(2);
    }
    match crate::web::session::hash_password(line.trim_end_matches(['\r', '\n'])) {
        Ok(h) => {
            println!("{h}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("breachwatch: {e}");
            ExitCode::from(1)
        }
    }
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let flag = cli.config.as_deref();
    let r = match cli.command {
        Command::Inspect {
            file,
            json: _,
            explain,
            tz,
        } => return inspect(flag, &file, explain, tz.as_deref()),
        Command::CheckConfig { file } => return check_config(file.as_deref().or(flag)),
        Command::WebPassword => return web_password(),
        Command::PdfText {
            cpu_seconds,
            memory_bytes,
        } => return crate::pdf::child_main(cpu_seconds, memory_bytes),
        Command::Probe { url, live, timeout } => return probe(flag, url, live, timeout),
        Command::Run { no_migrate } => run(flag, no_migrate),
        Command::Migrate => migrate(flag),
        Command::Login {
            mailbox,
            smtp,
            device,
        } => login(flag, &mailbox, smtp, device),
        Command::Backup { out } => backup(flag, &out),
        Command::Ingest { file } => ingest(flag, &file),
        Command::Rules {
            command: RulesCommand::Test { file },
        } => rules_test(flag, &file),
        Command::Cases { command } => cases(flag, command),
        Command::Register { command } => register(flag, command),
        Command::Stats { year, format } => stats(flag, year, &format),
        Command::Quarantine {
            command: QuarantineCommand::List { json },
        } => quarantine(flag, json),
    };
    r.unwrap_or_else(|c| c)
}

/// `probe`: one GET over plain HTTP with the reqwest of `oauth2` (rustls
/// only; no proxy from the environment, no redirects), or, without `[web]`,
/// the store. Every failure, a bad config included, is exit 1.
fn probe(flag: Option<&Path>, url: Option<String>, live: bool, timeout: u64) -> ExitCode {
    let unhealthy = |msg: String| fail(1, format!("probe: {msg}"));
    let cfg = match url {
        Some(_) => None,
        None => match Config::load_for(&config::resolve_path(flag), config::Use::Offline) {
            Ok(c) => Some(c),
            Err(e) => {
                let first = e.0.first().map(|p| p.to_string()).unwrap_or_default();
                return unhealthy(format!("invalid configuration: {first}"));
            }
        },
    };
    let target = match (&url, cfg.as_ref().and_then(|c| c.web.as_ref())) {
        (Some(u), _) => Some(u.clone()),
        (None, Some(w)) => {
            let Some(mut a) = w.addr() else {
                return unhealthy(format!("web.listen {:?} is not an address", w.listen));
            };
            // A daemon listening on every address answers on loopback.
            if a.ip().is_unspecified() {
                a.set_ip(match a {
                    std::net::SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
                    std::net::SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
                });
            }
            Some(format!(
                "http://{a}/{}",
                if live { "healthz" } else { "readyz" }
            ))
        }
        (None, None) => None,
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return unhealthy(format!("cannot start runtime: {e}")),
    };
    let limit = std::time::Duration::from_secs(timeout.max(1));
    let r: Result<String, String> = rt.block_on(async {
        let work = async {
            match (&target, &cfg) {
                (Some(t), _) => {
                    let client = oauth2::reqwest::ClientBuilder::new()
                        .no_proxy()
                        .redirect(oauth2::reqwest::redirect::Policy::none())
                        .timeout(limit)
                        .build()
                        .map_err(|e| format!("{e}"))?;
                    let resp = client.get(t).send().await.map_err(|e| {
                        // reqwest's message names the URL; the cause is below it.
                        let mut why = String::new();
                        let mut src = std::error::Error::source(&e);
                        while let Some(c) = src {
                            why = c.to_string();
                            src = c.source();
                        }
                        format!("{t}: {why}")
                    })?;
                    let status = resp.status();
                    let body = resp.text().await.unwrap_or_default();
                    let body: String = body
                        .lines()
                        .map(str::trim)
                        .filter(|l| !l.is_empty())
                        .collect::<Vec<_>>()
                        .join("; ")
                        .chars()
                        .take(300)
                        .collect();
                    if status == oauth2::reqwest::StatusCode::OK {
                        Ok(format!("{t}: {status} {body}"))
                    } else {
                        Err(format!("{t}: {status} {body}"))
                    }
                }
                (None, Some(c)) => {
                    let url = &c.general.database_url;
                    // Do not create a missing SQLite file (sqlx would).
                    if !url.starts_with("postgres") && !url.contains(":memory:") {
                        let o = url
                            .parse::<sqlx::sqlite::SqliteConnectOptions>()
                            .map_err(|e| format!("store: {e}"))?;
                        if !o.get_filename().exists() {
                            return Err(format!(
                                "store: {} does not exist",
                                o.get_filename().display()
                            ));
                        }
                    }
                    let store = Store::connect_checked(url)
                        .await
                        .map_err(|e| format!("store: {e}"))?;
                    let r = store.outbox_waiting().await;
                    store.close().await;
                    let (waiting, _) = r.map_err(|e| format!("store: {e}"))?;
                    Ok(format!(
                        "no [web]: the store answers, schema current, {waiting} mail(s) waiting (the daemon itself was not asked)"
                    ))
                }
                (None, None) => Err("nothing to probe".into()),
            }
        };
        tokio::time::timeout(limit, work)
            .await
            .unwrap_or_else(|_| Err(format!("no answer within {} s", limit.as_secs())))
    });
    match r {
        Ok(line) => {
            println!("probe: {line}");
            ExitCode::SUCCESS
        }
        Err(e) => unhealthy(e),
    }
}

/// Everything goes to stdout, count first, so an admin piping it to a pager
/// or a file sees the count and the problems together.
fn check_config(flag: Option<&Path>) -> ExitCode {
    let path = config::resolve_path(flag);
    match Config::load(&path) {
        Ok(cfg) => {
            for w in &cfg.warnings {
                println!("warning: {w}");
            }
            if cfg.warnings.is_empty() {
                println!("{}: ok", path.display());
            } else {
                println!(
                    "{}: ok, with {} warning(s)",
                    path.display(),
                    cfg.warnings.len()
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            println!("{}: {} problem(s)", path.display(), e.0.len());
            for p in &e.0 {
                println!("{p}");
            }
            for w in &e.1 {
                println!("warning: {w}");
            }
            ExitCode::from(2)
        }
    }
}

fn login(
    flag: Option<&Path>,
    mailbox: &str,
    smtp: bool,
    device: bool,
) -> Result<ExitCode, ExitCode> {
    let cfg = load_for(flag, config::Use::Daemon)?;
    // `default` is `[imap]`; the others are `[[mailboxes]]` by name.
    let extra = cfg.extra_mailboxes();
    let imap = if mailbox == "default" || mailbox.eq_ignore_ascii_case(&cfg.imap.username) {
        &cfg.imap
    } else if let Some((_, c)) = extra.iter().find(|(n, _)| n == mailbox) {
        &c.imap
    } else {
        let names: Vec<&str> = extra.iter().map(|(n, _)| n.as_str()).collect();
        return Err(fail(
            2,
            format!("no mailbox {mailbox:?}: this configuration has `default` ([imap]) {names:?}"),
        ));
    };
    let imap_key = format!("{}.oauth2", imap.section());
    let (key, o) = if smtp {
        ("smtp.oauth2", cfg.smtp.oauth2.as_ref())
    } else {
        (imap_key.as_str(), imap.oauth2.as_ref())
    };
    let Some(o) = o else {
        return Err(fail(2, format!("{key}: missing; nothing to log in")));
    };
    if o.flow() != config::Flow::RefreshToken {
        return Err(fail(
            2,
            format!(
                "{key}: no refresh_token_file, so it uses client credentials and needs no login"
            ),
        ));
    }
    // One runtime for the database (its pool lives there) and the login.
    let rt = runtime()?;
    if o.refresh_token_store == config::RefreshTokenStore::Database {
        let store = rt.block_on(open_store(&cfg))?;
        crate::mail::oauth::use_database(&store);
    }
    if device {
        return device_login(&rt, key, o);
    }
    let start = crate::mail::oauth::login_start(key, o).map_err(|e| fail(2, format!("{e}")))?;
    println!(
        "Open this address in a browser, sign in as the mailbox and consent:\n\n{}\n",
        start.url
    );
    eprintln!("Then paste the address the browser landed on (or just the code) and press Enter:");
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|e| fail(1, format!("reading stdin: {e}")))?;
    match rt.block_on(crate::mail::oauth::login_finish(key, o, start, &line)) {
        Ok(file) => {
            println!("refresh token saved in {file}");
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => Err(fail(1, format!("{e}"))),
    }
}

/// `login --device`: the code to enter, then the wait for the approval.
fn device_login(
    rt: &tokio::runtime::Runtime,
    key: &str,
    o: &config::OAuth2,
) -> Result<ExitCode, ExitCode> {
    let show = |d: &crate::mail::oauth::DeviceShown| {
        println!(
            "On any device, open {} , sign in as the mailbox and enter the code\n\n    {}\n",
            d.verification_uri, d.user_code
        );
        if let Some(u) = &d.verification_uri_complete {
            println!("(or open {u} )");
        }
        println!(
            "Waiting for the approval (at most {} minutes)...",
            d.expires_in.as_secs().div_ceil(60)
        );
    };
    match rt.block_on(crate::mail::oauth::device_login(key, o, show)) {
        Ok(file) => {
            println!("refresh token saved in {file}");
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => Err(fail(1, format!("{e}"))),
    }
}

fn run(flag: Option<&Path>, no_migrate: bool) -> Result<ExitCode, ExitCode> {
    let cfg = load_for(flag, config::Use::Daemon)?;
    crate::telemetry::init(&cfg.general.log_format);
    for w in &cfg.warnings {
        tracing::warn!(key = %w.key, "configuration: {}", w.message);
    }
    let rt = runtime()?;
    let schema = if no_migrate {
        crate::app::Schema::Require
    } else {
        crate::app::Schema::Migrate
    };
    rt.block_on(async {
        let shutdown = CancellationToken::new();
        let s = shutdown.clone();
        tokio::spawn(async move {
            wait_for_signal().await;
            s.cancel();
        });
        match crate::app::run_with(cfg, schema, shutdown).await {
            Ok(()) => Ok(ExitCode::SUCCESS),
            // A schema that does not match is the operator's to fix (run
            // `migrate`, or roll the binary forward), not a crash to retry:
            // exit 2, which the systemd unit does not restart on.
            Err(e)
                if matches!(
                    e.downcast_ref::<crate::store::StoreError>(),
                    Some(crate::store::StoreError::Schema(_))
                ) =>
            {
                Err(fail(2, format!("{e:#}")))
            }
            Err(e) => Err(fail(1, format!("{e:#}"))),
        }
    })
}

fn migrate(flag: Option<&Path>) -> Result<ExitCode, ExitCode> {
    let cfg = load(flag)?;
    crate::telemetry::init(&cfg.general.log_format);
    let rt = runtime()?;
    rt.block_on(async {
        let store = crate::store::Store::connect_unmigrated(&cfg.general.database_url)
            .await
            .or_exit_in(1, "database")?;
        let mut r = store.migrate().await;
        if r.is_ok() {
            // What migration 0012's SQL cannot compute (the configured zone).
            if let Err(e) = store.refresh_next_deadlines(cfg.tz()).await {
                r = Err(e);
            }
        }
        store.close().await;
        match r {
            Ok(applied) if applied.is_empty() => {
                println!("{} schema up to date", store.backend());
                Ok(ExitCode::SUCCESS)
            }
            Ok(applied) => {
                let list: Vec<String> = applied.iter().map(|v| v.to_string()).collect();
                println!(
                    "{} schema migrated: applied {}",
                    store.backend(),
                    list.join(", ")
                );
                Ok(ExitCode::SUCCESS)
            }
            Err(e @ crate::store::StoreError::Schema(_)) => Err(fail(2, e)),
            Err(e) => Err(fail(1, format!("migration: {e}"))),
        }
    })
}

fn backup(flag: Option<&Path>, out: &Path) -> Result<ExitCode, ExitCode> {
    let cfg = load(flag)?;
    let rt = runtime()?;
    rt.block_on(async {
        // Without migrating: a backup must copy the database as it is.
        let store = crate::store::Store::connect_unmigrated(&cfg.general.database_url)
            .await
            .or_exit_in(1, "database")?;
        let r = store.backup_to(out).await;
        store.close().await;
        match r {
            Ok(()) => {
                println!("backup written to {}", out.display());
                Ok(ExitCode::SUCCESS)
            }
            Err(e @ crate::store::StoreError::Unsupported(_)) => Err(fail(2, e)),
            Err(e @ crate::store::StoreError::Other(_)) => Err(fail(2, e)),
            Err(e) => Err(fail(1, format!("backup: {e}"))),
        }
    })
}

async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

fn ingest(flag: Option<&Path>, file: &Path) -> Result<ExitCode, ExitCode> {
    let cfg = load(flag)?;
    crate::telemetry::init(&cfg.general.log_format);
    let raw = std::fs::read(file).or_exit_in(2, file.display())?;
    let rt = runtime()?;
    rt.block_on(async {
        let store = open_store(&cfg).await?;
        let p = Pipeline::new(Arc::new(cfg), store.clone());
        let handled = p.handle(&raw, None, None, Utc::now()).await.or_exit(1)?;
        store.close().await;
        println!(
            "{}",
            serde_json::json!({ "result": format!("{handled:?}") })
        );
        Ok(ExitCode::SUCCESS)
    })
}

fn rules_test(flag: Option<&Path>, file: &Path) -> Result<ExitCode, ExitCode> {
    let cfg = load(flag)?;
    let raw = std::fs::read(file).or_exit_in(2, file.display())?;
    let d = crate::workers::ingest::route_of(&cfg, &raw).or_exit_in(2, file.display())?;
    let r = &d.route;
    println!(
        "rule: {}",
        d.rule.as_deref().unwrap_or("(none: default route)")
    );
    for reason in &d.reasons {
        println!("  because {reason}");
    }
    println!(
        "committee: {} (diarienummer {} …, delegation point {})",
        r.committee.name, r.committee.diarie_prefix, r.committee.delegation_point
    );
    println!("official:  {} <{}>", r.official.name, r.official.address);
    println!("deputy:    {} <{}>", r.deputy.name, r.deputy.address);
    println!("dpo:       {} <{}>", r.dpo.name, r.dpo.address);
    if let Some(c) = &r.coordinator {
        println!("coordinator: {} <{}>", c.name, c.address);
    }
    println!("case:      {}", placement(cfg, &raw));
    Ok(ExitCode::SUCCESS)
}

/// Which case the message would join and why, from the configured database;
/// the reason when it cannot be asked (a missing SQLite file is not created).
fn placement(cfg: Config, raw: &[u8]) -> String {
    let url = cfg.general.database_url.clone();
    if let Some(path) = url.strip_prefix("sqlite://") {
        let file = path.split('?').next().unwrap_or(path);
        if !Path::new(file).exists() {
            return "opens a new case (no database yet)".into();
        }
    }
    let Ok(rt) = runtime() else {
        return "(cannot tell: no async runtime)".into();
    };
    rt.block_on(async {
        let store = match Store::connect(&url).await {
            Ok(s) => s,
            Err(e) => return format!("(cannot tell: database: {e})"),
        };
        let p = Pipeline::new(Arc::new(cfg), store.clone());
        let r = match p.placement(raw, Utc::now()).await {
            Ok(pl) => pl.to_string(),
            Err(e) => format!("(cannot tell: {e:#})"),
        };
        store.close().await;
        r
    })
}

use crate::core::local_time::rfc3339 as local;

/// Every deadline of a case (GDPR art. 33, NIS2 art. 23) with its article,
/// due and done times in the configured zone.
fn clocks_json(case: &crate::core::case::Case, tz: Tz) -> serde_json::Value {
    case.deadlines(tz)
        .iter()
        .map(|d| {
            serde_json::json!({
                "regime": d.clock.regime(),
                "clock": d.clock,
                "article": d.clock.article(),
                "due_at": d.due_at.map(|t| local(t, tz)),
                "done_at": d.done_at.map(|t| local(t, tz)),
                "late": d.late(),
            })
        })
        .collect()
}

fn summary_json(c: &CaseSummary, tz: Tz) -> serde_json::Value {
    serde_json::json!({
        "ref": c.case_ref,
        "state": c.state,
        "aware_at": local(c.aware_at, tz),
        "deadline_at": local(c.deadline_at, tz),
        "opened_at": local(c.opened_at, tz),
        "reporter_organisation": c.reporter_organisation,
        "reporter_address": c.reporter_address,
        "committee": c.committee,
        "official": c.official,
        "rule": c.rule,
        "systems": c.systems,
        "messages": c.messages,
        "reminders_sent": c.reminders_sent,
        "next_reminder_at": c.next_reminder_at.map(|t| local(t, tz)),
        "mailbox": c.mailbox,
        "nis2_reminders_sent": c.nis2_reminders_sent,
        "nis2_reminder_at": c.nis2_reminder_at.map(|t| local(t, tz)),
    })
}

/// `cases list` as a table: a header row, then one row per case with the
/// columns the README promises, padded to the widest value.
fn list_text(list: &[CaseSummary], tz: Tz) -> String {
    let minute = |t: chrono::DateTime<Utc>| crate::core::local_time::minute(t, tz);
    let mut rows: Vec<[String; 10]> = vec![[
        "REF",
        "STATE",
        "AWARE",
        "DEADLINE",
        "ORGANISATION",
        "COMMITTEE",
        "OFFICIAL",
        "MESSAGES",
        "REMINDERS",
        "MAILBOX",
    ]
    .map(String::from)];
    for c in list {
        rows.push([
            c.case_ref.clone(),
            c.state.clone(),
            minute(c.aware_at),
            minute(c.deadline_at),
            c.reporter_organisation
                .as_deref()
                .or(c.reporter_address.as_deref())
                .unwrap_or("-")
                .to_string(),
            c.committee.clone(),
            c.official.clone(),
            c.messages.to_string(),
            c.reminders_sent.to_string(),
            c.mailbox.clone().unwrap_or_else(|| "-".into()),
        ]);
    }
    let mut widths = [0usize; 10];
    for r in &rows {
        for (w, v) in widths.iter_mut().zip(r) {
            *w = (*w).max(v.chars().count());
        }
    }
    let mut out = String::new();
    for r in &rows {
        let cells: Vec<String> = r
            .iter()
            .zip(widths)
            .map(|(v, w)| format!("{v:<w$}"))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// A case reference as typed ("pui-2026-0001"), in the configured prefix's
/// spelling, so a reference is found whatever its letter case.
fn case_ref_arg(prefix: &str, s: &str) -> String {
    let s = s.trim();
    match s.get(..prefix.len()) {
        Some(head) if head.eq_ignore_ascii_case(prefix) => {
            format!("{prefix}{}", &s[prefix.len()..])
        }
        _ => s.to_string(),
    }
}

fn cases(flag: Option<&Path>, cmd: CasesCommand) -> Result<ExitCode, ExitCode> {
    let cfg = load(flag)?;
    let tz = cfg.tz();
    let rt = runtime()?;
    rt.block_on(async {
        let store = open_store(&cfg).await?;
        let out = match cmd {
            CasesCommand::List { json } => {
                let list = store.list_cases().await.or_exit(1)?;
                if json {
                    let v: Vec<_> = list.iter().map(|c| summary_json(c, tz)).collect();
                    serde_json::to_string_pretty(&v).unwrap_or_default()
                } else {
                    list_text(&list, tz)
                }
            }
            CasesCommand::Draft {
                case_ref,
                outcome,
                out,
            } => {
                let case_ref = case_ref_arg(&cfg.general.case_prefix, &case_ref);
                cases_draft(&cfg, &store, &case_ref, outcome.into(), &out).await?
            }
            CasesCommand::Nis2Draft { case_ref, out } => {
                let case_ref = case_ref_arg(&cfg.general.case_prefix, &case_ref);
                cases_nis2_draft(&cfg, &store, &case_ref, &out).await?
            }
            CasesCommand::ImyForm { case_ref, format } => {
                let case_ref = case_ref_arg(&cfg.general.case_prefix, &case_ref);
                cases_imy_form(&cfg, &store, &case_ref, format).await?
            }
            CasesCommand::Show { case_ref, json } => {
                let case_ref = case_ref_arg(&cfg.general.case_prefix, &case_ref);
                let c = match store.case_summary(&case_ref).await {
                    Ok(c) => c,
                    Err(crate::store::StoreError::NotFound(_)) => {
                        return Err(fail(2, format!("no case {case_ref}")))
                    }
                    Err(e) => return Err(fail(1, e.to_string())),
                };
                let msgs = store.case_messages(c.id).await.or_exit(1)?;
                let events = store.case_events(c.id).await.or_exit(1)?;
                let mails = store.case_outbox(c.id).await.or_exit(1)?;
                let mut v = summary_json(&c, tz);
                v["message_list"] = serde_json::to_value(&msgs).unwrap_or_default();
                v["timeline"] = serde_json::to_value(&events).unwrap_or_default();
                v["mails"] = serde_json::to_value(&mails).unwrap_or_default();
                // Every clock of the case, GDPR's and NIS2's (`core::regime`).
                let case = store.case_by_id(c.id).await.or_exit(1)?.case();
                v["nis2"] = serde_json::to_value(&case.nis2).unwrap_or_default();
                v["clocks"] = clocks_json(&case, tz);
                if json {
                    serde_json::to_string_pretty(&v).unwrap_or_default()
                } else {
                    // The text view: what the case is about and why the clock
                    // starts when it does (`casefile::show_text`).
                    let file = case_file(&cfg, &store, &case_ref).await?;
                    crate::casefile::show_text(&c, &file, &msgs, &events, &mails)
                }
            }
        };
        store.close().await;
        println!("{out}");
        Ok(ExitCode::SUCCESS)
    })
}

/// The case file of `case_ref` now; exit 2 for an unknown reference.
async fn case_file(
    cfg: &Config,
    store: &Store,
    case_ref: &str,
) -> Result<crate::core::documents::CaseFile, ExitCode> {
    match crate::casefile::load(store, cfg, case_ref, Utc::now()).await {
        Ok(Some(c)) => Ok(c),
        Ok(None) => Err(fail(2, format!("no case {case_ref}"))),
        Err(e) => Err(fail(1, e.to_string())),
    }
}

fn templates(cfg: &Config) -> Result<crate::render::Templates, ExitCode> {
    // Config::load validated them; a change since is a configuration problem.
    cfg.documents
        .templates()
        .or_exit_in(2, "documents.templates_dir")
}

async fn cases_draft(
    cfg: &Config,
    store: &Store,
    case_ref: &str,
    outcome: crate::core::documents::Outcome,
    out: &Path,
) -> Result<String, ExitCode> {
    let tpl = templates(cfg)?;
    let file = case_file(cfg, store, case_ref).await?;
    let docs = crate::render::bundle(&file, &tpl, outcome)
        .or_exit_in(1, format!("{case_ref}: documents could not be made"))?;
    std::fs::create_dir_all(out).or_exit_in(1, out.display())?;
    let mut listing = String::new();
    for d in &docs {
        let path = out.join(&d.file_name);
        std::fs::write(&path, &d.bytes).or_exit_in(1, path.display())?;
        // `sha256sum -c` reads this format.
        listing.push_str(&format!("{}  {}\n", d.sha256, path.display()));
    }
    // Written first, recorded second: a recorded checksum always has its file.
    let mut event = crate::casefile::documents_event(outcome, &docs, "cli");
    event.actor = match std::env::var("USER") {
        Ok(u) if !u.is_empty() => format!("cli:{u}"),
        _ => "cli".into(),
    };
    let id = store
        .case_id_by_ref(case_ref)
        .await
        .or_exit(1)?
        .ok_or_else(|| fail(2, format!("no case {case_ref}")))?;
    store
        .append_events(id, &[event], Utc::now())
        .await
        .or_exit(1)?;
    Ok(listing.trim_end().to_string())
}

async fn cases_nis2_draft(
    cfg: &Config,
    store: &Store,
    case_ref: &str,
    out: &Path,
) -> Result<String, ExitCode> {
    let tpl = templates(cfg)?;
    let file = case_file(cfg, store, case_ref).await?;
    let id = store
        .case_id_by_ref(case_ref)
        .await
        .or_exit(1)?
        .ok_or_else(|| fail(2, format!("no case {case_ref}")))?;
    let case = store.case_by_id(id).await.or_exit(1)?.case();
    let docs = crate::render::nis2_bundle(&file, &tpl, &case.nis2)
        .or_exit_in(1, format!("{case_ref}: NIS2 drafts could not be made"))?;
    std::fs::create_dir_all(out).or_exit_in(1, out.display())?;
    let mut listing = String::new();
    for d in &docs {
        let path = out.join(&d.file_name);
        std::fs::write(&path, &d.bytes).or_exit_in(1, path.display())?;
        listing.push_str(&format!("{}  {}\n", d.sha256, path.display()));
    }
    // Written first, recorded second: a recorded checksum always has its file.
    let mut event = crate::casefile::nis2_documents_event(&docs, "cli");
    event.actor = match std::env::var("USER") {
        Ok(u) if !u.is_empty() => format!("cli:{u}"),
        _ => "cli".into(),
    };
    store
        .append_events(id, &[event], Utc::now())
        .await
        .or_exit(1)?;
    Ok(listing.trim_end().to_string())
}

async fn cases_imy_form(
    cfg: &Config,
    store: &Store,
    case_ref: &str,
    format: FormFormat,
) -> Result<String, ExitCode> {
    use crate::core::documents::{imy_form, Outcome};
    let tpl = templates(cfg)?;
    let file = case_file(cfg, store, case_ref).await?;
    // Question 31 on informing data subjects follows a recorded decision to
    // inform; otherwise the plain notification.
    let outcome = store
        .case_by_ref(case_ref)
        .await
        .ok()
        .flatten()
        .and_then(|r| r.workflow)
        .and_then(|w| w.decision)
        .map(crate::casefile::outcome_for)
        .filter(|o| o.notifies())
        .unwrap_or(Outcome::Notify);
    let form = imy_form(&file, outcome);
    let text = match format {
        FormFormat::Text => tpl.imy_text(&form),
        FormFormat::Html => tpl.imy_html(&form),
        FormFormat::Json => Ok(form.to_json()),
    }
    .map_err(|e| {
        fail(
            1,
            format!("{case_ref}: the IMY form could not be made: {e}"),
        )
    })?;
    Ok(text.trim_end().to_string())
}

fn stats(flag: Option<&Path>, year: i32, format: &str) -> Result<ExitCode, ExitCode> {
    use crate::render::stats as out;
    if !(1970..=2200).contains(&year) {
        return Err(fail(
            2,
            format!("--year {year}: a year between 1970 and 2200"),
        ));
    }
    let cfg = load(flag)?;
    let tz = cfg.tz();
    let lang = cfg
        .documents
        .language
        .parse()
        .unwrap_or(crate::render::Language::Sv);
    let rt = runtime()?;
    rt.block_on(async {
        let store = open_store(&cfg).await?;
        let cases = crate::stats::collect(&store).await.or_exit(1)?;
        store.close().await;
        let report = crate::core::stats::year_report(&cases, year, tz);
        match format {
            "csv" => print!("{}", out::csv(&report)),
            "json" => println!(
                "{}",
                serde_json::to_string_pretty(&out::json(&report)).unwrap_or_default()
            ),
            "html" => print!("{}", out::html(&report, lang)),
            _ => print!("{}", out::text(&report, lang)),
        }
        Ok(ExitCode::SUCCESS)
    })
}

fn register(flag: Option<&Path>, cmd: RegisterCommand) -> Result<ExitCode, ExitCode> {
    let cfg = load(flag)?;
    let tz = cfg.tz();
    let rt = runtime()?;
    rt.block_on(async {
        let store = open_store(&cfg).await?;
        let code = match cmd {
            RegisterCommand::Export { format, from, to } => {
                let entries = crate::register::export(&store, tz, from, to)
                    .await
                    .or_exit(1)?;
                if format == "csv" {
                    print!("{}", crate::register::to_csv(&entries));
                } else {
                    println!(
                        "{}",
                        serde_json::to_string_pretty(&entries).unwrap_or_default()
                    );
                }
                ExitCode::SUCCESS
            }
            RegisterCommand::Verify { anchor } => {
                let anchor = match anchor {
                    None => None,
                    Some(path) => {
                        let bytes = std::fs::read(&path).or_exit_in(2, path.display())?;
                        let a =
                            crate::register::read_anchor(&bytes).or_exit_in(2, path.display())?;
                        Some(a)
                    }
                };
                let report = crate::register::verify(&store, anchor.as_ref())
                    .await
                    .or_exit(1)?;
                let problems = report.problems();
                match problems.split_first() {
                    Some((first, rest)) => {
                        println!("register BROKEN: {first}");
                        // The rest for the investigation, bounded: one forged
                        // counter must not print a million lines.
                        for p in rest.iter().take(50) {
                            println!("  also: {p}");
                        }
                        if rest.len() > 50 {
                            println!("  and {} more", rest.len() - 50);
                        }
                        ExitCode::from(1)
                    }
                    None => {
                        println!("{}", report.summary());
                        ExitCode::SUCCESS
                    }
                }
            }
        };
        store.close().await;
        Ok(code)
    })
}

fn quarantine(flag: Option<&Path>, json: bool) -> Result<ExitCode, ExitCode> {
    let cfg = load(flag)?;
    let tz = cfg.tz();
    let rt = runtime()?;
    rt.block_on(async {
        let store = open_store(&cfg).await?;
        let rows = store.quarantined().await.or_exit(1)?;
        store.close().await;
        if json {
            println!(
                "{}",
                serde_json::to_string_pretty(&rows).unwrap_or_default()
            );
        } else {
            for r in &rows {
                println!(
                    "{}  {}  {}",
                    r.received_at
                        .map(|t| local(t, tz))
                        .unwrap_or_else(|| "-".into()),
                    r.message_id.as_deref().unwrap_or("(no Message-ID)"),
                    r.error.as_deref().unwrap_or("")
                );
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// What case joining (`core::series`) would look the message up by; which
/// case that finds needs the database (`rules test`).
fn joining_explained(n: &notice::Notice) -> String {
    let id = crate::core::series::identity(n);
    let key = crate::core::series::supplier_key(n, &[]);
    let or_none = |v: Option<&str>| v.unwrap_or("(none)").to_string();
    format!(
        "\nJoining (without thread headers or case reference; `rules test` says which case):\n  \
         notice Message-ID: {}\n  text hash: {}\n  supplier domain: {}\n  supplier organisation key: {}\n  \
         {}\n",
        or_none(id.notice_message_id.as_deref()),
        or_none(id.text_hash.as_deref()),
        or_none(key.domain.as_deref()),
        or_none(key.org.as_deref()),
        match n.kind {
            notice::Kind::BreachNotice => "a breach notice joins only a case holding the same notice",
            notice::Kind::FollowUp => "a follow-up may join the supplier's open case of the same incident",
            _ => "not an incident message: never joined by resemblance",
        }
    )
}

fn inspect(flag: Option<&Path>, file: &Path, explain: bool, tz: Option<&str>) -> ExitCode {
    // Without a config, built-in defaults (the contract); with one, its zone,
    // case prefix and supplier list.
    let mut opts = match flag {
        Some(_) => match load(flag) {
            Ok(c) => c.read_options(),
            Err(code) => return code,
        },
        None => ReadOptions {
            pdf: crate::pdf::reader_of_this_binary(crate::pdf::Limits::from_config(
                &config::Reader::default(),
            )),
            ..ReadOptions::default()
        },
    };
    if let Some(tz) = tz {
        match tz.parse() {
            Ok(z) => opts.tz = z,
            Err(_) => return fail(2, format!("--tz: unknown time zone {tz:?}")),
        }
    }
    let raw = match std::fs::read(file) {
        Ok(r) => r,
        Err(e) => return fail(2, format!("{}: {e}", file.display())),
    };
    let n = match notice::read(&raw, &opts) {
        Ok(n) => n,
        Err(e) => return fail(2, format!("{}: {e}", file.display())),
    };
    if explain {
        print!("{}", present::explain(&n, opts.tz));
        print!("{}", joining_explained(&n));
    } else {
        let v = present::to_contract_json(&n, opts.tz);
        println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
    }
    ExitCode::SUCCESS
}

#[cfg(test)]
mod list_tests {
    use super::*;

    fn summary(r: &str, org: Option<&str>) -> CaseSummary {
        let t = chrono::DateTime::parse_from_rfc3339("2026-03-27T09:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        CaseSummary {
            id: 1,
            case_ref: r.into(),
            state: "received".into(),
            aware_at: t,
            deadline_at: t + chrono::Duration::hours(72),
            opened_at: t,
            reporter_organisation: org.map(str::to_string),
            reporter_address: None,
            committee: "Kommunstyrelsen".into(),
            official: "olivia@example.test".into(),
            rule: None,
            systems: vec![],
            messages: 2,
            reminders_sent: 1,
            next_reminder_at: None,
            mailbox: None,
            nis2_reminder_at: None,
            nis2_reminders_sent: 0,
        }
    }

    #[test]
    fn cases_list_has_a_header_row_and_the_promised_columns() {
        let tz = chrono_tz::Europe::Stockholm;
        let text = list_text(
            &[
                summary("PUI-2026-0001", Some("Provdata Sverige AB")),
                summary("PUI-2026-0002", None),
            ],
            tz,
        );
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert!(
            lines[0].starts_with("REF            STATE     AWARE"),
            "{text}"
        );
        for h in [
            "DEADLINE",
            "ORGANISATION",
            "COMMITTEE",
            "OFFICIAL",
            "MESSAGES",
            "REMINDERS",
        ] {
            assert!(lines[0].contains(h), "{h}: {text}");
        }
        assert!(
            lines[1].contains("2026-03-27 10:00  2026-03-30 11:00  Provdata Sverige AB"),
            "{text}"
        );
        assert!(lines[2].contains("  -  "), "{text}");
        // Columns line up: every row has the state at the header's column.
        let col = lines[0].find("STATE").unwrap();
        assert!(lines
            .iter()
            .skip(1)
            .all(|l| l[col..].starts_with("received")));
        assert!(list_text(&[], tz).starts_with("REF"));
    }

    #[test]
    fn case_refs_are_accepted_in_any_letter_case() {
        assert_eq!(case_ref_arg("PUI", "pui-2026-0001"), "PUI-2026-0001");
        assert_eq!(case_ref_arg("PUI", " Pui-2026-0001 "), "PUI-2026-0001");
        assert_eq!(case_ref_arg("PUI", "PUI-2026-0001"), "PUI-2026-0001");
        assert_eq!(case_ref_arg("PUI", "x"), "x");
        assert_eq!(case_ref_arg("PUI", "å"), "å");
    }
}
