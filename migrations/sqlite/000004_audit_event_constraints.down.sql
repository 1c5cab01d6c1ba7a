-- Back to 000003: the enum CHECKs as IN lists, the foreign key to orgs back
-- (the table rebuilt again).

CREATE TABLE audit_events_rebuilt (
    org_id      TEXT    NOT NULL REFERENCES orgs (id),
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
    CONSTRAINT audit_events_actor_type_enum CHECK (actor_type IN ('user', 'api_key', 'system')),
    CONSTRAINT audit_events_outcome_enum CHECK (outcome IN ('success', 'denied')),
    CONSTRAINT audit_events_action_len CHECK (length(action) BETWEEN 1 AND 100),
    CONSTRAINT audit_events_hash_len CHECK (length(hash) = 32 AND length(prev_hash) = 32)
) WITHOUT ROWID;
INSERT INTO audit_events_rebuilt
SELECT org_id, seq, id, occurred_at, actor_type, actor_id, action, target_type, target_id,
       outcome, metadata, remote_addr, request_id, prev_hash, hash
FROM audit_events ORDER BY org_id, seq;
-- Dropping the table drops its triggers (without firing them).
DROP TABLE audit_events;
ALTER TABLE audit_events_rebuilt RENAME TO audit_events;
CREATE INDEX audit_events_time_idx ON audit_events (org_id, occurred_at);

CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only: UPDATE refused');
END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only: DELETE refused');
END;

-- The head guard. The writer's BEGIN IMMEDIATE already serializes appends;
-- the guard makes the chain's linkage a property of the database, whoever
-- writes to the file.
CREATE TRIGGER audit_events_extend_head BEFORE INSERT ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events: the event does not extend its org''s chain head')
    WHERE NOT EXISTS (SELECT 1 FROM audit_heads
                      WHERE org_id = NEW.org_id AND seq = NEW.seq - 1 AND hash = NEW.prev_hash);
    UPDATE audit_heads SET seq = NEW.seq, hash = NEW.hash WHERE org_id = NEW.org_id;
END;
