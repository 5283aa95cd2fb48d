-- Issue 10: the group's same-notice look-up (`cases_by_notices`) asks, for
-- each notice identity, for the first message on a case that holds it. With
-- the index ordered by (identity, id) that is one index probe per identity;
-- before, every copy of a notice was read to find the smallest id (a notice
-- forwarded a hundred times, a hundred rows a look-up). SQLite's indexes hold
-- the row id after the key already.
DROP INDEX messages_notice_message_id;
CREATE INDEX messages_notice_message_id ON messages (notice_message_id, id) WHERE notice_message_id IS NOT NULL;
DROP INDEX messages_text_hash;
CREATE INDEX messages_text_hash ON messages (text_hash, id) WHERE text_hash IS NOT NULL;
