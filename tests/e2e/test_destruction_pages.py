"""The hold register and a destruction in its cooling-off period, in a browser at
desktop and phone sizes: the countdown shows, the forms have labels, the phone
layout has no horizontal scroll and touch-sized buttons."""

from __future__ import annotations

import os

from portal.core.roles import Principal, Role
from tenants.destruction import holds, service
from tests import factories


def _p(staff: dict, role: str) -> Principal:
    return Principal(kind="staff", user_id=staff["id"], name=staff["username"], roles=frozenset({Role(role)}))


async def test_hold_register_and_cooling_off_countdown(live_server, browser, shots, database):
    bld = await factories.building()
    held = await factories.tenant(bld, name="浏览器保全测试有限公司")
    cooling = await factories.tenant(bld, name="浏览器销毁测试有限公司")
    archivist, archivist2 = await factories.staff(["archivist"]), await factories.staff(["archivist"])
    gm, supervisor = await factories.staff(["general_manager"]), await factories.staff(["supervisor"])
    await holds.place_hold(held, {"scope": "file", "reason": "租金纠纷诉讼", "case_ref": "（2026）沪0115民初7号"},
                           _p(archivist, "archivist"))
    request_id = await service.create_request(cooling, {"scope": "file", "reason": "保管期满", "signer_1": "甲",
                                                        "signer_2": "乙"}, _p(archivist, "archivist"))
    for staff, role in ((archivist2, "archivist"), (gm, "general_manager"), (supervisor, "supervisor")):
        await service.decide(request_id, {"decision": "approve"}, _p(staff, role), cooling_days=7)

    for width, height, suffix in ((1280, 800, "desktop"), (390, 844, "phone")):
        page = await (await browser.new_context(viewport={"width": width, "height": height})).new_page()
        await page.goto(f"{live_server}/console/login")
        await page.fill("#f-login", archivist2["username"])
        await page.fill("#f-password", archivist2["password"])
        await page.click("button.primary")
        await page.wait_for_url(f"{live_server}/console/")
        await page.goto(f"{live_server}/console/holds")
        assert "（2026）沪0115民初7号" in await page.content()
        await page.screenshot(path=os.path.join(shots, f"destruction-holds-{suffix}.png"), full_page=True)
        await page.goto(f"{live_server}/console/destruction/{request_id}")
        text = await page.inner_text("body")
        assert "冷静期" in text and "6 天" in text
        await page.screenshot(path=os.path.join(shots, f"destruction-request-{suffix}.png"), full_page=True)
        if suffix == "phone":
            assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
            heights = await page.eval_on_selector_all("main button", "els => els.map(e => e.offsetHeight)")
            assert heights and min(heights) >= 44
        await page.goto(f"{live_server}/console/destruction/new")
        await page.screenshot(path=os.path.join(shots, f"destruction-new-{suffix}.png"), full_page=True)
        await page.context.close()
