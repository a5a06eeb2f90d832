"""Uploads: type by content, refusals leave nothing behind, encryption at rest,
versions, duplicates, safe downloads, catalog and its PDF, destroyed keys."""

from __future__ import annotations

import datetime as dt
import subprocess

import pytest

from documents import keys
from documents.storage import get_storage
from portal.core.db import DB
from tenants.registry import service as registry
from tenants.scope import tenant_tx
from tests import factories
from tests.integration.docs_support import (  # noqa: F401 (fixtures)
    MARKER, client_of, doc_id_of, object_count, pdf_bytes, png_bytes, row_count, upload,
    world,
)


async def test_pdf_upload_is_filed_encrypted_and_downloadable(settings, world, client_of):
    clerk = await client_of(world["clerk"]["username"])
    data = pdf_bytes(pages=3)
    response = await upload(clerk, world["a"], data)
    assert response.status_code in (302, 303), response.text[:500]
    doc_id = doc_id_of(response)

    ref = await registry.get_ref(world["a"])
    async with tenant_tx(ref.schema) as tx:
        doc = await tx.connection.fetchrow("SELECT * FROM document WHERE id = $1", doc_id)
        version = await tx.connection.fetchrow("SELECT * FROM document_version WHERE document_id = $1", doc_id)
        log = await tx.connection.fetch("SELECT * FROM change_log WHERE entity = 'document' AND entity_id = $1", doc_id)
    assert doc["category"] == "business_licence" and doc["issue_date"] == dt.date(2024, 3, 1)
    assert doc["pages"] == 2 and doc["source"] == "staff_upload" and doc["paper_location"] == "A-3-12"
    assert version["content_type"] == "application/pdf" and version["size"] == len(data)
    import hashlib

    assert version["sha256"] == hashlib.sha256(data).hexdigest()
    assert version["object_key"] == f"tenants/{ref.id:06d}/{version['object_uid'].hex}"
    assert "scan" not in version["object_key"]
    assert log and log[0]["actor_name"]

    # At rest: ciphertext only.
    storage = get_storage(settings)
    raw = b"".join(storage.raw_blocks(version["object_key"]))
    assert MARKER.encode() not in raw and b"%PDF" not in raw
    assert len(raw) > len(data)

    download = await clerk.get(f"/console/tenants/{ref.id}/documents/{doc_id}/download")
    assert download.status_code == 200
    assert download.content == data
    assert download.headers["content-type"] == "application/pdf"
    assert download.headers["x-content-type-options"] == "nosniff"
    assert download.headers["content-disposition"].startswith("attachment")
    inline = await clerk.get(f"/console/tenants/{ref.id}/documents/{doc_id}/download?inline=1")
    assert inline.headers["content-disposition"].startswith("inline")

    actions = [r["action"] for r in await DB.pool.fetch(
        "SELECT action FROM core.audit_log WHERE tenant_id = $1 AND target LIKE $2", ref.id, f"document:{doc_id}%")]
    assert "document.upload" in actions and actions.count("document.download") >= 2

    page = await clerk.get(f"/console/tenants/{ref.id}/documents/{doc_id}")
    assert page.status_code == 200 and "营业执照副本" in page.text


@pytest.mark.parametrize("name,data,expect", [
    ("invoice.pdf", b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 5000, "program"),
    ("photo.png", b"\x7fELF\x02\x01\x01" + b"\x00" * 3000, "program"),
    ("scan.png", b"<!DOCTYPE html><html><script>alert(1)</script></html>", "web page"),
    ("scan.png", b"  <svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>", "web page"),
    ("broken.pdf", b"%PDF-1.7\n1 0 obj << /Type /Catalog >>\nthis is not a pdf\n" * 50, "damaged"),
    ("half.png", png_bytes()[:60], "damaged"),
    ("data.bin", bytes(range(256)) * 40, "not accepted"),
])
async def test_refused_files_leave_nothing(settings, world, client_of, name, data, expect):
    clerk = await client_of(world["clerk"]["username"])
    clerk.cookies.set("lang", "en")
    rows_before = await row_count(world["a"])
    objects_before = await object_count(settings, world["a"])
    response = await upload(clerk, world["a"], data, filename=name)
    assert response.status_code == 422, response.text[:300]
    assert expect in response.text
    assert await row_count(world["a"]) == rows_before
    assert await object_count(settings, world["a"]) == objects_before


