"""No input gives a 500: path and query integers beyond PostgreSQL's
``integer``, and control characters (NUL…) in query values, form fields and
JSON bodies are answered with a 404 or a localized 422, and nothing is saved."""

from __future__ import annotations

import string
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from portal.core.db import DB
from tenants.registry import service as registry
from tests import factories
from tests.integration.test_api import portal_api, staff_api

TOO_BIG = 2**31


@pytest.fixture
async def world(database):
    bld = await factories.building()
    tenant_id = await factories.tenant(bld)
    return {"bld": bld, "tenant": tenant_id}


async def _console(client_factory, roles: list[str]):
    person = await factories.staff(roles)
    client = await client_factory()
    await factories.sign_in(client, person["username"])
    return client


async def test_reported_reproductions(world, client_factory):
    tenant = world["tenant"]
    api = await staff_api(client_factory, ["archivist"])
    tenant_api = await portal_api(client_factory, tenant)
    console = await _console(client_factory, ["archivist", "auditor"])
    portal = tenant_api.client  # the same session signs in to the portal pages

    assert (await api.get(f"/tenants/{TOO_BIG}")).status_code == 404
    assert (await api.get(f"/tenants/{TOO_BIG * 10**9}")).json()["code"] == "not_found"
    assert (await portal.get(f"/portal/documents/{TOO_BIG}/download")).status_code == 404

    response = await console.get(f"/console/tenants/{tenant}/documents?year=99999999999")
    assert response.status_code == 422
    assert "数字超出范围" in response.text

    response = await api.get("/tenants?q=%00")
    assert response.status_code == 422
    assert response.json()["field_codes"] == {"q": "text.control_characters"}
    assert "控制字符" in response.json()["fields"]["q"]
    english = await api.get("/tenants?q=%00", headers={"accept-language": "en"})
    assert english.json()["fields"]["q"].startswith("This text contains control characters")

    response = await console.get("/console/audit?actor=%00")
    assert response.status_code == 422 and "控制字符" in response.text
    response = await console.get("/console/audit?actor=%00&lang=en")
    assert "control characters" in response.text


async def test_typed_query_integers_are_checked_against_their_declared_range(world, client_factory):
    api = await staff_api(client_factory, ["archivist"])
    for query in (f"building={TOO_BIG}", "level=4", "level=-1", "page=0", f"per_page={10**30}"):
        response = await api.get(f"/tenants?{query}")
        assert response.status_code == 422, query
        assert response.json()["field_codes"][query.split("=")[0]] == "number.range"
    assert (await api.get(f"/tenants?building={2**31 - 1}")).status_code == 200
    assert (await api.get("/tenants?building=abc")).status_code == 400  # a type error stays a 400


async def test_ids_below_one_and_huge_ids_are_not_found_everywhere(world, client_factory):
    console = await _console(client_factory, ["archivist"])
    tenant = world["tenant"]
    for path in (f"/console/tenants/{TOO_BIG}", f"/console/tenants/{tenant}/contacts/{TOO_BIG}/edit",
                 f"/console/tenants/{tenant}/documents/{TOO_BIG}", "/console/tenants/0"):
        assert (await console.get(path)).status_code == 404, path


async def test_form_fields_with_nul_are_refused_and_save_nothing(world, client_factory):
    console = await _console(client_factory, ["archivist"])
    tenant = world["tenant"]
    before = (await registry.get_ref(tenant)).name
    token = await factories.form_token(console, f"/console/tenants/{tenant}/edit")
    response = await console.post(f"/console/tenants/{tenant}/edit",
                                  data={"_csrf_token": token, "name": "坏\x00名字", "kind": "E"})
    assert response.status_code == 422 and "控制字符" in response.text
    assert (await registry.get_ref(tenant)).name == before
    count = await DB.pool.fetchval("SELECT count(*) FROM core.tenant")
    response = await console.post("/console/tenants/new", data={
        "_csrf_token": token, "name": "新公司", "kind": "E", "contact_name": "王\x01五"})
    assert response.status_code == 422
    assert await DB.pool.fetchval("SELECT count(*) FROM core.tenant") == count


