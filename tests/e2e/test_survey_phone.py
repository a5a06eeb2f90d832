"""Browser: a tenant's contact answers the satisfaction survey on a phone
(390x844: 1-5 buttons of at least 44 px, 16 px text, no sideways scroll, a
wrong submission shows its errors inline), a second visit shows it answered;
the supervisor reads the analysis report with its charts on a desktop."""

from __future__ import annotations

import os

import pytest

from tenants.surveys import service
from tests import factories
from tests.e2e.test_page_checks import _assert_clean, _watched_page
from tests.e2e.test_portal_phone import MEASURE, PHONE, _sign_in
from tests.integration.survey_support import SUPERVISOR, portal_of, scores, survey

pytestmark = pytest.mark.e2e
SHOTS = os.environ.get("PORTAL_SHOTS_DIR", "")


def _shot(shots: str, name: str) -> list[str]:
    return [os.path.join(folder, name) for folder in (shots, SHOTS) if folder]


async def test_a_tenant_answers_on_a_phone(live_server, browser, shots, database, settings):
    bld = await factories.building()
    from tenants.registry import service as registry

    ref = await registry.get_ref(await factories.tenant(bld, name="上海手机问卷科技有限公司"))
    neighbour = await registry.get_ref(await factories.tenant(bld, name="上海邻居咨询有限公司"))
    third = await registry.get_ref(await factories.tenant(bld, name="上海第三方物流有限公司"))
    user = await factories.portal_user(ref.id)
    survey_id = await survey(settings, audience="building", building_ids=[bld["id"]], custom="电梯与空调运行")
    await service.open_survey(survey_id, SUPERVISOR, notify=False)
    await service.answer(neighbour, survey_id, scores(service=4, price=2, responsiveness=3, overall=4, c1=3),
                         portal_of(neighbour))

    context = await browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
    page = await context.new_page()
    await _sign_in(page, live_server, user)
    await page.goto(f"{live_server}/portal/surveys")
    await page.click(f"a[href='/portal/surveys/{survey_id}']")
    await page.wait_for_url(f"**/portal/surveys/{survey_id}")
    found = await page.evaluate(MEASURE)
    assert not [t for t in found["targets"] if t["height"] < 44], found["targets"]
    assert not [f for f in found["fields"] if f["size"] < 16], found["fields"]
    assert found["overflow"] <= 0
    buttons = await page.eval_on_selector_all(".scale label", "els => els.map(e => [e.offsetWidth, e.offsetHeight])")
    assert len(buttons) == 25 and min(min(b) for b in buttons) >= 44, buttons
    for path in _shot(shots, "phone-survey-form.png"):
        await page.screenshot(path=path, full_page=True)

    # Two questions left out: the form comes back with their errors and nothing is saved.
    for key, score in (("service", 4), ("price", 2), ("responsiveness", 3)):
        await page.click(f"label[for='score_{key}-{score}']")
    await page.fill("textarea[name=comment_price]", "停车费上涨过快")
    await page.click("main form button.primary")
    assert await page.locator("p.error").count() == 2
    assert await page.input_value("textarea[name=comment_price]") == "停车费上涨过快"
    for path in _shot(shots, "phone-survey-errors.png"):
        await page.screenshot(path=path, full_page=True)
    for key, score in (("overall", 5), ("c1", 3)):
        await page.click(f"label[for='score_{key}-{score}']")
    await page.click("main form button.primary")
    await page.wait_for_url("**answered=1")
    assert "贵公司已填写本调查" in await page.inner_text("main")
    for path in _shot(shots, "phone-survey-answered.png"):
        await page.screenshot(path=path, full_page=True)
    await context.close()

    # Accessibility (axe) and the CSP on every survey page, console and portal, while the survey is open.
    staff = await factories.staff(["supervisor"])
    checked = await _watched_page(browser)
    await checked.goto(f"{live_server}/console/login")
    await checked.fill("input[name=login]", staff["username"])
    await checked.fill("input[name=password]", staff["password"])
    await checked.click("main button")
    await checked.wait_for_url(f"{live_server}/console/")
    for path in ("/console/surveys", "/console/surveys/new", f"/console/surveys/{survey_id}",
                 f"/console/surveys/{survey_id}/report"):
        await checked.goto(live_server + path)
        await _assert_clean(checked, path)
    phone = await _watched_page(browser, viewport=(390, 844))
    await _sign_in(phone, live_server, await factories.portal_user(third.id))  # not answered: the form
    for path in ("/portal/surveys", f"/portal/surveys/{survey_id}"):
        await phone.goto(live_server + path)
        await _assert_clean(phone, path)
    assert await phone.locator(".scale label").count() == 25

    # Closed, the supervisor reads the analysis report with its charts on a desktop.
    await service.close_survey(survey_id, SUPERVISOR)
    wide = await browser.new_context(viewport={"width": 1280, "height": 800})
    desk = await wide.new_page()
    await desk.goto(f"{live_server}/console/login")
    await desk.fill("input[name=login]", staff["username"])
    await desk.fill("input[name=password]", staff["password"])
    await desk.click("main button")
    await desk.goto(f"{live_server}/console/surveys/{survey_id}/report")
    assert await desk.locator("svg.chart").count() >= 3
    assert "收费价格" in await desk.inner_text("main")
    for path in _shot(shots, "desktop-survey-report.png"):
        await desk.screenshot(path=path, full_page=True)
    await wide.close()
