"""What repairs add to a tenant's file: rows, the open-order summary check and
the core rows that name the tenant."""

from __future__ import annotations

from portal.core.hooks import DomainHooks, Inventory, count_rows, delete_for_tenant, register
from tenants.servicedesk.tables import TENANT_TABLES, WorkOrder, WorkOrderSummary

OPEN = ("reported", "unassigned", "dispatched", "accepted", "on_site", "paused", "completed")


async def inventory(conn, tenant_id: int) -> Inventory:
    return Inventory(rows=await count_rows(*TENANT_TABLES))


async def drift(conn, tenant_id: int, fix: bool) -> dict:
    """Open orders in the schema against summary rows in core (by id and status)."""
    schema = {r["id"]: r["status"] for r in await WorkOrder.select(WorkOrder.id, WorkOrder.status).where(
        WorkOrder.status.is_in(list(OPEN))).run()}
    core = {r["order_id"]: r["status"] for r in await WorkOrderSummary.select(
        WorkOrderSummary.order_id, WorkOrderSummary.status).where(WorkOrderSummary.tenant_id == tenant_id).run()}
    if schema == core:
        return {}
    if fix:
        from tenants.registry.service import get_ref
        from tenants.servicedesk.service import sync_summary

        ref = await get_ref(tenant_id)
        await WorkOrderSummary.delete().where((WorkOrderSummary.tenant_id == tenant_id)
                                              & WorkOrderSummary.order_id.not_in(list(schema) or [0])).run()
        for row in await WorkOrder.select().where(WorkOrder.id.is_in(list(schema) or [0])).run():
            await sync_summary(ref, row)
    return {"open_work_orders": {"core": len(core), "schema": len(schema)}}


async def purge_core(conn, tenant_id: int) -> int:
    return await delete_for_tenant(tenant_id, WorkOrderSummary)


register(DomainHooks("servicedesk", drift=drift, inventory=inventory, purge_core=purge_core))
