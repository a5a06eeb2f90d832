"""Browser: the retention pages (periods, disposition list, dormant files,
reactivation) at 1280x800 and on a phone (390x844): fields of 16 px or more,
touch targets of 44 px or more in the page body, nothing scrolls sideways."""

from __future__ import annotations

import datetime as dt
import os

import pytest

from portal.core.db import DB
from tenants.registry import service as registry
from tenants.retention import disposition, service as retention
from tests import factories

pytestmark = pytest.mark.e2e
SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
MEASURE = """() => {
  const shown = el => { const r = el.getBoundingClientRect(); const s = getComputedStyle(el);
    return r.width > 0 && r.height > 0 && s.visibility !== 'hidden'; };
  const label = el => (el.innerText || el.value || el.name || el.tagName).trim().slice(0, 30);
  const targets = [...document.querySelectorAll('main button, main select, main textarea, main a.button,'
    + ' main input:not([type=hidden]):not([type=checkbox])')]
    .filter(shown).map(el => ({what: label(el), height: el.getBoundingClientRect().height}));
  const fields = [...document.querySelectorAll('main input:not([type=hidden]), main select, main textarea')]
    .filter(shown).map(el => ({what: label(el), size: parseFloat(getComputedStyle(el).fontSize)}));
  return {targets, fields, overflow: document.documentElement.scrollWidth - window.innerWidth};
}"""


async def test_retention_pages_on_desktop_and_phone(live_server, browser, shots, database):
    bld = await factories.building()
    ref = await registry.get_ref(await factories.tenant(bld, name="上海休眠浏览器测试有限公司", level="0"))
    await DB.pool.execute("UPDATE core.tenant SET last_business_on = $2 WHERE id = $1", ref.id, dt.date(2015, 3, 1))
    await retention.make_dormant(ref, dt.date(2016, 3, 1))
    await disposition.build(built_by="test")
    archivist = await factories.staff(["archivist"])
    folder = os.environ.get("RETENTION_SHOTS") or shots
    os.makedirs(folder, exist_ok=True)
    pages = ["/console/retention", "/console/retention/disposition", "/console/retention/dormant",
             f"/console/tenants/{ref.id}/reactivate", f"/console/tenants/{ref.id}"]
    for size, viewport in SIZES.items():
        context = await browser.new_context(viewport=viewport, is_mobile=size == "phone", has_touch=size == "phone")
        page = await context.new_page()
        await page.goto(f"{live_server}/console/login")
        await page.fill("#f-login", archivist["username"])
        await page.fill("#f-password", archivist["password"])
        await page.click("button.primary")
        await page.wait_for_url(f"{live_server}/console/")
        for path in pages:
            response = await page.goto(f"{live_server}{path}")
            assert response.status == 200, path
            found = await page.evaluate(MEASURE)
            name = path.strip("/").replace("/", "-")
            await page.screenshot(path=os.path.join(folder, f"{size}-{name}.png"), full_page=True)
            if size == "phone" and path != f"/console/tenants/{ref.id}":  # the file page is not ours
                zooming = [f for f in found["fields"] if f["size"] < 16]
                assert not zooming, f"{path}: fields under 16 px: {zooming}"
                small = [t for t in found["targets"] if t["height"] < 44]
                assert not small, f"{path}: touch targets under 44 px: {small}"
                assert found["overflow"] <= 0, f"{path} scrolls sideways by {found['overflow']} px"
        await context.close()
