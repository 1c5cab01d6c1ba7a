-- Back to 000004: events stored as text with their previous hash, the head
-- moved by a trigger per event. The api_key_id and format of format 2
-- events, which 000004 has no column for, are kept in audit_events_format2,
-- which 000005 reads back, so that a chain survives going down and up
-- again; 000004's code cannot verify such events.

DROP TRIGGER audit_heads_guard;
DROP TRIGGER orgs_audit_head;

CREATE TABLE audit_events_text (
    org_id      TEXT    NOT NULL,
    seq         INTEGER NOT NULL,
    id          TEXT    NOT NULL UNIQUE,
    occurred_at TEXT    NOT NULL,
    actor_type  TEXT    NOT NULL,
    actor_id    TEXT    NOT NULL DEFAULT '',
    action      TEXT    NOT NULL,
    target_type TEXT    NOT NULL DEFAULT '',
    target_id   TEXT    NOT NULL DEFAULT '',
    outcome     TEXT    NOT NULL,
    metadata    TEXT    NOT NULL DEFAULT '{}',
    remote_addr TEXT    NOT NULL DEFAULT '',
    request_id  TEXT    NOT NULL DEFAULT '',
    prev_hash   BLOB    NOT NULL,
    hash        BLOB    NOT NULL,
    PRIMARY KEY (org_id, seq),
    CONSTRAINT audit_events_seq_positive CHECK (seq > 0),
    CONSTRAINT audit_events_actor_type_enum CHECK (actor_type = 'user' OR actor_type = 'api_key' OR actor_type = 'system'),
    CONSTRAINT audit_events_outcome_enum CHECK (outcome = 'success' OR outcome = 'denied'),
    CONSTRAINT audit_events_action_len CHECK (length(action) BETWEEN 1 AND 100),
    CONSTRAINT audit_events_hash_len CHECK (length(hash) = 32 AND length(prev_hash) = 32)
) WITHOUT ROWID;
INSERT INTO audit_events_text
SELECT h.org_id, e.seq,
       lower(substr(hex(e.id), 1, 8) || '-' || substr(hex(e.id), 9, 4) || '-' || substr(hex(e.id), 13, 4) || '-' ||
             substr(hex(e.id), 17, 4) || '-' || substr(hex(e.id), 21, 12)),
       strftime('%Y-%m-%dT%H:%M:%S', (e.occurred_at - e.micros) / 1000000, 'unixepoch') || '.' ||
             substr('000000' || e.micros, -6, 6) || 'Z',
       CASE e.actor_type WHEN 1 THEN 'user' WHEN 2 THEN 'api_key' ELSE 'system' END,
       CASE WHEN length(e.actor_id) = 17 AND substr(e.actor_id, 1, 1) = X'00'
            THEN lower(substr(hex(e.actor_id), 3, 8) || '-' || substr(hex(e.actor_id), 11, 4) || '-' ||
                       substr(hex(e.actor_id), 15, 4) || '-' || substr(hex(e.actor_id), 19, 4) || '-' ||
                       substr(hex(e.actor_id), 23, 12))
            ELSE CAST(e.actor_id AS TEXT) END,
       e.action, e.target_type,
       CASE WHEN length(e.target_id) = 17 AND substr(e.target_id, 1, 1) = X'00'
            THEN lower(substr(hex(e.target_id), 3, 8) || '-' || substr(hex(e.target_id), 11, 4) || '-' ||
                       substr(hex(e.target_id), 15, 4) || '-' || substr(hex(e.target_id), 19, 4) || '-' ||
                       substr(hex(e.target_id), 23, 12))
            ELSE CAST(e.target_id AS TEXT) END,
       CASE e.outcome WHEN 1 THEN 'success' ELSE 'denied' END,
       e.metadata, e.remote_addr, e.request_id,
       coalesce(lag(e.hash) OVER (PARTITION BY e.chain ORDER BY e.seq), zeroblob(32)),
       e.hash
FROM (SELECT *, (occurred_at % 1000000 + 1000000) % 1000000 AS micros FROM audit_events) e
JOIN audit_heads h ON h.chain = e.chain
ORDER BY h.org_id, e.seq;
CREATE TABLE audit_events_format2 (
    org_id     TEXT    NOT NULL,
    seq        INTEGER NOT NULL,
    api_key_id BLOB    NOT NULL,
    format     INTEGER NOT NULL,
    PRIMARY KEY (org_id, seq)
) WITHOUT ROWID;
INSERT INTO audit_events_format2 (org_id, seq, api_key_id, format)
SELECT h.org_id, e.seq, e.api_key_id, e.format
FROM audit_events e JOIN audit_heads h ON h.chain = e.chain
WHERE e.format <> 1;
DROP TABLE audit_events;
DROP TABLE audit_blocks;
ALTER TABLE audit_events_text RENAME TO audit_events;
CREATE INDEX audit_events_time_idx ON audit_events (org_id, occurred_at);

CREATE TABLE audit_heads_rebuilt (
    org_id TEXT    NOT NULL PRIMARY KEY REFERENCES orgs (id),
    seq    INTEGER NOT NULL,
    hash   BLOB    NOT NULL,
    CONSTRAINT audit_heads_seq_nonneg CHECK (seq >= 0)
) WITHOUT ROWID;
INSERT INTO audit_heads_rebuilt (org_id, seq, hash) SELECT org_id, seq, hash FROM audit_heads;
DROP TABLE audit_heads;
ALTER TABLE audit_heads_rebuilt RENAME TO audit_heads;

CREATE TRIGGER orgs_audit_head AFTER INSERT ON orgs
BEGIN
    INSERT INTO audit_heads (org_id, seq, hash) VALUES (NEW.id, 0, zeroblob(32));
END;

CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only: UPDATE refused');
END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only: DELETE refused');
END;
CREATE TRIGGER audit_events_extend_head BEFORE INSERT ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events: the event does not extend its org''s chain head')
    WHERE NOT EXISTS (SELECT 1 FROM audit_heads
                      WHERE org_id = NEW.org_id AND seq = NEW.seq - 1 AND hash = NEW.prev_hash);
    UPDATE audit_heads SET seq = NEW.seq, hash = NEW.hash WHERE org_id = NEW.org_id;
END;
