NAME = "document keys, lending register, access grants, exports"

SQL = r"""
-- One data key per tenant, wrapped (AES-KW) by the master key. Destroying it
-- (wrapped_key NULL, destroyed_at set) makes every object of the tenant unreadable.
CREATE TABLE core.tenant_key (
    tenant_id integer PRIMARY KEY REFERENCES core.tenant(id),
    wrapped_key bytea,
    master_key_id text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    rotated_at timestamptz,
    destroyed_at timestamptz,
    CHECK ((wrapped_key IS NULL) = (destroyed_at IS NOT NULL))
);

-- Lending register (借阅登记) and approved exports share one approval chain:
-- requested -> head_approved -> approved -> lent -> returned | expired; refused / cancelled.
CREATE TABLE core.loan (
    id serial PRIMARY KEY,
    mode text NOT NULL CHECK (mode IN ('paper', 'electronic', 'export')),
    status text NOT NULL DEFAULT 'requested',
    borrower_id integer NOT NULL REFERENCES core.staff_user(id),
    borrower_name text NOT NULL,
    department text NOT NULL DEFAULT '',
    purpose text NOT NULL,
    due_at timestamptz NOT NULL,
    requested_at timestamptz NOT NULL DEFAULT now(),
    head_id integer REFERENCES core.staff_user(id),
    head_name text NOT NULL DEFAULT '',
    head_at timestamptz,
    supervisor_id integer REFERENCES core.staff_user(id),
    supervisor_name text NOT NULL DEFAULT '',
    supervisor_at timestamptz,
    refused_by text NOT NULL DEFAULT '',
    refused_reason text NOT NULL DEFAULT '',
    refused_at timestamptz,
    lent_by text NOT NULL DEFAULT '',
    lent_at timestamptz,
    returned_to text NOT NULL DEFAULT '',
    returned_at timestamptz,
    return_condition text NOT NULL DEFAULT '' CHECK (return_condition IN ('', 'intact', 'damaged', 'lost')),
    damage_note text NOT NULL DEFAULT ''
);
CREATE INDEX loan_status_idx ON core.loan (status, due_at);
CREATE INDEX loan_borrower_idx ON core.loan (borrower_id, requested_at DESC);

-- Which tenant files a loan covers; empty document_ids = the whole file.
CREATE TABLE core.loan_item (
    loan_id integer NOT NULL REFERENCES core.loan(id),
    tenant_id integer NOT NULL REFERENCES core.tenant(id),
    document_ids integer[] NOT NULL DEFAULT '{}',
    PRIMARY KEY (loan_id, tenant_id)
);
CREATE INDEX loan_item_tenant_idx ON core.loan_item (tenant_id);

-- Temporary read access to a tenant file outside one's buildings.
CREATE TABLE core.access_grant (
    id serial PRIMARY KEY,
    staff_id integer NOT NULL REFERENCES core.staff_user(id),
    tenant_id integer NOT NULL REFERENCES core.tenant(id),
    loan_id integer REFERENCES core.loan(id),
    document_ids integer[] NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    withdrawn_at timestamptz
);
CREATE INDEX access_grant_lookup_idx ON core.access_grant (staff_id, tenant_id) WHERE withdrawn_at IS NULL;

CREATE TABLE core.loan_reminder (
    id bigserial PRIMARY KEY,
    loan_id integer NOT NULL REFERENCES core.loan(id),
    staff_id integer NOT NULL,
    kind text NOT NULL CHECK (kind IN ('due_soon', 'overdue')),
    for_date date NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    seen_at timestamptz,
    UNIQUE (loan_id, kind, for_date)
);
CREATE INDEX loan_reminder_staff_idx ON core.loan_reminder (staff_id, created_at DESC);

-- Encrypted exports (AES zip); the file is deleted at expiry.
CREATE TABLE core.export (
    id serial PRIMARY KEY,
    uid uuid NOT NULL UNIQUE,
    loan_id integer NOT NULL REFERENCES core.loan(id),
    created_by text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    purpose text NOT NULL,
    scope jsonb NOT NULL DEFAULT '{}',
    file_name text NOT NULL,
    size bigint NOT NULL DEFAULT 0,
    sha256 text NOT NULL DEFAULT '',
    downloads integer NOT NULL DEFAULT 0,
    deleted_at timestamptz
);
CREATE INDEX export_expiry_idx ON core.export (expires_at) WHERE deleted_at IS NULL;
"""
