NAME = "core registry, people, audit, review queue"

SQL = r"""
CREATE SCHEMA IF NOT EXISTS core;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;

CREATE TABLE core.migration_record (
    version integer PRIMARY KEY,
    name text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE core.building (
    id serial PRIMARY KEY,
    code text NOT NULL UNIQUE,
    name text NOT NULL,
    address text NOT NULL DEFAULT '',
    floors integer NOT NULL DEFAULT 1
);

CREATE TABLE core.unit (
    id serial PRIMARY KEY,
    building_id integer NOT NULL REFERENCES core.building(id),
    floor integer NOT NULL,
    code text NOT NULL,
    area_m2 numeric(10, 2) NOT NULL,
    UNIQUE (building_id, code)
);

CREATE SEQUENCE core.archive_seq;

-- The registry of tenant companies, and the summary columns staff lists read
-- (written in the same transaction as the tenant-schema change).
CREATE TABLE core.tenant (
    id integer PRIMARY KEY,
    archive_no text NOT NULL UNIQUE,
    schema_name text NOT NULL UNIQUE CHECK (schema_name ~ '^t_[0-9]{6}$'),
    schema_version integer NOT NULL DEFAULT 0,
    migration_error text,
    name text NOT NULL,
    kind char(1) NOT NULL CHECK (kind IN ('E', 'P')),
    level smallint NOT NULL CHECK (level BETWEEN 0 AND 3),
    business_letter char(1) NOT NULL,
    status text NOT NULL,
    building_ids integer[] NOT NULL DEFAULT '{}',
    unit_labels text NOT NULL DEFAULT '',
    primary_contact text NOT NULL DEFAULT '',
    contact_phones text NOT NULL DEFAULT '',
    contact_count integer NOT NULL DEFAULT 0,
    pending_reviews integer NOT NULL DEFAULT 0,
    active boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE SEQUENCE core.tenant_id_seq OWNED BY core.tenant.id;
CREATE INDEX tenant_buildings_idx ON core.tenant USING gin (building_ids);
CREATE INDEX tenant_name_idx ON core.tenant (name);
CREATE INDEX tenant_version_idx ON core.tenant (schema_version);

CREATE TABLE core.tenant_unit (
    tenant_id integer NOT NULL REFERENCES core.tenant(id),
    unit_id integer NOT NULL REFERENCES core.unit(id),
    PRIMARY KEY (tenant_id, unit_id)
);
CREATE INDEX tenant_unit_unit_idx ON core.tenant_unit (unit_id);

CREATE TABLE core.staff_user (
    id serial PRIMARY KEY,
    username text NOT NULL UNIQUE,
    display_name text NOT NULL,
    email text NOT NULL DEFAULT '',
    department text NOT NULL DEFAULT '',
    password_hash text NOT NULL,
    roles text[] NOT NULL DEFAULT '{}',
    building_ids integer[] NOT NULL DEFAULT '{}',
    active boolean NOT NULL DEFAULT true,
    must_change_password boolean NOT NULL DEFAULT false,
    session_epoch integer NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    password_changed_at timestamptz NOT NULL DEFAULT now(),
    last_login_at timestamptz
);

CREATE TABLE core.portal_user (
    id serial PRIMARY KEY,
    tenant_id integer NOT NULL REFERENCES core.tenant(id),
    email text NOT NULL UNIQUE,
    display_name text NOT NULL,
    password_hash text NOT NULL DEFAULT '',
    active boolean NOT NULL DEFAULT true,
    session_epoch integer NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    last_login_at timestamptz
);
CREATE INDEX portal_user_tenant_idx ON core.portal_user (tenant_id);

CREATE TABLE core.portal_invite (
    id serial PRIMARY KEY,
    tenant_id integer NOT NULL REFERENCES core.tenant(id),
    email text NOT NULL,
    display_name text NOT NULL,
    token_hash text NOT NULL UNIQUE,
    expires_at timestamptz NOT NULL,
    accepted_at timestamptz,
    revoked_at timestamptz,
    created_by integer REFERENCES core.staff_user(id),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX portal_invite_tenant_idx ON core.portal_invite (tenant_id);

-- Staff worklist of things tenants submitted (change requests, uploads); the
-- payload itself stays in the tenant's schema.
CREATE TABLE core.review_item (
    id bigserial PRIMARY KEY,
    tenant_id integer NOT NULL REFERENCES core.tenant(id),
    kind text NOT NULL,
    ref_id integer NOT NULL,
    title text NOT NULL,
    submitted_by text NOT NULL,
    submitted_at timestamptz NOT NULL DEFAULT now(),
    status text NOT NULL DEFAULT 'pending',
    decided_at timestamptz,
    UNIQUE (tenant_id, kind, ref_id)
);
CREATE INDEX review_item_pending_idx ON core.review_item (status, submitted_at);

CREATE TABLE core.audit_log (
    id bigserial PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT now(),
    actor_kind text NOT NULL,
    actor_id integer,
    actor_name text NOT NULL DEFAULT '',
    action text NOT NULL,
    outcome text NOT NULL DEFAULT 'ok',
    tenant_id integer,
    target text NOT NULL DEFAULT '',
    detail jsonb NOT NULL DEFAULT '{}',
    ip text NOT NULL DEFAULT ''
);
CREATE INDEX audit_at_idx ON core.audit_log (at DESC);
CREATE INDEX audit_tenant_idx ON core.audit_log (tenant_id, at DESC);
CREATE INDEX audit_action_idx ON core.audit_log (action, at DESC);

-- The audit log is append-only, whoever connects.
CREATE FUNCTION core.audit_log_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'core.audit_log is append-only';
END $$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON core.audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION core.audit_log_is_append_only();
"""
