-- Issue 10: the clock pages through the due cases in (next_reminder_at, id)
-- order, a group at a time (`due_reminder_page`), so the first group is
-- written while the rest is still to be read. The index holds that order
-- (SQLite's held the row id already; PostgreSQL's did not).
DROP INDEX cases_next_reminder;
CREATE INDEX cases_next_reminder ON cases (next_reminder_at, id);
