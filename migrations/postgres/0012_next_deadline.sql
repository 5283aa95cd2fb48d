-- Issue 15: the web lists (open cases page, /api/v1/cases) sort by the case's
-- next deadline: GDPR art. 33's while its clock runs, or the nearest open
-- NIS2 deadline, whichever comes first (`Case::next_deadline`); NULL when no
-- clock runs (those cases list last, by their GDPR deadline). Derived like
-- next_reminder_at, not sealed into the register; written with every change
-- of the case row (insert_case, update_workflow, move_awareness).
ALTER TABLE cases ADD COLUMN next_deadline_at TIMESTAMPTZ;
-- Backfill. The GDPR clock runs while the case is received, acknowledged,
-- assessed, or decided to be notified; the NIS2 early warning (24 h) and
-- incident notification (72 h) run from awareness while NIS2 is suggested or
-- applies and they are not sent. The month clocks (progress and final report)
-- need the configured zone: `Store::refresh_next_deadlines` computes every
-- open case with the core's function when the daemon starts and after
-- `breachwatch migrate`, so this is exact for the rest and corrected there.
UPDATE cases SET next_deadline_at = LEAST(
    CASE WHEN state IN ('received', 'acknowledged', 'assessed')
           OR (state = 'decided'
               AND COALESCE(workflow::jsonb ->> 'decision', '') <> 'do_not_notify')
         THEN deadline_at END,
    CASE WHEN workflow::jsonb #>> '{nis2,status}' IN ('suggested', 'applies')
          AND workflow::jsonb #>> '{nis2,early_warning_sent_at}' IS NULL
          AND workflow::jsonb ->> 'merged_into' IS NULL
         THEN aware_at + INTERVAL '24 hours' END,
    CASE WHEN workflow::jsonb #>> '{nis2,status}' IN ('suggested', 'applies')
          AND workflow::jsonb #>> '{nis2,notification_sent_at}' IS NULL
          AND workflow::jsonb ->> 'merged_into' IS NULL
         THEN deadline_at END)
WHERE workflow LIKE '{%';
-- The lists' order as one index walk: open cases (the page), every case (?all=true).
-- With the id, a page's ids come from the index alone (index-only scan).
CREATE INDEX cases_open_next_deadline
    ON cases ((next_deadline_at IS NULL), next_deadline_at, deadline_at, ref) INCLUDE (id)
    WHERE state <> 'closed';
CREATE INDEX cases_next_deadline
    ON cases ((next_deadline_at IS NULL), next_deadline_at, deadline_at, ref) INCLUDE (id);
-- Migration 0010's deadline-only orders are no list's order any more.
DROP INDEX cases_open_deadline;
DROP INDEX cases_deadline;
