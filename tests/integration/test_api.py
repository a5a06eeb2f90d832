"""The JSON API (/api/v1): sign-in and CSRF, the staff tenant endpoints with
their isolation rules, the review queue, the tenant's own portal endpoints,
error shapes, and the offline OpenAPI docs."""

from __future__ import annotations

import re
import uuid

from portal.core.db import DB
from portal.security.sessions import COOKIE as SESSION_COOKIE
from portal.web.middleware import session_csrf_token
from tests import factories
from tests.factories import PASSWORD

API = "/api/v1"
CJK = re.compile(r"[\u4e00-\u9fff]")


# --- helpers ----------------------------------------------------------------------------------------

async def csrf_token(client) -> str:
    response = await client.get(f"{API}/auth/csrf")
    assert response.status_code == 200
    return response.json()["csrf_token"]


async def login(client, kind: str, login_name: str, password: str = PASSWORD) -> str:
    """Sign in through the API; returns the session's CSRF token."""
    token = await csrf_token(client)
    response = await client.post(f"{API}/auth/login", json={"kind": kind, "login": login_name, "password": password},
                                 headers={"x-csrftoken": token})
    assert response.status_code == 200, response.text
    return response.json()["csrf_token"]


class Api:
    """A signed-in API client that sends its CSRF header."""

    def __init__(self, client, token: str):
        self.client, self.token = client, token

    async def get(self, path: str, **kw):
        return await self.client.get(API + path, **kw)

    async def send(self, method: str, path: str, json=None, **kw):
        headers = {"x-csrftoken": self.token, **kw.pop("headers", {})}
        return await self.client.request(method, API + path, json=json, headers=headers, **kw)

    async def post(self, path: str, json=None, **kw):
        return await self.send("POST", path, json, **kw)

    async def patch(self, path: str, json=None, **kw):
        return await self.send("PATCH", path, json, **kw)

    async def put(self, path: str, json=None, **kw):
        return await self.send("PUT", path, json, **kw)


async def staff_api(client_factory, roles: list[str], buildings: list[int] | None = None) -> Api:
    person = await factories.staff(roles, buildings)
    client = await client_factory()
    return Api(client, await login(client, "staff", person["username"]))


async def portal_api(client_factory, tenant_id: int) -> Api:
    person = await factories.portal_user(tenant_id)
    client = await client_factory()
    return Api(client, await login(client, "portal", person["email"]))


def new_tenant_body(bld: dict, **changes) -> dict:
    body = {
        "name": "接口测试有限公司" + uuid.uuid4().hex[:6], "kind": "E", "business_letter": "A",
        "credit_code": factories.credit_code(), "legal_rep": "王五", "registered_capital": "5000000.00",
        "level": 2, "status": "active", "move_in_date": "2024-03-01", "industry": "咨询",
        "unit_ids": bld["unit_ids"][:2],
        "contacts": [{"name": "赵六", "mobile": "13900139000", "email": "zhao@example.com", "is_primary": True,
                      "receives_notices": True}],
    }
    body.update(changes)
    return body


async def tenant_count() -> int:
    return await DB.pool.fetchval("SELECT count(*) FROM core.tenant")


# --- sign-in and CSRF -------------------------------------------------------------------------------

