//! Logging through tracing, as text or JSON lines on stderr. Log case refs,
//! Message-IDs and address hashes (`core::types::addr_hash`) only: never
//! bodies, addresses in clear, passwords or personal identity numbers.
//!
//! `BREACHWATCH_LOG` picks the levels, but never below [`LIBRARY_CAP`] for the
//! protocol and database libraries: at debug/trace they write what crosses the
//! wire (IMAP LOGIN with the password, fetched messages, SMTP envelopes and
//! DATA), which no log may hold, whoever sets the variable.

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::EnvFilter;

/// The most verbose level each wire-level library may log at.
pub const LIBRARY_CAP: &[(&str, LevelFilter)] = &[
    ("lettre", LevelFilter::INFO),
    ("async_imap", LevelFilter::INFO),
    ("imap_proto", LevelFilter::INFO),
    ("tokio_rustls", LevelFilter::INFO),
    ("rustls", LevelFilter::INFO),
    // The OAuth2 token requests: their bodies hold client secrets and tokens.
    ("oauth2", LevelFilter::INFO),
    ("reqwest", LevelFilter::INFO),
    ("hyper", LevelFilter::INFO),
    ("hyper_util", LevelFilter::INFO),
    // Statements are logged at debug/info; only slow ones and errors are news.
    ("sqlx", LevelFilter::WARN),
];

/// The cap as a filter: everything else passes (`BREACHWATCH_LOG` decides).
pub fn library_cap() -> Targets {
    Targets::new()
        .with_default(LevelFilter::TRACE)
        .with_targets(LIBRARY_CAP.iter().copied())
}

pub fn init(format: &str) {
    let filter = EnvFilter::try_from_env("BREACHWATCH_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    use std::io::IsTerminal;
    // Colours only on a terminal: a log file or journal gets plain text.
    let fmt = tracing_subscriber::fmt::layer()
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    // Both filters must let an event through: the cap cannot be widened.
    let registry = tracing_subscriber::registry()
        .with(library_cap())
        .with(filter);
    let _ = if format == "json" {
        registry.with(fmt.json()).try_init()
    } else {
        registry.with(fmt).try_init()
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing::Level;

    #[test]
    fn wire_libraries_are_capped_and_our_own_code_is_not() {
        let cap = library_cap();
        for target in [
            "lettre::transport::smtp::client::async_connection",
            "async_imap::imap_stream",
            "imap_proto::parser",
            "rustls::client::hs",
            "tokio_rustls",
        ] {
            assert!(!cap.would_enable(target, &Level::DEBUG), "{target}");
            assert!(cap.would_enable(target, &Level::INFO), "{target}");
        }
        assert!(!cap.would_enable("sqlx::query", &Level::INFO));
        assert!(cap.would_enable("sqlx::query", &Level::WARN));
        assert!(cap.would_enable("breachwatch::workers::ingest", &Level::TRACE));
    }
}
