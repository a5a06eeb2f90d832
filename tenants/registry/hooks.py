"""The registry's part of a tenant's file: the summary columns of core.tenant,
the unit leases and the staff review queue."""

from __future__ import annotations

from portal.core.hooks import DomainHooks, delete_for_tenant, register
from tenants.registry.service import SUMMARY_COLUMNS, compute_summary, write_summary
from tenants.registry.tables import ReviewItem, Tenant, TenantLink, TenantUnit


async def drift(conn, tenant_id: int, fix: bool) -> dict:
    stored = await Tenant.select(*(getattr(Tenant, c) for c in SUMMARY_COLUMNS)).where(
        Tenant.id == tenant_id).first().run()
    truth = await compute_summary(conn)
    diff = {k: {"core": stored[k], "schema": truth[k]} for k in SUMMARY_COLUMNS if stored[k] != truth[k]}
    if diff and fix:
        await write_summary(conn, tenant_id, truth)
    return diff


async def purge_core(conn, tenant_id: int) -> int:
    # A link names two files: it goes with either of them.
    links = await TenantLink.delete().where(
        (TenantLink.tenant_id == tenant_id) | (TenantLink.linked_tenant_id == tenant_id)
    ).returning(TenantLink.id).run()
    return len(links) + await delete_for_tenant(tenant_id, TenantUnit, ReviewItem)


register(DomainHooks("registry", drift=drift, purge_core=purge_core))