async def test_refusal_message_is_localized(world, client_of):
    clerk = await client_of(world["clerk"]["username"])
    response = await upload(clerk, world["a"], b"MZ" + b"\x00" * 100, filename="x.pdf")
    assert response.status_code == 422
    assert "此文件是程序而不是文档" in response.text  # Chinese by default


async def test_over_size_is_refused_with_limit_and_nothing_saved(settings, world, client_of):
    clerk = await client_of(world["clerk"]["username"])
    objects_before = await object_count(settings, world["a"])
    rows_before = await row_count(world["a"])
    limit = settings.upload_max_mb
    big = b"A" * (limit * 1024 * 1024 + 10)
    response = await upload(clerk, world["a"], big, filename="big.txt")
    assert response.status_code == 413
    assert str(limit) in response.text
    assert await row_count(world["a"]) == rows_before
    assert await object_count(settings, world["a"]) == objects_before


async def test_accepted_kinds(settings, world, client_of):
    import zipfile
    import io

    docx = io.BytesIO()
    with zipfile.ZipFile(docx, "w") as z:
        z.writestr("[Content_Types].xml", '<Types><Override ContentType="application/vnd.openxmlformats-'
                   'officedocument.wordprocessingml.document.main+xml"/></Types>')
        z.writestr("word/document.xml", "<w:document/>")
    from PIL import Image

    tiff, jpeg = io.BytesIO(), io.BytesIO()
    Image.new("L", (40, 40), 128).save(tiff, "TIFF")
    Image.new("RGB", (40, 40), (1, 2, 3)).save(jpeg, "JPEG")
    cases = [("a.docx", docx.getvalue(), "wordprocessingml"), ("b.tif", tiff.getvalue(), "image/tiff"),
             ("c.jpg", jpeg.getvalue(), "image/jpeg"), ("d.png", png_bytes(), "image/png"),
             ("e.txt", "往来函件：关于空调维修。\n".encode("gb18030"), "gb18030"),
             ("f.txt", "Letter about the lease, 租约。\n".encode(), "text/plain; charset=utf-8")]
    clerk = await client_of(world["clerk"]["username"])
    for name, data, ctype in cases:
        response = await upload(clerk, world["a"], data, filename=name,
                                meta={"category": "correspondence", "title": name, "issue_date": "2023-01-05"})
        assert response.status_code in (302, 303), (name, response.text[:300])
        download = await clerk.get(f"/console/tenants/{world['a']}/documents/{doc_id_of(response)}/download")
        assert download.content == data and ctype in download.headers["content-type"]
        assert download.headers["content-disposition"].startswith("attachment")


async def test_bad_metadata_removes_the_object(settings, world, client_of):
    clerk = await client_of(world["clerk"]["username"])
    before = await object_count(settings, world["a"])
    response = await upload(clerk, world["a"], pdf_bytes(), meta={"category": "nope", "title": ""})
    assert response.status_code == 422
    assert await object_count(settings, world["a"]) == before


async def test_versions_and_duplicates(settings, world, client_of):
    clerk = await client_of(world["clerk"]["username"])
    first = pdf_bytes("version-one")
    doc_id = doc_id_of(await upload(clerk, world["a"], first))
    token = await factories.form_token(clerk, f"/console/tenants/{world['a']}/documents/{doc_id}")
    second = pdf_bytes("version-two", pages=2)
    response = await clerk.post(f"/console/tenants/{world['a']}/documents/{doc_id}/versions", data={"_csrf_token": token},
                                files={"file": ("v2.pdf", second, "application/pdf")})
    assert response.status_code in (302, 303), response.text[:300]
    current = await clerk.get(f"/console/tenants/{world['a']}/documents/{doc_id}/download")
    old = await clerk.get(f"/console/tenants/{world['a']}/documents/{doc_id}/download?v=1")
    assert current.content == second and old.content == first

    # The same bytes again into the same tenant: flagged with a link to the existing document.
    again = await upload(clerk, world["a"], first)
    assert f"dup={doc_id}" in again.headers["location"]
    page = await clerk.get(again.headers["location"])
    assert f"/documents/{doc_id}" in page.text
    # ...but not across tenants.
    other_clerk = await client_of(world["outsider"]["username"])
    elsewhere = await upload(other_clerk, world["b"], first)
    assert "dup=" not in elsewhere.headers["location"]


