//! How each backend binds a list of values: the one place where the store's
//! SQL differs by backend beyond a clause (`queries::backend!`).
//!
//! A statement built for its number of values (`IN ($1, $2, …)`, `VALUES
//! (…), (…)`) is a new text for every number it meets, and PostgreSQL parses
//! and plans each new text once per connection, one more round trip each: a
//! 10,000-message drain met 966 such Parses (issue #10, session 38).
//! PostgreSQL takes each column as one array bind and `unnest`s it, so a
//! statement's text is the same whatever its number of rows. SQLite has no
//! arrays: it keeps its lists, statement for statement as before.
//!
//! A list source is pushed as `AS v(column1, column2, …)`: the names SQLite
//! gives a `VALUES` list's columns, so the SQL around it is written once.
//! The notice look-up's keys stay a `VALUES` list on both backends
//! (`queries::push_first_on_case`).

use chrono::{DateTime, Utc};
use sqlx::postgres::PgBindIterExt;
use sqlx::{Postgres, QueryBuilder, Sqlite};

use super::chain::EventRow;
use super::{NewMessage, OutboxMail};

/// The register row's columns, in the order both backends bind them.
const MESSAGE_COLUMNS: &str =
    "INSERT INTO messages (message_id, content_hash, kind, disposition, subject, \
     from_address, received_at, mailbox, uidvalidity, uid, error, recorded_at, raw, \
     notice_message_id, text_hash) ";

const EVENT_COLUMNS: &str =
    "INSERT INTO events (case_id, seq, at, kind, actor, data, prev_hash, hash, seal) ";

/// The outbox row's columns; its values are `v.column2`…`v.column8` of a list
/// whose `column1` is the mail's place in the group's order.
const OUTBOX_INSERT: &str =
    "INSERT INTO outbox (case_id, dedupe_key, message_id, purpose, envelope_from, \
     recipients, subject, status, attempts, next_attempt_at, created_at, priority_at) \
     SELECT v.column2, v.column3, v.column4, v.column5, v.column6, v.column7, v.column8, \
     'pending', 0, ";

/// A mail's recipients as the outbox row stores them.
fn recipients(m: &OutboxMail) -> String {
    serde_json::to_string(&m.recipients).unwrap_or_default()
}

/// The outbox rows' INSERT up to its list: created and due `now`, each
/// row's priority its case's deadline (`no_deadline` without one).
fn outbox_head<D: sqlx::Database>(now: DateTime<Utc>, no_deadline: DateTime<Utc>) -> QueryBuilder<D>
where
    DateTime<Utc>: for<'a> sqlx::Encode<'a, D> + sqlx::Type<D>,
{
    let mut q = QueryBuilder::new(OUTBOX_INSERT);
    q.push_bind(now)
        .push(", ")
        .push_bind(now)
        .push(", COALESCE(c.deadline_at, ");
    q.push_bind(no_deadline).push(") FROM ");
    q
}

/// What differs between the backends when a statement carries a list.
pub(crate) trait Lists: sqlx::Database + Sized {
    /// How many rows one statement takes where SQLite takes `sqlite_rows`:
    /// SQLite's lists are bounded by its number of binds, PostgreSQL's arrays
    /// are one bind a column whatever their length.
    fn rows(sqlite_rows: usize) -> usize;
    /// ` IN (…)` of texts (`= ANY(…)`); an empty list matches nothing.
    fn push_in(q: &mut QueryBuilder<Self>, xs: &[String]);
    /// ` IN (…)` of row ids (`= ANY(…)`); an empty list matches nothing.
    fn push_ids_in(q: &mut QueryBuilder<Self>, ids: &[i64]);
    /// Pairs of row ids as a row source `v(column1, column2)`.
    fn push_id_pairs(q: &mut QueryBuilder<Self>, pairs: &[(i64, i64)]);
    /// Pairs of a row id and a text as a row source `v(column1, column2)`.
    fn push_id_texts(q: &mut QueryBuilder<Self>, pairs: &[(i64, &str)]);
    /// The register rows' INSERT (without its conflict and returning clauses).
    fn insert_messages(items: &[(&NewMessage, DateTime<Utc>)]) -> QueryBuilder<Self>;
    /// The chained event rows' INSERT, all at `at`.
    fn insert_events(at: DateTime<Utc>, rows: &[EventRow]) -> QueryBuilder<Self>;
    /// The outbox rows' INSERT of `rows` in their order, each with its
    /// case's deadline as priority (`no_deadline` without one).
    fn insert_outbox(
        now: DateTime<Utc>,
        no_deadline: DateTime<Utc>,
        rows: &[(Option<i64>, OutboxMail)],
    ) -> QueryBuilder<Self>;
    /// The raw mails of `rows` (already queued) into `outbox_raw`, found by
    /// Message-ID.
    fn insert_outbox_raw(rows: &[(Option<i64>, OutboxMail)]) -> QueryBuilder<Self>;
}

