//! Ingest: one raw message → the notice reader → intake decision → ONE store
//! transaction (message, case, events, outbox, checkpoint). Unreadable mail is
//! recorded and quarantined, never dropped and never fatal.
//!
//! One small step per file: [`Pipeline::handle`] here reads the message (or
//! quarantines it, `quarantine.rs`), `lookup.rs` finds what it belongs to and
//! asks the core for a plan, and one file per plan arm builds the one
//! transaction: `record.rs`, `attach.rs`, `open.rs`. `placement.rs` answers
//! `rules test` with the same lookups, recording nothing.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use tokio::sync::Notify;

use crate::config::Config;
use crate::core::bounded::{cut_text, MAX_STORED_TEXT};
use crate::core::event::EventKind;
use crate::core::intake::Plan;
use crate::core::notice::{self, Notice};
use crate::core::routing;
use crate::core::series;
use crate::core::types::message_id_hash;
use crate::mail::compose::Sender;
use crate::store::{CaseRecord, Checkpoint, NewEvent, NewMessage, Store};

mod attach;
mod group;
mod lookup;
mod open;
mod placement;
mod quarantine;
mod readers;
mod record;
mod split;

pub use group::{read_all, RawMessage, WriteTimes, GROUP_MAX_BYTES, GROUP_MAX_MESSAGES};
pub use placement::{route_of, Placement};

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
    /// Holds the senders back while a backlog drains, with the news lane
    /// for mail that arrives meanwhile (`workers::burst`; shared with the
    /// outbox and the clock).
    pub burst: crate::workers::burst::Burst,
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
    unreadable_row(
        content_hash(raw),
        std::sync::Arc::new(raw.to_vec()),
        delivered_at,
        origin,
    )
}

