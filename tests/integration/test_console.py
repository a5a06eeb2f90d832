"""Staff console: building-scoped access on every tenant route, validation
with nothing saved, and the review of tenants' change requests."""

from __future__ import annotations

import pytest

from portal.core.roles import Principal
from portal.core.db import DB
from tenants.file import service as file_service
from tenants.registry import service as registry
from tenants.scope import tenant_tx
from tests import factories

CANARY = "甲方金丝雀科技有限公司"


@pytest.fixture
async def world(database):
    b1, b2 = await factories.building(), await factories.building()
    tenant_a = await factories.tenant(b1, name=CANARY, legal_rep="金丝雀法人")
    tenant_b = await factories.tenant(b2)
    clerk2 = await factories.staff(["clerk"], [b2["id"]])
    clerk1 = await factories.staff(["clerk"], [b1["id"]])
    return {"b1": b1, "b2": b2, "a": tenant_a, "b": tenant_b, "clerk1": clerk1, "clerk2": clerk2}


async def _contact_id(tenant_id: int) -> int:
    ref = await registry.get_ref(tenant_id)
    async with tenant_tx(ref.schema) as tx:
        return await tx.connection.fetchval("SELECT min(id) FROM contact")


async def test_clerk_without_the_building_cannot_reach_the_tenant(world, client_factory):
    client = await client_factory()
    await factories.sign_in(client, world["clerk2"]["username"])
    a = world["a"]
    contact = await _contact_id(a)
    token = await factories.form_token(client, "/console/tenants/new")
    for path in (f"/console/tenants/{a}", f"/console/tenants/{a}/edit", f"/console/tenants/{a}/contacts/new",
                 f"/console/tenants/{a}/contacts/{contact}/edit"):
        response = await client.get(path)
        assert response.status_code == 404, path
        assert CANARY not in response.text
    for path, data in ((f"/console/tenants/{a}/edit", {"name": "hijacked", "kind": "E"}),
                       (f"/console/tenants/{a}/contacts/new", {"name": "x", "mobile": "13900000000"}),
                       (f"/console/tenants/{a}/contacts/{contact}/active", {"active": "0"}),
                       (f"/console/tenants/{a}/invite", {"display_name": "x", "email": "x@evil.example"})):
        response = await client.post(path, data={**data, "_csrf_token": token})
        assert response.status_code == 404, path
    listing = await client.get("/console/tenants", params={"q": "金丝雀"})
    assert CANARY not in listing.text and "金丝雀法人" not in listing.text
    by_phone = await client.get("/console/tenants", params={"q": "13800138000"})
    assert CANARY not in by_phone.text
    ref = await registry.get_ref(a)
    assert ref.name == CANARY  # nothing was changed through the refused posts
    assert (await DB.pool.fetchval("SELECT count(*) FROM core.portal_invite WHERE tenant_id = $1", a)) == 0


async def test_clerk_with_the_building_reads_and_edits(world, client_factory):
    client = await client_factory()
    await factories.sign_in(client, world["clerk1"]["username"])
    page = await client.get(f"/console/tenants/{world['a']}")
    assert page.status_code == 200 and CANARY in page.text
    token = await factories.form_token(client, f"/console/tenants/{world['a']}/edit")
    form = {"name": CANARY, "kind": "E", "credit_code": (await _profile(world["a"]))["credit_code"],
            "level": "2", "status": "active", "legal_rep": "新法人", "_csrf_token": token}
    response = await client.post(f"/console/tenants/{world['a']}/edit", data=form, follow_redirects=False)
    assert response.status_code in (302, 303)
    page = await client.get(f"/console/tenants/{world['a']}")
    assert "新法人" in page.text and "金丝雀法人" in page.text  # new value, and the old one in the change log
    audit = await DB.pool.fetchval(
        "SELECT count(*) FROM core.audit_log WHERE action = 'tenant.view' AND tenant_id = $1", world["a"])
    assert audit >= 2


async def _profile(tenant_id: int) -> dict:
    ref = await registry.get_ref(tenant_id)
    async with tenant_tx(ref.schema) as tx:
        return dict(await tx.connection.fetchrow("SELECT * FROM profile"))


@pytest.mark.parametrize("roles, status", [(["admin"], 403), (["technician"], 403)])
async def test_roles_without_the_right_are_refused(world, client_factory, roles, status):
    person = await factories.staff(roles, [world["b1"]["id"]])
    client = await client_factory()
    await factories.sign_in(client, person["username"])
    path = "/console/tenants" if roles == ["admin"] else f"/console/tenants/{world['a']}/edit"
    response = await client.get(path)
    assert response.status_code == status
    assert CANARY not in response.text
    refused = await DB.pool.fetchval(
        "SELECT count(*) FROM core.audit_log WHERE action = 'security.refused' AND target = $1", path)
    assert refused >= 1


async def test_auditor_reads_everything_but_changes_nothing(world, client_factory):
    auditor = await factories.staff(["auditor"])
    client = await client_factory()
    await factories.sign_in(client, auditor["username"])
    assert (await client.get(f"/console/tenants/{world['a']}")).status_code == 200
    assert (await client.get(f"/console/tenants/{world['b']}")).status_code == 200
    token = await factories.form_token(client, f"/console/tenants/{world['a']}")
    response = await client.post(f"/console/tenants/{world['a']}/edit",
                                 data={"name": "auditor was here", "_csrf_token": token})
    assert response.status_code == 403
    assert (await registry.get_ref(world["a"])).name == CANARY


