"""Rebuild the core summary rows from the tenant schemas and report drift.

Reads one schema at a time (never a UNION across schemas) so the lock table
stays small at thousands of tenants. What each summary holds is the business
of its domain (``drift`` in each domain's ``hooks.py``).
"""

from __future__ import annotations

from portal.core import hooks
from tenants.registry.tables import Tenant
from tenants.scope import tenant_tx


async def reconcile_all(fix: bool = True) -> dict:
    checks = [h.drift for h in hooks.load() if h.drift]
    # A destroyed file has no schema left (its registry row is a tombstone).
    rows = await Tenant.select(Tenant.id, Tenant.schema_name).where(Tenant.status != "destroyed").order_by(
        Tenant.id).run()
    drifted: list[dict] = []
    failed: dict[int, str] = {}
    for row in rows:
        try:
            async with tenant_tx(row["schema_name"]) as tx:
                diff: dict = {}
                for drift in checks:
                    diff.update(await drift(tx.connection, row["id"], fix))
                if diff:
                    drifted.append({"tenant_id": row["id"], "fields": diff})
        except Exception as exc:  # a broken schema is reported, the rest continue
            failed[row["id"]] = f"{type(exc).__name__}: {exc}"
    return {"checked": len(rows), "drifted": drifted, "fixed": fix and bool(drifted), "failed": failed}
