-- Issue 10: PostgreSQL's migration 0017 orders the notice-identity indexes
-- by (identity, id) for the group's same-notice look-up (`cases_by_notices`:
-- one index probe per identity). SQLite's indexes hold the row id after the
-- key already: nothing to change, the number kept in step.
SELECT 1;
