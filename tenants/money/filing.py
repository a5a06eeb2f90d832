"""Adapter between money notices and the tenant's document archive.

``file_notice`` files a generated PDF in the archive through
``documents.intake.file_generated_document`` (category 'violations' for
arrears notices and final demands, 'payments' for receipts and statements).
Called inside the notice's own ``tenant_tx``, it joins that transaction, so the
archive row and the ``notice`` row commit together. A filed notice's PDF lives
in the archive only (``read_notice`` reads it back for downloads and e-mail);
the ``notice`` table keeps its own copy only when the archive is not available.
"""

from __future__ import annotations

import asyncio
import datetime as dt

from tenants.money import queries
from tenants.registry.service import TenantRef
from tenants.scope import tenant_tx


async def file_notice(ref: TenantRef, *, category: str, title: str, issue_date: dt.date, pdf_bytes: bytes,
                      visible_to_tenant: bool, number: str, actor_name: str = "system") -> int | None:
    """File the PDF in the tenant's archive; returns the document id (None when
    the archive is not available in this deployment)."""
    try:
        from documents.intake import file_generated_document
    except ImportError:  # documents archive not installed: the notice row keeps the PDF
        return None
    return await file_generated_document(ref, category, title, issue_date, pdf_bytes, visible_to_tenant, number,
                                         actor_name=actor_name)


async def read_notice(ref: TenantRef, document_id: int) -> bytes | None:
    """The PDF of a notice filed as ``document_id``, as issued (version 1 of the
    generated document), decrypted; None if it is gone (or the tenant's key was
    destroyed). Permission checks are the caller's (the notice's own)."""
    from documents import keys
    from documents.storage import current_storage

    storage = current_storage()
    async with tenant_tx(ref.schema) as tx:
        version = await queries.generated_version(document_id)
        if version is None:
            return None
        try:
            data_key = await keys.data_key(ref.id, storage.master_key, create=False)
        except keys.KeyDestroyed:
            return None
    return await asyncio.to_thread(storage.read_plaintext, version["object_key"], data_key,
                                   version["s3_version_id"] or "")