async def test_login_csrf_flow(client_factory, settings):
    person = await factories.staff(["clerk"])
    client = await client_factory()

    anonymous = await client.get(f"{API}/me")
    assert anonymous.status_code == 401
    assert anonymous.json()["code"] == "not_authenticated"

    credentials = {"kind": "staff", "login": person["username"], "password": PASSWORD}
    refused = await client.post(f"{API}/auth/login", json=credentials)
    assert refused.status_code == 403 and refused.json()["code"] == "csrf_failed"

    # The anonymous double-submit token: the header must equal the csrftoken cookie.
    token = await csrf_token(client)
    assert client.cookies.get("csrftoken") == token
    assert await csrf_token(client) == token  # stable while signed out
    forged = await client.post(f"{API}/auth/login", json=credentials, headers={"x-csrftoken": "x" * 43})
    assert forged.status_code == 403 and forged.json()["code"] == "csrf_failed"

    wrong = await client.post(f"{API}/auth/login", json={**credentials, "password": "nope-nope-nope"},
                              headers={"x-csrftoken": token})
    assert wrong.status_code == 401 and wrong.json()["code"] == "login_failed"
    assert CJK.search(wrong.json()["message"])  # Chinese by default
    wrong_en = await client.post(f"{API}/auth/login", json={**credentials, "password": "nope-nope-nope"},
                                 headers={"x-csrftoken": token, "accept-language": "en-GB,en;q=0.9"})
    assert wrong_en.json()["message"] == "The user name or password is wrong."

    empty = await client.post(f"{API}/auth/login", json={**credentials, "login": " ", "password": ""},
                              headers={"x-csrftoken": token})
    assert empty.status_code == 422
    body = empty.json()
    assert body["code"] == "validation_failed"
    assert body["fields"] == {"login": "请输入用户名。", "password": "请输入密码。"}
    assert body["field_codes"] == {"login": "login.required", "password": "password.required"}
    empty_en = await client.post(f"{API}/auth/login?lang=en", json={**credentials, "login": "", "password": ""},
                                 headers={"x-csrftoken": token})
    assert empty_en.json()["fields"] == {"login": "Enter your user name.", "password": "Enter your password."}
    await client.get(f"{API}/auth/csrf?lang=zh")  # back to Chinese (?lang= is remembered in a cookie)

    ok = await client.post(f"{API}/auth/login", json=credentials, headers={"x-csrftoken": token})
    assert ok.status_code == 200, ok.text
    assert "no-store" in ok.headers["cache-control"]
    session_id = client.cookies.get(SESSION_COOKIE)
    assert session_id
    body = ok.json()
    assert body["user"]["kind"] == "staff" and body["user"]["roles"] == ["clerk"]
    assert "tenant.read" in body["user"]["permissions"]
    assert body["csrf_token"] == session_csrf_token(settings.secret_key, session_id)
    assert await csrf_token(client) == body["csrf_token"]

    me = await client.get(f"{API}/me")
    assert me.status_code == 200 and me.json()["id"] == person["id"]

    # The anonymous token is worthless once signed in.
    stale = await client.post(f"{API}/auth/logout", headers={"x-csrftoken": token})
    assert stale.status_code == 403 and stale.json()["code"] == "csrf_failed"

    out = await client.post(f"{API}/auth/logout", headers={"x-csrftoken": body["csrf_token"]})
    assert out.status_code == 204
    assert (await client.get(f"{API}/me")).status_code == 401


async def test_portal_login_and_lockout(client_factory):
    bld = await factories.building()
    tenant_id = await factories.tenant(bld)
    person = await factories.portal_user(tenant_id)
    client = await client_factory()
    token = await login(client, "portal", person["email"].upper())
    me = (await client.get(f"{API}/me")).json()
    assert me["kind"] == "portal" and me["tenant_id"] == tenant_id and me["permissions"] == []
    assert token

    locked_out = await factories.staff(["clerk"])
    other = await client_factory()
    token = await csrf_token(other)
    credentials = {"kind": "staff", "login": locked_out["username"], "password": "wrong-password-1"}
    for _ in range(5):
        response = await other.post(f"{API}/auth/login", json=credentials, headers={"x-csrftoken": token})
        assert response.status_code == 401
    # Locked: even the right password is refused until the lockout passes.
    response = await other.post(f"{API}/auth/login", json={**credentials, "password": PASSWORD},
                                headers={"x-csrftoken": token})
    assert response.status_code == 429 and response.json()["code"] == "login_locked"
    assert int(response.headers["retry-after"]) > 0


# --- list, create, read, edit -----------------------------------------------------------------------

