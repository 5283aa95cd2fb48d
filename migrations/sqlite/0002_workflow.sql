-- Optimistic concurrency for the case workflow, and the timeline head so that
-- dropping the last events of a case is noticed by `register verify`.
ALTER TABLE cases ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE cases ADD COLUMN timeline_head TEXT NOT NULL DEFAULT '0000000000000000000000000000000000000000000000000000000000000000';
CREATE TABLE digest_runs (
    run_at TEXT PRIMARY KEY,
    sent_at TEXT NOT NULL
) STRICT;
