-- Issue 10: PostgreSQL's migration 0014 compresses raw mail with lz4. SQLite
-- stores blobs as they are: nothing to change, the number kept in step.
SELECT 1;
