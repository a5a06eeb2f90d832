"""Browser: a complaint's discount approved by the general manager shows on the
case page and the money tab in the console (1280x800) and on the tenant's
money page on a phone (390x844: 44 px targets, no sideways scroll) as
"减免（投诉 TS…）". Screenshots go to the e2e folder and /work/shots/credit when it exists."""

from __future__ import annotations

import os

import pytest

from portal.core.roles import Principal, Role
from tenants.complaints import service
from tenants.money import charges
from tenants.registry import service as registry
from tests import factories
from tests.e2e.test_complaints_walk import DESK, PHONE, _staff_page
from tests.e2e.test_portal_phone import MEASURE, _sign_in
from tests.integration.test_complaints_flow import NEW, STEP_DATA, person

pytestmark = pytest.mark.e2e
EXTRA_SHOTS = "/work/shots/credit"
FINANCE = Principal(kind="staff", user_id=9201, name="财务甲", roles=frozenset({Role.FINANCE}))


async def _shoot(page, shots: str, name: str) -> None:
    await page.screenshot(path=os.path.join(shots, name), full_page=True)
    if os.path.isdir(EXTRA_SHOTS):
        await page.screenshot(path=os.path.join(EXTRA_SHOTS, name), full_page=True)


async def test_credit_on_case_and_money_pages(live_server, browser, shots, database):
    bld = await factories.building()
    ref = await registry.get_ref(await factories.tenant(bld, name="上海减免测试商贸有限公司"))
    b = [bld["id"]]
    rows = {name: await factories.staff(roles, b) for name, roles in (
        ("clerk", ["clerk"]), ("clerk2", ["clerk"]), ("supervisor", ["supervisor"]), ("gm", ["general_manager"]),
        ("finance", ["finance"]))}
    roles = {"clerk": "clerk", "clerk2": "clerk", "supervisor": "supervisor", "gm": "general_manager",
             "finance": "finance"}
    p = {k: person(v, roles[k], buildings=b) for k, v in rows.items()}
    for due, amount in (("2026-09-10", "120.00"), ("2026-10-10", "680.00")):
        await charges.add_manual_charge(ref, {"fee_item": "utilities", "amount": amount, "due_date": due,
                                              "reason": "水电抄表"}, FINANCE)
    cid = await service.lodge(ref, NEW, p["clerk"])
    for step, who in [("stands", "clerk"), ("assign", "clerk"), ("cause", "clerk2"), ("remedy", "clerk"),
                      ("supervisor", "supervisor"), ("gm", "gm")]:
        await service.decide(ref, cid, {"decision": "approve", "expected_step": step, **STEP_DATA[step]}, p[who])
    number = (await service.read(ref, cid, p["clerk"]))["number"]
    label = f"减免（投诉 {number}）"

    context, page = await _staff_page(browser, live_server, rows["clerk"])
    await page.goto(f"{live_server}/console/tenants/{ref.id}/complaints/{cid}")
    assert await page.is_visible("text=已记入账目的减免")
    await _shoot(page, shots, "desk-complaint-credit.png")
    await context.close()
    context, page = await _staff_page(browser, live_server, rows["finance"])
    await page.goto(f"{live_server}/console/tenants/{ref.id}/money")
    assert await page.is_visible(f"text={label}")
    await _shoot(page, shots, "desk-money-credit.png")
    await context.close()

    user = await factories.portal_user(ref.id)
    phone = await browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
    page = await phone.new_page()
    await _sign_in(page, live_server, user)
    await page.goto(f"{live_server}/portal/money")
    assert label in await page.content()
    found = await page.evaluate(MEASURE)
    assert not [t for t in found["targets"] if t["height"] < 44], found["targets"]
    assert found["overflow"] <= 0
    await _shoot(page, shots, "phone-money-credit.png")
    await phone.close()
    assert DESK["width"] == 1280
