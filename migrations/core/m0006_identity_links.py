NAME = "identity: each tenant's credit code or resident ID in core, and links between files of one company"

# ``identity_code`` is a summary column (written with the profile, rebuilt by
# ``portal tenants reconcile``), so a duplicate is found without reading every
# tenant schema. ``tenant_link`` records that staff confirmed two files belong
# to the same company (it moved: a new file for new premises).
SQL = r"""
ALTER TABLE core.tenant ADD COLUMN identity_code text;
CREATE INDEX tenant_identity_idx ON core.tenant (identity_code) WHERE identity_code IS NOT NULL;

CREATE TABLE core.tenant_link (
    id serial PRIMARY KEY,
    tenant_id integer NOT NULL REFERENCES core.tenant(id),
    linked_tenant_id integer NOT NULL REFERENCES core.tenant(id),
    identity_code text NOT NULL,
    created_by text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK (tenant_id <> linked_tenant_id),
    UNIQUE (tenant_id, linked_tenant_id)
);
CREATE INDEX tenant_link_linked_idx ON core.tenant_link (linked_tenant_id);
"""


async def forwards(conn) -> None:
    """Fill ``identity_code`` of the tenants that exist already (one query per schema)."""
    from tenants.scope import check_schema

    # Only tenants whose schema exists: a destroyed file keeps its registry tombstone, not its schema.
    for row in await conn.fetch("SELECT t.id, t.schema_name FROM core.tenant t JOIN pg_catalog.pg_namespace n"
                                " ON n.nspname = t.schema_name ORDER BY t.id"):
        schema = check_schema(row["schema_name"])
        await conn.execute(
            f'UPDATE core.tenant SET identity_code = (SELECT nullif(CASE p.kind WHEN \'E\' THEN p.credit_code'
            f' ELSE p.resident_id END, \'\') FROM "{schema}".profile p WHERE p.id = 1) WHERE id = $1', row["id"])
