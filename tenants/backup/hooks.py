"""The backups domain names a tenant only in its restore record."""

from __future__ import annotations

from portal.core.hooks import DomainHooks, delete_for_tenant, register
from tenants.backup.tables import TenantRestore


async def purge_core(conn, tenant_id: int) -> int:
    return await delete_for_tenant(tenant_id, TenantRestore)


register(DomainHooks("backup", purge_core=purge_core))
