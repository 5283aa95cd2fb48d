-- The register's tamper evidence (core::register): each event written from now
-- on carries a seal (its register-wide sequence number and the case row's
-- fields after its transaction), hashed with the event. Events written before
-- keep a NULL seal and verify as before.
ALTER TABLE events ADD COLUMN seal TEXT;
-- The last register-wide sequence number handed out; one row. Taken (and so
-- locked) first by every transaction that appends events, so numbers follow
-- commit order and a rolled-back transaction leaves no hole.
CREATE TABLE register_counter (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    last INTEGER NOT NULL
) STRICT;
INSERT INTO register_counter (id, last) VALUES (1, 0);
