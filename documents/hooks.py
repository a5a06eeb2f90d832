"""The archive's part of a tenant's file: documents and their versions (each
an encrypted S3 object), document requests, and the tenant's rows in the key,
lending and grant registers."""

from __future__ import annotations

from portal.core.hooks import DomainHooks, Inventory, count_rows, delete_for_tenant, register
from documents.tables import (
    AccessGrant,
    Document,
    DocumentRequest,
    DocumentVersion,
    LoanItem,
    PendingObject,
    TenantKey,
)


async def inventory(conn, tenant_id: int) -> Inventory:
    versions = await DocumentVersion.select(
        DocumentVersion.document_id, DocumentVersion.version, DocumentVersion.sha256, DocumentVersion.size,
        DocumentVersion.thumb_key,
    ).run()
    documents = {d["id"]: d for d in await Document.select(Document.id, Document.title, Document.issue_date).run()}
    items = [{"document_id": v["document_id"], "title": documents.get(v["document_id"], {}).get("title", ""),
              "issue_date": documents.get(v["document_id"], {}).get("issue_date"), "version": v["version"],
              "sha256": v["sha256"], "bytes": v["size"]} for v in versions]
    thumbs = sum(1 for v in versions if v["thumb_key"])
    return Inventory(rows=await count_rows(Document, DocumentVersion, DocumentRequest),
                     objects=len(versions) + thumbs, bytes=sum(v["size"] for v in versions), items=items)


async def purge_core(conn, tenant_id: int) -> int:
    return await delete_for_tenant(tenant_id, AccessGrant, LoanItem, PendingObject, TenantKey)


register(DomainHooks("documents", inventory=inventory, purge_core=purge_core))
