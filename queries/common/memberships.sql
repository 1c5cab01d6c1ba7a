-- name: CreateMembership :one
INSERT INTO memberships (org_id, user_id, created_at)
VALUES (@org_id, @user_id, @created_at)
RETURNING *;

-- name: GetMember :one
SELECT m.org_id, m.created_at, u.id, u.email, u.name, u.status,
       u.created_at AS user_created_at, u.updated_at AS user_updated_at
FROM memberships m JOIN users u ON u.id = m.user_id
WHERE m.org_id = @org_id AND m.user_id = @user_id;

-- name: ListMembers :many
SELECT m.org_id, m.created_at, u.id, u.email, u.name, u.status,
       u.created_at AS user_created_at, u.updated_at AS user_updated_at
FROM memberships m JOIN users u ON u.id = m.user_id
WHERE m.org_id = @org_id AND m.user_id > @after
ORDER BY m.user_id
LIMIT @lim;

-- name: DeleteMembership :execrows
DELETE FROM memberships WHERE org_id = @org_id AND user_id = @user_id;
