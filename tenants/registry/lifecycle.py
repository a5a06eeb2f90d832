"""A tenant's file as a whole: what every domain holds for it (inventory) and
the removal of every domain's core rows that name it (the purge's last step)."""

from __future__ import annotations

from portal.core import hooks
from portal.core.db import DB
from tenants.registry.service import TenantRef
from tenants.scope import tenant_tx


async def inventory(ref: TenantRef) -> dict[str, hooks.Inventory]:
    """Every domain's inventory of the tenant, read in one tenant transaction."""
    found = {}
    async with tenant_tx(ref.schema) as tx:
        for domain in hooks.load():
            if domain.inventory:
                found[domain.domain] = await domain.inventory(tx.connection, ref.id)
    return found


async def purge_core_rows(tenant_id: int) -> dict[str, int]:
    """Delete, in one core transaction, every domain's core rows naming the
    tenant. The registry row itself stays (it becomes the tombstone)."""
    deleted = {}
    async with DB.transaction() as tx:
        for domain in hooks.load():
            if domain.purge_core:
                deleted[domain.domain] = await domain.purge_core(tx.connection, tenant_id)
    return deleted
