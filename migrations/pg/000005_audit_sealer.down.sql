-- Back to 000004: events sealed in the mutation's transaction, stored as text
-- with their previous hash, guarded by the head trigger. Pending events are
-- sealed by nobody after this: migrate down only with none left (a server
-- seals them before it stops). The api_key_id and format of format 2 events,
-- which 000004 has no column for, are kept in audit_events_format2, which
-- 000005 reads back, so that a chain survives going down and up again;
-- 000004's code cannot verify such events.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM audit_pending) THEN
        RAISE EXCEPTION 'audit_pending holds events not yet sealed: start strata serve to seal them, then migrate down';
    END IF;
END
$$;
DROP TABLE audit_pending;
DROP FUNCTION audit_pending_sealed_only();
DROP TRIGGER audit_heads_guard ON audit_heads;
DROP FUNCTION audit_heads_guard();

CREATE FUNCTION pg_temp.audit_text(b bytea) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN octet_length(b) = 17 AND get_byte(b, 0) = 0
            THEN regexp_replace(encode(substring(b FROM 2), 'hex'),
                                '^(.{8})(.{4})(.{4})(.{4})(.{12})$', '\1-\2-\3-\4-\5')
        ELSE convert_from(b, 'UTF8')
    END
$$;

CREATE TABLE audit_events_text (
    org_id      uuid        NOT NULL,
    seq         bigint      NOT NULL,
    id          uuid        NOT NULL UNIQUE,
    occurred_at timestamptz NOT NULL,
    actor_type  text        NOT NULL,
    actor_id    text        NOT NULL DEFAULT '',
    action      text        NOT NULL,
    target_type text        NOT NULL DEFAULT '',
    target_id   text        NOT NULL DEFAULT '',
    outcome     text        NOT NULL,
    metadata    text        NOT NULL DEFAULT '{}',
    remote_addr text        NOT NULL DEFAULT '',
    request_id  text        NOT NULL DEFAULT '',
    prev_hash   bytea       NOT NULL,
    hash        bytea       NOT NULL,
    PRIMARY KEY (org_id, seq),
    CONSTRAINT audit_events_seq_positive CHECK (seq > 0),
    CONSTRAINT audit_events_actor_type_enum CHECK (actor_type IN ('user', 'api_key', 'system')),
    CONSTRAINT audit_events_outcome_enum CHECK (outcome IN ('success', 'denied')),
    CONSTRAINT audit_events_action_len CHECK (char_length(action) BETWEEN 1 AND 100),
    CONSTRAINT audit_events_hash_len CHECK (octet_length(hash) = 32 AND octet_length(prev_hash) = 32)
);
INSERT INTO audit_events_text
SELECT h.org_id, e.seq, e.id, e.occurred_at,
       CASE e.actor_type WHEN 1 THEN 'user' WHEN 2 THEN 'api_key' ELSE 'system' END,
       pg_temp.audit_text(e.actor_id), e.action, e.target_type, pg_temp.audit_text(e.target_id),
       CASE e.outcome WHEN 1 THEN 'success' ELSE 'denied' END,
       e.metadata, e.remote_addr, e.request_id,
       coalesce(lag(e.hash) OVER (PARTITION BY e.chain ORDER BY e.seq), decode(repeat('00', 32), 'hex')),
       e.hash
FROM audit_events e JOIN audit_heads h ON h.chain = e.chain
ORDER BY h.org_id, e.seq;
CREATE TABLE audit_events_format2 (
    org_id     uuid     NOT NULL,
    seq        bigint   NOT NULL,
    api_key_id bytea    NOT NULL,
    format     smallint NOT NULL,
    PRIMARY KEY (org_id, seq)
);
INSERT INTO audit_events_format2 (org_id, seq, api_key_id, format)
SELECT h.org_id, e.seq, e.api_key_id, e.format
FROM audit_events e JOIN audit_heads h ON h.chain = e.chain
WHERE e.format <> 1;
DROP TABLE audit_events;
DROP TABLE audit_blocks;
DROP FUNCTION audit_refuse_change();
DROP FUNCTION audit_events_extend_chain();
ALTER TABLE audit_events_text RENAME TO audit_events;
ALTER INDEX audit_events_text_pkey RENAME TO audit_events_pkey;
ALTER INDEX audit_events_text_id_key RENAME TO audit_events_id_key;
CREATE INDEX audit_events_time_idx ON audit_events (org_id, occurred_at);

ALTER TABLE audit_heads DROP COLUMN chain, DROP COLUMN block_min_at, DROP COLUMN block_max_at;

CREATE FUNCTION audit_events_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP
        USING ERRCODE = 'integrity_constraint_violation';
END
$$;
CREATE TRIGGER audit_events_append_only
    BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_refuse_change();
CREATE TRIGGER audit_events_no_truncate
    BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_refuse_change();

CREATE FUNCTION audit_events_extend_head() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE audit_heads SET seq = NEW.seq, hash = NEW.hash
    WHERE org_id = NEW.org_id AND seq = NEW.seq - 1 AND hash = NEW.prev_hash;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'audit event % of org % does not extend the chain head', NEW.seq, NEW.org_id
            USING ERRCODE = 'serialization_failure',
                  HINT = 'Read the head again (LockAuditHead) and retry the transaction.';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER audit_events_extend_head BEFORE INSERT ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_extend_head();
