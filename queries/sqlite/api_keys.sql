-- name: CreateAPIKey :one
INSERT INTO api_keys (id, org_id, user_id, name, secret_hash, created_at, expires_at)
VALUES (@id, @org_id, @user_id, @name, @secret_hash, @created_at, sqlc.narg(expires_at))
RETURNING *;

-- name: GetAPIKey :one
-- Looks a key up by ID alone: authentication does not know the org yet.
SELECT * FROM api_keys WHERE id = @id;

-- name: ListAPIKeys :many
SELECT * FROM api_keys
WHERE org_id = @org_id AND id > @after
ORDER BY id
LIMIT @lim;

-- name: RevokeAPIKey :execrows
UPDATE api_keys SET revoked_at = @revoked_at
WHERE org_id = @org_id AND id = @id AND revoked_at IS NULL;
