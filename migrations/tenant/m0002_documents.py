NAME = "documents: scanned and generated papers of the file, versions, requests"

SQL = r"""
-- One row per paper of the file; its bytes live encrypted in S3, one object per version.
CREATE TABLE document (
    id serial PRIMARY KEY,
    uid uuid NOT NULL UNIQUE,
    category text NOT NULL,
    title text NOT NULL,
    issue_date date,
    received_date date,
    source text NOT NULL CHECK (source IN ('staff_upload', 'portal_upload', 'generated')),
    number text NOT NULL DEFAULT '',
    pages integer,
    paper_location text NOT NULL DEFAULT '',
    confidentiality text NOT NULL DEFAULT 'internal',
    visible_to_tenant boolean NOT NULL DEFAULT false,
    status text NOT NULL DEFAULT 'filed' CHECK (status IN ('pending', 'filed', 'rejected')),
    reject_reason text NOT NULL DEFAULT '',
    request_id integer,
    current_version integer NOT NULL DEFAULT 1,
    uploaded_by_kind text NOT NULL,
    uploaded_by_id integer,
    uploaded_by text NOT NULL,
    decided_by text NOT NULL DEFAULT '',
    decided_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX document_catalog_idx ON document (status, issue_date, id);

CREATE TABLE document_version (
    id serial PRIMARY KEY,
    document_id integer NOT NULL REFERENCES document(id),
    version integer NOT NULL,
    object_uid uuid NOT NULL UNIQUE,
    object_key text NOT NULL UNIQUE,
    s3_version_id text NOT NULL DEFAULT '',
    sha256 text NOT NULL,
    size bigint NOT NULL,
    content_type text NOT NULL,
    file_kind text NOT NULL,
    original_name text NOT NULL DEFAULT '',
    thumb_key text NOT NULL DEFAULT '',
    uploaded_by text NOT NULL,
    uploaded_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (document_id, version)
);
CREATE INDEX document_version_sha_idx ON document_version (sha256);

-- Papers the office asked the tenant for (uploaded through the portal).
CREATE TABLE document_request (
    id serial PRIMARY KEY,
    category text NOT NULL,
    title text NOT NULL,
    note text NOT NULL DEFAULT '',
    requested_by text NOT NULL,
    requested_at timestamptz NOT NULL DEFAULT now(),
    status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'fulfilled', 'cancelled')),
    document_id integer
);
"""
