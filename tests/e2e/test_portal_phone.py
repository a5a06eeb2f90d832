"""Browser at 390x844 (a phone): the portal's touch targets are at least 44 px,
form fields use 16 px text (iOS does not zoom), the header is one sticky line
with a menu that opens without JavaScript, and no page scrolls sideways.
The tenant withdraws a pending request from the phone."""

from __future__ import annotations

import os

import pytest

from portal.core.roles import Principal, Role
from tenants.file import service as file_service
from tenants.money import charges, deposits, payments
from tenants.registry import service as registry
from tests import factories

pytestmark = pytest.mark.e2e
PHONE = {"width": 390, "height": 844}
FINANCE = Principal(kind="staff", user_id=9401, name="财务丁", roles=frozenset({Role.FINANCE}))
PAGES = ["/portal/", "/portal/money", "/portal/documents", "/portal/requests/profile", "/portal/requests/contacts/new"]

# Everything a finger can press, and every field, as the page lays them out.
MEASURE = """() => {
  const shown = el => { const r = el.getBoundingClientRect(); const s = getComputedStyle(el);
    return r.width > 0 && r.height > 0 && s.visibility !== 'hidden'; };
  const label = el => (el.innerText || el.value || el.name || el.tagName).trim().slice(0, 30);
  const targets = [...document.querySelectorAll('header a, header summary, header button, main a, main button,'
    + ' main summary, main select, main textarea, main input:not([type=hidden]):not([type=checkbox]):not([type=radio])')]
    .filter(shown).map(el => ({what: label(el), height: el.getBoundingClientRect().height}));
  const fields = [...document.querySelectorAll('input:not([type=hidden]), select, textarea')].filter(shown)
    .map(el => ({what: label(el), size: parseFloat(getComputedStyle(el).fontSize)}));
  const header = document.querySelector('header.topbar');
  return {targets, fields, overflow: document.documentElement.scrollWidth - window.innerWidth,
          headerHeight: header.getBoundingClientRect().height, headerPosition: getComputedStyle(header).position};
}"""


async def _sign_in(page, base: str, user: dict) -> None:
    await page.goto(f"{base}/portal/login")
    await page.fill("input[name=login]", user["email"])
    await page.fill("input[name=password]", user["password"])
    await page.click("main button")
    await page.wait_for_url(f"{base}/portal/")


async def test_portal_on_a_phone(live_server, browser, shots, database):
    bld = await factories.building()
    ref = await registry.get_ref(await factories.tenant(bld, name="上海手机测试贸易有限公司"))
    user = await factories.portal_user(ref.id)
    for month in range(1, 4):
        await charges.add_manual_charge(ref, {"fee_item": "management", "amount": "12000.50",
                                              "due_date": f"2026-0{month}-10", "reason": "物业费"}, FINANCE)
    await payments.record_payment(ref, {"amount": "8000", "paid_on": "2026-01-15", "method": "bank_transfer"}, FINANCE)
    await file_service.submit_request(ref, await _principal(user), "profile", {"industry": "电子商务"})

    context = await browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
    page = await context.new_page()
    await _sign_in(page, live_server, user)
    for path in PAGES:
        await page.goto(f"{live_server}{path}")
        found = await page.evaluate(MEASURE)
        name = path.strip("/").replace("/", "-") or "home"
        await page.screenshot(path=os.path.join(shots, f"phone-{name}.png"), full_page=True)
        small = [t for t in found["targets"] if t["height"] < 44]
        assert not small, f"{path}: touch targets under 44 px: {small}"
        zooming = [f for f in found["fields"] if f["size"] < 16]
        assert not zooming, f"{path}: fields under 16 px: {zooming}"
        assert found["overflow"] <= 0, f"{path} scrolls sideways by {found['overflow']} px"
        assert found["headerPosition"] == "sticky" and found["headerHeight"] <= 60, (path, found["headerHeight"])
        assert not await page.is_visible(".nav-wide")

    # The header stays on top while the page scrolls, and its menu opens without JavaScript.
    await page.goto(f"{live_server}/portal/money")
    await page.mouse.wheel(0, 1500)
    await page.wait_for_timeout(200)
    assert await page.evaluate("() => document.querySelector('header.topbar').getBoundingClientRect().top") == 0
    no_js = await browser.new_context(viewport=PHONE, java_script_enabled=False)
    plain = await no_js.new_page()
    await _sign_in(plain, live_server, user)
    assert not await plain.is_visible(".nav-menu .nav-links")
    await plain.click(".nav-menu summary")
    assert await plain.is_visible(".nav-menu a[href='/portal/money']")
    heights = await plain.eval_on_selector_all(".nav-menu .nav-links a", "els => els.map(e => e.offsetHeight)")
    assert len(heights) == 6 and min(heights) >= 44, heights
    await plain.screenshot(path=os.path.join(shots, "phone-menu-open.png"))
    await plain.click(".nav-menu a[href='/portal/money']")
    await plain.wait_for_url(f"{live_server}/portal/money")
    await no_js.close()

    # Withdrawing the pending request, with the confirmation step.
    await page.goto(f"{live_server}/portal/#requests")
    await page.click("#requests a[href$='/withdraw']")
    await page.wait_for_url("**/withdraw")
    assert "电子商务" in await page.inner_text("main")
    await page.screenshot(path=os.path.join(shots, "phone-withdraw.png"), full_page=True)
    await page.click("main form button")
    await page.wait_for_url("**/portal/?withdrawn=1#requests")
    assert "已撤回" in await page.inner_text("#requests")
    await context.close()

    wide = await browser.new_context(viewport={"width": 1280, "height": 900})
    desk = await wide.new_page()
    await _sign_in(desk, live_server, user)
    assert await desk.is_visible(".nav-wide a[href='/portal/money']") and not await desk.is_visible(".nav-menu")
    await desk.screenshot(path=os.path.join(shots, "desktop-portal-home.png"), full_page=True)
    await wide.close()


