"""The tenant self-service portal (/portal): invitation, sign-in, the tenant's
own file, change requests reviewed by staff, isolation between tenants, CSRF."""

from __future__ import annotations

import json
import uuid

import pytest

from portal.accounts import service as accounts
from portal.core.roles import Perm
from portal.core.db import DB
from tenants.file import service as file_service
from tenants.registry import service as registry
from tenants.scope import tenant_tx
from tests import factories

NEW_PASSWORD = "Blue-Lantern-Harbor-42"


async def english(client_factory):
    """A client that reads the pages in English (the default is Chinese)."""
    client = await client_factory()
    client.cookies.set("lang", "en")
    client.follow_redirects = True  # like a browser; single steps pass follow_redirects=False
    return client


async def office_manager():
    """A real staff account (invitations name their creator) like factories.SYSTEM."""
    person = await factories.staff(["general_manager"])
    epoch = await DB.pool.fetchval("SELECT session_epoch FROM core.staff_user WHERE id = $1", person["id"])
    return await accounts.load_principal("staff", person["id"], epoch)


async def invite(tenant_id: int, name: str = "王五") -> tuple[str, str, int]:
    email = f"w{uuid.uuid4().hex[:10]}@tenant.example"
    inviter = await office_manager()
    assert inviter.can(Perm.PORTAL_INVITE)
    invite_id, token = await accounts.invite_portal_user(
        tenant_id, {"display_name": name, "email": email}, inviter, 72
    )
    return email, token, invite_id


async def requests_of(tenant_id: int) -> list[dict]:
    ref = await registry.get_ref(tenant_id)
    async with tenant_tx(ref.schema) as tx:
        rows = await tx.connection.fetch("SELECT * FROM change_request ORDER BY id")
    return [dict(r) for r in rows]


async def signed_in_portal(client_factory, tenant_id: int):
    client = await english(client_factory)
    user = await factories.portal_user(tenant_id)
    response = await factories.sign_in(client, user["email"], user["password"], kind="portal")
    assert response.status_code == 200 and str(response.url).endswith("/portal/"), response.text
    return client, user


async def post_form(client, path: str, data: dict, token_path: str | None = None, **kwargs):
    token = await factories.form_token(client, token_path or path)
    return await client.post(path, data={**data, "_csrf_token": token}, **kwargs)


# --- the whole way: invitation -> account -> request -> staff approval -> change log -------------

async def test_invite_accept_sign_in_request_and_approval(client_factory, database):
    bld = await factories.building()
    tenant_id = await factories.tenant(bld, name="流程测试贸易有限公司")
    email, token, _ = await invite(tenant_id, name="王小五")
    client = await english(client_factory)

    page = await client.get(f"/portal/invite/{token}")
    assert page.status_code == 200
    assert "流程测试贸易有限公司" in page.text and "王小五" in page.text and email in page.text
    assert page.headers["referrer-policy"] == "no-referrer"

    response = await post_form(client, f"/portal/invite/{token}",
                               {"password": NEW_PASSWORD, "password_again": NEW_PASSWORD}, follow_redirects=False)
    assert response.status_code in (302, 303)
    assert response.headers["location"] == "/portal/login?accepted=1"
    login_page = await client.get("/portal/login?accepted=1")
    assert "Your account is ready" in login_page.text
    # The link works once.
    again = await client.get(f"/portal/invite/{token}")
    assert again.status_code == 409 and "already been used" in again.text

    home = await factories.sign_in(client, email, NEW_PASSWORD, kind="portal")
    assert home.status_code == 200 and "流程测试贸易有限公司" in home.text and "王小五" in home.text

    response = await post_form(client, "/portal/requests/contacts/new", {
        "name": "赵新联系人", "position": "出纳", "mobile": "13912345678", "email": "zhao@tenant.example",
        "receives_notices": "1",
    })
    assert response.status_code == 200 and str(response.url).endswith("/portal/?submitted=1")
    assert "The management office will review it" in response.text
    pending = [r for r in await requests_of(tenant_id) if r["status"] == "pending"]
    assert len(pending) == 1 and pending[0]["kind"] == "contact_add" and pending[0]["submitted_by"] == "王小五"
    assert "赵新联系人" in response.text and "Waiting for review" in response.text
    # Not in the file yet.
    ref = await registry.get_ref(tenant_id)
    data = await file_service.read_file(ref, factories.SYSTEM, audit_view=False)
    assert "赵新联系人" not in {c["name"] for c in data["contacts"]}

    await file_service.decide_request(ref, pending[0]["id"], factories.SYSTEM, approve=True)

    data = await file_service.read_file(ref, factories.SYSTEM, audit_view=False)
    assert "赵新联系人" in {c["name"] for c in data["contacts"] if c["active"]}
    log = [c for c in data["changes"] if c["request_id"] == pending[0]["id"]]
    assert log and all(c["actor_name"] == "王小五" and c["approved_by"] == factories.SYSTEM.name for c in log)

    home = await client.get("/portal/")
    assert "Approved" in home.text
    changes = home.text.split('id="h-changes"', 1)[1]
    assert "赵新联系人" in changes and "王小五" in changes and factories.SYSTEM.name in changes

    # A rejected request shows the reason the office gave.
    response = await post_form(client, "/portal/requests/profile", {
        "name": "流程测试贸易有限公司", "legal_rep": "新法人", "registered_capital": "", "industry": "软件",
        "registered_address": "", "business_scope": "", "special_needs": "",
    })
    assert response.status_code == 200
    rejected = [r for r in await requests_of(tenant_id) if r["kind"] == "profile"][-1]
    await file_service.decide_request(ref, rejected["id"], factories.SYSTEM, approve=False, reason="请附营业执照复印件")
    home = await client.get("/portal/")
    assert "Rejected" in home.text and "请附营业执照复印件" in home.text


