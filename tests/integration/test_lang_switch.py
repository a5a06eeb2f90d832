"""Switching the language after a failed form POST leads to a page shown by
GET (the page the form was on), not to the POST-only URL (a 405)."""

from __future__ import annotations

import html
import re

from tests import factories

LANG_LINK = re.compile(r'<a class="lang" href="([^"]+)"')


async def test_language_switch_after_a_failed_post_returns_to_the_form_page(database, client_factory):
    bld = await factories.building()
    tenant = await factories.tenant(bld)
    person = await factories.staff(["archivist"])
    client = await client_factory()
    await factories.sign_in(client, person["username"])
    form_page = f"/console/tenants/{tenant}/contacts/new"
    token = await factories.form_token(client, form_page)

    failed = await client.post(form_page, data={"_csrf_token": token, "name": ""},
                               headers={"referer": f"http://testserver.local{form_page}?from=list"})
    assert failed.status_code == 422
    link = html.unescape(LANG_LINK.search(failed.text).group(1))
    assert link == f"{form_page}?from=list&lang=en"
    switched = await client.get(link)
    assert switched.status_code == 200 and '<html lang="en">' in switched.text

    # No (or a foreign) Referer: the console's home page, never the POST URL.
    token = await factories.form_token(client, form_page)
    for headers in ({}, {"referer": "https://evil.example/console/tenants"}):
        failed = await client.post(form_page, data={"_csrf_token": token, "name": ""}, headers=headers)
        assert html.unescape(LANG_LINK.search(failed.text).group(1)) in ("/console/?lang=zh", "/console/?lang=en")
    home = await client.get("/console/?lang=zh")
    assert home.status_code == 200


async def test_language_switch_on_a_get_page_keeps_the_query(database, client_factory):
    person = await factories.staff(["archivist"])
    client = await client_factory()
    await factories.sign_in(client, person["username"])
    page = await client.get("/console/tenants?q=abc&lang=zh")
    assert html.unescape(LANG_LINK.search(page.text).group(1)) == "/console/tenants?q=abc&lang=en"
