"""Complaints' part of a tenant's file: its two tables, and the core summary
rows (checked against the schema by ``drift``, removed by ``purge_core``)."""

from __future__ import annotations

from typing import Any

from portal.core.hooks import DomainHooks, Inventory, count_rows, delete_for_tenant, register
from tenants.complaints.tables import Complaint, ComplaintCase, ComplaintStep


async def drift(conn, tenant_id: int, fix: bool) -> dict[str, Any]:
    """Each complaint's step and closing must match its core row (the tenant
    schema is on the path). ``fix`` rewrites the core rows from the schema."""
    rows = await Complaint.select(Complaint.id, Complaint.step, Complaint.closed_at).run()
    core = await ComplaintCase.select(ComplaintCase.complaint_id, ComplaintCase.step, ComplaintCase.closed_at).where(
        ComplaintCase.tenant_id == tenant_id).run()
    truth = {r["id"]: (r["step"], r["closed_at"]) for r in rows}
    stored = {r["complaint_id"]: (r["step"], r["closed_at"]) for r in core}
    wrong = sorted(k for k in truth.keys() | stored.keys() if truth.get(k) != stored.get(k))
    if not wrong:
        return {}
    if fix:
        from tenants.complaints import summary
        from tenants.registry.service import get_ref

        ref = await get_ref(tenant_id)
        cal = await summary.calendar()
        for complaint_id in wrong:
            if complaint_id in truth:
                await summary.sync(ref, complaint_id, cal)
            else:
                await ComplaintCase.delete().where((ComplaintCase.tenant_id == tenant_id)
                                                   & (ComplaintCase.complaint_id == complaint_id))
    return {"complaints": {"core": len(stored), "schema": len(truth), "differing": len(wrong)}}


async def inventory(conn, tenant_id: int) -> Inventory:
    return Inventory(rows=await count_rows(Complaint, ComplaintStep))


async def purge_core(conn, tenant_id: int) -> int:
    return await delete_for_tenant(tenant_id, ComplaintCase)


register(DomainHooks("complaints", drift=drift, inventory=inventory, purge_core=purge_core))
