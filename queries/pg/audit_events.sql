-- name: LockAuditHead :one
-- Reads the org's chain head for an append and locks its row until commit, so that
-- no other transaction moves the head meanwhile (migration 000003's trigger moves it
-- when the event is inserted).
SELECT seq, hash FROM audit_heads WHERE org_id = @org_id FOR UPDATE;

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
  AND (sqlc.narg(actor_id)::text IS NULL OR actor_id = sqlc.narg(actor_id))
  AND (sqlc.narg(action)::text IS NULL OR action = sqlc.narg(action))
  AND (sqlc.narg(target_type)::text IS NULL OR target_type = sqlc.narg(target_type))
  AND (sqlc.narg(target_id)::text IS NULL OR target_id = sqlc.narg(target_id))
  AND (sqlc.narg(outcome)::text IS NULL OR outcome = sqlc.narg(outcome))
  AND (sqlc.narg(since)::timestamptz IS NULL OR occurred_at >= sqlc.narg(since))
  AND (sqlc.narg(until)::timestamptz IS NULL OR occurred_at < sqlc.narg(until))
ORDER BY seq
LIMIT @lim;

-- name: ListAuditEventsDesc :many
SELECT * FROM audit_events
WHERE org_id = @org_id AND seq < @cursor_seq
  AND (sqlc.narg(actor_id)::text IS NULL OR actor_id = sqlc.narg(actor_id))
  AND (sqlc.narg(action)::text IS NULL OR action = sqlc.narg(action))
  AND (sqlc.narg(target_type)::text IS NULL OR target_type = sqlc.narg(target_type))
  AND (sqlc.narg(target_id)::text IS NULL OR target_id = sqlc.narg(target_id))
  AND (sqlc.narg(outcome)::text IS NULL OR outcome = sqlc.narg(outcome))
  AND (sqlc.narg(since)::timestamptz IS NULL OR occurred_at >= sqlc.narg(since))
  AND (sqlc.narg(until)::timestamptz IS NULL OR occurred_at < sqlc.narg(until))
ORDER BY seq DESC
LIMIT @lim;
