-- The database keeps each org's audit chain head itself. An event is accepted
-- only if it extends its org's head: its sequence number is the head's plus
-- one and its previous hash is the head's hash. Inserting it moves the head to
-- the event (sequence number and hash) in the same statement.
--
-- So appending an event is one INSERT: the repository seals the event against
-- the head it knows (read with LockAuditHead, or the one its own last commit
-- left), and sends the INSERT together with the transaction's COMMIT. When
-- another transaction moved the head in between, the INSERT fails with
-- serialization_failure (SQLSTATE 40001) and the transaction is retried; the
-- head row's lock, taken by the UPDATE below, still serializes appends per
-- org until commit, so sequence numbers stay gapless and unique.
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
