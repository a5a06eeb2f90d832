"""The console's navigation on a phone: one menu (no JavaScript) with 44 px rows
instead of a wrapped wall of small links; wide screens keep the plain links."""

from __future__ import annotations

import pytest

from tests import factories

pytestmark = pytest.mark.e2e

NAV = """() => {
  const shown = el => el.checkVisibility();
  const menu = document.querySelector('details.staff-nav summary');
  return {wide: [...document.querySelectorAll('.nav-wide.staff-nav a')].filter(shown).length,
          menu: menu && shown(menu) ? menu.getBoundingClientRect().height : 0,
          rows: [...document.querySelectorAll('details.staff-nav a')].filter(shown)
                  .map(a => a.getBoundingClientRect().height),
          overflow: document.documentElement.scrollWidth - window.innerWidth};
}"""


async def _signed_in(browser, base: str, user: dict, viewport: dict):
    page = await (await browser.new_context(viewport=viewport)).new_page()
    await page.goto(f"{base}/console/login")
    await page.fill("input[name=login]", user["username"])
    await page.fill("input[name=password]", user["password"])
    await page.click("main button")
    await page.wait_for_load_state()
    return page


async def test_console_navigation_folds_into_a_menu_on_phones(live_server, browser, database):
    bld = await factories.building()
    user = await factories.staff(["supervisor", "archivist"], [bld["id"]])

    phone = await _signed_in(browser, live_server, user, {"width": 390, "height": 844})
    await phone.goto(f"{live_server}/console/complaints")
    closed = await phone.evaluate(NAV)
    assert closed["wide"] == 0 and closed["menu"] >= 44 and closed["rows"] == [] and closed["overflow"] <= 0
    await phone.click("details.staff-nav summary")
    opened = await phone.evaluate(NAV)
    assert len(opened["rows"]) >= 8 and min(opened["rows"]) >= 44, opened

    desk = await _signed_in(browser, live_server, user, {"width": 1280, "height": 800})
    await desk.goto(f"{live_server}/console/complaints")
    wide = await desk.evaluate(NAV)
    assert wide["wide"] == len(opened["rows"]) and wide["menu"] == 0
