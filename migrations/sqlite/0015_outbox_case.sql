-- Issue 10: a case's waiting mail found by its case. While a drain holds the
-- senders back, a notice that arrived meanwhile has its mail claimed by its
-- case alone (`claim_outbox_for_cases`); without this index that claim read
-- every due row of the backlog.
CREATE INDEX outbox_case ON outbox (case_id) WHERE status IN ('pending', 'sending');