async def test_portal_is_chinese_by_default(client_factory, database):
    client = await client_factory()
    page = await client.get("/portal/login")
    assert page.status_code == 200
    assert 'lang="zh-CN"' in page.text and "租户" in page.text and "Tenant sign-in" not in page.text


# --- isolation ----------------------------------------------------------------------------------

async def test_portal_user_sees_only_own_tenant(client_factory, database):
    bld = await factories.building()
    a_id = await factories.tenant(bld, name="甲方金丝雀有限公司", legal_rep="甲法人")
    b_id = await factories.tenant(bld, name="乙方金丝雀有限公司", legal_rep="乙法人金丝雀",
                                  registered_address="乙地址金丝雀路1号", industry="乙行业金丝雀")
    b_ref = await registry.get_ref(b_id)
    b_canaries = ["乙方金丝雀有限公司", "乙法人金丝雀", "乙地址金丝雀路1号", "乙行业金丝雀", b_ref.archive_no]
    # Give B more contacts than A, so B has contact ids that A lacks.
    for i in range(3):
        cid = await file_service.save_contact(b_ref, None, {"name": f"乙联系人金丝雀{i}", "mobile": "13700000000",
                                                            "email": f"b{i}@canary-b.example"}, factories.SYSTEM)
        b_canaries += [f"乙联系人金丝雀{i}", f"b{i}@canary-b.example"]
    b_contact_id = cid
    b_user = await factories.portal_user(b_id)
    b_client = await english(client_factory)
    await factories.sign_in(b_client, b_user["email"], b_user["password"], kind="portal")
    await post_form(b_client, "/portal/requests/profile", {"special_needs": "乙需求金丝雀"})
    b_canaries.append("乙需求金丝雀")
    assert any(r["kind"] == "profile" for r in await requests_of(b_id))

    client, _ = await signed_in_portal(client_factory, a_id)
    a_ref = await registry.get_ref(a_id)
    a_data = await file_service.read_file(a_ref, factories.SYSTEM, audit_view=False)
    a_contact_id = a_data["contacts"][0]["id"]
    assert b_contact_id not in {c["id"] for c in a_data["contacts"]}

    pages = [
        "/portal/", f"/portal/?tenant_id={b_id}", f"/portal/?tenant={b_id}&changes=2", "/portal/requests/profile",
        "/portal/requests/contacts/new", f"/portal/requests/contacts/{a_contact_id}/edit",
        f"/portal/requests/contacts/{a_contact_id}/remove", "/portal/account",
    ]
    for path in pages:
        page = await client.get(path)
        assert page.status_code == 200, path
        assert "甲方金丝雀有限公司" in page.text or path in ("/portal/account", "/portal/requests/contacts/new")
        for canary in b_canaries:
            assert canary not in page.text, (path, canary)

    for path in (f"/portal/requests/contacts/{b_contact_id}/edit", f"/portal/requests/contacts/{b_contact_id}/remove"):
        page = await client.get(path)
        assert page.status_code == 404, path
        assert not any(canary in page.text for canary in b_canaries)

    before_a, before_b = len(await requests_of(a_id)), len(await requests_of(b_id))
    token = await factories.form_token(client, "/portal/requests/contacts/new")
    edit = await client.post(f"/portal/requests/contacts/{b_contact_id}/edit",
                             data={"_csrf_token": token, "name": "篡改", "mobile": "13911112222"})
    remove = await client.post(f"/portal/requests/contacts/{b_contact_id}/remove", data={"_csrf_token": token})
    assert edit.status_code == 404 and remove.status_code == 404
    assert len(await requests_of(a_id)) == before_a and len(await requests_of(b_id)) == before_b