/// [`unreadable`] for bytes already hashed and shared.
fn unreadable_row(
    content_hash: String,
    raw: std::sync::Arc<Vec<u8>>,
    delivered_at: Option<DateTime<Utc>>,
    origin: Option<&Origin>,
) -> NewMessage {
    NewMessage {
        message_id: None,
        content_hash,
        kind: "unreadable".into(),
        disposition: "quarantined".into(),
        subject: None,
        from_address: None,
        received_at: delivered_at,
        mailbox: origin.map(|o| o.mailbox.clone()),
        uidvalidity: origin.map(|o| o.uidvalidity),
        uid: origin.map(|o| o.uid),
        error: None,
        raw,
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
            burst: crate::workers::burst::Burst::default(),
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
        let m = read_one(&self.cfg.read_options(), raw.to_vec(), delivered_at, origin);
        self.handle_read(&m, now).await
    }

    /// [`Pipeline::handle`] for a message already read (`group::read_all`):
    /// its own transaction.
    pub(super) async fn handle_read(
        &self,
        m: &Read,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Handled> {
        use futures::FutureExt;
        let checkpoint = checkpoint_of(m.origin.as_ref());
        let base = m.base();
        let n = match &m.notice {
            Ok(n) => n,
            Err(why) => return self.quarantine(base, why.clone(), checkpoint, now).await,
        };
        let mut attempt = 0;
        loop {
            // A bug must not turn one message into a dead watcher or an endless
            // retry: the message is quarantined with the reason and work goes on.
            let once = std::panic::AssertUnwindSafe(self.handle_once(
                n,
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
                    tracing::error!(content_hash = %m.hash, "internal error while handling a message; quarantining it");
                    return self
                        .quarantine_after_panic(&m.raw, m.delivered_at, m.origin.clone(), now)
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
        let found = self
            .lookups(&[(n, base.content_hash.as_str())], now)
            .await?;
        match self
            .prepare(n, base, checkpoint.clone(), &found, now, via)
            .await?
        {
            Some(p) => self.commit_one(p, now).await,
            None => {
                if let Some((mb, cp)) = &checkpoint {
                    self.store.set_checkpoint(mb, *cp).await?;
                }
                Ok(Handled::Duplicate)
            }
        }
    }

    /// The write of a read message from a group's look-ups: None when the
    /// message is already recorded (a duplicate: nothing to write). The
    /// cases it attaches to are read when needed.
    async fn prepare(
        &self,
        n: &Notice,
        base: NewMessage,
        checkpoint: Option<(String, Checkpoint)>,
        found: &lookup::Found,
        now: DateTime<Utc>,
        via: Option<&serde_json::Value>,
    ) -> anyhow::Result<Option<Prepared>> {
        let Some((n, planned)) = self.plan_new(n, &base.content_hash, found, now).await? else {
            return Ok(None);
        };
        let records = Records::default();
        self.build(&n, base, checkpoint, planned, &records, now, via)
            .await
            .map(Some)
    }

    /// The plan for a read message from a group's look-ups: None when the
    /// message is already recorded (a duplicate: nothing to write).
    async fn plan_new<'n>(
        &self,
        n: &'n Notice,
        content_hash: &str,
        found: &lookup::Found,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Option<(Cow<'n, Notice>, Planned)>> {
        let n = match found.known(n, content_hash) {
            lookup::Seen::New => Cow::Borrowed(n),
            lookup::Seen::Copy => {
                tracing::info!(
                    message_id_hash = %message_id_hash(n.message_id.as_deref()),
                    "duplicate message, already recorded"
                );
                return Ok(None);
            }
            lookup::Seen::ReusedId => {
                tracing::warn!(
                    content_hash = %content_hash,
                    "another message with a recorded Message-ID: recorded without it"
                );
                Cow::Owned(without_message_id(n))
            }
        };
        let planned = self.plan_found(&n, found, now).await?;
        Ok(Some((n, planned)))
    }

    /// The write of a planned message; the cases it attaches to come from
    /// `records` (a group's, read in one query) or else from the store.
    #[allow(clippy::too_many_arguments)]
    async fn build(
        &self,
        n: &Notice,
        base: NewMessage,
        checkpoint: Option<(String, Checkpoint)>,
        planned: Planned,
        records: &Records,
        now: DateTime<Utc>,
        via: Option<&serde_json::Value>,
    ) -> anyhow::Result<Prepared> {
        let message_id = n.message_id.as_deref().map(strip_brackets);
        let Planned {
            identity,
            routed,
            plan,
        } = planned;
        let mut inc = Incoming::new(n, base, &identity, routed, message_id, checkpoint, now);
        inc.via = via.cloned();
        Ok(match plan {
            Plan::Record { reason } => self.record(inc, reason),
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
                self.attach(inc, how, records).await?
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
                self.open(inc, how)?
            }
        })
    }

    /// The case `id` as stored: from `records` when it holds it, else read.
    async fn case_record(&self, records: &Records, id: i64) -> anyhow::Result<CaseRecord> {
        match records.rows.get(&id) {
            Some(r) => Ok(r.clone()),
            None => {
                records
                    .misses
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                Ok(self.store.case_by_id(id).await?)
            }
        }
    }

    /// One message's write in its own transaction.
    pub(super) async fn commit_one(
        &self,
        p: Prepared,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Handled> {
        let hash = p.write.message.content_hash.clone();
        let res = self
            .store
            .commit_ingest(p.write, &self.cfg.general.case_prefix, now, p.compose)
            .await?;
        Ok(self.finish(&res, p.outcome, &hash))
    }

    /// What a committed write became: the log line and the workers' wake-ups.
    pub(super) fn finish(
        &self,
        res: &crate::store::IngestResult,
        outcome: Outcome,
        content_hash: &str,
    ) -> Handled {
        // A quarantined message goes to the quarantine folder, recorded before or not.
        if let Outcome::Quarantined(error) = outcome {
            tracing::warn!(content_hash = %content_hash, "message quarantined: {error}");
            return Handled::Quarantined(error);
        }
        if res.duplicate {
            return Handled::Duplicate;
        }
        let r = res
            .case_ref
            .as_ref()
            .map(|r| r.to_string())
            .unwrap_or_default();
        match outcome {
            Outcome::Opened { message_id, urgent } => {
                self.outbox_wake.notify_one();
                self.clock_wake.notify_one();
                tracing::info!(case = %r, message_id_hash = %message_id_hash(message_id.as_deref()), urgent, "case opened");
                Handled::Opened(r)
            }
            Outcome::Attached { message_id, link } => {
                self.outbox_wake.notify_one();
                tracing::info!(case = %r, message_id_hash = %message_id_hash(message_id.as_deref()), link, "message attached to case");
                Handled::Attached(r)
            }
            Outcome::Recorded { message_id, reason } => {
                tracing::info!(
                    message_id_hash = %message_id_hash(message_id.as_deref()),
                    reason,
                    "message recorded, no case"
                );
                Handled::Recorded(reason)
            }
            Outcome::Quarantined(error) => Handled::Quarantined(error),
        }
    }
}

/// A message's write, ready for its transaction (alone or in a group).
pub(super) struct Prepared {
    pub write: crate::store::IngestWrite,
    pub compose: Box<dyn FnOnce(&crate::store::CaseKey) -> crate::store::Composed + Send>,
    pub outcome: Outcome,
}

/// What a write stands for, to say once it committed.
pub(super) enum Outcome {
    Opened {
        message_id: Option<String>,
        urgent: bool,
    },
    Attached {
        message_id: Option<String>,
        link: &'static str,
    },
    Recorded {
        message_id: Option<String>,
        reason: &'static str,
    },
    Quarantined(String),
}

/// A fetched message after the reader (one read, reused by a retry).
pub struct Read {
    pub raw: std::sync::Arc<Vec<u8>>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub origin: Option<Origin>,
    pub hash: String,
    /// The notice, or why the message is quarantined.
    pub notice: Result<Notice, String>,
}

impl Read {
    fn base(&self) -> NewMessage {
        unreadable_row(
            self.hash.clone(),
            std::sync::Arc::clone(&self.raw),
            self.delivered_at,
            self.origin.as_ref(),
        )
    }
}

/// A message that reuses a recorded message's Message-ID, as it is placed
/// and recorded: without that id (the register keeps one message per id;
/// its raw bytes keep the header), so it is neither that message's copy nor
/// "the same notice" by that id.
fn without_message_id(n: &Notice) -> Notice {
    let mut own = n.clone();
    if !own.forwarded {
        own.notice_message_id = None;
    }
    own.message_id = None;
    own
}

/// Reads one message with the pure reader (catching a panic, belt and braces).
pub(super) fn read_one(
    opts: &notice::ReadOptions,
    raw: Vec<u8>,
    delivered_at: Option<DateTime<Utc>>,
    origin: Option<Origin>,
) -> Read {
    let mut opts = opts.clone();
    opts.delivered_at = delivered_at;
    // The reader is total by design; catching a panic anyway keeps one odd
    // message from ever taking the daemon down.
    let notice = match std::panic::catch_unwind(|| notice::read(&raw, &opts)) {
        Ok(Ok(n)) => Ok(n),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("the reader failed on this message".to_string()),
    };
    Read {
        hash: content_hash(&raw),
        raw: std::sync::Arc::new(raw),
        delivered_at,
        origin,
        notice,
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
    routed: routing::RouteDecision,
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
        routed: routing::RouteDecision,
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
            routed,
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
        raw: Default::default(),
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

/// The cases a group's plans attach to, read in one query before the
/// group's writes are built (`ingest::group`); empty for a message handled
/// on its own, whose cases are read as needed.
#[derive(Default)]
pub(super) struct Records {
    pub rows: HashMap<i64, CaseRecord>,
    /// Cases read one by one because `rows` did not hold them.
    pub misses: std::sync::atomic::AtomicUsize,
}

/// What [`Pipeline::plan_found`] decided for a read message.
pub(super) struct Planned {
    identity: series::Identity,
    routed: routing::RouteDecision,
    plan: Plan,
}

/// Why a message joined its case, in the officials' language, for the timeline.
fn reporter_label(n: &Notice) -> String {
    crate::core::documents::words::sender_label(
        n.reporter.organisation.as_deref(),
        n.reporter.name.as_deref(),
        n.reporter.address.as_deref(),
    )
}
