//! How each backend binds the rows of the group commit's two large INSERTs
//! (the register rows, the chained events): the one place where the store's
//! SQL differs by backend beyond a clause (`queries::backend!`).
//!
//! A multi-row `VALUES (…), (…)` statement is a new text for every number of
//! rows it meets, and PostgreSQL parses each new text once per pooled
//! connection, a round trip of its own (a 10,000-message drain met 964
//! Parses, 120 of them the register rows' INSERT; issue #10, sessions 38-39).
//! PostgreSQL takes each column as one array bind and `unnest`s it, so these
//! two statements have one text whatever their number of rows. SQLite has no
//! arrays: it keeps its lists, statement for statement as before.
//!
//! Only statements with no plan to choose are written so: an INSERT of its
//! rows as given. A statement that joins or looks rows up (`= ANY($1)`,
//! `UPDATE … FROM unnest(…)`) keeps its list: PostgreSQL keeps a prepared
//! statement's generic plan once it has run five times, and a plan made
//! while the register was empty (the start of a drain into a new register)
//! scans whole tables once they have grown. Session 39 measured it: the
//! notice look-up with array keys took ten times the server's time of the
//! list, the case-by-Message-ID look-up's time per group grew through the
//! drain while the list's fell, and the notice look-up prepared on empty
//! tables took 318 s for 60 keys once 10,000 rows were in (`EXPLAIN
//! ANALYZE`: the generic plan it kept joins by sequential scans).

use chrono::{DateTime, Utc};
use sqlx::postgres::PgBindIterExt;
use sqlx::{Postgres, QueryBuilder, Sqlite};

use super::chain::EventRow;
use super::NewMessage;

/// The register row's columns, in the order both backends bind them.
const MESSAGE_COLUMNS: &str =
    "INSERT INTO messages (message_id, content_hash, kind, disposition, subject, \
     from_address, received_at, mailbox, uidvalidity, uid, error, recorded_at, raw, \
     notice_message_id, text_hash) ";

const EVENT_COLUMNS: &str =
    "INSERT INTO events (case_id, seq, at, kind, actor, data, prev_hash, hash, seal) ";

/// The two INSERTs as each backend writes them.
pub(crate) trait Lists: sqlx::Database + Sized {
    /// How many rows one statement takes where SQLite takes `sqlite_rows`:
    /// SQLite's lists are bounded by its number of binds, PostgreSQL's arrays
    /// are one bind a column whatever their length.
    fn rows(sqlite_rows: usize) -> usize;
    /// The register rows' INSERT (without its conflict and returning clauses).
    fn insert_messages(items: &[(&NewMessage, DateTime<Utc>)]) -> QueryBuilder<Self>;
    /// The chained event rows' INSERT, all at `at`.
    fn insert_events(at: DateTime<Utc>, rows: &[EventRow]) -> QueryBuilder<Self>;
}

impl Lists for Sqlite {
    fn rows(sqlite_rows: usize) -> usize {
        sqlite_rows
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

    /// Both statements `Lists` builds, for `n` rows, as their texts.
    fn texts<D: Lists>(n: usize) -> Vec<String> {
        let now = Utc::now();
        let msgs: Vec<NewMessage> = (0..n).map(message).collect();
        let items: Vec<(&NewMessage, DateTime<Utc>)> = msgs.iter().map(|m| (m, now)).collect();
        let events: Vec<EventRow> = (0..n).map(event).collect();
        vec![
            D::insert_messages(&items).into_string(),
            D::insert_events(now, &events).into_string(),
        ]
    }

    #[test]
    fn a_postgresql_insert_has_one_text_whatever_its_number_of_rows() {
        // Each new text is parsed once per connection, a round trip of its
        // own: the texts must not change with the group's size.
        let one = texts::<Postgres>(1);
        assert_eq!(one, texts::<Postgres>(3));
        assert_eq!(one, texts::<Postgres>(50));
        assert!(one[0].contains("unnest("), "{}", one[0]);
    }

    #[test]
    fn a_sqlite_insert_binds_each_value_so_its_rows_are_bounded() {
        let (one, three) = (texts::<Sqlite>(1), texts::<Sqlite>(3));
        for (a, b) in one.iter().zip(&three) {
            assert_ne!(a, b, "a SQLite list is a bind a value");
        }
        assert_eq!(Sqlite::rows(100), 100);
        assert_eq!(Postgres::rows(100), usize::MAX);
    }
}
