-- Strata schema, SQLite dialect. Same tables and constraints as migrations/pg.
-- IDs are UUID text; times are UTC text in one fixed-width, sortable format
-- (2006-01-02T15:04:05.000000Z) written by the adapter; booleans are 0/1.

CREATE TABLE orgs (
    id             TEXT    NOT NULL PRIMARY KEY,
    slug           TEXT    NOT NULL,
    name           TEXT    NOT NULL,
    region         TEXT    NOT NULL,
    policy_version INTEGER NOT NULL DEFAULT 1,
    created_at     TEXT    NOT NULL,
    updated_at     TEXT    NOT NULL,
    deleted_at     TEXT,
    CONSTRAINT orgs_slug_form CHECK (length(slug) BETWEEN 1 AND 63 AND slug NOT GLOB '*[^a-z0-9-]*' AND slug NOT GLOB '-*' AND slug NOT GLOB '*-'),
    CONSTRAINT orgs_name_len CHECK (length(name) BETWEEN 1 AND 200),
    CONSTRAINT orgs_region_len CHECK (length(region) BETWEEN 1 AND 64)
);
CREATE UNIQUE INDEX orgs_slug_key ON orgs (slug);

CREATE TABLE users (
    id         TEXT NOT NULL PRIMARY KEY,
    email      TEXT NOT NULL,
    name       TEXT NOT NULL,
    status     TEXT NOT NULL DEFAULT 'active',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    CONSTRAINT users_status_enum CHECK (status IN ('active', 'suspended')),
    CONSTRAINT users_email_form CHECK (length(email) BETWEEN 3 AND 254 AND instr(email, '@') > 1),
    CONSTRAINT users_name_len CHECK (length(name) <= 200)
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

CREATE TABLE memberships (
    org_id     TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    PRIMARY KEY (org_id, user_id)
);
CREATE INDEX memberships_user_idx ON memberships (user_id);

CREATE TABLE roles (
    id          TEXT    NOT NULL PRIMARY KEY,
    org_id      TEXT    NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    name        TEXT    NOT NULL,
    builtin     INTEGER NOT NULL DEFAULT 0,
    permissions TEXT    NOT NULL,
    created_at  TEXT    NOT NULL,
    updated_at  TEXT    NOT NULL,
    CONSTRAINT roles_org_id_key UNIQUE (org_id, id),
    CONSTRAINT roles_name_form CHECK (length(name) BETWEEN 1 AND 63 AND name NOT GLOB '*[^a-z0-9_-]*' AND name NOT GLOB '[_-]*'),
    CONSTRAINT roles_builtin_bool CHECK (builtin IN (0, 1)),
    CONSTRAINT roles_permissions_json CHECK (json_valid(permissions) AND json_type(permissions) = 'array')
);
CREATE UNIQUE INDEX roles_org_name_key ON roles (org_id, name);

CREATE TABLE projects (
    id          TEXT NOT NULL PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    CONSTRAINT projects_org_id_key UNIQUE (org_id, id),
    CONSTRAINT projects_name_len CHECK (length(name) BETWEEN 1 AND 200),
    CONSTRAINT projects_description_len CHECK (length(description) <= 2000)
);
CREATE UNIQUE INDEX projects_org_name_key ON projects (org_id, name);

CREATE TABLE role_bindings (
    id         TEXT NOT NULL PRIMARY KEY,
    org_id     TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    role_id    TEXT NOT NULL,
    project_id TEXT,
    created_at TEXT NOT NULL,
    FOREIGN KEY (org_id, user_id) REFERENCES memberships (org_id, user_id) ON DELETE CASCADE,
    FOREIGN KEY (org_id, role_id) REFERENCES roles (org_id, id) ON DELETE RESTRICT,
    FOREIGN KEY (org_id, project_id) REFERENCES projects (org_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX role_bindings_grant_key ON role_bindings (org_id, user_id, role_id, ifnull(project_id, ''));
CREATE INDEX role_bindings_role_idx ON role_bindings (org_id, role_id);
CREATE INDEX role_bindings_project_idx ON role_bindings (org_id, project_id);

CREATE TABLE api_keys (
    id          TEXT NOT NULL PRIMARY KEY,
    org_id      TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    name        TEXT NOT NULL,
    secret_hash BLOB NOT NULL,
    created_at  TEXT NOT NULL,
    expires_at  TEXT,
    revoked_at  TEXT,
    FOREIGN KEY (org_id, user_id) REFERENCES memberships (org_id, user_id) ON DELETE CASCADE,
    CONSTRAINT api_keys_org_id_key UNIQUE (org_id, id),
    CONSTRAINT api_keys_name_len CHECK (length(name) BETWEEN 1 AND 200),
    CONSTRAINT api_keys_hash_len CHECK (length(secret_hash) = 32)
);
CREATE INDEX api_keys_user_idx ON api_keys (org_id, user_id);

CREATE TABLE audit_heads (
    org_id TEXT    NOT NULL PRIMARY KEY REFERENCES orgs (id),
    seq    INTEGER NOT NULL,
    hash   BLOB    NOT NULL,
    CONSTRAINT audit_heads_seq_nonneg CHECK (seq >= 0)
);

-- Every org starts with an empty chain: sequence 0 and an all-zero hash.
CREATE TRIGGER orgs_audit_head AFTER INSERT ON orgs
BEGIN
    INSERT INTO audit_heads (org_id, seq, hash) VALUES (NEW.id, 0, zeroblob(32));
END;

CREATE TABLE audit_events (
    org_id      TEXT    NOT NULL REFERENCES orgs (id),
    seq         INTEGER NOT NULL,
    id          TEXT    NOT NULL UNIQUE,
    occurred_at TEXT    NOT NULL,
    actor_type  TEXT    NOT NULL,
    actor_id    TEXT    NOT NULL DEFAULT '',
    action      TEXT    NOT NULL,
    target_type TEXT    NOT NULL DEFAULT '',
    target_id   TEXT    NOT NULL DEFAULT '',
    outcome     TEXT    NOT NULL,
    metadata    TEXT    NOT NULL DEFAULT '{}',
    remote_addr TEXT    NOT NULL DEFAULT '',
    request_id  TEXT    NOT NULL DEFAULT '',
    prev_hash   BLOB    NOT NULL,
    hash        BLOB    NOT NULL,
    PRIMARY KEY (org_id, seq),
    CONSTRAINT audit_events_seq_positive CHECK (seq > 0),
    CONSTRAINT audit_events_actor_type_enum CHECK (actor_type IN ('user', 'api_key', 'system')),
    CONSTRAINT audit_events_outcome_enum CHECK (outcome IN ('success', 'denied')),
    CONSTRAINT audit_events_action_len CHECK (length(action) BETWEEN 1 AND 100),
    CONSTRAINT audit_events_hash_len CHECK (length(hash) = 32 AND length(prev_hash) = 32)
);
CREATE INDEX audit_events_time_idx ON audit_events (org_id, occurred_at);

CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only: UPDATE refused');
END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only: DELETE refused');
END;
