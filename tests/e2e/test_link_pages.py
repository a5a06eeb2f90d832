"""Browser: the disposition list with its request buttons and the files a legal
hold keeps off it, and the destruction request prefilled from a line, at
1280x800 and on a phone (390x844): fields of 16 px or more, touch targets of
44 px or more, nothing scrolls sideways."""

from __future__ import annotations

import datetime as dt
import os

import pytest

from portal.core.db import DB
from portal.core.roles import Principal, Role
from tenants.destruction import holds
from tenants.registry import service as registry
from tenants.retention import disposition
from tests import factories
from tests.e2e.test_retention_pages import MEASURE, SIZES

pytestmark = pytest.mark.e2e


async def test_disposition_list_and_the_prefilled_request_on_desktop_and_phone(live_server, browser, shots, database):
    bld = await factories.building()
    listed = await registry.get_ref(await factories.tenant(bld, name="上海处置清单浏览器测试有限公司", level="0"))
    held = await registry.get_ref(await factories.tenant(bld, name="上海诉讼保全浏览器测试有限公司", level="0"))
    for ref in (listed, held):
        await DB.pool.execute("UPDATE core.tenant SET last_business_on = $2 WHERE id = $1", ref.id, dt.date(2015, 3, 1))
    placer = await factories.staff(["archivist"])
    await holds.place_hold(held.id, {"scope": "file", "reason": "租赁纠纷诉讼", "case_ref": "(2026)沪0115民初88号"},
                           Principal(kind="staff", user_id=placer["id"], name=placer["username"],
                                     roles=frozenset({Role.ARCHIVIST})))
    run_id = await disposition.build(built_by="test")
    line = await DB.pool.fetchval("SELECT id FROM core.disposition_item WHERE run_id = $1 AND tenant_id = $2",
                                  run_id, listed.id)
    archivist = await factories.staff(["archivist"])
    folder = os.environ.get("LINK_SHOTS") or shots
    os.makedirs(folder, exist_ok=True)
    pages = [f"/console/retention/disposition?q={listed.archive_no}", "/console/retention/disposition",
             f"/console/destruction/new?item={line}"]
    for size, viewport in SIZES.items():
        context = await browser.new_context(viewport=viewport, is_mobile=size == "phone", has_touch=size == "phone")
        page = await context.new_page()
        await page.goto(f"{live_server}/console/login")
        await page.fill("#f-login", archivist["username"])
        await page.fill("#f-password", archivist["password"])
        await page.click("button.primary")
        await page.wait_for_url(f"{live_server}/console/")
        for i, path in enumerate(pages):
            response = await page.goto(f"{live_server}{path}")
            assert response.status == 200, path
            found = await page.evaluate(MEASURE)
            await page.screenshot(path=os.path.join(folder, f"{size}-link-{i}.png"), full_page=True)
            if size == "phone":
                zooming = [f for f in found["fields"] if f["size"] < 16]
                assert not zooming, f"{path}: fields under 16 px: {zooming}"
                small = [t for t in found["targets"] if t["height"] < 44]
                assert not small, f"{path}: touch targets under 44 px: {small}"
                assert found["overflow"] <= 0, f"{path} scrolls sideways by {found['overflow']} px"
        # The button of the line opens the prefilled form.
        await page.goto(f"{live_server}{pages[0]}")
        await page.click(f'a[href="/console/destruction/new?item={line}"]')
        assert await page.input_value("#f-tenant_id") == str(listed.id)
        assert "2015-03-01" in await page.input_value("textarea[name=reason]")
        await context.close()
