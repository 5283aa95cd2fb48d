-- Case joining without thread headers (core::series): what identifies a notice
-- across forwards and copies, on the message; who the supplier is, on the case.
ALTER TABLE messages ADD COLUMN notice_message_id TEXT;
ALTER TABLE messages ADD COLUMN text_hash TEXT;
CREATE INDEX messages_notice_message_id ON messages (notice_message_id) WHERE notice_message_id IS NOT NULL;
CREATE INDEX messages_text_hash ON messages (text_hash) WHERE text_hash IS NOT NULL;

ALTER TABLE cases ADD COLUMN supplier_domain TEXT;
ALTER TABLE cases ADD COLUMN supplier_org TEXT;
CREATE INDEX cases_supplier_domain ON cases (supplier_domain, aware_at) WHERE supplier_domain IS NOT NULL;
CREATE INDEX cases_supplier_org ON cases (supplier_org, aware_at) WHERE supplier_org IS NOT NULL;
-- Cases opened before: their reporter domain as it is (exact for a supplier
-- writing from its registered domain; a subdomain keeps its full name).
UPDATE cases SET supplier_domain = reporter_domain WHERE supplier_domain IS NULL;
