-- Issue 10: the raw mails compressed with lz4 instead of pglz, PostgreSQL's
-- default. pglz cost the drain most of its `INSERT INTO messages` time
-- (20 MB of public-corpus mail: 1.48 s with pglz, 1.06 s with lz4, and
-- lz4 stored it smaller: 13.8 against 14.4 MB). Only new values change;
-- stored ones stay as they are (both stay readable). A server without lz4
-- (older than 14, or built without it) keeps pglz.
DO $$
BEGIN
    IF current_setting('server_version_num')::int >= 140000 THEN
        BEGIN
            EXECUTE 'ALTER TABLE messages ALTER COLUMN raw SET COMPRESSION lz4';
            EXECUTE 'ALTER TABLE outbox_raw ALTER COLUMN raw SET COMPRESSION lz4';
        EXCEPTION WHEN feature_not_supported OR invalid_parameter_value THEN
            RAISE NOTICE 'lz4 is not available here: raw mail stays compressed with pglz';
        END;
    END IF;
END
$$;
