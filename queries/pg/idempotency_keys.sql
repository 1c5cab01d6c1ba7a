-- name: ClaimIdempotencyKey :execrows
-- Claims a key for the calling transaction: inserts its row (with an empty
-- result, which CompleteIdempotencyKey fills before the commit), or takes
-- over a row older than @since, past the retention but not pruned yet. No
-- row is affected when a row not older than @since exists (then
-- GetIdempotencyKey reads it), or when another transaction holds the key's
-- advisory lock: a request under the same key is in flight. The lock,
-- tried rather than waited for, is held until the transaction ends.
INSERT INTO idempotency_keys AS k (org_id, api_key_id, key_hash, fingerprint, result, created_at)
SELECT @org_id::uuid, @api_key_id::uuid, @key_hash::bytea, @fingerprint::bytea, ''::bytea, @created_at::timestamptz
WHERE pg_try_advisory_xact_lock(@lock_id::bigint)
ON CONFLICT (org_id, api_key_id, key_hash) DO UPDATE
SET fingerprint = excluded.fingerprint, result = excluded.result, created_at = excluded.created_at
WHERE k.created_at < @since::timestamptz;

-- name: GetIdempotencyKey :one
SELECT * FROM idempotency_keys
WHERE org_id = @org_id AND api_key_id = @api_key_id AND key_hash = @key_hash AND created_at >= @since;

-- name: CompleteIdempotencyKey :execrows
UPDATE idempotency_keys SET result = @result
WHERE org_id = @org_id AND api_key_id = @api_key_id AND key_hash = @key_hash;

-- name: PruneIdempotencyKeys :execrows
-- Deletes up to @lim rows created before @before, skipping rows a
-- transaction has locked (one taking over a stale key), so that pruning
-- never waits for a writer, nor a writer for it beyond one small batch.
DELETE FROM idempotency_keys
WHERE (org_id, api_key_id, key_hash) IN (
    SELECT old.org_id, old.api_key_id, old.key_hash FROM idempotency_keys AS old
    WHERE old.created_at < @before
    LIMIT @lim
    FOR UPDATE SKIP LOCKED);
