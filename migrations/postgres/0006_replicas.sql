-- Several replicas on one database (PostgreSQL) and a narrower duplicate window.
-- claimed_by: the replica sending the row now (its presence is a session
-- advisory lock, see workers::lease); a row left 'sending' by a replica that
-- is gone is due again at once. smtp_response: the server's 250 line (with
-- its queue id), recorded when the row is marked sent.
ALTER TABLE outbox ADD COLUMN claimed_by BIGINT;
ALTER TABLE outbox ADD COLUMN smtp_response TEXT;
CREATE INDEX outbox_sending ON outbox (claimed_by) WHERE status = 'sending';
