"""The office calendar: holidays and make-up working days the office decides.

Admins keep it in the console for years ``chinese-calendar`` does not know yet
(and to correct a year it does know: a listed date always wins). Every change
is audited in the same transaction. ``load`` gives the ``WorkCalendar`` that
deadline arithmetic uses.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Mapping

from portal.core import audit
from portal.core.roles import Perm, Principal, Role
from portal.core.tables import OfficeCalendarDay
from portal.core.workdays import OfficeHours, WorkCalendar, package_years, today
from portal.core.db import DB
from portal.core.errors import Forbidden, FormErrors, NotFound
from portal.core.settings import Settings

KINDS = {"holiday": "Holiday", "workday": "Make-up working day"}
NAME_MAX = 60
FIRST_YEAR, LAST_YEAR = 2000, 2099
# From this month on, next year's schedule should be known (the State Council
# usually announces it in late October or November).
WARN_FROM_MONTH = 11
# Who is warned on the console home while a year is unknown (admins fix it).
WARNED_ROLES = frozenset({Role.ADMIN, Role.GENERAL_MANAGER, Role.SUPERVISOR, Role.DEPT_HEAD})


async def load(settings: Settings) -> WorkCalendar:
    """Office hours from settings and every office calendar entry."""
    rows = await OfficeCalendarDay.select(OfficeCalendarDay.day, OfficeCalendarDay.kind)
    return WorkCalendar(hours=OfficeHours.parse(settings.office_hours),
                        office={r["day"]: r["kind"] == "workday" for r in rows})


async def entries(year: int) -> list[dict]:
    """The office's entries of ``year``, in date order."""
    return await OfficeCalendarDay.select().where(
        (OfficeCalendarDay.day >= dt.date(year, 1, 1)) & (OfficeCalendarDay.day <= dt.date(year, 12, 31))
    ).order_by(OfficeCalendarDay.day)


async def years_listed() -> list[int]:
    rows = await OfficeCalendarDay.select(OfficeCalendarDay.day)
    return sorted({r["day"].year for r in rows})


async def unknown_years(on: dt.date | None = None) -> list[int]:
    """Years that deadlines need but neither the package nor the office calendar
    covers: this year, and next year from November on."""
    on = on or today()
    wanted = [on.year] + ([on.year + 1] if on.month >= WARN_FROM_MONTH else [])
    listed = set(await years_listed())
    return [y for y in wanted if y not in package_years() and y not in listed]


def warned(principal: Principal) -> bool:
    return principal.is_staff and bool(principal.roles & WARNED_ROLES)


def _need(principal: Principal) -> None:
    if not principal.can(Perm.CALENDAR_MANAGE):
        raise Forbidden()


def clean(raw: Mapping[str, Any]) -> tuple[dt.date, str, str]:
    """(day, kind, name) from a submitted form, or FormErrors with every problem."""
    errors: dict[str, str] = {}
    day_text = str(raw.get("day") or "").strip()
    day = None
    try:
        day = dt.date.fromisoformat(day_text)
    except ValueError:
        errors["day"] = "Enter a date as YYYY-MM-DD." if day_text else "This field is required."
    if day is not None and not FIRST_YEAR <= day.year <= LAST_YEAR:
        errors["day"] = "Choose a date between 2000 and 2099."
    kind = str(raw.get("kind") or "").strip()
    if kind not in KINDS:
        errors["kind"] = "Choose one of the options."
    name = " ".join(str(raw.get("name") or "").split())
    if not name:
        errors["name"] = "Name the holiday or working day (e.g. National Day)."
    elif len(name) > NAME_MAX:
        errors["name"] = "At most 60 characters."
    if errors:
        raise FormErrors(errors)
    return day, kind, name


async def add_day(raw: Mapping[str, Any], principal: Principal) -> dt.date:
    """List a holiday or a make-up working day. A date already listed is refused
    (remove it first), so nobody overwrites a colleague's entry unawares."""
    _need(principal)
    day, kind, name = clean(raw)
    async with DB.transaction():
        inserted = await OfficeCalendarDay.insert(
            OfficeCalendarDay(day=day, kind=kind, name=name, updated_by=principal.name)
        ).on_conflict(action="DO NOTHING").returning(OfficeCalendarDay.day)
        if not inserted:
            raise FormErrors({"day": "This date is already in the office calendar."})
        await audit.record("calendar.day.add", principal=principal, target=f"calendar:{day.isoformat()}",
                           detail={"kind": kind, "name": name})
    return day


async def remove_day(day: dt.date, principal: Principal) -> None:
    _need(principal)
    async with DB.transaction():
        removed = await OfficeCalendarDay.delete().where(OfficeCalendarDay.day == day).returning(
            OfficeCalendarDay.kind, OfficeCalendarDay.name)
        if not removed:
            raise NotFound("This date is not in the office calendar.")
        await audit.record("calendar.day.remove", principal=principal, target=f"calendar:{day.isoformat()}",
                           detail=dict(removed[0]))


async def get_day(day: dt.date) -> dict:
    row = await OfficeCalendarDay.select().where(OfficeCalendarDay.day == day).first()
    if row is None:
        raise NotFound("This date is not in the office calendar.")
    return row
