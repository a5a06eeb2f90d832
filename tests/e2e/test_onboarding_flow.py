"""Browser: staff creates a tenant and invites a portal user; the portal user
accepts, signs in, sees only their own company and proposes a new contact;
staff approves it and the file shows who proposed and who approved."""

from __future__ import annotations

import os

import pytest

from tests import factories

pytestmark = pytest.mark.e2e
OTHER_COMPANY = "乙方隔离检验有限公司"


async def test_staff_creates_invites_and_approves_tenant_change(live_server, browser, shots, database):
    bld = await factories.building()
    await factories.tenant(bld, name=OTHER_COMPANY)  # must never show in the new tenant's portal
    clerk = await factories.staff(["clerk"], [bld["id"]])

    staff = await (await browser.new_context(viewport={"width": 1280, "height": 900})).new_page()
    await staff.goto(f"{live_server}/console/login")
    await staff.fill("#f-login", clerk["username"])
    await staff.fill("#f-password", clerk["password"])
    await staff.click("button.primary")
    await staff.wait_for_url(f"{live_server}/console/")

    await staff.goto(f"{live_server}/console/tenants/new")
    await staff.fill("#f-name", "上海浏览器测试科技有限公司")
    await staff.select_option("#f-kind", "E")
    await staff.fill("#f-credit_code", factories.credit_code())
    await staff.select_option("#f-level", "2")
    await staff.select_option("#f-status", "active")
    await staff.select_option("#f-business_letter", "A")
    await staff.check(f"input[name=unit_ids][value='{bld['unit_ids'][1]}']")
    await staff.fill("#f-contact_name", "周经理")
    await staff.fill("#f-contact_mobile", "13912345678")
    await staff.fill("#f-contact_email", "zhou@browser.example")
    await staff.click("button.primary")
    await staff.wait_for_url("**/console/tenants/*?created=1")
    tenant_url = staff.url.split("?")[0]
    assert "上海浏览器测试科技有限公司" in await staff.inner_text("h1")

    await staff.fill("#portal-users #f-display_name", "吴小姐")
    await staff.fill("#portal-users #f-email", "wu@browser.example")
    await staff.click("#portal-users button")
    invite_link = await staff.input_value("#invite-link")
    assert "/portal/invite/" in invite_link
    await staff.screenshot(path=os.path.join(shots, "staff-tenant.png"), full_page=True)

    tenant = await (await browser.new_context(viewport={"width": 390, "height": 844})).new_page()
    await tenant.goto(invite_link.replace("http://testserver.local", live_server))
    await tenant.fill("#f-password", "Browser-Tenant-2026")
    await tenant.fill("#f-password_again", "Browser-Tenant-2026")
    await tenant.click("button.primary")
    await tenant.wait_for_url("**/portal/login?accepted=1")
    await tenant.fill("#f-login", "wu@browser.example")
    await tenant.fill("#f-password", "Browser-Tenant-2026")
    await tenant.click("button.primary")
    await tenant.wait_for_url(f"{live_server}/portal/")
    home = await tenant.content()
    assert "上海浏览器测试科技有限公司" in home and OTHER_COMPANY not in home

    await tenant.goto(f"{live_server}/portal/requests/contacts/new")
    await tenant.fill("#f-name", "郑会计")
    await tenant.fill("#f-position", "财务")
    await tenant.fill("#f-mobile", "13600001111")
    await tenant.fill("#f-email", "zheng@browser.example")
    await tenant.click("button.primary")
    await tenant.wait_for_url("**/portal/**")
    assert "郑会计" in await tenant.content()
    await tenant.screenshot(path=os.path.join(shots, "portal-pending.png"), full_page=True)

    await staff.goto(f"{live_server}/console/reviews")
    await staff.click("text=新增联系人")
    await staff.click("button[value=approve]")
    await staff.wait_for_url("**/console/reviews?decided=1")
    await staff.goto(tenant_url)
    contacts = await staff.inner_text("#contacts")
    assert "郑会计" in contacts and "13600001111" in contacts
    log = await staff.inner_text("#h-changes >> xpath=..")
    assert "吴小姐" in log and clerk["username"][-4:] in log
    await staff.screenshot(path=os.path.join(shots, "staff-approved.png"), full_page=True)

    await tenant.goto(f"{live_server}/portal/")
    assert "郑会计" in await tenant.inner_text("main")
    assert OTHER_COMPANY not in await tenant.content()