async def test_staff_session_is_not_served_portal_pages(client_factory, database):
    bld = await factories.building()
    tenant_id = await factories.tenant(bld)
    clerk = await factories.staff(["clerk"], [bld["id"]])
    client = await english(client_factory)
    response = await factories.sign_in(client, clerk["username"], clerk["password"], kind="console")
    assert response.status_code == 200 and "/console/" in str(response.url)
    for path in ("/portal/", "/portal/requests/profile", "/portal/requests/contacts/new", "/portal/account",
                 "/portal/requests/contacts/1/edit"):
        page = await client.get(path, follow_redirects=False)
        assert page.status_code in (302, 303), path
        assert page.headers["location"].startswith("/portal/login"), path
    # The staff member's session stays valid in the console.
    assert (await client.get("/console/tenants")).status_code == 200
    # Anonymous visitors are sent to the portal sign-in too.
    anonymous = await english(client_factory)
    page = await anonymous.get("/portal/", follow_redirects=False)
    assert page.headers["location"].startswith("/portal/login")
    assert tenant_id


# --- CSRF ---------------------------------------------------------------------------------------

async def test_post_without_csrf_token_is_refused(client_factory, database):
    bld = await factories.building()
    tenant_id = await factories.tenant(bld)
    client, _ = await signed_in_portal(client_factory, tenant_id)
    before = len(await requests_of(tenant_id))
    response = await client.post("/portal/requests/contacts/new",
                                 data={"name": "无令牌", "mobile": "13912345678"})
    assert response.status_code == 403
    response = await client.post("/portal/requests/profile", data={"legal_rep": "无令牌", "_csrf_token": "forged"})
    assert response.status_code == 403
    assert len(await requests_of(tenant_id)) == before

    email, token, invite_id = await invite(tenant_id)
    anonymous = await english(client_factory)
    await anonymous.get(f"/portal/invite/{token}")
    response = await anonymous.post(f"/portal/invite/{token}",
                                    data={"password": NEW_PASSWORD, "password_again": NEW_PASSWORD})
    assert response.status_code == 403
    assert not await DB.pool.fetchval("SELECT 1 FROM core.portal_user WHERE email = $1", email)


# --- invitations --------------------------------------------------------------------------------

async def test_expired_used_and_unknown_invitations_are_refused_clearly(client_factory, database):
    bld = await factories.building()
    tenant_id = await factories.tenant(bld)
    email, token, invite_id = await invite(tenant_id)
    await DB.pool.execute("UPDATE core.portal_invite SET expires_at = now() - interval '1 hour' WHERE id = $1",
                          invite_id)
    client = await english(client_factory)
    page = await client.get(f"/portal/invite/{token}")
    assert page.status_code == 409
    assert "expired" in page.text and "Ask the management office for a new invitation" in page.text
    assert 'type="password"' not in page.text
    # Posting to an expired link creates nothing either.
    response = await client.post(f"/portal/invite/{token}", data={
        "password": NEW_PASSWORD, "password_again": NEW_PASSWORD, "_csrf_token": client.cookies.get("csrftoken")})
    assert response.status_code == 409
    assert not await DB.pool.fetchval("SELECT 1 FROM core.portal_user WHERE email = $1", email)

    unknown = await client.get("/portal/invite/" + "x" * 43)
    assert unknown.status_code == 404 and "Ask the management office for a new invitation" in unknown.text

    chinese = await client_factory()
    page = await chinese.get(f"/portal/invite/{token}")
    assert page.status_code == 409 and "管理处" in page.text