async def test_catalog_numbering_filters_and_pdf(settings, world, client_of, tmp_path):
    clerk = await client_of(world["clerk"]["username"])
    for title, date, cat in [("二〇二二年装修图纸", "2022-06-01", "fit_out"), ("押金收据", "2021-02-03", "payments"),
                             ("入驻登记表", "2023-09-09", "move_in")]:
        response = await upload(clerk, world["b"] if False else world["a"], pdf_bytes(title),
                                meta={"category": cat, "title": title, "issue_date": date})
        assert response.status_code in (302, 303)
    page = await clerk.get(f"/console/tenants/{world['a']}/documents")
    text = page.text
    assert text.index("押金收据") < text.index("二〇二二年装修图纸") < text.index("入驻登记表")
    filtered = await clerk.get(f"/console/tenants/{world['a']}/documents?category=fit_out&year=2022")
    assert "二〇二二年装修图纸" in filtered.text and "押金收据" not in filtered.text

    pdf = await clerk.get(f"/console/tenants/{world['a']}/documents/catalog.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    from pypdf import PdfReader
    import io

    reader = PdfReader(io.BytesIO(pdf.content))
    cover = reader.pages[0].extract_text()
    ref = await registry.get_ref(world["a"])
    assert ref.archive_no in cover and "档案目录" in cover and "2021-02-03" in cover
    listing = "".join(p.extract_text() for p in reader.pages[1:])
    assert "押金收据" in listing and "入驻登记表" in listing
    target = tmp_path / "catalog.pdf"
    target.write_bytes(pdf.content)
    subprocess.run(["pdftoppm", "-png", "-r", "50", str(target), str(tmp_path / "page")], check=True)
    assert (tmp_path / "page-1.png").exists()


async def test_destroyed_key_makes_documents_unreadable(settings, world, client_of):
    clerk = await client_of(world["clerk"]["username"])
    doc_id = doc_id_of(await upload(clerk, world["a"], pdf_bytes()))
    assert (await clerk.get(f"/console/tenants/{world['a']}/documents/{doc_id}/download")).status_code == 200
    assert await keys.destroy_tenant_key(world["a"]) is True
    response = await clerk.get(f"/console/tenants/{world['a']}/documents/{doc_id}/download")
    assert response.status_code == 410
    with pytest.raises(keys.KeyDestroyed):
        await keys.data_key(world["a"], settings.master_key)
    # New uploads cannot silently start a fresh key either.
    refused = await upload(clerk, world["a"], pdf_bytes("after"))
    assert refused.status_code == 410


async def test_generated_document_inside_and_outside_a_transaction(settings, world, client_of):
    from documents.intake import file_generated_document
    from tenants.scope import TenantScopeError

    storage = get_storage(settings)
    ref = await registry.get_ref(world["a"])
    other = await registry.get_ref(world["b"])
    outside = await file_generated_document(ref, "violations", "欠费催缴通知书", dt.date(2024, 5, 6), pdf_bytes("n1"),
                                            True, "CJ-2024-0001", storage=storage)
    async with tenant_tx(ref.schema) as tx:
        inside = await file_generated_document(ref, "violations", "欠费催缴通知书（二）", dt.date(2024, 6, 6),
                                               pdf_bytes("n2"), False, "CJ-2024-0002", storage=storage)
        assert await tx.connection.fetchval("SELECT source FROM document WHERE id = $1", inside) == "generated"
    async with tenant_tx(other.schema):
        with pytest.raises(TenantScopeError):
            await file_generated_document(ref, "violations", "x", dt.date(2024, 6, 6), pdf_bytes(), False, "n",
                                          storage=storage)
    portal = await client_of(world["portal_a"]["email"], kind="portal")
    listing = await portal.get("/portal/documents")
    assert "欠费催缴通知书" in listing.text and "欠费催缴通知书（二）" not in listing.text
    assert (await portal.get(f"/portal/documents/{outside}/download")).status_code == 200
    assert (await portal.get(f"/portal/documents/{inside}/download")).status_code == 404
