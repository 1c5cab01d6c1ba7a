-- name: LockAuditHead :one
-- Reads the org's chain head for an append. SQLite has no row locks: the writer's
-- BEGIN IMMEDIATE already holds the database's write lock until commit, so nobody
-- moves the head meanwhile (migration 000003's trigger moves it when the event is
-- inserted).
SELECT seq, hash FROM audit_heads WHERE org_id = @org_id;

-- name: GetAuditHead :one
SELECT seq, hash FROM audit_heads WHERE org_id = @org_id;

-- name: InsertAuditEvent :exec
-- Appends an event; migration 000003's trigger refuses it unless it extends the
-- org's head, and moves the head to it.
INSERT INTO audit_events (org_id, seq, id, occurred_at, actor_type, actor_id, action,
    target_type, target_id, outcome, metadata, remote_addr, request_id, prev_hash, hash)
VALUES (@org_id, @seq, @id, @occurred_at, @actor_type, @actor_id, @action,
    @target_type, @target_id, @outcome, @metadata, @remote_addr, @request_id, @prev_hash, @hash);

-- name: ListAuditEventsAsc :many
SELECT * FROM audit_events
WHERE org_id = @org_id AND seq > @cursor_seq
  AND (CAST(sqlc.narg(actor_id) AS TEXT) IS NULL OR actor_id = sqlc.narg(actor_id))
  AND (CAST(sqlc.narg(action) AS TEXT) IS NULL OR action = sqlc.narg(action))
  AND (CAST(sqlc.narg(target_type) AS TEXT) IS NULL OR target_type = sqlc.narg(target_type))
  AND (CAST(sqlc.narg(target_id) AS TEXT) IS NULL OR target_id = sqlc.narg(target_id))
  AND (CAST(sqlc.narg(outcome) AS TEXT) IS NULL OR outcome = sqlc.narg(outcome))
  AND (CAST(sqlc.narg(since) AS TEXT) IS NULL OR occurred_at >= sqlc.narg(since))
  AND (CAST(sqlc.narg(until) AS TEXT) IS NULL OR occurred_at < sqlc.narg(until))
ORDER BY seq
LIMIT @lim;

-- name: ListAuditEventsDesc :many
SELECT * FROM audit_events
WHERE org_id = @org_id AND seq < @cursor_seq
  AND (CAST(sqlc.narg(actor_id) AS TEXT) IS NULL OR actor_id = sqlc.narg(actor_id))
  AND (CAST(sqlc.narg(action) AS TEXT) IS NULL OR action = sqlc.narg(action))
  AND (CAST(sqlc.narg(target_type) AS TEXT) IS NULL OR target_type = sqlc.narg(target_type))
  AND (CAST(sqlc.narg(target_id) AS TEXT) IS NULL OR target_id = sqlc.narg(target_id))
  AND (CAST(sqlc.narg(outcome) AS TEXT) IS NULL OR outcome = sqlc.narg(outcome))
  AND (CAST(sqlc.narg(since) AS TEXT) IS NULL OR occurred_at >= sqlc.narg(since))
  AND (CAST(sqlc.narg(until) AS TEXT) IS NULL OR occurred_at < sqlc.narg(until))
ORDER BY seq DESC
LIMIT @lim;
