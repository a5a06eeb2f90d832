"""Who may see what: tenant isolation, the tenant's portal uploads and their
review, visibility after acceptance, lending grants."""

from __future__ import annotations

from portal.core.db import DB
from tenants.registry import service as registry
from tenants.scope import tenant_tx
from tests import factories
from tests.integration.docs_support import (  # noqa: F401 (fixtures)
    client_of, csrf_of, doc_id_of, pdf_bytes, png_bytes, upload, world,
)


async def test_isolation_between_tenants_and_buildings(world, client_of):
    clerk = await client_of(world["clerk"]["username"])
    doc_id = doc_id_of(await upload(clerk, world["a"], pdf_bytes("secret-of-a")))
    base = f"/console/tenants/{world['a']}/documents"

    outsider = await client_of(world["outsider"]["username"])
    for path in (base, f"{base}/{doc_id}", f"{base}/{doc_id}/download", f"{base}/{doc_id}/thumbnail",
                 f"{base}/catalog.pdf"):
        response = await outsider.get(path)
        assert response.status_code == 404, (path, response.status_code)
    # The document id guessed under the outsider's own tenant does not reach tenant A's row either.
    response = await outsider.get(f"/console/tenants/{world['b']}/documents/{doc_id}/download")
    assert response.status_code == 404 or b"secret-of-a" not in response.content
    refused = await upload(outsider, world["b"], pdf_bytes(), path=f"{base}/upload")
    assert refused.status_code in (403, 404)

    # Tenant B's portal user: sees nothing of A, even with the id.
    portal_b = await client_of(world["portal_b"]["email"], kind="portal")
    listing = await portal_b.get("/portal/documents")
    assert listing.status_code == 200 and "营业执照副本" not in listing.text
    assert (await portal_b.get(f"/portal/documents/{doc_id}/download")).status_code == 404
    assert (await portal_b.get(f"{base}/{doc_id}/download")).status_code in (302, 303, 401, 403)

    # Tenant A's portal user sees it (visible_to_tenant) but not a staff-only one.
    hidden = doc_id_of(await upload(clerk, world["a"], pdf_bytes("internal-only"),
                                    meta={"category": "other", "title": "内部备忘", "issue_date": "2024-01-01"}))
    portal_a = await client_of(world["portal_a"]["email"], kind="portal")
    listing = await portal_a.get("/portal/documents")
    assert "营业执照副本" in listing.text and "内部备忘" not in listing.text
    assert (await portal_a.get(f"/portal/documents/{doc_id}/download")).status_code == 200
    assert (await portal_a.get(f"/portal/documents/{hidden}/download")).status_code == 404
    refused = await DB.pool.fetchval(
        "SELECT count(*) FROM core.audit_log WHERE action = 'document.download' AND outcome = 'refused'"
        " AND tenant_id = $1", world["a"])
    assert refused >= 1