async def test_invitation_password_rules(client_factory, database):
    bld = await factories.building()
    tenant_id = await factories.tenant(bld)
    email, token, _ = await invite(tenant_id, name="钱七")
    local = email.split("@")[0]
    client = await english(client_factory)
    path = f"/portal/invite/{token}"
    cases = [
        ({"password": "Short-1a", "password_again": "Short-1a"}, "at least 12 characters"),
        ({"password": f"{local}-Secret!", "password_again": f"{local}-Secret!"}, "must not contain your user name"),
        ({"password": NEW_PASSWORD, "password_again": NEW_PASSWORD + "x"}, "The two passwords differ"),
    ]
    for data, message in cases:
        response = await post_form(client, path, data)
        assert response.status_code == 422, message
        assert message in response.text
        assert 'aria-invalid="true"' in response.text
        assert not await DB.pool.fetchval("SELECT 1 FROM core.portal_user WHERE email = $1", email)
    response = await post_form(client, path, {"password": NEW_PASSWORD, "password_again": NEW_PASSWORD},
                               follow_redirects=False)
    assert response.status_code in (302, 303)
    assert await DB.pool.fetchval("SELECT tenant_id FROM core.portal_user WHERE email = $1", email) == tenant_id


# --- request forms ------------------------------------------------------------------------------

async def test_contact_request_validation_saves_nothing(client_factory, database):
    bld = await factories.building()
    tenant_id = await factories.tenant(bld)
    client, _ = await signed_in_portal(client_factory, tenant_id)
    before = len(await requests_of(tenant_id))
    response = await post_form(client, "/portal/requests/contacts/new",
                               {"name": "孙八", "mobile": "1234", "email": "not-an-email"})
    assert response.status_code == 422
    assert 'id="e-mobile"' in response.text and 'id="e-email"' in response.text
    assert 'value="孙八"' in response.text  # the input is kept
    ref = await registry.get_ref(tenant_id)
    contact_id = (await file_service.read_file(ref, factories.SYSTEM, audit_view=False))["contacts"][0]["id"]
    response = await post_form(client, f"/portal/requests/contacts/{contact_id}/edit",
                               {"name": "李四", "mobile": "138001380001", "email": "lisi@example.com"})
    assert response.status_code == 422 and 'id="e-mobile"' in response.text
    assert len(await requests_of(tenant_id)) == before


async def test_contact_update_and_removal_requests(client_factory, database):
    bld = await factories.building()
    tenant_id = await factories.tenant(bld)
    ref = await registry.get_ref(tenant_id)
    contact = (await file_service.read_file(ref, factories.SYSTEM, audit_view=False))["contacts"][0]
    client, _ = await signed_in_portal(client_factory, tenant_id)
    edit_path = f"/portal/requests/contacts/{contact['id']}/edit"
    form = await client.get(edit_path)
    assert 'value="13800138000"' in form.text
    same = {"name": contact["name"], "position": contact["position"], "mobile": contact["mobile"],
            "email": contact["email"], "is_primary": "1", "receives_notices": "1"}
    response = await post_form(client, edit_path, same)
    assert response.status_code == 422 and "You have not changed anything" in response.text
    assert await requests_of(tenant_id) == []
    response = await post_form(client, edit_path, {**same, "mobile": "13900001111"})
    assert str(response.url).endswith("/portal/?submitted=1")
    [update] = await requests_of(tenant_id)
    assert update["kind"] == "contact_update" and update["target_id"] == contact["id"]

    remove_path = f"/portal/requests/contacts/{contact['id']}/remove"
    confirm = await client.get(remove_path)
    assert confirm.status_code == 200 and contact["name"] in confirm.text and 'method="post"' in confirm.text
    assert len(await requests_of(tenant_id)) == 1  # looking at the confirmation sends nothing
    response = await post_form(client, remove_path, {})
    assert str(response.url).endswith("/portal/?submitted=1")
    kinds = [r["kind"] for r in await requests_of(tenant_id)]
    assert kinds == ["contact_update", "contact_deactivate"]
    await file_service.decide_request(ref, (await requests_of(tenant_id))[1]["id"], factories.SYSTEM, approve=True)
    assert (await client.get(edit_path)).status_code == 404  # a removed contact is no longer offered


