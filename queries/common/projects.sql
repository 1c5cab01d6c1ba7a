-- name: CreateProject :one
INSERT INTO projects (id, org_id, name, description, created_at, updated_at)
VALUES (@id, @org_id, @name, @description, @created_at, @updated_at)
RETURNING *;

-- name: GetProject :one
SELECT * FROM projects WHERE org_id = @org_id AND id = @id;

-- name: ListProjects :many
SELECT * FROM projects
WHERE org_id = @org_id AND id > @after
ORDER BY id
LIMIT @lim;

-- name: UpdateProject :one
UPDATE projects
SET name = coalesce(sqlc.narg(name), name),
    description = coalesce(sqlc.narg(description), description),
    updated_at = @updated_at
WHERE org_id = @org_id AND id = @id
RETURNING *;

-- name: DeleteProject :execrows
DELETE FROM projects WHERE org_id = @org_id AND id = @id;
