"""Shared fixtures and builders for the document tests (imported by test_documents*.py)."""

from __future__ import annotations

import io
import re

import pytest
import pytest_asyncio

from tests import factories

MARKER = "PLAINTEXT-MARKER-7f3a9c"


@pytest_asyncio.fixture
async def client_of(client_factory):
    """client_of(login, kind) -> a client of the app, signed in when ``login`` is given."""

    async def make(login: str | None = None, kind: str = "console"):
        client = await client_factory()
        if login:
            response = await factories.sign_in(client, login, kind=kind)
            assert response.status_code in (200, 302, 303), response.text[:300]
        return client

    return make


@pytest_asyncio.fixture
async def world(database):
    """One building, two tenants; a clerk of the building, a clerk elsewhere, portal users."""
    bld = await factories.building()
    other_bld = await factories.building()
    tenant_a = await factories.tenant(bld, name="甲公司" + factories.uuid.uuid4().hex[:4])
    tenant_b = await factories.tenant(other_bld, name="乙公司" + factories.uuid.uuid4().hex[:4])
    clerk = await factories.staff(["clerk"], [bld["id"]])
    outsider = await factories.staff(["clerk"], [other_bld["id"]])
    portal_a = await factories.portal_user(tenant_a)
    portal_b = await factories.portal_user(tenant_b)
    return {"bld": bld, "other_bld": other_bld, "a": tenant_a, "b": tenant_b, "clerk": clerk, "outsider": outsider,
            "portal_a": portal_a, "portal_b": portal_b}


def csrf_of(client) -> str:
    return client.cookies.get("csrftoken") or ""


def pdf_bytes(marker: str = MARKER, pages: int = 1) -> bytes:
    from pypdf import PdfWriter
    from pypdf.generic import NameObject, TextStringObject

    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    writer.add_metadata({"/Title": marker})
    writer._info.get_object()[NameObject("/Subject")] = TextStringObject(marker)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def png_bytes(color=(200, 30, 30)) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), color).save(buffer, "PNG")
    return buffer.getvalue()


META = {"category": "business_licence", "title": "营业执照副本", "issue_date": "2024-03-01", "pages": "2",
        "paper_location": "A-3-12", "confidentiality": "internal", "visible_to_tenant": "1"}


async def upload(client, tenant_id: int, data: bytes, filename: str = "scan.pdf", meta: dict | None = None,
                 path: str | None = None):
    token = await factories.form_token(client, f"/console/tenants/{tenant_id}/documents")
    fields = dict(META if meta is None else meta)
    return await client.post(path or f"/console/tenants/{tenant_id}/documents/upload",
                             data={"_csrf_token": token, **fields},
                             files={"file": (filename, data, "application/octet-stream")})


def doc_id_of(response) -> int:
    location = response.headers.get("location", "")
    match = re.search(r"/documents/(\d+)", location)
    assert match, (response.status_code, location, response.text[:400])
    return int(match.group(1))


async def object_count(settings, tenant_id: int) -> int:
    from portal.core.s3 import s3_client

    client = s3_client(settings)
    return sum(1 for _ in client.list_objects(settings.s3_bucket, prefix=f"tenants/{tenant_id:06d}/",
                                              recursive=True, include_version=True))


async def row_count(tenant_id: int, table: str = "document") -> int:
    from tenants.registry import service as registry
    from tenants.scope import tenant_tx

    ref = await registry.get_ref(tenant_id)
    async with tenant_tx(ref.schema) as tx:
        return await tx.connection.fetchval(f"SELECT count(*) FROM {table}")
