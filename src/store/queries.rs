//! The SQL of the store, written once and instantiated per backend by `backend!`.
//! Only portable SQL here: `$n` placeholders, `ON CONFLICT`, `RETURNING`.
//! Unsigned IMAP numbers are stored as i64 (PostgreSQL has no unsigned types).

macro_rules! backend {
    // `$claim_lock`: the row lock clause of the outbox claim (PostgreSQL:
    // `FOR UPDATE OF o SKIP LOCKED`; SQLite has one writer and no such clause).
    // `$row_lock`: the clause that locks the rows a reminder group's SELECT
    // reads, the case rows `c` and their plan rows `p` (PostgreSQL: `FOR
    // UPDATE OF c, p`, so a statement that waited for another replica's group
    // checks the plan as that group left it; SQLite's write transaction holds
    // its one lock).
    ($name:ident, $db:ty, $begin:ident, $claim_lock:expr, $row_lock:expr) => {
        #[allow(clippy::too_many_arguments)]
        mod $name {
            use chrono::{DateTime, Utc};
            use sqlx::Row;

            use super::*;
            use crate::store::lists::Lists;
            use crate::core::timeline;
            use crate::store::chain;

            type Db = $db;
            type Pool = sqlx::Pool<Db>;
            type Tx = sqlx::Transaction<'static, Db>;

            fn json_list(s: &str) -> Vec<String> {
                serde_json::from_str(s).unwrap_or_default()
            }

            pub async fn checkpoint(pool: &Pool, mailbox: &str) -> Result<Option<Checkpoint>> {
                let row = sqlx::query(
                    "SELECT uidvalidity, last_uid FROM mailbox_state WHERE mailbox = $1",
                )
                .bind(mailbox)
                .fetch_optional(pool)
                .await?;
                Ok(row.map(|r| Checkpoint {
                    uidvalidity: r.get::<i64, _>(0) as u32,
                    last_uid: r.get::<i64, _>(1) as u32,
                }))
            }

            /// Within one UIDVALIDITY the checkpoint only moves forward: news
            /// written before older backlog (`workers::watch`) must not be
            /// followed by a lower one. A new UIDVALIDITY takes its own.
            async fn write_checkpoint(tx: &mut Tx, mailbox: &str, cp: Checkpoint) -> Result<()> {
                sqlx::query(
                    "INSERT INTO mailbox_state (mailbox, uidvalidity, last_uid) VALUES ($1, $2, $3) \
                     ON CONFLICT (mailbox) DO UPDATE SET uidvalidity = excluded.uidvalidity, \
                     last_uid = CASE WHEN mailbox_state.uidvalidity = excluded.uidvalidity \
                                      AND mailbox_state.last_uid > excluded.last_uid \
                                     THEN mailbox_state.last_uid ELSE excluded.last_uid END",
                )
                .bind(mailbox)
                .bind(i64::from(cp.uidvalidity))
                .bind(i64::from(cp.last_uid))
                .execute(&mut **tx)
                .await?;
                Ok(())
            }

            pub async fn set_checkpoint(pool: &Pool, mailbox: &str, cp: Checkpoint) -> Result<()> {
                let mut tx = $begin(pool).await?;
                write_checkpoint(&mut tx, mailbox, cp).await?;
                tx.commit().await?;
                Ok(())
            }

            pub async fn refresh_token(pool: &Pool, name: &str) -> Result<Option<String>> {
                let row = sqlx::query("SELECT token FROM oauth_refresh_tokens WHERE name = $1")
                    .bind(name)
                    .fetch_optional(pool)
                    .await?;
                Ok(row.map(|r| r.get::<String, _>(0)))
            }

            pub async fn set_refresh_token(
                pool: &Pool,
                name: &str,
                token: &str,
                now: DateTime<Utc>,
            ) -> Result<()> {
                sqlx::query(
                    "INSERT INTO oauth_refresh_tokens (name, token, updated_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (name) DO UPDATE SET token = excluded.token, \
                     updated_at = excluded.updated_at",
                )
                .bind(name)
                .bind(token)
                .bind(now.to_rfc3339())
                .execute(pool)
                .await?;
                Ok(())
            }

            pub async fn message_known(
                pool: &Pool,
                message_id: Option<&str>,
                content_hash: &str,
            ) -> Result<bool> {
                let n: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM messages WHERE content_hash = $1 \
                     OR (message_id IS NOT NULL AND message_id = $2)",
                )
                .bind(content_hash)
                .bind(message_id)
                .fetch_one(pool)
                .await?;
                Ok(n > 0)
            }

            /// One query for every id (at most `MAX_PARENT_IDS` of them, the
            /// first ones); the case of the first id in the caller's order that
            /// has one wins, as a look-up id by id would find it.
            pub async fn case_by_message_ids(pool: &Pool, ids: &[String]) -> Result<Option<i64>> {
                let ids = lookup_ids(ids);
                if ids.is_empty() {
                    return Ok(None);
                }
                let mut q = sqlx::QueryBuilder::<Db>::new(
                    "SELECT message_id, case_id FROM messages WHERE case_id IS NOT NULL AND message_id",
                );
                push_in(&mut q, ids);
                q.push(" UNION ALL SELECT message_id, case_id FROM outbox WHERE case_id IS NOT NULL AND message_id");
                push_in(&mut q, ids);
                let rows = q.build().fetch_all(pool).await?;
                let hits: Vec<(String, i64)> = rows
                    .iter()
                    .map(|r| (r.get::<String, _>(0), r.get::<i64, _>(1)))
                    .collect();
                Ok(ids
                    .iter()
                    .find_map(|id| hits.iter().find(|(m, _)| m == id).map(|(_, c)| *c)))
            }

            pub async fn split_message(
                pool: &Pool,
                case_id: i64,
                parents: &[String],
            ) -> Result<Option<CaseMessage>> {
                const COLS: &str = "m.id, m.message_id, m.subject, m.received_at, m.raw, \
                     (SELECT COUNT(*) FROM messages c WHERE c.case_id = m.case_id)";
                for id in lookup_ids(parents) {
                    // The message itself, in this case.
                    let direct = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "SELECT {COLS} FROM messages m WHERE m.case_id = $1 AND m.message_id = $2"
                    )))
                    .bind(case_id)
                    .bind(id.as_str())
                    .fetch_optional(pool)
                    .await?;
                    let row = match direct {
                        Some(r) => Some(r),
                        None => {
                            // One of our mails: what it is about.
                            let key: Option<(String, String)> = sqlx::query_as(
                                "SELECT purpose, dedupe_key FROM outbox WHERE case_id = $1 AND message_id = $2",
                            )
                            .bind(case_id)
                            .bind(id.as_str())
                            .fetch_optional(pool)
                            .await?;
                            match key {
                                Some((purpose, _)) if purpose == "opening" => {
                                    sqlx::query(sqlx::AssertSqlSafe(format!(
                                        "SELECT {COLS} FROM messages m WHERE m.case_id = $1 \
                                         AND m.disposition = 'opened_case' ORDER BY m.id LIMIT 1"
                                    )))
                                    .bind(case_id)
                                    .fetch_optional(pool)
                                    .await?
                                }
                                Some((_, dedupe)) => {
                                    let about = dedupe
                                        .rsplit_once('/')
                                        .map(|(head, k)| (head, k.to_string()))
                                        .filter(|(head, k)| {
                                            (head.ends_with("/follow-up") || head.ends_with("/attached-ack"))
                                                && k.len() == 16
                                                && k.bytes().all(|b| b.is_ascii_hexdigit())
                                        });
                                    match about {
                                        Some((_, k)) => {
                                            sqlx::query(sqlx::AssertSqlSafe(format!(
                                                "SELECT {COLS} FROM messages m WHERE m.case_id = $1 \
                                                 AND substr(m.content_hash, 1, 16) = $2 ORDER BY m.id LIMIT 1"
                                            )))
                                            .bind(case_id)
                                            .bind(k)
                                            .fetch_optional(pool)
                                            .await?
                                        }
                                        None => None,
                                    }
                                }
                                None => None,
                            }
                        }
                    };
                    if let Some(r) = row {
                        return Ok(Some(CaseMessage {
                            row: r.get(0),
                            message_id: r.get(1),
                            subject: r.get(2),
                            received_at: r.get(3),
                            raw: r.get(4),
                            messages_in_case: r.get(5),
                        }));
                    }
                }
                Ok(None)
            }

            pub async fn case_by_notice(
                pool: &Pool,
                notice_message_id: Option<&str>,
                text_hash: Option<&str>,
            ) -> Result<Vec<NoticeMatch>> {
                let rows = sqlx::query(NOTICE_QUERY)
                .bind(notice_message_id)
                .bind(text_hash)
                .fetch_all(pool)
                .await?;
                Ok(rows.iter().map(|r| NoticeMatch {
                    case_id: r.get(0),
                    by_message_id: r.get::<Option<bool>, _>(1).unwrap_or(false),
                    aware_at: r.get(2),
                    reporter: r.get(3),
                    reporter_organisation: r.get(4),
                }).collect())
            }

            /// `IN (…)` of binds; an empty list is `IN (NULL)` (matches nothing).
            fn push_in(q: &mut sqlx::QueryBuilder<Db>, xs: &[String]) {
                q.push(" IN (");
                if xs.is_empty() {
                    q.push("NULL");
                } else {
                    let mut list = q.separated(", ");
                    for x in xs {
                        list.push_bind(x.as_str());
                    }
                }
                q.push(")");
            }

            /// For each of `keys` (at least one), the id of the latest message
            /// on a case whose `column` (a notice identity) is that key, NULL
            /// when there is none: one probe of the index ordered by (key, id)
            /// each (`messages_notice_message_id`, `messages_text_hash`,
            /// migration 0017), however many copies of the notice there are.
            fn push_first_on_case(q: &mut sqlx::QueryBuilder<Db>, column: &str, keys: &[String]) {
                q.push("SELECT (SELECT id FROM messages WHERE ");
                q.push(column);
                q.push(" = k.column1 AND case_id IS NOT NULL ORDER BY id DESC LIMIT 1) FROM (VALUES ");
                let mut list = q.separated(", ");
                for key in keys {
                    list.push("(");
                    list.push_bind_unseparated(key.as_str());
                    list.push_unseparated(")");
                }
                q.push(") AS k");
            }

            /// `IN (…)` of row ids; an empty list is `IN (NULL)` (matches
            /// nothing).
            fn push_ids_in<'a>(q: &mut sqlx::QueryBuilder<Db>, ids: impl IntoIterator<Item = &'a i64>) {
                q.push(" IN (");
                let mut ids = ids.into_iter().peekable();
                if ids.peek().is_none() {
                    q.push("NULL");
                } else {
                    let mut list = q.separated(", ");
                    for id in ids {
                        list.push_bind(*id);
                    }
                }
                q.push(")");
            }

            /// The Message-IDs and content hashes among these that are recorded:
            /// one indexed query for a group.
            pub async fn known_messages(
                pool: &Pool,
                ids: &[String],
                hashes: &[String],
            ) -> Result<Vec<KnownMessage>> {
                let mut q = sqlx::QueryBuilder::<Db>::new(
                    "SELECT message_id, content_hash, from_address, received_at FROM messages WHERE content_hash",
                );
                push_in(&mut q, hashes);
                q.push(
                    " UNION ALL SELECT message_id, content_hash, from_address, received_at FROM messages WHERE message_id",
                );
                push_in(&mut q, ids);
                let rows = q.build().fetch_all(pool).await?;
                Ok(rows
                    .iter()
                    .map(|r| KnownMessage {
                        message_id: r.get(0),
                        content_hash: r.get(1),
                        from_address: r.get(2),
                        received_at: r.get(3),
                    })
                    .collect())
            }

            /// The case of each of these Message-IDs (received or sent), one query.
            pub async fn cases_by_message_ids(pool: &Pool, ids: &[String]) -> Result<Vec<(String, i64)>> {
                let mut q = sqlx::QueryBuilder::<Db>::new(
                    "SELECT message_id, case_id FROM messages WHERE case_id IS NOT NULL AND message_id",
                );
                push_in(&mut q, ids);
                q.push(" UNION ALL SELECT message_id, case_id FROM outbox WHERE case_id IS NOT NULL AND message_id");
                push_in(&mut q, ids);
                let rows = q.build().fetch_all(pool).await?;
                Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
            }

            /// The id of each of these case references, one query.
            pub async fn case_ids_by_refs(pool: &Pool, refs: &[String]) -> Result<Vec<(String, i64)>> {
                let mut q = sqlx::QueryBuilder::<Db>::new("SELECT ref, id FROM cases WHERE ref");
                push_in(&mut q, refs);
                let rows = q.build().fetch_all(pool).await?;
                Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
            }

            /// The messages on a case holding one of these notice identities,
            /// oldest first ([`NOTICE_QUERY`] for a group): one query, each
            /// identity one index probe (`push_first_on_case`).
            pub async fn cases_by_notices(
                pool: &Pool,
                notice_ids: &[String],
                text_hashes: &[String],
            ) -> Result<Vec<NoticeRow>> {
                // Only the latest message of a case per identity: the one a
                // message-by-message look-up ([`NOTICE_QUERY`]) would find. A
                // notice forwarded a hundred times gave a hundred rows before,
                // 8 ms a group in the drain benchmark, and read a hundred
                // index entries until session 32 (issue #10).
                let mut q = sqlx::QueryBuilder::<Db>::new(
                    "SELECT m.id, m.case_id, m.notice_message_id, m.text_hash, c.aware_at, c.reporter_address, c.reporter_organisation \
                     FROM messages m JOIN cases c ON c.id = m.case_id WHERE m.id IN (",
                );
                let mut arms: Vec<(&str, &[String])> = Vec::with_capacity(2);
                for (column, keys) in [("notice_message_id", notice_ids), ("text_hash", text_hashes)] {
                    if !keys.is_empty() {
                        arms.push((column, keys));
                    }
                }
                if arms.is_empty() {
                    return Ok(Vec::new());
                }
                for (i, (column, keys)) in arms.into_iter().enumerate() {
                    if i > 0 {
                        q.push(" UNION ALL ");
                    }
                    push_first_on_case(&mut q, column, keys);
                }
                q.push(") ORDER BY m.id LIMIT ");
                q.push_bind(GROUP_ROWS_MAX);
                let rows = q.build().fetch_all(pool).await?;
                Ok(rows
                    .iter()
                    .map(|r| NoticeRow {
                        case_id: r.get(1),
                        notice_message_id: r.get(2),
                        text_hash: r.get(3),
                        aware_at: r.get(4),
                        reporter: r.get(5),
                        reporter_organisation: r.get(6),
                    })
                    .collect())
            }

            /// The open cases of any of these suppliers whose span reaches
            /// `[from, to]` ([`SERIES_QUERY`] for a group), newest first, at most
            /// `limit` rows.
            pub async fn series_candidates_many(
                pool: &Pool,
                domains: &[String],
                orgs: &[String],
                from: DateTime<Utc>,
                to: DateTime<Utc>,
                limit: i64,
            ) -> Result<Vec<(Option<String>, Option<String>, SeriesRow)>> {
                let mut q = sqlx::QueryBuilder::<Db>::new(
                    "SELECT id, ref, aware_at, opened_at, systems, facts, supplier_domain, supplier_org \
                     FROM cases WHERE (supplier_domain",
                );
                push_in(&mut q, domains);
                q.push(" OR supplier_org");
                push_in(&mut q, orgs);
                q.push(") AND state <> 'closed' AND aware_at <= ");
                q.push_bind(to);
                q.push(" AND opened_at >= ");
                q.push_bind(from);
                q.push(" ORDER BY id DESC LIMIT ");
                q.push_bind(limit);
                let rows = q.build().fetch_all(pool).await?;
                Ok(rows
                    .iter()
                    .map(|r| {
                        (
                            r.get(6),
                            r.get(7),
                            SeriesRow {
                                id: r.get(0),
                                case_ref: r.get(1),
                                aware_at: r.get(2),
                                opened_at: r.get(3),
                                systems: json_list(&r.get::<String, _>(4)),
                                facts: serde_json::from_str(&r.get::<String, _>(5)).unwrap_or_default(),
                            },
                        )
                    })
                    .collect())
            }

            pub async fn series_candidates(
                pool: &Pool,
                domain: Option<&str>,
                org: Option<&str>,
                from: DateTime<Utc>,
                to: DateTime<Utc>,
                limit: i64,
            ) -> Result<Vec<SeriesRow>> {
                let rows = sqlx::query(SERIES_QUERY)
                    .bind(domain)
                    .bind(org)
                    .bind(to)
                    .bind(from)
                    .bind(limit)
                    .fetch_all(pool)
                    .await?;
                Ok(rows
                    .iter()
                    .map(|r| SeriesRow {
                        id: r.get(0),
                        case_ref: r.get(1),
                        aware_at: r.get(2),
                        opened_at: r.get(3),
                        systems: json_list(&r.get::<String, _>(4)),
                        facts: serde_json::from_str(&r.get::<String, _>(5)).unwrap_or_default(),
                    })
                    .collect())
            }

            /// Moves a case's awareness earlier ([`EarlierAwareness`]): the
            /// deadline follows; the next reminder too, unless reminders stopped.
            async fn move_awareness(tx: &mut Tx, e: &EarlierAwareness) -> Result<()> {
                let (next_at, next_seq) = match e.next_reminder {
                    Some((at, seq)) => (Some(at), Some(i64::from(seq))),
                    None => (None, None),
                };
                let changed = sqlx::query(
                    "UPDATE cases SET aware_at = $1, deadline_at = $2, workflow = $3, version = version + 1, \
                     nis2_reminder_at = $4, next_deadline_at = $5 \
                     WHERE id = $6 AND version = $7",
                )
                .bind(e.aware_at)
                .bind(e.deadline_at)
                .bind(e.workflow.to_string())
                .bind(e.nis2_reminder)
                .bind(e.next_deadline_at)
                .bind(e.case_id)
                .bind(e.expected_version)
                .execute(&mut **tx)
                .await?
                .rows_affected();
                if changed == 0 {
                    return Err(StoreError::Conflict(format!("case id {} changed meanwhile", e.case_id)));
                }
                // The plan follows, unless reminders stopped (its own row,
                // migration 0018; the case row above holds the lock).
                sqlx::query(
                    "UPDATE case_plans SET \
                     next_reminder_at = CASE WHEN next_reminder_at IS NULL THEN NULL ELSE $1 END, \
                     next_reminder_seq = CASE WHEN next_reminder_seq IS NULL THEN NULL ELSE $2 END \
                     WHERE case_id = $3",
                )
                .bind(next_at)
                .bind(next_seq)
                .bind(e.case_id)
                .execute(&mut **tx)
                .await?;
                Ok(())
            }

            /// A command's new workflow state for a case, written only if the
            /// case did not change since it was read.
            async fn update_workflow(tx: &mut Tx, id: i64, u: &CaseUpdate) -> Result<()> {
                let (set_at, set_seq, stop) = match u.reminders {
                    Reminders::Keep => (None, None, false),
                    Reminders::Stop => (None, None, true),
                    Reminders::Set(at, seq) => (Some(at), Some(i64::from(seq)), false),
                };
                let changed = sqlx::query(
                    "UPDATE cases SET workflow = $1, state = $2, version = version + 1, \
                     nis2_reminder_at = $3, next_deadline_at = $4 \
                     WHERE id = $5 AND version = $6",
                )
                .bind(u.workflow.to_string())
                .bind(&u.state)
                .bind(u.nis2_reminder)
                .bind(u.next_deadline_at)
                .bind(id)
                .bind(u.expected_version)
                .execute(&mut **tx)
                .await?
                .rows_affected();
                if changed == 0 {
                    return Err(StoreError::Conflict(format!("case id {id} changed meanwhile")));
                }
                // The plan (its own row, migration 0018), when the command
                // moves or stops it; the case row above holds the lock.
                if stop || set_at.is_some() {
                    sqlx::query(
                        "UPDATE case_plans SET next_reminder_at = $1, next_reminder_seq = $2 WHERE case_id = $3",
                    )
                    .bind(set_at)
                    .bind(set_seq)
                    .bind(id)
                    .execute(&mut **tx)
                    .await?;
                }
                Ok(())
            }

            /// [`MergeWrite`]: the target's row first (its awareness and
            /// reminder, version-checked), its events right after (each row
            /// change is sealed by the next event, or `register verify` sees
            /// an edit), then the source's messages move to the target.
            async fn merge_cases(tx: &mut Tx, m: &MergeWrite, now: DateTime<Utc>) -> Result<()> {
                move_awareness(tx, &m.target).await?;
                append_events_in(tx, m.target.case_id, now, &m.events).await?;
                sqlx::query("UPDATE messages SET case_id = $1 WHERE case_id = $2")
                    .bind(m.target.case_id)
                    .bind(m.source_id)
                    .execute(&mut **tx)
                    .await?;
                Ok(())
            }

            pub async fn case_id_by_ref(pool: &Pool, case_ref: &str) -> Result<Option<i64>> {
                Ok(sqlx::query_scalar("SELECT id FROM cases WHERE ref = $1")
                    .bind(case_ref)
                    .fetch_optional(pool)
                    .await?)
            }

            async fn case_ref_of(tx: &mut Tx, case_id: i64) -> Result<CaseRef> {
                let r: String = sqlx::query_scalar("SELECT ref FROM cases WHERE id = $1")
                    .bind(case_id)
                    .fetch_one(&mut **tx)
                    .await?;
                Ok(CaseRef::from_stored(r))
            }

            /// Locks these case rows until the transaction ends: the first of
            /// the one lock order (case rows, then the register counter) in
            /// which every transaction that appends events takes its locks, so
            /// two cannot wait on each other. PostgreSQL only (`$row_lock`):
            /// every SQLite transaction that writes begins IMMEDIATE and holds
            /// the database's one write lock from its start, and the statement
            /// was one more hand-off to SQLite's thread a group (issue #10).
            async fn lock_cases(tx: &mut Tx, ids: &[i64]) -> Result<()> {
                if $row_lock.is_empty() || ids.is_empty() {
                    return Ok(());
                }
                // The lock an update of the rows would take (not `FOR
                // UPDATE`, which would also wait for the foreign keys' checks
                // of rows that only refer to a case), without writing them.
                let mut q = sqlx::QueryBuilder::<Db>::new("SELECT id FROM cases WHERE id");
                push_ids_in(&mut q, ids);
                q.push(" FOR NO KEY UPDATE");
                q.build().fetch_all(&mut **tx).await?;
                Ok(())
            }

            /// Appends `evs` to one case's timeline: the rows writing them
            /// one by one would write (see `store::chain`), in six
            /// statements whatever their number (five on SQLite: no row
            /// lock). Nothing in between may change the case row (each event
            /// seals the row as the transaction leaves it).
            async fn append_events_in(
                tx: &mut Tx,
                case_id: i64,
                at: DateTime<Utc>,
                evs: impl IntoIterator<Item = &NewEvent>,
            ) -> Result<()> {
                let evs: Vec<&NewEvent> = evs.into_iter().collect();
                if evs.is_empty() {
                    return Ok(());
                }
                // Locks in one order everywhere (the case row, then the register
                // counter), so two transactions cannot wait on each other.
                lock_cases(tx, &[case_id]).await?;
                // The register-wide numbers next: it locks the counter row until
                // commit, so appends are serialised across replicas and the
                // numbers (and the case's seq read below) follow commit order.
                let n = evs.len() as i64;
                let last_reg: i64 = sqlx::query_scalar(
                    "UPDATE register_counter SET last = last + $1 WHERE id = 1 RETURNING last",
                )
                .bind(n)
                .fetch_one(&mut **tx)
                .await?;
                // The case row as this transaction leaves it (every change of the
                // row is written before its events): sealed into the events.
                let row = sqlx::query(sqlx::AssertSqlSafe(format!("{RECORD} WHERE id = $1")))
                    .bind(case_id)
                    .fetch_one(&mut **tx)
                    .await?;
                // Its number and stored columns are what the seal reads: not
                // decoded into its types.
                let record = undecoded_row(&row);
                let head = sqlx::query(
                    "SELECT seq, hash FROM events WHERE case_id = $1 ORDER BY seq DESC LIMIT 1",
                )
                .bind(case_id)
                .fetch_optional(&mut **tx)
                .await?
                .map(|r| (r.get::<i64, _>(0), r.get::<String, _>(1)));
                let at = chain::stored_instant(at);
                let mut rows = Vec::with_capacity(evs.len());
                let t = chain::Timeline {
                    case_id,
                    case_ref: &record.case_ref,
                    row: &record.row_state(),
                    head,
                };
                chain::chain(t, &mut (last_reg - n), at, evs.iter().copied(), &mut rows);
                insert_event_rows(tx, at, &rows).await
            }

            /// Chained event rows (`store::chain`), then each timeline's
            /// head: its last row's hash.
            async fn insert_event_rows(
                tx: &mut Tx,
                at: DateTime<Utc>,
                rows: &[chain::EventRow],
            ) -> Result<()> {
                insert_events(tx, at, rows).await?;
                let heads: Vec<(i64, &str)> = last_hashes(rows).into_iter().collect();
                for part in heads.chunks(crate::store::UPDATE_ROWS) {
                    let mut q = sqlx::QueryBuilder::<Db>::new(
                        "UPDATE case_plans SET timeline_head = v.column2 FROM (",
                    );
                    q.push_values(part, |mut b, (id, h)| {
                        b.push_bind(*id).push_bind(*h);
                    });
                    q.push(") AS v WHERE case_plans.case_id = v.column1");
                    q.build().execute(&mut **tx).await?;
                }
                Ok(())
            }

            /// Chained event rows (`store::chain`), at most 100 a statement
            /// (9 binds each); the timelines' heads are the caller's.
            async fn insert_events(
                tx: &mut Tx,
                at: DateTime<Utc>,
                rows: &[chain::EventRow],
            ) -> Result<()> {
                for part in rows.chunks(<Db as Lists>::rows(100)) {
                    <Db as Lists>::insert_events(at, part).build().execute(&mut **tx).await?;
                }
                Ok(())
            }

            /// Each timeline's head after `rows`: the hash of its last row.
            fn last_hashes(rows: &[chain::EventRow]) -> std::collections::HashMap<i64, &str> {
                let mut last = std::collections::HashMap::new();
                for e in rows {
                    last.insert(e.case_id, e.hash.as_str());
                }
                last
            }

            /// Queues mails in order: the small rows (ids in the mails'
            /// order), then their raw mails in `outbox_raw` (migration 0013)
            /// under the same ids, found by Message-ID: a mail not queued
            /// (its dedupe key or Message-ID queued before) adds nothing.
            /// Two statements for up to [`QUEUE_ROWS`] mails, not two a mail
            /// (and no rows sent back): the clock's groups queue hundreds.
            async fn queue_mails(
                tx: &mut Tx,
                case_id: Option<i64>,
                mails: Vec<OutboxMail>,
                now: DateTime<Utc>,
            ) -> Result<()> {
                let rows: Vec<(Option<i64>, OutboxMail)> = mails.into_iter().map(|m| (case_id, m)).collect();
                queue_mail_rows(tx, &rows, now).await
            }

            /// [`queue_mails`] for mails of several cases; each mail's
            /// priority is its case's deadline as this transaction sees it.
            async fn queue_mail_rows(
                tx: &mut Tx,
                rows: &[(Option<i64>, OutboxMail)],
                now: DateTime<Utc>,
            ) -> Result<()> {
                for chunk in rows.chunks(QUEUE_ROWS) {
                    // The rows in the mails' order (column1), each with its
                    // case's deadline by one join: a scalar subquery a row
                    // cost PostgreSQL's planner 8-11 ms per 100 rows, the
                    // join under 1 ms (EXPLAIN ANALYZE of both forms).
                    let mut q = sqlx::QueryBuilder::<Db>::new(
                        "INSERT INTO outbox (case_id, dedupe_key, message_id, purpose, envelope_from, \
                         recipients, subject, status, attempts, next_attempt_at, created_at, priority_at) \
                         SELECT v.column2, v.column3, v.column4, v.column5, v.column6, v.column7, v.column8, \
                         'pending', 0, ",
                    );
                    q.push_bind(now).push(", ").push_bind(now).push(", COALESCE(c.deadline_at, ");
                    q.push_bind(no_deadline()).push(") FROM (");
                    q.push_values(chunk.iter().enumerate(), |mut b, (i, (case_id, m))| {
                        b.push_bind(i as i64)
                            .push_bind(*case_id)
                            .push_bind(&m.dedupe_key)
                            .push_bind(&m.message_id)
                            .push_bind(&m.purpose)
                            .push_bind(&m.envelope_from)
                            .push_bind(serde_json::to_string(&m.recipients).unwrap_or_default())
                            .push_bind(&m.subject);
                    });
                    // WHERE: SQLite's upsert after a SELECT needs it.
                    q.push(
                        ") AS v LEFT JOIN cases AS c ON c.id = v.column2 WHERE true \
                         ORDER BY v.column1 ON CONFLICT DO NOTHING",
                    );
                    q.build().execute(&mut **tx).await?;
                    // The raw mails, at most GROUP_INSERT_BYTES a statement
                    // (or one mail).
                    let parts = crate::store::parts_by_bytes(chunk, chunk.len(), crate::store::GROUP_INSERT_BYTES, |(_, m)| m.raw.len());
                    for part in parts {
                        let mut q = sqlx::QueryBuilder::<Db>::new(
                            "INSERT INTO outbox_raw (id, raw) SELECT o.id, v.column2 FROM (",
                        );
                        q.push_values(part, |mut b, (_, m)| {
                            b.push_bind(&m.message_id).push_bind(&m.raw);
                        });
                        q.push(") AS v JOIN outbox AS o ON o.message_id = v.column1 WHERE true ON CONFLICT (id) DO NOTHING");
                        q.build().execute(&mut **tx).await?;
                    }
                }
                Ok(())
            }

            /// A new case row with the next number of its year.
            async fn insert_case(tx: &mut Tx, prefix: &str, c: &NewCase) -> Result<CaseKey> {
                insert_cases(tx, prefix, &[c])
                    .await?
                    .pop()
                    .ok_or_else(|| StoreError::NotFound("the new case row".into()))
            }

            /// New case rows, numbered in their order as one by one would
            /// number them: one counter statement per year among them, then
            /// the rows in multi-row INSERTs ([`CASE_ROWS`] a statement, 22
            /// binds each), known again by their numbers.
            async fn insert_cases(tx: &mut Tx, prefix: &str, cases: &[&NewCase]) -> Result<Vec<CaseKey>> {
                // The years in order of first appearance, with how many each.
                let mut years: Vec<(i32, i64)> = Vec::new();
                for c in cases {
                    match years.iter_mut().find(|(y, _)| *y == c.year) {
                        Some((_, k)) => *k += 1,
                        None => years.push((c.year, 1)),
                    }
                }
                let mut next_no: std::collections::HashMap<i32, i64> = std::collections::HashMap::new();
                for (year, k) in years {
                    let last: i64 = sqlx::query_scalar(
                        "INSERT INTO case_counters (prefix, year, last) VALUES ($1, $2, $3) \
                         ON CONFLICT (prefix, year) DO UPDATE SET last = case_counters.last + excluded.last \
                         RETURNING last",
                    )
                    .bind(prefix)
                    .bind(i64::from(year))
                    .bind(k)
                    .fetch_one(&mut **tx)
                    .await?;
                    next_no.insert(year, last - k + 1);
                }
                let refs: Vec<CaseRef> = cases
                    .iter()
                    .map(|c| {
                        let no = next_no.entry(c.year).or_insert(1);
                        let r = CaseRef::new(prefix, c.year, u32::try_from(*no).unwrap_or(u32::MAX));
                        *no += 1;
                        r
                    })
                    .collect();
                let mut ids: std::collections::HashMap<String, i64> = std::collections::HashMap::new();
                let rows: Vec<(&CaseRef, &&NewCase)> = refs.iter().zip(cases).collect();
                for part in rows.chunks(crate::store::CASE_ROWS) {
                    let mut q = sqlx::QueryBuilder::<Db>::new(
                        "INSERT INTO cases (ref, state, aware_at, deadline_at, opened_at, reporter_name, \
                         reporter_address, reporter_organisation, reporter_domain, systems, rule_name, \
                         route, facts, supplier_domain, supplier_org, \
                         workflow, nis2_reminder_at, committee, official, deputy, next_deadline_at) ",
                    );
                    q.push_values(part, |mut b, (case_ref, c)| {
                        b.push_bind(case_ref.as_str().to_string())
                            .push("'received'")
                            .push_bind(c.aware_at)
                            .push_bind(c.deadline_at)
                            .push_bind(c.opened_at)
                            .push_bind(c.reporter_name.clone())
                            .push_bind(c.reporter_address.clone())
                            .push_bind(c.reporter_organisation.clone())
                            .push_bind(c.reporter_domain.clone())
                            .push_bind(serde_json::to_string(&c.systems).unwrap_or_default())
                            .push_bind(c.rule_name.clone())
                            .push_bind(c.route.to_string())
                            .push_bind(c.facts.to_string())
                            .push_bind(c.supplier_domain.clone())
                            .push_bind(c.supplier_org.clone())
                            .push_bind(match &c.workflow {
                                // The case's number is given here: the workflow takes it.
                                Some(serde_json::Value::Object(o)) => {
                                    let mut o = o.clone();
                                    o.insert("case_ref".into(), serde_json::json!(case_ref.as_str()));
                                    serde_json::Value::Object(o).to_string()
                                }
                                _ => "{}".to_string(),
                            })
                            .push_bind(c.nis2_reminder)
                            // The lists' columns (migration 0010), from the route as stored.
                            .push_bind(c.route.pointer("/committee/name").and_then(|v| v.as_str()).map(str::to_string))
                            .push_bind(c.route.pointer("/official/address").and_then(|v| v.as_str()).map(str::to_lowercase))
                            .push_bind(c.route.pointer("/deputy/address").and_then(|v| v.as_str()).map(str::to_lowercase))
                            .push_bind(c.next_deadline_at);
                    });
                    q.push(" RETURNING id, ref");
                    let mut plans: Vec<(i64, Option<(DateTime<Utc>, u32)>)> = Vec::with_capacity(part.len());
                    let mut new: std::collections::HashMap<String, i64> = std::collections::HashMap::new();
                    for r in q.build().fetch_all(&mut **tx).await? {
                        new.insert(r.get::<String, _>(1), r.get::<i64, _>(0));
                    }
                    for (case_ref, c) in part {
                        if let Some(id) = new.get(case_ref.as_str()) {
                            plans.push((*id, c.next_reminder));
                        }
                    }
                    // Each new case's plan row (migration 0018), its timeline
                    // not begun.
                    if !plans.is_empty() {
                        let mut q = sqlx::QueryBuilder::<Db>::new(
                            "INSERT INTO case_plans (case_id, next_reminder_at, next_reminder_seq) ",
                        );
                        q.push_values(&plans, |mut b, (id, next)| {
                            b.push_bind(*id)
                                .push_bind(next.map(|(at, _)| at))
                                .push_bind(next.map(|(_, seq)| i64::from(seq)));
                        });
                        q.build().execute(&mut **tx).await?;
                    }
                    ids.extend(new);
                }
                refs.into_iter()
                    .map(|case_ref| match ids.remove(case_ref.as_str()) {
                        Some(id) => Ok(CaseKey { id, case_ref }),
                        None => Err(StoreError::NotFound(format!("the new row of {case_ref}"))),
                    })
                    .collect()
            }

            pub async fn commit_ingest<F>(
                pool: &Pool,
                w: IngestWrite,
                prefix: &str,
                now: DateTime<Utc>,
                compose: F,
            ) -> Result<IngestResult>
            where
                F: FnOnce(&CaseKey) -> Composed + Send,
            {
                let mut tx = $begin(pool).await?;
                let r = ingest_in(&mut tx, w, prefix, now, compose).await?;
                tx.commit().await?;
                Ok(r)
            }

            /// A group of messages in ONE transaction (group commit): all are
            /// written, in order, or none is. Their register rows go in with
            /// one statement ([`insert_messages`]); then each message's case,
            /// events and mail, in order.
            pub async fn commit_ingest_group(
                pool: &Pool,
                items: Vec<GroupItem>,
                prefix: &str,
            ) -> Result<Vec<IngestResult>> {
                let mut tx = $begin(pool).await?;
                let rows = {
                    let msgs: Vec<(&NewMessage, DateTime<Utc>)> =
                        items.iter().map(|it| (&it.write.message, it.now)).collect();
                    insert_messages(&mut tx, &msgs).await?
                };
                let mut out = Vec::with_capacity(items.len());
                // The group's mails are queued together at its end (two
                // statements, not two a message), in the messages' order.
                let mut queue: Vec<(Option<i64>, OutboxMail)> = Vec::new();
                let mut queue_at: Option<DateTime<Utc>> = None;
                let mut items = items.into_iter().zip(rows).peekable();
                while let Some((it, row)) = items.next() {
                    if let Some(at) = queue_at.filter(|at| *at != it.now) {
                        queue_mail_rows(&mut tx, &std::mem::take(&mut queue), at).await?;
                    }
                    queue_at = Some(it.now);
                    if !in_run(&it) {
                        out.push(ingest_rest(&mut tx, it.write, row, prefix, it.now, it.compose, &mut queue).await?);
                        continue;
                    }
                    // A run of members at one instant: each kind of write
                    // one statement for all of them.
                    let mut run = vec![(it, row)];
                    while let Some((next, _)) = items.peek() {
                        if next.now != run[0].0.now || !in_run(next) {
                            break;
                        }
                        run.extend(items.next());
                    }
                    out.extend(write_run(&mut tx, run, prefix, &mut queue).await?);
                }
                if let Some(at) = queue_at {
                    queue_mail_rows(&mut tx, &queue, at).await?;
                }
                tx.commit().await?;
                Ok(out)
            }

            /// A message a group writes in a run ([`write_run`]): it opens a
            /// case, attaches to one (with its workflow update or earlier
            /// awareness), or is only recorded. A merge or a split (two
            /// cases each) is written on its own ([`ingest_rest`]).
            fn in_run(it: &GroupItem) -> bool {
                matches!(
                    it.write.change,
                    CaseChange::Open(_) | CaseChange::None | CaseChange::Attach { .. } | CaseChange::AttachEarlier(_)
                )
            }

            /// The writes of a run of group members ([`in_run`]) at one
            /// instant: the rows writing them one by one ([`ingest_rest`])
            /// would write, but each kind of write one statement for the
            /// whole run (new numbers and case rows; the rows of the cases it
            /// attaches to locked; all its cases read back for the seal; the
            /// messages' case; the timelines' last events; the register
            /// numbers; the events; the heads). Only an attached case's own
            /// change (workflow, awareness) stays one statement each. It
            /// relies on the group's rule that no two members change one
            /// case (`ingest::group`): each case's row is then, after its
            /// member's change, the row as the transaction leaves it, and
            /// its events take their register numbers in the members' order.
            async fn write_run(
                tx: &mut Tx,
                run: Vec<(GroupItem, Option<i64>)>,
                prefix: &str,
                queue: &mut Vec<(Option<i64>, OutboxMail)>,
            ) -> Result<Vec<IngestResult>> {
                use std::collections::HashMap;
                let Some(now) = run.first().map(|(it, _)| it.now) else {
                    return Ok(Vec::new());
                };
                // 1. The new cases, numbered in the run's order; the attached
                // cases' own changes.
                let opens: Vec<&NewCase> = run
                    .iter()
                    .filter_map(|(it, row)| match (&it.write.change, row) {
                        (CaseChange::Open(c), Some(_)) => Some(&**c),
                        _ => None,
                    })
                    .collect();
                let mut new_keys = insert_cases(tx, prefix, &opens).await?.into_iter();
                let mut attached: Vec<i64> = Vec::new();
                let changes: Vec<&CaseChange> = run
                    .iter()
                    .filter(|(_, row)| row.is_some())
                    .map(|(it, _)| &it.write.change)
                    .collect();
                for change in changes {
                    match change {
                        CaseChange::Attach { case_id, update } => {
                            if let Some(u) = update {
                                update_workflow(tx, *case_id, u).await?;
                            }
                            attached.push(*case_id);
                        }
                        CaseChange::AttachEarlier(e) => {
                            move_awareness(tx, e).await?;
                            attached.push(e.case_id);
                        }
                        _ => {}
                    }
                }
                // 2. The attached cases' rows locked (one lock order: rows,
                // then the register counter).
                for part in attached.chunks(crate::store::CASE_ROWS) {
                    lock_cases(tx, part).await?;
                }
                // Each member's case (None: only recorded, or a duplicate).
                let mut keys: Vec<Option<i64>> = Vec::with_capacity(run.len());
                for (it, row) in &run {
                    keys.push(match (&it.write.change, row) {
                        (_, None) | (CaseChange::None, _) => None,
                        (CaseChange::Open(_), Some(_)) => Some(
                            new_keys
                                .next()
                                .ok_or_else(|| StoreError::NotFound("a new case of the run".into()))?
                                .id,
                        ),
                        (CaseChange::Attach { case_id, .. }, Some(_)) => Some(*case_id),
                        (CaseChange::AttachEarlier(e), Some(_)) => Some(e.case_id),
                        // `in_run` keeps these out of a run.
                        (CaseChange::AttachMerge { .. } | CaseChange::AttachSplit { .. }, Some(_)) => {
                            return Err(StoreError::Other("a merge or a split in a group's run".into()));
                        }
                    });
                }
                // Every case of the run as the transaction leaves it (its
                // number and its seal) and its timeline's last event (none
                // for a new case), one query per CASE_ROWS cases.
                let ids: Vec<i64> = keys.iter().flatten().copied().collect();
                let mut records: HashMap<i64, CaseRecord> = HashMap::new();
                let mut heads: HashMap<i64, (i64, String)> = HashMap::new();
                for part in ids.chunks(crate::store::CASE_ROWS) {
                    let mut q = sqlx::QueryBuilder::<Db>::new(format!("SELECT r.*, h.seq, h.hash FROM ({RECORD} WHERE id"));
                    push_ids_in(&mut q, part);
                    q.push(") r LEFT JOIN (");
                    push_timeline_heads(&mut q, part);
                    q.push(") h ON h.case_id = r.id");
                    for r in q.build().fetch_all(&mut **tx).await?.iter() {
                        // The seal reads the stored columns, not the types.
                        let c = undecoded_row(r);
                        // By name: RECORD has no `seq` or `hash` column.
                        if let (Some(seq), Some(hash)) = (r.get::<Option<i64>, _>("seq"), r.get::<Option<String>, _>("hash")) {
                            heads.insert(c.id, (seq, hash));
                        }
                        records.insert(c.id, c);
                    }
                }
                // 3. Each member's case, events and mails, in order.
                let mut out = Vec::with_capacity(run.len());
                let mut moves: Vec<(i64, i64)> = Vec::new();
                let mut appends: Vec<(i64, Vec<NewEvent>)> = Vec::new();
                for ((it, row), key) in run.into_iter().zip(keys) {
                    let GroupItem { write: w, compose, .. } = it;
                    if let Some((mb, cp)) = &w.checkpoint {
                        write_checkpoint(tx, mb, *cp).await?;
                    }
                    let (Some(message_row), Some(id)) = (row, key) else {
                        out.push(IngestResult { duplicate: row.is_none(), case_id: None, case_ref: None });
                        continue;
                    };
                    let record = records
                        .get(&id)
                        .ok_or_else(|| StoreError::NotFound(format!("case id {id}")))?;
                    let k = CaseKey { id, case_ref: record.case_ref.clone() };
                    moves.push((message_row, k.id));
                    let c = compose(&k);
                    queue.extend(c.mails.into_iter().map(|m| (Some(k.id), m)));
                    let mut evs = w.events;
                    evs.extend(c.events);
                    appends.push((k.id, evs));
                    out.push(IngestResult { duplicate: false, case_id: Some(k.id), case_ref: Some(k.case_ref) });
                }
                for part in moves.chunks(crate::store::UPDATE_ROWS) {
                    let mut q = sqlx::QueryBuilder::<Db>::new("UPDATE messages SET case_id = v.column2 FROM (");
                    q.push_values(part, |mut b, (row, case)| {
                        b.push_bind(*row).push_bind(*case);
                    });
                    q.push(") AS v WHERE messages.id = v.column1");
                    q.build().execute(&mut **tx).await?;
                }
                // 4. The events: register numbers for all, chained in the
                // members' order, and each timeline's head.
                let n: i64 = appends.iter().map(|(_, evs)| evs.len() as i64).sum();
                if n == 0 {
                    return Ok(out);
                }
                let last_reg: i64 = sqlx::query_scalar(
                    "UPDATE register_counter SET last = last + $1 WHERE id = 1 RETURNING last",
                )
                .bind(n)
                .fetch_one(&mut **tx)
                .await?;
                let at = chain::stored_instant(now);
                let mut reg_seq = last_reg - n;
                let mut rows = Vec::with_capacity(usize::try_from(n).unwrap_or(0));
                for (id, evs) in &appends {
                    let record = records
                        .get(id)
                        .ok_or_else(|| StoreError::NotFound(format!("case id {id}")))?;
                    let t = chain::Timeline {
                        case_id: *id,
                        case_ref: &record.case_ref,
                        row: &record.row_state(),
                        head: heads.remove(id),
                    };
                    chain::chain(t, &mut reg_seq, at, evs.iter(), &mut rows);
                }
                insert_event_rows(tx, at, &rows).await?;
                Ok(out)
            }

            /// The query of [`timeline_heads`]: `case_id, seq, hash` of each
            /// of `ids`' timelines' last event.
            fn push_timeline_heads(q: &mut sqlx::QueryBuilder<Db>, ids: &[i64]) {
                q.push(
                    "SELECT e.case_id, e.seq, e.hash FROM events e JOIN \
                     (SELECT case_id, MAX(seq) AS m FROM events WHERE case_id",
                );
                push_ids_in(q, ids);
                q.push(" GROUP BY case_id) x ON e.case_id = x.case_id AND e.seq = x.m");
            }

            /// Each of `ids`' timelines' last event (seq, hash); a case
            /// without events has none.
            async fn timeline_heads(
                tx: &mut Tx,
                ids: &[i64],
            ) -> Result<std::collections::HashMap<i64, (i64, String)>> {
                if ids.is_empty() {
                    return Ok(Default::default());
                }
                let mut q = sqlx::QueryBuilder::<Db>::new("");
                push_timeline_heads(&mut q, ids);
                Ok(q
                    .build()
                    .fetch_all(&mut **tx)
                    .await?
                    .iter()
                    .map(|r| (r.get::<i64, _>(0), (r.get::<i64, _>(1), r.get::<String, _>(2))))
                    .collect())
            }

            /// The register rows of a group in one multi-row INSERT: each
            /// message's new row id, None for one already recorded (same
            /// Message-ID or bytes). RETURNING keeps no order: a row is known
            /// by its content hash, given to one message only.
            async fn insert_messages(
                tx: &mut Tx,
                items: &[(&NewMessage, DateTime<Utc>)],
            ) -> Result<Vec<Option<i64>>> {
                let mut ids: std::collections::HashMap<String, i64> = std::collections::HashMap::new();
                // 15 parameters a row: well within both backends' limits. The
                // statement holds a copy of its rows' raw bytes: a part holds
                // at most GROUP_INSERT_BYTES of them (or one message).
                let parts = crate::store::parts_by_bytes(
                    items,
                    <Db as Lists>::rows(crate::store::GROUP_INSERT_ROWS),
                    crate::store::GROUP_INSERT_BYTES,
                    |(m, _)| m.raw.len(),
                );
                for part in parts {
                    let mut q = <Db as Lists>::insert_messages(part);
                    q.push(" ON CONFLICT DO NOTHING RETURNING id, content_hash");
                    for r in q.build().fetch_all(&mut **tx).await? {
                        ids.insert(r.get::<String, _>(1), r.get::<i64, _>(0));
                    }
                }
                Ok(items.iter().map(|(m, _)| ids.remove(&m.content_hash)).collect())
            }

            /// One message's writes inside the caller's transaction.
            async fn ingest_in<F>(
                tx: &mut Tx,
                w: IngestWrite,
                prefix: &str,
                now: DateTime<Utc>,
                compose: F,
            ) -> Result<IngestResult>
            where
                F: FnOnce(&CaseKey) -> Composed + Send,
            {
                let inserted = insert_messages(tx, &[(&w.message, now)]).await?.pop().flatten();
                let mut queue = Vec::new();
                let r = ingest_rest(tx, w, inserted, prefix, now, compose, &mut queue).await?;
                queue_mail_rows(tx, &queue, now).await?;
                Ok(r)
            }

            /// A message's writes after its register row (`inserted`: its id,
            /// None for a message already recorded: only the checkpoint moves).
            /// Its mails go to `queue`, for the caller to queue in the same
            /// transaction.
            async fn ingest_rest<F>(
                tx: &mut Tx,
                w: IngestWrite,
                inserted: Option<i64>,
                prefix: &str,
                now: DateTime<Utc>,
                compose: F,
                queue: &mut Vec<(Option<i64>, OutboxMail)>,
            ) -> Result<IngestResult>
            where
                F: FnOnce(&CaseKey) -> Composed + Send,
            {
                let Some(message_row) = inserted else {
                    // Seen before (a re-delivery or a replay after a crash): only the
                    // checkpoint moves on.
                    if let Some((mb, cp)) = &w.checkpoint {
                        write_checkpoint(tx, mb, *cp).await?;
                    }
                    return Ok(IngestResult { duplicate: true, case_id: None, case_ref: None });
                };
                let mut w = w;
                let mut split_done: Option<Vec<OutboxMail>> = None;
                // Called once: for the new case of a split, else for the case.
                let mut compose = Some(compose);
                let case = match std::mem::replace(&mut w.change, CaseChange::None) {
                    CaseChange::None => None,
                    CaseChange::Attach { case_id: id, update } => {
                        if let Some(u) = update {
                            update_workflow(tx, id, &u).await?;
                        }
                        Some(CaseKey { id, case_ref: case_ref_of(tx, id).await? })
                    }
                    CaseChange::AttachMerge { case_id: id, update, merge } => {
                        update_workflow(tx, id, &update).await?;
                        merge_cases(tx, &merge, now).await?;
                        Some(CaseKey { id, case_ref: case_ref_of(tx, id).await? })
                    }
                    CaseChange::AttachEarlier(e) => {
                        move_awareness(tx, &e).await?;
                        Some(CaseKey { id: e.case_id, case_ref: case_ref_of(tx, e.case_id).await? })
                    }
                    CaseChange::Open(c) => Some(insert_case(tx, prefix, &c).await?),
                    CaseChange::AttachSplit { case_id: id, update, split } => {
                        if let Some(u) = update {
                            update_workflow(tx, id, &u).await?;
                        }
                        let new = insert_case(tx, prefix, &split.case).await?;
                        let moved = sqlx::query("UPDATE messages SET case_id = $1 WHERE id = $2 AND case_id = $3")
                            .bind(new.id)
                            .bind(split.message_row)
                            .bind(id)
                            .execute(&mut **tx)
                            .await?
                            .rows_affected();
                        if moved == 0 {
                            return Err(StoreError::Conflict(format!("message {} left case id {id} meanwhile", split.message_row)));
                        }
                        let c = compose.take().map(|f| f(&new)).unwrap_or_default();
                        append_events_in(tx, new.id, now, split.events.iter().chain(&c.events)).await?;
                        queue.extend(c.mails.into_iter().map(|m| (Some(new.id), m)));
                        // The source's timeline names the new case.
                        for ev in w.events.iter_mut().filter(|e| e.kind == crate::core::event::EventKind::CaseSplit) {
                            if let serde_json::Value::Object(o) = &mut ev.data {
                                o.insert("new_case".into(), serde_json::json!(new.case_ref.as_str()));
                            }
                        }
                        split_done = Some(split.source_mails);
                        Some(CaseKey { id, case_ref: case_ref_of(tx, id).await? })
                    }
                };
                if let Some(k) = &case {
                    sqlx::query("UPDATE messages SET case_id = $1 WHERE id = $2")
                        .bind(k.id)
                        .bind(message_row)
                        .execute(&mut **tx)
                        .await?;
                    // The message's events, then the composer's (none when
                    // it composed for the new case of a split: its answers
                    // are ready), in one append.
                    let (composed, mails) = match split_done {
                        Some(mails) => (Composed::default(), mails),
                        None => {
                            let mut c = compose.take().map(|f| f(k)).unwrap_or_default();
                            let mails = std::mem::take(&mut c.mails);
                            (c, mails)
                        }
                    };
                    append_events_in(tx, k.id, now, w.events.iter().chain(&composed.events)).await?;
                    queue.extend(mails.into_iter().map(|m| (Some(k.id), m)));
                }
                if let Some((mb, cp)) = &w.checkpoint {
                    write_checkpoint(tx, mb, *cp).await?;
                }
                Ok(IngestResult {
                    duplicate: false,
                    case_id: case.as_ref().map(|k| k.id),
                    case_ref: case.map(|k| k.case_ref),
                })
            }

            /// Claims the next due row for `claimer` (a replica id, see
            /// `store::lease`). On PostgreSQL the candidate row is locked
            /// with SKIP LOCKED, so parallel senders and replicas each take a
            /// different row without waiting on one another.
            pub async fn claim_outbox(
                pool: &Pool,
                now: DateTime<Utc>,
                lease: chrono::Duration,
                claimer: Option<i64>,
            ) -> Result<Option<OutboxRow>> {
                let mut tx = $begin(pool).await?;
                // The batch's claim of one row (its statement, plan and send
                // order: `claim_batch_sql`); the attempt is counted as the
                // row is claimed, so a crash mid-send still counts. Among due
                // rows the mail of the case whose deadline is nearest goes
                // first (mail of no case, e.g. the digest, after), so after
                // an outage the urgent case's reminder is not queued behind a
                // backlog: the row's `priority_at` (its case's deadline when
                // queued, migration 0011).
                claim_planner(&mut tx).await?;
                let row = sqlx::query(sqlx::AssertSqlSafe(claim_batch_sql()))
                    .bind(now)
                    .bind(now + lease)
                    .bind(claimer)
                    .bind(1_i64)
                    .fetch_optional(&mut *tx)
                    .await?;
                let Some(r) = row else {
                    tx.commit().await?;
                    return Ok(None);
                };
                let mut row = outbox_row(&r).0;
                row.raw = sqlx::query_scalar::<_, Vec<u8>>("SELECT raw FROM outbox_raw WHERE id = $1")
                    .bind(row.id)
                    .fetch_optional(&mut *tx)
                    .await?
                    .unwrap_or_default();
                tx.commit().await?;
                Ok(Some(row))
            }

            /// A claimed row's columns (`claim_outbox*`' RETURNING list), with
            /// its send priority; the raw mail is not read here.
            fn outbox_row(r: &<Db as sqlx::Database>::Row) -> (OutboxRow, DateTime<Utc>) {
                (
                    OutboxRow {
                        id: r.get(0),
                        case_id: r.get(1),
                        message_id: r.get(2),
                        envelope_from: r.get(3),
                        recipients: json_list(&r.get::<String, _>(4)),
                        raw: Vec::new(),
                        attempts: r.get::<i64, _>(5) as u32,
                        purpose: r.get(6),
                    },
                    r.get(7),
                )
            }

            /// Claimed rows in send order (deadline, then id): RETURNING
            /// keeps no order, so the claim's walk is put back here.
            fn in_send_order(rows: &[<Db as sqlx::Database>::Row]) -> Vec<OutboxRow> {
                let mut rows: Vec<(OutboxRow, DateTime<Utc>)> = rows.iter().map(outbox_row).collect();
                rows.sort_by(|a, b| a.1.cmp(&b.1).then(a.0.id.cmp(&b.0.id)));
                rows.into_iter().map(|(r, _)| r).collect()
            }

            /// Claims up to `limit` due rows for `claimer` in one statement,
            /// in send order (the walk of `claim_outbox`, `LIMIT n`), without
            /// their raw mail (`outbox_raw`, read by id when each is sent).
            /// Every row's attempt is counted now; the sender gives back the
            /// rows it did not try ([`outbox_unclaim`]).
            pub async fn claim_outbox_batch(
                pool: &Pool,
                now: DateTime<Utc>,
                lease: chrono::Duration,
                claimer: Option<i64>,
                limit: i64,
            ) -> Result<Vec<OutboxRow>> {
                let mut tx = $begin(pool).await?;
                claim_planner(&mut tx).await?;
                let rows = sqlx::query(sqlx::AssertSqlSafe(claim_batch_sql()))
                    .bind(now)
                    .bind(now + lease)
                    .bind(claimer)
                    .bind(limit)
                    .fetch_all(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(in_send_order(&rows))
            }

            /// The statement of [`claim_outbox_batch`] ($1 now, $2 the
            /// lease's end, $3 the claimer, $4 the limit). It walks the send
            /// order's index (`outbox_claim`) and stops after `limit` rows,
            /// then updates the claimed rows found by id, whatever the
            /// planner knows of the table:
            /// - SQLite's planner, without statistics, would rather take the
            ///   due rows from `outbox_due` and sort them all at each claim
            ///   (10,000 queued reminders: quadratic), and the outer UPDATE
            ///   would walk every due row of `outbox_due`: hence the index
            ///   hints.
            /// - PostgreSQL's statistics lag a burst (an outbox that grows
            ///   from nothing to thousands of due rows in seconds, or one of
            ///   sent history whose statistics say nothing is due): it then
            ///   planned a sort of every due row and a hash join over them
            ///   again, at each claim. [`claim_planner`] rules the sort out;
            ///   the UPDATE takes the claimed ids as an array, by primary
            ///   key. It needs no status test of its own: the row lock of
            ///   the inner SELECT tests its WHERE again against a row's
            ///   newest version (a row another replica claimed meanwhile is
            ///   not returned), and a locked row cannot change before the
            ///   UPDATE of the same statement.
            fn claim_batch_sql() -> String {
                if <Db as sqlx::Database>::NAME == "SQLite" {
                    "UPDATE outbox NOT INDEXED SET status = 'sending', next_attempt_at = $2, \
                     attempts = attempts + 1, claimed_by = $3 \
                     WHERE id IN (SELECT o.id FROM outbox o INDEXED BY outbox_claim \
                                  WHERE o.status IN ('pending', 'sending') AND o.next_attempt_at <= $1 \
                                  ORDER BY o.priority_at, o.next_attempt_at, o.id LIMIT $4) \
                       AND status IN ('pending', 'sending') AND next_attempt_at <= $1 \
                     RETURNING id, case_id, message_id, envelope_from, recipients, attempts, purpose, priority_at"
                        .to_string()
                } else {
                    format!(
                        "UPDATE outbox SET status = 'sending', next_attempt_at = $2, attempts = attempts + 1, \
                         claimed_by = $3 \
                         WHERE id = ANY(ARRAY(SELECT o.id FROM outbox o \
                                              WHERE o.status IN ('pending', 'sending') AND o.next_attempt_at <= $1 \
                                              ORDER BY o.priority_at, o.next_attempt_at, o.id LIMIT $4 {})) \
                         RETURNING id, case_id, message_id, envelope_from, recipients, attempts, purpose, priority_at",
                        $claim_lock
                    )
                }
            }

            /// A claim's planner settings, inside its transaction. PostgreSQL:
            /// no sort, so the send order comes from walking `outbox_claim`
            /// (see [`claim_batch_sql`]); `SET LOCAL` ends with the
            /// transaction. SQLite: its statement's index hints do it.
            async fn claim_planner(tx: &mut Tx) -> Result<()> {
                if <Db as sqlx::Database>::NAME != "SQLite" {
                    sqlx::query("SET LOCAL enable_sort = off").execute(&mut **tx).await?;
                }
                Ok(())
            }

            /// The plan of [`claim_outbox_batch`]'s statement as the server
            /// would run it now, one line per step (SQLite's `EXPLAIN QUERY
            /// PLAN`, PostgreSQL's `EXPLAIN`), in a transaction rolled back:
            /// nothing is claimed.
            pub async fn explain_outbox_claim(pool: &Pool, now: DateTime<Utc>, limit: i64) -> Result<String> {
                let mut tx = $begin(pool).await?;
                claim_planner(&mut tx).await?;
                let sqlite = <Db as sqlx::Database>::NAME == "SQLite";
                let explain = if sqlite { "EXPLAIN QUERY PLAN " } else { "EXPLAIN " };
                let rows = sqlx::query(sqlx::AssertSqlSafe(format!("{explain}{}", claim_batch_sql())))
                    .bind(now)
                    .bind(now)
                    .bind(None::<i64>)
                    .bind(limit)
                    .fetch_all(&mut *tx)
                    .await?;
                tx.rollback().await?;
                // SQLite's `detail` is its fourth column, PostgreSQL's plan
                // its only one.
                let column = if sqlite { 3 } else { 0 };
                Ok(rows
                    .iter()
                    .map(|r| r.try_get::<String, _>(column).unwrap_or_default())
                    .collect::<Vec<_>>()
                    .join("\n"))
            }

            /// Claims up to `limit` due rows of the cases `case_refs` for
            /// `claimer`, as [`claim_outbox_batch`] does (same send order,
            /// same lease): the news lane while the senders are held back
            /// (`workers::burst`), found through `outbox_case`.
            pub async fn claim_outbox_for_cases(
                pool: &Pool,
                now: DateTime<Utc>,
                lease: chrono::Duration,
                claimer: Option<i64>,
                limit: i64,
                case_refs: &[String],
            ) -> Result<Vec<OutboxRow>> {
                let mut tx = $begin(pool).await?;
                // The outer UPDATE finds the rows by id, as in
                // `claim_batch_sql` (SQLite: by its hint; PostgreSQL: the ids
                // as an array, the inner row lock testing their WHERE). The
                // inner SELECT reads the few rows of these cases through
                // `outbox_case` and sorts them.
                let sqlite = <Db as sqlx::Database>::NAME == "SQLite";
                let (outer, open, close) = if sqlite {
                    ("NOT INDEXED ", "IN (", ") AND status IN ('pending', 'sending') AND next_attempt_at <= ")
                } else {
                    ("", "= ANY(ARRAY(", "))")
                };
                let mut q = sqlx::QueryBuilder::<Db>::new(format!(
                    "UPDATE outbox {outer}SET status = 'sending', next_attempt_at = "
                ));
                q.push_bind(now + lease)
                    .push(", attempts = attempts + 1, claimed_by = ")
                    .push_bind(claimer)
                    .push(format!(
                        " WHERE id {open}SELECT o.id FROM outbox o \
                         WHERE o.case_id IN (SELECT id FROM cases WHERE ref"
                    ));
                push_in(&mut q, case_refs);
                q.push(") AND o.status IN ('pending', 'sending') AND o.next_attempt_at <= ")
                    .push_bind(now)
                    .push(" ORDER BY o.priority_at, o.next_attempt_at, o.id LIMIT ")
                    .push_bind(limit)
                    .push(format!(" {}{close}", $claim_lock));
                if sqlite {
                    q.push_bind(now);
                }
                q.push(" RETURNING id, case_id, message_id, envelope_from, recipients, attempts, purpose, priority_at");
                let rows = q.build().fetch_all(&mut *tx).await?;
                tx.commit().await?;
                Ok(in_send_order(&rows))
            }

            /// The formatted mail of an outbox row (migration 0013).
            pub async fn outbox_raw(pool: &Pool, id: i64) -> Result<Option<Vec<u8>>> {
                Ok(sqlx::query_scalar("SELECT raw FROM outbox_raw WHERE id = $1")
                    .bind(id)
                    .fetch_optional(pool)
                    .await?)
            }

            /// Several rows the server took, marked sent in one transaction
            /// (SQLite, after each id went to the sent journal).
            pub async fn outbox_sent_many(
                pool: &Pool,
                sent: &[(i64, DateTime<Utc>, String)],
            ) -> Result<()> {
                if sent.is_empty() {
                    return Ok(());
                }
                let mut tx = $begin(pool).await?;
                for (id, at, response) in sent {
                    sqlx::query(
                        "UPDATE outbox SET status = 'sent', sent_at = $2, last_error = NULL, \
                         smtp_response = $3, claimed_by = NULL WHERE id = $1",
                    )
                    .bind(id)
                    .bind(at)
                    .bind(response)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok(())
            }

            /// Claimed rows the sender did not try (its connection broke, or
            /// its claim grew old): due again at once, their attempt not
            /// counted. Only rows still this claimer's and `sending`.
            pub async fn outbox_unclaim(
                pool: &Pool,
                ids: &[i64],
                claimer: Option<i64>,
                now: DateTime<Utc>,
            ) -> Result<u64> {
                if ids.is_empty() {
                    return Ok(0);
                }
                let mut q = sqlx::QueryBuilder::<Db>::new(
                    "UPDATE outbox SET status = 'pending', attempts = attempts - 1, claimed_by = NULL, next_attempt_at = ",
                );
                q.push_bind(now);
                q.push(" WHERE status = 'sending' AND claimed_by IS NOT DISTINCT FROM ");
                q.push_bind(claimer);
                q.push(" AND id");
                push_ids_in(&mut q, ids);
                Ok(q.build().execute(pool).await?.rows_affected())
            }

            /// The server took the mail: one statement on its own (no
            /// transaction to wait behind), with the server's reply.
            pub async fn outbox_sent(
                pool: &Pool,
                id: i64,
                now: DateTime<Utc>,
                response: Option<&str>,
            ) -> Result<()> {
                sqlx::query(
                    "UPDATE outbox SET status = 'sent', sent_at = $2, last_error = NULL, \
                     smtp_response = $3, claimed_by = NULL WHERE id = $1",
                )
                .bind(id)
                .bind(now)
                .bind(response)
                .execute(pool)
                .await?;
                Ok(())
            }

            pub async fn outbox_retry(
                pool: &Pool,
                id: i64,
                attempts: u32,
                next: DateTime<Utc>,
                err: &str,
            ) -> Result<()> {
                sqlx::query(
                    "UPDATE outbox SET status = 'pending', attempts = $2, next_attempt_at = $3, \
                     last_error = $4, claimed_by = NULL WHERE id = $1",
                )
                .bind(id)
                .bind(i64::from(attempts))
                .bind(next)
                .bind(err)
                .execute(pool)
                .await?;
                Ok(())
            }

            /// A refusal for good: the row fails, and in the same transaction
            /// the DPO's notice of it is queued and the case's timeline says so
            /// (`notice` may be empty, e.g. when the refused mail was itself
            /// such a notice).
            pub async fn outbox_failed(
                pool: &Pool,
                id: i64,
                attempts: u32,
                err: &str,
                now: DateTime<Utc>,
                case_id: Option<i64>,
                notice: Composed,
            ) -> Result<()> {
                let mut tx = $begin(pool).await?;
                sqlx::query(
                    "UPDATE outbox SET status = 'failed', attempts = $2, last_error = $3, claimed_by = NULL WHERE id = $1",
                )
                .bind(id)
                .bind(i64::from(attempts))
                .bind(err)
                .execute(&mut *tx)
                .await?;
                if let Some(c) = case_id {
                    append_events_in(&mut tx, c, now, &notice.events).await?;
                }
                queue_mails(&mut tx, case_id, notice.mails, now).await?;
                tx.commit().await?;
                Ok(())
            }

            /// Mails refused for good since `since`, newest first (the digest
            /// lists them): (case ref, purpose, subject, error, when queued).
            pub async fn failed_mails(
                pool: &Pool,
                since: DateTime<Utc>,
            ) -> Result<Vec<FailedMail>> {
                let rows = sqlx::query(
                    "SELECT c.ref, o.purpose, o.subject, o.last_error, o.created_at FROM outbox o \
                     LEFT JOIN cases c ON c.id = o.case_id \
                     WHERE o.status = 'failed' AND o.created_at >= $1 ORDER BY o.id DESC LIMIT 50",
                )
                .bind(since)
                .fetch_all(pool)
                .await?;
                Ok(rows
                    .iter()
                    .map(|r| FailedMail {
                        case_ref: r.get(0),
                        purpose: r.get(1),
                        subject: r.get(2),
                        error: r.get(3),
                        created_at: r.get(4),
                    })
                    .collect())
            }

            pub async fn unplaced_mail(
                pool: &Pool,
                since: DateTime<Utc>,
                limit: i64,
            ) -> Result<Vec<UnplacedMail>> {
                // Newest first by id: the scan stops at the limit or at the
                // week's first message, whichever comes first.
                let rows = sqlx::query(
                    "SELECT subject, from_address, recorded_at FROM messages \
                     WHERE disposition = 'not_a_notice' AND recorded_at >= $1 ORDER BY id DESC LIMIT $2",
                )
                .bind(since)
                .bind(limit)
                .fetch_all(pool)
                .await?;
                Ok(rows
                    .iter()
                    .map(|r| UnplacedMail {
                        subject: r.get(0),
                        from_address: r.get(1),
                        recorded_at: r.get(2),
                    })
                    .collect())
            }

            pub async fn previous_digest_run(
                pool: &Pool,
                before: DateTime<Utc>,
            ) -> Result<Option<DateTime<Utc>>> {
                Ok(sqlx::query_scalar(
                    "SELECT run_at FROM digest_runs WHERE run_at < $1 ORDER BY run_at DESC LIMIT 1",
                )
                .bind(before)
                .fetch_optional(pool)
                .await?)
            }

            /// Rows left 'sending' by a process that died are due at once
            /// (called at start when no other process can hold them; on
            /// PostgreSQL replicas hold rows by lease, so it is not used there).
            #[allow(dead_code)]
            pub async fn release_sending(pool: &Pool, now: DateTime<Utc>) -> Result<u64> {
                Ok(sqlx::query(
                    "UPDATE outbox SET status = 'pending', next_attempt_at = $1, claimed_by = NULL \
                     WHERE status = 'sending'",
                )
                .bind(now)
                .execute(pool)
                .await?
                .rows_affected())
            }

            /// Rows the sent journal names (the server took them before a
            /// crash) are sent, if still `sending`.
            #[allow(dead_code)]
            pub async fn mark_journaled(pool: &Pool, ids: &[i64], now: DateTime<Utc>) -> Result<u64> {
                let mut tx = $begin(pool).await?;
                let mut n = 0;
                for id in ids {
                    n += sqlx::query(
                        "UPDATE outbox SET status = 'sent', sent_at = $2, claimed_by = NULL, \
                         smtp_response = '(taken by the server before a crash)' \
                         WHERE id = $1 AND status = 'sending'",
                    )
                    .bind(id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                }
                tx.commit().await?;
                Ok(n)
            }

            /// Mail waiting to be sent: how many rows, and the oldest creation time.
            pub async fn outbox_waiting(pool: &Pool) -> Result<(i64, Option<DateTime<Utc>>)> {
                let r = sqlx::query(
                    "SELECT COUNT(*), MIN(created_at) FROM outbox WHERE status IN ('pending', 'sending')",
                )
                .fetch_one(pool)
                .await?;
                Ok((r.get::<i64, _>(0), r.get(1)))
            }

            pub async fn next_outbox_at(pool: &Pool) -> Result<Option<DateTime<Utc>>> {
                Ok(sqlx::query_scalar(
                    "SELECT MIN(next_attempt_at) FROM outbox WHERE status IN ('pending', 'sending')",
                )
                .fetch_one(pool)
                .await?)
            }

            /// One page of the due cases, whole rows, in due order after
            /// `after` (the last page's last `(next_reminder_at, id)`; None:
            /// the first page): one range scan of `cases_next_reminder`
            /// (`next_reminder_at, id`, migration 0016) that the clock pages
            /// through a group at a time, so the first group is written
            /// while the rest is still to be read.
            pub async fn due_reminder_page(
                pool: &Pool,
                now: DateTime<Utc>,
                after: Option<(DateTime<Utc>, i64)>,
                limit: i64,
            ) -> Result<DuePage> {
                // RECORD's columns, then the plan position (16, 17).
                // The range scan is of the plans' index (migration 0018),
                // each case row then read by its key.
                let select = RECORD.replace(
                    " FROM cases",
                    ", pl.next_reminder_seq, pl.next_reminder_at FROM case_plans pl JOIN cases ON cases.id = pl.case_id",
                );
                let mut q = sqlx::QueryBuilder::<Db>::new(format!(
                    "{select} WHERE pl.next_reminder_at IS NOT NULL AND pl.next_reminder_at <= "
                ));
                q.push_bind(now);
                if let Some((at, id)) = after {
                    q.push(" AND pl.next_reminder_at >= ").push_bind(at);
                    q.push(" AND (pl.next_reminder_at > ").push_bind(at);
                    q.push(" OR pl.case_id > ").push_bind(id).push(")");
                }
                q.push(" ORDER BY pl.next_reminder_at, pl.case_id LIMIT ").push_bind(limit);
                let rows = q.build().fetch_all(pool).await?;
                let after = rows
                    .last()
                    .map(|r| (r.get::<DateTime<Utc>, _>(17), r.get::<i64, _>(0)));
                let cases = rows
                    .iter()
                    .map(|r| {
                        let record = record_row(r);
                        let due = DueReminder {
                            case_id: record.id,
                            case_ref: record.case_ref.clone(),
                            aware_at: record.aware_at,
                            next_seq: r.get::<Option<i64>, _>(16).unwrap_or(0).clamp(0, i64::from(u32::MAX)) as u32,
                        };
                        (due, record)
                    })
                    .collect();
                Ok(DuePage { cases, after })
            }

            /// The earliest reminder of either stream (GDPR, NIS2).
            pub async fn next_reminder_at(pool: &Pool) -> Result<Option<DateTime<Utc>>> {
                let gdpr: Option<DateTime<Utc>> =
                    sqlx::query_scalar("SELECT MIN(next_reminder_at) FROM case_plans")
                        .fetch_one(pool)
                        .await?;
                let nis2: Option<DateTime<Utc>> =
                    sqlx::query_scalar("SELECT MIN(nis2_reminder_at) FROM cases")
                        .fetch_one(pool)
                        .await?;
                Ok(match (gdpr, nis2) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                })
            }

            pub async fn due_nis2_reminders(pool: &Pool, now: DateTime<Utc>) -> Result<Vec<DueNis2Reminder>> {
                let rows = sqlx::query(
                    "SELECT id, ref, nis2_reminders_sent, nis2_reminder_at FROM cases \
                     WHERE nis2_reminder_at IS NOT NULL AND nis2_reminder_at <= $1 \
                     ORDER BY nis2_reminder_at LIMIT 100",
                )
                .bind(now)
                .fetch_all(pool)
                .await?;
                Ok(rows
                    .into_iter()
                    .map(|r| DueNis2Reminder {
                        case_id: r.get(0),
                        case_ref: CaseRef::from_stored(r.get(1)),
                        sent: r.get(2),
                        at: r.get(3),
                    })
                    .collect())
            }

            pub async fn commit_nis2_reminder<F>(
                pool: &Pool,
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
                let mut tx = $begin(pool).await?;
                let changed = sqlx::query(
                    "UPDATE cases SET nis2_reminder_at = $1, nis2_reminders_sent = nis2_reminders_sent + 1 \
                     WHERE id = $2 AND version = $3 AND nis2_reminders_sent = $4",
                )
                .bind(next)
                .bind(due.case_id)
                .bind(expected_version)
                .bind(due.sent)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if changed == 0 {
                    tx.rollback().await?;
                    return Ok(false);
                }
                // Without an event (nothing was due after all) only the plan
                // moves: the column is not sealed into the register.
                let Some(event) = event else {
                    tx.commit().await?;
                    return Ok(true);
                };
                let key = CaseKey { id: due.case_id, case_ref: due.case_ref.clone() };
                let c = compose(&key);
                append_events_in(&mut tx, due.case_id, now, std::iter::once(&event).chain(&c.events)).await?;
                queue_mails(&mut tx, Some(due.case_id), c.mails, now).await?;
                tx.commit().await?;
                Ok(true)
            }

            const RECORD: &str = "SELECT id, ref, state, aware_at, deadline_at, opened_at, reporter_name, \
                 reporter_address, reporter_organisation, reporter_domain, systems, route, facts, \
                 workflow, version, \
                 COALESCE((SELECT tp.timeline_head FROM case_plans tp WHERE tp.case_id = cases.id), \
                 '0000000000000000000000000000000000000000000000000000000000000000') FROM cases";
            // (The head from the case's plan row, migration 0018; a case
            // without one, which the store never writes, reads as a timeline
            // not begun, `timeline::GENESIS`, so `register verify` names it.)
            // Stored JSON that does not parse reads as null: callers treat it as
            // "nothing recorded" rather than failing.
            fn record_row(r: &<Db as sqlx::Database>::Row) -> CaseRecord {
                undecoded_row(r).decoded()
            }

            pub async fn case_by_id(pool: &Pool, case_id: i64) -> Result<CaseRecord> {
                let row = sqlx::query(sqlx::AssertSqlSafe(format!("{RECORD} WHERE id = $1")))
                    .bind(case_id)
                    .fetch_optional(pool)
                    .await?
                    .ok_or_else(|| StoreError::NotFound(format!("case id {case_id}")))?;
                Ok(record_row(&row))
            }

            /// The cases with these ids, in one query (the clock's due cases).
            pub async fn cases_by_ids(pool: &Pool, ids: &[i64]) -> Result<Vec<CaseRecord>> {
                if ids.is_empty() {
                    return Ok(Vec::new());
                }
                let mut q = sqlx::QueryBuilder::<Db>::new(format!("{RECORD} WHERE id"));
                push_ids_in(&mut q, ids);
                let rows = q.build().fetch_all(pool).await?;
                Ok(rows.iter().map(record_row).collect())
            }

            /// Several cases' due reminders in ONE transaction: each written
            /// only from the plan position it was read at (`false`: another
            /// replica fired it meanwhile, nothing written for it). The mails
            /// are composed before the transaction begins (pure); then one
            /// statement per kind of write for the whole group: the rows
            /// locked (checked on `next_reminder_seq`), the outbox rows and
            /// their raw mails, the timelines' heads, the register numbers,
            /// the events, the plan moves with the new heads (one update of
            /// each row). The events are the ones appending them one by one
            /// would write.
            ///
            /// The register counter is taken after the mails are queued and
            /// the heads read: what comes after it (events, plans, commit)
            /// is all a transaction holds the counter's row lock for, so on
            /// PostgreSQL another group's transaction (the clock writes two
            /// at once there, `Store::reminder_writers`) locks its rows,
            /// queues its mails and reads its heads meanwhile and waits only
            /// for that part.
            pub async fn commit_reminders(
                pool: &Pool,
                items: Vec<ReminderItem>,
                now: DateTime<Utc>,
            ) -> Result<Vec<bool>> {
                if items.is_empty() {
                    return Ok(Vec::new());
                }
                // Each step's end, in µs since the call (the debug line at
                // the end: where a burst's write time goes).
                let t0 = std::time::Instant::now();
                let mut laps: Vec<(&str, u128)> = Vec::with_capacity(10);
                let plans_n = items.len();
                let mut tx = $begin(pool).await?;
                laps.push(("begin", t0.elapsed().as_micros()));
                // 1. The rows still at the plan position read, locked first
                // (one lock order: rows, counter), with the version each has.
                // The plan moves in ONE update at the end (step 5), with the
                // timelines' heads, of the narrow plan rows (migration 0018):
                // the case rows are only locked here, never written.
                let mut q = sqlx::QueryBuilder::<Db>::new(
                    "SELECT c.id, c.version FROM cases AS c JOIN case_plans AS p ON p.case_id = c.id JOIN (",
                );
                q.push_values(&items, |mut b, it| {
                    b.push_bind(it.due.case_id).push_bind(i64::from(it.due.next_seq));
                });
                q.push(") AS v ON c.id = v.column1 AND p.next_reminder_seq = v.column2");
                // The plan rows locked too (`$row_lock`): a statement that
                // waited for a lock checks its conditions again on the rows
                // it locks as they are now, others as its snapshot saw them;
                // so another replica's group that moved these plans meanwhile
                // is seen (its reminders are not queued twice).
                q.push($row_lock);
                let versions: std::collections::HashMap<i64, i64> = q
                    .build()
                    .fetch_all(&mut *tx)
                    .await?
                    .iter()
                    .map(|r| (r.get::<i64, _>(0), r.get::<i64, _>(1)))
                    .collect();
                laps.push(("versions", t0.elapsed().as_micros()));
                // A row at another version than the one its reminder was
                // composed from (a command or a reply changed the case
                // since) is left: the reminder is still due and the clock
                // composes it again from the row as it is now.
                let current = |it: &ReminderItem| versions.get(&it.due.case_id) == Some(&it.sealed.version);
                let out: Vec<bool> = items.iter().map(current).collect();
                let mut items: Vec<_> = items.into_iter().filter(current).collect();
                if items.is_empty() {
                    tx.commit().await?;
                    return Ok(out);
                }
                let ids: Vec<i64> = items.iter().map(|it| it.due.case_id).collect();
                // 2. The mails: the small rows, then their raw bytes; before
                // the counter (step 4), whose lock serialises the groups.
                let mails: Vec<(Option<i64>, OutboxMail)> = items
                    .iter_mut()
                    .flat_map(|it| {
                        let id = it.due.case_id;
                        std::mem::take(&mut it.composed.mails).into_iter().map(move |m| (Some(id), m))
                    })
                    .collect();
                queue_mail_rows(&mut tx, &mails, now).await?;
                drop(mails);
                laps.push(("outbox", t0.elapsed().as_micros()));
                // 3. Each timeline's last event, also before the counter: a
                // case's events are appended only under its row's lock,
                // which this transaction holds since step 1, so its head
                // cannot move. The plan's move in step 6 changes no sealed
                // field: the rows are sealed as the clock read them (the
                // version checked above).
                let mut heads = timeline_heads(&mut tx, &ids).await?;
                laps.push(("heads", t0.elapsed().as_micros()));
                // 4. The register numbers of every event of the group.
                let n_events: i64 = items.iter().map(|it| 1 + it.composed.events.len() as i64).sum();
                let last_reg: i64 = sqlx::query_scalar(
                    "UPDATE register_counter SET last = last + $1 WHERE id = 1 RETURNING last",
                )
                .bind(n_events)
                .fetch_one(&mut *tx)
                .await?;
                let mut reg_seq = last_reg - n_events;
                laps.push(("counter", t0.elapsed().as_micros()));
                // 5. The events, chained and sealed in memory, and each
                // timeline's head.
                let at = chain::stored_instant(now);
                let mut events: Vec<chain::EventRow> = Vec::new();
                let mut plans: Vec<(i64, Option<(DateTime<Utc>, u32)>)> = Vec::with_capacity(items.len());
                for ReminderItem { due, event, composed: c, sealed: seal, next, .. } in items {
                    plans.push((due.case_id, next));
                    let t = chain::Timeline {
                        case_id: due.case_id,
                        case_ref: &seal.case_ref,
                        row: &seal.row,
                        head: heads.remove(&due.case_id),
                    };
                    chain::chain(t, &mut reg_seq, at, std::iter::once(&event).chain(c.events.iter()), &mut events);
                }
                laps.push(("chain", t0.elapsed().as_micros()));
                insert_events(&mut tx, at, &events).await?;
                laps.push(("events", t0.elapsed().as_micros()));
                // 6. The plans move and each timeline's head with them.
                let heads = last_hashes(&events);
                for part in plans.chunks(crate::store::UPDATE_ROWS) {
                    let mut q = sqlx::QueryBuilder::<Db>::new(
                        "UPDATE case_plans SET next_reminder_at = v.column2, next_reminder_seq = v.column3, \
                         reminders_sent = reminders_sent + 1, timeline_head = v.column4 FROM (",
                    );
                    q.push_values(part, |mut b, (id, next)| {
                        b.push_bind(*id)
                            .push_bind(next.map(|(at, _)| at))
                            .push_bind(next.map(|(_, seq)| i64::from(seq)))
                            .push_bind(heads.get(id).copied());
                    });
                    q.push(") AS v WHERE case_plans.case_id = v.column1");
                    q.build().execute(&mut *tx).await?;
                }
                laps.push(("plans", t0.elapsed().as_micros()));
                tx.commit().await?;
                laps.push(("commit", t0.elapsed().as_micros()));
                tracing::debug!(cases = plans_n, steps_us = ?laps, "reminder group transaction");
                Ok(out)
            }

            /// A case row with its stored JSON as stored, not yet decoded
            /// into its types ([`record_row`] decodes it).
            fn undecoded_row(r: &<Db as sqlx::Database>::Row) -> CaseRecord {
                let js = |i: usize| -> serde_json::Value {
                    serde_json::from_str(&r.get::<String, _>(i)).unwrap_or_default()
                };
                CaseRecord {
                    id: r.get(0),
                    case_ref: CaseRef::from_stored(r.get(1)),
                    state: r.get(2),
                    aware_at: r.get(3),
                    deadline_at: r.get(4),
                    opened_at: r.get(5),
                    reporter_name: r.get(6),
                    reporter_address: r.get(7),
                    reporter_organisation: r.get(8),
                    reporter_domain: r.get(9),
                    systems: json_list(&r.get::<String, _>(10)),
                    route: None,
                    incident: Default::default(),
                    details: Default::default(),
                    workflow: None,
                    version: r.get(14),
                    timeline_head: r.get(15),
                    stored: StoredJson {
                        route: js(11),
                        facts: js(12),
                        workflow: js(13),
                    },
                }
            }

            pub async fn open_cases(pool: &Pool) -> Result<Vec<CaseRecord>> {
                let rows = sqlx::query(sqlx::AssertSqlSafe(format!("{RECORD} WHERE state <> 'closed' ORDER BY id")))
                    .fetch_all(pool)
                    .await?;
                Ok(rows.iter().map(record_row).collect())
            }

            pub async fn all_workflows(pool: &Pool) -> Result<Vec<CaseRecord>> {
                let rows = sqlx::query(sqlx::AssertSqlSafe(format!("{RECORD} ORDER BY id")))
                    .fetch_all(pool)
                    .await?;
                Ok(rows.iter().map(record_row).collect())
            }

            pub async fn commit_digest(
                pool: &Pool,
                run_at: DateTime<Utc>,
                mails: Vec<OutboxMail>,
                now: DateTime<Utc>,
            ) -> Result<bool> {
                let mut tx = $begin(pool).await?;
                let n = sqlx::query(
                    "INSERT INTO digest_runs (run_at, sent_at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                )
                .bind(run_at)
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if n == 0 {
                    tx.rollback().await?;
                    return Ok(false);
                }
                queue_mails(&mut tx, None, mails, now).await?;
                tx.commit().await?;
                Ok(true)
            }

            /// One page of the web view's case list (`Store::web_case_page`):
            /// the page's ids by one walk of an index in the lists' order (the
            /// next deadline, migration 0012; open cases: a partial index),
            /// each with its last event, and the count of all that match.
            pub async fn web_case_page(pool: &Pool, q: &CaseQuery) -> Result<(Vec<CaseListRow>, i64)> {
                // Only the filters that are set (no `$n = '' OR …` a planner
                // must plan for both ways); the partial index serves only a
                // literal `state <> 'closed'`.
                let roster = q.roster_of.trim().to_lowercase();
                let official = q.official.trim().to_lowercase();
                let committee = q.committee.trim().to_string();
                let state = q.state.trim().to_string();
                let mut binds: Vec<&str> = Vec::new();
                let mut filter = String::from(if q.include_closed { "WHERE TRUE" } else { "WHERE c.state <> 'closed'" });
                for (col, v) in [("c.committee", &committee), ("c.state", &state), ("c.official", &official)] {
                    if !v.is_empty() {
                        binds.push(v.as_str());
                        filter.push_str(&format!(" AND {col} = ${}", binds.len()));
                    }
                }
                if !roster.is_empty() {
                    binds.push(roster.as_str());
                    let n = binds.len();
                    filter.push_str(&format!(" AND (c.official = ${n} OR c.deputy = ${n})"));
                }
                // SQLite's planner would rather walk the official/deputy or
                // committee index and sort; the lists' order index (migration
                // 0012) stops after one page. PostgreSQL plans with the values.
                let indexed = if <Db as sqlx::Database>::NAME != "SQLite" {
                    ""
                } else if q.include_closed {
                    "INDEXED BY cases_next_deadline"
                } else {
                    "INDEXED BY cases_open_next_deadline"
                };
                let (lim, off) = (binds.len() + 1, binds.len() + 2);
                let sql = format!(
                    "WITH page AS ( \
                       SELECT c.id, c.next_deadline_at, c.deadline_at, c.ref FROM cases c {indexed} {filter} \
                       ORDER BY (c.next_deadline_at IS NULL), c.next_deadline_at, c.deadline_at, c.ref \
                       LIMIT ${lim} OFFSET ${off}) \
                     SELECT c.id, c.ref, c.state, c.aware_at, c.deadline_at, c.reporter_organisation, \
                       c.reporter_address, c.committee, c.official, c.systems, \
                       (SELECT e.kind FROM events e WHERE e.case_id = c.id ORDER BY e.seq DESC LIMIT 1), \
                       (SELECT e.at FROM events e WHERE e.case_id = c.id ORDER BY e.seq DESC LIMIT 1), \
                       c.next_deadline_at, c.opened_at, c.workflow \
                     FROM page JOIN cases c ON c.id = page.id \
                     ORDER BY (page.next_deadline_at IS NULL), page.next_deadline_at, page.deadline_at, page.ref"
                );
                let mut page = sqlx::query(sqlx::AssertSqlSafe(sql));
                for b in &binds {
                    page = page.bind(*b);
                }
                let rows = page.bind(q.limit).bind(q.offset).fetch_all(pool).await?;
                // The count: without filters on open cases SQLite counts the
                // partial index alone.
                let count_index = if binds.is_empty() && q.include_closed { "" } else { indexed };
                let mut count = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                    "SELECT COUNT(*) FROM cases c {count_index} {filter}"
                )));
                for b in &binds {
                    count = count.bind(*b);
                }
                let total: i64 = count.fetch_one(pool).await?;
                let list = rows
                    .iter()
                    .map(|r| CaseListRow {
                        id: r.get(0),
                        case_ref: r.get(1),
                        state: r.get(2),
                        aware_at: r.get(3),
                        deadline_at: r.get(4),
                        reporter_organisation: r.get(5),
                        reporter_address: r.get(6),
                        committee: r.get::<Option<String>, _>(7).unwrap_or_default(),
                        official: r.get::<Option<String>, _>(8).unwrap_or_default(),
                        systems: json_list(&r.get::<String, _>(9)),
                        last_event: r.get::<Option<String>, _>(10).map(crate::core::event::EventKind::from),
                        last_event_at: r.get(11),
                        next_deadline_at: r.get(12),
                        opened_at: r.get(13),
                        workflow: serde_json::from_str(&r.get::<String, _>(14)).ok(),
                    })
                    .collect();
                Ok((list, total))
            }

            /// Every open case's next deadline computed again by the core from
            /// its row in the configured zone (`Case::next_deadline`); rows whose
            /// stored value differs are written, each only if the case did not
            /// change meanwhile. How many changed.
            pub async fn refresh_next_deadlines(pool: &Pool, tz: chrono_tz::Tz) -> Result<u64> {
                let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "{RECORD} WHERE state <> 'closed'"
                )))
                .fetch_all(pool)
                .await?;
                let stored: Vec<(i64, Option<DateTime<Utc>>)> = sqlx::query_as(
                    "SELECT id, next_deadline_at FROM cases WHERE state <> 'closed'",
                )
                .fetch_all(pool)
                .await?;
                let stored: std::collections::HashMap<i64, Option<DateTime<Utc>>> =
                    stored.into_iter().collect();
                // The rows whose stored value differs, each with the
                // version read: a row changed meanwhile keeps what its own
                // transaction wrote.
                let mut stale: Vec<(i64, Option<DateTime<Utc>>, i64)> = Vec::new();
                for r in &rows {
                    let rec = record_row(r);
                    let next = rec.case().next_deadline(tz).map(|(_, at)| at);
                    let same = stored.get(&rec.id).is_some_and(|s| {
                        s.map(|t| t.timestamp_micros()) == next.map(|t| t.timestamp_micros())
                    });
                    if !same {
                        stale.push((rec.id, next, rec.version));
                    }
                }
                // One statement a part, not one a row: after an upgrade or
                // a change of zone every open case is stale, and the daemon
                // starts watching only when this is done (9,473 cases, one
                // UPDATE each: 3.5 s on SQLite, `make bench-daemon`).
                let mut changed = 0;
                for part in stale.chunks(crate::store::UPDATE_ROWS) {
                    let mut q = sqlx::QueryBuilder::<Db>::new(
                        "UPDATE cases SET next_deadline_at = v.column2 FROM (",
                    );
                    q.push_values(part, |mut b, (id, next, version)| {
                        b.push_bind(*id).push_bind(*next).push_bind(*version);
                    });
                    q.push(") AS v WHERE cases.id = v.column1 AND cases.version = v.column3");
                    changed += q.build().execute(pool).await?.rows_affected();
                }
                Ok(changed)
            }

            const SUMMARY: &str = "SELECT c.id, c.ref, c.state, c.aware_at, c.deadline_at, c.opened_at, \
                 c.reporter_organisation, c.reporter_address, c.route, c.rule_name, c.systems, \
                 (SELECT COUNT(*) FROM messages m WHERE m.case_id = c.id), \
                 COALESCE(p.reminders_sent, 0), p.next_reminder_at, \
                 (SELECT m.mailbox FROM messages m WHERE m.case_id = c.id ORDER BY m.id LIMIT 1), \
                 c.nis2_reminder_at, c.nis2_reminders_sent \
                 FROM cases c LEFT JOIN case_plans p ON p.case_id = c.id";

            fn summary(r: &<Db as sqlx::Database>::Row) -> CaseSummary {
                // Decoded as `StoredJson::decode` does: one that does not read is no route.
                let route: Option<Route> = serde_json::from_str(&r.get::<String, _>(8)).ok();
                CaseSummary {
                    id: r.get(0),
                    case_ref: r.get(1),
                    state: r.get(2),
                    aware_at: r.get(3),
                    deadline_at: r.get(4),
                    opened_at: r.get(5),
                    reporter_organisation: r.get(6),
                    reporter_address: r.get(7),
                    committee: route.as_ref().map(|r| r.committee.name.clone()).unwrap_or_default(),
                    official: route.as_ref().map(|r| r.official.address.clone()).unwrap_or_default(),
                    rule: r.get(9),
                    systems: json_list(&r.get::<String, _>(10)),
                    messages: r.get(11),
                    reminders_sent: r.get(12),
                    next_reminder_at: r.get(13),
                    mailbox: r.get(14),
                    nis2_reminder_at: r.get(15),
                    nis2_reminders_sent: r.get(16),
                }
            }

            pub async fn list_cases(pool: &Pool) -> Result<Vec<CaseSummary>> {
                let rows = sqlx::query(sqlx::AssertSqlSafe(format!("{SUMMARY} ORDER BY c.id")))
                    .fetch_all(pool)
                    .await?;
                Ok(rows.iter().map(summary).collect())
            }

            pub async fn case_summary(pool: &Pool, case_ref: &str) -> Result<CaseSummary> {
                let row = sqlx::query(sqlx::AssertSqlSafe(format!("{SUMMARY} WHERE c.ref = $1")))
                    .bind(case_ref)
                    .fetch_optional(pool)
                    .await?
                    .ok_or_else(|| StoreError::NotFound(format!("case {case_ref}")))?;
                Ok(summary(&row))
            }

            fn message_row(r: &<Db as sqlx::Database>::Row) -> MessageRow {
                MessageRow {
                    message_id: r.get(0),
                    kind: r.get(1),
                    disposition: r.get(2),
                    subject: r.get(3),
                    from_address: r.get(4),
                    received_at: r.get(5),
                    error: r.get(6),
                }
            }

            pub async fn case_messages(pool: &Pool, case_id: i64) -> Result<Vec<MessageRow>> {
                let rows = sqlx::query(
                    "SELECT message_id, kind, disposition, subject, from_address, received_at, error \
                     FROM messages WHERE case_id = $1 ORDER BY id",
                )
                .bind(case_id)
                .fetch_all(pool)
                .await?;
                Ok(rows.iter().map(message_row).collect())
            }

            pub async fn case_by_ref(pool: &Pool, case_ref: &str) -> Result<Option<CaseRecord>> {
                let row = sqlx::query(sqlx::AssertSqlSafe(format!("{RECORD} WHERE ref = $1")))
                    .bind(case_ref)
                    .fetch_optional(pool)
                    .await?;
                Ok(row.as_ref().map(record_row))
            }

            pub async fn append_events(
                pool: &Pool,
                case_id: i64,
                events: &[NewEvent],
                now: DateTime<Utc>,
            ) -> Result<()> {
                let mut tx = $begin(pool).await?;
                append_events_in(&mut tx, case_id, now, events).await?;
                tx.commit().await?;
                Ok(())
            }

            // --- web view (src/web/) ---
            pub async fn web_quarantine(pool: &Pool) -> Result<Vec<(i64, MessageRow)>> {
                let rows = sqlx::query(
                    "SELECT message_id, kind, disposition, subject, from_address, received_at, error, id \
                     FROM messages WHERE disposition = 'quarantined' ORDER BY id DESC LIMIT 1000",
                )
                .fetch_all(pool)
                .await?;
                Ok(rows.iter().map(|r| (r.get::<i64, _>(7), message_row(r))).collect())
            }

            pub async fn web_quarantined_raw(pool: &Pool, id: i64) -> Result<Option<Vec<u8>>> {
                Ok(sqlx::query_scalar(
                    "SELECT raw FROM messages WHERE id = $1 AND disposition = 'quarantined'",
                )
                .bind(id)
                .fetch_optional(pool)
                .await?)
            }

            pub async fn web_case_raws(pool: &Pool, case_id: i64, limit: i64) -> Result<Vec<(i64, Vec<u8>)>> {
                let rows = sqlx::query("SELECT id, raw FROM messages WHERE case_id = $1 ORDER BY id LIMIT $2")
                    .bind(case_id)
                    .bind(limit)
                    .fetch_all(pool)
                    .await?;
                Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
            }

            pub async fn web_case_message_raw(pool: &Pool, case_id: i64, id: i64) -> Result<Option<Vec<u8>>> {
                Ok(sqlx::query_scalar("SELECT raw FROM messages WHERE id = $1 AND case_id = $2")
                    .bind(id)
                    .bind(case_id)
                    .fetch_optional(pool)
                    .await?)
            }

            pub async fn web_case_outbox_raws(pool: &Pool, case_id: i64, limit: i64) -> Result<Vec<Vec<u8>>> {
                Ok(sqlx::query_scalar("SELECT r.raw FROM outbox o JOIN outbox_raw r ON r.id = o.id WHERE o.case_id = $1 ORDER BY o.id LIMIT $2")
                    .bind(case_id)
                    .bind(limit)
                    .fetch_all(pool)
                    .await?)
            }

            pub async fn messages_by_disposition(pool: &Pool) -> Result<Vec<(String, i64)>> {
                let rows = sqlx::query("SELECT disposition, COUNT(*) FROM messages GROUP BY disposition")
                    .fetch_all(pool)
                    .await?;
                Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
            }

            pub async fn commit_web_action(
                pool: &Pool,
                case_id: i64,
                update: Option<&CaseUpdate>,
                events: &[NewEvent],
                mails: Vec<OutboxMail>,
                now: DateTime<Utc>,
            ) -> Result<()> {
                let mut tx = $begin(pool).await?;
                if let Some(u) = update {
                    update_workflow(&mut tx, case_id, u).await?;
                }
                append_events_in(&mut tx, case_id, now, events).await?;
                queue_mails(&mut tx, Some(case_id), mails, now).await?;
                tx.commit().await?;
                Ok(())
            }
            // --- end web view ---

            pub async fn quarantined(pool: &Pool) -> Result<Vec<MessageRow>> {
                let rows = sqlx::query(
                    "SELECT message_id, kind, disposition, subject, from_address, received_at, error \
                     FROM messages WHERE disposition = 'quarantined' ORDER BY id DESC",
                )
                .fetch_all(pool)
                .await?;
                Ok(rows.iter().map(message_row).collect())
            }

            pub async fn case_events(pool: &Pool, case_id: i64) -> Result<Vec<EventRow>> {
                let rows = sqlx::query(
                    "SELECT seq, at, kind, actor, data, prev_hash, hash FROM events \
                     WHERE case_id = $1 ORDER BY seq",
                )
                .bind(case_id)
                .fetch_all(pool)
                .await?;
                Ok(rows
                    .iter()
                    .map(|r| EventRow {
                        seq: r.get(0),
                        at: r.get(1),
                        kind: EventKind::parse(r.get::<&str, _>(2)),
                        actor: r.get(3),
                        data: serde_json::from_str(&r.get::<String, _>(4)).unwrap_or_default(),
                        prev_hash: r.get(5),
                        hash: r.get(6),
                    })
                    .collect())
            }

            const CHAIN: &str = "SELECT seq, at, kind, actor, data, prev_hash, hash, seal FROM events \
                 WHERE case_id = $1 ORDER BY seq";

            /// A stored event as the chain check reads it, seal included. Stored
            /// JSON that does not parse is kept as a string, so that it still
            /// takes part in (and breaks) the hash.
            fn chain_row(r: &<Db as sqlx::Database>::Row, case_ref: &CaseRef) -> timeline::StoredEvent {
                let data: String = r.get(4);
                let seal: Option<String> = r.get(7);
                timeline::StoredEvent {
                    event: timeline::Event {
                        seq: u64::try_from(r.get::<i64, _>(0)).unwrap_or(0),
                        case_ref: case_ref.clone(),
                        at: r.get(1),
                        kind: EventKind::parse(r.get::<&str, _>(2)),
                        actor: r.get(3),
                        data: serde_json::from_str(&data).unwrap_or(serde_json::Value::String(data)),
                    },
                    seal: seal.map(|s| serde_json::from_str(&s).unwrap_or(serde_json::Value::String(s))),
                    prev_hash: r.get(5),
                    hash: r.get(6),
                }
            }

            /// A case's timeline with the seals, in `seq` order.
            pub async fn case_chain(
                pool: &Pool,
                case_id: i64,
                case_ref: &CaseRef,
            ) -> Result<Vec<timeline::StoredEvent>> {
                let rows = sqlx::query(CHAIN).bind(case_id).fetch_all(pool).await?;
                Ok(rows.iter().map(|r| chain_row(r, case_ref)).collect())
            }

            /// Everything `register verify` reads, inside the caller's
            /// transaction (one snapshot, so a running daemon cannot make a case
            /// row and its timeline, or the counters and the events, disagree).
            pub async fn register_snapshot_in(tx: &mut Tx) -> Result<RegisterSnapshot> {
                let reg_counter: i64 =
                    sqlx::query_scalar("SELECT last FROM register_counter WHERE id = 1")
                        .fetch_optional(&mut **tx)
                        .await?
                        .unwrap_or(0);
                let counters = sqlx::query("SELECT prefix, year, last FROM case_counters ORDER BY prefix, year")
                    .fetch_all(&mut **tx)
                    .await?
                    .iter()
                    .map(|r| (r.get(0), r.get(1), r.get(2)))
                    .collect();
                let records: Vec<CaseRecord> =
                    sqlx::query(sqlx::AssertSqlSafe(format!("{RECORD} ORDER BY id")))
                        .fetch_all(&mut **tx)
                        .await?
                        .iter()
                        .map(record_row)
                        .collect();
                let mut cases = Vec::with_capacity(records.len());
                for rec in records {
                    let chain = sqlx::query(CHAIN)
                        .bind(rec.id)
                        .fetch_all(&mut **tx)
                        .await?
                        .iter()
                        .map(|r| chain_row(r, &rec.case_ref))
                        .collect();
                    cases.push((rec, chain));
                }
                Ok(RegisterSnapshot {
                    reg_counter: u64::try_from(reg_counter).unwrap_or(0),
                    case_counters: counters,
                    cases,
                })
            }

            pub async fn case_outbox(pool: &Pool, case_id: i64) -> Result<Vec<OutboxSummary>> {
                let rows = sqlx::query(
                    "SELECT message_id, purpose, recipients, subject, status, attempts, last_error, sent_at \
                     FROM outbox WHERE case_id = $1 ORDER BY id",
                )
                .bind(case_id)
                .fetch_all(pool)
                .await?;
                Ok(rows
                    .iter()
                    .map(|r| OutboxSummary {
                        message_id: r.get(0),
                        purpose: r.get(1),
                        recipients: json_list(&r.get::<String, _>(2)),
                        subject: r.get(3),
                        status: r.get(4),
                        attempts: r.get(5),
                        last_error: r.get(6),
                        sent_at: r.get(7),
                    })
                    .collect())
            }
        }
    };
}
