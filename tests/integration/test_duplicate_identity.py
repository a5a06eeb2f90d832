"""One company, one identity: a credit code or resident ID already on another
tenant's file is refused (localized, nothing saved) unless staff confirm it
is the same company moving; the two files are then linked and each file page
names the other. Staff outside the other file's buildings never see its name."""

from __future__ import annotations

import importlib

import pytest

from portal.core.db import DB
from tenants.registry import service as registry
from tests import factories
from tests.integration.test_api import new_tenant_body, staff_api

OLD_NAME = "旧址迁出科技有限公司"


@pytest.fixture
async def world(database):
    b1, b2 = await factories.building(), await factories.building()
    code = factories.credit_code()
    old = await factories.tenant(b1, name=OLD_NAME, credit_code=code)
    return {"b1": b1, "b2": b2, "code": code, "old": old,
            "clerk1": await factories.staff(["clerk"], [b1["id"]]),
            "clerk2": await factories.staff(["clerk"], [b2["id"]])}


async def _signed_in(client_factory, person):
    client = await client_factory()
    await factories.sign_in(client, person["username"])
    return client


def _new_form(world, token: str, building: dict, **extra) -> dict:
    return {"_csrf_token": token, "name": "新址同一科技有限公司", "kind": "E", "level": "0", "status": "active",
            "business_letter": "A", "credit_code": world["code"].lower(), "unit_ids": str(building["unit_ids"][0]),
            **extra}


async def _links(tenant_id: int) -> list[tuple[int, int]]:
    rows = await DB.pool.fetch("SELECT tenant_id, linked_tenant_id FROM core.tenant_link"
                               " WHERE $1 IN (tenant_id, linked_tenant_id)", tenant_id)
    return [(r["tenant_id"], r["linked_tenant_id"]) for r in rows]


async def test_create_with_a_code_on_file_warns_then_links_when_confirmed(world, client_factory):
    client = await _signed_in(client_factory, world["clerk1"])
    token = await factories.form_token(client, "/console/tenants/new")
    count = await DB.pool.fetchval("SELECT count(*) FROM core.tenant")

    refused = await client.post("/console/tenants/new", data=_new_form(world, token, world["b1"]))
    assert refused.status_code == 422
    assert "该证件号码已登记在另一租户的档案中" in refused.text
    assert OLD_NAME in refused.text and 'name="confirm_same_company"' in refused.text
    assert await DB.pool.fetchval("SELECT count(*) FROM core.tenant") == count

    created = await client.post("/console/tenants/new",
                                data=_new_form(world, token, world["b1"], confirm_same_company="1"))
    assert created.status_code == 302, created.text
    new_id = int(created.headers["location"].split("/")[3].split("?")[0])
    assert await _links(new_id) == [(new_id, world["old"])]
    old_ref, new_ref = await registry.get_ref(world["old"]), await registry.get_ref(new_id)
    for page_of, other in ((new_id, old_ref), (world["old"], new_ref)):
        page = await client.get(f"/console/tenants/{page_of}")
        assert "同一公司的档案" in page.text and other.archive_no in page.text
    english = await client.get(f"/console/tenants/{new_id}?lang=en")
    assert "Same company as" in english.text


async def test_staff_outside_the_other_files_buildings_do_not_learn_its_name(world, client_factory):
    client = await _signed_in(client_factory, world["clerk2"])
    token = await factories.form_token(client, "/console/tenants/new")
    refused = await client.post("/console/tenants/new", data=_new_form(world, token, world["b2"]))
    assert refused.status_code == 422
    assert OLD_NAME not in refused.text and (await registry.get_ref(world["old"])).archive_no not in refused.text
    assert "您负责楼宇以外的租户" in refused.text
    created = await client.post("/console/tenants/new",
                                data=_new_form(world, token, world["b2"], confirm_same_company="on"))
    new_id = int(created.headers["location"].split("/")[3].split("?")[0])
    page = await client.get(f"/console/tenants/{new_id}")
    assert "您负责楼宇以外的租户" in page.text and OLD_NAME not in page.text
    assert (await client.get(f"/console/tenants/{world['old']}")).status_code == 404


async def test_editing_to_a_code_on_file_is_refused_unless_confirmed(world, client_factory):
    other = await factories.tenant(world["b1"])
    client = await _signed_in(client_factory, world["clerk1"])
    token = await factories.form_token(client, f"/console/tenants/{other}/edit")
    form = {"_csrf_token": token, "name": "另一公司", "kind": "E", "level": "1", "status": "active",
            "credit_code": world["code"]}
    refused = await client.post(f"/console/tenants/{other}/edit", data=form)
    assert refused.status_code == 422 and OLD_NAME in refused.text
    assert (await registry.get_ref(other)).name != "另一公司"
    saved = await client.post(f"/console/tenants/{other}/edit", data={**form, "confirm_same_company": "1"})
    assert saved.status_code == 302
    assert await _links(other) == [(other, world["old"])]
    # Saving again without touching the code asks nothing more.
    again = await client.post(f"/console/tenants/{other}/edit", data={**form, "name": "另一公司二"})
    assert again.status_code == 302


async def test_api_refuses_a_duplicate_code_with_a_field_code(world, client_factory):
    api = await staff_api(client_factory, ["archivist"])
    body = new_tenant_body(world["b2"], credit_code=world["code"])
    refused = await api.post("/tenants", body, headers={"accept-language": "en"})
    assert refused.status_code == 422
    assert refused.json()["field_codes"] == {"credit_code": "credit_code.duplicate"}
    assert refused.json()["fields"]["credit_code"].startswith("This identity number is already on file")
    created = await api.post("/tenants", {**body, "confirm_same_company": True})
    assert created.status_code == 201, created.text
    assert await _links(created.json()["id"]) == [(created.json()["id"], world["old"])]


async def test_identity_codes_reach_core_and_the_migration_fills_existing_ones(world):
    assert await DB.pool.fetchval("SELECT identity_code FROM core.tenant WHERE id = $1", world["old"]) == world["code"]
    migration = importlib.import_module("migrations.core.m0006_identity_links")
    async with DB.transaction() as tx:
        await tx.connection.execute("UPDATE core.tenant SET identity_code = NULL WHERE id = $1", world["old"])
        await migration.forwards(tx.connection)
        restored = await tx.connection.fetchval("SELECT identity_code FROM core.tenant WHERE id = $1", world["old"])
    assert restored == world["code"]
