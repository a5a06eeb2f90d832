"""The staff review queue: what tenants submitted, read from ``core``."""

from __future__ import annotations

from portal.core.roles import Perm, Principal
from portal.core.errors import Forbidden
from tenants.registry.tables import ReviewItem
from tenants.registry.visibility import scope_where

STATUSES = ("pending", "approved", "rejected", "accepted", "withdrawn")


async def list_items(
    principal: Principal, *, status: str = "pending", kind: str = "", page: int = 1, per_page: int = 50
) -> tuple[list[dict], int]:
    if not principal.can(Perm.REVIEW_DECIDE) and not principal.can(Perm.TENANT_READ):
        raise Forbidden()
    R = ReviewItem
    where = [R.status == (status if status in STATUSES else "pending")]
    scoped = scope_where(principal, R.tenant_id.building_ids)
    if scoped is not None:
        where.append(scoped)
    if not principal.can(Perm.ARCHIVE_OPEN):
        where.append(R.tenant_id.status != "dormant")  # dormant files are in the restricted archive view (retention)
    if kind:
        where.append(R.kind.like(kind + "%"))
    total = await R.count().where(*where).run()
    rows = await R.select(*R.all_columns(), R.tenant_id.name.as_alias("tenant_name"),
                          R.tenant_id.archive_no.as_alias("archive_no")).where(*where).order_by(
        R.submitted_at, R.id).limit(per_page).offset((max(page, 1) - 1) * per_page).run()
    return rows, total
