-- name: CreateOrg :one
INSERT INTO orgs (id, slug, name, region, created_at, updated_at)
VALUES (@id, @slug, @name, @region, @created_at, @updated_at)
RETURNING *;

-- name: GetOrg :one
SELECT * FROM orgs WHERE id = @id AND deleted_at IS NULL;

-- name: GetOrgBySlug :one
SELECT * FROM orgs WHERE slug = @slug AND deleted_at IS NULL;

-- name: ListOrgs :many
SELECT * FROM orgs
WHERE deleted_at IS NULL AND id > @after
ORDER BY id
LIMIT @lim;

-- name: ListOrgsForUser :many
SELECT o.* FROM orgs o
JOIN memberships m ON m.org_id = o.id
WHERE m.user_id = @user_id AND o.deleted_at IS NULL AND o.id > @after
ORDER BY o.id
LIMIT @lim;

-- name: UpdateOrg :one
UPDATE orgs
SET name = coalesce(sqlc.narg(name), name),
    region = coalesce(sqlc.narg(region), region),
    updated_at = @updated_at
WHERE id = @id AND deleted_at IS NULL
RETURNING *;

-- name: DeleteOrg :execrows
-- The adapters pass the same time as deleted_at and updated_at.
UPDATE orgs SET deleted_at = @deleted_at, updated_at = @updated_at
WHERE id = @id AND deleted_at IS NULL;

-- name: BumpPolicyVersion :one
UPDATE orgs SET policy_version = policy_version + 1
WHERE id = @id AND deleted_at IS NULL
RETURNING policy_version;

-- name: GetPolicyVersion :one
SELECT policy_version FROM orgs WHERE id = @id AND deleted_at IS NULL;
