"""Browser: the language switch after a failed form POST shows the form page
again (by GET, in the other language), and the duplicate-identity warning
lets staff confirm the same company moving; both files then name each other."""

from __future__ import annotations

import os

import pytest

from tests import factories

pytestmark = pytest.mark.e2e
MOVING = "迁址浏览器测试有限公司"


async def _staff_page(browser, live_server, person, width=1280, height=900):
    page = await (await browser.new_context(viewport={"width": width, "height": height})).new_page()
    await page.goto(f"{live_server}/console/login")
    await page.fill("#f-login", person["username"])
    await page.fill("#f-password", person["password"])
    await page.click("button.primary")
    await page.wait_for_url(f"{live_server}/console/")
    return page


async def test_language_switch_after_a_failed_post(live_server, browser, shots, database):
    bld = await factories.building()
    tenant = await factories.tenant(bld)
    clerk = await factories.staff(["clerk"], [bld["id"]])
    page = await _staff_page(browser, live_server, clerk, 390, 844)
    form = f"{live_server}/console/tenants/{tenant}/contacts/new"
    await page.goto(form)
    await page.click("button.primary")  # empty: refused with inline errors
    assert page.url == form
    await page.screenshot(path=os.path.join(shots, "lang-after-failed-post-zh.png"), full_page=True)
    response_status = []
    page.on("response", lambda r: response_status.append(r.status) if r.request.resource_type == "document" else None)
    await page.click("a.lang")
    await page.wait_for_load_state()
    assert response_status and response_status[-1] == 200
    assert page.url.startswith(form) and "lang=en" in page.url
    assert await page.get_attribute("html", "lang") == "en"
    await page.screenshot(path=os.path.join(shots, "lang-after-failed-post-en.png"), full_page=True)


async def test_duplicate_identity_warning_and_link(live_server, browser, shots, database):
    bld = await factories.building()
    code = factories.credit_code()
    old = await factories.tenant(bld, name="旧址" + MOVING, credit_code=code)
    clerk = await factories.staff(["clerk"], [bld["id"]])
    page = await _staff_page(browser, live_server, clerk)
    await page.goto(f"{live_server}/console/tenants/new")
    await page.fill("#f-name", MOVING)
    await page.select_option("#f-kind", "E")
    await page.fill("#f-credit_code", code)
    await page.select_option("#f-business_letter", "A")
    await page.check(f"input[name=unit_ids][value='{bld['unit_ids'][0]}']")
    await page.click("button.primary")
    warning = page.locator("[role=alert]", has_text="旧址" + MOVING)
    assert await warning.count() == 1
    await page.screenshot(path=os.path.join(shots, "duplicate-identity-warning.png"), full_page=True)
    await page.check("input[name=confirm_same_company]")
    await page.click("button.primary")
    await page.wait_for_url("**/console/tenants/*?created=1")
    assert "旧址" + MOVING in await page.inner_text("main")
    new_archive_no = (await page.inner_text("h1 .mono")).strip()
    await page.screenshot(path=os.path.join(shots, "duplicate-identity-linked.png"), full_page=True)
    await page.goto(f"{live_server}/console/tenants/{old}")
    assert new_archive_no in await page.inner_text("section[aria-labelledby=h-profile]")
