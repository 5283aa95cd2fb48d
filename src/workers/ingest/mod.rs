//! Ingest: one raw message → the notice reader → intake decision → ONE store
//! transaction (message, case, events, outbox, checkpoint). Unreadable mail is
//! recorded and quarantined, never dropped and never fatal.
//!
//! One small step per file: [`Pipeline::handle`] here reads the message (or
//! quarantines it, `quarantine.rs`), `lookup.rs` finds what it belongs to and
//! asks the core for a plan, and one file per plan arm builds the one
//! transaction: `record.rs`, `attach.rs`, `open.rs`. `placement.rs` answers
//! `rules test` with the same lookups, recording nothing.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use tokio::sync::Notify;

use crate::config::Config;
use crate::core::bounded::{cut_text, MAX_STORED_TEXT};
use crate::core::event::EventKind;
use crate::core::intake::{self, Plan};
use crate::core::notice::{self, Notice};
use crate::core::routing;
use crate::core::series;
use crate::mail::compose::Sender;
use crate::store::{Checkpoint, NewEvent, NewMessage, Store};

mod attach;
mod lookup;
mod open;
mod placement;
mod quarantine;
mod record;
mod split;

pub use placement::Placement;

/// Where a message came from, for the register and the checkpoint.
#[derive(Debug, Clone)]
pub struct Origin {
    pub mailbox: String,
    pub uidvalidity: u32,
    pub uid: u32,
}

/// What became of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handled {
    Opened(String),
    Attached(String),
    Recorded(&'static str),
    Duplicate,
    Quarantined(String),
}

impl Handled {
    /// The IMAP folder the message belongs in afterwards.
    pub fn is_quarantined(&self) -> bool {
        matches!(self, Handled::Quarantined(_))
    }
}

#[derive(Clone)]
pub struct Pipeline {
    pub cfg: Arc<Config>,
    pub store: Store,
    pub sender: Sender,
    /// Woken after a commit that queued mail.
    pub outbox_wake: Arc<Notify>,
    /// Woken after a commit that scheduled a reminder.
    pub clock_wake: Arc<Notify>,
    /// The document templates, loaded once (`Config::load` already validated them).
    pub templates: Arc<crate::render::Templates>,
}

pub fn content_hash(raw: &[u8]) -> String {
    hex::encode(Sha256::digest(raw))
}

/// The checkpoint a message's transaction advances to.
fn checkpoint_of(origin: Option<&Origin>) -> Option<(String, Checkpoint)> {
    origin.map(|o| {
        (
            o.mailbox.clone(),
            Checkpoint {
                uidvalidity: o.uidvalidity,
                last_uid: o.uid,
            },
        )
    })
}

/// The register row of a message before anything is known of it: what a
/// quarantined message keeps.
fn unreadable(
    raw: &[u8],
    delivered_at: Option<DateTime<Utc>>,
    origin: Option<&Origin>,
) -> NewMessage {
    NewMessage {
        message_id: None,
        content_hash: content_hash(raw),
        kind: "unreadable".into(),
        disposition: "quarantined".into(),
        subject: None,
        from_address: None,
        received_at: delivered_at,
        mailbox: origin.map(|o| o.mailbox.clone()),
        uidvalidity: origin.map(|o| o.uidvalidity),
        uid: origin.map(|o| o.uid),
        error: None,
        raw: raw.to_vec(),
        notice_message_id: None,
        text_hash: None,
    }
}

fn strip_brackets(s: &str) -> String {
    s.trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .to_string()
}

impl Pipeline {
    pub fn new(cfg: Arc<Config>, store: Store) -> Self {
        let sender = Sender {
            from_address: cfg.smtp.from.clone(),
            from_name: cfg.smtp.from_name.clone(),
            internal_domains: cfg.general.internal_domains.clone(),
            tz: cfg.tz(),
        };
        // check-config and Config::load refuse a broken set, so this fails only
        // if the files changed since: then each case records the failure and
        // its opening notice goes out without documents.
        let templates = cfg.documents.templates().unwrap_or_else(|e| {
            tracing::error!("document templates unavailable: {e}");
            crate::render::Templates::unavailable()
        });
        Pipeline {
            templates: Arc::new(templates),
            cfg,
            store,
            sender,
            outbox_wake: Arc::new(Notify::new()),
            clock_wake: Arc::new(Notify::new()),
        }
    }

