"""Security headers on every face, and the upload forms' CSRF token kept out of
URLs: a header or the first multipart field (issue 7, item 5)."""

from __future__ import annotations

import httpx
from litestar import Litestar, get
from litestar.datastructures import State

from portal.web.headers import SecurityHeadersMiddleware
from tests import factories
from tests.integration.docs_support import (  # noqa: F401 (fixtures)
    client_of, doc_id_of, pdf_bytes, row_count, world,
)

COMMON = {"x-frame-options": "DENY", "x-content-type-options": "nosniff", "referrer-policy": "same-origin"}


def assert_page_headers(response: httpx.Response, label: str) -> None:
    for name, value in COMMON.items():
        assert response.headers.get(name) == value, (label, name, response.headers.get(name))
    csp = response.headers["content-security-policy"]
    assert "script-src 'self';" in csp and "frame-ancestors 'none'" in csp, (label, csp)
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, (label, csp)
    assert "no-store" in response.headers.get("cache-control", ""), (label, response.headers.get("cache-control"))
    assert "strict-transport-security" not in response.headers, label  # not in development


async def test_every_face_sends_the_headers(world, client_of):
    anonymous = await client_of()
    for path in ["/console/login", "/portal/login"]:
        response = await anonymous.get(path)
        assert response.status_code == 200
        assert_page_headers(response, path)

    clerk = await client_of(world["clerk"]["username"])
    for path in ["/console/", "/console/tenants", f"/console/tenants/{world['a']}",
                 f"/console/tenants/{world['a']}/documents", "/api/v1/tenants", "/console/tenants/999999"]:
        response = await clerk.get(path)
        assert response.status_code in (200, 404), path
        assert_page_headers(response, path)

    portal = await client_of(world["portal_a"]["email"], kind="portal")
    for path in ["/portal/", "/portal/documents", "/api/v1/portal/company"]:
        response = await portal.get(path)
        assert_page_headers(response, path)

    # A CSRF refusal is answered before routing, and still carries them.
    refused = await clerk.post(f"/console/tenants/{world['a']}/edit", data={"name": "x"})
    assert refused.status_code == 403
    assert_page_headers(refused, "csrf refusal")


async def test_static_files_may_be_cached_and_api_docs_allow_swagger_styles(client_of):
    client = await client_of()
    static = await client.get("/static/portal.js")
    assert static.status_code == 200 and static.headers["x-content-type-options"] == "nosniff"
    assert "no-store" not in static.headers.get("cache-control", "")
    docs = await client.get("/api/docs")
    assert docs.status_code == 200 and "<script>" not in docs.text and "/static/swagger/init.js" in docs.text
    csp = docs.headers["content-security-policy"]
    assert "script-src 'self';" in csp and "style-src 'self' 'unsafe-inline'" in csp
    assert (await client.get("/api/docs/openapi.json")).status_code == 200


async def test_a_download_keeps_its_own_cache_header(world, client_of):
    clerk = await client_of(world["clerk"]["username"])
    token = await factories.form_token(clerk, f"/console/tenants/{world['a']}/documents")
    doc_id = doc_id_of(await clerk.post(
        f"/console/tenants/{world['a']}/documents/upload",
        data={"_csrf_token": token, "category": "correspondence", "title": "头", "issue_date": "2024-01-02"},
        files={"file": ("a.pdf", pdf_bytes("headers"), "application/pdf")}))
    download = await clerk.get(f"/console/tenants/{world['a']}/documents/{doc_id}/download")
    assert download.status_code == 200
    assert download.headers.get_list("cache-control") == ["private, no-store"]
    assert download.headers["x-frame-options"] == "DENY"


async def test_hsts_only_in_production(settings):
    @get("/probe", sync_to_thread=False)
    def probe() -> str:
        return "ok"

    for production, expected in [(False, False), (True, True)]:
        app = Litestar([probe], middleware=[SecurityHeadersMiddleware],
                       state=State({"settings": settings.with_(env="production" if production else "test")}))
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            response = await client.get("/probe")
        assert ("strict-transport-security" in response.headers) is expected
        if expected:
            assert response.headers["strict-transport-security"].startswith("max-age=31536000")


async def test_upload_csrf_travels_as_first_field_or_header_never_in_the_url(world, client_of):
    clerk = await client_of(world["clerk"]["username"])
    base = f"/console/tenants/{world['a']}/documents"
    page = await clerk.get(base)
    assert "_csrf=" not in page.text
    token = await factories.form_token(clerk, base)
    meta = {"category": "correspondence", "title": "营业执照", "issue_date": "2024-01-02"}
    pdf = ("a.pdf", pdf_bytes("csrf"), "application/pdf")
    before = await row_count(world["a"])

    first_field = await clerk.post(f"{base}/upload", data={"_csrf_token": token, **meta}, files={"file": pdf})
    assert first_field.status_code in (302, 303), first_field.text[:300]
    by_header = await clerk.post(f"{base}/upload", data=meta, files={"file": pdf}, headers={"x-csrftoken": token})
    assert by_header.status_code in (302, 303), by_header.text[:300]
    assert await row_count(world["a"]) == before + 2

    # Refused, and nothing kept: no token, a token in the URL, a wrong token, a token sent after the file.
    refusals = [
        dict(data=meta, files={"file": pdf}),
        dict(params={"_csrf": token}, data=meta, files={"file": pdf}),
        dict(data={"_csrf_token": "f" * 64, **meta}, files={"file": pdf}),
        dict(files=[("file", ("big.pdf", b"%PDF-1.4\n" + b"0" * 3_000_000, "application/pdf")),
                    ("_csrf_token", (None, token.encode()))]),
    ]
    for attempt in refusals:
        response = await clerk.post(f"{base}/upload", **attempt)
        assert response.status_code == 403, (attempt.keys(), response.status_code)
    assert await row_count(world["a"]) == before + 2


async def test_portal_upload_csrf_first_field(world, client_of):
    portal = await client_of(world["portal_a"]["email"], kind="portal")
    token = await factories.form_token(portal, "/portal/documents")
    pdf = ("p.pdf", pdf_bytes("portal-csrf"), "application/pdf")
    refused = await portal.post("/portal/documents/upload", params={"_csrf": token}, data={"title": "发票"},
                                files={"file": pdf})
    assert refused.status_code == 403
    accepted = await portal.post("/portal/documents/upload", data={"_csrf_token": token, "title": "发票"},
                                 files={"file": pdf})
    assert accepted.status_code in (302, 303), accepted.text[:300]