async def test_list_filter_and_paginate(client_factory):
    bld = await factories.building()
    other_bld = await factories.building()
    marker = "列表" + uuid.uuid4().hex[:6]
    ids = {}
    for i, (level, status) in enumerate([(0, "active"), (1, "active"), (2, "potential"), (3, "dormant"),
                                         (1, "lost")]):
        ids[i] = await factories.tenant(bld, name=f"{marker}-{i}", level=str(level), status=status)
    elsewhere = await factories.tenant(other_bld, name=f"{marker}-x", level="1")
    api = await staff_api(client_factory, ["archivist"])

    everything = (await api.get("/tenants", params={"q": marker})).json()
    assert everything["total"] == 6 and everything["page"] == 1 and everything["per_page"] == 50
    first = everything["items"][0]
    assert first["name"] == f"{marker}-0" and first["archive_no"] and first["primary_contact"] == "李四"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+08:00", first["created_at"])

    page = (await api.get("/tenants", params={"q": marker, "per_page": 5, "page": 2})).json()
    assert page["total"] == 6 and [t["name"] for t in page["items"]] == [f"{marker}-x"]
    descending = (await api.get("/tenants", params={"q": marker, "sort": "-name", "per_page": 2})).json()
    assert [t["name"] for t in descending["items"]] == [f"{marker}-x", f"{marker}-4"]

    by_level = (await api.get("/tenants", params={"q": marker, "level": 1})).json()
    assert {t["id"] for t in by_level["items"]} == {ids[1], ids[4], elsewhere}
    by_status = (await api.get("/tenants", params={"q": marker, "status": "potential"})).json()
    assert [t["id"] for t in by_status["items"]] == [ids[2]]
    by_building = (await api.get("/tenants", params={"q": marker, "building": other_bld["id"]})).json()
    assert [t["id"] for t in by_building["items"]] == [elsewhere]

    too_many = await api.get("/tenants", params={"per_page": 201})
    assert too_many.status_code == 422 and too_many.json()["field_codes"] == {"per_page": "number.range"}
    assert "per_page" in too_many.json()["fields"]
    not_a_number = await api.get("/tenants", params={"page": "abc"})
    assert not_a_number.status_code == 400 and "page" in not_a_number.json()["fields"]
    bad_sort = await api.get("/tenants", params={"sort": "password"})
    assert bad_sort.status_code == 400


async def test_create_tenant(client_factory):
    bld = await factories.building()
    api = await staff_api(client_factory, ["clerk"], [bld["id"]])

    before = await tenant_count()
    bad = await api.post("/tenants", json=new_tenant_body(bld, credit_code="91350100M000100Y44"))
    assert bad.status_code == 422, bad.text
    body = bad.json()
    assert body["code"] == "validation_failed" and CJK.search(body["message"])
    assert "credit_code" in body["fields"] and body["field_codes"]["credit_code"].startswith("credit_code.")
    assert await tenant_count() == before

    bad_contact = await api.post("/tenants", json=new_tenant_body(bld, contacts=[{"name": "无联系方式"}]))
    assert bad_contact.status_code == 422
    assert bad_contact.json()["field_codes"] == {"contacts.0.mobile": "contact.unreachable"}
    bad_letter = await api.post("/tenants", json=new_tenant_body(bld, business_letter="Z"))
    assert bad_letter.status_code == 422
    assert bad_letter.json()["field_codes"] == {"business_letter": "business_letter.choice"}
    assert await tenant_count() == before

    created = await api.post("/tenants", json=new_tenant_body(bld))
    assert created.status_code == 201, created.text
    tenant = created.json()
    assert await tenant_count() == before + 1
    assert tenant["archive_no"].startswith("E2A")
    assert tenant["profile"]["registered_capital"] == "5000000.00"
    assert tenant["profile"]["move_in_date"] == "2024-03-01"
    assert [c["name"] for c in tenant["contacts"]] == ["赵六"]
    assert sorted(u["id"] for u in tenant["units"]) == sorted(bld["unit_ids"][:2])
    assert all(isinstance(u["area_m2"], str) for u in tenant["units"])

    read = await api.get(f"/tenants/{tenant['id']}")
    assert read.status_code == 200 and read.json()["profile"]["name"] == tenant["profile"]["name"]
    listed = (await api.get("/tenants", params={"q": tenant["archive_no"]})).json()
    assert [t["id"] for t in listed["items"]] == [tenant["id"]]

    # A clerk registers tenants only in their own buildings.
    other = await factories.building()
    foreign = await api.post("/tenants", json=new_tenant_body(other))
    assert foreign.status_code == 422 and foreign.json()["field_codes"] == {"unit_ids": "unit_ids.out_of_scope"}


