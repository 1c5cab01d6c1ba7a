-- name: ImportProjects :copyfrom
-- Bulk insert over COPY, for Projects.Import.
INSERT INTO projects (id, org_id, name, description, created_at, updated_at)
VALUES (@id, @org_id, @name, @description, @created_at, @updated_at);

-- name: FirstTakenProjectName :one
-- The first of names, in order, that a project of the org already has, and
-- its position from 1: which row of a failed import conflicts.
SELECT t.n::bigint AS n, t.name::text AS name
FROM unnest(@names::text[]) WITH ORDINALITY AS t (name, n)
WHERE EXISTS (SELECT 1 FROM projects p WHERE p.org_id = @org_id AND p.name = t.name)
ORDER BY t.n
LIMIT 1;
