"""Money pages respect the building scope: a clerk of another building can
neither open a tenant's money page, its notices nor see it in the arrears list."""

from __future__ import annotations

import datetime as dt

from portal.core.roles import Principal, Role
from tenants.money import charges, notices_issue
from tenants.registry import service as registry
from tests import factories

FINANCE = Principal(kind="staff", user_id=0, name="财务测试", roles=frozenset({Role.FINANCE}))
CANARY = "欠费隔离检验有限公司"


async def test_money_pages_are_building_scoped(database, services, settings, client_factory):
    home, elsewhere = await factories.building(), await factories.building()
    ref = await registry.get_ref(await factories.tenant(home, name=CANARY))
    await charges.add_manual_charge(ref, {"fee_item": "management", "amount": "800", "due_date": "2026-01-10",
                                          "reason": "一月物业费"}, FINANCE)
    notice_id = await notices_issue.issue(ref, "arrears", settings, actor=FINANCE, as_of=dt.date(2026, 3, 1))

    outsider = await factories.staff(["clerk"], [elsewhere["id"]])
    client = await client_factory()
    await factories.sign_in(client, outsider["username"])
    for path in (f"/console/tenants/{ref.id}/money", f"/console/tenants/{ref.id}/money/notices/{notice_id}/pdf",
                 f"/console/tenants/{ref.id}/money/statement.pdf"):
        response = await client.get(path)
        assert response.status_code == 404, path
        assert CANARY not in response.text
    report = await client.get("/console/money/arrears", params={"as_of": "2026-06-01"})
    assert report.status_code == 200 and CANARY not in report.text

    insider = await factories.staff(["clerk"], [home["id"]])
    inside = await client_factory()
    await factories.sign_in(inside, insider["username"])
    assert CANARY in (await inside.get("/console/money/arrears", params={"as_of": "2026-06-01"})).text
    assert (await inside.get(f"/console/tenants/{ref.id}/money")).status_code == 200
