"""Dispatch: choosing a technician for an order, re-dispatch after a decline
or an acceptance timeout, a dispatcher's manual choice, and the SLA scan.

The dispatch task runs in one tenant transaction that locks the order row
(so two deliveries of the same task cannot both assign) and then one
technician row in ``core`` (``FOR UPDATE SKIP LOCKED``: concurrent dispatches
take different technicians; none goes above capacity). ``dispatch_round``
names the attempt: a task or timeout for an earlier round does nothing.
"""

from __future__ import annotations

import datetime as dt
import logging

from portal.core import audit
from portal.core.errors import Conflict, Forbidden, FormErrors, NotFound
from portal.core.jobs import on_commit
from portal.core.roles import Perm, Principal
from portal.core.workdays import now
from tenants.registry.service import TenantRef
from tenants.scope import tenant_tx
from tenants.servicedesk import queries
from tenants.servicedesk.service import event, locked, save
from tenants.servicedesk.tables import Technician

log = logging.getLogger(__name__)
ACCEPT_MINUTES = 15  # a dispatched order not accepted within this goes to the next technician
WARN_BEFORE = dt.timedelta(hours=1)  # the SLA scan warns the department head this long before a breach
DISPATCHABLE = ("reported", "unassigned")


async def dispatch(ref: TenantRef, tx, order_id: int, round_: int, accept_minutes: int = ACCEPT_MINUTES) -> str:
    """Assign the order to the best technician on duty, or queue it for the
    dispatcher. Returns what happened ('dispatched', 'unassigned', 'skipped')."""
    from tasks.notify import deliver
    from tasks.repairs import accept_timeout

    row = await queries.lock_order(tx.connection, order_id)
    if row is None or row["status"] not in DISPATCHABLE or row["dispatch_round"] != round_:
        return "skipped"  # redelivered, superseded by a later round, or already handled
    at = now()
    tech = await queries.pick_technician(tx.connection, row["category"], row["building_id"],
                                         list(row["declined_ids"]), at)
    if tech is None or not await queries.take_load(tx.connection, tech["user_id"]):
        if row["status"] != "unassigned":
            await save(ref, row, {"status": "unassigned"})
            await event(order_id, "unassigned", None, at=at)
            await audit.record("repair.unassigned", actor_name="dispatch", tenant_id=ref.id,
                               target=f"work_order:{order_id}", detail={"number": row["number"]})
            on_commit(deliver, ref.id, "repair.unassigned", order_id, str(round_))
        return "unassigned"
    await save(ref, row, {"status": "dispatched", "assignee_id": tech["user_id"], "assignee_name": tech["name"]})
    await event(order_id, "dispatched", None, tech["name"], at=at)
    on_commit(accept_timeout, ref.id, order_id, round_, countdown=accept_minutes * 60)
    on_commit(deliver, ref.id, "repair.dispatched", order_id, str(round_))
    return "dispatched"


async def release(tx, ref: TenantRef, row: dict, kind: str, principal: Principal | None, note: str = "") -> None:
    """The assignee gives the order back (declined, or did not accept in
    time): free their load and dispatch the next round without them."""
    from tasks.repairs import dispatch_order

    await queries.release_load(tx.connection, row["assignee_id"])
    declined = sorted(set(row["declined_ids"]) | {row["assignee_id"]})
    next_round = row["dispatch_round"] + 1
    await save(ref, row, {"status": "reported", "assignee_id": None, "assignee_name": "",
                          "declined_ids": declined, "dispatch_round": next_round})
    await event(row["id"], kind, principal, note)
    on_commit(dispatch_order, ref.id, row["id"], next_round)


async def timeout(ref: TenantRef, tx, order_id: int, round_: int) -> bool:
    """No acceptance within the minutes allowed: re-dispatch (once per round)."""
    row = await queries.lock_order(tx.connection, order_id)
    if row is None or row["status"] != "dispatched" or row["dispatch_round"] != round_:
        return False
    await release(tx, ref, row, "declined", None, "timeout")
    await audit.record("repair.timeout", actor_name="dispatch", tenant_id=ref.id, target=f"work_order:{order_id}")
    return True


async def assign(ref: TenantRef, principal: Principal, order_id: int, user_id: int | None) -> None:
    """A dispatcher assigns the order by hand (never above the technician's capacity)."""
    from tasks.notify import deliver
    from tasks.repairs import accept_timeout

    if not principal.can(Perm.REPAIR_DISPATCH):
        raise Forbidden()
    if user_id is None:
        raise FormErrors({"technician": "Choose a technician."})
    async with tenant_tx(ref.schema) as tx:
        row = await locked(tx, order_id)
        if row["status"] not in ("reported", "unassigned", "dispatched"):
            raise Conflict("This step does not fit the order's current state.")
        tech = await Technician.select().where(Technician.user_id == user_id).first().run()
        if tech is None or not tech["active"]:
            raise FormErrors({"technician": "Choose a technician."})
        if row["assignee_id"] == user_id:
            return
        if not await queries.take_load(tx.connection, user_id):
            raise Conflict("This technician has no capacity left.")
        if row["assignee_id"] is not None:
            await queries.release_load(tx.connection, row["assignee_id"])
        next_round = row["dispatch_round"] + 1
        await save(ref, row, {"status": "dispatched", "assignee_id": user_id, "assignee_name": tech["name"],
                              "dispatch_round": next_round})
        await event(order_id, "dispatched", principal, tech["name"])
        await audit.record("repair.assign", principal=principal, tenant_id=ref.id, target=f"work_order:{order_id}")
        on_commit(accept_timeout, ref.id, order_id, next_round, countdown=ACCEPT_MINUTES * 60)
        on_commit(deliver, ref.id, "repair.dispatched", order_id, str(next_round))


async def page_on_duty(ref: TenantRef, tx, order_id: int) -> int:
    """An urgent order: tell every technician on duty for its building (an
    audit row per person; e-mail and the gateway webhook after commit)."""
    from tasks.notify import deliver

    row = await queries.lock_order(tx.connection, order_id)
    if row is None:
        return 0
    rows = await queries.on_duty(tx.connection, row["building_id"], now())
    for tech in rows:
        await audit.record("repair.page", actor_name="dispatch", tenant_id=ref.id, target=f"work_order:{order_id}",
                           detail={"number": row["number"], "note": tech["name"]})
    on_commit(deliver, ref.id, "repair.urgent", order_id, str(row["dispatch_round"]))
    return len(rows)

