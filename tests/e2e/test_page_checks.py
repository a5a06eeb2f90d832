"""Browser: the main pages of both faces pass axe-core (no serious or critical
faults), have no duplicate element ids, and run their HTMX interactions under
the Content-Security-Policy without a single violation (issue 7, items 5 and 14)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests import factories

pytestmark = pytest.mark.e2e
AXE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text()
BLOCKING_IMPACT = {"serious", "critical"}


async def _watched_page(browser, viewport=(1280, 900), **context_options):
    """A page that records every CSP violation and console error."""
    context = await browser.new_context(viewport={"width": viewport[0], "height": viewport[1]}, **context_options)
    await context.add_init_script(
        "window.__cspViolations = [];"
        "document.addEventListener('securitypolicyviolation', e => window.__cspViolations.push("
        "e.violatedDirective + ' ' + e.blockedURI + ' ' + (e.sourceFile || '') + ':' + e.lineNumber));"
    )
    page = await context.new_page()
    page.console_errors = []
    page.on("console", lambda m: m.type == "error" and page.console_errors.append(m.text))
    return page


async def _assert_clean(page, label: str) -> None:
    """No CSP violation, no duplicate id, no serious/critical axe finding."""
    violations = await page.evaluate("window.__cspViolations")
    csp_console = [m for m in page.console_errors if "Content Security Policy" in m]
    assert not violations and not csp_console, (label, violations, csp_console)
    duplicates = await page.evaluate(
        "(() => { const seen = {}; for (const el of document.querySelectorAll('[id]')) seen[el.id] = (seen[el.id] || 0) + 1;"
        " return Object.keys(seen).filter(id => seen[id] > 1); })()"
    )
    assert duplicates == [], (label, "duplicate ids", duplicates)
    faults = await _axe_faults(page, label)
    assert faults == [], (label, faults)


async def _axe_faults(page, label: str) -> list[str]:
    await page.evaluate(AXE + "\n;true")  # evaluated by the DevTools protocol, past the page's CSP
    results = await page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    assert results["testEngine"]["name"] == "axe-core" and results["passes"], label  # it really ran
    return [
        f"{v['id']} ({v['impact']}): {v['help']} @ {[n['target'] for n in v['nodes']][:3]}"
        for v in results["violations"] if v["impact"] in BLOCKING_IMPACT
    ]


async def _sign_in(page, base: str, kind: str, login: str, password: str, check: bool = True) -> None:
    await page.goto(f"{base}/{kind}/login")
    if check:
        await _assert_clean(page, f"{kind} login")
    await page.fill("#f-login", login)
    await page.fill("#f-password", password)
    await page.click("button.primary")
    await page.wait_for_url(f"{base}/{kind}/")


async def test_the_checks_catch_a_faulty_page(browser):
    page = await _watched_page(browser)
    await page.set_content('<html lang="en"><title>t</title><main><img src="x.png">'
                           '<label for="a">A</label><input id="a"><input id="a"></main></html>')
    faults = await _axe_faults(page, "faulty")
    assert any(f.startswith("image-alt") for f in faults), faults
    with pytest.raises(AssertionError, match="duplicate ids"):
        await _assert_clean(page, "faulty")


@pytest.fixture
async def office(database):
    bld = await factories.building()
    tenant_id = await factories.tenant(bld, name="上海无障碍检验科技有限公司")
    await factories.tenant(bld, name="上海检索对照贸易有限公司")
    staff = await factories.staff(["clerk", "finance"], [bld["id"]])
    return {"tenant": tenant_id, "staff": staff, "portal": await factories.portal_user(tenant_id)}


async def test_console_pages_are_accessible_and_keep_the_csp(live_server, browser, shots, office):
    page = await _watched_page(browser)
    await _sign_in(page, live_server, "console", office["staff"]["username"], office["staff"]["password"])
    tenant = f"/console/tenants/{office['tenant']}"
    for path in ["/console/", "/console/tenants", tenant, f"{tenant}/money", f"{tenant}/documents"]:
        await page.goto(live_server + path)
        await page.wait_for_load_state("networkidle")  # home loads its reminders by HTMX
        await _assert_clean(page, path)

    # HTMX search-as-you-type on the tenant list swaps the results and pushes the URL, under the CSP.
    await page.goto(f"{live_server}/console/tenants")
    await page.fill("#f-q", "无障碍")
    await page.wait_for_url("**/console/tenants?*q=*")
    await page.wait_for_function("!document.querySelector('#results').textContent.includes('检索对照')")
    assert "上海无障碍检验科技有限公司" in await page.inner_text("#results")
    await _assert_clean(page, "tenant search")
    await page.screenshot(path=os.path.join(shots, "console-tenant-search.png"), full_page=True)


async def test_portal_pages_are_accessible_and_keep_the_csp(live_server, browser, shots, office):
    page = await _watched_page(browser, viewport=(390, 844))
    await _sign_in(page, live_server, "portal", office["portal"]["email"], office["portal"]["password"])
    for path in ["/portal/", "/portal/money", "/portal/documents"]:
        await page.goto(live_server + path)
        await _assert_clean(page, path)
    await page.screenshot(path=os.path.join(shots, "portal-documents.png"), full_page=True)


async def test_api_docs_work_under_their_csp(live_server, browser, shots):
    page = await _watched_page(browser)
    await page.goto(f"{live_server}/api/docs")
    await page.wait_for_selector(".swagger-ui .opblock", timeout=20_000)
    assert "Tenant archive API" in await page.inner_text(".swagger-ui .info")
    assert await page.evaluate("window.__cspViolations") == []
    await page.screenshot(path=os.path.join(shots, "api-docs.png"))


async def test_upload_form_works_without_javascript(live_server, browser, shots, office):
    """The CSRF token travels as the form's first field, so a plain form post files the document."""
    page = await _watched_page(browser, java_script_enabled=False)
    await _sign_in(page, live_server, "console", office["staff"]["username"], office["staff"]["password"], check=False)
    await page.goto(f"{live_server}/console/tenants/{office['tenant']}/documents")
    upload = page.locator("#upload form")
    assert "_csrf" not in (await upload.get_attribute("action"))
    await upload.locator("select[name=category]").select_option(index=1)
    await upload.locator("input[name=title]").fill("无脚本上传的营业执照")
    await upload.locator("input[name=issue_date]").fill("2024-03-01")
    await upload.locator("input[name=file]").set_input_files(
        files=[{"name": "licence.txt", "mimeType": "text/plain", "buffer": "营业执照副本\n".encode()}])
    async with page.expect_navigation():
        await upload.locator("button.primary").click()
    assert "/documents/" in page.url and "无脚本上传的营业执照" in await page.content()
    await page.screenshot(path=os.path.join(shots, "upload-no-js.png"), full_page=True)
