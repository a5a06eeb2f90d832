"""Complaints through the three faces: the console (list, tenant page, case
page, the step forms with confirmation, the card PDF), the portal (lodge from a
phone, status and reply only) and the API; every route refuses another tenant,
staff outside the building and staff without the right (404 for out of reach);
bad input is a localized 4xx that saves nothing."""

from __future__ import annotations

import pytest

from portal.core.db import DB
from tenants.scope import tenant_tx
from tests import factories
from tests.integration.test_api import portal_api, staff_api
from tests.integration.test_page_ids import duplicate_ids


@pytest.fixture
async def world(database):
    bld, other_bld = await factories.building(), await factories.building()
    return {"bld": bld, "other_bld": other_bld, "a": await factories.tenant(bld), "b": await factories.tenant(other_bld)}


async def signed_in(client_factory, roles, buildings=(), kind="console", login=None):
    client = await client_factory()
    if login is None:
        login = (await factories.staff(roles, list(buildings)))["username"]
    response = await factories.sign_in(client, login, kind=kind)
    assert response.status_code in (302, 303)
    return client


async def post_form(client, page: str, action: str, data: dict):
    token = await factories.form_token(client, page)
    return await client.post(action, data={**data, "_csrf_token": token})


async def _count(tenant_id: int) -> int:
    async with tenant_tx(f"t_{tenant_id:06d}") as tx:
        return await tx.connection.fetchval("SELECT count(*) FROM complaint")


NEW = {"channel": "phone", "complainant": "王先生", "contact": "13800138000", "against": "保洁",
       "description": "走廊连续三天没有打扫", "request": "恢复每日保洁", "grade": "general"}


