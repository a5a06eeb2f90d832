NAME = "backups: read-only restored tenant files and where each came from"

# `portal tenants restore` puts an exported file back under a new id for
# inspection: the registry row is marked read-only (every write route refuses it,
# portal/web/tenancy.py) and tenant_restore records its source.
SQL = r"""
ALTER TABLE core.tenant ADD COLUMN read_only boolean NOT NULL DEFAULT false;

CREATE TABLE core.tenant_restore (
    tenant_id integer PRIMARY KEY REFERENCES core.tenant(id),
    source_archive_no text NOT NULL,
    source_tenant_id integer NOT NULL,
    exported_at timestamptz NOT NULL,
    archive_sha256 text NOT NULL,
    restored_by text NOT NULL,
    restored_at timestamptz NOT NULL DEFAULT now()
);
"""