async def _principal(user: dict) -> Principal:
    from portal.accounts import service as accounts
    from portal.core.db import DB

    epoch = await DB.pool.fetchval("SELECT session_epoch FROM core.portal_user WHERE id = $1", user["id"])
    return await accounts.load_principal("portal", user["id"], epoch)


async def test_staff_read_events_and_review_diffs_in_the_browser(live_server, browser, shots, database):
    """Desktop console: the review shows only the changed yes/no field; the change log and
    the audit log read as sentences with money (looked at in the screenshots)."""
    bld = await factories.building()
    ref = await registry.get_ref(await factories.tenant(bld, name="上海审阅测试有限公司"))
    user = await factories.portal_user(ref.id)
    await deposits.receive_deposit(ref, {"kind": "lease_security", "amount": "3000"}, FINANCE)
    await payments.record_payment(ref, {"amount": "3000", "paid_on": "2026-01-15", "method": "bank_transfer"}, FINANCE)
    contact = (await file_service.read_file(ref, factories.SYSTEM, audit_view=False))["contacts"][0]
    form = {k: contact[k] for k in ("name", "position", "mobile", "landline", "email")}
    form.update({"is_primary": True, "receives_notices": True, "is_emergency": True})
    request_id = await file_service.submit_request(ref, await _principal(user), "contact_update", form,
                                                   target_id=contact["id"])
    head = await factories.staff(["general_manager", "auditor"])

    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    await page.goto(f"{live_server}/console/login")
    await page.fill("input[name=login]", head["username"])
    await page.fill("input[name=password]", head["password"])
    await page.click("main button")
    await page.wait_for_url(f"{live_server}/console/")
    await page.goto(f"{live_server}/console/reviews/{ref.id}/{request_id}")
    rows = await page.locator("table.diff tbody tr").all_inner_texts()
    assert len(rows) == 1 and "紧急联系人" in rows[0] and "True" not in rows[0], rows
    await page.screenshot(path=os.path.join(shots, "console-review-diff.png"), full_page=True)
    await page.goto(f"{live_server}/console/tenants/{ref.id}")
    log = await page.inner_text("ul.events")
    assert "¥3,000.00" in log and "银行转账" in log and "#" not in log
    await page.locator("ul.events").screenshot(path=os.path.join(shots, "console-change-log.png"))
    await page.goto(f"{live_server}/console/audit")
    listing = await page.inner_text("table.log")
    assert "¥3,000.00" in listing and "money." not in listing and "{" not in listing
    await page.screenshot(path=os.path.join(shots, "console-audit.png"))
    await context.close()
