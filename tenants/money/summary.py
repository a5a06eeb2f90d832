"""The tenant's money summary in ``core`` (tenant_money, tenant_money_due,
tenant_money_period): computed from the tenant schema on the path and written
in the caller's transaction, after every ledger change. Reconcile compares it
with a fresh computation (``drift``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

# Net amount of each charge (its adjustments included) and what is allocated to it.
CHARGE_NET = """
SELECT c.id, c.period, c.due_date, c.fee_item, c.description, c.kind, c.amount_fen, c.created_at,
       c.amount_fen + coalesce(adj.fen, 0) AS net_fen,
       coalesce(al.fen, 0) AS paid_fen,
       c.amount_fen + coalesce(adj.fen, 0) - coalesce(al.fen, 0) AS open_fen
FROM charge c
LEFT JOIN (SELECT adjusts_id, sum(amount_fen) AS fen FROM charge WHERE adjusts_id IS NOT NULL GROUP BY adjusts_id) adj
       ON adj.adjusts_id = c.id
LEFT JOIN (SELECT charge_id, sum(amount_fen) AS fen FROM allocation GROUP BY charge_id) al ON al.charge_id = c.id
WHERE c.kind <> 'adjustment'
"""

SUMMARY_SQL = f"""
WITH net AS ({CHARGE_NET}),
dues AS (SELECT due_date, sum(open_fen)::bigint AS fen FROM net WHERE open_fen > 0 GROUP BY due_date),
periods AS (SELECT period, sum(net_fen)::bigint AS billed, sum(paid_fen)::bigint AS collected FROM net GROUP BY period)
SELECT
  coalesce((SELECT sum(net_fen) FROM net), 0)::bigint AS charged_fen,
  coalesce((SELECT sum(paid_fen) FROM net), 0)::bigint AS allocated_fen,
  coalesce((SELECT sum(amount_fen) FROM payment), 0)::bigint AS paid_fen,
  coalesce((SELECT sum(open_fen) FROM net WHERE open_fen > 0), 0)::bigint AS outstanding_fen,
  coalesce((SELECT sum(CASE e.kind WHEN 'receipt' THEN e.amount_fen ELSE -e.amount_fen END)
            FROM deposit_entry e WHERE e.status = 'approved'), 0)::bigint AS deposits_held_fen,
  (SELECT count(*) FROM net WHERE open_fen > 0)::int AS open_charges,
  (SELECT min(due_date) FROM dues) AS oldest_due,
  coalesce((SELECT array_agg(due_date ORDER BY due_date) FROM dues), '{{}}') AS due_dates,
  coalesce((SELECT array_agg(fen ORDER BY due_date) FROM dues), '{{}}') AS due_fens,
  coalesce((SELECT array_agg(period ORDER BY period) FROM periods), '{{}}') AS periods,
  coalesce((SELECT array_agg(billed ORDER BY period) FROM periods), '{{}}') AS billed,
  coalesce((SELECT array_agg(collected ORDER BY period) FROM periods), '{{}}') AS collected
