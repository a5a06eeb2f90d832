"""SQL the query builder cannot say, each with the reason."""

from __future__ import annotations

import datetime as dt

from portal.core.db import DB
from portal.core.roles import Principal
from tenants.complaints.tables import ComplaintCase
from tenants.registry.visibility import in_scope

PER_PAGE = 50


async def next_number(at: dt.date) -> str:
    """nextval of the office-wide sequence: a function call, not a table query."""
    [row] = await ComplaintCase.raw("SELECT nextval('core.complaint_seq') AS n").run()
    return f"TS{at.year}-{row['n']:06d}"


async def console_cases(principal: Principal, *, state: str = "open", overdue_only: bool = False,
                        page: int = 1) -> tuple[list[dict], int]:
    """The complaints of the tenants this person covers (the one building-scope
    filter is raw SQL over core.tenant), most urgent first, with the total."""
    where = ["c.closed_at IS NULL" if state == "open" else "c.closed_at IS NOT NULL"]
    args: list = []
    scoped = in_scope(principal, args)
    if scoped:
        where.append(scoped)
    if overdue_only:
        where.append("c.overdue")
    sql_where = " AND ".join(where)
    total = await DB.pool.fetchval(
        f"SELECT count(*) FROM core.complaint_case c JOIN core.tenant t ON t.id = c.tenant_id WHERE {sql_where}", *args)
    order = "c.overdue DESC, c.due_at NULLS LAST, c.id" if state == "open" else "c.closed_at DESC, c.id DESC"
    args.extend([PER_PAGE, (max(page, 1) - 1) * PER_PAGE])
    rows = await DB.pool.fetch(
        "SELECT c.*, t.name AS tenant_name, t.archive_no FROM core.complaint_case c JOIN core.tenant t"
        f" ON t.id = c.tenant_id WHERE {sql_where} ORDER BY {order} LIMIT ${len(args) - 1} OFFSET ${len(args)}",
        *args)
    return [dict(r) for r in rows], total
