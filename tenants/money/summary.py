"""The tenant's money summary in ``core`` (tenant_money, tenant_money_due,
tenant_money_period): computed from the tenant schema on the path and written
in the caller's transaction, after every ledger change. Reconcile compares it
with a fresh computation (``drift``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from tenants.money import queries
from tenants.money.tables import TenantMoney, TenantMoneyDue, TenantMoneyPeriod

TOTALS = queries.TOTALS


async def compute() -> dict[str, Any]:
    """The summary of the tenant schema on the path."""
    row = await queries.summary_row()
    out = {k: row[k] for k in TOTALS if k != "credit_fen"}
    out["credit_fen"] = row["paid_fen"] - row["allocated_fen"]
    out["dues"] = dict(zip(row["due_dates"], row["due_fens"]))
    out["periods"] = {p: (b, c) for p, b, c in zip(row["periods"], row["billed"], row["collected"])}
    return out


async def write(tenant_id: int, summary: dict[str, Any]) -> None:
    """Replace the tenant's core money rows (in the caller's transaction)."""
    await queries.write_summary(tenant_id, summary)


async def refresh(tenant_id: int) -> dict[str, Any]:
    summary = await compute()
    await write(tenant_id, summary)
    return summary


async def lock(tenant_id: int) -> dict[str, Any]:
    """Serialize the tenant's ledger changes: lock its summary row (created if
    missing) for the rest of the transaction. Every ledger change takes this
    lock first, so two payments for one tenant run one after the other."""
    return await queries.lock_summary(tenant_id)


async def stored(tenant_id: int) -> dict[str, Any]:
    """What core holds for the tenant, in the shape of ``compute``."""
    row = await TenantMoney.select(*(getattr(TenantMoney, k) for k in TOTALS)).where(
        TenantMoney.tenant_id == tenant_id).first()
    out: dict[str, Any] = {k: (row[k] if row else (None if k == "oldest_due" else 0)) for k in TOTALS}
    dues = await TenantMoneyDue.select(TenantMoneyDue.due_date, TenantMoneyDue.outstanding_fen).where(
        TenantMoneyDue.tenant_id == tenant_id).order_by(TenantMoneyDue.due_date)
    out["dues"] = {r["due_date"]: r["outstanding_fen"] for r in dues}
    periods = await TenantMoneyPeriod.select(
        TenantMoneyPeriod.period, TenantMoneyPeriod.billed_fen, TenantMoneyPeriod.collected_fen).where(
        TenantMoneyPeriod.tenant_id == tenant_id).order_by(TenantMoneyPeriod.period)
    out["periods"] = {r["period"]: (r["billed_fen"], r["collected_fen"]) for r in periods}
    return out


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def diff(core_values: dict[str, Any], truth: dict[str, Any]) -> dict[str, Any]:
    """Fields where core differs from the tenant schema."""
    return {
        f"money.{k}": {"core": _jsonable(core_values[k]), "schema": _jsonable(truth[k])}
        for k in (*TOTALS, "dues", "periods") if core_values[k] != truth[k]
    }


async def drift(conn, tenant_id: int, fix: bool) -> dict[str, Any]:
    """Compare (and optionally rewrite) the tenant's money summary. The tenant
    schema must be on the path (``conn`` is the hook's transaction, which the
    queries join by themselves). A tenant without money rows and no ledger has
    no drift."""
    truth = await compute()
    current = await stored(tenant_id)
    fields = diff(current, truth)
    if fields and fix:
        await write(tenant_id, truth)
    return fields
