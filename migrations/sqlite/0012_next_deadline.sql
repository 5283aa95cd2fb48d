-- Issue 15: the web lists (open cases page, /api/v1/cases) sort by the case's
-- next deadline: GDPR art. 33's while its clock runs, or the nearest open
-- NIS2 deadline, whichever comes first (`Case::next_deadline`); NULL when no
-- clock runs (those cases list last, by their GDPR deadline). Derived like
-- next_reminder_at, not sealed into the register; written with every change
-- of the case row (insert_case, update_workflow, move_awareness).
ALTER TABLE cases ADD COLUMN next_deadline_at TEXT;
-- Backfill. The GDPR clock runs while the case is received, acknowledged,
-- assessed, or decided to be notified; the NIS2 early warning (24 h) and
-- incident notification (72 h) run from awareness while NIS2 is suggested or
-- applies and they are not sent. The month clocks (progress and final report)
-- need the configured zone: `Store::refresh_next_deadlines` computes every
-- open case with the core's function when the daemon starts and after
-- `breachwatch migrate`, so this is exact for the rest and corrected there.
UPDATE cases SET next_deadline_at = (
    SELECT MIN(d) FROM (
        SELECT cases.deadline_at AS d
        WHERE cases.state IN ('received', 'acknowledged', 'assessed')
           OR (cases.state = 'decided'
               AND COALESCE(json_extract(cases.workflow, '$.decision'), '') <> 'do_not_notify')
        UNION ALL
        SELECT strftime('%Y-%m-%dT%H:%M:%f+00:00', cases.aware_at, '+24 hours')
        WHERE json_extract(cases.workflow, '$.nis2.status') IN ('suggested', 'applies')
          AND json_extract(cases.workflow, '$.nis2.early_warning_sent_at') IS NULL
          AND json_extract(cases.workflow, '$.merged_into') IS NULL
        UNION ALL
        SELECT cases.deadline_at
        WHERE json_extract(cases.workflow, '$.nis2.status') IN ('suggested', 'applies')
          AND json_extract(cases.workflow, '$.nis2.notification_sent_at') IS NULL
          AND json_extract(cases.workflow, '$.merged_into') IS NULL
    )
)
WHERE json_valid(workflow);
-- The lists' order as one index walk: open cases (the page), every case (?all=true).
CREATE INDEX cases_open_next_deadline
    ON cases ((next_deadline_at IS NULL), next_deadline_at, deadline_at, ref)
    WHERE state <> 'closed';
CREATE INDEX cases_next_deadline
    ON cases ((next_deadline_at IS NULL), next_deadline_at, deadline_at, ref);
-- Migration 0010's deadline-only orders are no list's order any more.
DROP INDEX cases_open_deadline;
DROP INDEX cases_deadline;
