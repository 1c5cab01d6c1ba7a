-- name: LockAuditHead :one
-- SQLite only, like every query of this file: the writer seals each event in
-- its own transaction, whose BEGIN IMMEDIATE holds the database's write lock
-- until commit, so the head it reads (or caches) stays its own meanwhile.
-- PostgreSQL queues events for a sealer instead (queries/pg/audit_queue.sql).
-- The org's chain, its head and the time range of the block being filled.
SELECT chain, seq, hash, block_min_at, block_max_at FROM audit_heads WHERE org_id = @org_id;

-- name: InsertAuditEvent :exec
-- Appends a sealed event at seq, which the primary key keeps unique: an event
-- sealed against a stale head (another process appended meanwhile) fails.
INSERT INTO audit_events (chain, seq, id, occurred_at, format, actor_type, outcome, actor_id,
    target_id, api_key_id, hash, action, target_type, metadata, remote_addr, request_id)
VALUES (@chain, @seq, @id, @occurred_at, @format, @actor_type, @outcome, @actor_id,
    @target_id, @api_key_id, @hash, @action, @target_type, @metadata, @remote_addr, @request_id);
