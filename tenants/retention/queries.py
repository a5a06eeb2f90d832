"""SQL of retention the query builder cannot say."""

from __future__ import annotations

import datetime as dt

from portal.core.db import DB


def not_held(tenant: str = "t") -> str:
    """The one predicate that keeps files under a whole-file legal hold off the
    disposition list (a SQL condition on the ``core.tenant`` alias ``tenant``).
    Holds of single documents keep the file as a whole off the list too, but
    not its other document groups: the build drops those (``document_holds``)."""
    if not tenant.isidentifier():
        raise ValueError(tenant)
    return (f"NOT EXISTS (SELECT 1 FROM core.legal_hold h WHERE h.tenant_id = {tenant}.id"
            " AND h.released_at IS NULL AND h.document_ids IS NULL)")




# predicate): the disposition scan that ``portal bench`` times over 5,000 tenants.
SCAN_SQL = f"""
SELECT t.id, t.schema_name, t.level, t.last_business_on
FROM core.tenant t
JOIN core.retention_class c ON c.key = 'level:' || t.level
WHERE t.last_business_on + make_interval(years => least(c.years, coalesce(
          (SELECT min(k.years) FROM core.retention_class k WHERE k.key LIKE 'category:%'), c.years))) <= $1
  AND {not_held('t')}
  AND t.status NOT IN ('destroying', 'destroyed')
ORDER BY t.id
"""


async def scan(as_of: dt.date) -> list[dict]:
    """Tenants where at least one period (their level's or a category's) ended by ``as_of``."""
    return [dict(r) for r in await DB.pool.fetch(SCAN_SQL, as_of)]


# The active holds of single documents per candidate (unnest of the id arrays), in one statement.
async def document_holds(tenant_ids: list[int]) -> dict[int, set[int]]:
    rows = await DB.pool.fetch(
        "SELECT h.tenant_id, array_agg(DISTINCT d) AS ids FROM core.legal_hold h, unnest(h.document_ids) d"
        " WHERE h.tenant_id = ANY($1::int[]) AND h.released_at IS NULL GROUP BY h.tenant_id", tenant_ids)
    return {r["tenant_id"]: set(r["ids"]) for r in rows}


# What the list leaves out because of a hold, for the page: active holds of files past their level's
# period (the scan's own test without the hold predicate), joined with the registry and scoped.
async def held_due(as_of: dt.date, scope: list[int] | None) -> list[dict]:
    rows = await DB.pool.fetch(
        "SELECT h.id, h.tenant_id, h.case_ref, h.reason, h.document_titles, h.document_ids IS NULL AS whole_file,"
        " h.placed_by, h.placed_at, t.archive_no, t.name, t.level"
        " FROM core.legal_hold h JOIN core.tenant t ON t.id = h.tenant_id"
        " JOIN core.retention_class c ON c.key = 'level:' || t.level"
        " WHERE h.released_at IS NULL AND t.status NOT IN ('destroying', 'destroyed')"
        " AND t.last_business_on + make_interval(years => least(c.years, coalesce("
        "  (SELECT min(k.years) FROM core.retention_class k WHERE k.key LIKE 'category:%'), c.years))) <= $1"
        " AND ($2::int[] IS NULL OR t.building_ids && $2::int[])"
        " ORDER BY t.archive_no, h.id LIMIT 200", as_of, scope)
    return [dict(r) for r in rows]


# The list page: items of one run joined with the registry, filtered and paged
# with the total in the same statement (a window function), each with the file's
# open destruction request if any (a correlated subquery: one request per file at a time).
async def items(run_id: int, *, kind: str, level: int | None, q: str, scope: list[int] | None,
                limit: int | None, offset: int) -> tuple[list[dict], int]:
    where, args = ["i.run_id = $1"], [run_id]

    def add(clause: str, value) -> None:
        args.append(value)
        where.append(clause.format(n=len(args)))

    if kind == "file":
        where.append("i.category IS NULL")
    elif kind == "documents":
        where.append("i.category IS NOT NULL")
    if level is not None:
        add("t.level = ${n}", level)
    if q:
        add("(t.name ILIKE ${n} OR t.archive_no ILIKE ${n})", f"%{q}%")
    if scope is not None:
        add("t.building_ids && ${n}::int[]", scope)
    args += [limit, offset]
    rows = await DB.pool.fetch(
        "SELECT i.*, t.archive_no, t.name, t.level, t.status, count(*) OVER () AS total,"
        " (SELECT max(r.id) FROM core.destruction_request r WHERE r.tenant_id = i.tenant_id AND r.status IN"
        "  ('review', 'approval_1', 'approval_2', 'cooling', 'purging')) AS open_request"
        " FROM core.disposition_item i JOIN core.tenant t ON t.id = i.tenant_id"
        f" WHERE {' AND '.join(where)} ORDER BY i.ends_on, t.archive_no, i.category NULLS FIRST"
        f" LIMIT ${len(args) - 1} OFFSET ${len(args)}", *args)
    return [dict(r) for r in rows], (rows[0]["total"] if rows else 0)


# The restricted archive view's page with its total (a window function) and the
# optional building filter on an array parameter.
async def dormant_files(scope: list[int] | None, *, limit: int, offset: int) -> tuple[list[dict], int]:
    rows = await DB.pool.fetch(
        "SELECT id, archive_no, name, level, unit_labels, last_business_on, dormant_since,"
        " count(*) OVER () AS total FROM core.tenant"
        " WHERE status = 'dormant' AND ($1::int[] IS NULL OR building_ids && $1::int[])"
        " ORDER BY dormant_since NULLS FIRST, archive_no LIMIT $2 OFFSET $3", scope, limit, offset)
    return [dict(r) for r in rows], (rows[0]["total"] if rows else 0)
