-- Environments: the same table as migrations/pg 000007 (see there).
CREATE TABLE environments (
    id          TEXT NOT NULL PRIMARY KEY,
    org_id      TEXT NOT NULL,
    project_id  TEXT NOT NULL,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    FOREIGN KEY (org_id, project_id) REFERENCES projects (org_id, id) ON DELETE CASCADE,
    CONSTRAINT environments_name_len CHECK (length(name) BETWEEN 1 AND 200),
    CONSTRAINT environments_description_len CHECK (length(description) <= 2000)
);
CREATE UNIQUE INDEX environments_project_name_key ON environments (org_id, project_id, name);
