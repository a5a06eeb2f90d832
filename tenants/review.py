"""The staff review queue: what tenants submitted, read from ``core``."""

from __future__ import annotations

from portal.core.roles import Perm, Principal
from portal.core.db import DB
from portal.core.errors import Forbidden
from tenants.registry.visibility import in_scope

STATUSES = ("pending", "approved", "rejected", "accepted", "withdrawn")


async def list_items(
    principal: Principal, *, status: str = "pending", kind: str = "", page: int = 1, per_page: int = 50
) -> tuple[list[dict], int]:
    if not principal.can(Perm.REVIEW_DECIDE) and not principal.can(Perm.TENANT_READ):
        raise Forbidden()
    where = ["r.status = $1"]
    args: list = [status if status in STATUSES else "pending"]
    scoped = in_scope(principal, args)
    if scoped:
        where.append(scoped)
    if not principal.can(Perm.ARCHIVE_OPEN):
        where.append("t.status <> 'dormant'")  # dormant files are in the restricted archive view (retention)
    if kind:
        args.append(kind + "%")
        where.append(f"r.kind LIKE ${len(args)}")
    sql_where = " AND ".join(where)
    total = await DB.pool.fetchval(
        f"SELECT count(*) FROM core.review_item r JOIN core.tenant t ON t.id = r.tenant_id WHERE {sql_where}", *args
    )
    args.extend([per_page, (max(page, 1) - 1) * per_page])
    rows = await DB.pool.fetch(
        "SELECT r.*, t.name AS tenant_name, t.archive_no FROM core.review_item r JOIN core.tenant t"
        f" ON t.id = r.tenant_id WHERE {sql_where} ORDER BY r.submitted_at, r.id"
        f" LIMIT ${len(args) - 1} OFFSET ${len(args)}",
        *args,
    )
    return [dict(r) for r in rows], total
