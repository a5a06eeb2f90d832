"""The console home page shows only what each person may open (issue 7 item 11):
every link on it, and every fragment it loads, answers 200 for that person."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from documents import lending
from portal.core.roles import Principal, Role
from tests import factories
from tests.integration.docs_support import client_of  # noqa: F401 (fixture)


def links_of(html: str) -> set[str]:
    found = set(re.findall(r'(?:href|hx-get)="(/console/[^"#]*)"', html))
    return {link.replace("&amp;", "&") for link in found}


@pytest.fixture
async def office():
    """A building with a tenant and a lending request waiting for its department head."""
    bld = await factories.building()
    tenant_id = await factories.tenant(bld)
    clerk = await factories.staff(["clerk"], [bld["id"]])
    borrower = Principal(kind="staff", user_id=clerk["id"], name=clerk["username"], roles=frozenset({Role.CLERK}),
                         building_ids=frozenset({bld["id"]}))
    await lending.create_loan(borrower, {"tenant_ids": str(tenant_id), "mode": "paper", "purpose": "核对",
                                         "due_date": (dt.date.today() + dt.timedelta(days=3)).isoformat()})
    return bld


@pytest.mark.parametrize("role", [r.value for r in Role])
async def test_every_home_page_link_opens_for_its_role(role, office, client_of):
    staff = await factories.staff([role], [office["id"]])
    client = await client_of(staff["username"])
    home = await client.get("/console/")
    assert home.status_code == 200
    links = links_of(home.text)
    assert "/console/account" in links
    broken = {}
    for link in sorted(links):
        response = await client.get(link)
        if response.status_code != 200:
            broken[link] = response.status_code
    assert broken == {}
    # What each role is offered (the tiles that used to lead to 403).
    assert ("/console/reviews" in links) == (role in {"clerk", "archivist", "dept_head", "supervisor",
                                                      "general_manager"})
    assert ("/console/tenants" in links) == (role != "admin")
    if role == "dept_head":
        assert any(re.fullmatch(r"/console/lending/\d+", link) for link in links)