async def test_patch_profile_and_contacts(client_factory):
    bld = await factories.building()
    tenant_id = await factories.tenant(bld)
    api = await staff_api(client_factory, ["clerk"], [bld["id"]])

    bad = await api.patch(f"/tenants/{tenant_id}", json={"credit_code": "123", "registered_capital": "lots"})
    assert bad.status_code == 422
    assert set(bad.json()["fields"]) == {"credit_code", "registered_capital"}
    assert bad.json()["field_codes"]["registered_capital"] == "registered_capital.format"
    unknown = await api.patch(f"/tenants/{tenant_id}", json={"email": "not-an-email"})
    assert unknown.status_code == 400 and unknown.json()["code"] == "bad_request"

    ok = await api.patch(f"/tenants/{tenant_id}", json={"legal_rep": "钱七", "registered_capital": "1234.5",
                                                         "move_in_date": None})
    assert ok.status_code == 200, ok.text
    profile = ok.json()["profile"]
    assert profile["legal_rep"] == "钱七" and profile["registered_capital"] == "1234.50"
    assert profile["industry"] == "软件"  # untouched

    changes = (await api.get(f"/tenants/{tenant_id}/changes")).json()
    fields = {c["field"]: c for c in changes["items"] if c["entity"] == "profile"}
    assert fields["legal_rep"]["old_value"] == "张三" and fields["legal_rep"]["new_value"] == "钱七"
    assert changes["total"] >= 3 and changes["page"] == 1

    contact_id = ok.json()["contacts"][0]["id"]
    bad_contact = await api.put(f"/tenants/{tenant_id}/contacts/{contact_id}",
                                json={"name": "李四", "mobile": "12345", "email": "lisi@"})
    assert bad_contact.status_code == 422
    assert {"mobile", "email"} <= set(bad_contact.json()["fields"])
    assert bad_contact.json()["field_codes"]["mobile"].startswith("mobile")

    updated = await api.put(f"/tenants/{tenant_id}/contacts/{contact_id}",
                            json={"name": "李四", "position": "总经理", "mobile": "13800138001"})
    assert updated.status_code == 200 and updated.json()["position"] == "总经理"
    added = await api.post(f"/tenants/{tenant_id}/contacts", json={"name": "孙八", "landline": "021-62345678"})
    assert added.status_code == 201, added.text
    gone = await api.post(f"/tenants/{tenant_id}/contacts/{added.json()['id']}/deactivate")
    assert gone.status_code == 200 and gone.json()["active"] is False
    missing = await api.put(f"/tenants/{tenant_id}/contacts/999999", json={"name": "x", "mobile": "13800138000"})
    assert missing.status_code == 404

    invite = await api.post(f"/tenants/{tenant_id}/invitations",
                            json={"email": "new.person@tenant.example", "display_name": "周九"})
    assert invite.status_code == 201, invite.text
    assert invite.json()["link"].startswith("http://testserver.local/portal/invite/")
    again = await api.post(f"/tenants/{tenant_id}/invitations", json={"email": "bad", "display_name": ""})
    assert again.status_code == 422
    assert again.json()["field_codes"] == {"email": "invalid", "display_name": "invalid"}


# --- isolation and roles ----------------------------------------------------------------------------

async def test_clerk_cannot_reach_tenants_outside_their_buildings(client_factory):
    theirs, mine = await factories.building(), await factories.building()
    hidden = await factories.tenant(theirs, name="隐藏" + uuid.uuid4().hex[:6])
    api = await staff_api(client_factory, ["clerk"], [mine["id"]])

    missing = await api.get("/tenants/99999999")
    assert missing.status_code == 404
    for response in [
        await api.get(f"/tenants/{hidden}"),
        await api.get(f"/tenants/{hidden}/changes"),
        await api.patch(f"/tenants/{hidden}", json={"legal_rep": "黑客"}),
        await api.post(f"/tenants/{hidden}/contacts", json={"name": "黑客", "mobile": "13800138000"}),
        await api.put(f"/tenants/{hidden}/contacts/1", json={"name": "黑客", "mobile": "13800138000"}),
        await api.post(f"/tenants/{hidden}/contacts/1/deactivate"),
        await api.post(f"/tenants/{hidden}/invitations", json={"email": "x@example.com", "display_name": "x"}),
    ]:
        assert response.status_code == 404, response.text
        assert response.json() == missing.json()  # the same answer as for no tenant at all

    name = (await DB.pool.fetchval("SELECT name FROM core.tenant WHERE id = $1", hidden))
    assert (await api.get("/tenants", params={"q": name})).json()["total"] == 0
    assert (await api.get("/tenants", params={"building": theirs["id"]})).json()["total"] == 0
    listed = await api.get("/tenants", params={"per_page": 200})
    assert all(t["id"] != hidden for t in listed.json()["items"])


