//! Storage: the queries the workers need, each change in ONE transaction (case +
//! message + events + outbox rows + IMAP checkpoint together).
//!
//! Two backends behind one enum, picked by the URL scheme: SQLite (the embedded
//! default, WAL, `BEGIN IMMEDIATE` writes) and PostgreSQL (several replicas). The
//! SQL text is shared (`$1…` placeholders work in both); `queries.rs` is written
//! once and instantiated for each backend by a macro, so the two cannot drift.
//! Each backend has its own migrations folder.

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqliteSynchronous};

use crate::core::case::Case;
use crate::core::event::EventKind;
use crate::core::notice::Incident;
use crate::core::routing::Route;
use crate::core::types::CaseRef;

mod chain;
mod lists;
#[macro_use]
mod queries;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found: {0}")]
    NotFound(String),
    /// Converted through [`From`], which also notes a broken connection
    /// (see `pool_health`) so the pool replaces it.
    #[error("database: {0}")]
    Db(sqlx::Error),
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// Optimistic concurrency: the row changed since it was read; retry.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The schema does not match this binary (behind without `migrate`, or
    /// migrated by a newer release).
    #[error("{0}")]
    Schema(String),
    /// The backend cannot do this (e.g. `backup` on PostgreSQL).
    #[error("{0}")]
    Unsupported(String),
    #[error("{0}")]
    Other(String),
}

pub type Result<T> = std::result::Result<T, StoreError>;

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        pool_health::note(&e);
        StoreError::Db(e)
    }
}

mod lease;
pub mod pg_nodelay;
pub mod pool_health;
mod sent_journal;
pub use lease::{Replica, LEASE_CHECK};
pub use pool_health::SqliteStore;

/// A message as recorded in the register of received mail.
#[derive(Debug, Clone)]
pub struct NewMessage {
    /// Message-ID without angle brackets.
    pub message_id: Option<String>,
    pub content_hash: String,
    pub kind: String,
    pub disposition: String,
    pub subject: Option<String>,
    pub from_address: Option<String>,
    pub received_at: Option<DateTime<Utc>>,
    pub mailbox: Option<String>,
    pub uidvalidity: Option<u32>,
    pub uid: Option<u32>,
    pub error: Option<String>,
    /// Shared with the read message it came from: a group's rows do not copy
    /// their mail (issue #10, memory).
    pub raw: std::sync::Arc<Vec<u8>>,
    /// What identifies the notice across forwards and copies (`core::series::Identity`).
    pub notice_message_id: Option<String>,
    pub text_hash: Option<String>,
}

/// The IMAP position up to which every message is handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checkpoint {
    pub uidvalidity: u32,
    pub last_uid: u32,
}

#[derive(Debug, Clone)]
pub struct NewCase {
    /// Year of the case reference (the opening date in the configured zone).
    pub year: i32,
    pub aware_at: DateTime<Utc>,
    pub deadline_at: DateTime<Utc>,
    pub opened_at: DateTime<Utc>,
    pub reporter_name: Option<String>,
    pub reporter_address: Option<String>,
    pub reporter_organisation: Option<String>,
    pub reporter_domain: Option<String>,
    /// The supplier for the series lookup (`core::series::SupplierKey`).
    pub supplier_domain: Option<String>,
    pub supplier_org: Option<String>,
    pub systems: Vec<String>,
    pub rule_name: Option<String>,
    pub route: serde_json::Value,
    pub facts: serde_json::Value,
    pub next_reminder: Option<(DateTime<Utc>, u32)>,
    /// The workflow as opened, when it differs from "received, nothing
    /// recorded" (a NIS2 suggestion); the store sets its `case_ref` to the
    /// number it gives. None stores the empty workflow as before.
    pub workflow: Option<serde_json::Value>,
    /// The first NIS2 reminder (`Case::next_nis2_reminder`).
    pub nis2_reminder: Option<DateTime<Utc>>,
    /// The case's nearest open deadline as it opens (`Case::next_deadline`),
    /// what the web lists sort by (migration 0012).
    pub next_deadline_at: Option<DateTime<Utc>>,
}

/// One outgoing mail, fully formatted when written so a resend is the same mail.
#[derive(Debug, Clone)]
pub struct OutboxMail {
    /// Unique per logical mail (e.g. `PUI-2026-0001/reminder/3/official`), so a
    /// replayed step cannot queue it twice.
    pub dedupe_key: String,
    /// Message-ID without angle brackets.
    pub message_id: String,
    pub purpose: String,
    pub envelope_from: String,
    pub recipients: Vec<String>,
    pub subject: String,
    pub raw: Vec<u8>,
}

/// What a compose step inside a transaction produces: the mails to queue and
/// timeline events about them (e.g. the checksums of attached documents).
#[derive(Debug, Clone, Default)]
pub struct Composed {
    pub mails: Vec<OutboxMail>,
    pub events: Vec<NewEvent>,
}

