"""Destruction's part of a tenant's file: its legal holds. The requests, purge
jobs and certificates stay: they are the record of the destruction itself."""

from __future__ import annotations

from portal.core.hooks import DomainHooks, delete_for_tenant, register
from tenants.destruction.tables import LegalHold


async def purge_core(conn, tenant_id: int) -> int:
    # Only released holds can exist here: the purge refuses a held file.
    return await delete_for_tenant(tenant_id, LegalHold)


register(DomainHooks("destruction", purge_core=purge_core))
