--
-- PostgreSQL database dump
--


-- Dumped from database version 15.18 (Debian 15.18-0+deb12u1)
-- Dumped by pg_dump version 15.18 (Debian 15.18-0+deb12u1)

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

--
-- Name: audit_events_extend_head(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.audit_events_extend_head() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    UPDATE audit_heads SET seq = NEW.seq, hash = NEW.hash
    WHERE org_id = NEW.org_id AND seq = NEW.seq - 1 AND hash = NEW.prev_hash;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'audit event % of org % does not extend the chain head', NEW.seq, NEW.org_id
            USING ERRCODE = 'serialization_failure',
                  HINT = 'Read the head again (LockAuditHead) and retry the transaction.';
    END IF;
    RETURN NEW;
END
$$;


--
-- Name: audit_events_refuse_change(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.audit_events_refuse_change() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP
        USING ERRCODE = 'integrity_constraint_violation';
END
$$;


--
-- Name: orgs_create_audit_head(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.orgs_create_audit_head() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    INSERT INTO audit_heads (org_id, seq, hash) VALUES (NEW.id, 0, decode(repeat('00', 32), 'hex'));
    RETURN NEW;
END
$$;


--
-- Name: orgs_notify_policy_version(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.orgs_notify_policy_version() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    PERFORM pg_notify('strata_policy', NEW.id::text || ':' || NEW.policy_version::text);
    RETURN NULL;
END
$$;


SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: api_keys; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.api_keys (
    id uuid NOT NULL,
    org_id uuid NOT NULL,
    user_id uuid NOT NULL,
    name text NOT NULL,
    secret_hash bytea NOT NULL,
    created_at timestamp with time zone NOT NULL,
    expires_at timestamp with time zone,
    revoked_at timestamp with time zone,
    CONSTRAINT api_keys_hash_len CHECK ((octet_length(secret_hash) = 32)),
    CONSTRAINT api_keys_name_len CHECK (((char_length(name) >= 1) AND (char_length(name) <= 200)))
);


--
-- Name: audit_events; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.audit_events (
    org_id uuid NOT NULL,
    seq bigint NOT NULL,
    id uuid NOT NULL,
    occurred_at timestamp with time zone NOT NULL,
    actor_type text NOT NULL,
    actor_id text DEFAULT ''::text NOT NULL,
    action text NOT NULL,
    target_type text DEFAULT ''::text NOT NULL,
    target_id text DEFAULT ''::text NOT NULL,
    outcome text NOT NULL,
    metadata text DEFAULT '{}'::text NOT NULL,
    remote_addr text DEFAULT ''::text NOT NULL,
    request_id text DEFAULT ''::text NOT NULL,
    prev_hash bytea NOT NULL,
    hash bytea NOT NULL,
    CONSTRAINT audit_events_action_len CHECK (((char_length(action) >= 1) AND (char_length(action) <= 100))),
    CONSTRAINT audit_events_actor_type_enum CHECK ((actor_type = ANY (ARRAY['user'::text, 'api_key'::text, 'system'::text]))),
    CONSTRAINT audit_events_hash_len CHECK (((octet_length(hash) = 32) AND (octet_length(prev_hash) = 32))),
    CONSTRAINT audit_events_outcome_enum CHECK ((outcome = ANY (ARRAY['success'::text, 'denied'::text]))),
    CONSTRAINT audit_events_seq_positive CHECK ((seq > 0))
);


--
-- Name: audit_heads; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.audit_heads (
    org_id uuid NOT NULL,
    seq bigint NOT NULL,
    hash bytea NOT NULL,
    CONSTRAINT audit_heads_seq_nonneg CHECK ((seq >= 0))
);


--
-- Name: memberships; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.memberships (
    org_id uuid NOT NULL,
    user_id uuid NOT NULL,
    created_at timestamp with time zone NOT NULL
);


--
-- Name: orgs; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.orgs (
    id uuid NOT NULL,
    slug text NOT NULL,
    name text NOT NULL,
    region text NOT NULL,
    policy_version bigint DEFAULT 1 NOT NULL,
    created_at timestamp with time zone NOT NULL,
    updated_at timestamp with time zone NOT NULL,
    deleted_at timestamp with time zone,
    CONSTRAINT orgs_name_len CHECK (((char_length(name) >= 1) AND (char_length(name) <= 200))),
    CONSTRAINT orgs_region_len CHECK (((char_length(region) >= 1) AND (char_length(region) <= 64))),
    CONSTRAINT orgs_slug_form CHECK ((slug ~ '^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$'::text))
);


--
-- Name: projects; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.projects (
    id uuid NOT NULL,
    org_id uuid NOT NULL,
    name text NOT NULL,
    description text DEFAULT ''::text NOT NULL,
    created_at timestamp with time zone NOT NULL,
    updated_at timestamp with time zone NOT NULL,
    CONSTRAINT projects_description_len CHECK ((char_length(description) <= 2000)),
    CONSTRAINT projects_name_len CHECK (((char_length(name) >= 1) AND (char_length(name) <= 200)))
);


--
-- Name: role_bindings; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.role_bindings (
    id uuid NOT NULL,
    org_id uuid NOT NULL,
    user_id uuid NOT NULL,
    role_id uuid NOT NULL,
    project_id uuid,
    created_at timestamp with time zone NOT NULL
);


--
-- Name: roles; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.roles (
    id uuid NOT NULL,
    org_id uuid NOT NULL,
    name text NOT NULL,
    builtin boolean DEFAULT false NOT NULL,
    permissions text[] NOT NULL,
    created_at timestamp with time zone NOT NULL,
    updated_at timestamp with time zone NOT NULL,
    CONSTRAINT roles_name_form CHECK ((name ~ '^[a-z0-9][a-z0-9_-]{0,62}$'::text))
);


--
-- Name: schema_migrations; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.schema_migrations (
    version bigint NOT NULL,
    dirty boolean NOT NULL
);


--
-- Name: users; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.users (
    id uuid NOT NULL,
    email text NOT NULL,
    name text NOT NULL,
    status text DEFAULT 'active'::text NOT NULL,
    created_at timestamp with time zone NOT NULL,
    updated_at timestamp with time zone NOT NULL,
    CONSTRAINT users_email_form CHECK ((((char_length(email) >= 3) AND (char_length(email) <= 254)) AND (POSITION(('@'::text) IN (email)) > 1))),
    CONSTRAINT users_name_len CHECK ((char_length(name) <= 200)),
    CONSTRAINT users_status_enum CHECK ((status = ANY (ARRAY['active'::text, 'suspended'::text])))
);


--
-- Data for Name: api_keys; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.api_keys VALUES ('01a2459f-cfc2-7722-88d6-5ee6e75c4c9b', '01a2459f-cfa6-75f0-8401-3a52757d8ad1', '01a2459f-cfb6-7c4e-a36b-66fa5a100709', 'bootstrap', '\x671c0cf34ff4d07499bbec3b0cda145edf8324984e77e6cb00a6f3f745d1b5de', '2026-12-05 09:53:51.042467+00', NULL, NULL);
INSERT INTO public.api_keys VALUES ('01a2459f-de6e-7daf-9e68-10281aa748b9', '01a2459f-cfa6-75f0-8401-3a52757d8ad1', '01a2459f-dd61-7140-b783-55f65bc57f58', 'ada', '\xb6cb4980e12eda58d08667b651a98d88d70dabfd268ff4f4aac45ecdddd819a6', '2026-12-05 09:53:54.798897+00', NULL, NULL);
INSERT INTO public.api_keys VALUES ('01a2459f-e768-791f-ab96-e346dd4be2f7', '01a2459f-e6e6-76fc-81c9-24b1be9ea86b', '01a2459f-e75c-797d-ad6a-8df386e49e91', 'bootstrap', '\x863615e6022b2890396b6155ade49bb086eb82d0f83227734f7e83f794415896', '2026-12-05 09:53:57.096598+00', NULL, NULL);


--
-- Data for Name: audit_events; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.audit_events VALUES ('01a2459f-cfa6-75f0-8401-3a52757d8ad1', 1, '01a2459f-cfc9-7576-a9eb-40220d03c6ce', '2026-12-05 09:53:51.049358+00', 'system', 'strata', 'org.bootstrap', 'org', '01a2459f-cfa6-75f0-8401-3a52757d8ad1', 'success', '{"after":{"api_key_id":"01a2459f-cfc2-7722-88d6-5ee6e75c4c9b","owner":"admin@example.com","slug":"acme"}}', 'bootstrap', '', '\x0000000000000000000000000000000000000000000000000000000000000000', '\x8da82234a0d60b0e10bebf700c952ca093633dcc053b33b2ebebdc240b70ff4f');
INSERT INTO public.audit_events VALUES ('01a2459f-cfa6-75f0-8401-3a52757d8ad1', 2, '01a2459f-da1b-774b-b538-c204218cbced', '2026-12-05 09:53:53.691478+00', 'user', '01a2459f-cfb6-7c4e-a36b-66fa5a100709', 'project.create', 'project', '01a2459f-da19-7e9b-876b-6ade61886f09', 'success', '{"after":{"description":"made by v4 ü","name":"p1"},"api_key_id":"01a2459f-cfc2-7722-88d6-5ee6e75c4c9b"}', '127.0.0.1', 'XHJM36ENOAKMDL5I2IDOSIDLUD', '\x8da82234a0d60b0e10bebf700c952ca093633dcc053b33b2ebebdc240b70ff4f', '\x0f7602cab841cd35fe991393a4a50752cfd37c9e46e59640a8f841be6e83a1d3');
INSERT INTO public.audit_events VALUES ('01a2459f-cfa6-75f0-8401-3a52757d8ad1', 3, '01a2459f-da8a-763b-b819-cbfb3b2be5fb', '2026-12-05 09:53:53.802409+00', 'user', '01a2459f-cfb6-7c4e-a36b-66fa5a100709', 'project.create', 'project', '01a2459f-da89-7029-ba1c-1192385a75d3', 'success', '{"after":{"description":"made by v4 ü","name":"p2"},"api_key_id":"01a2459f-cfc2-7722-88d6-5ee6e75c4c9b"}', '127.0.0.1', 'KFLA4NE7XR2HA3PXQSDNGVXXFN', '\x0f7602cab841cd35fe991393a4a50752cfd37c9e46e59640a8f841be6e83a1d3', '\xe814bcb632b77db587587a13c4b230f19867e83379fcfe0262dee61cef187ae7');
INSERT INTO public.audit_events VALUES ('01a2459f-cfa6-75f0-8401-3a52757d8ad1', 4, '01a2459f-db50-7449-95fb-2658e8b47e8e', '2026-12-05 09:53:54.000281+00', 'user', '01a2459f-cfb6-7c4e-a36b-66fa5a100709', 'project.create', 'project', '01a2459f-db4f-7255-ae72-f4f332958a33', 'success', '{"after":{"description":"made by v4 ü","name":"p3"},"api_key_id":"01a2459f-cfc2-7722-88d6-5ee6e75c4c9b"}', '127.0.0.1', 'S3CDNP5SCRDPY2N3E3YDP5BAZF', '\xe814bcb632b77db587587a13c4b230f19867e83379fcfe0262dee61cef187ae7', '\x05d244c0ea3226576e6abd603b2b43b6eb379549bbc024f27d3fd437c1a67ff4');
INSERT INTO public.audit_events VALUES ('01a2459f-cfa6-75f0-8401-3a52757d8ad1', 5, '01a2459f-dbda-72e4-b8f1-befd63e62344', '2026-12-05 09:53:54.138189+00', 'user', '01a2459f-cfb6-7c4e-a36b-66fa5a100709', 'project.create', 'project', '01a2459f-dbd9-7610-9eb2-039167f2c26a', 'success', '{"after":{"description":"made by v4 ü","name":"p4"},"api_key_id":"01a2459f-cfc2-7722-88d6-5ee6e75c4c9b"}', '127.0.0.1', 'ELQWUGF6HIXJ2SUZOX22RK64PQ', '\x05d244c0ea3226576e6abd603b2b43b6eb379549bbc024f27d3fd437c1a67ff4', '\x66bf941df3b869ca5fde5ffe71e4696c5905ee205bdf66fd749e2ffac208cb2a');
INSERT INTO public.audit_events VALUES ('01a2459f-cfa6-75f0-8401-3a52757d8ad1', 6, '01a2459f-dc91-7672-ac4c-0ccd7427d775', '2026-12-05 09:53:54.321422+00', 'user', '01a2459f-cfb6-7c4e-a36b-66fa5a100709', 'project.create', 'project', '01a2459f-dc90-79fd-bd4f-bc13c31d3ac7', 'success', '{"after":{"description":"made by v4 ü","name":"p5"},"api_key_id":"01a2459f-cfc2-7722-88d6-5ee6e75c4c9b"}', '127.0.0.1', 'WG3VB5FY4GKUE5CIQU6DBW7XO6', '\x66bf941df3b869ca5fde5ffe71e4696c5905ee205bdf66fd749e2ffac208cb2a', '\x5bc4f05c7103df933299827235a19562ba311da72821e634af3d25b0bb93b213');
INSERT INTO public.audit_events VALUES ('01a2459f-cfa6-75f0-8401-3a52757d8ad1', 7, '01a2459f-dd69-756c-9d22-e40437a3fc82', '2026-12-05 09:53:54.537355+00', 'user', '01a2459f-cfb6-7c4e-a36b-66fa5a100709', 'member.add', 'user', '01a2459f-dd61-7140-b783-55f65bc57f58', 'success', '{"after":{"email":"ada@example.com","role":"member"},"api_key_id":"01a2459f-cfc2-7722-88d6-5ee6e75c4c9b"}', '127.0.0.1', 'VVADNP3O54RT5O4FWVVC7ZI2M7', '\x5bc4f05c7103df933299827235a19562ba311da72821e634af3d25b0bb93b213', '\x72bcf29b33a7639e421747444b538c73291723e81ab06fcda81d18734852e0e3');
INSERT INTO public.audit_events VALUES ('01a2459f-cfa6-75f0-8401-3a52757d8ad1', 8, '01a2459f-de70-7051-a5f6-471184c6c64c', '2026-12-05 09:53:54.800021+00', 'user', '01a2459f-cfb6-7c4e-a36b-66fa5a100709', 'api_key.create', 'api_key', '01a2459f-de6e-7daf-9e68-10281aa748b9', 'success', '{"after":{"expires_at":null,"name":"ada","user_id":"01a2459f-dd61-7140-b783-55f65bc57f58"},"api_key_id":"01a2459f-cfc2-7722-88d6-5ee6e75c4c9b"}', '127.0.0.1', 'XGYUQSNCDAILSTHALN6VGAKEOV', '\x72bcf29b33a7639e421747444b538c73291723e81ab06fcda81d18734852e0e3', '\x68568036f9566914e68e72b70ef66451dca0104c0d827e3d2075f38364a42b95');
INSERT INTO public.audit_events VALUES ('01a2459f-cfa6-75f0-8401-3a52757d8ad1', 9, '01a2459f-dfbd-75d3-a631-7578f46da362', '2026-12-05 09:53:55.133381+00', 'user', '01a2459f-dd61-7140-b783-55f65bc57f58', 'project.update', 'project', '01a2459f-da19-7e9b-876b-6ade61886f09', 'success', '{"after":{"description":"edited by Ada","name":"p1"},"api_key_id":"01a2459f-de6e-7daf-9e68-10281aa748b9","before":{"description":"made by v4 ü","name":"p1"}}', '127.0.0.1', 'NEUFK6MAFQT4Z7OUPFIT6M5Z6S', '\x68568036f9566914e68e72b70ef66451dca0104c0d827e3d2075f38364a42b95', '\x60163d71af430016236d7837b4ed10d2497ebe87936625d742b1d78b81e0ae2c');
INSERT INTO public.audit_events VALUES ('01a2459f-cfa6-75f0-8401-3a52757d8ad1', 10, '01a2459f-e031-7c6f-aa90-b0744fbe84f0', '2026-12-05 09:53:55.249815+00', 'user', '01a2459f-dd61-7140-b783-55f65bc57f58', 'project.delete', 'project', '01a2459f-da19-7e9b-876b-6ade61886f09', 'denied', '{"api_key_id":"01a2459f-de6e-7daf-9e68-10281aa748b9","permission":"projects.delete","reason":"no binding of the user grants the permission on this project or org-wide"}', '127.0.0.1', '2A2EQ2CACHARWYDW7GO4AXBK2T', '\x60163d71af430016236d7837b4ed10d2497ebe87936625d742b1d78b81e0ae2c', '\x7c8ee66eefdf11779ff67d63d654ab1b6ffeb90a3bffd421a72389346993de77');
INSERT INTO public.audit_events VALUES ('01a2459f-cfa6-75f0-8401-3a52757d8ad1', 11, '01a2459f-e07d-7a63-a96a-d5eeaddfc5d6', '2026-12-05 09:53:55.32568+00', 'user', '01a2459f-cfb6-7c4e-a36b-66fa5a100709', 'role.create', 'role', 'releaser', 'success', '{"after":{"permissions":["projects.*"]},"api_key_id":"01a2459f-cfc2-7722-88d6-5ee6e75c4c9b"}', '127.0.0.1', 'PXG2ZF2JI4MDG7W5AUJ2XJR4E2', '\x7c8ee66eefdf11779ff67d63d654ab1b6ffeb90a3bffd421a72389346993de77', '\xc63b4aca197f8bd8c7e866963606aeef336dc0428877bb08fd886f739929352c');
INSERT INTO public.audit_events VALUES ('01a2459f-e6e6-76fc-81c9-24b1be9ea86b', 1, '01a2459f-e775-7ba6-9fdb-3413c40e7a32', '2026-12-05 09:53:57.109763+00', 'system', 'strata', 'org.bootstrap', 'org', '01a2459f-e6e6-76fc-81c9-24b1be9ea86b', 'success', '{"after":{"api_key_id":"01a2459f-e768-791f-ab96-e346dd4be2f7","owner":"owner@globex.example","slug":"globex"}}', 'cli', '', '\x0000000000000000000000000000000000000000000000000000000000000000', '\x77ce7e1430d969dadda74c7a306748e46b94f49d8962e3aa602a7834c9efa147');


--
-- Data for Name: audit_heads; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.audit_heads VALUES ('01a2459f-cfa6-75f0-8401-3a52757d8ad1', 11, '\xc63b4aca197f8bd8c7e866963606aeef336dc0428877bb08fd886f739929352c');
INSERT INTO public.audit_heads VALUES ('01a2459f-e6e6-76fc-81c9-24b1be9ea86b', 1, '\x77ce7e1430d969dadda74c7a306748e46b94f49d8962e3aa602a7834c9efa147');


--
-- Data for Name: memberships; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.memberships VALUES ('01a2459f-cfa6-75f0-8401-3a52757d8ad1', '01a2459f-cfb6-7c4e-a36b-66fa5a100709', '2026-12-05 09:53:51.033461+00');
INSERT INTO public.memberships VALUES ('01a2459f-cfa6-75f0-8401-3a52757d8ad1', '01a2459f-dd61-7140-b783-55f65bc57f58', '2026-12-05 09:53:54.529479+00');
INSERT INTO public.memberships VALUES ('01a2459f-e6e6-76fc-81c9-24b1be9ea86b', '01a2459f-e75c-797d-ad6a-8df386e49e91', '2026-12-05 09:53:57.085735+00');


--
-- Data for Name: orgs; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.orgs VALUES ('01a2459f-cfa6-75f0-8401-3a52757d8ad1', 'acme', 'acme', 'local', 4, '2026-12-05 09:53:51.013976+00', '2026-12-05 09:53:51.013976+00', NULL);
INSERT INTO public.orgs VALUES ('01a2459f-e6e6-76fc-81c9-24b1be9ea86b', 'globex', 'globex', 'local', 2, '2026-12-05 09:53:56.966263+00', '2026-12-05 09:53:56.966263+00', NULL);


--
-- Data for Name: projects; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.projects VALUES ('01a2459f-da89-7029-ba1c-1192385a75d3', '01a2459f-cfa6-75f0-8401-3a52757d8ad1', 'p2', 'made by v4 ü', '2026-12-05 09:53:53.801004+00', '2026-12-05 09:53:53.801004+00');
INSERT INTO public.projects VALUES ('01a2459f-db4f-7255-ae72-f4f332958a33', '01a2459f-cfa6-75f0-8401-3a52757d8ad1', 'p3', 'made by v4 ü', '2026-12-05 09:53:53.999149+00', '2026-12-05 09:53:53.999149+00');
INSERT INTO public.projects VALUES ('01a2459f-dbd9-7610-9eb2-039167f2c26a', '01a2459f-cfa6-75f0-8401-3a52757d8ad1', 'p4', 'made by v4 ü', '2026-12-05 09:53:54.13739+00', '2026-12-05 09:53:54.13739+00');
INSERT INTO public.projects VALUES ('01a2459f-dc90-79fd-bd4f-bc13c31d3ac7', '01a2459f-cfa6-75f0-8401-3a52757d8ad1', 'p5', 'made by v4 ü', '2026-12-05 09:53:54.320651+00', '2026-12-05 09:53:54.320651+00');
INSERT INTO public.projects VALUES ('01a2459f-da19-7e9b-876b-6ade61886f09', '01a2459f-cfa6-75f0-8401-3a52757d8ad1', 'p1', 'edited by Ada', '2026-12-05 09:53:53.689951+00', '2026-12-05 09:53:55.13262+00');


--
-- Data for Name: role_bindings; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.role_bindings VALUES ('01a2459f-cfc0-7270-b6d4-802ae80526a1', '01a2459f-cfa6-75f0-8401-3a52757d8ad1', '01a2459f-cfb6-7c4e-a36b-66fa5a100709', '01a2459f-cfaa-7f1f-b5ae-f3a7d71c8130', NULL, '2026-12-05 09:53:51.04016+00');
INSERT INTO public.role_bindings VALUES ('01a2459f-dd68-7cc3-bf24-3d51c7b6110b', '01a2459f-cfa6-75f0-8401-3a52757d8ad1', '01a2459f-dd61-7140-b783-55f65bc57f58', '01a2459f-cfb1-74c4-9cb1-31851e5d1e9f', NULL, '2026-12-05 09:53:54.536836+00');
INSERT INTO public.role_bindings VALUES ('01a2459f-e763-7e71-b18d-fc2f3c1d71b4', '01a2459f-e6e6-76fc-81c9-24b1be9ea86b', '01a2459f-e75c-797d-ad6a-8df386e49e91', '01a2459f-e710-7654-a7e2-c679d1220a04', NULL, '2026-12-05 09:53:57.091946+00');


--
-- Data for Name: roles; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.roles VALUES ('01a2459f-cfaa-7f1f-b5ae-f3a7d71c8130', '01a2459f-cfa6-75f0-8401-3a52757d8ad1', 'owner', true, '{*}', '2026-12-05 09:53:51.018989+00', '2026-12-05 09:53:51.018989+00');
INSERT INTO public.roles VALUES ('01a2459f-cfac-7bc1-bbbb-bfde44e3c405', '01a2459f-cfa6-75f0-8401-3a52757d8ad1', 'admin', true, '{org.read,org.update,members.read,members.manage,roles.read,roles.manage,projects.read,projects.create,projects.update,projects.delete,apikeys.manage,audit.read}', '2026-12-05 09:53:51.020768+00', '2026-12-05 09:53:51.020768+00');
INSERT INTO public.roles VALUES ('01a2459f-cfb1-74c4-9cb1-31851e5d1e9f', '01a2459f-cfa6-75f0-8401-3a52757d8ad1', 'member', true, '{org.read,members.read,roles.read,projects.read,projects.create,projects.update}', '2026-12-05 09:53:51.025306+00', '2026-12-05 09:53:51.025306+00');
INSERT INTO public.roles VALUES ('01a2459f-cfb1-7974-9fc8-96dac8d24392', '01a2459f-cfa6-75f0-8401-3a52757d8ad1', 'viewer', true, '{org.read,members.read,roles.read,projects.read}', '2026-12-05 09:53:51.025618+00', '2026-12-05 09:53:51.025618+00');
INSERT INTO public.roles VALUES ('01a2459f-e07d-72d8-84d0-0207cb5f9458', '01a2459f-cfa6-75f0-8401-3a52757d8ad1', 'releaser', false, '{projects.*}', '2026-12-05 09:53:55.325183+00', '2026-12-05 09:53:55.325183+00');
INSERT INTO public.roles VALUES ('01a2459f-e710-7654-a7e2-c679d1220a04', '01a2459f-e6e6-76fc-81c9-24b1be9ea86b', 'owner', true, '{*}', '2026-12-05 09:53:57.008402+00', '2026-12-05 09:53:57.008402+00');
INSERT INTO public.roles VALUES ('01a2459f-e73d-7dc2-bfa0-9f9b175aa208', '01a2459f-e6e6-76fc-81c9-24b1be9ea86b', 'admin', true, '{org.read,org.update,members.read,members.manage,roles.read,roles.manage,projects.read,projects.create,projects.update,projects.delete,apikeys.manage,audit.read}', '2026-12-05 09:53:57.053896+00', '2026-12-05 09:53:57.053896+00');
INSERT INTO public.roles VALUES ('01a2459f-e73f-7673-af77-10d6c754f48c', '01a2459f-e6e6-76fc-81c9-24b1be9ea86b', 'member', true, '{org.read,members.read,roles.read,projects.read,projects.create,projects.update}', '2026-12-05 09:53:57.055421+00', '2026-12-05 09:53:57.055421+00');
INSERT INTO public.roles VALUES ('01a2459f-e741-7b96-88df-e257fd42216b', '01a2459f-e6e6-76fc-81c9-24b1be9ea86b', 'viewer', true, '{org.read,members.read,roles.read,projects.read}', '2026-12-05 09:53:57.057757+00', '2026-12-05 09:53:57.057757+00');


--
-- Data for Name: schema_migrations; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.schema_migrations VALUES (4, false);


--
-- Data for Name: users; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.users VALUES ('01a2459f-cfb6-7c4e-a36b-66fa5a100709', 'admin@example.com', '', 'active', '2026-12-05 09:53:51.030804+00', '2026-12-05 09:53:51.030804+00');
INSERT INTO public.users VALUES ('01a2459f-dd61-7140-b783-55f65bc57f58', 'ada@example.com', 'Ada', 'active', '2026-12-05 09:53:54.529076+00', '2026-12-05 09:53:54.529076+00');
INSERT INTO public.users VALUES ('01a2459f-e75c-797d-ad6a-8df386e49e91', 'owner@globex.example', '', 'active', '2026-12-05 09:53:57.084617+00', '2026-12-05 09:53:57.084617+00');


--
-- Name: api_keys api_keys_org_id_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.api_keys
    ADD CONSTRAINT api_keys_org_id_key UNIQUE (org_id, id);


--
-- Name: api_keys api_keys_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.api_keys
    ADD CONSTRAINT api_keys_pkey PRIMARY KEY (id);


--
-- Name: audit_events audit_events_id_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.audit_events
    ADD CONSTRAINT audit_events_id_key UNIQUE (id);


--
-- Name: audit_events audit_events_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.audit_events
    ADD CONSTRAINT audit_events_pkey PRIMARY KEY (org_id, seq);


--
-- Name: audit_heads audit_heads_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.audit_heads
    ADD CONSTRAINT audit_heads_pkey PRIMARY KEY (org_id);


--
-- Name: memberships memberships_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.memberships
    ADD CONSTRAINT memberships_pkey PRIMARY KEY (org_id, user_id);


--
-- Name: orgs orgs_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.orgs
    ADD CONSTRAINT orgs_pkey PRIMARY KEY (id);


--
-- Name: projects projects_org_id_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.projects
    ADD CONSTRAINT projects_org_id_key UNIQUE (org_id, id);


--
-- Name: projects projects_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.projects
    ADD CONSTRAINT projects_pkey PRIMARY KEY (id);


--
-- Name: role_bindings role_bindings_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.role_bindings
    ADD CONSTRAINT role_bindings_pkey PRIMARY KEY (id);


--
-- Name: roles roles_org_id_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.roles
    ADD CONSTRAINT roles_org_id_key UNIQUE (org_id, id);


--
-- Name: roles roles_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.roles
    ADD CONSTRAINT roles_pkey PRIMARY KEY (id);


--
-- Name: schema_migrations schema_migrations_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.schema_migrations
    ADD CONSTRAINT schema_migrations_pkey PRIMARY KEY (version);


--
-- Name: users users_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.users
    ADD CONSTRAINT users_pkey PRIMARY KEY (id);


--
-- Name: api_keys_user_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX api_keys_user_idx ON public.api_keys USING btree (org_id, user_id);


--
-- Name: audit_events_time_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX audit_events_time_idx ON public.audit_events USING btree (org_id, occurred_at);


--
-- Name: memberships_user_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX memberships_user_idx ON public.memberships USING btree (user_id);


--
-- Name: orgs_slug_key; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX orgs_slug_key ON public.orgs USING btree (slug);


--
-- Name: projects_org_name_key; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX projects_org_name_key ON public.projects USING btree (org_id, name);


--
-- Name: role_bindings_grant_key; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX role_bindings_grant_key ON public.role_bindings USING btree (org_id, user_id, role_id, project_id) NULLS NOT DISTINCT;


--
-- Name: role_bindings_project_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX role_bindings_project_idx ON public.role_bindings USING btree (org_id, project_id);


--
-- Name: role_bindings_role_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX role_bindings_role_idx ON public.role_bindings USING btree (org_id, role_id);


--
-- Name: roles_org_name_key; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX roles_org_name_key ON public.roles USING btree (org_id, name);


--
-- Name: users_email_key; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX users_email_key ON public.users USING btree (lower(email));


--
-- Name: audit_events audit_events_append_only; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER audit_events_append_only BEFORE DELETE OR UPDATE ON public.audit_events FOR EACH ROW EXECUTE FUNCTION public.audit_events_refuse_change();


--
-- Name: audit_events audit_events_extend_head; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER audit_events_extend_head BEFORE INSERT ON public.audit_events FOR EACH ROW EXECUTE FUNCTION public.audit_events_extend_head();


--
-- Name: audit_events audit_events_no_truncate; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON public.audit_events FOR EACH STATEMENT EXECUTE FUNCTION public.audit_events_refuse_change();


--
-- Name: orgs orgs_audit_head; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER orgs_audit_head AFTER INSERT ON public.orgs FOR EACH ROW EXECUTE FUNCTION public.orgs_create_audit_head();


--
-- Name: orgs orgs_policy_notify; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER orgs_policy_notify AFTER UPDATE OF policy_version ON public.orgs FOR EACH ROW WHEN ((new.policy_version IS DISTINCT FROM old.policy_version)) EXECUTE FUNCTION public.orgs_notify_policy_version();


--
-- Name: api_keys api_keys_org_id_user_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.api_keys
    ADD CONSTRAINT api_keys_org_id_user_id_fkey FOREIGN KEY (org_id, user_id) REFERENCES public.memberships(org_id, user_id) ON DELETE CASCADE;


--
-- Name: audit_heads audit_heads_org_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.audit_heads
    ADD CONSTRAINT audit_heads_org_id_fkey FOREIGN KEY (org_id) REFERENCES public.orgs(id);


--
-- Name: memberships memberships_org_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.memberships
    ADD CONSTRAINT memberships_org_id_fkey FOREIGN KEY (org_id) REFERENCES public.orgs(id) ON DELETE CASCADE;


--
-- Name: memberships memberships_user_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.memberships
    ADD CONSTRAINT memberships_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users(id) ON DELETE CASCADE;


--
-- Name: projects projects_org_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.projects
    ADD CONSTRAINT projects_org_id_fkey FOREIGN KEY (org_id) REFERENCES public.orgs(id) ON DELETE CASCADE;


--
-- Name: role_bindings role_bindings_org_id_project_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.role_bindings
    ADD CONSTRAINT role_bindings_org_id_project_id_fkey FOREIGN KEY (org_id, project_id) REFERENCES public.projects(org_id, id) ON DELETE CASCADE;


--
-- Name: role_bindings role_bindings_org_id_role_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.role_bindings
    ADD CONSTRAINT role_bindings_org_id_role_id_fkey FOREIGN KEY (org_id, role_id) REFERENCES public.roles(org_id, id) ON DELETE RESTRICT;


--
-- Name: role_bindings role_bindings_org_id_user_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.role_bindings
    ADD CONSTRAINT role_bindings_org_id_user_id_fkey FOREIGN KEY (org_id, user_id) REFERENCES public.memberships(org_id, user_id) ON DELETE CASCADE;


--
-- Name: roles roles_org_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.roles
    ADD CONSTRAINT roles_org_id_fkey FOREIGN KEY (org_id) REFERENCES public.orgs(id) ON DELETE CASCADE;


--
-- PostgreSQL database dump complete
--


