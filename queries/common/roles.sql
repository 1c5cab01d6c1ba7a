-- name: CreateRole :one
INSERT INTO roles (id, org_id, name, builtin, permissions, created_at, updated_at)
VALUES (@id, @org_id, @name, @builtin, @permissions, @created_at, @updated_at)
RETURNING *;

-- name: GetRole :one
SELECT * FROM roles WHERE org_id = @org_id AND id = @id;

-- name: GetRoleByName :one
SELECT * FROM roles WHERE org_id = @org_id AND name = @name;

-- name: ListRoles :many
SELECT * FROM roles
WHERE org_id = @org_id AND name > @after
ORDER BY name
LIMIT @lim;

-- name: UpdateRolePermissions :one
UPDATE roles SET permissions = @permissions, updated_at = @updated_at
WHERE org_id = @org_id AND id = @id AND NOT builtin
RETURNING *;

-- name: DeleteRole :execrows
DELETE FROM roles WHERE org_id = @org_id AND id = @id AND NOT builtin;
