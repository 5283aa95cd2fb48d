-- breachwatch schema, SQLite flavour. Times are UTC RFC 3339 text (sqlx binds
-- DateTime<Utc> that way), so text order is time order.

CREATE TABLE case_counters (
    prefix TEXT NOT NULL,
    year   INTEGER NOT NULL,
    last   INTEGER NOT NULL,
    PRIMARY KEY (prefix, year)
) STRICT;

CREATE TABLE cases (
    id                    INTEGER PRIMARY KEY,
    ref                   TEXT NOT NULL UNIQUE,
    state                 TEXT NOT NULL,
    aware_at              TEXT NOT NULL,
    deadline_at           TEXT NOT NULL,
    opened_at             TEXT NOT NULL,
    reporter_name         TEXT,
    reporter_address      TEXT,
    reporter_organisation TEXT,
    reporter_domain       TEXT,
    systems               TEXT NOT NULL DEFAULT '[]',
    rule_name             TEXT,
    route                 TEXT NOT NULL,
    facts                 TEXT NOT NULL DEFAULT '{}',
    workflow              TEXT NOT NULL DEFAULT '{}',
    next_reminder_at      TEXT,
    next_reminder_seq     INTEGER,
    reminders_sent        INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX cases_next_reminder ON cases (next_reminder_at);

CREATE TABLE messages (
    id            INTEGER PRIMARY KEY,
    case_id       INTEGER REFERENCES cases (id),
    message_id    TEXT,
    content_hash  TEXT NOT NULL UNIQUE,
    kind          TEXT NOT NULL,
    disposition   TEXT NOT NULL,
    subject       TEXT,
    from_address  TEXT,
    received_at   TEXT,
    mailbox       TEXT,
    uidvalidity   INTEGER,
    uid           INTEGER,
    error         TEXT,
    recorded_at   TEXT NOT NULL,
    raw           BLOB NOT NULL
) STRICT;
CREATE UNIQUE INDEX messages_message_id ON messages (message_id) WHERE message_id IS NOT NULL;
CREATE INDEX messages_case ON messages (case_id);

CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    case_id         INTEGER REFERENCES cases (id),
    dedupe_key      TEXT NOT NULL UNIQUE,
    message_id      TEXT NOT NULL UNIQUE,
    purpose         TEXT NOT NULL,
    envelope_from   TEXT NOT NULL,
    recipients      TEXT NOT NULL,
    subject         TEXT NOT NULL,
    raw             BLOB NOT NULL,
    status          TEXT NOT NULL DEFAULT 'pending',
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_error      TEXT,
    created_at      TEXT NOT NULL,
    sent_at         TEXT
) STRICT;
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);

CREATE TABLE events (
    id        INTEGER PRIMARY KEY,
    case_id   INTEGER NOT NULL REFERENCES cases (id),
    seq       INTEGER NOT NULL,
    at        TEXT NOT NULL,
    kind      TEXT NOT NULL,
    actor     TEXT NOT NULL,
    data      TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL,
    UNIQUE (case_id, seq)
) STRICT;

CREATE TABLE mailbox_state (
    mailbox     TEXT PRIMARY KEY,
    uidvalidity INTEGER NOT NULL,
    last_uid    INTEGER NOT NULL
) STRICT;
