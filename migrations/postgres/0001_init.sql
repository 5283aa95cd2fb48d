-- breachwatch schema, PostgreSQL flavour. Times are TIMESTAMPTZ.


CREATE TABLE case_counters (
    prefix TEXT NOT NULL,
    year   BIGINT NOT NULL,
    last   BIGINT NOT NULL,
    PRIMARY KEY (prefix, year)
);

CREATE TABLE cases (
    id                    BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ref                   TEXT NOT NULL UNIQUE,
    state                 TEXT NOT NULL,
    aware_at              TIMESTAMPTZ NOT NULL,
    deadline_at           TIMESTAMPTZ NOT NULL,
    opened_at             TIMESTAMPTZ NOT NULL,
    reporter_name         TEXT,
    reporter_address      TEXT,
    reporter_organisation TEXT,
    reporter_domain       TEXT,
    systems               TEXT NOT NULL DEFAULT '[]',
    rule_name             TEXT,
    route                 TEXT NOT NULL,
    facts                 TEXT NOT NULL DEFAULT '{}',
    workflow              TEXT NOT NULL DEFAULT '{}',
    next_reminder_at      TIMESTAMPTZ,
    next_reminder_seq     BIGINT,
    reminders_sent        BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX cases_next_reminder ON cases (next_reminder_at);

CREATE TABLE messages (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    case_id       BIGINT REFERENCES cases (id),
    message_id    TEXT,
    content_hash  TEXT NOT NULL UNIQUE,
    kind          TEXT NOT NULL,
    disposition   TEXT NOT NULL,
    subject       TEXT,
    from_address  TEXT,
    received_at   TIMESTAMPTZ,
    mailbox       TEXT,
    uidvalidity   BIGINT,
    uid           BIGINT,
    error         TEXT,
    recorded_at   TIMESTAMPTZ NOT NULL,
    raw           BYTEA NOT NULL
);
CREATE UNIQUE INDEX messages_message_id ON messages (message_id) WHERE message_id IS NOT NULL;
CREATE INDEX messages_case ON messages (case_id);

CREATE TABLE outbox (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    case_id         BIGINT REFERENCES cases (id),
    dedupe_key      TEXT NOT NULL UNIQUE,
    message_id      TEXT NOT NULL UNIQUE,
    purpose         TEXT NOT NULL,
    envelope_from   TEXT NOT NULL,
    recipients      TEXT NOT NULL,
    subject         TEXT NOT NULL,
    raw             BYTEA NOT NULL,
    status          TEXT NOT NULL DEFAULT 'pending',
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    last_error      TEXT,
    created_at      TIMESTAMPTZ NOT NULL,
    sent_at         TIMESTAMPTZ
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);

CREATE TABLE events (
    id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    case_id   BIGINT NOT NULL REFERENCES cases (id),
    seq       BIGINT NOT NULL,
    at        TIMESTAMPTZ NOT NULL,
    kind      TEXT NOT NULL,
    actor     TEXT NOT NULL,
    data      TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL,
    UNIQUE (case_id, seq)
);

CREATE TABLE mailbox_state (
    mailbox     TEXT PRIMARY KEY,
    uidvalidity BIGINT NOT NULL,
    last_uid    BIGINT NOT NULL
);
