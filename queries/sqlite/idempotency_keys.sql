-- name: ClaimIdempotencyKey :execrows
-- Claims a key for the calling transaction: inserts its row (with an empty
-- result, which CompleteIdempotencyKey fills before the commit), or takes
-- over a row older than @since, past the retention but not pruned yet. No
-- row is affected when a row not older than @since exists (then
-- GetIdempotencyKey reads it). The single writer serializes claims.
INSERT INTO idempotency_keys (org_id, api_key_id, key_hash, fingerprint, result, created_at)
SELECT @org_id, @api_key_id, @key_hash, @fingerprint, X'', @created_at
WHERE NOT EXISTS (
    SELECT 1 FROM idempotency_keys AS fresh
    WHERE fresh.org_id = @org_id AND fresh.api_key_id = @api_key_id AND fresh.key_hash = @key_hash
      AND fresh.created_at >= @since)
ON CONFLICT (org_id, api_key_id, key_hash) DO UPDATE
SET fingerprint = excluded.fingerprint, result = excluded.result, created_at = excluded.created_at;

-- name: GetIdempotencyKey :one
SELECT * FROM idempotency_keys
WHERE org_id = @org_id AND api_key_id = @api_key_id AND key_hash = @key_hash AND created_at >= @since;

-- name: CompleteIdempotencyKey :execrows
UPDATE idempotency_keys SET result = @result
WHERE org_id = @org_id AND api_key_id = @api_key_id AND key_hash = @key_hash;

-- name: PruneIdempotencyKeys :execrows
-- Deletes up to @lim rows created before @before: small batches hold the
-- write lock briefly.
DELETE FROM idempotency_keys
WHERE rowid IN (
    SELECT old.rowid FROM idempotency_keys AS old
    WHERE old.created_at < @before
    LIMIT @lim);
