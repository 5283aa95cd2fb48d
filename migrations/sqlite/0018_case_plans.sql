-- Issue 10: a case's reminder plan and its timeline's head move out of the
-- wide `cases` row into a narrow row of their own (see PostgreSQL's 0018:
-- a reminder rewrote the whole ~1.9 KB case row; SQLite, too, writes a row
-- whole). A reminder now writes only its plan row.
CREATE TABLE case_plans (
    case_id           INTEGER PRIMARY KEY REFERENCES cases(id),
    next_reminder_at  TEXT,
    next_reminder_seq INTEGER,
    reminders_sent    INTEGER NOT NULL DEFAULT 0,
    timeline_head     TEXT NOT NULL DEFAULT '0000000000000000000000000000000000000000000000000000000000000000'
) STRICT;
INSERT INTO case_plans (case_id, next_reminder_at, next_reminder_seq, reminders_sent, timeline_head)
    SELECT id, next_reminder_at, next_reminder_seq, reminders_sent, timeline_head FROM cases;
CREATE INDEX case_plans_next_reminder ON case_plans (next_reminder_at, case_id);
DROP INDEX cases_next_reminder;
ALTER TABLE cases DROP COLUMN next_reminder_at;
ALTER TABLE cases DROP COLUMN next_reminder_seq;
ALTER TABLE cases DROP COLUMN reminders_sent;
ALTER TABLE cases DROP COLUMN timeline_head;
