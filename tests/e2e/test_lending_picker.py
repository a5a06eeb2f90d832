"""Browser: the lending form finds a tenant file by name as you type (HTMX),
lists its documents by title, and the request shows the title; a file of
another building is never offered. Screenshots on desktop and phone."""

from __future__ import annotations

import datetime as dt
import os

import pytest

from tests import factories

pytestmark = pytest.mark.e2e


async def _file_a_document(tenant_id: int, title: str) -> None:
    from tenants.registry.service import get_ref
    from tenants.scope import tenant_tx

    ref = await get_ref(tenant_id)
    async with tenant_tx(ref.schema) as tx:  # a filed record is all the picker reads
        await tx.connection.execute(
            "INSERT INTO document (uid, category, title, source, uploaded_by_kind, uploaded_by)"
            " VALUES (gen_random_uuid(), 'contract', $1, 'staff_upload', 'staff', 'e2e')", title)


async def test_lending_form_search_as_you_type(live_server, browser, shots, database):
    bld, other = await factories.building(), await factories.building()
    mine = await factories.tenant(bld, name="浏览器借阅测试有限公司")
    await factories.tenant(other, name="浏览器借阅隔壁有限公司")
    await _file_a_document(mine, "二〇二五年租赁合同")
    clerk = await factories.staff(["clerk"], [bld["id"]])

    for width, height, suffix in ((1280, 900, "desktop"), (390, 844, "phone")):
        page = await (await browser.new_context(viewport={"width": width, "height": height})).new_page()
        searches: list[str] = []
        page.on("request", lambda r: searches.append(r.url) if "/console/lending/pick" in r.url else None)
        await page.goto(f"{live_server}/console/login")
        await page.fill("#f-login", clerk["username"])
        await page.fill("#f-password", clerk["password"])
        await page.click("button.primary")
        await page.wait_for_url(f"{live_server}/console/")
        await page.goto(f"{live_server}/console/lending/new")
        await page.select_option("#f-mode", "paper")
        await page.type("#f-q", "浏览器借阅")
        await page.wait_for_selector(f"#f-tenant-{mine}")
        assert "隔壁" not in await page.inner_text("#lending-pick")
        await page.check(f"#f-tenant-{mine}")
        await page.wait_for_selector("text=二〇二五年租赁合同")
        await page.check("#lending-pick input[name=document_ids]")
        assert searches and not any("csrf" in url for url in searches)  # the token stays out of URLs
        await page.fill("#f-due_date", (dt.date.today() + dt.timedelta(days=5)).isoformat())
        await page.fill("#f-purpose", "核对合同条款")
        await page.screenshot(path=os.path.join(shots, f"lending-form-{suffix}.png"), full_page=True)
        await page.click("form[action='/console/lending/new'] button.primary")
        await page.wait_for_url("**/console/lending/*?submitted=1")
        assert "二〇二五年租赁合同" in await page.inner_text("main")
        await page.screenshot(path=os.path.join(shots, f"lending-loan-{suffix}.png"), full_page=True)

    # The department head of the building sees the request on the home page.
    head = await factories.staff(["dept_head"], [bld["id"]])
    page = await (await browser.new_context(viewport={"width": 1280, "height": 900})).new_page()
    await page.goto(f"{live_server}/console/login")
    await page.fill("#f-login", head["username"])
    await page.fill("#f-password", head["password"])
    await page.click("button.primary")
    await page.wait_for_url(f"{live_server}/console/")
    assert "浏览器借阅测试有限公司" in await page.inner_text("#h-approvals + ul")
    await page.screenshot(path=os.path.join(shots, "home-approvals.png"), full_page=True)

    # A clerk of the other building asks for this file by archive number (English): the page
    # shows the number only; the name is for the approvers.
    outsider = await factories.staff(["clerk"], [other["id"]])
    page = await (await browser.new_context(viewport={"width": 390, "height": 844})).new_page()
    await page.goto(f"{live_server}/console/login?lang=en")
    await page.fill("#f-login", outsider["username"])
    await page.fill("#f-password", outsider["password"])
    await page.click("button.primary")
    await page.wait_for_url(f"{live_server}/console/")
    await page.goto(f"{live_server}/console/lending/new")
    await page.select_option("#f-mode", "outside")
    await page.fill("#f-archive_nos", await _archive_no(mine))
    await page.fill("#f-due_date", (dt.date.today() + dt.timedelta(days=2)).isoformat())
    await page.fill("#f-purpose", "Dispute about the shared wall")
    await page.click("form[action='/console/lending/new'] button.primary")
    await page.wait_for_url("**/console/lending/*?submitted=1")
    text = await page.inner_text("main")
    assert "Waiting for the leadership" in text and "浏览器借阅测试有限公司" not in text
    await page.screenshot(path=os.path.join(shots, "lending-outside-borrower-en.png"), full_page=True)


async def _archive_no(tenant_id: int) -> str:
    from portal.core.db import DB

    return await DB.pool.fetchval("SELECT archive_no FROM core.tenant WHERE id = $1", tenant_id)
