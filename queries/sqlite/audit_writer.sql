-- name: GetAuditChain :one
-- SQLite only, like every query of this file: the writer links each event
-- into its chain in the transaction that records it (BEGIN IMMEDIATE holds
-- the database's write lock until commit, so the chain's end it reads, or
-- caches, stays its own meanwhile), and the sealer anchors the chain's head
-- to its end shortly after, in a transaction of its own (AnchorAuditHead).
-- PostgreSQL queues events for a sealer instead (queries/pg/audit_queue.sql).
-- The org's chain and the sequence number its head is anchored at.
SELECT chain, seq FROM audit_heads WHERE org_id = @org_id;

-- name: GetAuditChainEnd :one
-- The chain's last event (past the head when events wait to be anchored);
-- no row for an empty chain.
SELECT seq, hash FROM audit_events WHERE chain = @chain ORDER BY seq DESC LIMIT 1;

-- name: GetAuditBlockSpan :one
-- The time range of the events of a chain from seq first on (the block
-- being filled).
SELECT CAST(coalesce(min(occurred_at), 0) AS INTEGER) AS min_at, CAST(coalesce(max(occurred_at), 0) AS INTEGER) AS max_at
FROM audit_events WHERE chain = @chain AND seq >= @first;

-- name: ListUnanchoredAuditEvents :many
-- A chain's events past its head, oldest first.
SELECT seq, id, occurred_at FROM audit_events WHERE chain = @chain AND seq > @after ORDER BY seq;

-- name: ListUnanchoredAuditChains :many
-- The orgs whose chains have events past their heads (left by a process
-- that stopped before its sealer anchored them).
SELECT h.org_id FROM audit_heads h
WHERE EXISTS (SELECT 1 FROM audit_events e WHERE e.chain = h.chain AND e.seq > h.seq);

-- name: InsertAuditEvent :exec
-- Appends an event, linked, at seq: the chain guard (migration 000005)
-- refuses one that does not extend the chain, as one linked to a stale end
-- (another process appended meanwhile) does not.
INSERT INTO audit_events (chain, seq, id, occurred_at, format, actor_type, outcome, actor_id,
    target_id, api_key_id, hash, action, target_type, metadata, remote_addr, request_id)
VALUES (@chain, @seq, @id, @occurred_at, @format, @actor_type, @outcome, @actor_id,
    @target_id, @api_key_id, @hash, @action, @target_type, @metadata, @remote_addr, @request_id);
