-- Issue 10: the formatted mail in its own table. `outbox.raw` (the whole
-- RFC 5322 mail) sat in the row that every claim and status change rewrites
-- and that `outbox_waiting` reads past: with 10,000 queued reminders sending
-- was bound by reading and rewriting those blobs. The row keeps the small
-- columns; the sender reads the raw once by id when it sends. The raw goes
-- with its row.
CREATE TABLE outbox_raw (
    id  BIGINT PRIMARY KEY REFERENCES outbox (id) ON DELETE CASCADE,
    raw BYTEA NOT NULL
);
INSERT INTO outbox_raw (id, raw) SELECT id, raw FROM outbox;
ALTER TABLE outbox DROP COLUMN raw;
