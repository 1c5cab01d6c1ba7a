-- name: AdvanceAuditHead :one
-- Takes the next sequence number of the org's chain and returns it with the hash of
-- the event before it. The row lock it takes serializes appends per org until commit.
UPDATE audit_heads SET seq = seq + 1
WHERE org_id = @org_id
RETURNING seq, hash;

-- name: SetAuditHeadHash :exec
UPDATE audit_heads SET hash = @hash WHERE org_id = @org_id AND seq = @seq;

-- name: GetAuditHead :one
SELECT seq, hash FROM audit_heads WHERE org_id = @org_id;

-- name: InsertAuditEvent :exec
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
