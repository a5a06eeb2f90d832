"""Adapter between money notices and the tenant's document archive.

``file_notice`` files a generated PDF in the archive through
``documents.intake.file_generated_document`` (category 'violations' for
arrears notices and final demands, 'payments' for receipts and statements).
Called inside the notice's own ``tenant_tx``, it joins that transaction, so the
archive row and the ``notice`` row commit together. The ``notice`` table keeps
its own copy of the PDF for the money pages' downloads and e-mail.
"""

from __future__ import annotations

import datetime as dt

from tenants.registry.service import TenantRef


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
