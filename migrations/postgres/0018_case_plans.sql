-- Issue 10: a case's reminder plan and its timeline's head move out of the
-- wide `cases` row into a narrow row of their own. A reminder moved the plan
-- (an indexed column) and the head of every reminded case: a new version of
-- a ~1.9 KB row and an entry in each of its eleven indexes, about half of
-- the burst's whole write (10,000 reminders: 390-560 ms of a set-based
-- 1.1-1.4 s). The narrow row's update takes 85-160 ms. A reminder now
-- writes no case row: it locks it (the one lock order is unchanged: case
-- rows, then the register counter) and writes its plan row.
CREATE TABLE case_plans (
    case_id           BIGINT PRIMARY KEY REFERENCES cases(id),
    next_reminder_at  TIMESTAMPTZ,
    next_reminder_seq BIGINT,
    reminders_sent    BIGINT NOT NULL DEFAULT 0,
    timeline_head     TEXT NOT NULL DEFAULT '0000000000000000000000000000000000000000000000000000000000000000'
);
INSERT INTO case_plans (case_id, next_reminder_at, next_reminder_seq, reminders_sent, timeline_head)
    SELECT id, next_reminder_at, next_reminder_seq, reminders_sent, timeline_head FROM cases;
CREATE INDEX case_plans_next_reminder ON case_plans (next_reminder_at, case_id);
DROP INDEX cases_next_reminder;
ALTER TABLE cases DROP COLUMN next_reminder_at, DROP COLUMN next_reminder_seq,
    DROP COLUMN reminders_sent, DROP COLUMN timeline_head;
