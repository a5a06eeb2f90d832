"""Rebuild the core summary rows from the tenant schemas and report drift.

Reads one schema at a time (never a UNION across schemas) so the lock table
stays small at thousands of tenants.
"""

from __future__ import annotations

from portal.core.db import DB
from tenants.money import summary as money_summary
from tenants.registry.service import SUMMARY_COLUMNS, compute_summary, write_summary
from tenants.scope import tenant_tx


async def reconcile_all(fix: bool = True) -> dict:
    rows = await DB.pool.fetch(
        f"SELECT id, schema_name, {', '.join(SUMMARY_COLUMNS)} FROM core.tenant ORDER BY id"
    )
    drifted: list[dict] = []
    failed: dict[int, str] = {}
    for row in rows:
        try:
            async with tenant_tx(row["schema_name"]) as tx:
                truth = await compute_summary(tx.connection)
                diff = {k: {"core": row[k], "schema": truth[k]} for k in SUMMARY_COLUMNS if row[k] != truth[k]}
                if diff and fix:
                    await write_summary(tx.connection, row["id"], truth)
                # money summaries (core.tenant_money*, issue 4)
                diff.update(await money_summary.drift(tx.connection, row["id"], fix))
                if diff:
                    drifted.append({"tenant_id": row["id"], "fields": diff})
        except Exception as exc:  # a broken schema is reported, the rest continue
            failed[row["id"]] = f"{type(exc).__name__}: {exc}"
    return {"checked": len(rows), "drifted": drifted, "fixed": fix and bool(drifted), "failed": failed}
