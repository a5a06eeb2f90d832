"""Repairs: reporting, reading, the technician's steps and the tenant's
confirmation, each in one tenant transaction that also writes the order's
``core.work_order_summary`` row and the audit row, and sends follow-up tasks
after commit (dispatch, acceptance timeout, the repair slip)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Mapping

from portal.core import audit
from portal.core.errors import Conflict, Forbidden, NotFound
from portal.core.jobs import on_commit
from portal.core.roles import Perm, Principal
from portal.core.workdays import SHANGHAI, now
from tenants.registry import service as registry
from tenants.registry.service import TenantRef
from tenants.retention import activity as retention
from tenants.scope import tenant_tx
from tenants.servicedesk import forms, queries, sla
from tenants.servicedesk.calendar import calendar
from tenants.servicedesk.tables import WorkOrder, WorkOrderEvent, WorkOrderPart, WorkOrderPhoto, WorkOrderSummary

OPEN = ("reported", "unassigned", "dispatched", "accepted", "on_site", "paused", "completed")
REOPEN_DAYS = 7
AUTO_CLOSE_DAYS = 3
WORKING = ("accepted", "on_site", "paused")


def actor_of(principal: Principal | None) -> dict:
    if principal is None:
        return {"actor_kind": "system", "actor_id": None, "actor_name": ""}
    return {"actor_kind": principal.kind, "actor_id": principal.user_id, "actor_name": principal.name}


async def event(order_id: int, kind: str, principal: Principal | None, note: str = "", at: dt.datetime | None = None):
    await WorkOrderEvent.insert(WorkOrderEvent(order_id=order_id, kind=kind, note=note[:1000],
                                               at=at or now(), **actor_of(principal))).run()


async def save(ref: TenantRef, row: dict, changes: dict[str, Any]) -> dict:
    """Write ``changes`` to the (locked) order and mirror it in core."""
    changes = {**changes, "updated_at": now()}
    await WorkOrder.update({getattr(WorkOrder, k): v for k, v in changes.items()}).where(
        WorkOrder.id == row["id"]).run()
    row.update(changes)
    await sync_summary(ref, row)
    return row


async def sync_summary(ref: TenantRef, row: dict) -> None:
    """The order's core row: written while the order is open, gone once closed."""
    S = WorkOrderSummary
    if row["status"] not in OPEN:
        await S.delete().where((S.tenant_id == ref.id) & (S.order_id == row["id"])).run()
        return
    values = dict(number=row["number"], building_id=row["building_id"], category=row["category"],
                  urgency=row["urgency"], status=row["status"], assignee_id=row["assignee_id"],
                  assignee_name=row["assignee_name"], dispatch_round=row["dispatch_round"],
                  reported_at=row["created_at"], response_due_at=row["response_due_at"],
                  onsite_due_at=row["onsite_due_at"], completion_due_at=row["completion_due_at"],
                  due_at=sla.running_due(row), paused=row["status"] == "paused", completed_at=row["completed_at"], updated_at=now())
    cols = [getattr(S, k) for k in values]
    await S.insert(S(tenant_id=ref.id, order_id=row["id"], **values)).on_conflict(
        target=(S.tenant_id, S.order_id), action="DO UPDATE", values=cols).run()


async def locked(tx, order_id: int) -> dict:
    row = await queries.lock_order(tx.connection, order_id)
    if row is None:
        raise NotFound("This repair order does not exist.")
    return row


# --- reporting -----------------------------------------------------------------------------------

