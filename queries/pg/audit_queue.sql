-- name: InsertPendingAuditEvent :exec
-- Queues an event, unsealed, in the transaction of the change it records
-- (PostgreSQL only, like every query of this file: SQLite's writer seals
-- events in its own transaction, queries/sqlite/audit_writer.sql). It takes
-- no lock another writer of the org needs; the sealer moves the event into
-- its chain later (SealAuditEvents).
INSERT INTO audit_pending (org_id, id, occurred_at, format, actor_type, outcome, actor_id, target_id,
    api_key_id, action, target_type, metadata, remote_addr, request_id)
VALUES (@org_id, @id, @occurred_at, @format, @actor_type, @outcome, @actor_id, @target_id,
    @api_key_id, @action, @target_type, @metadata, @remote_addr, @request_id);

-- name: LockAuditHeadsToSeal :many
-- The heads of up to lim orgs with pending events, locked until the
-- sealer's transaction ends; heads another sealer holds are skipped, so at
-- most one process seals an org at a time. The orgs are found by skipping
-- through the queue's primary key, one probe per org (a DISTINCT would
-- read every row of the queue, and a queue holds dead rows until vacuum).
WITH RECURSIVE pending AS (
    (SELECT org_id FROM audit_pending ORDER BY org_id LIMIT 1)
    UNION ALL
    SELECT (SELECT q.org_id FROM audit_pending q WHERE q.org_id > p.org_id ORDER BY q.org_id LIMIT 1)
    FROM pending p WHERE p.org_id IS NOT NULL
)
SELECT org_id, chain, seq, hash, block_min_at, block_max_at FROM audit_heads
WHERE org_id IN (SELECT org_id FROM pending)
ORDER BY org_id
LIMIT @lim
FOR NO KEY UPDATE SKIP LOCKED;

-- name: ListPendingAuditEvents :many
-- The oldest pending events (by ID, a UUIDv7) of each org, up to per_org.
SELECT p.* FROM unnest(@org_ids::uuid[]) AS o(org_id)
CROSS JOIN LATERAL (
    SELECT * FROM audit_pending q WHERE q.org_id = o.org_id ORDER BY q.id LIMIT @per_org
) AS p
ORDER BY p.org_id, p.id;

-- name: SealAuditEvents :exec
-- Moves pending events into their chains in one statement: each named by
-- (org_ids[i], ids[i]) leaves the queue and becomes event seqs[i] of
-- chains[i], with hashes[i], its content copied as it was queued. The
-- queue's trigger refuses the move unless the events are then the last of
-- their chains, in the order of their IDs.
WITH s AS (
    SELECT unnest(@org_ids::uuid[]) AS org_id, unnest(@ids::uuid[]) AS id, unnest(@chains::integer[]) AS chain,
           unnest(@seqs::bigint[]) AS seq, unnest(@hashes::bytea[]) AS hash
), moved AS (
    DELETE FROM audit_pending p USING s
    WHERE p.org_id = s.org_id AND p.id = s.id
    RETURNING p.*
)
INSERT INTO audit_events (seq, occurred_at, id, chain, format, actor_type, outcome, actor_id,
    target_id, api_key_id, hash, action, target_type, metadata, remote_addr, request_id)
SELECT s.seq, m.occurred_at, m.id, s.chain, m.format, m.actor_type, m.outcome, m.actor_id,
    m.target_id, m.api_key_id, s.hash, m.action, m.target_type, m.metadata, m.remote_addr, m.request_id
FROM moved m JOIN s ON s.org_id = m.org_id AND s.id = m.id;

-- name: ProbePendingAuditEvent :one
-- Whether the org's event id is in the queue, committed, for a transaction
-- whose COMMIT went unanswered (see pgrepo's outcome.go). It inserts a
-- placeholder under the event's key, which the caller rolls back: the
-- insert waits for a transaction that queued the event and has not ended
-- yet, so the answer is final. A placeholder that went in means the event
-- is not queued: it was never committed, or it is sealed already
-- (AuditEventSealed).
WITH probe AS (
    INSERT INTO audit_pending (org_id, id, occurred_at, format, actor_type, outcome, actor_id, target_id,
        api_key_id, action, target_type, metadata, remote_addr, request_id)
    VALUES (@org_id, @id, now(), 2, 3, 1, '', '', '', 'probe', '', '', '', '')
    ON CONFLICT DO NOTHING
    RETURNING 1
)
SELECT CAST(NOT EXISTS (SELECT 1 FROM probe) AS boolean) AS queued;

-- name: AuditEventSealed :one
-- Whether the org's event id is in its chain, between seq lo and hi (from
-- AuditTimeSpan around the event's time).
SELECT CAST(EXISTS (
    SELECT 1 FROM audit_events e JOIN audit_heads h ON h.chain = e.chain
    WHERE h.org_id = @org_id AND e.seq >= @lo AND e.seq <= @hi AND e.id = @id
) AS boolean) AS sealed;
