"""The office calendar (administrators): holidays and make-up working days that
deadlines count with, per year, beside what chinese-calendar already knows.

Every change goes through ``portal.core.office_calendar``, which audits it.
"""

from __future__ import annotations

import datetime as dt

from litestar import Request, get, post
from litestar.response import Redirect, Response, Template

from portal.core.roles import Perm
from portal.core import office_calendar
from portal.core.workdays import package_days, package_years, today
from portal.core.errors import FormErrors, NotFound
from portal.routes.forms import form_dict, int_or_none
from portal.web.render import form_errors, render, requires

ADMIN = [requires(Perm.CALENDAR_MANAGE)]


def _year(value) -> int:
    year = int_or_none(value) or today().year
    return min(max(year, office_calendar.FIRST_YEAR), office_calendar.LAST_YEAR)


def _day(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise NotFound("This date is not in the office calendar.") from None


async def _page(request: Request, year: int, *, values: dict, errors: dict, status_code: int = 200) -> Template:
    this_year = today().year
    years = sorted(set(await office_calendar.years_listed()) | {this_year, this_year + 1, year})
    response = render(
        "console/calendar.html", status_code=status_code, principal=request.state.principal, year=year,
        years=years, rows=await office_calendar.entries(year), package=package_days(year),
        package_knows=year in package_years(), unknown=await office_calendar.unknown_years(),
        kinds=office_calendar.KINDS, values=values, errors=errors,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@get("/console/calendar", guards=ADMIN)
async def calendar_page(request: Request, year: str | None = None) -> Template:
    year = _year(year)
    return await _page(request, year, values={"kind": "holiday"}, errors={})


@post("/console/calendar", guards=ADMIN)
async def calendar_add(request: Request) -> Response:
    data = await form_dict(request)
    try:
        day = await office_calendar.add_day(data, request.state.principal)
    except FormErrors as exc:
        year = _year(str(data.get("day") or "")[:4])
        values = {k: str(data.get(k) or "") for k in ("day", "kind", "name")}
        return await _page(request, year, values=values, errors=form_errors(exc), status_code=422)
    return Redirect(f"/console/calendar?year={day.year}&added={day.isoformat()}")


@get("/console/calendar/{day:str}/remove", guards=ADMIN)
async def calendar_remove_confirm(request: Request, day: str) -> Template:
    entry = await office_calendar.get_day(_day(day))
    return render("console/calendar_remove.html", principal=request.state.principal, entry=entry,
                  kinds=office_calendar.KINDS, error="")


@post("/console/calendar/{day:str}/remove", guards=ADMIN)
async def calendar_remove(request: Request, day: str) -> Response:
    when = _day(day)
    data = await form_dict(request)
    if data.get("confirm") != "1":
        entry = await office_calendar.get_day(when)
        return render("console/calendar_remove.html", status_code=422, principal=request.state.principal,
                      entry=entry, kinds=office_calendar.KINDS, error="Confirm the removal.")
    await office_calendar.remove_day(when, request.state.principal)
    return Redirect(f"/console/calendar?year={when.year}&removed={when.isoformat()}")


ROUTES = [calendar_page, calendar_add, calendar_remove_confirm, calendar_remove]