/// SQLite's ` IN (…)`, a bind a value; an empty list is `IN (NULL)`.
fn sqlite_in<'t, T: sqlx::Encode<'t, Sqlite> + sqlx::Type<Sqlite>>(
    q: &mut QueryBuilder<Sqlite>,
    xs: impl IntoIterator<Item = T>,
) {
    q.push(" IN (");
    let mut xs = xs.into_iter().peekable();
    if xs.peek().is_none() {
        q.push("NULL");
    } else {
        let mut list = q.separated(", ");
        for x in xs {
            list.push_bind(x);
        }
    }
    q.push(")");
}

impl Lists for Sqlite {
    fn rows(sqlite_rows: usize) -> usize {
        sqlite_rows
    }

    fn push_in(q: &mut QueryBuilder<Self>, xs: &[String]) {
        sqlite_in(q, xs.iter().map(String::as_str));
    }

    fn push_ids_in(q: &mut QueryBuilder<Self>, ids: &[i64]) {
        sqlite_in(q, ids.iter().copied());
    }

    fn push_id_pairs(q: &mut QueryBuilder<Self>, pairs: &[(i64, i64)]) {
        q.push("(");
        q.push_values(pairs, |mut b, (a, c)| {
            b.push_bind(*a).push_bind(*c);
        });
        q.push(") AS v");
    }

    fn push_id_texts(q: &mut QueryBuilder<Self>, pairs: &[(i64, &str)]) {
        q.push("(");
        q.push_values(pairs, |mut b, (a, t)| {
            b.push_bind(*a).push_bind(*t);
        });
        q.push(") AS v");
    }

    fn insert_messages(items: &[(&NewMessage, DateTime<Utc>)]) -> QueryBuilder<Self> {
        let mut q = QueryBuilder::new(MESSAGE_COLUMNS);
        q.push_values(items, |mut b, (m, now)| {
            b.push_bind(&m.message_id)
                .push_bind(&m.content_hash)
                .push_bind(&m.kind)
                .push_bind(&m.disposition)
                .push_bind(&m.subject)
                .push_bind(&m.from_address)
                .push_bind(m.received_at)
                .push_bind(&m.mailbox)
                .push_bind(m.uidvalidity.map(i64::from))
                .push_bind(m.uid.map(i64::from))
                .push_bind(&m.error)
                .push_bind(*now)
                .push_bind(&m.raw)
                .push_bind(&m.notice_message_id)
                .push_bind(&m.text_hash);
        });
        q
    }

    fn insert_events(at: DateTime<Utc>, rows: &[EventRow]) -> QueryBuilder<Self> {
        let mut q = QueryBuilder::new(EVENT_COLUMNS);
        q.push_values(rows, |mut b, e| {
            b.push_bind(e.case_id)
                .push_bind(e.seq)
                .push_bind(at)
                .push_bind(&e.kind)
                .push_bind(&e.actor)
                .push_bind(&e.data)
                .push_bind(&e.prev_hash)
                .push_bind(&e.hash)
                .push_bind(&e.seal);
        });
        q
    }

    fn insert_outbox(
        now: DateTime<Utc>,
        no_deadline: DateTime<Utc>,
        rows: &[(Option<i64>, OutboxMail)],
    ) -> QueryBuilder<Self> {
        let mut q = outbox_head::<Self>(now, no_deadline);
        q.push("(");
        q.push_values(rows.iter().enumerate(), |mut b, (i, (case_id, m))| {
            b.push_bind(i as i64)
                .push_bind(*case_id)
                .push_bind(&m.dedupe_key)
                .push_bind(&m.message_id)
                .push_bind(&m.purpose)
                .push_bind(&m.envelope_from)
                .push_bind(recipients(m))
                .push_bind(&m.subject);
        });
        // WHERE: SQLite's upsert after a SELECT needs it.
        q.push(
            ") AS v LEFT JOIN cases AS c ON c.id = v.column2 WHERE true \
             ORDER BY v.column1 ON CONFLICT DO NOTHING",
        );
        q
    }

    fn insert_outbox_raw(rows: &[(Option<i64>, OutboxMail)]) -> QueryBuilder<Self> {
        let mut q =
            QueryBuilder::new("INSERT INTO outbox_raw (id, raw) SELECT o.id, v.column2 FROM (");
        q.push_values(rows, |mut b, (_, m)| {
            b.push_bind(&m.message_id).push_bind(&m.raw);
        });
        q.push(") AS v JOIN outbox AS o ON o.message_id = v.column1 WHERE true ON CONFLICT (id) DO NOTHING");
        q
    }
}

