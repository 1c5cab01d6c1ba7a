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

-- name: GetAPIKeyCredential :one
-- What authentication needs, read in one snapshot: the key, its user's
-- status and its org's policy version. A key of a deleted org is not found.
SELECT sqlc.embed(k), u.status AS user_status, o.policy_version
FROM api_keys k
JOIN users u ON u.id = k.user_id
JOIN orgs o ON o.id = k.org_id AND o.deleted_at IS NULL
WHERE k.id = @id;
