"""Thumbnails are asked for inside the filing transaction (``on_commit``): sent
once the document row has committed, never for a refused upload, and never
for a person who cannot reach the tenant."""

from __future__ import annotations


from tenants.registry import service as registry
from tenants.scope import tenant_tx
from tests.followups import sent_tasks
from tests.integration.docs_support import (  # noqa: F401 (fixtures)
    client_of, doc_id_of, pdf_bytes, upload, world,
)


async def _version_row(tenant_id: int, doc_id: int) -> int:
    ref = await registry.get_ref(tenant_id)
    async with tenant_tx(ref.schema) as tx:
        return await tx.connection.fetchval(
            "SELECT id FROM document_version WHERE document_id = $1 AND version = 1", doc_id)


async def test_a_filed_upload_asks_for_its_thumbnail_after_commit(world, client_of):
    clerk = await client_of(world["clerk"]["username"])
    outsider = await client_of(world["outsider"]["username"])
    with sent_tasks() as sent:
        doc_id = doc_id_of(await upload(clerk, world["a"], pdf_bytes("followup")))
        assert sent == [("documents.thumbnail", [world["a"], await _version_row(world["a"], doc_id)])]

        sent.clear()
        refused = await upload(clerk, world["a"], pdf_bytes("no title"), meta={"category": "other", "title": ""})
        assert refused.status_code == 422
        assert sent == []  # the rolled-back filing sends nothing

        denied = await upload(outsider, world["a"], pdf_bytes("outsider"))
        assert denied.status_code == 404
        assert sent == []


async def test_a_missing_preview_is_asked_for_only_by_someone_who_may_read(world, client_of):
    clerk = await client_of(world["clerk"]["username"])
    with sent_tasks():  # the upload's own thumbnail request is kept from any worker the session runs
        doc_id = doc_id_of(await upload(clerk, world["a"], pdf_bytes("preview")))
    outsider = await client_of(world["outsider"]["username"])
    portal_b = await client_of(world["portal_b"]["email"], kind="portal")
    with sent_tasks() as sent:
        for client, path in ((outsider, f"/console/tenants/{world['a']}/documents/{doc_id}/thumbnail"),
                             (portal_b, f"/portal/documents/{doc_id}/thumbnail")):
            response = await client.get(path)
            assert response.status_code == 404
        assert sent == []

        response = await clerk.get(f"/console/tenants/{world['a']}/documents/{doc_id}/thumbnail")
        assert response.status_code == 404  # no preview yet: a placeholder, and one is asked for
        assert sent == [("documents.thumbnail", [world["a"], await _version_row(world["a"], doc_id)])]