async def report(ref: TenantRef, principal: Principal, raw: Mapping[str, Any], settings=None) -> dict:
    """A tenant (portal) or staff on the tenant's behalf reports a repair.
    Returns the new order; dispatch follows after commit."""
    if principal.is_portal:
        if principal.tenant_id != ref.id:
            raise NotFound("This repair order does not exist.")
    elif not principal.can(Perm.REPAIR_REPORT):
        raise Forbidden()
    if not ref.active:
        raise Conflict("This tenant's file is closed.")
    units = {u["id"]: u for u in await registry.leased_units(ref.id)}
    data = forms.clean_report(raw, staff=principal.is_staff, unit_ids=set(units))
    building_id = units[data["unit_id"]]["building_id"] if data["unit_id"] else (
        ref.building_ids[0] if ref.building_ids else None)
    cal = await calendar(settings)
    from tasks.repairs import dispatch_order, page_on_duty

    async with tenant_tx(ref.schema) as tx:
        at = now()
        number = await queries.next_number(tx.connection, at.year)
        rows = await WorkOrder.insert(WorkOrder(
            number=number, building_id=building_id, reporter_kind=principal.kind, reporter_id=principal.user_id,
            reporter_name=principal.name, status="reported", created_at=at, updated_at=at, **data,
            **sla.start(at, data["category"], data["urgency"], cal))).returning(*WorkOrder.all_columns()).run()
        row = dict(rows[0])
        await event(row["id"], "reported", principal, at=at)
        await sync_summary(ref, row)
        await audit.record("repair.report", principal=principal, tenant_id=ref.id, target=f"work_order:{row['id']}",
                           detail={"number": number})
        await retention.touch(ref.id, at.astimezone(SHANGHAI).date())  # a repair is business (last business date)
        on_commit(dispatch_order, ref.id, row["id"], 0)
        if data["urgency"] == "urgent":
            on_commit(page_on_duty, ref.id, row["id"])
    return row


# --- reading --------------------------------------------------------------------------------------

def _may_read(ref: TenantRef, principal: Principal) -> None:
    if principal.is_portal and principal.tenant_id != ref.id:
        raise NotFound("This repair order does not exist.")


async def list_orders(ref: TenantRef, principal: Principal, *, limit: int = 50) -> list[dict]:
    _may_read(ref, principal)
    async with tenant_tx(ref.schema):
        return await WorkOrder.select().order_by(WorkOrder.id, ascending=False).limit(limit).run()


async def get_order(ref: TenantRef, principal: Principal, order_id: int) -> dict:
    """The order with its timeline, parts and photos."""
    _may_read(ref, principal)
    async with tenant_tx(ref.schema):
        row = await WorkOrder.select().where(WorkOrder.id == order_id).first().run()
        if row is None:
            raise NotFound("This repair order does not exist.")
        row["events"] = await WorkOrderEvent.select().where(WorkOrderEvent.order_id == order_id).order_by(
            WorkOrderEvent.at).order_by(WorkOrderEvent.id).run()
        row["parts"] = await WorkOrderPart.select().where(WorkOrderPart.order_id == order_id).order_by(
            WorkOrderPart.id).run()
        row["photos"] = await WorkOrderPhoto.select().where(WorkOrderPhoto.order_id == order_id).run()
    row["parts_total_fen"] = sum(int(p["quantity"] * p["unit_price_fen"]) for p in row["parts"])
    return row


# --- the technician -------------------------------------------------------------------------------

def _assignee(row: dict, principal: Principal) -> None:
    if not principal.can(Perm.REPAIR_WORK) or row["assignee_id"] != principal.user_id:
        raise Forbidden("This repair order is assigned to someone else.")


def _step(row: dict, allowed: tuple[str, ...]) -> None:
    if row["status"] not in allowed:
        raise Conflict("This step does not fit the order's current state.")


async def accept(ref: TenantRef, principal: Principal, order_id: int) -> None:
    async with tenant_tx(ref.schema) as tx:
        row = await locked(tx, order_id)
        _assignee(row, principal)
        _step(row, ("dispatched",))
        at = now()
        await save(ref, row, {"status": "accepted", "responded_at": at})
        await event(order_id, "accepted", principal, at=at)
        await audit.record("repair.accept", principal=principal, tenant_id=ref.id, target=f"work_order:{order_id}")


