-- name: CreateRoleBinding :one
INSERT INTO role_bindings (id, org_id, user_id, role_id, project_id, created_at)
VALUES (@id, @org_id, @user_id, @role_id, sqlc.narg(project_id), @created_at)
RETURNING *;

-- name: GetRoleBinding :one
SELECT * FROM role_bindings WHERE org_id = @org_id AND id = @id;

-- name: ListRoleBindings :many
SELECT * FROM role_bindings
WHERE org_id = @org_id AND id > @after
ORDER BY id
LIMIT @lim;

-- name: DeleteRoleBinding :execrows
DELETE FROM role_bindings WHERE org_id = @org_id AND id = @id;

-- name: CountOrgWideBindings :one
SELECT count(*) FROM role_bindings
WHERE org_id = @org_id AND role_id = @role_id AND project_id IS NULL;

-- name: ListGrants :many
-- Everything an authorization check needs about one member, in one indexed query:
-- each binding with its role's permissions, and the user's status.
SELECT b.id AS binding_id, b.project_id, r.id AS role_id, r.name AS role_name,
       r.permissions, u.status AS user_status
FROM role_bindings b
JOIN roles r ON r.org_id = b.org_id AND r.id = b.role_id
JOIN users u ON u.id = b.user_id
WHERE b.org_id = @org_id AND b.user_id = @user_id
ORDER BY b.id;