impl Composed {
    pub fn mails(mails: Vec<OutboxMail>) -> Self {
        Composed {
            mails,
            events: Vec::new(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct NewEvent {
    pub kind: EventKind,
    pub actor: String,
    pub data: serde_json::Value,
}

/// What happens to a case's reminder schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reminders {
    Keep,
    /// No more deadline reminders (reported, or decided not to notify).
    Stop,
    /// Next reminder at this instant with this plan position.
    Set(DateTime<Utc>, u32),
}

/// A new workflow state for a case, written only if nobody changed the case
/// since it was read (`expected_version`).
#[derive(Debug, Clone)]
pub struct CaseUpdate {
    pub workflow: serde_json::Value,
    pub state: String,
    pub expected_version: i64,
    pub reminders: Reminders,
    /// The next NIS2 reminder of the case as the command leaves it
    /// (`Case::next_nis2_reminder`), written with every update.
    pub nis2_reminder: Option<DateTime<Utc>>,
    /// The case's nearest open deadline as the command leaves it
    /// (`Case::next_deadline`), written with every update (migration 0012).
    pub next_deadline_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub enum CaseChange {
    /// Only record the message.
    None,
    Open(Box<NewCase>),
    Attach {
        case_id: i64,
        update: Option<CaseUpdate>,
    },
    /// Attach, and move the case's awareness earlier: another copy of its
    /// notice was received before the one that opened it.
    AttachEarlier(Box<EarlierAwareness>),
    /// Attach a `merge` command to its (source) case, store the source's
    /// update (closed) and merge it into the target ([`MergeWrite`]).
    AttachMerge {
        case_id: i64,
        update: CaseUpdate,
        merge: Box<MergeWrite>,
    },
    /// Attach a `split` command to its (source) case, store the source's
    /// update, and open a new case from one of the source's messages
    /// ([`SplitWrite`]). The composer given to `commit_ingest` composes the
    /// new case's mails (it gets the new case's key).
    AttachSplit {
        case_id: i64,
        update: Option<CaseUpdate>,
        split: Box<SplitWrite>,
    },
}

/// `dela`/`split` by reply: a new case (`case`) opened from the source case's
/// message `message_row`, which moves into it; `events` go on the new case's
/// timeline first; `source_mails` (the answers to the command) are queued
/// for the source case. The source's `case_split` events (in
/// `IngestWrite::events`) get the new case's number as `new_case`.
#[derive(Debug, Clone)]
pub struct SplitWrite {
    pub message_row: i64,
    pub case: NewCase,
    pub events: Vec<NewEvent>,
    pub source_mails: Vec<OutboxMail>,
}

/// A message of a case as `split` needs it: the stored row and how many
/// messages its case holds.
#[derive(Debug, Clone)]
pub struct CaseMessage {
    pub row: i64,
    pub message_id: Option<String>,
    pub subject: Option<String>,
    pub received_at: Option<DateTime<Utc>>,
    pub raw: Vec<u8>,
    pub messages_in_case: i64,
}

/// A case merged into another (`sammanfoga`/`merge` by reply): the source's
/// messages move to the target, the target's row takes `target` (its
/// awareness, deadline and next reminder when they moved; version-checked)
/// and `events` go on the target's timeline, all in the source's transaction.
#[derive(Debug, Clone)]
pub struct MergeWrite {
    pub source_id: i64,
    pub target: EarlierAwareness,
    pub events: Vec<NewEvent>,
}

/// The case's clock restarted from an earlier awareness instant, written only
/// if the case did not change since it was read.
#[derive(Debug, Clone)]
pub struct EarlierAwareness {
    pub case_id: i64,
    pub aware_at: DateTime<Utc>,
    pub deadline_at: DateTime<Utc>,
    /// The next deadline reminder from the new awareness; applied only while
    /// the case's reminders still run.
    pub next_reminder: Option<(DateTime<Utc>, u32)>,
    /// The next NIS2 reminder from the new awareness (`Case::next_nis2_reminder`;
    /// None when NIS2 does not run): the NIS2 deadlines move with awareness.
    pub nis2_reminder: Option<DateTime<Utc>>,
    /// The stored workflow with the new `aware_at`.
    pub workflow: serde_json::Value,
    pub expected_version: i64,
    /// The nearest open deadline from the new awareness (`Case::next_deadline`).
    pub next_deadline_at: Option<DateTime<Utc>>,
}

/// A case holding a notice, found by the notice's identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeMatch {
    pub case_id: i64,
    /// True when found by Message-ID, false when by text.
    pub by_message_id: bool,
    pub aware_at: DateTime<Utc>,
    /// The case's reporter (of its opening notice): address, organisation.
    pub reporter: Option<String>,
    pub reporter_organisation: Option<String>,
}

/// A message on a case holding a notice identity ([`Store::cases_by_notices`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeRow {
    pub case_id: i64,
    pub notice_message_id: Option<String>,
    pub text_hash: Option<String>,
    pub aware_at: DateTime<Utc>,
    /// The case's reporter (of its opening notice): address, organisation.
    pub reporter: Option<String>,
    pub reporter_organisation: Option<String>,
}

/// The most rows a group look-up returns; a group whose look-up reaches it is
/// looked up message by message instead (exact, bounded per message).
pub const GROUP_ROWS_MAX: i64 = 2_000;

/// The most register rows in one INSERT of a group commit (15 parameters each).
pub const GROUP_INSERT_ROWS: usize = 64;
/// The most raw bytes in one INSERT of a group commit (a larger message goes
/// alone): the statement holds a copy of them.
pub const GROUP_INSERT_BYTES: usize = 1024 * 1024;
/// `items` cut, in order, into runs of at most `max_rows` items and
/// `max_bytes` bytes as `len` counts them (an item larger than that alone):
/// the multi-row INSERTs that hold copies of raw mails.
pub(crate) fn parts_by_bytes<T>(
    items: &[T],
    max_rows: usize,
    max_bytes: usize,
    len: impl Fn(&T) -> usize,
) -> Vec<&[T]> {
    let mut parts = Vec::new();
    let (mut start, mut bytes) = (0, 0usize);
    for (i, it) in items.iter().enumerate() {
        let n = len(it);
        if i > start && (i - start >= max_rows || bytes.saturating_add(n) > max_bytes) {
            parts.push(&items[start..i]);
            (start, bytes) = (i, 0);
        }
        bytes = bytes.saturating_add(n);
    }
    if start < items.len() {
        parts.push(&items[start..]);
    }
    parts
}

/// The most outbox rows in one INSERT (8 parameters each).
pub const QUEUE_ROWS: usize = 100;
/// The most case rows in one INSERT of a group's new cases (22 parameters
/// each).
pub const CASE_ROWS: usize = 64;
/// The most rows in one `UPDATE … FROM (VALUES …)` (timelines' heads,
/// messages' cases, reminder plans; at most 4 parameters each).
pub const UPDATE_ROWS: usize = 200;

/// One message of a group commit ([`Store::commit_ingest_group`]).
pub struct GroupItem {
    pub write: IngestWrite,
    pub now: DateTime<Utc>,
    pub compose: Box<dyn FnOnce(&CaseKey) -> Composed + Send>,
}

/// A recorded message found by its Message-ID or content hash: what tells
/// a copy of it from another message that carries the same Message-ID.
#[derive(Debug, Clone)]
pub struct KnownMessage {
    pub message_id: Option<String>,
    pub content_hash: String,
    pub from_address: Option<String>,
    pub received_at: Option<DateTime<Utc>>,
}

/// An open case of a supplier, as the series rule needs it.
#[derive(Debug, Clone)]
pub struct SeriesRow {
    pub id: i64,
    pub case_ref: String,
    pub aware_at: DateTime<Utc>,
    pub opened_at: DateTime<Utc>,
    pub systems: Vec<String>,
    /// The inspect-v1 JSON of the opening notice.
    pub facts: serde_json::Value,
}

/// The case holding a notice, by the notice's identity (`core::series::Identity`):
/// both arms use an index (`messages_notice_message_id`, `messages_text_hash`).
/// The latest message on a case of each arm (a case opened from a later
/// copy of a template text is the one its copies join), the one by
/// Message-ID first.
pub const NOTICE_QUERY: &str =
    "SELECT a.* FROM (SELECT m.case_id, TRUE AS by_id, c.aware_at, c.reporter_address, c.reporter_organisation \
     FROM messages m JOIN cases c ON c.id = m.case_id \
     WHERE m.case_id IS NOT NULL AND m.notice_message_id = $1 ORDER BY m.id DESC LIMIT 1) a \
     UNION ALL SELECT b.* FROM (SELECT m.case_id, FALSE AS by_id, c.aware_at, c.reporter_address, c.reporter_organisation \
     FROM messages m JOIN cases c ON c.id = m.case_id \
     WHERE m.case_id IS NOT NULL AND m.text_hash = $2 ORDER BY m.id DESC LIMIT 1) b";

/// The series lookup, shared by both backends and by the test that checks its
/// query plan: the open cases of a supplier (by registered mail domain or by
/// organisation name) whose awareness/opening span reaches the message's time,
/// newest first. Both arms use an index (`cases_supplier_domain`,
/// `cases_supplier_org`); no scan of every open case.
pub const SERIES_QUERY: &str = "SELECT id, ref, aware_at, opened_at, systems, facts FROM cases \
     WHERE (supplier_domain = $1 OR supplier_org = $2) AND state <> 'closed' \
     AND aware_at <= $3 AND opened_at >= $4 ORDER BY id DESC LIMIT $5";

/// Everything one handled message changes, written in one transaction.
#[derive(Debug, Clone)]
pub struct IngestWrite {
    pub message: NewMessage,
    pub change: CaseChange,
    pub events: Vec<NewEvent>,
    /// Advanced in the same transaction (None for `breachwatch ingest FILE`).
    pub checkpoint: Option<(String, Checkpoint)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestResult {
    /// The message was already recorded (same Message-ID or same bytes).
    pub duplicate: bool,
    pub case_id: Option<i64>,
    pub case_ref: Option<CaseRef>,
}

/// Identity of a case as the composer of mails needs it.
#[derive(Debug, Clone)]
pub struct CaseKey {
    pub id: i64,
    pub case_ref: CaseRef,
}

/// A claimed outbox row.
#[derive(Debug, Clone)]
pub struct OutboxRow {
    pub id: i64,
    pub case_id: Option<i64>,
    pub message_id: String,
    pub envelope_from: String,
    pub recipients: Vec<String>,
    /// The formatted mail: filled by [`Store::claim_outbox`]; empty from
    /// [`Store::claim_outbox_batch`] (read it with [`Store::outbox_raw`]).
    pub raw: Vec<u8>,
    pub attempts: u32,
    /// `ack`, `opening`, `reminder`, `delivery_failed`, … (what the mail is).
    pub purpose: String,
}

/// A mail the server refused for good, as the digest lists it.
#[derive(Debug, Clone)]
pub struct FailedMail {
    pub case_ref: Option<String>,
    pub purpose: String,
    pub subject: String,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// A message recorded without a case because it was not read as a notice,
/// as the digest lists it (`Store::unplaced_mail`).
#[derive(Debug, Clone)]
pub struct UnplacedMail {
    pub subject: Option<String>,
    pub from_address: Option<String>,
    pub recorded_at: DateTime<Utc>,
}

/// How many unplaced messages a digest lists at most.
pub const UNPLACED_IN_DIGEST: i64 = 50;

/// A case whose next reminder is due.
#[derive(Debug, Clone)]
pub struct DueReminder {
    pub case_id: i64,
    pub case_ref: CaseRef,
    pub aware_at: DateTime<Utc>,
    pub next_seq: u32,
}

/// One page of due cases ([`Store::due_reminder_page`]) in due order, each
/// with its whole row, and where the next page starts: the last case's
/// `(next_reminder_at, id)` (None: the page is empty).
pub struct DuePage {
    pub cases: Vec<(DueReminder, CaseRecord)>,
    pub after: Option<(DateTime<Utc>, i64)>,
}

/// One case's due reminder in a group ([`Store::commit_reminders`]), its
/// mail composed before the group's transaction (the clock composes the
/// next groups while this one is written or waits for its due time).
pub struct ReminderItem {
    pub due: DueReminder,
    pub next: Option<(DateTime<Utc>, u32)>,
    pub event: NewEvent,
    pub composed: Composed,
    /// The case row as the clock read it, for the seal: the reminder's own
    /// update changes no sealed field, so the write seals from it instead of
    /// reading and hashing the row again. The write takes the reminder only
    /// while the row keeps this version (the mail was composed from it); at
    /// another version the reminder stays due and is composed again.
    pub sealed: SealedRead,
}

/// What the events of a write seal of a case row, read before the write
/// (the clock, groups ahead or ahead of the due time): valid while the row
/// keeps `version` (every change of a sealed field moves it).
#[derive(Debug, Clone)]
pub struct SealedRead {
    pub version: i64,
    pub case_ref: CaseRef,
    pub row: crate::core::register::RowState,
}

impl SealedRead {
    pub fn of(record: &CaseRecord) -> SealedRead {
        SealedRead {
            version: record.version,
            case_ref: record.case_ref.clone(),
            row: record.row_state(),
        }
    }
}

/// A case whose next NIS2 reminder is due.
#[derive(Debug, Clone)]
pub struct DueNis2Reminder {
    pub case_id: i64,
    pub case_ref: CaseRef,
    /// How many NIS2 reminders were sent: the plan position read, so that two
    /// replicas cannot send the same one.
    pub sent: i64,
    /// The instant the reminder was planned for.
    pub at: DateTime<Utc>,
}

/// What `cases list/show` prints.
#[derive(Debug, Clone, Serialize)]
pub struct CaseSummary {
    #[serde(skip)]
    pub id: i64,
    #[serde(rename = "ref")]
    pub case_ref: String,
    pub state: String,
    pub aware_at: DateTime<Utc>,
    pub deadline_at: DateTime<Utc>,
    pub opened_at: DateTime<Utc>,
    pub reporter_organisation: Option<String>,
    pub reporter_address: Option<String>,
    pub committee: String,
    pub official: String,
    pub rule: Option<String>,
    pub systems: Vec<String>,
    pub messages: i64,
    pub reminders_sent: i64,
    pub next_reminder_at: Option<DateTime<Utc>>,
    /// The watched mailbox (checkpoint key) of the case's first message.
    pub mailbox: Option<String>,
    /// The NIS2 reminder stream (migration 0007).
    pub nis2_reminder_at: Option<DateTime<Utc>>,
    pub nis2_reminders_sent: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct MessageRow {
    pub message_id: Option<String>,
    pub kind: String,
    pub disposition: String,
    pub subject: Option<String>,
    pub from_address: Option<String>,
    pub received_at: Option<DateTime<Utc>>,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct EventRow {
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub kind: EventKind,
    pub actor: String,
    pub data: serde_json::Value,
    pub prev_hash: String,
    pub hash: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct OutboxSummary {
    pub message_id: String,
    pub purpose: String,
    pub recipients: Vec<String>,
    pub subject: String,
    pub status: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub sent_at: Option<DateTime<Utc>>,
}

/// A case as stored: what the workflow, the documents, the digest and the
/// register need. The JSON columns are decoded once, here ([`StoredJson::decode`]),
/// into the core's types.
///
/// One failure behaviour: a stored route or workflow that does not read as
/// the core's type (a row written by hand, or by an older release) is `None`,
/// never an error of the read; each caller says what a missing one means to
/// it (a reply or a case file cannot go on without the route, the digest
/// files the case under the default DPO). Facts that do not read are unknown.
#[derive(Debug, Clone)]
pub struct CaseRecord {
    pub id: i64,
    pub case_ref: CaseRef,
    pub state: String,
    pub aware_at: DateTime<Utc>,
    pub deadline_at: DateTime<Utc>,
    pub opened_at: DateTime<Utc>,
    pub reporter_name: Option<String>,
    pub reporter_address: Option<String>,
    pub reporter_organisation: Option<String>,
    pub reporter_domain: Option<String>,
    pub systems: Vec<String>,
    /// Who is responsible (`cases.route`); `None` when it does not read.
    pub route: Option<Route>,
    /// The opening notice's incident facts (`cases.facts`).
    pub incident: Incident,
    /// The draft facts beyond the contract (`cases.facts`, informative fields
    /// of `incident`); rows stored before them read as not stated.
    pub details: crate::core::notice::details::Details,
    /// The state machine's case (`cases.workflow`); `None` until the first
    /// command, or when it does not read. [`CaseRecord::case`] gives the case
    /// either way.
    pub workflow: Option<Case>,
    /// Optimistic concurrency: bumped by every workflow update.
    pub version: i64,
    /// Hash of the last timeline event (`register verify` compares it).
    pub timeline_head: String,
    /// The JSON columns exactly as stored: the register seal hashes what is
    /// stored, and `register export`/`stats` copy the notice's facts out as
    /// the reader wrote them. Nothing else reads them.
    pub stored: StoredJson,
}

/// The JSON columns of a case row as stored.
#[derive(Debug, Clone, Default)]
pub struct StoredJson {
    /// `core::routing::Route` as JSON.
    pub route: serde_json::Value,
    /// The inspect-v1 JSON of the opening notice.
    pub facts: serde_json::Value,
    /// The serialized `core::case::Case` (`{}` until the first command).
    pub workflow: serde_json::Value,
}

impl StoredJson {
    /// The typed fields of a record from its stored JSON (total).
    pub fn decode(&self) -> Decoded {
        Decoded {
            route: Route::deserialize(&self.route).ok(),
            incident: crate::core::notice::present::incident_from_stored(&self.facts),
            details: crate::core::notice::present::details_from_stored(&self.facts),
            workflow: Case::deserialize(&self.workflow).ok(),
        }
    }
}

/// The typed fields of a case row ([`StoredJson::decode`]).
pub struct Decoded {
    pub route: Option<Route>,
    pub incident: Incident,
    pub details: crate::core::notice::details::Details,
    pub workflow: Option<Case>,
}

/// The database. Cheap to clone (pools are shared).
#[derive(Debug, Clone)]
pub enum Store {
    Sqlite(SqliteStore),
    Postgres(PgPool),
}

impl Store {
    /// Connects and runs the migrations of the backend the URL names.
    pub async fn connect(url: &str) -> Result<Store> {
        let store = Store::open(url).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Connects and checks that every migration this binary knows is applied,
    /// without changing the schema (`run --no-migrate`, after an init step ran
    /// `breachwatch migrate`). A schema behind or ahead is
    /// [`StoreError::Schema`].
    pub async fn connect_checked(url: &str) -> Result<Store> {
        let store = Store::open(url).await?;
        let pending = store.pending_migrations().await?;
        if !pending.is_empty() {
            store.close().await;
            return Err(StoreError::Schema(format!(
                "the database schema is behind this binary: {} migration(s) not applied ({}); run `breachwatch migrate` first",
                pending.len(),
                pending
                    .iter()
                    .map(|v| v.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        Ok(store)
    }

    fn migrator(&self) -> sqlx::migrate::Migrator {
        match self {
            Store::Sqlite(_) => sqlx::migrate!("./migrations/sqlite"),
            Store::Postgres(_) => sqlx::migrate!("./migrations/postgres"),
        }
    }

    /// Versions of this binary's migrations not yet applied to the database.
    /// A database with migrations this binary does not know (a newer release
    /// ran against it) is a [`StoreError::Schema`]: running it could write rows
    /// the newer schema does not expect.
    pub async fn pending_migrations(&self) -> Result<Vec<i64>> {
        // Read the bookkeeping table directly: sqlx's own listing would first
        // create the table, and this check must not change the schema.
        let sql = "SELECT version FROM _sqlx_migrations WHERE success";
        let applied: Vec<i64> = match self {
            Store::Sqlite(p) => {
                let p = &p.pool().await;
                let exists: Option<String> = sqlx::query_scalar(
                    "SELECT name FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
                )
                .fetch_optional(p)
                .await?;
                if exists.is_some() {
                    sqlx::query_scalar(sql).fetch_all(p).await?
                } else {
                    Vec::new()
                }
            }
            Store::Postgres(p) => {
                let exists: Option<String> =
                    sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations')::text")
                        .fetch_one(p)
                        .await?;
                if exists.is_some() {
                    sqlx::query_scalar(sql).fetch_all(p).await?
                } else {
                    Vec::new()
                }
            }
        };
        let migrator = self.migrator();
        let known: Vec<i64> = migrator
            .iter()
            .filter(|m| !m.migration_type.is_down_migration())
            .map(|m| m.version)
            .collect();
        if let Some(v) = applied.iter().find(|v| !known.contains(v)) {
            return Err(StoreError::Schema(format!(
                "the database has migration {v}, which this binary does not know: it was migrated by a newer release"
            )));
        }
        Ok(known.into_iter().filter(|v| !applied.contains(v)).collect())
    }

    /// Applies the pending migrations; returns the versions applied now.
    pub async fn migrate(&self) -> Result<Vec<i64>> {
        let pending = self.pending_migrations().await?;
        match self {
            Store::Postgres(pool) => {
                // sqlx takes an advisory lock: replicas starting together are safe.
                self.migrator().run(pool).await?;
            }
            Store::Sqlite(pool) => {
                let pool = &pool.pool().await;
                // SQLite has no migration lock: a CLI command started while the
                // daemon migrates may collide with it; the loser waits and finds
                // them applied.
                let mut tries = 0;
                loop {
                    match self.migrator().run(pool).await {
                        Ok(()) => break,
                        Err(e) if tries < 10 => {
                            tries += 1;
                            tracing::debug!("migration attempt {tries} failed, retrying: {e}");
                            tokio::time::sleep(Duration::from_millis(100 * tries)).await;
                        }
                        Err(e) => return Err(e.into()),
                    }
                }
            }
        }
        Ok(pending)
    }

    /// Connects without checking or changing the schema (`migrate`, `backup`).
    pub async fn connect_unmigrated(url: &str) -> Result<Store> {
        Store::open(url).await
    }

    /// Connects to the backend the URL names, without touching the schema.
    async fn open(url: &str) -> Result<Store> {
        if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let opts = sqlx::postgres::PgConnectOptions::from_str(url)?;
            let pool = PgPoolOptions::new()
                .max_connections(8)
                .acquire_timeout(Duration::from_secs(10))
                // Drop a connection opened before a store error broke
                // connections, and ping one that sat idle (a restarted
                // server): not one in steady use, whose ping was a round
                // trip before every query (`pool_health::needs_ping`).
                .test_before_acquire(false)
                .before_acquire(|conn, meta| {
                    Box::pin(async move {
                        if !pool_health::keep(meta.age) {
                            return Ok(false);
                        }
                        if pool_health::needs_ping(meta.idle_for) {
                            sqlx::Connection::ping(conn).await?;
                        }
                        Ok(true)
                    })
                })
                .connect_with(opts)
                .await?;
            Ok(Store::Postgres(pool))
        } else {
            let opts = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
                .statement_cache_capacity(SQLITE_STATEMENT_CACHE)
                .pragma("cache_size", format!("-{SQLITE_CACHE_KIB}"))
                // A write transaction keeps its dirty pages in memory up to
                // this bound instead of spilling them into the WAL as soon as
                // the small cache above is full (see SQLITE_SPILL_KIB).
                .pragma("cache_spill", format!("-{SQLITE_SPILL_KIB}"))
                // The daemon copies the WAL into the database in the
                // background ([`Store::checkpoint_wal`], every second): a
                // commit that ran SQLite's automatic checkpoint (every 1,000
                // pages by default) paid for the copy and the file's fsync,
                // 15 ms a group on average in a drain (issue #10). This bound
                // stays as a backstop (a CLI command, a stalled checkpointer);
                // the WAL file is cut back to it after a reset.
                .pragma("wal_autocheckpoint", WAL_AUTOCHECKPOINT_PAGES.to_string())
                .pragma(
                    "journal_size_limit",
                    (WAL_AUTOCHECKPOINT_PAGES * 4096).to_string(),
                );
            if let Some(dir) = opts.get_filename().parent() {
                if !dir.as_os_str().is_empty() {
                    std::fs::create_dir_all(dir).map_err(|e| {
                        StoreError::Other(format!("cannot create {}: {e}", dir.display()))
                    })?;
                }
            }
            // An in-memory database is per connection: keep one.
            let max = if url.contains(":memory:") { 1 } else { 4 };
            // A fresh database file is briefly locked while another process (the
            // daemon, a CLI command) switches it to WAL and migrates: retry.
            let mut tries = 0;
            let pool = loop {
                let attempt = SqliteStore::pool_options(max)
                    .connect_with(opts.clone())
                    .await;
                match attempt {
                    Ok(p) => break p,
                    Err(e) if tries < 20 => {
                        tries += 1;
                        tracing::debug!("opening the database, attempt {tries}: {e}");
                        tokio::time::sleep(Duration::from_millis(100 * tries)).await;
                    }
                    Err(e) => return Err(e.into()),
                }
            };
            Ok(Store::Sqlite(SqliteStore::new(pool, opts, max)))
        }
    }

    /// Copies what the WAL holds into the SQLite database (a passive
    /// checkpoint: commits go on meanwhile, readers are not waited for) and
    /// fsyncs it, off the writers' path. Returns the WAL's frames and how many
    /// of them are now in the database; PostgreSQL has no WAL of ours: (0, 0).
    pub async fn checkpoint_wal(&self) -> Result<(i64, i64)> {
        match self {
            Store::Sqlite(pool) => {
                let row: (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)")
                    .fetch_one(&pool.pool().await)
                    .await?;
                Ok((row.1.max(0), row.2.max(0)))
            }
            Store::Postgres(_) => Ok((0, 0)),
        }
    }

    /// Makes every committed transaction durable against a power cut, before
    /// the messages it records leave the INBOX. SQLite in WAL mode with
    /// `synchronous = NORMAL` syncs the WAL only at checkpoints, so a commit
    /// survives a crash of the process but not of the machine: this syncs the
    /// WAL file now (one fsync for all the commits since the last). A
    /// PostgreSQL commit is durable already.
    pub async fn make_durable(&self) -> Result<()> {
        let Store::Sqlite(pool) = self else {
            return Ok(());
        };
        let mut wal = pool
            .current()
            .connect_options()
            .get_filename()
            .as_os_str()
            .to_owned();
        wal.push("-wal");
        let synced = tokio::task::spawn_blocking(move || match std::fs::File::open(&wal) {
            Ok(f) => f.sync_data(),
            // No WAL (an in-memory database, or none written yet): nothing to sync.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        })
        .await
        .map_err(|e| StoreError::Other(format!("WAL sync task failed: {e}")))?;
        synced.map_err(|e| StoreError::Other(format!("cannot sync the WAL: {e}")))
    }

    /// Writes a consistent copy of a SQLite database to `out` (which must not
    /// exist) with `VACUUM INTO`: it reads in one transaction, so it is safe
    /// while the daemon writes (WAL), and the copy is compact and standalone
    /// (no -wal file). PostgreSQL is backed up with its own tools.
    pub async fn backup_to(&self, out: &std::path::Path) -> Result<()> {
        match self {
            Store::Sqlite(pool) => {
                let pool = &pool.pool().await;
                if out.exists() {
                    return Err(StoreError::Other(format!(
                        "{} exists; a backup never overwrites a file",
                        out.display()
                    )));
                }
                let path = out.to_str().ok_or_else(|| {
                    StoreError::Other(format!("{} is not a UTF-8 path", out.display()))
                })?;
                sqlx::query("VACUUM INTO ?")
                    .bind(path)
                    .execute(pool)
                    .await?;
                Ok(())
            }
            Store::Postgres(_) => Err(StoreError::Unsupported(
                "breachwatch backup copies SQLite databases only; back up PostgreSQL with pg_dump (docs/install.md, \"Backup\")".into(),
            )),
        }
    }

    pub fn backend(&self) -> &'static str {
        match self {
            Store::Sqlite(_) => "sqlite",
            Store::Postgres(_) => "postgres",
        }
    }

    pub async fn close(&self) {
        match self {
            Store::Sqlite(p) => p.close().await,
            Store::Postgres(p) => p.close().await,
        }
    }
}

async fn begin_sqlite(pool: &SqlitePool) -> sqlx::Result<sqlx::Transaction<'static, sqlx::Sqlite>> {
    // A deferred transaction that later writes fails at once under contention;
    // IMMEDIATE takes the write lock up front and waits (busy_timeout) instead.
    pool.begin_with("BEGIN IMMEDIATE").await
}

async fn begin_pg(pool: &PgPool) -> sqlx::Result<sqlx::Transaction<'static, sqlx::Postgres>> {
    pool.begin().await
}

backend!(sqlite_q, sqlx::Sqlite, begin_sqlite, "", "");
backend!(
    pg_q,
    sqlx::Postgres,
    begin_pg,
    "FOR UPDATE OF o SKIP LOCKED",
    " FOR UPDATE OF c, p"
);

/// How many prepared statements each SQLite connection keeps (sqlx's default
/// is 100). A batch's statements are built for its row count (one VALUES
/// list per row), so a drain prepares one statement of each kind per batch
/// size it meets; prepared, the large ones hold up to hundreds of KiB each
/// in this process. heaptrack of a 10,000-message drain put 12.8 MB of the
/// heap's 66.7 MB peak in cached statements (SQLite's and sqlx's). With 32,
/// the least recently used are finalized: peak RSS 97.7 / 99.8 MB (drain,
/// intake alone) against 101-107 / 106-111 with 100, the daemon's CPU the
/// same (8.6 core-s against 8.1-9.0; `make bench-daemon`, session 12).
/// PostgreSQL keeps its prepared statements in the server.
pub const SQLITE_STATEMENT_CACHE: usize = 32;

/// SQLite's page cache of each pooled connection, in KiB (`PRAGMA
/// cache_size`; SQLite's default is 2,000): the pages are in the kernel's
/// page cache as well, and four connections kept up to 8 MB of them. With
/// 256 the 10,000-message drain peaked at 86.8 / 83.9 MB RSS against 94.2 /
/// 88.5 MB with the default, its time and the reminder burst's within the
/// spread (`make bench-daemon`, session 24).
pub const SQLITE_CACHE_KIB: u32 = 256;

/// How much of a write transaction's dirty pages SQLite keeps in memory
/// before it spills them into the WAL (`PRAGMA cache_spill`), in KiB; the
/// pages beyond the cache's own bound ([`SQLITE_CACHE_KIB`]) are freed when
/// the transaction ends. By default SQLite spills at the cache's bound, so
/// a group transaction of the drain (about 650 kB of raw mail and its rows)
/// spilled page after page into the WAL before its commit (`pagerStress`:
/// 2.8 % of the machine's samples in a drain's profile) and wrote again
/// what it dirtied again. With 2 MiB SQLite's threads took 0.74-0.79 core-s
/// of the 10,000-message drain against 0.80-0.84 (`BENCH_AB`, rounds of
/// both), peak RSS within the spread; with 8 MiB 0.71-0.73, peak RSS about
/// 1.4 MB higher. The drain's time moved less than the machine's spread
/// (docs/benchmarks.md, session 47).
pub const SQLITE_SPILL_KIB: u32 = 2048;

/// SQLite's automatic checkpoint runs in a commit once the WAL holds this
/// many pages (4 KiB each, 128 MiB): a backstop behind the daemon's own
/// checkpoints, which cannot reset the WAL while commits follow each other.
/// The reminder burst of 10,000 writes about 16,400 pages in one second
/// (about 900 a group of 500: the wide case rows dominate); with 16,384 its
/// 18th group's commit ran the checkpoint, 140-177 ms instead of 3 ms
/// (`make bench-daemon`, session 27).
pub const WAL_AUTOCHECKPOINT_PAGES: u64 = 32_768;

/// How many due cases the clock reads in one paged range scan
/// (`due_reminder_page`, a group's rows at a time): one scan covers a burst
/// of 10,000 (the issue #10 figure) in one pipeline and one burst for the
/// senders (`workers::burst`); more waits for the clock's next pass.
pub const DUE_SCAN: i64 = 10_000;

/// The send priority of mail of no case (`outbox.priority_at`): after every
/// case's deadline.
fn no_deadline() -> DateTime<Utc> {
    DateTime::from_timestamp(253_402_300_799, 0).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

pub use crate::core::notice::MAX_PARENT_IDS;

/// The ids a thread look-up considers: the first [`MAX_PARENT_IDS`]. The reader
/// already keeps no more (In-Reply-To, then the last References); this guards
/// any other caller, so one message is always one bounded query.
pub fn lookup_ids(ids: &[String]) -> &[String] {
    &ids[..ids.len().min(MAX_PARENT_IDS)]
}

/// Dispatches a method to the backend module of the same query.
macro_rules! dispatch {
    ($self:ident, $f:ident ( $($arg:expr),* )) => {
        match $self {
            Store::Sqlite(p) => sqlite_q::$f(&p.pool().await, $($arg),*).await,
            Store::Postgres(p) => pg_q::$f(p, $($arg),*).await,
        }
    };
}

/// Queries of the document assembly (`crate::casefile`, `cases draft`).
impl Store {
    /// The case with this reference, or None.
    pub async fn case_by_ref(&self, case_ref: &str) -> Result<Option<CaseRecord>> {
        dispatch!(self, case_by_ref(case_ref))
    }

    /// Appends events to a case's timeline in one transaction (e.g. the
    /// checksums of documents made by `cases draft`).
    pub async fn append_events(
        &self,
        case_id: i64,
        events: &[NewEvent],
        now: DateTime<Utc>,
    ) -> Result<()> {
        dispatch!(self, append_events(case_id, events, now))
    }
}

impl Store {
    pub async fn checkpoint(&self, mailbox: &str) -> Result<Option<Checkpoint>> {
        dispatch!(self, checkpoint(mailbox))
    }

    /// Moves the checkpoint on: within one UIDVALIDITY never back (news is
    /// written before older backlog); a new UIDVALIDITY replaces it.
    pub async fn set_checkpoint(&self, mailbox: &str, cp: Checkpoint) -> Result<()> {
        dispatch!(self, set_checkpoint(mailbox, cp))
    }

    /// The OAuth2 refresh token stored under `name` (`refresh_token_store =
    /// "database"`).
    pub async fn refresh_token(&self, name: &str) -> Result<Option<String>> {
        dispatch!(self, refresh_token(name))
    }

    /// Stores (or replaces, in one statement) the refresh token `name`.
    pub async fn set_refresh_token(
        &self,
        name: &str,
        token: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<()> {
        dispatch!(self, set_refresh_token(name, token, now))
    }

    /// Is this message already recorded (by Message-ID or by its bytes)?
    pub async fn message_known(
        &self,
        message_id: Option<&str>,
        content_hash: &str,
    ) -> Result<bool> {
        dispatch!(self, message_known(message_id, content_hash))
    }

    /// The case a message with one of these Message-IDs belongs to (received or
    /// sent), in ONE query; the first id in `ids` that has a case wins. Only the
    /// first [`MAX_PARENT_IDS`] ids are looked up (see [`lookup_ids`]).
    pub async fn case_by_message_ids(&self, ids: &[String]) -> Result<Option<i64>> {
        dispatch!(self, case_by_message_ids(ids))
    }

    /// The message of case `case_id` that a reply with these parent
    /// Message-IDs is about: a parent that is the message itself, or one of
    /// our mails about it (the opening notice: the message that opened the
    /// case; a follow-up notice or acknowledgement: the message whose
    /// content hash its dedupe key carries). The first parent that leads to
    /// a message of the case wins.
    pub async fn split_message(
        &self,
        case_id: i64,
        parents: &[String],
    ) -> Result<Option<CaseMessage>> {
        dispatch!(self, split_message(case_id, parents))
    }

    /// The cases holding a notice with this identity: the latest message on
    /// a case with its Message-ID, then the latest with its normalised
    /// text's hash (at most two rows). One indexed query.
    pub async fn case_by_notice(
        &self,
        notice_message_id: Option<&str>,
        text_hash: Option<&str>,
    ) -> Result<Vec<NoticeMatch>> {
        if notice_message_id.is_none() && text_hash.is_none() {
            return Ok(Vec::new());
        }
        dispatch!(self, case_by_notice(notice_message_id, text_hash))
    }

    /// [`SERIES_QUERY`]: the open cases of a supplier around `at`.
    pub async fn series_candidates(
        &self,
        domain: Option<&str>,
        org: Option<&str>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<SeriesRow>> {
        if domain.is_none() && org.is_none() {
            return Ok(Vec::new());
        }
        dispatch!(self, series_candidates(domain, org, from, to, limit))
    }

    pub async fn case_id_by_ref(&self, case_ref: &str) -> Result<Option<i64>> {
        dispatch!(self, case_id_by_ref(case_ref))
    }

    /// Of these Message-IDs and content hashes, the recorded ones: one
    /// indexed query for a group.
    pub async fn known_messages(
        &self,
        ids: &[String],
        hashes: &[String],
    ) -> Result<Vec<KnownMessage>> {
        if ids.is_empty() && hashes.is_empty() {
            return Ok(Vec::new());
        }
        dispatch!(self, known_messages(ids, hashes))
    }

    /// The case of each of these Message-IDs (received or sent): one query
    /// for a group's thread look-ups.
    pub async fn cases_by_message_ids(&self, ids: &[String]) -> Result<Vec<(String, i64)>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        dispatch!(self, cases_by_message_ids(ids))
    }

    /// The id of each of these case references: one query.
    pub async fn case_ids_by_refs(&self, refs: &[String]) -> Result<Vec<(String, i64)>> {
        if refs.is_empty() {
            return Ok(Vec::new());
        }
        dispatch!(self, case_ids_by_refs(refs))
    }

    /// [`NOTICE_QUERY`] for a group: for each of these identities the latest
    /// message on a case holding it (one index probe each), oldest first, at
    /// most [`GROUP_ROWS_MAX`].
    pub async fn cases_by_notices(
        &self,
        notice_ids: &[String],
        text_hashes: &[String],
    ) -> Result<Vec<NoticeRow>> {
        if notice_ids.is_empty() && text_hashes.is_empty() {
            return Ok(Vec::new());
        }
        dispatch!(self, cases_by_notices(notice_ids, text_hashes))
    }

    /// [`SERIES_QUERY`] for a group: the open cases of any of these suppliers
    /// reaching `[from, to]`, newest first, with their supplier keys.
    pub async fn series_candidates_many(
        &self,
        domains: &[String],
        orgs: &[String],
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<(Option<String>, Option<String>, SeriesRow)>> {
        if domains.is_empty() && orgs.is_empty() {
            return Ok(Vec::new());
        }
        dispatch!(self, series_candidates_many(domains, orgs, from, to, limit))
    }

    /// Several messages in ONE transaction (group commit), in order: all or
    /// nothing. The caller falls back to one transaction per message when it
    /// fails, so one bad message never holds the others back.
    pub async fn commit_ingest_group(
        &self,
        items: Vec<GroupItem>,
        prefix: &str,
    ) -> Result<Vec<IngestResult>> {
        dispatch!(self, commit_ingest_group(items, prefix))
    }

    /// Records a message and the case change it causes; `compose` builds the mails
    /// once the case reference is known, inside the same transaction.
    pub async fn commit_ingest<F>(
        &self,
        w: IngestWrite,
        prefix: &str,
        now: DateTime<Utc>,
        compose: F,
    ) -> Result<IngestResult>
    where
        F: FnOnce(&CaseKey) -> Composed + Send,
    {
        dispatch!(self, commit_ingest(w, prefix, now, compose))
    }

    /// Claims the next due outbox row for sending (a lease: a crash mid-send makes
    /// it due again after `lease`, or at once, see [`Store::release_dead_claims`]).
    pub async fn claim_outbox(
        &self,
        now: DateTime<Utc>,
        lease: chrono::Duration,
    ) -> Result<Option<OutboxRow>> {
        dispatch!(self, claim_outbox(now, lease, None))
    }

    /// [`Store::claim_outbox`] for a replica (`Replica::id`): the row records
    /// who sends it, so it is due again at once when that replica is gone.
    pub async fn claim_outbox_by(
        &self,
        now: DateTime<Utc>,
        lease: chrono::Duration,
        claimer: i64,
    ) -> Result<Option<OutboxRow>> {
        dispatch!(self, claim_outbox(now, lease, Some(claimer)))
    }

    /// Claims up to `limit` due rows for a replica in one statement, in send
    /// order (nearest deadline first), without their raw mail: read each with
    /// [`Store::outbox_raw`] when it is sent. Rows not tried go back with
    /// [`Store::outbox_unclaim`].
    pub async fn claim_outbox_batch(
        &self,
        now: DateTime<Utc>,
        lease: chrono::Duration,
        claimer: i64,
        limit: i64,
    ) -> Result<Vec<OutboxRow>> {
        dispatch!(self, claim_outbox_batch(now, lease, Some(claimer), limit))
    }

    /// The plan of [`Store::claim_outbox_batch`]'s statement as the server
    /// would run it now, one line per step; nothing is claimed. It walks the
    /// send order's index and finds the claimed rows by primary key, with or
    /// without statistics on the outbox (an operator's check, and the tests').
    pub async fn explain_outbox_claim(&self, now: DateTime<Utc>, limit: i64) -> Result<String> {
        dispatch!(self, explain_outbox_claim(now, limit))
    }

    /// Claims up to `limit` due rows of these cases (by reference) for a
    /// replica, in send order: the news lane while the senders are held back
    /// (`workers::burst`).
    pub async fn claim_outbox_for_cases(
        &self,
        now: DateTime<Utc>,
        lease: chrono::Duration,
        claimer: i64,
        limit: i64,
        case_refs: &[String],
    ) -> Result<Vec<OutboxRow>> {
        dispatch!(
            self,
            claim_outbox_for_cases(now, lease, Some(claimer), limit, case_refs)
        )
    }

    /// The formatted mail of an outbox row (`outbox_raw`, migration 0013).
    pub async fn outbox_raw(&self, id: i64) -> Result<Option<Vec<u8>>> {
        dispatch!(self, outbox_raw(id))
    }

    /// Claimed rows not tried: due again at once, the claim's attempt not
    /// counted.
    pub async fn outbox_unclaim(
        &self,
        ids: &[i64],
        claimer: i64,
        now: DateTime<Utc>,
    ) -> Result<u64> {
        dispatch!(self, outbox_unclaim(ids, Some(claimer), now))
    }

    /// Whether the "sent" mark of a row may wait for the end of its batch
    /// ([`Store::outbox_journal_sent`] then [`Store::outbox_delivered_many`]):
    /// SQLite with a file, whose sent journal keeps the server's 250 across
    /// a crash. Elsewhere each row is marked at once
    /// ([`Store::outbox_delivered`]).
    pub fn defers_sent_marks(&self) -> bool {
        match self {
            Store::Sqlite(p) => sent_journal::path(&p.current()).is_some(),
            Store::Postgres(_) => false,
        }
    }

    /// Appends a row the server took to the sent journal (SQLite with a
    /// file; nothing otherwise). Its database mark may then wait.
    pub fn outbox_journal_sent(&self, id: i64) {
        if let Store::Sqlite(p) = self {
            sent_journal::append(&p.current(), id);
        }
    }

    /// Marks rows sent (each with its time and the server's reply) in one
    /// transaction; each was journaled first ([`Store::outbox_journal_sent`]).
    pub async fn outbox_delivered_many(&self, sent: &[(i64, DateTime<Utc>, String)]) -> Result<()> {
        dispatch!(self, outbox_sent_many(sent))
    }

    pub async fn outbox_sent(&self, id: i64, now: DateTime<Utc>) -> Result<()> {
        dispatch!(self, outbox_sent(id, now, None))
    }

    /// Marks a row sent with the server's reply (its queue id), in one
    /// statement of its own.
    pub async fn outbox_delivered(
        &self,
        id: i64,
        now: DateTime<Utc>,
        response: &str,
    ) -> Result<()> {
        if let Store::Sqlite(p) = self {
            sent_journal::append(&p.current(), id);
        }
        dispatch!(self, outbox_sent(id, now, Some(response)))
    }

    pub async fn outbox_retry(
        &self,
        id: i64,
        attempts: u32,
        next: DateTime<Utc>,
        err: &str,
    ) -> Result<()> {
        dispatch!(self, outbox_retry(id, attempts, next, err))
    }

    pub async fn outbox_failed(
        &self,
        id: i64,
        attempts: u32,
        err: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        dispatch!(
            self,
            outbox_failed(id, attempts, err, now, None, Composed::default())
        )
    }

    /// The row is refused for good; `notice` (the DPO's mail about it and the
    /// case's event) is written in the same transaction.
    pub async fn outbox_refused(
        &self,
        id: i64,
        attempts: u32,
        err: &str,
        now: DateTime<Utc>,
        case_id: Option<i64>,
        notice: Composed,
    ) -> Result<()> {
        dispatch!(self, outbox_failed(id, attempts, err, now, case_id, notice))
    }

    /// Mails refused for good since `since`, newest first (at most 50).
    pub async fn failed_mails(&self, since: DateTime<Utc>) -> Result<Vec<FailedMail>> {
        dispatch!(self, failed_mails(since))
    }

    /// Messages recorded since `since` as not a notice (no case; not
    /// automatic mail), newest first, at most `limit`: the digest lists them,
    /// so that a notice the reader did not know for one is seen by the DPO.
    pub async fn unplaced_mail(
        &self,
        since: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<UnplacedMail>> {
        dispatch!(self, unplaced_mail(since, limit))
    }

    /// The latest digest instant before `before`, if any.
    pub async fn previous_digest_run(
        &self,
        before: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>> {
        dispatch!(self, previous_digest_run(before))
    }

    /// Rows left 'sending' by a process that died become due at once. Only
    /// SQLite: its file belongs to one daemon, so no live process holds them.
    /// On PostgreSQL another replica may be sending such a row right now; its
    /// lease decides there.
    pub async fn release_sending(&self, now: DateTime<Utc>) -> Result<u64> {
        match self {
            Store::Sqlite(p) => {
                let p = &p.pool().await;
                // Rows the server took just before a crash are sent, not due.
                let sent = sent_journal::read(p);
                if !sent.is_empty() {
                    let n = sqlite_q::mark_journaled(p, &sent, now).await?;
                    if n > 0 {
                        tracing::info!(
                            mails = n,
                            "mails the server took before a crash are marked sent"
                        );
                    }
                }
                sent_journal::clear(p);
                sqlite_q::release_sending(p, now).await
            }
            Store::Postgres(_) => Ok(0),
        }
    }

    /// How many mails wait to be sent, and since when the oldest.
    pub async fn outbox_waiting(&self) -> Result<(i64, Option<DateTime<Utc>>)> {
        dispatch!(self, outbox_waiting())
    }

    /// The earliest instant an outbox row becomes due, if any is pending.
    pub async fn next_outbox_at(&self) -> Result<Option<DateTime<Utc>>> {
        dispatch!(self, next_outbox_at())
    }

    /// One page of the due cases with their rows, in due order after
    /// `after` (the previous page's last `(next_reminder_at, id)`).
    pub async fn due_reminder_page(
        &self,
        now: DateTime<Utc>,
        after: Option<(DateTime<Utc>, i64)>,
        limit: i64,
    ) -> Result<DuePage> {
        dispatch!(self, due_reminder_page(now, after, limit))
    }

    pub async fn due_nis2_reminders(&self, now: DateTime<Utc>) -> Result<Vec<DueNis2Reminder>> {
        dispatch!(self, due_nis2_reminders(now))
    }

    /// Queues one NIS2 reminder and plans the next, only if the case is still
    /// at the version and reminder count it was read at (false otherwise).
    pub async fn commit_nis2_reminder<F>(
        &self,
        due: &DueNis2Reminder,
        expected_version: i64,
        next: Option<DateTime<Utc>>,
        event: Option<NewEvent>,
        now: DateTime<Utc>,
        compose: F,
    ) -> Result<bool>
    where
        F: FnOnce(&CaseKey) -> Composed + Send,
    {
        dispatch!(
            self,
            commit_nis2_reminder(due, expected_version, next, event, now, compose)
        )
    }

    pub async fn next_reminder_at(&self) -> Result<Option<DateTime<Utc>>> {
        dispatch!(self, next_reminder_at())
    }

    /// The cases with these ids (any order), one query.
    pub async fn cases_by_ids(&self, ids: &[i64]) -> Result<Vec<CaseRecord>> {
        dispatch!(self, cases_by_ids(ids))
    }

    /// Several cases' due reminders in one transaction (see `workers::clock`);
    /// per item whether it was written: not when the case left the plan
    /// position or the row version it was read at (it stays due, or is no
    /// longer).
    pub async fn commit_reminders(
        &self,
        items: Vec<ReminderItem>,
        now: DateTime<Utc>,
    ) -> Result<Vec<bool>> {
        dispatch!(self, commit_reminders(items, now))
    }

    /// How many reminder groups the clock writes at once: PostgreSQL locks
    /// rows, so a group's transaction locks its cases and queues its mails
    /// while another holds the register counter ([`Store::commit_reminders`]
    /// takes it last); SQLite has one writer, so one.
    pub fn reminder_writers(&self) -> usize {
        match self {
            Store::Sqlite(_) => 1,
            Store::Postgres(_) => 2,
        }
    }

    pub async fn case_by_id(&self, case_id: i64) -> Result<CaseRecord> {
        dispatch!(self, case_by_id(case_id))
    }

    /// Cases not closed, oldest first.
    pub async fn open_cases(&self) -> Result<Vec<CaseRecord>> {
        dispatch!(self, open_cases())
    }

    /// Every case, oldest first.
    pub async fn all_workflows(&self) -> Result<Vec<CaseRecord>> {
        dispatch!(self, all_workflows())
    }

    /// Records a digest run and queues its mails, once per scheduled instant
    /// (another replica may have sent it).
    pub async fn commit_digest(
        &self,
        run_at: DateTime<Utc>,
        mails: Vec<OutboxMail>,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        dispatch!(self, commit_digest(run_at, mails, now))
    }

    pub async fn list_cases(&self) -> Result<Vec<CaseSummary>> {
        dispatch!(self, list_cases())
    }

    pub async fn case_summary(&self, case_ref: &str) -> Result<CaseSummary> {
        dispatch!(self, case_summary(case_ref))
    }

    pub async fn case_messages(&self, case_id: i64) -> Result<Vec<MessageRow>> {
        dispatch!(self, case_messages(case_id))
    }

    pub async fn case_events(&self, case_id: i64) -> Result<Vec<EventRow>> {
        dispatch!(self, case_events(case_id))
    }

    pub async fn case_outbox(&self, case_id: i64) -> Result<Vec<OutboxSummary>> {
        dispatch!(self, case_outbox(case_id))
    }

    /// Messages that were quarantined, newest first.
    pub async fn quarantined(&self) -> Result<Vec<MessageRow>> {
        dispatch!(self, quarantined())
    }
}

/// What one page of the web view's case list asks for. Empty strings match
/// anything; `roster_of` (a lower-case address) keeps the cases whose
/// official or deputy it is.
#[derive(Debug, Clone, Default)]
pub struct CaseQuery {
    pub include_closed: bool,
    pub committee: String,
    pub state: String,
    pub official: String,
    pub roster_of: String,
    pub limit: i64,
    pub offset: i64,
}

/// A case as the web view's lists show it.
#[derive(Debug, Clone)]
pub struct CaseListRow {
    pub id: i64,
    pub case_ref: String,
    pub state: String,
    pub aware_at: DateTime<Utc>,
    pub deadline_at: DateTime<Utc>,
    pub reporter_organisation: Option<String>,
    pub reporter_address: Option<String>,
    pub committee: String,
    pub official: String,
    pub systems: Vec<String>,
    pub last_event: Option<crate::core::event::EventKind>,
    pub last_event_at: Option<DateTime<Utc>>,
    /// The case's next deadline (`Case::next_deadline`, as stored), the
    /// lists' order; None when no clock runs.
    pub next_deadline_at: Option<DateTime<Utc>>,
    pub opened_at: DateTime<Utc>,
    /// The stored workflow (None until the first command, or unreadable).
    pub workflow: Option<Case>,
}

impl CaseListRow {
    /// The case as the state machine knows it ([`CaseRecord::case`]).
    pub fn case(&self) -> Case {
        self.workflow.clone().unwrap_or_else(|| {
            Case::open(
                CaseRef::from_stored(self.case_ref.clone()),
                self.aware_at,
                self.opened_at,
                None,
            )
            .0
        })
    }
}

/// Queries of the web view (`crate::web`).
impl Store {
    /// One page of cases sorted by deadline, and how many match in all: one
    /// query (indexes of migration 0010).
    pub async fn web_case_page(&self, q: &CaseQuery) -> Result<(Vec<CaseListRow>, i64)> {
        dispatch!(self, web_case_page(q))
    }

    /// Writes every open case's next deadline again as the core computes it
    /// in `tz` (the NIS2 month clocks depend on the zone, which migration
    /// 0012's SQL cannot know, and an admin may change it): run when the
    /// daemon starts and after `breachwatch migrate`. How many rows changed.
    pub async fn refresh_next_deadlines(&self, tz: chrono_tz::Tz) -> Result<u64> {
        dispatch!(self, refresh_next_deadlines(tz))
    }

    /// Quarantined messages with their row id (for the raw download), newest first.
    pub async fn web_quarantine(&self) -> Result<Vec<(i64, MessageRow)>> {
        dispatch!(self, web_quarantine())
    }

    /// The raw bytes of a quarantined message (None for any other message).
    pub async fn web_quarantined_raw(&self, id: i64) -> Result<Option<Vec<u8>>> {
        dispatch!(self, web_quarantined_raw(id))
    }

    /// The first `limit` messages of a case with their row ids and raw bytes
    /// (the case page lists their attachments).
    pub async fn web_case_raws(&self, case_id: i64, limit: i64) -> Result<Vec<(i64, Vec<u8>)>> {
        dispatch!(self, web_case_raws(case_id, limit))
    }

    /// One message of a case, raw (None if the id is not this case's).
    pub async fn web_case_message_raw(&self, case_id: i64, id: i64) -> Result<Option<Vec<u8>>> {
        dispatch!(self, web_case_message_raw(case_id, id))
    }

    /// The first `limit` mails queued for a case, as queued (their generated
    /// documents are attachments).
    pub async fn web_case_outbox_raws(&self, case_id: i64, limit: i64) -> Result<Vec<Vec<u8>>> {
        dispatch!(self, web_case_outbox_raws(case_id, limit))
    }

    /// How many messages were recorded with each disposition.
    pub async fn messages_by_disposition(&self) -> Result<Vec<(String, i64)>> {
        dispatch!(self, messages_by_disposition())
    }

    /// A case action from the web: the workflow update (version-checked), its
    /// events and mails, in one transaction, as a reply's would be.
    pub async fn commit_web_action(
        &self,
        case_id: i64,
        update: Option<&CaseUpdate>,
        events: &[NewEvent],
        mails: Vec<OutboxMail>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        dispatch!(self, commit_web_action(case_id, update, events, mails, now))
    }
}

/// The whole register as of one moment (`Store::register_snapshot`).
#[derive(Debug, Clone)]
pub struct RegisterSnapshot {
    /// The last register-wide event number handed out.
    pub reg_counter: u64,
    /// The case-number counters: `(prefix, year, last)`.
    pub case_counters: Vec<(String, i64, i64)>,
    /// Every case with its timeline (seals included), oldest case first.
    pub cases: Vec<(CaseRecord, Vec<crate::core::timeline::StoredEvent>)>,
}

/// Queries of the register check (`crate::register`).
impl Store {
    /// Every case, its timeline and the counters, read in one read-only
    /// transaction: a snapshot (SQLite WAL gives one to any read transaction;
    /// PostgreSQL needs REPEATABLE READ), so a daemon writing meanwhile cannot
    /// make the parts disagree.
    pub async fn register_snapshot(&self) -> Result<RegisterSnapshot> {
        match self {
            Store::Sqlite(p) => {
                let mut tx = p.pool().await.begin().await?;
                let snap = sqlite_q::register_snapshot_in(&mut tx).await;
                tx.rollback().await?;
                snap
            }
            Store::Postgres(p) => {
                let mut tx = p
                    .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                    .await?;
                let snap = pg_q::register_snapshot_in(&mut tx).await;
                tx.rollback().await?;
                snap
            }
        }
    }

    /// A case's timeline with the seals, in `seq` order.
    pub async fn case_chain(
        &self,
        case_id: i64,
        case_ref: &CaseRef,
    ) -> Result<Vec<crate::core::timeline::StoredEvent>> {
        dispatch!(self, case_chain(case_id, case_ref))
    }
}

impl CaseRecord {
    /// The record with its typed fields decoded from [`CaseRecord::stored`]
    /// (the one place the JSON columns are read).
    pub fn decoded(mut self) -> CaseRecord {
        let d = self.stored.decode();
        self.route = d.route;
        self.incident = d.incident;
        self.details = d.details;
        self.workflow = d.workflow;
        self
    }

    /// The case as the state machine knows it; a case without a recorded
    /// workflow (opened before any command) starts as received.
    pub fn case(&self) -> Case {
        self.workflow.clone().unwrap_or_else(|| {
            Case::open(self.case_ref.clone(), self.aware_at, self.opened_at, None).0
        })
    }

    /// The stored workflow with the case's awareness moved to `aware_at`: a
    /// commanded case keeps its state machine's copy of `aware_at` in step; an
    /// uncommanded one keeps its empty workflow (the row's `aware_at` is its
    /// awareness). Patched as stored, so nothing else in it changes.
    pub fn workflow_with_aware_at(&self, aware_at: DateTime<Utc>) -> serde_json::Value {
        let mut workflow = self.stored.workflow.clone();
        if let Some(o) = workflow.as_object_mut() {
            if o.contains_key("aware_at") {
                o.insert("aware_at".into(), serde_json::json!(aware_at));
            }
        }
        workflow
    }

    /// The register fields of this row, as events seal them and `register
    /// verify` compares them (one owner for both sides).
    pub fn row_state(&self) -> crate::core::register::RowState {
        crate::core::register::RowState::of(&crate::core::register::CaseRow {
            state: &self.state,
            aware_at: self.aware_at,
            deadline_at: self.deadline_at,
            opened_at: self.opened_at,
            reporter: [
                self.reporter_name.as_deref(),
                self.reporter_address.as_deref(),
                self.reporter_organisation.as_deref(),
                self.reporter_domain.as_deref(),
            ],
            systems: &self.systems,
            route: &self.stored.route,
            facts: &self.stored.facts,
            workflow: &self.stored.workflow,
        })
    }
}

#[cfg(test)]
mod tests {
    /// A stored route and workflow decode to what was stored (read by
    /// reference, not from copies), and stored JSON of another shape decodes
    /// to nothing rather than failing.
    #[test]
    fn stored_json_decodes_the_route_and_workflow_it_holds() {
        use crate::core::case::Case;
        use crate::core::routing::{test_route, Contact};
        use crate::core::types::CaseRef;
        let mut route = test_route("Kommunstyrelsen");
        route.coordinator = Some(Contact {
            name: "coordinator".into(),
            address: "coordinator@example.test".into(),
            title: Some("handläggare".into()),
        });
        let at: chrono::DateTime<chrono::Utc> = "2026-03-27T09:00:00Z".parse().unwrap();
        let (case, _) = Case::open(CaseRef::from_stored("BW-2026-0007".into()), at, at, None);
        let stored = super::StoredJson {
            route: serde_json::to_value(&route).unwrap(),
            facts: serde_json::json!({}),
            workflow: serde_json::to_value(&case).unwrap(),
        };
        let d = stored.decode();
        assert_eq!(d.route, Some(route));
        assert_eq!(d.workflow, Some(case));
        let other = super::StoredJson {
            route: serde_json::json!({"committee": 1}),
            facts: serde_json::Value::Null,
            workflow: serde_json::json!({}),
        };
        let d = other.decode();
        assert_eq!(d.route, None);
        assert_eq!(d.workflow, None);
    }

    #[test]
    fn parts_by_bytes_bounds_rows_and_bytes_and_keeps_order() {
        let sizes = [3usize, 4, 10, 1, 1, 1, 2];
        let parts = super::parts_by_bytes(&sizes, 2, 7, |n| *n);
        assert_eq!(
            parts,
            vec![&[3, 4][..], &[10][..], &[1, 1][..], &[1, 2][..]]
        );
        assert!(super::parts_by_bytes(&[] as &[usize], 2, 7, |n| *n).is_empty());
    }
}
