NAME = "retention: classes, last business date, dormancy, the disposition list"

# ``core.tenant.last_business_on`` is moved forward by every event that counts
# as business (tenants.retention.service.touch, inside the domain's own
# transaction); ``dormant_since`` is set when the daily task (or a person)
# makes the file dormant and cleared on reactivation.
#
# ``core.retention_class`` holds the periods: one row per tenant level (the
# file as a whole) and one per document category with a period of its own.
# The defaults below are documented in the README ("Retention").
#
# ``core.disposition_run`` / ``disposition_item``: the list the monthly task
# builds of files and document categories whose retention ended.
SQL = r"""
ALTER TABLE core.tenant ADD COLUMN last_business_on date NOT NULL DEFAULT current_date;
ALTER TABLE core.tenant ADD COLUMN dormant_since date;
CREATE INDEX tenant_last_business_idx ON core.tenant (last_business_on);

CREATE TABLE core.retention_class (
    key text PRIMARY KEY CHECK (key ~ '^(level:[0-3]|category:[a-z_]{1,40})$'),
    years integer NOT NULL CHECK (years BETWEEN 1 AND 100),
    basis text NOT NULL DEFAULT '',
    updated_by text NOT NULL DEFAULT '',
    updated_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO core.retention_class (key, years, basis, updated_by) VALUES
    ('level:0', 5, 'Office rule for normal files', 'default'),
    ('level:1', 10, 'Office rule for important files', 'default'),
    ('level:2', 10, 'Office rule for important files', 'default'),
    ('level:3', 10, 'Office rule for important files', 'default'),
    ('category:payments', 10, 'Copies of accounting records (the originals stay in the accounting archive)', 'default'),
    ('category:id_copies', 3, 'Personal information is kept no longer than needed', 'default');

CREATE TABLE core.disposition_run (
    id serial PRIMARY KEY,
    as_of date NOT NULL,
    built_at timestamptz NOT NULL DEFAULT now(),
    built_by text NOT NULL DEFAULT '',
    files integer NOT NULL DEFAULT 0,
    document_groups integer NOT NULL DEFAULT 0
);

CREATE TABLE core.disposition_item (
    id bigserial PRIMARY KEY,
    run_id integer NOT NULL REFERENCES core.disposition_run(id) ON DELETE CASCADE,
    tenant_id integer NOT NULL REFERENCES core.tenant(id),
    category text,
    class_key text NOT NULL,
    years integer NOT NULL,
    last_business_on date NOT NULL,
    ends_on date NOT NULL,
    documents integer NOT NULL DEFAULT 0,
    UNIQUE (run_id, tenant_id, category)
);
CREATE INDEX disposition_item_tenant_idx ON core.disposition_item (tenant_id);
"""


async def forwards(conn) -> None:
    """The last business date of the tenants that exist already: the latest of
    the file's creation, a payment and a charge (one query per schema)."""
    from tenants.scope import check_schema

    for row in await conn.fetch("SELECT id, schema_name FROM core.tenant ORDER BY id"):
        schema = check_schema(row["schema_name"])
        has_money = await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", f'"{schema}".payment')
        money = (
            f" (SELECT max(paid_on) FROM \"{schema}\".payment WHERE kind = 'payment'),"
            f' (SELECT max(created_at AT TIME ZONE \'Asia/Shanghai\')::date FROM "{schema}".charge),'
        ) if has_money else ""
        await conn.execute(
            f"UPDATE core.tenant t SET last_business_on = greatest({money}"
            " (t.created_at AT TIME ZONE 'Asia/Shanghai')::date) WHERE t.id = $1", row["id"])
