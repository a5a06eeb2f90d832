"""Cross-tenant reads for staff, from ``core`` only: the dispatcher's board
(filtered, 50 a page, within the person's buildings) and a technician's own
open orders in due order."""

from __future__ import annotations

from portal.core.db import DB
from portal.core.errors import Forbidden
from portal.core.roles import Perm, Principal
from portal.core.workdays import now
from tenants.servicedesk import queries
from tenants.servicedesk.forms import CATEGORIES
from tenants.servicedesk.tables import Technician

PER_PAGE = 50
VIEWS = ("all", "new", "unassigned", "overdue")


async def board(principal: Principal, *, view: str = "all", building_id: int | None = None,
                assignee_id: int | None = None, category: str = "", page: int = 1) -> dict:
    if not principal.can(Perm.REPAIR_DISPATCH):
        raise Forbidden()
    scope = principal.building_scope()
    view = view if view in VIEWS else "all"
    category = category if category in CATEGORIES else ""
    page = max(1, min(page, 10_000))
    async with DB.pool.acquire() as conn:
        rows, total = await queries.board(
            conn, scope=None if scope is None else sorted(scope), view=view, building_id=building_id,
            assignee_id=assignee_id, category=category, at=now(), limit=PER_PAGE, offset=(page - 1) * PER_PAGE)
    techs = await Technician.select().order_by(Technician.name).run()
    if scope is not None:
        techs = [t for t in techs if set(t["building_ids"]) & scope]
    return {"rows": rows, "total": total, "page": page, "pages": max(1, -(-total // PER_PAGE)),
            "technicians": techs, "view": view, "category": category, "building_id": building_id,
            "assignee_id": assignee_id, "now": now()}


async def mine(principal: Principal) -> list[dict]:
    if not principal.can(Perm.REPAIR_WORK):
        raise Forbidden()
    async with DB.pool.acquire() as conn:
        return await queries.my_orders(conn, principal.user_id)