async def decline(ref: TenantRef, principal: Principal, order_id: int, raw: Mapping[str, Any]) -> None:
    note = forms.clean_note(raw, required=True)
    from tenants.servicedesk import dispatch

    async with tenant_tx(ref.schema) as tx:
        row = await locked(tx, order_id)
        _assignee(row, principal)
        _step(row, ("dispatched",))
        await dispatch.release(tx, ref, row, "declined", principal, note)
        await audit.record("repair.decline", principal=principal, tenant_id=ref.id, target=f"work_order:{order_id}")


async def on_site(ref: TenantRef, principal: Principal, order_id: int) -> None:
    async with tenant_tx(ref.schema) as tx:
        row = await locked(tx, order_id)
        _assignee(row, principal)
        _step(row, ("accepted",))
        at = now()
        await save(ref, row, {"status": "on_site", "on_site_at": at})
        await event(order_id, "on_site", principal, at=at)


async def pause(ref: TenantRef, principal: Principal, order_id: int, raw: Mapping[str, Any], settings=None) -> None:
    note = forms.clean_note(raw, required=True)
    cal = await calendar(settings)
    async with tenant_tx(ref.schema) as tx:
        row = await locked(tx, order_id)
        _assignee(row, principal)
        _step(row, ("accepted", "on_site"))
        at = now()
        await save(ref, row, {"status": "paused", **sla.pause(row, at, cal)})
        await event(order_id, "paused", principal, note, at=at)


async def resume(ref: TenantRef, principal: Principal, order_id: int, settings=None) -> None:
    cal = await calendar(settings)
    async with tenant_tx(ref.schema) as tx:
        row = await locked(tx, order_id)
        _assignee(row, principal)
        _step(row, ("paused",))
        at = now()
        status = "on_site" if row["on_site_at"] else "accepted"
        await save(ref, row, {"status": status, **sla.resume(row, at, cal)})
        await event(order_id, "resumed", principal, at=at)


async def add_note(ref: TenantRef, principal: Principal, order_id: int, raw: Mapping[str, Any]) -> None:
    note = forms.clean_note(raw, required=True)
    async with tenant_tx(ref.schema) as tx:
        row = await locked(tx, order_id)
        _assignee(row, principal)
        _step(row, WORKING)
        await event(order_id, "note", principal, note)


async def add_part(ref: TenantRef, principal: Principal, order_id: int, raw: Mapping[str, Any]) -> None:
    data = forms.clean_part(raw)
    async with tenant_tx(ref.schema) as tx:
        row = await locked(tx, order_id)
        _assignee(row, principal)
        _step(row, WORKING)
        await WorkOrderPart.insert(WorkOrderPart(order_id=order_id, added_by=principal.name, **data)).run()
        await save(ref, row, {"billable": True})


async def complete(ref: TenantRef, principal: Principal, order_id: int, raw: Mapping[str, Any]) -> None:
    note = forms.clean_note(raw)
    async with tenant_tx(ref.schema) as tx:
        row = await locked(tx, order_id)
        _assignee(row, principal)
        _step(row, ("on_site",))
        at = now()
        await queries.release_load(tx.connection, row["assignee_id"])
        await save(ref, row, {"status": "completed", "completed_at": at})
        await event(order_id, "completed", principal, note, at=at)
        await audit.record("repair.complete", principal=principal, tenant_id=ref.id, target=f"work_order:{order_id}")
        from tasks.notify import deliver

        on_commit(deliver, ref.id, "repair.completed", order_id, str(row["dispatch_round"]))


# --- the tenant -----------------------------------------------------------------------------------

def _reporter_side(ref: TenantRef, principal: Principal) -> None:
    if not principal.is_portal or principal.tenant_id != ref.id:
        raise NotFound("This repair order does not exist.")


async def confirm(ref: TenantRef, principal: Principal, order_id: int, raw: Mapping[str, Any]) -> None:
    _reporter_side(ref, principal)
    rating, comment = forms.clean_rating(raw, required=False)
    async with tenant_tx(ref.schema) as tx:
        row = await locked(tx, order_id)
        _step(row, ("completed",))
        await close(tx, ref, row, principal, rating=rating, comment=comment)


