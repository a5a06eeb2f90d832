"""No page of either face has two elements with one id, so every label points
at its own input (issue 7, item 14). The browser walk (tests/e2e/test_page_checks.py)
adds axe-core on the main pages; this covers every form page, cheaply."""

from __future__ import annotations

from html.parser import HTMLParser

from tests import factories
from tests.integration.docs_support import client_of, doc_id_of, pdf_bytes, world  # noqa: F401 (fixtures)


class _Ids(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []

    def handle_starttag(self, tag, attrs) -> None:
        self.ids += [value for name, value in attrs if name == "id"]


def duplicate_ids(html: str) -> list[str]:
    parser = _Ids()
    parser.feed(html)
    return sorted({i for i in parser.ids if parser.ids.count(i) > 1})


async def test_no_page_has_duplicate_ids(world, client_of):
    """Wider than the browser walk: every form page of both faces (issue 7, item 14)."""
    staff = await factories.staff(["clerk", "finance", "archivist", "supervisor"], [world["bld"]["id"]])
    admin = await factories.staff(["admin"])
    auditor = await factories.staff(["auditor"])
    console = await client_of(staff["username"])
    tenant = f"/console/tenants/{world['a']}"
    doc_id = doc_id_of(await console.post(
        f"{tenant}/documents/upload",
        data={"_csrf_token": await factories.form_token(console, f"{tenant}/documents"),
              "category": "correspondence", "title": "函", "issue_date": "2024-01-02"},
        files={"file": ("a.pdf", pdf_bytes("ids"), "application/pdf")}))
    pages = {
        console: ["/console/", "/console/tenants", "/console/tenants/new", tenant, f"{tenant}/edit",
                  f"{tenant}/contacts/new", f"{tenant}/documents", f"{tenant}/documents/{doc_id}", f"{tenant}/money",
                  "/console/reviews", "/console/documents/reviews", "/console/lending", "/console/lending/new",
                  "/console/money/arrears", "/console/money/billing", "/console/money/notices",
                  "/console/money/fee-items", "/console/account"],
        await client_of(admin["username"]): ["/console/staff", "/console/staff/new"],
        await client_of(auditor["username"]): ["/console/audit"],
        await client_of(world["portal_a"]["email"], kind="portal"): [
            "/portal/", "/portal/money", "/portal/documents", "/portal/account", "/portal/requests/contacts/new",
            "/portal/requests/profile"],
        await client_of(): ["/console/login", "/portal/login"],
    }
    for client, paths in pages.items():
        for path in paths:
            response = await client.get(path)
            assert response.status_code == 200, (path, response.status_code)
            assert duplicate_ids(response.text) == [], path