async def test_json_bodies_with_control_characters_are_refused(world, client_factory):
    api = await staff_api(client_factory, ["archivist"])
    tenant = world["tenant"]
    response = await api.patch(f"/tenants/{tenant}", {"legal_rep": "张\x00三"})
    assert response.status_code == 422
    assert response.json()["field_codes"] == {"legal_rep": "text.control_characters"}
    response = await api.post(f"/tenants/{tenant}/contacts", {"name": "x", "mobile": "13800138000",
                                                                "position": "a\x1bb"})
    assert response.json()["field_codes"] == {"position": "text.control_characters"}
    # Line breaks in a multi-line text are fine.
    response = await api.patch(f"/tenants/{tenant}", {"notes": "第一行\r\n第二行\t完"})
    assert response.status_code == 200, response.text
    tenant_api = await portal_api(client_factory, tenant)
    response = await tenant_api.post("/portal/requests", {"kind": "profile", "data": {"industry": "\x00"}})
    assert response.status_code == 422


async def _api(world: dict, client_factory):
    """One signed-in client for all the examples of a property."""
    if "api" not in world:
        world["api"] = await staff_api(client_factory, ["archivist"])
    return world["api"]


# Query texts and numbers of every shape: the answer is never a server error.
_texts = st.text(alphabet=st.characters(codec="utf-8"), max_size=12) | st.sampled_from(
    ["\x00", "%", "'", "\\", "\u2028", "9" * 30, "-" + "9" * 30, " 1", "1e9", "0x10"])
_numbers = st.integers(min_value=-(2**70), max_value=2**70).map(str)


@settings(max_examples=60, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from(["q", "building", "level", "status", "page", "per_page", "sort", "inactive"]),
       value=_texts | _numbers)
async def test_any_query_value_is_answered_without_a_server_error(world, client_factory, name, value):
    api = await _api(world, client_factory)
    response = await api.get(f"/tenants?{name}={quote(value)}")
    assert response.status_code in (200, 400, 422), (name, value, response.text)
    assert response.headers["content-type"].startswith("application/json")


@settings(max_examples=40, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(segment=_numbers | st.text(alphabet=string.printable, min_size=1, max_size=8))
async def test_any_path_id_is_answered_without_a_server_error(world, client_factory, segment):
    api = await _api(world, client_factory)
    response = await api.get(f"/tenants/{quote(segment, safe='')}/changes")
    assert response.status_code in (200, 400, 404), (segment, response.text)



async def test_undecodable_and_odd_bytes_are_answered_without_a_server_error(world, client_factory):
    api = await staff_api(client_factory, ["archivist"])
    console = await _console(client_factory, ["archivist", "auditor"])
    for path in ("/tenants?q=%FF%FE", "/tenants?q=%C0%80", "/tenants/%00", "/tenants/1%00",
                 "/tenants?%00=1", "/tenants?q=%E2%80%AE"):
        response = await api.get(path)
        assert response.status_code in (200, 400, 404, 422), (path, response.status_code)
    for path in ("/console/tenants?q=%FF", "/console/audit?action=%FF%00", "/console/tenants/%00",
                 "/console/audit?date_from=9999999-01-01", "/console/tenants?building=-99999999999"):
        response = await console.get(path)
        assert response.status_code in (200, 400, 404, 422), (path, response.status_code)


async def test_upload_fields_with_nul_are_refused_and_leave_nothing(settings, world, client_factory):
    from tests.integration.docs_support import META, object_count, pdf_bytes, row_count, upload

    console = await _console(client_factory, ["archivist"])
    tenant = world["tenant"]
    objects, rows = await object_count(settings, tenant), await row_count(tenant)
    response = await upload(console, tenant, pdf_bytes(), meta={**META, "title": "合同\x00副本"})
    assert response.status_code == 422 and "控制字符" in response.text
    assert await object_count(settings, tenant) == objects and await row_count(tenant) == rows