async def close(tx, ref: TenantRef, row: dict, principal: Principal | None, *, rating=None, comment="") -> None:
    """Close a completed order (the tenant confirms, or nobody did within the
    days allowed); the repair slip is filed after commit."""
    from tasks.repairs import file_slip

    at = now()
    changes = {"status": "closed", "closed_at": at}
    if principal is not None:
        changes["confirmed_at"] = at
        await event(row["id"], "confirmed", principal, at=at)
    if rating is not None:
        changes.update(rating=rating, rating_comment=comment)
        await event(row["id"], "rated", principal, comment, at=at)
    await save(ref, row, changes)
    await event(row["id"], "closed", principal, at=at)
    await retention.touch(ref.id, at.astimezone(SHANGHAI).date())  # closing a repair is business
    if principal is not None:
        await audit.record("repair.confirm", principal=principal, tenant_id=ref.id, target=f"work_order:{row['id']}")
    else:
        await audit.record("repair.auto_close", actor_name="repairs", tenant_id=ref.id,
                           target=f"work_order:{row['id']}")
        from tasks.notify import deliver

        on_commit(deliver, ref.id, "repair.auto_closed", row["id"], str(row["dispatch_round"]))
    on_commit(file_slip, ref.id, row["id"])


async def rate(ref: TenantRef, principal: Principal, order_id: int, raw: Mapping[str, Any]) -> None:
    _reporter_side(ref, principal)
    rating, comment = forms.clean_rating(raw, required=True)
    async with tenant_tx(ref.schema) as tx:
        row = await locked(tx, order_id)
        _step(row, ("closed",))
        if row["rating"] is not None:
            raise Conflict("This repair has been rated already.")
        await save(ref, row, {"rating": rating, "rating_comment": comment})
        await event(order_id, "rated", principal, comment)


async def reopen(ref: TenantRef, principal: Principal, order_id: int, raw: Mapping[str, Any], settings=None) -> None:
    _reporter_side(ref, principal)
    note = forms.clean_note(raw, required=True)
    cal = await calendar(settings)
    from tasks.repairs import dispatch_order

    async with tenant_tx(ref.schema) as tx:
        row = await locked(tx, order_id)
        _step(row, ("completed", "closed"))
        at = now()
        if row["completed_at"] is None or at - row["completed_at"] > dt.timedelta(days=REOPEN_DAYS):
            raise Conflict("A repair can be reopened within 7 days of its completion.")
        await save(ref, row, {"status": "reported", "assignee_id": None, "assignee_name": "", "completed_at": None,
                              "confirmed_at": None, "closed_at": None, "dispatch_round": row["dispatch_round"] + 1,
                              "declined_ids": [], "responded_at": None, "on_site_at": None,
                              **sla.start(at, row["category"], row["urgency"], cal)})
        S = WorkOrderSummary  # new clocks: the old escalation and breach no longer apply
        await S.update({S.escalation: 0, S.breached: False}).where((S.tenant_id == ref.id) & (S.order_id == order_id)).run()
        await event(order_id, "reopened", principal, note, at=at)
        await audit.record("repair.reopen", principal=principal, tenant_id=ref.id, target=f"work_order:{order_id}")
        on_commit(dispatch_order, ref.id, order_id, row["dispatch_round"])


async def cancel(ref: TenantRef, principal: Principal, order_id: int, raw: Mapping[str, Any]) -> None:
    """The reporting tenant, or a dispatcher, cancels an order nobody has started."""
    if principal.is_portal:
        _reporter_side(ref, principal)
    elif not principal.can(Perm.REPAIR_DISPATCH):
        raise Forbidden()
    note = forms.clean_note(raw)
    async with tenant_tx(ref.schema) as tx:
        row = await locked(tx, order_id)
        _step(row, ("reported", "unassigned", "dispatched"))
        if row["assignee_id"] is not None:
            await queries.release_load(tx.connection, row["assignee_id"])
        await save(ref, row, {"status": "cancelled", "closed_at": now()})
        await event(order_id, "cancelled", principal, note)
        await audit.record("repair.cancel", principal=principal, tenant_id=ref.id, target=f"work_order:{order_id}")
