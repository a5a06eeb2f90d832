"""The technicians' roster (dispatchers keep it): skills, buildings,
capacity, shifts and leave, and the list with each one's open load."""

from __future__ import annotations

import datetime as dt
from typing import Any, Mapping

from portal.core import audit
from portal.core.errors import FormErrors, Forbidden, NotFound
from portal.core.forms import Form
from portal.core.jobs import core_tx
from portal.core.roles import Perm, Principal, Role
from tenants.servicedesk import forms, queries
from tenants.servicedesk.tables import Technician, TechnicianLeave, TechnicianShift


def _need(principal: Principal) -> None:
    if not principal.can(Perm.REPAIR_DISPATCH):
        raise Forbidden()


def _in_scope(principal: Principal, building_ids) -> bool:
    scope = principal.building_scope()
    return scope is None or not building_ids or bool(scope & set(building_ids))


async def technicians(principal: Principal) -> list[dict]:
    _need(principal)
    rows = await Technician.select().order_by(Technician.name).run()
    return [r for r in rows if _in_scope(principal, r["building_ids"])]


async def candidates(principal: Principal) -> list[dict]:
    """Staff with the technician role not yet on the roster."""
    _need(principal)
    on = {r["user_id"] for r in await Technician.select(Technician.user_id).run()}
    rows = await queries.staff_with_role(Role.TECHNICIAN.value)
    return [r for r in rows if r["id"] not in on and _in_scope(principal, r["building_ids"])]


async def save_technician(principal: Principal, user_id: int, raw: Mapping[str, Any]) -> None:
    _need(principal)
    data = forms.clean_technician(raw)
    staff = next((r for r in await queries.staff_with_role(Role.TECHNICIAN.value) if r["id"] == user_id), None)
    if staff is None:
        raise NotFound("This technician does not exist.")
    if not _in_scope(principal, staff["building_ids"]):
        raise NotFound("This technician does not exist.")
    async with core_tx():
        existing = await Technician.select().where(Technician.user_id == user_id).first().run()
        if existing is None:
            await Technician.insert(Technician(user_id=user_id, name=staff["display_name"],
                                               building_ids=list(staff["building_ids"] or []), **data)).run()
        else:
            if data["capacity"] < existing["open_load"]:
                raise FormErrors({"capacity": "The capacity cannot be below the orders already assigned."})
            await Technician.update({Technician.skills: data["skills"], Technician.capacity: data["capacity"],
                                     Technician.active: data["active"],
                                     Technician.building_ids: list(staff["building_ids"] or []),
                                     Technician.updated_at: dt.datetime.now(dt.timezone.utc)}).where(
                Technician.user_id == user_id).run()
        await audit.record("repair.roster", principal=principal, target=f"technician:{user_id}")


def _date(form: Form, field: str, value: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(value or "").strip())
    except ValueError:
        form.fail(field, f"{field}.date", "Enter a date like 2026-10-08.")
        return None


def _time(form: Form, field: str, value: Any) -> dt.time | None:
    try:
        return dt.time.fromisoformat(str(value or "").strip())
    except ValueError:
        form.fail(field, f"{field}.time", "Enter a time like 08:30.")
        return None


async def _technician(principal: Principal, user_id: int) -> dict:
    _need(principal)
    row = await Technician.select().where(Technician.user_id == user_id).first().run()
    if row is None or not _in_scope(principal, row["building_ids"]):
        raise NotFound("This technician does not exist.")
    return row


async def add_shift(principal: Principal, user_id: int, raw: Mapping[str, Any]) -> None:
    await _technician(principal, user_id)
    form = Form(raw)
    day = _date(form, "day", raw.get("day"))
    starts, ends = _time(form, "starts", raw.get("starts")), _time(form, "ends", raw.get("ends"))
    if starts and ends and starts >= ends:
        form.fail("ends", "ends.order", "The shift must end after it starts.")
    form.check()
    async with core_tx():
        await TechnicianShift.insert(TechnicianShift(user_id=user_id, day=day, starts=starts, ends=ends)).on_conflict(
            action="DO NOTHING").run()
        await audit.record("repair.roster", principal=principal, target=f"technician:{user_id}")


async def add_leave(principal: Principal, user_id: int, raw: Mapping[str, Any]) -> None:
    await _technician(principal, user_id)
    form = Form(raw)
    starts, ends = _date(form, "starts_on", raw.get("starts_on")), _date(form, "ends_on", raw.get("ends_on"))
    if starts and ends and starts > ends:
        form.fail("ends_on", "ends_on.order", "The leave must end on or after its first day.")
    note = form.text("note", limit=200)
    form.check()
    async with core_tx():
        await TechnicianLeave.insert(TechnicianLeave(user_id=user_id, starts_on=starts, ends_on=ends, note=note)).run()
        await audit.record("repair.roster", principal=principal, target=f"technician:{user_id}")


async def shifts(user_ids: list[int], start: dt.date, days: int = 7) -> list[dict]:
    return await TechnicianShift.select().where(
        TechnicianShift.user_id.is_in(user_ids or [0]) & (TechnicianShift.day >= start)
        & (TechnicianShift.day < start + dt.timedelta(days=days))).order_by(TechnicianShift.day).run()


async def leaves(user_ids: list[int], start: dt.date) -> list[dict]:
    return await TechnicianLeave.select().where(
        TechnicianLeave.user_id.is_in(user_ids or [0]) & (TechnicianLeave.ends_on >= start)).run()
