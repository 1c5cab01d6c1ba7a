-- name: CreateEnvironment :one
INSERT INTO environments (id, org_id, project_id, name, description, created_at, updated_at)
VALUES (@id, @org_id, @project_id, @name, @description, @created_at, @updated_at)
RETURNING *;

-- name: GetEnvironment :one
SELECT * FROM environments WHERE org_id = @org_id AND project_id = @project_id AND id = @id;

-- name: ListEnvironments :many
SELECT * FROM environments
WHERE org_id = @org_id AND project_id = @project_id AND id > @after
ORDER BY id
LIMIT @lim;

-- name: UpdateEnvironment :one
UPDATE environments
SET name = coalesce(sqlc.narg(name), name),
    description = coalesce(sqlc.narg(description), description),
    updated_at = @updated_at
WHERE org_id = @org_id AND project_id = @project_id AND id = @id
RETURNING *;

-- name: DeleteEnvironment :execrows
DELETE FROM environments WHERE org_id = @org_id AND project_id = @project_id AND id = @id;
