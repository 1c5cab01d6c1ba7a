-- name: CreateUser :one
INSERT INTO users (id, email, name, status, created_at, updated_at)
VALUES (@id, @email, @name, @status, @created_at, @updated_at)
RETURNING *;

-- name: GetUser :one
SELECT * FROM users WHERE id = @id;

-- name: GetUserByEmail :one
SELECT * FROM users WHERE lower(email) = lower(@email);

-- name: UpdateUser :one
UPDATE users
SET name = coalesce(sqlc.narg(name), name),
    status = coalesce(sqlc.narg(status), status),
    updated_at = @updated_at
WHERE id = @id
RETURNING *;
