"""Beat work over ``core.work_order_summary`` only (no tenant schema is read
to find work): the SLA scan that escalates and marks breaches, the automatic
close of unconfirmed orders, and the sweep that re-sends lost dispatches and
dispatches again what waits unassigned once someone on duty could take it."""

from __future__ import annotations

import datetime as dt

from portal.core import audit
from portal.core.jobs import core_tx, on_commit
from portal.core.workdays import now
from tenants.registry.service import get_ref
from tenants.scope import tenant_tx
from tenants.servicedesk import queries
from tenants.servicedesk.dispatch import WARN_BEFORE
from tenants.servicedesk.service import AUTO_CLOSE_DAYS, close

SWEEP_AFTER = dt.timedelta(minutes=2)  # a 'reported' order untouched this long lost its dispatch message


async def sla_scan(at: dt.datetime | None = None) -> dict[str, int]:
    """Escalate orders whose running clock is due within the hour (to the
    department head) and mark breaches (to the supervisor): two statements
    over the summary table and an audit row per escalation, in one transaction."""
    from tasks.notify import deliver

    at = at or now()
    async with core_tx() as tx:
        warned = await queries.mark_warnings(tx.connection, at, WARN_BEFORE)
        breached = await queries.mark_breaches(tx.connection, at)
        for row in warned:
            await audit.record("repair.escalate.dept_head", actor_name="sla", tenant_id=row["tenant_id"],
                               target=f"work_order:{row['order_id']}", detail={"number": row["number"]})
            on_commit(deliver, row["tenant_id"], "repair.escalated", row["order_id"], f"1:{row['dispatch_round']}")
        for row in breached:
            await audit.record("repair.escalate.supervisor", actor_name="sla", tenant_id=row["tenant_id"],
                               target=f"work_order:{row['order_id']}", detail={"number": row["number"]})
            on_commit(deliver, row["tenant_id"], "repair.escalated", row["order_id"], f"2:{row['dispatch_round']}")
    return {"warned": len(warned), "breached": len(breached)}


async def auto_close_one(tenant_id: int, order_id: int, at: dt.datetime) -> bool:
    ref = await get_ref(tenant_id)
    async with tenant_tx(ref.schema) as tx:
        row = await queries.lock_order(tx.connection, order_id)
        if row is None or row["status"] != "completed" or row["completed_at"] > at - dt.timedelta(days=AUTO_CLOSE_DAYS):
            return False
        await close(tx, ref, row, None)
    return True


async def due_for_auto_close(at: dt.datetime | None = None) -> list[tuple[int, int]]:
    at = at or now()
    async with core_tx() as tx:
        return await queries.due_for_auto_close(tx.connection, at - dt.timedelta(days=AUTO_CLOSE_DAYS))


async def dispatches_to_resend(at: dt.datetime | None = None) -> list[tuple[int, int, int]]:
    """Orders to dispatch (again): those whose dispatch message was lost, and
    unassigned ones a technician now on duty could take (a shift began)."""
    at = at or now()
    async with core_tx() as tx:
        return (await queries.stuck_reported(tx.connection, at - SWEEP_AFTER)
                + await queries.assignable_unassigned(tx.connection, at))
