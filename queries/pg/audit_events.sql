-- name: GetAuditHead :one
SELECT seq, hash FROM audit_heads WHERE org_id = @org_id;

-- name: AuditTimeSpan :one
-- The sequence numbers between which the org's events that occurred in
-- [since, until) lie, from the time ranges of the blocks (both 0 when none
-- can): each block of 1024 events whose range meets the window, and the
-- block the head is filling.
SELECT CAST(coalesce(min(lo), 0) AS bigint) AS lo, CAST(coalesce(max(hi), 0) AS bigint) AS hi FROM (
    SELECT b.block * 1024 + 1 AS lo, b.block * 1024 + 1024 AS hi
    FROM audit_blocks b JOIN audit_heads h ON h.chain = b.chain
    WHERE h.org_id = @org_id AND b.max_at >= @since AND b.min_at < @until
    UNION ALL
    SELECT (seq - 1) / 1024 * 1024 + 1, seq FROM audit_heads
    WHERE org_id = @org_id AND block_max_at >= @since AND block_min_at < @until
) AS spans;

-- name: ListAuditEventsAsc :many
-- A page of the org's sealed events (up to its head), oldest first, within
-- [lo, hi] (the caller folds its cursor in: one lower and one upper bound,
-- so that the scan starts where the page does); each with the hash of the
-- event before it. The chain and the head are scalar subqueries, not a
-- join: with a constant chain the primary key's order is the page's, so the
-- scan reads the page's rows and stops; joined, it read every row from the
-- cursor to the end of the chain and sorted them, for each page.
SELECT e.seq, e.occurred_at, e.id, e.format, e.actor_type, e.outcome, e.actor_id, e.target_id,
       e.api_key_id, e.hash, e.action, e.target_type, e.metadata, e.remote_addr, e.request_id,
       CAST(coalesce((SELECT p.hash FROM audit_events p WHERE p.chain = e.chain AND p.seq = e.seq - 1),
                     decode(repeat('00', 32), 'hex')) AS bytea) AS prev_hash
FROM audit_events e
WHERE e.chain = (SELECT h.chain FROM audit_heads h WHERE h.org_id = @org_id)
  AND e.seq <= (SELECT h.seq FROM audit_heads h WHERE h.org_id = @org_id)
  AND e.seq >= @lo AND e.seq <= @hi
  AND (sqlc.narg(actor_id)::bytea IS NULL OR e.actor_id = sqlc.narg(actor_id))
  AND (sqlc.narg(action)::text IS NULL OR e.action = sqlc.narg(action))
  AND (sqlc.narg(target_type)::text IS NULL OR e.target_type = sqlc.narg(target_type))
  AND (sqlc.narg(target_id)::bytea IS NULL OR e.target_id = sqlc.narg(target_id))
  AND (sqlc.narg(outcome)::smallint IS NULL OR e.outcome = sqlc.narg(outcome))
  AND (sqlc.narg(since)::timestamptz IS NULL OR e.occurred_at >= sqlc.narg(since))
  AND (sqlc.narg(until)::timestamptz IS NULL OR e.occurred_at < sqlc.narg(until))
ORDER BY e.seq
LIMIT @lim;

-- name: ListAuditEventsDesc :many
-- ListAuditEventsAsc, newest first.
SELECT e.seq, e.occurred_at, e.id, e.format, e.actor_type, e.outcome, e.actor_id, e.target_id,
       e.api_key_id, e.hash, e.action, e.target_type, e.metadata, e.remote_addr, e.request_id,
       CAST(coalesce((SELECT p.hash FROM audit_events p WHERE p.chain = e.chain AND p.seq = e.seq - 1),
                     decode(repeat('00', 32), 'hex')) AS bytea) AS prev_hash
FROM audit_events e
WHERE e.chain = (SELECT h.chain FROM audit_heads h WHERE h.org_id = @org_id)
  AND e.seq <= (SELECT h.seq FROM audit_heads h WHERE h.org_id = @org_id)
  AND e.seq >= @lo AND e.seq <= @hi
  AND (sqlc.narg(actor_id)::bytea IS NULL OR e.actor_id = sqlc.narg(actor_id))
  AND (sqlc.narg(action)::text IS NULL OR e.action = sqlc.narg(action))
  AND (sqlc.narg(target_type)::text IS NULL OR e.target_type = sqlc.narg(target_type))
  AND (sqlc.narg(target_id)::bytea IS NULL OR e.target_id = sqlc.narg(target_id))
  AND (sqlc.narg(outcome)::smallint IS NULL OR e.outcome = sqlc.narg(outcome))
  AND (sqlc.narg(since)::timestamptz IS NULL OR e.occurred_at >= sqlc.narg(since))
  AND (sqlc.narg(until)::timestamptz IS NULL OR e.occurred_at < sqlc.narg(until))
ORDER BY e.seq DESC
LIMIT @lim;

-- name: MoveAuditHead :exec
-- Moves a head to the last event sealed, with the time range of the block
-- that event is in (the migration's trigger refuses a head that goes back,
-- or that names no such event).
UPDATE audit_heads SET seq = @seq, hash = @hash, block_min_at = @block_min_at, block_max_at = @block_max_at
WHERE chain = @chain;

-- name: InsertAuditBlock :exec
-- Records the time range of a block of 1024 events, once complete.
INSERT INTO audit_blocks (chain, block, min_at, max_at) VALUES (@chain, @block, @min_at, @max_at);

-- name: AuditBacklog :one
-- The org's events not yet covered by its head: queued ones, and any in
-- the chain past the head (which only someone writing the table behind
-- the sealer's back could put there). The oldest, with their number; no
-- row when there is none.
SELECT b.id, b.occurred_at, count(*) OVER () AS pending FROM (
    SELECT p.id, p.occurred_at FROM audit_pending p WHERE p.org_id = @org_id
    UNION ALL
    SELECT e.id, e.occurred_at FROM audit_events e JOIN audit_heads h ON h.chain = e.chain
    WHERE h.org_id = @org_id AND e.seq > h.seq
) AS b
ORDER BY b.occurred_at, b.id
LIMIT 1;

-- name: AuditBacklogAll :one
-- AuditBacklog, every org's: the oldest event and its org.
SELECT b.org_id, b.id, b.occurred_at, count(*) OVER () AS pending FROM (
    SELECT p.org_id, p.id, p.occurred_at FROM audit_pending p
    UNION ALL
    SELECT h.org_id, e.id, e.occurred_at FROM audit_events e JOIN audit_heads h ON h.chain = e.chain
    WHERE e.seq > h.seq
) AS b
ORDER BY b.occurred_at, b.id
LIMIT 1;
