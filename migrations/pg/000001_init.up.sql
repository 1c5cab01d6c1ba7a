-- Strata schema, PostgreSQL dialect. Every tenant-owned table carries org_id and
-- references its parent through (org_id, id) so that a row can never point into
-- another organization.

CREATE TABLE orgs (
    id             uuid        PRIMARY KEY,
    slug           text        NOT NULL,
    name           text        NOT NULL,
    region         text        NOT NULL,
    policy_version bigint      NOT NULL DEFAULT 1,
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
    deleted_at     timestamptz,
    CONSTRAINT orgs_slug_form CHECK (slug ~ '^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$'),
    CONSTRAINT orgs_name_len CHECK (char_length(name) BETWEEN 1 AND 200),
    CONSTRAINT orgs_region_len CHECK (char_length(region) BETWEEN 1 AND 64)
);
CREATE UNIQUE INDEX orgs_slug_key ON orgs (slug);

CREATE TABLE users (
    id         uuid        PRIMARY KEY,
    email      text        NOT NULL,
    name       text        NOT NULL,
    status     text        NOT NULL DEFAULT 'active',
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    CONSTRAINT users_status_enum CHECK (status IN ('active', 'suspended')),
    CONSTRAINT users_email_form CHECK (char_length(email) BETWEEN 3 AND 254 AND position('@' IN email) > 1),
    CONSTRAINT users_name_len CHECK (char_length(name) <= 200)
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

CREATE TABLE memberships (
    org_id     uuid        NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    user_id    uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (org_id, user_id)
);
CREATE INDEX memberships_user_idx ON memberships (user_id);

CREATE TABLE roles (
    id          uuid        PRIMARY KEY,
    org_id      uuid        NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    name        text        NOT NULL,
    builtin     boolean     NOT NULL DEFAULT false,
    permissions text[]      NOT NULL,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    CONSTRAINT roles_org_id_key UNIQUE (org_id, id),
    CONSTRAINT roles_name_form CHECK (name ~ '^[a-z0-9][a-z0-9_-]{0,62}$')
);
CREATE UNIQUE INDEX roles_org_name_key ON roles (org_id, name);

CREATE TABLE projects (
    id          uuid        PRIMARY KEY,
    org_id      uuid        NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    name        text        NOT NULL,
    description text        NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    CONSTRAINT projects_org_id_key UNIQUE (org_id, id),
    CONSTRAINT projects_name_len CHECK (char_length(name) BETWEEN 1 AND 200),
    CONSTRAINT projects_description_len CHECK (char_length(description) <= 2000)
);
CREATE UNIQUE INDEX projects_org_name_key ON projects (org_id, name);

-- A binding grants a role to a member, on the whole org (project_id NULL) or on one
-- project. Removing the member or the project removes the binding; a role that is
-- still bound cannot be deleted (RESTRICT).
CREATE TABLE role_bindings (
    id         uuid        PRIMARY KEY,
    org_id     uuid        NOT NULL,
    user_id    uuid        NOT NULL,
    role_id    uuid        NOT NULL,
    project_id uuid,
    created_at timestamptz NOT NULL,
    FOREIGN KEY (org_id, user_id) REFERENCES memberships (org_id, user_id) ON DELETE CASCADE,
    FOREIGN KEY (org_id, role_id) REFERENCES roles (org_id, id) ON DELETE RESTRICT,
    FOREIGN KEY (org_id, project_id) REFERENCES projects (org_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX role_bindings_grant_key ON role_bindings (org_id, user_id, role_id, project_id) NULLS NOT DISTINCT;
CREATE INDEX role_bindings_role_idx ON role_bindings (org_id, role_id);
CREATE INDEX role_bindings_project_idx ON role_bindings (org_id, project_id);

-- API keys: only the SHA-256 of the secret is stored.
CREATE TABLE api_keys (
    id           uuid        PRIMARY KEY,
    org_id       uuid        NOT NULL,
    user_id      uuid        NOT NULL,
    name         text        NOT NULL,
    secret_hash  bytea       NOT NULL,
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz,
    revoked_at   timestamptz,
    FOREIGN KEY (org_id, user_id) REFERENCES memberships (org_id, user_id) ON DELETE CASCADE,
    CONSTRAINT api_keys_org_id_key UNIQUE (org_id, id),
    CONSTRAINT api_keys_name_len CHECK (char_length(name) BETWEEN 1 AND 200),
    CONSTRAINT api_keys_hash_len CHECK (octet_length(secret_hash) = 32)
);
CREATE INDEX api_keys_user_idx ON api_keys (org_id, user_id);

-- The head of each org's audit chain: the last sequence number and hash. Writers
-- lock this row, which serializes appends per org and keeps sequences gapless.
CREATE TABLE audit_heads (
    org_id uuid   PRIMARY KEY REFERENCES orgs (id),
    seq    bigint NOT NULL,
    hash   bytea  NOT NULL,
    CONSTRAINT audit_heads_seq_nonneg CHECK (seq >= 0)
);

-- Every org starts with an empty chain: sequence 0 and an all-zero hash.
CREATE FUNCTION orgs_create_audit_head() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO audit_heads (org_id, seq, hash) VALUES (NEW.id, 0, decode(repeat('00', 32), 'hex'));
    RETURN NEW;
END
$$;
CREATE TRIGGER orgs_audit_head AFTER INSERT ON orgs
    FOR EACH ROW EXECUTE FUNCTION orgs_create_audit_head();

CREATE TABLE audit_events (
    org_id      uuid        NOT NULL REFERENCES orgs (id),
    seq         bigint      NOT NULL,
    id          uuid        NOT NULL UNIQUE,
    occurred_at timestamptz NOT NULL,
    actor_type  text        NOT NULL,
    actor_id    text        NOT NULL DEFAULT '',
    action      text        NOT NULL,
    target_type text        NOT NULL DEFAULT '',
    target_id   text        NOT NULL DEFAULT '',
    outcome     text        NOT NULL,
    metadata    text        NOT NULL DEFAULT '{}',
    remote_addr text        NOT NULL DEFAULT '',
    request_id  text        NOT NULL DEFAULT '',
    prev_hash   bytea       NOT NULL,
    hash        bytea       NOT NULL,
    PRIMARY KEY (org_id, seq),
    CONSTRAINT audit_events_seq_positive CHECK (seq > 0),
    CONSTRAINT audit_events_actor_type_enum CHECK (actor_type IN ('user', 'api_key', 'system')),
    CONSTRAINT audit_events_outcome_enum CHECK (outcome IN ('success', 'denied')),
    CONSTRAINT audit_events_action_len CHECK (char_length(action) BETWEEN 1 AND 100),
    CONSTRAINT audit_events_hash_len CHECK (octet_length(hash) = 32 AND octet_length(prev_hash) = 32)
);
CREATE INDEX audit_events_time_idx ON audit_events (org_id, occurred_at);

-- The audit trail is append-only: the database itself refuses UPDATE and DELETE.
CREATE FUNCTION audit_events_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP
        USING ERRCODE = 'integrity_constraint_violation';
END
$$;
CREATE TRIGGER audit_events_append_only
    BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_refuse_change();
CREATE TRIGGER audit_events_no_truncate
    BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_refuse_change();
