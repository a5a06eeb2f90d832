NAME = "destruction: legal holds, destruction requests, purge jobs, certificates; audit pseudonymisation"

# Legal holds name a whole file (document_ids NULL) or single documents of it.
# A destruction request carries its own approval state (the approval engine
# owns no table); a purge job records the step it is at and the steps done, so
# a redelivered task resumes without repeating one. The certificate register
# keeps the archive number and name copied from the registry (the tombstone).
#
# The audit log stays append-only: DELETE and TRUNCATE are still refused for
# everyone; an UPDATE is refused unless the transaction has declared, with
# set_config('portal.pseudonymise_tenant', <id>, true), that it pseudonymises
# that destroyed tenant's entries, and then it may change nothing but `detail`
# of that tenant's rows, and only to a detail marked "pseudonymised".
SQL = r"""
CREATE TABLE core.legal_hold (
    id bigserial PRIMARY KEY,
    tenant_id integer NOT NULL,
    document_ids integer[],
    document_titles text[] NOT NULL DEFAULT '{}',
    reason text NOT NULL CHECK (length(reason) BETWEEN 1 AND 500),
    case_ref text NOT NULL CHECK (length(case_ref) BETWEEN 1 AND 100),
    placed_by_id integer NOT NULL,
    placed_by text NOT NULL,
    placed_at timestamptz NOT NULL DEFAULT now(),
    released_by_id integer,
    released_by text NOT NULL DEFAULT '',
    released_at timestamptz,
    release_reason text NOT NULL DEFAULT '',
    CHECK (released_by_id IS NULL OR released_by_id <> placed_by_id)
);
CREATE INDEX legal_hold_active_idx ON core.legal_hold (tenant_id) WHERE released_at IS NULL;

CREATE SEQUENCE core.destruction_certificate_seq;

CREATE TABLE core.destruction_request (
    id bigserial PRIMARY KEY,
    tenant_id integer NOT NULL,
    archive_no text NOT NULL,
    tenant_name text NOT NULL,
    scope text NOT NULL CHECK (scope IN ('file', 'documents')),
    document_ids integer[] NOT NULL DEFAULT '{}',
    document_titles text[] NOT NULL DEFAULT '{}',
    reason text NOT NULL CHECK (length(reason) BETWEEN 1 AND 500),
    early boolean NOT NULL DEFAULT false,
    early_reason text NOT NULL DEFAULT '',
    signer_1 text NOT NULL,
    signer_2 text NOT NULL,
    status text NOT NULL DEFAULT 'review' CHECK (status IN
        ('review', 'approval_1', 'approval_2', 'cooling', 'purging', 'destroyed', 'rejected', 'cancelled')),
    requested_by_id integer NOT NULL,
    requested_by text NOT NULL,
    requested_at timestamptz NOT NULL DEFAULT now(),
    reviewer_id integer,
    reviewer text NOT NULL DEFAULT '',
    reviewed_at timestamptz,
    approver_1_id integer,
    approver_1 text NOT NULL DEFAULT '',
    approved_1_at timestamptz,
    approver_2_id integer,
    approver_2 text NOT NULL DEFAULT '',
    approved_2_at timestamptz,
    cooling_until timestamptz,
    closed_by text NOT NULL DEFAULT '',
    closed_at timestamptz,
    close_reason text NOT NULL DEFAULT '',
    certificate_no text UNIQUE,
    destroyed_at timestamptz
);
CREATE INDEX destruction_request_status_idx ON core.destruction_request (status, cooling_until);

CREATE TABLE core.purge_job (
    id bigserial PRIMARY KEY,
    request_id bigint NOT NULL UNIQUE REFERENCES core.destruction_request (id),
    tenant_id integer NOT NULL,
    status text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'done', 'blocked')),
    step text NOT NULL DEFAULT '',
    done_steps text[] NOT NULL DEFAULT '{}',
    runs jsonb NOT NULL DEFAULT '{}',
    inventory jsonb NOT NULL DEFAULT '{}',
    verification jsonb NOT NULL DEFAULT '{}',
    error text NOT NULL DEFAULT '',
    started_at timestamptz NOT NULL DEFAULT now(),
    heartbeat_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz
);

CREATE TABLE core.destruction_certificate (
    number text PRIMARY KEY,
    request_id bigint NOT NULL UNIQUE REFERENCES core.destruction_request (id),
    tenant_id integer NOT NULL,
    archive_no text NOT NULL,
    tenant_name text NOT NULL,
    scope text NOT NULL,
    issued_at timestamptz NOT NULL DEFAULT now(),
    object_key text NOT NULL,
    sha256 text NOT NULL,
    size bigint NOT NULL,
    summary text NOT NULL DEFAULT ''
);

DROP TRIGGER audit_log_append_only ON core.audit_log;
CREATE TRIGGER audit_log_append_only BEFORE DELETE OR TRUNCATE ON core.audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION core.audit_log_is_append_only();
CREATE FUNCTION core.audit_log_pseudonymise_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF coalesce(current_setting('portal.pseudonymise_tenant', true), '') = ''
       OR OLD.tenant_id IS NULL
       OR current_setting('portal.pseudonymise_tenant', true) <> OLD.tenant_id::text
       OR (NEW.id, NEW.at, NEW.actor_kind, NEW.actor_id, NEW.actor_name, NEW.action, NEW.outcome,
           NEW.tenant_id, NEW.target, NEW.ip)
          IS DISTINCT FROM (OLD.id, OLD.at, OLD.actor_kind, OLD.actor_id, OLD.actor_name, OLD.action,
           OLD.outcome, OLD.tenant_id, OLD.target, OLD.ip)
       OR NOT (NEW.detail ? 'pseudonymised') THEN
        RAISE EXCEPTION 'core.audit_log is append-only';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER audit_log_pseudonymise_only BEFORE UPDATE ON core.audit_log
    FOR EACH ROW EXECUTE FUNCTION core.audit_log_pseudonymise_only();
"""
