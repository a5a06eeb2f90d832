NAME = "tenant file: profile, contacts, change log, change requests"

SQL = r"""
CREATE TABLE _migration (
    version integer PRIMARY KEY,
    name text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
);

-- One row: the company's profile.
CREATE TABLE profile (
    id integer PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    archive_no text NOT NULL,
    name text NOT NULL,
    kind char(1) NOT NULL,
    credit_code text NOT NULL DEFAULT '',
    resident_id text NOT NULL DEFAULT '',
    legal_rep text NOT NULL DEFAULT '',
    registered_capital numeric(18, 2),
    industry text NOT NULL DEFAULT '',
    business_scope text NOT NULL DEFAULT '',
    registered_address text NOT NULL DEFAULT '',
    level smallint NOT NULL DEFAULT 0,
    source_channel text NOT NULL DEFAULT '',
    status text NOT NULL DEFAULT 'potential',
    move_in_date date,
    special_needs text NOT NULL DEFAULT '',
    notes text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE contact (
    id serial PRIMARY KEY,
    name text NOT NULL,
    position text NOT NULL DEFAULT '',
    mobile text NOT NULL DEFAULT '',
    landline text NOT NULL DEFAULT '',
    email text NOT NULL DEFAULT '',
    is_primary boolean NOT NULL DEFAULT false,
    is_emergency boolean NOT NULL DEFAULT false,
    receives_notices boolean NOT NULL DEFAULT false,
    active boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    deactivated_at timestamptz
);

-- Field-by-field history of every change to the file.
CREATE TABLE change_log (
    id bigserial PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT now(),
    actor_kind text NOT NULL,
    actor_name text NOT NULL,
    approved_by text NOT NULL DEFAULT '',
    entity text NOT NULL,
    entity_id integer,
    field text NOT NULL,
    old_value text,
    new_value text,
    request_id integer
);
CREATE INDEX change_log_at_idx ON change_log (at DESC);

-- Changes a tenant's portal user proposed; they wait for staff review.
CREATE TABLE change_request (
    id serial PRIMARY KEY,
    kind text NOT NULL,
    target_id integer,
    payload jsonb NOT NULL,
    submitted_by_id integer NOT NULL,
    submitted_by text NOT NULL,
    submitted_at timestamptz NOT NULL DEFAULT now(),
    status text NOT NULL DEFAULT 'pending',
    decided_by text,
    decided_at timestamptz,
    reason text NOT NULL DEFAULT ''
);
"""
