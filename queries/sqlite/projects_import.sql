-- name: ImportProjects :exec
-- Bulk insert for Projects.Import: rows is a JSON array of
-- [id, name, description] arrays, inserted in order by one statement.
INSERT INTO projects (id, org_id, name, description, created_at, updated_at)
SELECT r.value ->> 0, @org_id, r.value ->> 1, r.value ->> 2, @created_at, @created_at
FROM json_each(@rows) AS r;

-- name: FirstTakenProjectName :one
-- The first of names (a JSON array of strings), in order, that a project of
-- the org already has, and its position from 1: which row of a failed
-- import conflicts.
SELECT CAST(t.key AS INTEGER) + 1 AS n, CAST(t.value AS TEXT) AS name
FROM json_each(@names) AS t
WHERE EXISTS (SELECT 1 FROM projects p WHERE p.org_id = @org_id AND p.name = t.value)
ORDER BY t.key
LIMIT 1;