async def test_create_tenant_with_bad_input_saves_nothing(world, client_factory):
    client = await client_factory()
    await factories.sign_in(client, world["clerk1"]["username"])
    token = await factories.form_token(client, "/console/tenants/new")
    before = await DB.pool.fetchval("SELECT count(*) FROM core.tenant")
    response = await client.post("/console/tenants/new", data={
        "_csrf_token": token, "name": "坏数据有限公司", "kind": "E", "level": "0", "status": "active",
        "business_letter": "A", "credit_code": "91350100M000100Y44", "unit_ids": str(world["b1"]["unit_ids"][2]),
        "contact_name": "赵六", "contact_mobile": "1380013800", "contact_email": "not-an-email",
    })
    assert response.status_code == 422
    assert "统一社会信用代码的校验码不正确" in response.text
    assert "手机号码必须为 11 位数字" in response.text
    assert 'aria-invalid="true"' in response.text
    assert await DB.pool.fetchval("SELECT count(*) FROM core.tenant") == before


async def test_create_tenant_in_another_building_is_refused(world, client_factory):
    client = await client_factory()
    await factories.sign_in(client, world["clerk1"]["username"])
    token = await factories.form_token(client, "/console/tenants/new")
    response = await client.post("/console/tenants/new", data={
        "_csrf_token": token, "name": "越界有限公司", "kind": "E", "level": "0", "status": "active",
        "business_letter": "A", "credit_code": factories.credit_code(), "unit_ids": str(world["b2"]["unit_ids"][3]),
    })
    assert response.status_code == 422
    assert not await DB.pool.fetchval("SELECT 1 FROM core.tenant WHERE name = '越界有限公司'")


async def test_create_tenant_through_the_form(world, client_factory):
    client = await client_factory()
    await factories.sign_in(client, world["clerk1"]["username"])
    token = await factories.form_token(client, "/console/tenants/new")
    response = await client.post("/console/tenants/new", follow_redirects=False, data={
        "_csrf_token": token, "name": "新建表单测试有限公司", "kind": "E", "level": "3", "status": "active",
        "business_letter": "B", "credit_code": factories.credit_code(), "unit_ids": str(world["b1"]["unit_ids"][3]),
        "contact_name": "钱七", "contact_mobile": "+86 139-0000-1111", "contact_email": "qian@example.com",
        "contact_receives_notices": "1",
    })
    assert response.status_code in (302, 303)
    tenant_id = int(response.headers["location"].split("/")[3].split("?")[0])
    row = await DB.pool.fetchrow("SELECT * FROM core.tenant WHERE id = $1", tenant_id)
    assert row["archive_no"].startswith("E3B") and row["contact_phones"] == "13900001111"
    assert row["building_ids"] == [world["b1"]["id"]]


async def test_contact_validation_saves_nothing(world, client_factory):
    client = await client_factory()
    await factories.sign_in(client, world["clerk1"]["username"])
    path = f"/console/tenants/{world['a']}/contacts/new"
    token = await factories.form_token(client, path)
    response = await client.post(path, data={"_csrf_token": token, "name": "孙八", "mobile": "12345",
                                             "email": "a@@b.com", "receives_notices": "1"})
    assert response.status_code == 422
    assert "电子邮箱" in response.text
    ref = await registry.get_ref(world["a"])
    async with tenant_tx(ref.schema) as tx:
        assert await tx.connection.fetchval("SELECT count(*) FROM contact WHERE name = '孙八'") == 0


async def test_review_queue_approval_names_submitter_and_approver(world, client_factory):
    ref = await registry.get_ref(world["a"])
    user = await factories.portal_user(world["a"])
    tenant_person = Principal(kind="portal", user_id=user["id"], name="租户小王", tenant_id=world["a"])
    request_id = await file_service.submit_request(ref, tenant_person, "profile", {"registered_address": "浦东新区金丝雀路1号"})
    client = await client_factory()
    await factories.sign_in(client, world["clerk1"]["username"])
    queue = await client.get("/console/reviews")
    assert f"/console/reviews/{world['a']}/{request_id}" in queue.text
    page_path = f"/console/reviews/{world['a']}/{request_id}"
    token = await factories.form_token(client, page_path)
    rejected = await client.post(page_path, data={"_csrf_token": token, "decision": "reject", "reason": ""})
    assert rejected.status_code == 422  # a rejection needs a reason
    approved = await client.post(page_path, data={"_csrf_token": token, "decision": "approve"}, follow_redirects=False)
    assert approved.status_code in (302, 303)
    async with tenant_tx(ref.schema) as tx:
        log = await tx.connection.fetchrow(
            "SELECT * FROM change_log WHERE field = 'registered_address' ORDER BY id DESC LIMIT 1")
        assert (await tx.connection.fetchval("SELECT registered_address FROM profile")) == "浦东新区金丝雀路1号"
    assert log["actor_name"] == "租户小王" and log["approved_by"].startswith("员工") and log["request_id"] == request_id
    other_clerk = await client_factory()
    await factories.sign_in(other_clerk, world["clerk2"]["username"])
    assert (await other_clerk.get(page_path)).status_code == 404
    assert await DB.pool.fetchval(
        "SELECT pending_reviews FROM core.tenant WHERE id = $1", world["a"]) == 0


async def test_a_unit_is_leased_to_one_active_tenant(world):
    from portal.core.errors import FormErrors

    unit = world["b1"]["unit_ids"][0]
    data = {"name": "先租有限公司", "kind": "E", "level": "0", "status": "active", "business_letter": "A",
            "credit_code": factories.credit_code()}
    await registry.create_tenant(data, [], [unit], factories.SYSTEM, business_letters={"A": "写字楼租赁"})
    with pytest.raises(FormErrors) as err:
        await registry.create_tenant({**data, "name": "后租有限公司", "credit_code": factories.credit_code()}, [],
                                     [unit], factories.SYSTEM, business_letters={"A": "写字楼租赁"})
    assert err.value.codes["unit_ids"] == "unit_ids.taken"