async def test_portal_user_sees_only_their_own_company(client_factory):
    bld = await factories.building()
    canary = "金丝雀" + uuid.uuid4().hex[:8]
    a = await factories.tenant(bld, name=canary)
    b = await factories.tenant(bld, name="乙公司" + uuid.uuid4().hex[:6])
    api = await portal_api(client_factory, b)

    for response in [
        await api.get("/tenants"),
        await api.get(f"/tenants/{a}"),
        await api.get(f"/tenants/{b}"),
        await api.get(f"/tenants/{a}/changes"),
        await api.patch(f"/tenants/{a}", json={"name": "x"}),
        await api.post("/tenants", json={}),
        await api.get("/reviews"),
    ]:
        assert response.status_code == 403, response.text
        assert response.json()["code"] == "forbidden"

    company = await api.get("/portal/company")
    assert company.status_code == 200
    assert company.json()["profile"]["name"].startswith("乙公司")
    assert canary not in company.text
    assert "notes" not in company.json()["profile"] and "level" not in company.json()["profile"]
    requests = await api.get("/portal/requests")
    assert requests.status_code == 200 and canary not in requests.text

    # Staff are not portal users.
    staff = await staff_api(client_factory, ["general_manager"])
    assert (await staff.get("/portal/company")).status_code == 403
    anonymous = await client_factory()
    assert (await anonymous.get(f"{API}/portal/company")).status_code == 401


async def test_admin_and_auditor_roles(client_factory):
    bld = await factories.building()
    tenant_id = await factories.tenant(bld)
    admin = await staff_api(client_factory, ["admin"])
    for response in [
        await admin.get("/tenants"),
        await admin.get(f"/tenants/{tenant_id}"),
        await admin.get("/tenants/99999999"),
        await admin.post("/tenants", json=new_tenant_body(bld)),
        await admin.get("/reviews"),
    ]:
        assert response.status_code == 403, response.text

    auditor = await staff_api(client_factory, ["auditor"])
    assert (await auditor.get(f"/tenants/{tenant_id}")).status_code == 200
    assert (await auditor.get("/tenants")).status_code == 200
    denied = await auditor.patch(f"/tenants/{tenant_id}", json={"legal_rep": "审计"})
    assert denied.status_code == 403 and denied.json()["code"] == "forbidden"
    assert (await auditor.post(f"/tenants/{tenant_id}/contacts", json={"name": "x"})).status_code == 403
    viewed = await DB.pool.fetchval(
        "SELECT count(*) FROM core.audit_log WHERE action = 'tenant.view' AND tenant_id = $1", tenant_id)
    assert viewed >= 1


# --- reviews ----------------------------------------------------------------------------------------

async def test_change_request_review_flow(client_factory):
    bld = await factories.building()
    tenant_id = await factories.tenant(bld)
    tenant = await portal_api(client_factory, tenant_id)
    reviewer = await staff_api(client_factory, ["clerk"], [bld["id"]])

    not_editable = await tenant.post("/portal/requests", json={"kind": "profile", "data": {"notes": "x"}})
    assert not_editable.status_code == 422
    assert not_editable.json()["field_codes"] == {"notes": "field.not_editable"}
    bad_kind = await tenant.post("/portal/requests", json={"kind": "delete_everything", "data": {}})
    assert bad_kind.status_code == 400
    no_contact = await tenant.post("/portal/requests", json={"kind": "contact_deactivate", "target_id": 999999})
    assert no_contact.status_code == 404

    submitted = await tenant.post("/portal/requests", json={"kind": "profile",
                                                            "data": {"industry": "人工智能", "name": None}})
    assert submitted.status_code == 422  # a name cannot be emptied
    submitted = await tenant.post("/portal/requests", json={"kind": "profile", "data": {"industry": "人工智能"}})
    assert submitted.status_code == 201, submitted.text
    request = submitted.json()
    assert request["status"] == "pending" and request["payload"] == {"industry": "人工智能"}

    queue = (await reviewer.get("/reviews", params={"per_page": 200})).json()
    item = next(i for i in queue["items"] if i["tenant_id"] == tenant_id and i["ref_id"] == request["id"])
    assert item["kind"] == "change:profile"
    detail = (await reviewer.get(f"/reviews/{tenant_id}/{request['id']}")).json()
    assert detail["current"] == {"industry": "软件"}

    no_reason = await reviewer.post(f"/reviews/{tenant_id}/{request['id']}", json={"decision": "reject"})
    assert no_reason.status_code == 422 and "reason" in no_reason.json()["fields"]
    approved = await reviewer.post(f"/reviews/{tenant_id}/{request['id']}", json={"decision": "approve"})
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    twice = await reviewer.post(f"/reviews/{tenant_id}/{request['id']}", json={"decision": "approve"})
    assert twice.status_code == 409 and twice.json()["code"] == "conflict"

    assert (await reviewer.get(f"/tenants/{tenant_id}")).json()["profile"]["industry"] == "人工智能"
    mine = (await tenant.get("/portal/requests")).json()["items"]
    assert mine[0]["id"] == request["id"] and mine[0]["status"] == "approved"

    # A reviewer outside the tenant's buildings cannot decide (404, existence not revealed).
    outsider = await staff_api(client_factory, ["clerk"], [(await factories.building())["id"]])
    again = await tenant.post("/portal/requests", json={"kind": "contact_add",
                                                        "data": {"name": "新人", "mobile": "13700137000"}})
    assert again.status_code == 201
    refused = await outsider.post(f"/reviews/{tenant_id}/{again.json()['id']}", json={"decision": "approve"})
    assert refused.status_code == 404