async def test_console_walk_with_confirmation_and_refusals(world, client_factory):
    a, bld = world["a"], world["bld"]["id"]
    clerk = await signed_in(client_factory, ["clerk"], [bld])
    page = f"/console/tenants/{a}/complaints"
    response = await post_form(clerk, page, page, NEW)
    assert response.status_code in (302, 303), response.text[:500]
    case = response.headers["location"].split("?")[0]
    shown = await clerk.get(case)
    assert shown.status_code == 200 and "2. " in shown.text and not duplicate_ids(shown.text)
    assert not duplicate_ids((await clerk.get(page)).text)
    # Without the confirmation box nothing happens: a 422 with the message.
    refused = await post_form(clerk, case, case + "/decide", {"decision": "approve", "expected_step": "stands"})
    assert refused.status_code == 422
    done = await post_form(clerk, case, case + "/decide", {"decision": "approve", "expected_step": "stands",
                                                           "confirm": "1"})
    assert done.status_code in (302, 303)
    # The department is required at step 3: 422, and the step stays.
    missing = await post_form(clerk, case, case + "/decide", {"decision": "approve", "expected_step": "assign",
                                                              "confirm": "1"})
    assert missing.status_code == 422
    cid = int(case.rsplit("/", 1)[1])
    async with tenant_tx(f"t_{a:06d}") as tx:
        assert await tx.connection.fetchval("SELECT step FROM complaint WHERE id = $1", cid) == "assign"
    # A clerk cannot approve as supervisor: the page says someone else decides.
    for step, data in (("assign", {"department": "保洁部"}), ("cause", {"cause": "缺人", "responsible": "赵"}),
                       ("remedy", {"remedy_kind": "rework", "remedy": "补做保洁"})):
        r = await post_form(clerk, case, case + "/decide", {"decision": "approve", "expected_step": step,
                                                            "confirm": "1", **data})
        assert r.status_code in (302, 303), r.text[:500]
    page_text = (await clerk.get(case)).text
    assert "/decide" not in page_text and not duplicate_ids(page_text)
    forbidden = await post_form(clerk, page, case + "/decide", {"decision": "approve", "expected_step": "supervisor",
                                                                "confirm": "1"})
    assert forbidden.status_code == 403
    # The list shows it, the card prints.
    listed = await clerk.get("/console/complaints")
    assert listed.status_code == 200 and "TS" in listed.text
    pdf = await clerk.get(case + "/card.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


async def test_isolation_of_every_console_route(world, client_factory):
    a, b, bld = world["a"], world["b"], world["bld"]["id"]
    clerk = await signed_in(client_factory, ["clerk"], [bld])
    page = f"/console/tenants/{a}/complaints"
    case = (await post_form(clerk, page, page, NEW)).headers["location"].split("?")[0]
    outsider = await signed_in(client_factory, ["clerk"], [world["other_bld"]["id"]])
    recent = await clerk.get(page + "/recent")
    assert recent.status_code == 200 and f"complaints/{case.rsplit('/', 1)[1]}\"" in recent.text
    for path in (page, page + "/recent", case, case + "/card.pdf"):
        assert (await outsider.get(path)).status_code == 404, path
    token = await factories.form_token(outsider, f"/console/tenants/{b}/complaints")
    for path, data in ((page, NEW), (case + "/decide", {"decision": "approve", "confirm": "1"})):
        assert (await outsider.post(path, data={**data, "_csrf_token": token})).status_code == 404, path
    # The same complaint id under another tenant is not this complaint.
    other_case = case.replace(f"/tenants/{a}/", f"/tenants/{b}/")
    assert (await outsider.get(other_case)).status_code == 404
    # The outsider's list does not show tenant a's complaint.
    assert "TS" not in (await outsider.get("/console/complaints")).text
    # An archivist reads but does not handle complaints; a technician neither.
    archivist = await signed_in(client_factory, ["archivist"])
    assert (await archivist.get(case)).status_code == 200
    token = await factories.form_token(archivist, page)
    assert (await archivist.post(page, data={**NEW, "_csrf_token": token})).status_code == 403
    assert await _count(a) == 1 and await _count(b) == 0


async def test_portal_lodges_and_sees_status_and_reply_only(world, client_factory):
    a, b = world["a"], world["b"]
    user = await factories.portal_user(a)
    tenant = await signed_in(client_factory, [], kind="portal", login=user["email"])
    empty = await post_form(tenant, "/portal/complaints", "/portal/complaints", {"description": "  "})
    assert empty.status_code == 422 and await _count(a) == 0
    bad = await post_form(tenant, "/portal/complaints", "/portal/complaints", {"description": "x" * 3000})
    assert bad.status_code == 422 and await _count(a) == 0
    made = await post_form(tenant, "/portal/complaints", "/portal/complaints",
                           {"description": "空调不制冷", "contact": "me@tenant.example"})
    assert made.status_code in (302, 303)
    path = made.headers["location"].split("?")[0]
    page = await tenant.get(path)
    assert page.status_code == 200 and "空调不制冷" in page.text
    assert "Record the complaint" not in page.text and "记录投诉" not in page.text
    # Another tenant's user cannot see it.
    other = await factories.portal_user(b)
    stranger = await signed_in(client_factory, [], kind="portal", login=other["email"])
    assert (await stranger.get(path)).status_code == 404
    assert "空调不制冷" not in (await stranger.get("/portal/complaints")).text


async def test_api_list_create_read_decide_and_isolation(world, client_factory):
    a, b, bld = world["a"], world["b"], world["bld"]["id"]
    api = await staff_api(client_factory, ["clerk"], [bld])
    assert (await api.post(f"/tenants/{a}/complaints", {"complainant": "王"})).status_code == 400
    assert (await api.post(f"/tenants/{a}/complaints", {**NEW, "surprise": 1})).status_code == 400
    assert (await api.post(f"/tenants/{a}/complaints", {**NEW, "description": " "})).status_code == 422
    assert await _count(a) == 0
    created = await api.post(f"/tenants/{a}/complaints", {**NEW, "grade": "major"})
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["step"] == "stands" and body["legal_hold_requested"] and body["steps"]
    cid = body["id"]
    assert [c["id"] for c in (await api.get(f"/tenants/{a}/complaints")).json()] == [cid]
    # A clerk may not lead a major complaint's steps.
    assert (await api.post(f"/tenants/{a}/complaints/{cid}/decide", {"decision": "approve"})).status_code == 403
    manager = await staff_api(client_factory, ["general_manager"])
    decided = await manager.post(f"/tenants/{a}/complaints/{cid}/decide",
                                 {"decision": "approve", "expected_step": "stands"})
    assert decided.status_code == 200 and decided.json()["step"] == "assign"
    stale = await manager.post(f"/tenants/{a}/complaints/{cid}/decide",
                               {"decision": "approve", "expected_step": "stands"})
    assert stale.status_code == 409
    outsider = await staff_api(client_factory, ["clerk"], [world["other_bld"]["id"]])
    assert (await outsider.get(f"/tenants/{a}/complaints")).status_code == 404
    assert (await outsider.get(f"/tenants/{a}/complaints/{cid}")).status_code == 404
    assert (await outsider.post(f"/tenants/{a}/complaints", NEW)).status_code == 404
    assert (await api.get(f"/tenants/{b}/complaints/{cid}")).status_code == 404
    portal = await portal_api(client_factory, a)
    assert (await portal.get(f"/tenants/{a}/complaints")).status_code in (401, 403)
    row = await DB.pool.fetchrow("SELECT grade, legal_hold_requested FROM core.complaint_case WHERE tenant_id = $1",
                                 a)
    assert row["grade"] == "major" and row["legal_hold_requested"]
