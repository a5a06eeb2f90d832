"""The office calendar page: admins add and remove holidays and make-up
working days (audited); nobody else may; bad input saves nothing; the console
home warns while a year's schedule is unknown. Far-off years keep these rows
out of other tests' way."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from portal.core.roles import Principal, Role
from portal.core import office_calendar
from portal.core.workdays import package_years
from portal.core.db import DB
from tests import factories

async def _client(client_factory, roles: list[str], lang: str | None = None):
    person = await factories.staff(roles)
    client = await client_factory()
    if lang:
        client.cookies.set("lang", lang, domain="testserver.local")
    response = await factories.sign_in(client, person["username"], person["password"])
    assert response.status_code in (200, 302, 303), response.text
    return person, client


async def _post(client, path: str, data: dict):
    token = await factories.form_token(client, "/console/calendar")
    return await client.post(path, data={**data, "_csrf_token": token}, follow_redirects=False)


async def _row(day: str):
    return await DB.pool.fetchrow("SELECT * FROM core.office_calendar_day WHERE day = $1", dt.date.fromisoformat(day))


async def _audit(action: str, day: str) -> list[dict]:
    rows = await DB.pool.fetch("SELECT * FROM core.audit_log WHERE action = $1 AND target = $2 ORDER BY id",
                               action, f"calendar:{day}")
    return [dict(r) for r in rows]


def _principal(person: dict) -> Principal:
    return Principal(kind="staff", user_id=person["id"], name="admin", roles=frozenset({Role.ADMIN}))


async def test_admin_adds_and_removes_a_holiday(database, client_factory):
    admin, client = await _client(client_factory, ["admin"])
    empty = await client.get("/console/calendar?year=2093")
    assert empty.status_code == 200
    assert "办公室尚未列出 2093 年的日期" in empty.text and "尚无人录入本年的节假日" in empty.text
    assert empty.headers["cache-control"] == "no-store"

    response = await _post(client, "/console/calendar", {"day": "2093-10-01", "kind": "holiday", "name": " 国庆节 "})
    assert response.status_code in (302, 303), response.text
    assert response.headers["location"] == "/console/calendar?year=2093&added=2093-10-01"
    row = await _row("2093-10-01")
    assert (row["kind"], row["name"], row["updated_by"]) == ("holiday", "国庆节", f"员工{admin['username'][-4:]}")
    [entry] = await _audit("calendar.day.add", "2093-10-01")
    assert entry["actor_id"] == admin["id"] and json.loads(entry["detail"]) == {"kind": "holiday", "name": "国庆节"}
    await _post(client, "/console/calendar", {"day": "2093-10-10", "kind": "workday", "name": "国庆节调休"})
    page = await client.get("/console/calendar?year=2093&added=2093-10-01")
    assert "已将 2093-10-01 加入办公室日历" in page.text
    assert page.text.index("2093-10-01") < page.text.index("2093-10-10") and "调休工作日" in page.text

    confirm = await client.get("/console/calendar/2093-10-01/remove")
    assert confirm.status_code == 200 and "国庆节" in confirm.text and 'name="confirm" value="1"' in confirm.text
    token = await factories.form_token(client, "/console/calendar/2093-10-01/remove")
    unconfirmed = await client.post("/console/calendar/2093-10-01/remove", data={"_csrf_token": token})
    assert unconfirmed.status_code == 422 and await _row("2093-10-01") is not None
    removed = await _post(client, "/console/calendar/2093-10-01/remove", {"confirm": "1"})
    assert removed.status_code in (302, 303)
    assert await _row("2093-10-01") is None
    [entry] = await _audit("calendar.day.remove", "2093-10-01")
    assert json.loads(entry["detail"]) == {"kind": "holiday", "name": "国庆节"}
    # Removing it again, or a date that is no date, is a 404.
    assert (await _post(client, "/console/calendar/2093-10-01/remove", {"confirm": "1"})).status_code == 404
    assert (await client.get("/console/calendar/2093-13-01/remove")).status_code == 404
    await office_calendar.remove_day(dt.date(2093, 10, 10), _principal(admin))


@pytest.mark.parametrize("form, field, message", [
    ({"day": "", "kind": "holiday", "name": "元旦"}, "day", "此项为必填项"),
    ({"day": "2094-02-30", "kind": "holiday", "name": "元旦"}, "day", "请按 YYYY-MM-DD 格式输入日期"),
    ({"day": "1999-01-01", "kind": "holiday", "name": "元旦"}, "day", "请选择 2000 至 2099 年之间的日期"),
    ({"day": "2094-01-01", "kind": "party", "name": "元旦"}, "kind", "请从选项中选择"),
    ({"day": "2094-01-01", "kind": "holiday", "name": "  "}, "name", "请填写节假日或工作日的名称"),
    ({"day": "2094-01-01", "kind": "holiday", "name": "节" * 61}, "name", "最多 60 个字符"),
])
async def test_bad_input_is_a_localized_422_that_saves_nothing(database, client_factory, form, field, message):
    _, client = await _client(client_factory, ["admin"])
    response = await _post(client, "/console/calendar", form)
    assert response.status_code == 422
    assert message in response.text and f'id="e-{field}"' in response.text and "未保存任何内容" in response.text
    assert await DB.pool.fetchval("SELECT count(*) FROM core.office_calendar_day WHERE day IN"
                                  " ('2094-01-01', '1999-01-01')") == 0
    assert await _audit("calendar.day.add", "2094-01-01") == []


async def test_a_listed_date_is_not_overwritten(database, client_factory):
    admin, client = await _client(client_factory, ["admin"], lang="en")
    assert (await _post(client, "/console/calendar", {"day": "2095-05-01", "kind": "holiday", "name": "Labour Day"})
            ).status_code in (302, 303)
    again = await _post(client, "/console/calendar", {"day": "2095-05-01", "kind": "workday", "name": "Other"})
    assert again.status_code == 422 and "This date is already in the office calendar." in again.text
    assert (await _row("2095-05-01"))["kind"] == "holiday"
    assert len(await _audit("calendar.day.add", "2095-05-01")) == 1
    await office_calendar.remove_day(dt.date(2095, 5, 1), _principal(admin))


@pytest.mark.parametrize("roles", [["clerk"], ["general_manager"], ["auditor"], ["supervisor", "dept_head"]])
async def test_only_admins_may_see_or_change_the_calendar(database, client_factory, roles):
    _, client = await _client(client_factory, roles)
    assert (await client.get("/console/calendar")).status_code == 403
    assert (await client.get("/console/calendar/2026-10-01/remove")).status_code == 403
    token = await factories.form_token(client, "/console/account")
    for path, data in (("/console/calendar", {"day": "2096-01-01", "kind": "holiday", "name": "元旦"}),
                       ("/console/calendar/2096-01-01/remove", {"confirm": "1"})):
        response = await client.post(path, data={**data, "_csrf_token": token}, follow_redirects=False)
        assert response.status_code == 403
    assert await _row("2096-01-01") is None
    home = await client.get("/console/")
    assert 'href="/console/calendar"' not in home.text


async def test_signed_out_people_are_sent_to_sign_in(database, client_factory):
    client = await client_factory()
    response = await client.get("/console/calendar", follow_redirects=False)
    assert response.status_code in (302, 303) and response.headers["location"].startswith("/console/login")


async def test_a_post_without_the_csrf_token_is_refused(database, client_factory):
    _, client = await _client(client_factory, ["admin"])
    response = await client.post("/console/calendar", data={"day": "2096-02-01", "kind": "holiday", "name": "x"},
                                 follow_redirects=False)
    assert response.status_code == 403
    assert await _row("2096-02-01") is None


async def test_the_table_overrides_the_package_in_the_loaded_calendar(database, settings):
    admin = await factories.staff(["admin"])
    principal = _principal(admin)
    await office_calendar.add_day({"day": "2026-10-08", "kind": "holiday", "name": "办公室停工"}, principal)
    try:
        calendar = await office_calendar.load(settings)
        assert not calendar.is_working_day(dt.date(2026, 10, 8))
        assert calendar.add_working_days(dt.date(2026, 9, 30), 1) == dt.date(2026, 10, 9)
    finally:
        await office_calendar.remove_day(dt.date(2026, 10, 8), principal)
    assert (await office_calendar.load(settings)).is_working_day(dt.date(2026, 10, 8))


async def test_unknown_years_until_the_office_lists_them(database):
    principal = _principal(await factories.staff(["admin"]))
    assert await office_calendar.unknown_years(dt.date(2097, 6, 1)) == [2097]
    assert await office_calendar.unknown_years(dt.date(2097, 11, 1)) == [2097, 2098]
    await office_calendar.add_day({"day": "2098-01-01", "kind": "holiday", "name": "元旦"}, principal)
    try:
        assert await office_calendar.unknown_years(dt.date(2097, 11, 1)) == [2097]
    finally:
        await office_calendar.remove_day(dt.date(2098, 1, 1), principal)
    known = max(package_years())
    assert await office_calendar.unknown_years(dt.date(known, 10, 31)) == []


async def test_the_home_page_warns_admins_and_managers_while_a_year_is_unknown(database, client_factory):
    admin, admin_client = await _client(client_factory, ["admin"])
    _, gm_client = await _client(client_factory, ["general_manager"])
    _, clerk_client = await _client(client_factory, ["clerk"])
    unknown = await office_calendar.unknown_years()
    for client in (admin_client, gm_client):
        home = await client.get("/console/")
        assert ('id="calendar-warning"' in home.text) is bool(unknown)
    assert 'id="calendar-warning"' not in (await clerk_client.get("/console/")).text
    if unknown:
        assert 'href="/console/calendar?year=' in (await admin_client.get("/console/")).text
        assert "请管理员录入" in (await gm_client.get("/console/")).text
    # Once the office lists those years, the warning goes.
    principal = _principal(admin)
    for year in unknown:
        await office_calendar.add_day({"day": f"{year}-01-01", "kind": "holiday", "name": "元旦"}, principal)
    try:
        assert 'id="calendar-warning"' not in (await admin_client.get("/console/")).text
    finally:
        for year in unknown:
            await office_calendar.remove_day(dt.date(year, 1, 1), principal)
