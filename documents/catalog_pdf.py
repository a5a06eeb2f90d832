"""The printable catalog (档案目录) of a tenant file: cover sheet + numbered list."""

from __future__ import annotations

from documents.pdf import render_pdf
from documents.service import CATEGORIES, CONFIDENTIALITY, catalog
from portal.core import audit
from portal.core.roles import Principal
from tenants.registry.service import TenantRef


async def catalog_pdf(ref: TenantRef, principal: Principal, *, office_name: str, locale: str = "zh") -> bytes:
    import anyio

    data = await catalog(ref, principal, per_page=0, audit_view=False)
    await audit.record("document.catalog.print", principal=principal, tenant_id=ref.id, target=ref.archive_no,
                       detail={"documents": data["total"]})
    return await anyio.to_thread.run_sync(lambda: render_pdf(
        "catalog.html", locale=locale, ref=ref, office_name=office_name, categories=CATEGORIES,
        confidentiality=CONFIDENTIALITY, **data))