# --- error shapes -----------------------------------------------------------------------------------

async def test_missing_csrf_header_is_refused(client_factory):
    bld = await factories.building()
    tenant_id = await factories.tenant(bld)
    api = await staff_api(client_factory, ["archivist"])
    response = await api.client.post(f"{API}/tenants/{tenant_id}/contacts", json={"name": "x", "mobile": "13800138000"})
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["code"] == "csrf_failed" and response.json()["message"]
    response = await api.client.patch(f"{API}/tenants/{tenant_id}", json={"legal_rep": "x"},
                                      headers={"x-csrftoken": "wrong"})
    assert response.status_code == 403 and response.json()["code"] == "csrf_failed"


async def test_malformed_json_and_wrong_types(client_factory):
    bld = await factories.building()
    tenant_id = await factories.tenant(bld)
    api = await staff_api(client_factory, ["archivist"])
    headers = {"x-csrftoken": api.token, "content-type": "application/json"}
    broken = await api.client.patch(f"{API}/tenants/{tenant_id}", content=b'{"legal_rep": ', headers=headers)
    assert broken.status_code == 400
    assert broken.headers["content-type"].startswith("application/json")
    assert broken.json()["code"] == "bad_request" and CJK.search(broken.json()["message"])

    wrong_type = await api.patch(f"/tenants/{tenant_id}", json={"level": "gold"})
    assert wrong_type.status_code == 400 and wrong_type.json()["fields"] == {"level": "Expected `int`, got `str`"}
    not_object = await api.post("/tenants", json=[1, 2])
    assert not_object.status_code == 400 and not_object.json()["code"] == "bad_request"
    unknown_route = await api.get("/nothing-here")
    assert unknown_route.status_code == 404 and unknown_route.json()["code"] == "not_found"

    english = await api.get("/tenants/99999999", headers={"accept-language": "en-US,en;q=0.8"})
    assert english.json() == {"code": "not_found", "message": "No such tenant."}
    chinese = await api.get("/tenants/99999999")
    assert CJK.search(chinese.json()["message"])


# --- OpenAPI ----------------------------------------------------------------------------------------

async def test_openapi_schema_and_offline_docs(client_factory):
    client = await client_factory()
    schema = await client.get("/api/docs/openapi.json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    for path in ["/api/v1/auth/login", "/api/v1/auth/csrf", "/api/v1/auth/logout", "/api/v1/me", "/api/v1/tenants",
                 "/api/v1/tenants/{tenant_id}", "/api/v1/tenants/{tenant_id}/changes",
                 "/api/v1/tenants/{tenant_id}/contacts", "/api/v1/tenants/{tenant_id}/contacts/{contact_id}",
                 "/api/v1/tenants/{tenant_id}/contacts/{contact_id}/deactivate",
                 "/api/v1/tenants/{tenant_id}/invitations", "/api/v1/reviews",
                 "/api/v1/reviews/{tenant_id}/{request_id}", "/api/v1/portal/company", "/api/v1/portal/requests"]:
        assert path in paths, path
    assert set(paths["/api/v1/tenants/{tenant_id}"]) >= {"get", "patch"}
    components = schema.json()["components"]["schemas"]
    assert {"TenantDetail", "TenantCreate", "ProfilePatch", "ErrorBody"} <= set(components)
    assert "422" in paths["/api/v1/tenants"]["post"]["responses"]
    assert "x-csrftoken" in {p["name"] for p in paths["/api/v1/tenants/{tenant_id}"]["patch"]["parameters"]}

    docs = await client.get("/api/docs")
    assert docs.status_code == 200
    html = docs.text
    assert not re.search(r"""<script[^>]+src=["']?https?://""", html)
    assert not re.search(r"""(href|src)=["']?(https?:)?//""", html)
    assets = re.findall(r"""(?:href|src)=["']([^"']+)["']""", html)
    assert assets and all(a.startswith("/static/") for a in assets), assets
    for asset in assets:
        assert (await client.get(asset)).status_code == 200, asset
