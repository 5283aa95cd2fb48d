-- The web view's case lists (open cases page, /api/v1/cases): one indexed
-- query per page. The route's committee, official and deputy are kept as
-- columns beside the route JSON (written with it when the case opens; a
-- case's route never changes afterwards), so filters and the roster scope are
-- plain indexed comparisons. Addresses in lower case.
ALTER TABLE cases ADD COLUMN committee TEXT;
ALTER TABLE cases ADD COLUMN official TEXT;
ALTER TABLE cases ADD COLUMN deputy TEXT;
UPDATE cases SET
    committee = json_extract(route, '$.committee.name'),
    official = lower(json_extract(route, '$.official.address')),
    deputy = lower(json_extract(route, '$.deputy.address'))
WHERE json_valid(route);
-- Open cases by deadline (the page's order); all cases by deadline for ?all=true.
CREATE INDEX cases_open_deadline ON cases (deadline_at, ref) WHERE state <> 'closed';
CREATE INDEX cases_deadline ON cases (deadline_at, ref);
CREATE INDEX cases_official_deadline ON cases (official, deadline_at);
CREATE INDEX cases_deputy_deadline ON cases (deputy, deadline_at);
CREATE INDEX cases_committee_deadline ON cases (committee, deadline_at);
