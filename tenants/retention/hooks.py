"""Retention's part of a tenant's file: its lines on the disposition list.

The last business date and ``dormant_since`` are columns of the registry row,
which stays as the tombstone; nothing to check against the tenant schema."""

from __future__ import annotations

from portal.core.hooks import DomainHooks, delete_for_tenant, register
from tenants.retention.tables import DispositionItem


async def purge_core(conn, tenant_id: int) -> int:
    return await delete_for_tenant(tenant_id, DispositionItem)


register(DomainHooks("retention", purge_core=purge_core))