/// Binds each of `$row`'s columns, as `$rows` hold them, as one array:
/// `columns!(s, rows, |r| [r.a, r.b.as_str()])` binds `rows.map(|r| r.a)`,
/// then `rows.map(|r| r.b.as_str())`.
macro_rules! columns {
    ($s:ident, $rows:expr, |$row:pat_param| [$($col:expr),+ $(,)?]) => {
        // A column reads one field of the row: the pattern's other names go unused.
        $(
            #[allow(unused_variables)]
            $s.push_bind($rows.iter().map(|$row| $col).bind_iter());
        )+
    };
}

impl Lists for Postgres {
    fn rows(_: usize) -> usize {
        usize::MAX
    }

    fn push_in(q: &mut QueryBuilder<Self>, xs: &[String]) {
        q.push(" = ANY(");
        q.push_bind(xs.iter().map(String::as_str).bind_iter());
        q.push(")");
    }

    fn push_ids_in(q: &mut QueryBuilder<Self>, ids: &[i64]) {
        q.push(" = ANY(");
        q.push_bind(ids.iter().copied().bind_iter());
        q.push(")");
    }

    fn push_id_pairs(q: &mut QueryBuilder<Self>, pairs: &[(i64, i64)]) {
        q.push("unnest(");
        q.push_bind(pairs.iter().map(|p| p.0).bind_iter());
        q.push(", ");
        q.push_bind(pairs.iter().map(|p| p.1).bind_iter());
        q.push(") AS v(column1, column2)");
    }

    fn push_id_texts(q: &mut QueryBuilder<Self>, pairs: &[(i64, &str)]) {
        q.push("unnest(");
        q.push_bind(pairs.iter().map(|p| p.0).bind_iter());
        q.push(", ");
        q.push_bind(pairs.iter().map(|p| p.1).bind_iter());
        q.push(") AS v(column1, column2)");
    }

    fn insert_messages(items: &[(&NewMessage, DateTime<Utc>)]) -> QueryBuilder<Self> {
        let mut q = QueryBuilder::new(MESSAGE_COLUMNS);
        q.push("SELECT * FROM unnest(");
        let mut s = q.separated(", ");
        columns!(s, items, |(m, now)| [
            m.message_id.as_deref(),
            m.content_hash.as_str(),
            m.kind.as_str(),
            m.disposition.as_str(),
            m.subject.as_deref(),
            m.from_address.as_deref(),
            m.received_at,
            m.mailbox.as_deref(),
            m.uidvalidity.map(i64::from),
            m.uid.map(i64::from),
            m.error.as_deref(),
            *now,
            m.raw.as_slice(),
            m.notice_message_id.as_deref(),
            m.text_hash.as_deref(),
        ]);
        q.push(")");
        q
    }

    fn insert_events(at: DateTime<Utc>, rows: &[EventRow]) -> QueryBuilder<Self> {
        let mut q = QueryBuilder::new(EVENT_COLUMNS);
        q.push("SELECT v.case_id, v.seq, ");
        q.push_bind(at);
        q.push(", v.kind, v.actor, v.data, v.prev_hash, v.hash, v.seal FROM unnest(");
        let mut s = q.separated(", ");
        columns!(s, rows, |e| [
            e.case_id,
            e.seq,
            e.kind.as_str(),
            e.actor.as_str(),
            e.data.as_str(),
            e.prev_hash.as_str(),
            e.hash.as_str(),
            e.seal.as_str(),
        ]);
        q.push(") AS v(case_id, seq, kind, actor, data, prev_hash, hash, seal)");
        q
    }

    fn insert_outbox(
        now: DateTime<Utc>,
        no_deadline: DateTime<Utc>,
        rows: &[(Option<i64>, OutboxMail)],
    ) -> QueryBuilder<Self> {
        let mut q = outbox_head::<Self>(now, no_deadline);
        q.push("unnest(");
        let mut s = q.separated(", ");
        columns!(s, rows, |(case_id, m)| [
            *case_id,
            m.dedupe_key.as_str(),
            m.message_id.as_str(),
            m.purpose.as_str(),
            m.envelope_from.as_str(),
            recipients(m),
            m.subject.as_str(),
        ]);
        // The list's place as column1, as the SQLite list has it.
        q.push(
            ") WITH ORDINALITY AS v(column2, column3, column4, column5, column6, column7, column8, column1) \
             LEFT JOIN cases AS c ON c.id = v.column2 ORDER BY v.column1 ON CONFLICT DO NOTHING",
        );
        q
    }