    /// Handles one message. An error means the store could not be written: the
    /// caller must not advance past this message. A case changed by someone else
    /// meanwhile (another replica) is re-read and the message handled again.
    pub async fn handle(
        &self,
        raw: &[u8],
        delivered_at: Option<DateTime<Utc>>,
        origin: Option<Origin>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Handled> {
        use futures::FutureExt;
        let checkpoint = checkpoint_of(origin.as_ref());
        let base = unreadable(raw, delivered_at, origin.as_ref());
        // The one read of the message; a retry after a conflict reuses it. The
        // reader is total by design; catching a panic anyway keeps one odd
        // message from ever taking the daemon down.
        let mut opts = self.cfg.read_options();
        opts.delivered_at = delivered_at;
        let n = match std::panic::catch_unwind(|| notice::read(raw, &opts)) {
            Ok(Ok(n)) => n,
            Ok(Err(e)) => return self.quarantine(base, e.to_string(), checkpoint, now).await,
            Err(_) => {
                let why = "the reader failed on this message".to_string();
                return self.quarantine(base, why, checkpoint, now).await;
            }
        };
        let mut attempt = 0;
        loop {
            // A bug must not turn one message into a dead watcher or an endless
            // retry: the message is quarantined with the reason and work goes on.
            let once = std::panic::AssertUnwindSafe(self.handle_once(
                &n,
                base.clone(),
                checkpoint.clone(),
                now,
                None,
            ))
            .catch_unwind()
            .await;
            let once = match once {
                Ok(r) => r,
                Err(_) => {
                    tracing::error!(content_hash = %content_hash(raw), "internal error while handling a message; quarantining it");
                    return self
                        .quarantine_after_panic(raw, delivered_at, origin, now)
                        .await;
                }
            };
            match once {
                Err(e)
                    if attempt < 3
                        && matches!(
                            e.downcast_ref::<crate::store::StoreError>(),
                            Some(crate::store::StoreError::Conflict(_))
                        ) =>
                {
                    attempt += 1;
                }
                r => return r,
            }
        }
    }

    /// A member of staff's report from the web form (`core::notice::report`):
    /// the same lookups, plan and one transaction as a message, its record as
    /// the message row; `via` (who, from where) goes on the event that opens
    /// or joins the case. Never quarantined: the core built the notice.
    pub async fn handle_report(
        &self,
        report: &notice::report::Report,
        via: serde_json::Value,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Handled> {
        let base = unreadable(&report.raw, Some(now), None);
        let mut attempt = 0;
        loop {
            match self
                .handle_once(&report.notice, base.clone(), None, now, Some(&via))
                .await
            {
                Err(e)
                    if attempt < 3
                        && matches!(
                            e.downcast_ref::<crate::store::StoreError>(),
                            Some(crate::store::StoreError::Conflict(_))
                        ) =>
                {
                    attempt += 1;
                }
                r => return r,
            }
        }
    }

    /// One attempt at a read message: look up, plan, one transaction.
    async fn handle_once(
        &self,
        n: &Notice,
        base: NewMessage,
        checkpoint: Option<(String, Checkpoint)>,
        now: DateTime<Utc>,
        via: Option<&serde_json::Value>,
    ) -> anyhow::Result<Handled> {
        let message_id = n.message_id.as_deref().map(strip_brackets);
        if self
            .store
            .message_known(message_id.as_deref(), &base.content_hash)
            .await?
        {
            if let Some((mb, cp)) = &checkpoint {
                self.store.set_checkpoint(mb, *cp).await?;
            }
            tracing::info!(
                message_id = message_id.as_deref().unwrap_or("-"),
                "duplicate message, already recorded"
            );
            return Ok(Handled::Duplicate);
        }
        let Planned {
            identity,
            decision,
            plan,
        } = self.plan(n, now).await?;
        let mut inc = Incoming::new(n, base, &identity, decision, message_id, checkpoint, now);
        inc.via = via.cloned();
        match plan {
            Plan::Record { reason } => self.record(inc, reason).await,
            Plan::Attach {
                case_id,
                link,
                notify_official,
                series,
                earlier_aware_at,
            } => {
                let how = attach::How {
                    case_id,
                    link,
                    notify_official,
                    series,
                    earlier_aware_at,
                };
                self.attach(inc, how).await
            }
            Plan::Open {
                aware_at,
                urgent,
                next_reminder,
                ack,
                may_belong_to,
            } => {
                let how = open::How {
                    aware_at,
                    urgent,
                    next_reminder,
                    ack,
                    may_belong_to,
                };
                self.open(inc, how).await
            }
        }
    }
}

/// A read message on its way to its one transaction: what every plan arm needs.
struct Incoming<'a> {
    n: &'a Notice,
    /// The register row, its disposition still to be set by the plan arm.
    message: NewMessage,
    message_id: Option<String>,
    /// The subject as stored (bounded like any outside text).
    subject: String,
    hash: String,
    decision: routing::RouteDecision,
    checkpoint: Option<(String, Checkpoint)>,
    now: DateTime<Utc>,
    /// Not by mail: who submitted it and where (`{"via": "web", "user": …}`),
    /// recorded on the event that opens or joins the case.
    via: Option<serde_json::Value>,
}

impl<'a> Incoming<'a> {
    fn new(
        n: &'a Notice,
        base: NewMessage,
        identity: &series::Identity,
        decision: routing::RouteDecision,
        message_id: Option<String>,
        checkpoint: Option<(String, Checkpoint)>,
        now: DateTime<Utc>,
    ) -> Self {
        let kind = serde_json::to_value(n.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_else(|| "other".into());
        // The subject as stored (register row, timeline) is bounded like any
        // outside text; the raw message keeps the whole of it.
        let subject = n
            .threading
            .subject
            .as_deref()
            .map(|s| cut_text(s, MAX_STORED_TEXT).into_owned());
        let hash = base.content_hash.clone();
        let message = NewMessage {
            message_id: message_id.clone(),
            kind,
            disposition: String::new(),
            subject: subject.clone(),
            from_address: n.sender.address.clone(),
            received_at: n.received_at,
            notice_message_id: identity.notice_message_id.clone(),
            text_hash: identity.text_hash.clone(),
            ..base
        };
        Incoming {
            n,
            message,
            message_id,
            subject: subject.unwrap_or_default(),
            hash,
            decision,
            checkpoint,
            now,
            via: None,
        }
    }

    /// The register row with the disposition the plan arm gave it.
    fn row(&mut self, disposition: &str) -> NewMessage {
        NewMessage {
            disposition: disposition.into(),
            ..std::mem::replace(&mut self.message, empty_row())
        }
    }
}

fn empty_row() -> NewMessage {
    NewMessage {
        message_id: None,
        content_hash: String::new(),
        kind: String::new(),
        disposition: String::new(),
        subject: None,
        from_address: None,
        received_at: None,
        mailbox: None,
        uidvalidity: None,
        uid: None,
        error: None,
        raw: Vec::new(),
        notice_message_id: None,
        text_hash: None,
    }
}

/// The record of a sender that is never mailed because its address is not a
/// plain address (quotes, `%`, `!`, route syntax, too long…): the
/// acknowledgement goes to the DPO instead.
fn refused_sender(n: &Notice) -> Option<NewEvent> {
    let a = n.sender.address.as_deref()?;
    let why = crate::core::types::PlainAddress::parse(a).err()?;
    let shown: String = a.chars().take(320).collect();
    Some(NewEvent {
        kind: EventKind::RecipientRefused,
        actor: "breachwatch".into(),
        data: serde_json::json!({ "address": shown, "reason": why.to_string() }),
    })
}

/// What [`Pipeline::plan`] decided for a read message.
struct Planned {
    identity: series::Identity,
    decision: routing::RouteDecision,
    plan: Plan,
}

/// Why a message joined its case, in the officials' language, for the timeline.
fn join_reason(link: intake::Link, series: Option<&series::Choice>) -> String {
    match (link, series) {
        (intake::Link::Thread, _) => "svar i tråden".into(),
        (intake::Link::CaseRef, _) => "ärendenumret nämns".into(),
        (intake::Link::SameMessage, _) => "samma anmälan (samma Message-ID)".into(),
        (intake::Link::SameText, _) => "samma anmälan (samma text)".into(),
        (intake::Link::Series, Some(c)) => c.why.clone(),
        (intake::Link::Series, None) => "samma leverantör och incident".into(),
    }
}

fn reporter_label(n: &Notice) -> String {
    crate::core::documents::words::sender_label(
        n.reporter.organisation.as_deref(),
        n.reporter.name.as_deref(),
        n.reporter.address.as_deref(),
    )
}
