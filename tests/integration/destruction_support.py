"""Builders for the destruction tests: a tenant with documents (several versions),
money, a loan and a portal user; the people of the flow; a request driven to cooling."""

from __future__ import annotations

import datetime as dt

import pytest_asyncio

from documents import lending
from portal.core.db import DB
from portal.core.roles import Principal, Role
from tenants.destruction import service
from tenants.money import charges, payments
from tenants.registry import service as registry
from tests import factories
from tests.integration.docs_support import META, doc_id_of, pdf_bytes, upload

FINANCE = Principal(kind="staff", user_id=9801, name="财务销毁测试", roles=frozenset({Role.FINANCE}))


def person(staff: dict, *roles: str, buildings=()) -> Principal:
    return Principal(kind="staff", user_id=staff["id"], name=staff["username"],
                     roles=frozenset(Role(r) for r in roles), building_ids=frozenset(buildings))


async def people(bld_id: int) -> dict[str, Principal]:
    made = {}
    for key, roles in (("archivist", ["archivist"]), ("archivist2", ["archivist"]), ("gm", ["general_manager"]),
                       ("supervisor", ["supervisor"]), ("clerk", ["clerk"])):
        staff = await factories.staff(roles, [bld_id])
        made[key] = person(staff, *roles, buildings=[bld_id])
        made[key + "_login"] = staff["username"]
    return made


async def tenant_with_everything(client, bld: dict, *, marker: str) -> dict:
    """A tenant with two documents (the first with two versions), a charge and a payment,
    a portal user and a loan of its file; ``client`` is a signed-in clerk of the building."""
    tenant_id = await factories.tenant(bld, name="销毁测试公司" + factories.uuid.uuid4().hex[:4])
    ref = await registry.get_ref(tenant_id)
    first = doc_id_of(await upload(client, tenant_id, pdf_bytes(marker + "-1")))
    token = await factories.form_token(client, f"/console/tenants/{tenant_id}/documents/{first}")
    response = await client.post(f"/console/tenants/{tenant_id}/documents/{first}/versions",
                                 data={"_csrf_token": token},
                                 files={"file": ("v2.pdf", pdf_bytes(marker + "-2", pages=2), "application/pdf")})
    assert response.status_code in (302, 303), response.text[:300]
    second = doc_id_of(await upload(client, tenant_id, pdf_bytes(marker + "-3"),
                                    meta={**META, "title": "租赁合同", "issue_date": "2023-05-01"}))
    await charges.add_manual_charge(ref, {"fee_item": "utilities", "amount": "120.00", "due_date": "2026-03-10",
                                          "reason": "水电抄表"}, FINANCE)
    await payments.record_payment(ref, {"amount": "20", "paid_on": "2026-03-11", "method": "cash"}, FINANCE)
    portal = await factories.portal_user(tenant_id)
    borrower = person(await factories.staff(["clerk"], [bld["id"]]), "clerk", buildings=[bld["id"]])
    due = (dt.date.today() + dt.timedelta(days=5)).isoformat()
    loan_id = await lending.create_loan(borrower, {"tenant_ids": str(tenant_id), "mode": "paper", "due_date": due,
                                                   "purpose": "销毁前核对"})
    return {"id": tenant_id, "ref": ref, "docs": [first, second], "portal": portal, "loan": loan_id}


REQUEST = {"scope": "file", "reason": "保管期满", "signer_1": "档案员甲", "signer_2": "监销人乙"}


async def approved(tenant_id: int, p: dict, raw: dict | None = None, cooling_days: int = 7) -> int:
    """A request by the archivist, reviewed by the second archivist, approved by the GM then the supervisor."""
    request_id = await service.create_request(tenant_id, raw or REQUEST, p["archivist"])
    assert await service.decide(request_id, {"decision": "approve"}, p["archivist2"], cooling_days=cooling_days) == "approval_1"
    assert await service.decide(request_id, {"decision": "approve"}, p["gm"], cooling_days=cooling_days) == "approval_2"
    assert await service.decide(request_id, {"decision": "approve"}, p["supervisor"], cooling_days=cooling_days) == "cooling"
    return request_id


async def start(request_id: int) -> None:
    """End the cooling-off period of this request now and start it (the beat's work), no task sent."""
    await DB.pool.execute("UPDATE core.destruction_request SET cooling_until = now() - interval '1 second'"
                          " WHERE id = $1", request_id)


@pytest_asyncio.fixture
async def bench(database, client_factory):
    bld = await factories.building()
    p = await people(bld["id"])
    clerk = await factories.staff(["clerk"], [bld["id"]])
    client = await client_factory()
    response = await factories.sign_in(client, clerk["username"])
    assert response.status_code in (302, 303)
    return {"bld": bld, "p": p, "client": client, "client_factory": client_factory}