    fn insert_outbox_raw(rows: &[(Option<i64>, OutboxMail)]) -> QueryBuilder<Self> {
        let mut q = QueryBuilder::new(
            "INSERT INTO outbox_raw (id, raw) SELECT o.id, v.column2 FROM unnest(",
        );
        q.push_bind(rows.iter().map(|(_, m)| m.message_id.as_str()).bind_iter());
        q.push(", ");
        q.push_bind(rows.iter().map(|(_, m)| m.raw.as_slice()).bind_iter());
        q.push(") AS v(column1, column2) JOIN outbox AS o ON o.message_id = v.column1 ON CONFLICT (id) DO NOTHING");
        q
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(i: usize) -> NewMessage {
        NewMessage {
            message_id: i.is_multiple_of(2).then(|| format!("m{i}@example.org")),
            content_hash: format!("h{i}"),
            kind: "other".into(),
            disposition: "recorded".into(),
            subject: None,
            from_address: None,
            received_at: None,
            mailbox: Some("INBOX".into()),
            uidvalidity: Some(1),
            uid: Some(i as u32),
            error: None,
            raw: std::sync::Arc::new(vec![b'x'; i]),
            notice_message_id: None,
            text_hash: None,
        }
    }

    fn event(i: usize) -> EventRow {
        EventRow {
            case_id: i as i64,
            seq: 1,
            kind: "opened".into(),
            actor: "system".into(),
            data: "{}".into(),
            prev_hash: String::new(),
            hash: format!("{i}"),
            seal: String::new(),
        }
    }

    fn mail(i: usize) -> (Option<i64>, OutboxMail) {
        let m = OutboxMail {
            dedupe_key: format!("k{i}"),
            message_id: format!("o{i}@example.org"),
            purpose: "ack".into(),
            envelope_from: "bw@example.org".into(),
            recipients: vec!["a@example.org".into()],
            subject: "s".into(),
            raw: vec![b'y'; i],
        };
        (Some(i as i64), m)
    }

    /// Every statement `Lists` builds, for `n` rows, as its text.
    fn texts<D: Lists>(n: usize) -> Vec<String> {
        let now = Utc::now();
        let msgs: Vec<NewMessage> = (0..n).map(message).collect();
        let items: Vec<(&NewMessage, DateTime<Utc>)> = msgs.iter().map(|m| (m, now)).collect();
        let events: Vec<EventRow> = (0..n).map(event).collect();
        let mails: Vec<(Option<i64>, OutboxMail)> = (0..n).map(mail).collect();
        let strs: Vec<String> = (0..n).map(|i| format!("s{i}")).collect();
        let ids: Vec<i64> = (0..n as i64).collect();
        let pairs: Vec<(i64, i64)> = ids.iter().map(|i| (*i, i + 1)).collect();
        let id_texts: Vec<(i64, &str)> = ids
            .iter()
            .zip(&strs)
            .map(|(i, s)| (*i, s.as_str()))
            .collect();
        let mut out = vec![
            D::insert_messages(&items).into_string(),
            D::insert_events(now, &events).into_string(),
            D::insert_outbox(now, now, &mails).into_string(),
            D::insert_outbox_raw(&mails).into_string(),
        ];
        let mut q = QueryBuilder::<D>::new("SELECT 1 WHERE a");
        D::push_in(&mut q, &strs);
        q.push(" AND b");
        D::push_ids_in(&mut q, &ids);
        q.push(" FROM ");
        D::push_id_pairs(&mut q, &pairs);
        q.push(", ");
        D::push_id_texts(&mut q, &id_texts);
        out.push(q.into_string());
        out
    }

    #[test]
    fn a_postgresql_statement_has_one_text_whatever_its_number_of_rows() {
        // Each new text is parsed once per connection, a round trip of its
        // own: the texts must not change with the group's size.
        let one = texts::<Postgres>(1);
        assert_eq!(one, texts::<Postgres>(3));
        assert_eq!(one, texts::<Postgres>(50));
        // An empty list is an empty array: it matches nothing, same text.
        assert_eq!(one[4], texts::<Postgres>(0)[4]);
        // The rows' source is named as SQLite names a VALUES list's columns.
        assert!(one[4].contains("AS v(column1, column2)"), "{}", one[4]);
    }

    #[test]
    fn a_sqlite_statement_binds_each_value_so_its_rows_are_bounded() {
        let (one, three) = (texts::<Sqlite>(1), texts::<Sqlite>(3));
        for (a, b) in one.iter().zip(&three) {
            assert_ne!(a, b, "a SQLite list is a bind a value");
        }
        assert_eq!(Sqlite::rows(100), 100);
        assert_eq!(Postgres::rows(100), usize::MAX);
        // An empty list matches nothing.
        let mut q = QueryBuilder::<Sqlite>::new("SELECT 1 WHERE a");
        Sqlite::push_in(&mut q, &[]);
        q.push(" AND b");
        Sqlite::push_ids_in(&mut q, &[]);
        assert_eq!(
            q.into_string(),
            "SELECT 1 WHERE a IN (NULL) AND b IN (NULL)"
        );
    }
}
