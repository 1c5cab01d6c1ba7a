-- Environments: the named deployment targets of a project (production,
-- staging, ...). A name is unique in its project; deleting the project (or
-- the org) deletes its environments.
CREATE TABLE environments (
    id          uuid        PRIMARY KEY,
    org_id      uuid        NOT NULL,
    project_id  uuid        NOT NULL,
    name        text        NOT NULL,
    description text        NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    FOREIGN KEY (org_id, project_id) REFERENCES projects (org_id, id) ON DELETE CASCADE,
    CONSTRAINT environments_name_len CHECK (char_length(name) BETWEEN 1 AND 200),
    CONSTRAINT environments_description_len CHECK (char_length(description) <= 2000)
);
CREATE UNIQUE INDEX environments_project_name_key ON environments (org_id, project_id, name);