async def test_profile_request_sends_only_changed_fields(client_factory, database):
    bld = await factories.building()
    tenant_id = await factories.tenant(bld, name="差异测试有限公司", registered_capital="5000000")
    client, _ = await signed_in_portal(client_factory, tenant_id)
    form = await client.get("/portal/requests/profile")
    assert form.status_code == 200
    assert 'name="legal_rep"' in form.text and 'value="张三"' in form.text
    for office_only in ("credit_code", "level", "status", "notes", "kind"):
        assert f'name="{office_only}"' not in form.text
    current = {"name": "差异测试有限公司", "legal_rep": "张三", "registered_capital": "5000000", "industry": "软件",
               "registered_address": "", "business_scope": "", "special_needs": ""}
    response = await post_form(client, "/portal/requests/profile", current)
    assert response.status_code == 422 and "You have not changed anything" in response.text
    response = await post_form(client, "/portal/requests/profile", {**current, "registered_capital": "abc"})
    assert response.status_code == 422 and 'id="e-registered_capital"' in response.text
    assert await requests_of(tenant_id) == []
    # Office-only fields slipped into the form are ignored.
    response = await post_form(client, "/portal/requests/profile",
                               {**current, "industry": "人工智能", "level": "3", "notes": "x"})
    assert str(response.url).endswith("/portal/?submitted=1")
    [request] = await requests_of(tenant_id)
    payload = request["payload"] if isinstance(request["payload"], dict) else json.loads(request["payload"])
    assert request["kind"] == "profile" and payload == {"industry": "人工智能"}


# --- account ------------------------------------------------------------------------------------

async def test_change_password_and_sign_out(client_factory, database):
    bld = await factories.building()
    tenant_id = await factories.tenant(bld)
    client, user = await signed_in_portal(client_factory, tenant_id)
    other = await english(client_factory)
    await factories.sign_in(other, user["email"], user["password"], kind="portal")
    assert (await other.get("/portal/", follow_redirects=False)).status_code == 200

    response = await post_form(client, "/portal/account", {"current_password": "wrong-password-123",
                                                          "new_password": NEW_PASSWORD,
                                                          "new_password_again": NEW_PASSWORD})
    assert response.status_code == 422 and "The current password is wrong" in response.text
    response = await post_form(client, "/portal/account", {"current_password": user["password"],
                                                          "new_password": "short", "new_password_again": "short"})
    assert response.status_code == 422 and "at least 12 characters" in response.text
    own_name = user["email"].split("@")[0] + "-Secret!"
    response = await post_form(client, "/portal/account", {"current_password": user["password"],
                                                          "new_password": own_name, "new_password_again": own_name})
    assert response.status_code == 422 and "must not contain your user name" in response.text
    response = await post_form(client, "/portal/account", {"current_password": user["password"],
                                                          "new_password": NEW_PASSWORD,
                                                          "new_password_again": NEW_PASSWORD})
    assert response.status_code == 200 and "Your password was changed" in response.text
    # This device stays signed in; the other one is signed out.
    assert (await client.get("/portal/", follow_redirects=False)).status_code == 200
    assert (await other.get("/portal/", follow_redirects=False)).status_code in (302, 303)

    fresh = await english(client_factory)
    bad = await factories.sign_in(fresh, user["email"], user["password"], kind="portal")
    assert bad.status_code == 400
    good = await factories.sign_in(fresh, user["email"], NEW_PASSWORD, kind="portal")
    assert good.status_code == 200 and str(good.url).endswith("/portal/")

    token = await factories.form_token(fresh, "/portal/")
    response = await fresh.post("/portal/logout", data={"_csrf_token": token}, follow_redirects=False)
    assert response.headers["location"] == "/portal/login"
    assert (await fresh.get("/portal/", follow_redirects=False)).status_code in (302, 303)


@pytest.mark.parametrize("path, status", [("/portal/login", 200), ("/portal/invite/nothing-here", 404),
                                          ("/portal/no-such-page", 404)])
async def test_public_portal_pages_render_for_anonymous(client_factory, database, path, status):
    client = await english(client_factory)
    page = await client.get(path)
    assert page.status_code == status
    assert 'href="/portal/"' in page.text  # the portal brand
    assert "Sign out" not in page.text
