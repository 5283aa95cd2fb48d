//! Outbox worker: claims one due row, hands it to SMTP, marks it sent or
//! schedules a capped exponential retry. Delivery is at least once; the
//! Message-ID was fixed when the row was written, so a resend is the same mail.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::config::Smtp;
use crate::core::types::redact_addresses;
use crate::mail::smtp::{SendOutcome, SmtpSender};
use crate::store::Store;

/// How long a claimed row stays ours before another worker (or this one after a
/// crash) may take it: longer than any send can take (the SMTP timeout covers
/// connect and each command), short enough that a crash delays mail by a minute
/// or so, not five.
pub fn lease(cfg: &Smtp) -> chrono::Duration {
    chrono::Duration::seconds(
        i64::try_from(cfg.timeout_secs)
            .unwrap_or(30)
            .saturating_mul(2)
            + 10,
    )
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Idle,
    Sent(String),
    Retry(String),
    Failed(String),
}

/// Delay before attempt `attempts + 1`: base * 2^(attempts-1), at most `max`.
pub fn retry_delay(cfg: &Smtp, attempts: u32) -> chrono::Duration {
    let exp = attempts.saturating_sub(1).min(20);
    let secs = cfg
        .retry_base_secs
        .saturating_mul(1u64 << exp)
        .min(cfg.retry_max_secs);
    chrono::Duration::seconds(secs as i64)
}

/// Whether a failed attempt is worth a log line: the first few of a mail and
/// then at attempts 8, 16, 32…, so an outage of any length logs a bounded
/// number of lines per mail (the waiting count is reported by [`run`]).
fn worth_logging(attempts: u32) -> bool {
    attempts <= 2 || attempts.is_power_of_two()
}

/// Sends at most one due mail. A transient failure (connection refused,
/// timeout, 4xx) is never final: the mail is retried with capped backoff until
/// it goes out. Only a permanent refusal (5xx) ends it.
pub async fn send_one(
    store: &Store,
    smtp: &SmtpSender,
    cfg: &Smtp,
    now: DateTime<Utc>,
) -> anyhow::Result<Step> {
    let Some(row) = store.claim_outbox(now, lease(cfg)).await? else {
        return Ok(Step::Idle);
    };
    // The claim counted this attempt already.
    let attempts = row.attempts;
    match smtp
        .send(&row.envelope_from, &row.recipients, &row.raw)
        .await
    {
        SendOutcome::Sent => {
            store.outbox_sent(row.id, Utc::now()).await?;
            tracing::info!(message_id = %row.message_id, attempts, "mail sent");
            Ok(Step::Sent(row.message_id))
        }
        SendOutcome::Retry(err) => {
            let next = Utc::now() + retry_delay(cfg, attempts);
            store.outbox_retry(row.id, attempts, next, &err).await?;
            if attempts >= cfg.max_attempts && worth_logging(attempts) {
                tracing::error!(message_id = %row.message_id, attempts, %next, "mail still not sent, retrying until the server takes it: {}", redact_addresses(&err));
            } else if worth_logging(attempts) {
                tracing::warn!(message_id = %row.message_id, attempts, %next, "send failed, will retry: {}", redact_addresses(&err));
            }
            Ok(Step::Retry(err))
        }
        SendOutcome::Permanent(err) => {
            store
                .outbox_failed(row.id, attempts, &err, Utc::now())
                .await?;
            tracing::error!(message_id = %row.message_id, attempts, "mail refused for good: {}", redact_addresses(&err));
            Ok(Step::Failed(err))
        }
    }
}

/// Sends until nothing is due, then sleeps until the next due row, a wake-up or
/// at most 30 s.
pub async fn run(
    store: Store,
    smtp: SmtpSender,
    cfg: Smtp,
    wake: Arc<Notify>,
    cancel: CancellationToken,
) {
    match store.release_sending(Utc::now()).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(
            mails = n,
            "mails interrupted mid-send by a stop are due again"
        ),
        Err(e) => tracing::error!("outbox: {e:#}"),
    }
    let mut last_report = std::time::Instant::now();
    loop {
        if cancel.is_cancelled() {
            return;
        }
        let step = send_one(&store, &smtp, &cfg, Utc::now()).await;
        // While mail waits on a failing server, say so once a minute.
        if matches!(step, Ok(Step::Retry(_))) && last_report.elapsed() >= Duration::from_secs(60) {
            last_report = std::time::Instant::now();
            if let Ok((n, oldest)) = store.outbox_waiting().await {
                tracing::warn!(waiting = n, oldest = ?oldest, "outbox: mail is waiting for the SMTP server");
            }
        }
        let sleep_for = match step {
            Ok(Step::Idle) => {
                let next = store.next_outbox_at().await.ok().flatten();
                next.map(|t| (t - Utc::now()).to_std().unwrap_or(Duration::ZERO))
                    .unwrap_or(Duration::from_secs(30))
                    .min(Duration::from_secs(30))
            }
            Ok(_) => continue,
            Err(e) => {
                tracing::error!("outbox: {e:#}");
                Duration::from_secs(5)
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(sleep_for) => {}
            _ = wake.notified() => {}
            _ = cancel.cancelled() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_exponentially_up_to_the_cap() {
        let text =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config/example.toml"))
                .unwrap();
        let cfg = crate::config::Config::from_toml(&text, |_| None)
            .unwrap()
            .smtp;
        let secs: Vec<i64> = (1..=9)
            .map(|a| retry_delay(&cfg, a).num_seconds())
            .collect();
        assert_eq!(secs, vec![5, 10, 20, 40, 80, 160, 320, 600, 600]);
    }
}
