-- Issue 10: the outbox claim walks one index in send order instead of sorting
-- every due row joined with its case at each claim (10,000 queued reminders
-- made that quadratic). `priority_at` is the deadline of the mail's case when
-- it was queued; mail of no case (the digest) sorts last.
ALTER TABLE outbox ADD COLUMN priority_at TIMESTAMPTZ;
UPDATE outbox o SET priority_at = COALESCE(
    (SELECT c.deadline_at FROM cases c WHERE c.id = o.case_id),
    TIMESTAMPTZ '9999-12-31 23:59:59+00');
CREATE INDEX outbox_claim ON outbox (priority_at, next_attempt_at, id)
    WHERE status IN ('pending', 'sending');