"""

TOTALS = ("charged_fen", "allocated_fen", "paid_fen", "outstanding_fen", "credit_fen", "deposits_held_fen",
          "open_charges", "oldest_due")


async def compute(conn) -> dict[str, Any]:
    """The summary of the tenant schema on the path."""
    row = await conn.fetchrow(SUMMARY_SQL)
    out = {k: row[k] for k in TOTALS if k != "credit_fen"}
    out["credit_fen"] = row["paid_fen"] - row["allocated_fen"]
    out["dues"] = dict(zip(row["due_dates"], row["due_fens"]))
    out["periods"] = {p: (b, c) for p, b, c in zip(row["periods"], row["billed"], row["collected"])}
    return out


async def write(conn, tenant_id: int, summary: dict[str, Any]) -> None:
    """Replace the tenant's core money rows (in the caller's transaction)."""
    await conn.execute(
        "INSERT INTO core.tenant_money (tenant_id, charged_fen, allocated_fen, paid_fen, outstanding_fen, credit_fen,"
        " deposits_held_fen, open_charges, oldest_due, updated_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, now())"
        " ON CONFLICT (tenant_id) DO UPDATE SET charged_fen = $2, allocated_fen = $3, paid_fen = $4,"
        " outstanding_fen = $5, credit_fen = $6, deposits_held_fen = $7, open_charges = $8, oldest_due = $9,"
        " updated_at = now()",
        tenant_id, *(summary[k] for k in TOTALS),
    )
    dues = summary["dues"]
    await conn.execute(
        "WITH gone AS (DELETE FROM core.tenant_money_due WHERE tenant_id = $1 AND NOT (due_date = ANY($2::date[])))"
        " INSERT INTO core.tenant_money_due (tenant_id, due_date, outstanding_fen)"
        " SELECT $1, d, f FROM unnest($2::date[], $3::bigint[]) AS x(d, f)"
        " ON CONFLICT (tenant_id, due_date) DO UPDATE SET outstanding_fen = excluded.outstanding_fen",
        tenant_id, list(dues.keys()), list(dues.values()),
    )
    periods = summary["periods"]
    await conn.execute(
        "WITH gone AS (DELETE FROM core.tenant_money_period WHERE tenant_id = $1 AND NOT (period = ANY($2::date[])))"
        " INSERT INTO core.tenant_money_period (tenant_id, period, billed_fen, collected_fen)"
        " SELECT $1, p, b, c FROM unnest($2::date[], $3::bigint[], $4::bigint[]) AS x(p, b, c)"
        " ON CONFLICT (tenant_id, period) DO UPDATE SET billed_fen = excluded.billed_fen,"
        " collected_fen = excluded.collected_fen",
        tenant_id, list(periods.keys()), [v[0] for v in periods.values()], [v[1] for v in periods.values()],
    )


async def refresh(conn, tenant_id: int) -> dict[str, Any]:
    summary = await compute(conn)
    await write(conn, tenant_id, summary)
    return summary


async def lock(conn, tenant_id: int) -> dict[str, Any]:
    """Serialize the tenant's ledger changes: lock its summary row (created if
    missing) for the rest of the transaction. Every ledger change takes this
    lock first, so two payments for one tenant run one after the other."""
    row = await conn.fetchrow("SELECT * FROM core.tenant_money WHERE tenant_id = $1 FOR UPDATE", tenant_id)
    if row is None:
        await conn.execute(
            "INSERT INTO core.tenant_money (tenant_id) VALUES ($1) ON CONFLICT DO NOTHING", tenant_id)
        row = await conn.fetchrow("SELECT * FROM core.tenant_money WHERE tenant_id = $1 FOR UPDATE", tenant_id)
    return dict(row)


async def stored(conn, tenant_id: int) -> dict[str, Any]:
    """What core holds for the tenant, in the shape of ``compute``."""
    row = await conn.fetchrow("SELECT * FROM core.tenant_money WHERE tenant_id = $1", tenant_id)
    out: dict[str, Any] = {k: (row[k] if row else (None if k == "oldest_due" else 0)) for k in TOTALS}
    dues = await conn.fetch(
        "SELECT due_date, outstanding_fen FROM core.tenant_money_due WHERE tenant_id = $1 ORDER BY due_date", tenant_id)
    out["dues"] = {r["due_date"]: r["outstanding_fen"] for r in dues}
    periods = await conn.fetch(
        "SELECT period, billed_fen, collected_fen FROM core.tenant_money_period WHERE tenant_id = $1 ORDER BY period",
        tenant_id)
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
    schema must be on the path. A tenant without money rows and no ledger has
    no drift."""
    truth = await compute(conn)
    current = await stored(conn, tenant_id)
    fields = diff(current, truth)
    if fields and fix:
        await write(conn, tenant_id, truth)
    return fields
