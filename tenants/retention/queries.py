"""SQL of retention the query builder cannot say."""

from __future__ import annotations

import datetime as dt

from portal.core.db import DB


def not_held(tenant: str = "t") -> str:
    """The one predicate that keeps files under legal hold off the disposition
    list (a SQL condition on the ``core.tenant`` alias ``tenant``).

    Legal holds are built in ``tenants/destruction`` (another change); when its
    hold table lands, this is the only place to plug it in, e.g.
    ``NOT EXISTS (SELECT 1 FROM core.legal_hold h WHERE h.tenant_id = t.id AND
    h.released_at IS NULL)``. No table flags a hold yet (no complaint carries
    one), so today it excludes nothing."""
    if not tenant.isidentifier():
        raise ValueError(tenant)
    return "TRUE"


# One statement over core (make_interval per row, a correlated minimum, the hold
# predicate): the disposition scan that ``portal bench`` times over 5,000 tenants.
SCAN_SQL = f"""
SELECT t.id, t.schema_name, t.level, t.last_business_on
FROM core.tenant t
JOIN core.retention_class c ON c.key = 'level:' || t.level
WHERE t.last_business_on + make_interval(years => least(c.years, coalesce(
          (SELECT min(k.years) FROM core.retention_class k WHERE k.key LIKE 'category:%'), c.years))) <= $1
  AND {not_held('t')}
ORDER BY t.id
"""


async def scan(as_of: dt.date) -> list[dict]:
    """Tenants where at least one period (their level's or a category's) ended by ``as_of``."""
    return [dict(r) for r in await DB.pool.fetch(SCAN_SQL, as_of)]


# The list page: items of one run joined with the registry, filtered and paged
# with the total in the same statement (a window function).
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
        "SELECT i.*, t.archive_no, t.name, t.level, t.status, count(*) OVER () AS total"
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
