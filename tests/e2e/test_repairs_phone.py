"""Repairs in a browser: the tenant reports a leak on a phone-sized screen, it
is dispatched, the technician accepts and completes it on a phone, the tenant
confirms and rates; the dispatcher's board on a desktop. Touch targets >= 44
px, fields 16 px, nothing scrolls sideways."""

from __future__ import annotations

import os

import pytest

from tenants.registry import service as registry
from tenants.servicedesk import dispatch
from tests import factories
from tests.e2e.test_portal_phone import MEASURE
from tests.integration.repairs_support import order_row, run_body, sent_tasks, technician

pytestmark = pytest.mark.e2e
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
SHOTS = "/work/shots/repairs" if os.path.isdir("/work/shots") else None


async def _shot(page, shots: str, name: str) -> None:
    for folder in filter(None, (shots, SHOTS)):
        os.makedirs(folder, exist_ok=True)
        await page.screenshot(path=os.path.join(folder, f"{name}.png"), full_page=True)


# The console's header is the house's (not phone-made yet): console pages measure their main part.
MAIN_ONLY = MEASURE.replace("header a, header summary, header button, ", "")


async def _check_phone(page, what: str, console: bool = False) -> None:
    measured = await page.evaluate(MAIN_ONLY if console else MEASURE)
    small = [t for t in measured["targets"] if t["height"] < 44]
    tiny = [f for f in measured["fields"] if f["size"] < 16]
    assert not small and not tiny and measured["overflow"] <= 0, (what, small, tiny, measured["overflow"])


async def _sign_in(page, base: str, kind: str, login: str, password: str) -> None:
    await page.goto(f"{base}/{kind}/login")
    await page.fill("input[name=login]", login)
    await page.fill("input[name=password]", password)
    await page.click("main button")
    await page.wait_for_load_state()


async def test_a_leak_from_report_to_rating_on_phones(live_server, browser, shots, database):
    bld = await factories.building()
    ref = await registry.get_ref(await factories.tenant(bld, name="上海报修测试有限公司"))
    user = await factories.portal_user(ref.id)
    tech = await technician(bld["id"])

    tenant = await (await browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True,
                                              has_touch=True)).new_page()
    await _sign_in(tenant, live_server, "portal", user["email"], user["password"])
    await tenant.goto(f"{live_server}/portal/repairs")
    await _check_phone(tenant, "report form")
    await _shot(tenant, shots, "portal-report-phone")
    await tenant.select_option("select[name=category]", "water")
    await tenant.fill("textarea[name=description]", "卫生间水管漏水，地面有积水")
    await tenant.fill("input[name=location]", "3F 卫生间")
    await tenant.click("main form button.primary")
    await tenant.wait_for_url("**/portal/repairs/*")
    order_id = int(tenant.url.split("/portal/repairs/")[1].split("?")[0])

    with sent_tasks():  # what the dispatch task does (a worker running in this session may have done it)
        await run_body(dispatch.dispatch, ref, order_id, 0)
    row = await order_row(ref, order_id)
    assert row["status"] == "dispatched" and row["assignee_id"] == tech["id"]

    worker = await (await browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True,
                                              has_touch=True)).new_page()
    await _sign_in(worker, live_server, "console", tech["username"], tech["password"])
    await worker.goto(f"{live_server}/console/repairs/mine")
    await _check_phone(worker, "technician's list", console=True)
    await _shot(worker, shots, "technician-mine-phone")
    await worker.click("main ul.cards a")
    for label in ("accept", "on-site"):
        await worker.click(f"form[action$='/{label}'] button")
        await worker.wait_for_load_state()
    await worker.fill("form[action$='/parts'] input[name=description]", "水管接头")
    await worker.fill("form[action$='/parts'] input[name=quantity]", "2")
    await worker.fill("form[action$='/parts'] input[name=unit_price]", "15.50")
    await worker.click("form[action$='/parts'] button")
    await worker.wait_for_load_state()
    await _check_phone(worker, "technician's order", console=True)
    await _shot(worker, shots, "technician-order-phone")
    await worker.fill("form[action$='/complete'] input[name=note]", "已更换接头")
    await worker.click("form[action$='/complete'] button")
    await worker.wait_for_load_state()
    assert (await order_row(ref, order_id))["status"] == "completed"

    await tenant.goto(f"{live_server}/portal/repairs/{order_id}")
    await tenant.select_option("form[action$='/confirm'] select[name=rating]", "5")
    await tenant.fill("form[action$='/confirm'] textarea[name=comment]", "很及时")
    await _check_phone(tenant, "confirm form")
    await tenant.click("form[action$='/confirm'] button")
    await tenant.wait_for_load_state()
    await _shot(tenant, shots, "portal-closed-phone")
    row = await order_row(ref, order_id)
    assert row["status"] == "closed" and row["rating"] == 5

    desk = await factories.staff(["dispatcher"], [bld["id"]])
    board = await (await browser.new_context(viewport=DESKTOP)).new_page()
    await _sign_in(board, live_server, "console", desk["username"], desk["password"])
    await board.goto(f"{live_server}/console/repairs")
    await _shot(board, shots, "board-desktop")
    await board.goto(f"{live_server}/console/repairs/roster")
    await _shot(board, shots, "roster-desktop")
    phone_board = await (await browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)).new_page()
    await _sign_in(phone_board, live_server, "console", desk["username"], desk["password"])
    await phone_board.goto(f"{live_server}/console/repairs")
    await _shot(phone_board, shots, "board-phone")


async def test_repair_pages_are_accessible_and_keep_the_csp(live_server, browser, database):
    from tests.e2e.test_page_checks import _assert_clean, _watched_page
    from tenants.servicedesk import service
    from tests.integration.repairs_support import portal_principal

    bld = await factories.building()
    ref = await registry.get_ref(await factories.tenant(bld, name="上海报修无障碍有限公司"))
    user = await factories.portal_user(ref.id)
    tech = await technician(bld["id"])
    with sent_tasks():
        order = await service.report(ref, portal_principal(user, ref.id), {"category": "water", "description": "漏水"})
        await run_body(dispatch.dispatch, ref, order["id"], 0)
        await service.report(ref, portal_principal(user, ref.id), {"category": "lift", "description": "电梯异响",
                                                                    "urgency": "urgent"})
    desk = await factories.staff(["dispatcher", "clerk"], [bld["id"]])
    page = await _watched_page(browser)
    await _sign_in(page, live_server, "console", desk["username"], desk["password"])
    base = f"/console/tenants/{ref.id}/repairs"
    for path in ["/console/repairs", "/console/repairs/roster", base, f"{base}/{order['id']}"]:
        await page.goto(live_server + path)
        await page.wait_for_load_state("networkidle")
        await _assert_clean(page, path)
    worker = await _watched_page(browser, viewport=(390, 844))
    await _sign_in(worker, live_server, "console", tech["username"], tech["password"])
    for path in ["/console/repairs/mine", f"{base}/{order['id']}"]:
        await worker.goto(live_server + path)
        await _assert_clean(worker, "technician " + path)
    tenant = await _watched_page(browser, viewport=(390, 844))
    await _sign_in(tenant, live_server, "portal", user["email"], user["password"])
    for path in ["/portal/repairs", f"/portal/repairs/{order['id']}"]:
        await tenant.goto(live_server + path)
        await _assert_clean(tenant, path)
