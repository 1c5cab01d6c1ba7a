-- The audit chain's storage, compacted (as migrations/pg 000005 does on
-- PostgreSQL; see there for the whole design). SQLite's one writer already
-- serializes every transaction, so an event is linked into its chain (its
-- seq and hash, from the chain's end the writer caches) in the transaction
-- that records it: no queue. The head row no longer follows each event (a
-- trigger did, one more page written per commit): the sealer moves it over
-- the events linked past it, in batches; until then they are not sealed.
--
-- The sealed events are stored compactly, clustered on (chain, seq):
--   * chain is the org's chain number (audit_heads.chain), 1 to 4 bytes
--     where the org's UUID took 36.
--   * id is 16 bytes, occurred_at microseconds since 1970 (UTC).
--   * a previous hash is not stored: it is the previous event's hash.
--   * actor_type and outcome are small codes (1 user, 2 api_key, 3 system;
--     1 success, 2 denied).
--   * actor_id, target_id and api_key_id are "references": a UUID in
--     canonical form is stored as a zero byte and its 16 bytes, any other
--     text as its UTF-8 bytes (which never hold a zero byte), the empty
--     text as no bytes.
--   * format is the canonical encoding the hash covers (FORMAT.md): 1 for
--     the events made before this migration, 2 since.
--   * time windows are found through audit_blocks (one row per 1024 events,
--     and audit_heads for the block being filled) rather than an index on
--     occurred_at, which SQLite's planner did not use for paging anyway.
-- Existing chains are copied as they are (format 1) and verify unchanged.

DROP TRIGGER orgs_audit_head;
DROP TRIGGER audit_events_extend_head;

CREATE TABLE audit_heads_rebuilt (
    org_id       TEXT    NOT NULL PRIMARY KEY REFERENCES orgs (id),
    chain        INTEGER NOT NULL UNIQUE,
    seq          INTEGER NOT NULL,
    hash         BLOB    NOT NULL,
    block_min_at INTEGER,
    block_max_at INTEGER,
    CONSTRAINT audit_heads_seq_nonneg CHECK (seq >= 0)
) WITHOUT ROWID;
INSERT INTO audit_heads_rebuilt (org_id, chain, seq, hash)
SELECT org_id, row_number() OVER (ORDER BY org_id), seq, hash FROM audit_heads;
DROP TABLE audit_heads;
ALTER TABLE audit_heads_rebuilt RENAME TO audit_heads;

CREATE TRIGGER orgs_audit_head AFTER INSERT ON orgs
BEGIN
    INSERT INTO audit_heads (org_id, chain, seq, hash)
    VALUES (NEW.id, (SELECT coalesce(max(chain), 0) + 1 FROM audit_heads), 0, zeroblob(32));
END;

-- A migration down to 000004 keeps what 000004 has no column for (the
-- api_key_id and format of format 2 events) in audit_events_format2.
CREATE TABLE IF NOT EXISTS audit_events_format2 (
    org_id     TEXT    NOT NULL,
    seq        INTEGER NOT NULL,
    api_key_id BLOB    NOT NULL,
    format     INTEGER NOT NULL,
    PRIMARY KEY (org_id, seq)
) WITHOUT ROWID;

CREATE TABLE audit_events_sealed (
    chain       INTEGER NOT NULL,
    seq         INTEGER NOT NULL,
    id          BLOB    NOT NULL,
    occurred_at INTEGER NOT NULL,
    format      INTEGER NOT NULL,
    actor_type  INTEGER NOT NULL,
    outcome     INTEGER NOT NULL,
    actor_id    BLOB    NOT NULL,
    target_id   BLOB    NOT NULL,
    api_key_id  BLOB    NOT NULL,
    hash        BLOB    NOT NULL,
    action      TEXT    NOT NULL,
    target_type TEXT    NOT NULL,
    metadata    TEXT    NOT NULL,
    remote_addr TEXT    NOT NULL,
    request_id  TEXT    NOT NULL,
    PRIMARY KEY (chain, seq),
    CONSTRAINT audit_events_seq_positive CHECK (seq > 0),
    CONSTRAINT audit_events_format_known CHECK (format >= 1 AND format <= 2),
    CONSTRAINT audit_events_actor_type_enum CHECK (actor_type >= 1 AND actor_type <= 3),
    CONSTRAINT audit_events_outcome_enum CHECK (outcome >= 1 AND outcome <= 2),
    CONSTRAINT audit_events_action_len CHECK (length(action) BETWEEN 1 AND 100),
    CONSTRAINT audit_events_hash_len CHECK (length(hash) = 32)
) WITHOUT ROWID;

INSERT INTO audit_events_sealed (chain, seq, id, occurred_at, format, actor_type, outcome,
    actor_id, target_id, api_key_id, hash, action, target_type, metadata, remote_addr, request_id)
SELECT h.chain, e.seq, unhex(replace(e.id, '-', '')),
       -- occurred_at was stored as 2006-01-02T15:04:05.000000Z
       unixepoch(substr(e.occurred_at, 1, 19)) * 1000000 + CAST(substr(e.occurred_at, 21, 6) AS INTEGER),
       coalesce(f.format, 1),
       CASE e.actor_type WHEN 'user' THEN 1 WHEN 'api_key' THEN 2 ELSE 3 END,
       CASE e.outcome WHEN 'success' THEN 1 ELSE 2 END,
       CASE WHEN e.actor_id = '' THEN X''
            WHEN length(e.actor_id) = 36 AND e.actor_id GLOB '[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]'
                THEN X'00' || unhex(replace(e.actor_id, '-', ''))
            ELSE CAST(e.actor_id AS BLOB) END,
       CASE WHEN e.target_id = '' THEN X''
            WHEN length(e.target_id) = 36 AND e.target_id GLOB '[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]'
                THEN X'00' || unhex(replace(e.target_id, '-', ''))
            ELSE CAST(e.target_id AS BLOB) END,
       coalesce(f.api_key_id, X''), e.hash, e.action, e.target_type, e.metadata, e.remote_addr, e.request_id
FROM audit_events e
JOIN audit_heads h ON h.org_id = e.org_id
LEFT JOIN audit_events_format2 f ON f.org_id = e.org_id AND f.seq = e.seq
ORDER BY h.chain, e.seq;
DROP TABLE audit_events; -- its triggers and index go with it
DROP TABLE audit_events_format2;
ALTER TABLE audit_events_sealed RENAME TO audit_events;

CREATE TABLE audit_blocks (
    chain  INTEGER NOT NULL,
    block  INTEGER NOT NULL,
    min_at INTEGER NOT NULL,
    max_at INTEGER NOT NULL,
    PRIMARY KEY (chain, block)
) WITHOUT ROWID;
INSERT INTO audit_blocks (chain, block, min_at, max_at)
SELECT e.chain, (e.seq - 1) / 1024, min(e.occurred_at), max(e.occurred_at)
FROM audit_events e JOIN audit_heads h ON h.chain = e.chain
WHERE (e.seq - 1) / 1024 < (h.seq - 1) / 1024 OR h.seq % 1024 = 0
GROUP BY e.chain, (e.seq - 1) / 1024;
UPDATE audit_heads SET
    block_min_at = (SELECT min(e.occurred_at) FROM audit_events e
                    WHERE e.chain = audit_heads.chain AND (e.seq - 1) / 1024 = (audit_heads.seq - 1) / 1024),
    block_max_at = (SELECT max(e.occurred_at) FROM audit_events e
                    WHERE e.chain = audit_heads.chain AND (e.seq - 1) / 1024 = (audit_heads.seq - 1) / 1024)
WHERE seq % 1024 <> 0;

-- Append-only: no UPDATE, no DELETE.
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only: UPDATE refused');
END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only: DELETE refused');
END;
CREATE TRIGGER audit_blocks_no_update BEFORE UPDATE ON audit_blocks
BEGIN
    SELECT RAISE(ABORT, 'audit_blocks is append-only: UPDATE refused');
END;
CREATE TRIGGER audit_blocks_no_delete BEFORE DELETE ON audit_blocks
BEGIN
    SELECT RAISE(ABORT, 'audit_blocks is append-only: DELETE refused');
END;

-- An event extends its chain: its sequence number is the chain's last plus
-- one (the primary key keeps it unique; this keeps the chain gapless).
CREATE TRIGGER audit_events_extend_chain BEFORE INSERT ON audit_events
WHEN NEW.seq <> coalesce((SELECT max(seq) FROM audit_events WHERE chain = NEW.chain), 0) + 1
BEGIN
    SELECT RAISE(ABORT, 'audit_events: events must extend their chain, without gaps');
END;

-- A head moves forward only, and only to an event the chain holds with that
-- hash (seq 0 is the empty chain).
CREATE TRIGGER audit_heads_guard BEFORE UPDATE ON audit_heads
WHEN NEW.org_id <> OLD.org_id OR NEW.chain <> OLD.chain OR NEW.seq < OLD.seq
  OR (NEW.seq = OLD.seq AND NEW.hash <> OLD.hash)
  OR (NEW.seq > 0 AND NOT EXISTS (SELECT 1 FROM audit_events
                                  WHERE chain = NEW.chain AND seq = NEW.seq AND hash = NEW.hash))
BEGIN
    SELECT RAISE(ABORT, 'audit_heads: a head cannot move there');
END;
