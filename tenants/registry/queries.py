"""The registry's reads the query builder cannot say; each says why.

The core tables are declared without foreign keys (``tables.py``), and
Piccolo joins only through ``ForeignKey`` columns, so the joins live here.
"""

from __future__ import annotations

from portal.core.db import DB, fetchrow

# Columns the staff pages and the API show for a tenant's leased units.
_LEASED_UNITS = (
    "SELECT u.id, u.building_id, b.name AS building_name, u.code, u.floor, u.area_m2"
    " FROM core.tenant_unit tu JOIN core.unit u ON u.id = tu.unit_id JOIN core.building b ON b.id = u.building_id"
    " WHERE tu.tenant_id = $1 ORDER BY b.code, u.code"
)


# The same units as one JSON array, for a page that reads them in its own statement
# (tenants/file/queries.py); ``{tenant}`` is that statement's parameter.
LEASED_UNITS_JSON = (
    "(SELECT json_agg(json_build_object('id', u.id, 'building_id', u.building_id, 'building_name', b.name,"
    " 'code', u.code, 'floor', u.floor, 'area_m2', u.area_m2) ORDER BY b.code, u.code)"
    " FROM core.tenant_unit tu JOIN core.unit u ON u.id = tu.unit_id JOIN core.building b ON b.id = u.building_id"
    " WHERE tu.tenant_id = {tenant})"
)


async def leased_units(tenant_id: int) -> list[dict]:
    """A tenant's units with their building's name (a three-table join)."""
    return [dict(r) for r in await DB.pool.fetch(_LEASED_UNITS, tenant_id)]


async def units_by_ids(unit_ids: list[int]) -> list[dict]:
    """Units with their building's name (a join)."""
    rows = await DB.pool.fetch(
        "SELECT u.id, u.code, u.floor, u.area_m2, u.building_id, b.name AS building_name"
        " FROM core.unit u JOIN core.building b ON b.id = u.building_id WHERE u.id = ANY($1::int[]) ORDER BY u.id",
        unit_ids,
    )
    return [dict(r) for r in rows]


async def units_with_occupancy() -> list[dict]:
    """Every unit, its building and how many active tenants lease it (joins and a correlated count)."""
    rows = await DB.pool.fetch(
        "SELECT u.id, u.code, u.floor, u.area_m2, b.name AS building_name, b.id AS building_id,"
        " (SELECT count(*) FROM core.tenant_unit tu JOIN core.tenant t ON t.id = tu.tenant_id"
        "   WHERE tu.unit_id = u.id AND t.active) AS taken"
        " FROM core.unit u JOIN core.building b ON b.id = u.building_id ORDER BY b.code, u.floor, u.code"
    )
    return [dict(r) for r in rows]


async def taken_units(unit_ids: list[int]) -> list[int]:
    """Which of these units an active tenant leases (a join)."""
    rows = await DB.pool.fetch(
        "SELECT tu.unit_id FROM core.tenant_unit tu JOIN core.tenant t ON t.id = tu.tenant_id"
        " WHERE t.active AND tu.unit_id = ANY($1::int[])", unit_ids)
    return [r["unit_id"] for r in rows]


async def file_counts(scope: list[int] | None) -> dict:
    """The console home's counts in one pass over ``core.tenant`` (aggregate ``FILTER`` clauses)."""
    scope_sql = "" if scope is None else " AND building_ids && $1::int[]"
    row = await DB.pool.fetchrow(
        "SELECT count(*) FILTER (WHERE active) AS tenants,"
        " count(*) FILTER (WHERE active AND status = 'active') AS active,"
        " count(*) FILTER (WHERE active AND status = 'potential') AS potential,"
        " count(*) FILTER (WHERE active AND status = 'dormant') AS dormant,"
        " coalesce(sum(pending_reviews) FILTER (WHERE active), 0) AS pending"
        f" FROM core.tenant WHERE true{scope_sql}",
        *([] if scope is None else [scope]),
    )
    return dict(row)


async def access_grant_documents(staff_id: int, tenant_id: int) -> list[list[int]]:
    """The document ids of this person's live accompanied-loan grants on the tenant (a join)."""
    rows = await DB.pool.fetch(
        "SELECT g.document_ids FROM core.access_grant g JOIN core.loan l ON l.id = g.loan_id"
        " WHERE g.staff_id = $1 AND g.tenant_id = $2 AND g.withdrawn_at IS NULL AND g.expires_at > now()"
        " AND l.mode = 'outside' AND l.status = 'lent'", staff_id, tenant_id)
    return [list(r["document_ids"]) for r in rows]


async def linked_files(tenant_id: int) -> list[dict]:
    """The files linked to this one, either way round (a join on a computed key)."""
    rows = await DB.pool.fetch(
        "SELECT l.created_by, l.created_at, t.id, t.archive_no, t.name, t.building_ids, t.active"
        " FROM core.tenant_link l JOIN core.tenant t"
        "   ON t.id = CASE WHEN l.tenant_id = $1 THEN l.linked_tenant_id ELSE l.tenant_id END"
        " WHERE $1 IN (l.tenant_id, l.linked_tenant_id) ORDER BY l.created_at", tenant_id)
    return [dict(r) for r in rows]


SUMMARY_SQL = """
SELECT p.name, p.kind, p.level, p.status,
       coalesce((SELECT c.name FROM contact c WHERE c.active ORDER BY c.is_primary DESC, c.id LIMIT 1), '')
           AS primary_contact,
       coalesce((SELECT string_agg(x, ' ' ORDER BY x) FROM (
           SELECT c.mobile AS x FROM contact c WHERE c.active AND c.mobile <> ''
           UNION SELECT c.landline FROM contact c WHERE c.active AND c.landline <> '') phones), '')
           AS contact_phones,
       (SELECT count(*) FROM contact c WHERE c.active)::int AS contact_count,
       ((SELECT count(*) FROM change_request r WHERE r.status = 'pending')
        + (SELECT count(*) FROM document d WHERE d.status = 'pending'))::int AS pending_reviews,
       nullif(CASE p.kind WHEN 'E' THEN p.credit_code ELSE p.resident_id END, '') AS identity_code
FROM profile p WHERE p.id = 1
"""
SUMMARY_COLUMNS = ("name", "kind", "level", "status", "primary_contact", "contact_phones", "contact_count",
                   "pending_reviews", "identity_code")


async def tenant_summary(conn) -> dict:
    """The core summary of the tenant schema on the path, in one statement (scalar
    subqueries over three tables, a UNION and an ordered string_agg)."""
    row = await conn.fetchrow(SUMMARY_SQL)
    return {k: row[k] for k in SUMMARY_COLUMNS}


async def next_tenant_numbers(conn) -> tuple[int, int]:
    """The next tenant id and archive sequence number, in one statement (sequence functions, not a table)."""
    row = await conn.fetchrow("SELECT nextval('core.tenant_id_seq') AS id, nextval('core.archive_seq') AS seq")
    return row["id"], row["seq"]


async def lock_identity(conn, code: str) -> None:
    """Serialise the writers of one identity code until commit (a function call, not a table)."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"identity:{code}")


# A tenant's reference (TenantRef's columns). Not for want of the builder: it runs on
# every tenant page, and building it with Piccolo per request cost measurable web CPU
# (portal bench web); a fixed text is one statement, parsed by the server only.
_REF = ("SELECT id, schema_name, name, archive_no, building_ids, active, status, read_only"
        " FROM core.tenant WHERE id = $1")


async def ref_row(tenant_id: int):
    return await fetchrow(_REF, tenant_id)
