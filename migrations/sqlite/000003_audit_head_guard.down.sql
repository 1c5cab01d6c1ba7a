-- Back to 000002: rowid tables, no head guard (the repository of that
-- version advances the head itself).
DROP TRIGGER audit_events_extend_head;
DROP TRIGGER orgs_audit_head;

CREATE TABLE audit_heads_rebuilt (
    org_id TEXT    NOT NULL PRIMARY KEY REFERENCES orgs (id),
    seq    INTEGER NOT NULL,
    hash   BLOB    NOT NULL,
    CONSTRAINT audit_heads_seq_nonneg CHECK (seq >= 0)
);
INSERT INTO audit_heads_rebuilt (org_id, seq, hash) SELECT org_id, seq, hash FROM audit_heads;
DROP TABLE audit_heads;
ALTER TABLE audit_heads_rebuilt RENAME TO audit_heads;

CREATE TRIGGER orgs_audit_head AFTER INSERT ON orgs
BEGIN
    INSERT INTO audit_heads (org_id, seq, hash) VALUES (NEW.id, 0, zeroblob(32));
END;

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
);
INSERT INTO audit_events_rebuilt
SELECT org_id, seq, id, occurred_at, actor_type, actor_id, action, target_type, target_id,
       outcome, metadata, remote_addr, request_id, prev_hash, hash
FROM audit_events ORDER BY org_id, seq;
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
