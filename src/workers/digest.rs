//! The DPO digest: on the configured cron schedule (in the configured zone), every
//! DPO gets the open cases of their routes with the time left. Each scheduled
//! instant is sent once (recorded in `digest_runs`), whichever replica gets there
//! first; missed runs while the daemon was down are not replayed. Each digest
//! ends with the register anchor (`register::current_anchor`), so a DPO who keeps
//! the mail holds a copy of the register's root outside the database.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::core::digest::{digest_lines, DigestSchedule, OpenCase};
use crate::core::routing::Route;
use crate::core::text::digest::{self as digest_text, anchor_text_sv};
use crate::core::types::CaseRef;
use crate::mail::compose::{self, Draft, Sender};
use crate::store::Store;

/// Composes and queues the digest of `run_at`; false when it was already sent.
pub async fn send_digest(
    store: &Store,
    sender: &Sender,
    cfg: &Config,
    run_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> anyhow::Result<bool> {
    let tz = cfg.tz();
    let mut per_dpo: BTreeMap<String, Vec<OpenCase>> = BTreeMap::new();
    per_dpo
        .entry(cfg.routing.default.dpo.address.to_lowercase())
        .or_default();
    for record in store.open_cases().await? {
        let route: Route = record
            .route
            .clone()
            .unwrap_or_else(|| cfg.routing.default.clone());
        let case = record.case();
        per_dpo
            .entry(route.dpo.address.to_lowercase())
            .or_default()
            .push(OpenCase::from_case(&case, &route.committee.name, tz));
    }
    // Taken once for all DPOs of this run: any of their saved mails anchors
    // the same register state.
    let anchor = crate::register::current_anchor(store, now).await?;
    let anchor_text = anchor_text_sv(&anchor, tz);
    // Mail the server refused for good in the last week: each was told to
    // its case's DPO at once; the digest says it again.
    let week_ago = run_at - chrono::Duration::days(7);
    let failed = store.failed_mails(week_ago).await?;
    // Mail recorded without a case since the last digest (at most a week):
    // a notice the reader did not know for one is seen by the DPO.
    let since = store
        .previous_digest_run(run_at)
        .await?
        .map_or(week_ago, |prev| prev.max(week_ago));
    let mut unplaced_rows = store
        .unplaced_mail(since, crate::store::UNPLACED_IN_DIGEST + 1)
        .await?;
    let more = unplaced_rows.len() as i64 > crate::store::UNPLACED_IN_DIGEST;
    unplaced_rows.truncate(crate::store::UNPLACED_IN_DIGEST as usize);
    let unplaced: Vec<digest_text::UnplacedMail<'_>> = unplaced_rows
        .iter()
        .map(|u| digest_text::UnplacedMail {
            at: u.recorded_at,
            from: u.from_address.as_deref(),
            subject: u.subject.as_deref(),
        })
        .collect();
    let mut mails = Vec::new();
    let day = run_at.with_timezone(&tz).format("%Y-%m-%d").to_string();
    for (dpo, cases) in per_dpo {
        let lines = digest_lines(&cases, now);
        let refused: Vec<digest_text::RefusedMail<'_>> = failed
            .iter()
            .map(|f| digest_text::RefusedMail {
                case_ref: f.case_ref.as_deref(),
                at: f.created_at,
                purpose: &f.purpose,
                error: f.error.as_deref(),
            })
            .collect();
        // Mail without a case has no route: the default route's DPO reads it.
        let unplaced = match dpo == cfg.routing.default.dpo.address.to_lowercase() {
            true => (&unplaced[..], more),
            false => (&[][..], false),
        };
        let text = digest_text::text(tz, &day, &lines, &refused, unplaced, &anchor_text);
        let d = Draft {
            dedupe_key: format!("digest/{}/{dpo}", run_at.to_rfc3339()),
            purpose: "digest".into(),
            to: vec![dpo.clone()],
            cc: vec![],
            subject: digest_text::subject(&day, {
                // A case with NIS2 deadlines has several lines: count cases.
                let mut refs: Vec<&str> = lines.iter().map(|l| l.case_ref.as_str()).collect();
                refs.sort_unstable();
                refs.dedup();
                refs.len()
            }),
            text,
            in_reply_to: None,
            attachments: vec![],
        };
        // The digest is about no single case: tag it with a pseudo reference.
        let tag = CaseRef::from_stored(format!("{}-DIGEST", cfg.general.case_prefix));
        mails.push(compose::format(sender, &tag, d).map_err(|e| anyhow::anyhow!(e))?);
    }
    Ok(store.commit_digest(run_at, mails, now).await?)
}

pub async fn run(
    store: Store,
    sender: Sender,
    cfg: std::sync::Arc<Config>,
    outbox_wake: std::sync::Arc<tokio::sync::Notify>,
    cancel: CancellationToken,
) {
    if !cfg.digest.enabled {
        return;
    }
    let schedule = match DigestSchedule::parse(&cfg.digest.cron, &cfg.general.timezone) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!("digest schedule: {e}");
            return;
        }
    };
    let mut after = Utc::now();
    loop {
        let Ok(next) = schedule.next_run(after) else {
            return;
        };
        let wait = (next - Utc::now()).to_std().unwrap_or(Duration::ZERO);
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = cancel.cancelled() => return,
        }
        match send_digest(&store, &sender, &cfg, next, Utc::now()).await {
            Ok(true) => {
                tracing::info!(run_at = %next, "digest queued");
                outbox_wake.notify_one();
            }
            Ok(false) => {}
            Err(e) => tracing::error!("digest: {e:#}"),
        }
        after = next;
    }
}