async def test_portal_upload_review_accept_and_reject(settings, world, client_of):
    # The office asks for a paper; the tenant uploads it; it waits for review.
    clerk = await client_of(world["clerk"]["username"])
    token = await factories.form_token(clerk, f"/console/tenants/{world['a']}/documents")
    response = await clerk.post(f"/console/tenants/{world['a']}/documents/requests",
                                data={"category": "id_copies", "title": "法定代表人身份证复印件", "note": "正反面",
                                      "_csrf_token": token})
    assert response.status_code in (302, 303)

    portal = await client_of(world["portal_a"]["email"], kind="portal")
    page = await portal.get("/portal/documents")
    assert "法定代表人身份证复印件" in page.text
    import re

    request_id = int(re.search(r'<option value="(\d+)"[^>]*>法定代表人身份证复印件', page.text).group(1))
    token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text).group(1)
    response = await portal.post("/portal/documents/upload",
                                 data={"_csrf_token": token, "request_id": str(request_id), "title": ""},
                                 files={"file": ("id.png", png_bytes(), "image/png")})
    assert response.status_code in (302, 303), response.text[:300]
    second = await portal.post("/portal/documents/upload", data={"_csrf_token": token, "title": "装修申请"},
                               files={"file": ("fitout.pdf", pdf_bytes("fitout"), "application/pdf")})
    assert second.status_code in (302, 303)
    # Not visible before acceptance.
    ref = await registry.get_ref(world["a"])
    async with tenant_tx(ref.schema) as tx:
        pending = await tx.connection.fetch("SELECT id, title FROM document WHERE status = 'pending' ORDER BY id")
    assert len(pending) == 2
    first_id, second_id = pending[0]["id"], pending[1]["id"]
    assert (await portal.get(f"/portal/documents/{first_id}/download")).status_code == 404
    items = await DB.pool.fetch("SELECT * FROM core.review_item WHERE tenant_id = $1 AND kind = 'document:upload'",
                                ref.id)
    assert {i["ref_id"] for i in items} == {first_id, second_id}

    # A clerk of the building reviews: accept one (category, visibility), reject the other with a reason.
    queue = await clerk.get("/console/documents/reviews")
    assert f"/documents/{first_id}/review" in queue.text
    # Queues name the upload by its title, not "上传的文件 #N" (issue 7 item 13).
    assert "装修申请" in queue.text and f"#{second_id}<" not in queue.text
    for page_path in ("/console/reviews", "/console/"):
        assert "装修申请" in (await clerk.get(page_path)).text
    token = await factories.form_token(clerk, f"/console/tenants/{ref.id}/documents/{first_id}/review")
    file_response = await clerk.get(f"/console/tenants/{ref.id}/documents/{first_id}/review/file")
    assert file_response.content == png_bytes()
    bad = await clerk.post(f"/console/tenants/{ref.id}/documents/{second_id}/review",
                           data={"decision": "reject", "reason": "", "_csrf_token": token})
    assert bad.status_code == 422
    accepted = await clerk.post(f"/console/tenants/{ref.id}/documents/{first_id}/review", data={
        "decision": "accept", "category": "id_copies", "title": "法定代表人身份证复印件", "issue_date": "2020-05-05",
        "confidentiality": "confidential", "visible_to_tenant": "1", "_csrf_token": token})
    assert accepted.status_code in (302, 303), accepted.text[:300]
    rejected = await clerk.post(f"/console/tenants/{ref.id}/documents/{second_id}/review",
                                data={"decision": "reject", "reason": "扫描件不清晰，请重新上传", "_csrf_token": token})
    assert rejected.status_code in (302, 303)

    page = await portal.get("/portal/documents")
    assert "扫描件不清晰，请重新上传" in page.text
    assert (await portal.get(f"/portal/documents/{first_id}/download")).content == png_bytes()
    assert (await portal.get(f"/portal/documents/{second_id}/download")).status_code == 404
    statuses = {r["ref_id"]: r["status"] for r in await DB.pool.fetch(
        "SELECT ref_id, status FROM core.review_item WHERE tenant_id = $1 AND kind = 'document:upload'", ref.id)}
    assert statuses == {first_id: "accepted", second_id: "rejected"}
    async with tenant_tx(ref.schema) as tx:
        assert await tx.connection.fetchval("SELECT status FROM document_request WHERE id = $1",
                                            request_id) == "fulfilled"
        log = await tx.connection.fetch("SELECT * FROM change_log WHERE entity = 'document' AND entity_id = $1"
                                        " ORDER BY id", first_id)
    assert [r["field"] for r in log] == ["submitted", "filed"] and log[1]["approved_by"]


async def test_portal_refusal_of_executable_keeps_nothing(settings, world, client_of):
    portal = await client_of(world["portal_a"]["email"], kind="portal")
    portal.cookies.set("lang", "en")
    await portal.get("/portal/documents")
    page = await portal.get("/portal/documents")
    token = await factories.form_token(portal, "/portal/documents")
    response = await portal.post("/portal/documents/upload", data={"_csrf_token": token, "title": "发票"},
                                 files={"file": ("invoice.pdf", b"MZ" + b"\x00" * 200, "application/pdf")})
    assert response.status_code == 422 and "program" in response.text
    assert await DB.pool.fetchval("SELECT count(*) FROM core.review_item WHERE tenant_id = $1", world["a"]) == 0
