-- NIS2 beside GDPR (issue 16, core::regime): the NIS2 deadlines have their own
-- reminder stream, planned from the case's workflow (its `nis2` state) by
-- `Case::next_nis2_reminder`. The GDPR stream (next_reminder_*) is unchanged.
-- Not sealed into the register (like next_reminder_at: derived scheduling).
ALTER TABLE cases ADD COLUMN nis2_reminder_at TIMESTAMPTZ;
ALTER TABLE cases ADD COLUMN nis2_reminders_sent BIGINT NOT NULL DEFAULT 0;
CREATE INDEX cases_nis2_reminder ON cases (nis2_reminder_at) WHERE nis2_reminder_at IS NOT NULL;
