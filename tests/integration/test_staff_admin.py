"""Staff console administration: staff accounts (admins), the audit log
(auditors), changing one's own password and the must-change-password gate."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import uuid
from zoneinfo import ZoneInfo

import asyncpg
import pytest

from portal.core import audit
from portal.core.db import DB
from portal.security.sessions import COOKIE
from tests import factories

STRONG = "Quiet-Lantern-Orbit-42"


async def _signed_in(client_factory, person: dict, lang: str | None = None):
    client = await client_factory()
    if lang:
        client.cookies.set("lang", lang, domain="testserver.local")
    response = await factories.sign_in(client, person["username"], person.get("password", factories.PASSWORD))
    assert response.status_code in (200, 302, 303), response.text
    assert client.cookies.get(COOKIE)
    return client


async def _post(client, path: str, data: dict, token_page: str = "/console/account"):
    token = await factories.form_token(client, token_page)
    return await client.post(path, data={**data, "_csrf_token": token}, follow_redirects=False)


def _unique(prefix: str) -> str:
    return prefix + uuid.uuid4().hex[:8]


def _location(response) -> str:
    return response.headers.get("location", "")


async def _admin(client_factory, lang: str | None = None):
    admin = await factories.staff(["admin"])
    return admin, await _signed_in(client_factory, admin, lang)


def _new_clerk_form(username: str, building_id: int, password: str = STRONG) -> dict:
    return {"username": username, "display_name": "王小明", "email": f"{username}@office.example",
            "department": "客服部", "roles": ["clerk"], "building_ids": [str(building_id)], "password": password}


# --- staff accounts -------------------------------------------------------------------------------

async def test_admin_creates_a_clerk(database, client_factory):
    admin, client = await _admin(client_factory)
    bld = await factories.building()
    form = await client.get("/console/staff/new")
    assert form.status_code == 200
    assert 'name="roles" value="clerk"' in form.text and "文员" in form.text  # translated role label
    assert f'name="building_ids" value="{bld["id"]}"' in form.text
    assert "至少 12 个字符" in form.text  # the password rules are shown

    username = _unique("clerk")
    response = await _post(client, "/console/staff/new", _new_clerk_form(username, bld["id"]), "/console/staff/new")
    assert response.status_code in (302, 303), response.text
    assert _location(response).startswith("/console/staff?added=")

    row = await DB.pool.fetchrow("SELECT * FROM core.staff_user WHERE username = $1", username)
    assert row["roles"] == ["clerk"] and row["building_ids"] == [bld["id"]]
    assert row["must_change_password"] is True and row["department"] == "客服部"
    listing = await client.get("/console/staff")
    assert listing.status_code == 200
    assert username in listing.text and f"测试大厦{bld['code']}" in listing.text and "从未" in listing.text
    entry = await DB.pool.fetchrow(
        "SELECT * FROM core.audit_log WHERE action = 'staff.create' AND target = $1", f"staff:{row['id']}")
    assert entry is not None and entry["actor_id"] == admin["id"] and entry["outcome"] == "ok"


async def test_weak_password_is_refused_inline_and_nothing_is_created(database, client_factory):
    _, client = await _admin(client_factory)
    bld = await factories.building()
    username = _unique("weak")
    for weak, message in (("short-1", "至少为 12 个字符"), (f"{username}-Secret-99", "密码不能包含您的用户名")):
        response = await _post(client, "/console/staff/new", _new_clerk_form(username, bld["id"], weak),
                               "/console/staff/new")
        assert response.status_code == 422
        assert message in response.text
        assert 'id="e-password"' in response.text and 'aria-invalid="true"' in response.text
        assert weak not in response.text  # passwords are never echoed back
        assert f'value="{username}"' in response.text  # the rest of the form is kept
    # Other field errors and the password problem are reported together.
    both = await _post(client, "/console/staff/new", {**_new_clerk_form("X", bld["id"], "short"), "roles": []},
                       "/console/staff/new")
    assert both.status_code == 422
    assert all(f'id="e-{name}"' in both.text for name in ("username", "roles", "password"))
    assert not await DB.pool.fetchval("SELECT 1 FROM core.staff_user WHERE username = $1", username)


async def test_duplicate_user_name_is_refused(database, client_factory):
    _, client = await _admin(client_factory, lang="en")
    bld = await factories.building()
    existing = await factories.staff(["clerk"])
    response = await _post(client, "/console/staff/new", _new_clerk_form(existing["username"], bld["id"]),
                           "/console/staff/new")
    assert response.status_code == 422
    assert "This user name is taken." in response.text
    assert await DB.pool.fetchval("SELECT count(*) FROM core.staff_user WHERE username = $1",
                                  existing["username"]) == 1


async def test_admin_edits_roles_and_buildings(database, client_factory):
    admin, client = await _admin(client_factory)
    a, b = await factories.building(), await factories.building()
    person = await factories.staff(["clerk"], [a["id"]])
    page = await client.get(f"/console/staff/{person['id']}/edit")
    assert page.status_code == 200 and person["username"] in page.text
    data = {"display_name": "改名", "email": "", "department": "工程部", "roles": ["technician", "dept_head"],
            "building_ids": [str(b["id"])]}
    response = await _post(client, f"/console/staff/{person['id']}/edit", data, "/console/staff")
    assert response.status_code in (302, 303)
    row = await DB.pool.fetchrow("SELECT * FROM core.staff_user WHERE id = $1", person["id"])
    assert sorted(row["roles"]) == ["dept_head", "technician"] and row["building_ids"] == [b["id"]]
    assert await DB.pool.fetchval(
        "SELECT count(*) FROM core.audit_log WHERE action = 'staff.update' AND target = $1",
        f"staff:{person['id']}") == 1
    # No role at all: inline error, nothing changed.
    bad = await _post(client, f"/console/staff/{person['id']}/edit", {**data, "roles": []}, "/console/staff")
    assert bad.status_code == 422 and 'id="e-roles"' in bad.text
    # An admin cannot take away their own admin role.
    own = await _post(client, f"/console/staff/{admin['id']}/edit",
                      {"display_name": "x", "roles": ["clerk"], "building_ids": []}, "/console/staff")
    assert own.status_code == 422
    assert await DB.pool.fetchval("SELECT roles FROM core.staff_user WHERE id = $1", admin["id"]) == ["admin"]


@pytest.mark.parametrize("role", ["clerk", "auditor", "general_manager"])
async def test_non_admins_are_refused_on_every_staff_route(database, client_factory, role):
    target = await factories.staff(["clerk"])
    person = await factories.staff([role])
    client = await _signed_in(client_factory, person)
    base = f"/console/staff/{target['id']}"
    gets = ["/console/staff", "/console/staff/new", f"{base}/edit"]
    posts = {
        "/console/staff/new": _new_clerk_form(_unique("x"), 1),
        f"{base}/edit": {"display_name": "x", "roles": ["admin"]},
        f"{base}/reset-password": {"confirm": "1"},
        f"{base}/active": {"active": "0", "confirm": "1"},
    }
    for path in gets:
        assert (await client.get(path, follow_redirects=False)).status_code == 403, path
    for path, data in posts.items():
        assert (await _post(client, path, data, "/console/")).status_code == 403, path
    refused = await DB.pool.fetch(
        "SELECT target FROM core.audit_log WHERE action = 'security.refused' AND outcome = 'refused'"
        " AND actor_id = $1", person["id"])
    assert sorted(r["target"] for r in refused) == sorted(gets + list(posts))
    row = await DB.pool.fetchrow("SELECT active, roles FROM core.staff_user WHERE id = $1", target["id"])
    assert row["active"] and row["roles"] == ["clerk"]


async def test_admin_does_not_read_tenant_files(database, client_factory):
    admin, client = await _admin(client_factory)
    bld = await factories.building()
    tenant_id = await factories.tenant(bld)
    for path in ("/console/tenants", f"/console/tenants/{tenant_id}"):
        assert (await client.get(path, follow_redirects=False)).status_code == 403
    assert await DB.pool.fetchval(
        "SELECT count(*) FROM core.audit_log WHERE action = 'security.refused' AND actor_id = $1 AND target = $2",
        admin["id"], "/console/tenants") == 1


async def test_password_reset_signs_out_and_forces_a_new_password(database, client_factory):
    _, admin_client = await _admin(client_factory)
    bld = await factories.building()
    person = await factories.staff(["clerk"], [bld["id"]])
    clerk = await _signed_in(client_factory, person)
    assert (await clerk.get("/console/tenants", follow_redirects=False)).status_code == 200

    # Without the confirmation box nothing happens.
    unconfirmed = await _post(admin_client, f"/console/staff/{person['id']}/reset-password", {}, "/console/staff")
    assert unconfirmed.status_code == 422 and 'id="e-confirm_reset"' in unconfirmed.text
    assert (await clerk.get("/console/tenants", follow_redirects=False)).status_code == 200

    response = await _post(admin_client, f"/console/staff/{person['id']}/reset-password", {"confirm": "1"},
                           "/console/staff")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    temporary = re.search(r'id="temporary-password">([^<]+)<', response.text).group(1)
    assert len(temporary) >= 12
    assert await DB.pool.fetchval(
        "SELECT count(*) FROM core.audit_log WHERE action = 'staff.password_reset' AND target = $1",
        f"staff:{person['id']}") == 1

    # The clerk's open session is gone: the next request goes to the sign-in page.
    gone = await clerk.get("/console/tenants", follow_redirects=False)
    assert gone.status_code in (302, 303) and _location(gone).startswith("/console/login")

    # The old password no longer works; the temporary one does, but only to change it.
    assert (await factories.sign_in(await client_factory(), person["username"])).status_code == 400
    clerk = await _signed_in(client_factory, {**person, "password": temporary})
    for path in ("/console/", "/console/tenants", "/console/audit", f"/console/staff/{person['id']}/edit"):
        blocked = await clerk.get(path, follow_redirects=False)
        assert blocked.status_code in (302, 303), path
        assert _location(blocked) == "/console/account?required=1"
    htmx = await clerk.get("/console/tenants", headers={"hx-request": "true"}, follow_redirects=False)
    assert htmx.headers.get("hx-redirect") == "/console/account?required=1"
    blocked_post = await _post(clerk, "/console/tenants/new", {"name": "x"})
    assert blocked_post.status_code in (302, 303) and _location(blocked_post) == "/console/account?required=1"
    page = await clerk.get("/console/account")
    assert page.status_code == 200 and "请先设置您自己的密码" in page.text
    assert (await clerk.get("/static/portal.css")).status_code == 200

    changed = await _post(clerk, "/console/account", {"current_password": temporary, "new_password": STRONG,
                                                      "new_password_again": STRONG})
    assert changed.status_code in (302, 303) and _location(changed) == "/console/account?changed=1"
    assert (await clerk.get("/console/tenants", follow_redirects=False)).status_code == 200
    assert not await DB.pool.fetchval("SELECT must_change_password FROM core.staff_user WHERE id = $1", person["id"])
    # The new password is the one that signs in now.
    assert (await factories.sign_in(await client_factory(), person["username"], STRONG)).status_code in (302, 303)


async def test_new_account_must_change_password_at_first_sign_in(database, client_factory):
    _, admin_client = await _admin(client_factory)
    bld = await factories.building()
    username = _unique("fresh")
    await _post(admin_client, "/console/staff/new", _new_clerk_form(username, bld["id"]), "/console/staff/new")
    client = await _signed_in(client_factory, {"username": username, "password": STRONG})
    first = await client.get("/console/", follow_redirects=False)
    assert _location(first) == "/console/account?required=1"
    out = await _post(client, "/console/logout", {})
    assert out.status_code in (302, 303) and _location(out).startswith("/console/login")


async def test_disable_ends_sessions_and_sign_in_then_enable(database, client_factory):
    admin, admin_client = await _admin(client_factory)
    person = await factories.staff(["clerk"])
    clerk = await _signed_in(client_factory, person)

    unconfirmed = await _post(admin_client, f"/console/staff/{person['id']}/active", {"active": "0"},
                              "/console/staff")
    assert unconfirmed.status_code == 422 and 'id="e-confirm_active"' in unconfirmed.text
    assert await DB.pool.fetchval("SELECT active FROM core.staff_user WHERE id = $1", person["id"])

    response = await _post(admin_client, f"/console/staff/{person['id']}/active", {"active": "0", "confirm": "1"},
                           "/console/staff")
    assert response.status_code in (302, 303) and "disabled=" in _location(response)
    gone = await clerk.get("/console/", follow_redirects=False)
    assert gone.status_code in (302, 303) and _location(gone).startswith("/console/login")
    assert (await factories.sign_in(await client_factory(), person["username"])).status_code == 400
    listing = await admin_client.get("/console/staff")
    assert "已停用" in listing.text
    assert await DB.pool.fetchval(
        "SELECT count(*) FROM core.audit_log WHERE action = 'staff.disable' AND target = $1",
        f"staff:{person['id']}") == 1

    # An admin cannot disable themselves.
    own = await _post(admin_client, f"/console/staff/{admin['id']}/active", {"active": "0", "confirm": "1"},
                      "/console/staff")
    assert own.status_code == 422
    assert await DB.pool.fetchval("SELECT active FROM core.staff_user WHERE id = $1", admin["id"])

    enabled = await _post(admin_client, f"/console/staff/{person['id']}/active", {"active": "1", "confirm": "1"},
                          "/console/staff")
    assert enabled.status_code in (302, 303)
    assert (await factories.sign_in(await client_factory(), person["username"])).status_code in (302, 303)


# --- own password ---------------------------------------------------------------------------------

async def test_change_own_password_checks_and_signs_out_other_sessions(database, client_factory):
    person = await factories.staff(["finance"])
    here = await _signed_in(client_factory, person, lang="en")
    elsewhere = await _signed_in(client_factory, person)
    cases = [
        ({"current_password": "wrong-wrong-wrong", "new_password": STRONG, "new_password_again": STRONG},
         "current_password", "The current password is wrong."),
        ({"current_password": factories.PASSWORD, "new_password": STRONG, "new_password_again": STRONG + "x"},
         "new_password_again", "The two passwords differ."),
        ({"current_password": factories.PASSWORD, "new_password": "too-short", "new_password_again": "too-short"},
         "new_password", "at least 12 characters"),
    ]
    for data, field, message in cases:
        response = await _post(here, "/console/account", data)
        assert response.status_code == 422, field
        assert f'id="e-{field}"' in response.text and message in response.text
    old_session = here.cookies.get(COOKIE)
    ok = await _post(here, "/console/account", {"current_password": factories.PASSWORD, "new_password": STRONG,
                                                "new_password_again": STRONG})
    assert ok.status_code in (302, 303)
    assert here.cookies.get(COOKIE) != old_session  # rotated
    assert (await here.get("/console/account?changed=1")).status_code == 200
    assert (await here.get("/console/", follow_redirects=False)).status_code == 200
    assert _location(await elsewhere.get("/console/", follow_redirects=False)).startswith("/console/login")
    assert await DB.pool.fetchval(
        "SELECT count(*) FROM core.audit_log WHERE action = 'account.password_change' AND actor_id = $1",
        person["id"]) == 1


# --- audit log ------------------------------------------------------------------------------------

async def test_auditor_browses_filters_and_exports_the_audit_log(database, client_factory):
    bld = await factories.building()
    tenant_id = await factories.tenant(bld)
    archive_no = await DB.pool.fetchval("SELECT archive_no FROM core.tenant WHERE id = $1", tenant_id)
    prefix = f"test{uuid.uuid4().hex[:6]}"
    await audit.record(f"{prefix}.alpha", actor_name="=cmd|' /C calc'!A0", outcome="ok", target="t:1",
                       detail={"说明": "中文详情"})
    await audit.record(f"{prefix}.alpha", actor_name="甲", outcome="failed", target="t:2")
    await audit.record(f"{prefix}.beta", actor_name="乙", outcome="refused", target="t:3", tenant_id=tenant_id)
    auditor = await factories.staff(["auditor"])
    client = await _signed_in(client_factory, auditor, lang="en")

    page = await client.get("/console/audit")
    assert page.status_code == 200
    assert "Sign-in problems in the last 7 days" in page.text

    everything = await client.get(f"/console/audit?action={prefix}")
    assert everything.status_code == 200
    assert "3 entries" in everything.text
    # Newest first; people read names and sentences, not stored codes or JSON.
    assert everything.text.index("乙 (not signed in)") < everything.text.index("甲 (not signed in)") \
        < everything.text.index("calc")
    listing = everything.text.split("newest first", 1)[1]
    assert "t:1" not in listing and "说明" not in listing and prefix not in listing

    failed = await client.get(f"/console/audit?action={prefix}.alpha&outcome=failed")
    assert "1 entries" in failed.text and "甲" in failed.text and "calc" not in failed.text

    by_tenant = await client.get(f"/console/audit?action={prefix}&archive_no={archive_no.lower()}")
    assert "1 entries" in by_tenant.text and "乙" in by_tenant.text and archive_no in by_tenant.text

    unknown = await client.get("/console/audit?archive_no=E9Z9999")
    assert unknown.status_code == 422 and "No tenant has this archive number." in unknown.text
    bad_date = await client.get("/console/audit?date_from=2024-13-01")
    assert bad_date.status_code == 422 and 'id="e-date_from"' in bad_date.text

    nothing = await client.get(f"/console/audit?action={prefix}&date_to=2000-01-01")
    assert nothing.status_code == 200 and "No entry matches these filters." in nothing.text

    export = await client.get(f"/console/audit.csv?action={prefix}")
    assert export.status_code == 200
    assert export.headers["content-type"].startswith("text/csv")
    assert "attachment" in export.headers["content-disposition"]
    assert export.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig"))))
    assert rows[0] == ["Time", "Actor type", "Actor", "What happened", "Outcome", "Archive number", "IP address",
                       "Detail", "Action code", "Target code", "Detail data"]
    assert [r[9] for r in rows[1:]] == ["t:3", "t:2", "t:1"]
    assert [r[8] for r in rows[1:]] == [f"{prefix}.beta", f"{prefix}.alpha", f"{prefix}.alpha"]
    assert rows[1][5] == archive_no and rows[2][4] == "Failed" and rows[2][1] == "not signed in"
    assert rows[1][3] == "Did something"  # an unknown kind reads as a sentence, not its code
    assert rows[3][2].startswith("'=")  # no formula injection into Excel
    assert "中文详情" in rows[3][10]
    # The export pages through the log by (time, id) without skipping or repeating rows.
    paged = [r["id"] async for r in audit.iter_rows(action=prefix, batch=2)]
    listed, _ = await audit.search(action=prefix)
    assert paged == [r["id"] for r in listed] and len(paged) == 3
    filtered = await client.get(f"/console/audit.csv?action={prefix}&outcome=refused")
    assert len(list(csv.reader(io.StringIO(filtered.content.decode("utf-8-sig"))))) == 2
    # Chinese headers in the default language; the export itself is audited.
    zh = await (await _signed_in(client_factory, auditor)).get(f"/console/audit.csv?action={prefix}")
    assert zh.content.decode("utf-8-sig").splitlines()[0].startswith("时间,")
    assert await DB.pool.fetchval(
        "SELECT count(*) FROM core.audit_log WHERE action = 'audit.export' AND actor_id = $1", auditor["id"]) == 3


async def test_audit_page_counts_failed_and_locked_sign_ins(database, client_factory):
    for outcome in ("failed", "failed", "locked"):
        await audit.record("portal.login", actor_name=f"{uuid.uuid4().hex[:6]}@x.example", outcome=outcome)
    shanghai = ZoneInfo("Asia/Shanghai")
    since = dt.datetime.combine(dt.datetime.now(shanghai).date() - dt.timedelta(days=6), dt.time.min, shanghai)
    expected = {row["outcome"]: row["n"] for row in await DB.pool.fetch(
        "SELECT outcome, count(*) AS n FROM core.audit_log WHERE action = 'portal.login'"
        " AND outcome IN ('failed', 'locked') AND at >= $1 GROUP BY outcome", since)}
    auditor = await factories.staff(["auditor"])
    client = await _signed_in(client_factory, auditor, lang="en")
    page = await client.get("/console/audit")
    assert re.search(rf"<strong>{expected['failed']}</strong> Tenant portal: failed sign-ins", page.text)
    assert re.search(rf"<strong>{expected['locked']}</strong> Tenant portal: locked out", page.text)


async def test_clerk_cannot_read_the_audit_log(database, client_factory):
    clerk = await factories.staff(["clerk"])
    client = await _signed_in(client_factory, clerk)
    for path in ("/console/audit", "/console/audit.csv"):
        assert (await client.get(path, follow_redirects=False)).status_code == 403
    assert await DB.pool.fetchval(
        "SELECT count(*) FROM core.audit_log WHERE action = 'security.refused' AND actor_id = $1", clerk["id"]) == 2


async def test_audit_log_is_append_only(database):
    await audit.record("test.append_only")
    for sql in ("UPDATE core.audit_log SET outcome = 'ok' WHERE action = 'test.append_only'",
                "DELETE FROM core.audit_log WHERE action = 'test.append_only'",
                "TRUNCATE core.audit_log"):
        with pytest.raises(asyncpg.RaiseError, match="append-only"):
            await DB.pool.execute(sql)
    assert await DB.pool.fetchval("SELECT count(*) FROM core.audit_log WHERE action = 'test.append_only'") >= 1


async def test_admin_keeps_a_mobile_number_for_the_gateway(database, client_factory):
    _, client = await _admin(client_factory)
    bld = await factories.building()
    person = await factories.staff(["technician"], [bld["id"]])
    data = {"display_name": "维修师傅", "email": "", "department": "工程部", "roles": ["technician"],
            "building_ids": [str(bld["id"])]}
    bad = await _post(client, f"/console/staff/{person['id']}/edit", {**data, "mobile": "12345"}, "/console/staff")
    assert bad.status_code == 422 and 'id="e-mobile"' in bad.text and "11" in bad.text  # 11 digits, in Chinese
    assert await DB.pool.fetchval("SELECT mobile FROM core.staff_user WHERE id = $1", person["id"]) == ""
    good = await _post(client, f"/console/staff/{person['id']}/edit", {**data, "mobile": "+86 139-1234-5678"},
                       "/console/staff")
    assert good.status_code in (302, 303)
    assert await DB.pool.fetchval("SELECT mobile FROM core.staff_user WHERE id = $1", person["id"]) == "13912345678"
    for buildings in (["99999999999999"], ["0"], ["abc"]):  # past PostgreSQL's integer: a 422, not a 500
        refused = await _post(client, f"/console/staff/{person['id']}/edit", {**data, "building_ids": buildings},
                              "/console/staff")
        assert refused.status_code == 422
        assert 'id="e-building_ids"' in refused.text or "数字超出范围" in refused.text
    assert await DB.pool.fetchval("SELECT building_ids FROM core.staff_user WHERE id = $1", person["id"]) == [bld["id"]]
    page = await client.get(f"/console/staff/{person['id']}/edit")
    assert 'value="13912345678"' in page.text and "手机" in page.text
