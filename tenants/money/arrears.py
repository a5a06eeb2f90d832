"""Arrears and collection reports, read from the core summaries only (never
across tenant schemas). Ageing is counted from each charge's due date to
``as_of`` (Asia/Shanghai): 0-30, 31-60, 61-90 and over 90 days overdue; an
amount is overdue from the day after its due date."""

from __future__ import annotations

import datetime as dt
from typing import Any

from portal.core.roles import Perm, Principal
from portal.core.db import DB
from tenants.money.amounts import add_months, month_start, today
from tenants.money.ledger import need
from tenants.registry.visibility import in_scope

BUCKETS = (("b0_30", "0-30 days", 1, 30), ("b31_60", "31-60 days", 31, 60), ("b61_90", "61-90 days", 61, 90),
           ("b90", "Over 90 days", 91, None))


def _bucket_sql() -> str:
    parts = []
    for key, _, low, high in BUCKETS:
        cond = f"($1::date - d.due_date) >= {low}" + (f" AND ($1::date - d.due_date) <= {high}" if high else "")
        parts.append(f"coalesce(sum(d.outstanding_fen) FILTER (WHERE {cond}), 0)::bigint AS {key}")
    parts.append("coalesce(sum(d.outstanding_fen) FILTER (WHERE d.due_date < $1::date), 0)::bigint AS overdue")
    parts.append("coalesce(sum(d.outstanding_fen) FILTER (WHERE d.due_date >= $1::date), 0)::bigint AS not_due")
    parts.append("min(d.due_date) FILTER (WHERE d.due_date < $1::date) AS oldest_due")
    return ", ".join(parts)


def _scope(principal: Principal, args: list, where: list[str], building_id: int | None = None) -> None:
    scoped = in_scope(principal, args)
    if scoped:
        where.append(scoped)
    if building_id:
        args.append(building_id)
        where.append(f"${len(args)} = ANY(t.building_ids)")


async def arrears_by_tenant(principal: Principal, *, as_of: dt.date | None = None, building_id: int | None = None,
                            min_days: int = 1, page: int = 1, per_page: int = 100) -> dict[str, Any]:
    """Tenants with overdue amounts, by age bucket, largest first; with totals."""
    need(principal, Perm.MONEY_READ)
    as_of = as_of or today()
    args: list = [as_of]
    where = ["t.active"]
    _scope(principal, args, where, building_id)
    args.append(max(1, min_days))
    having = f"HAVING coalesce(sum(d.outstanding_fen) FILTER (WHERE ($1::date - d.due_date) >= ${len(args)}), 0) > 0"
    base = (f"SELECT t.id, t.name, t.archive_no, t.unit_labels, {_bucket_sql()} FROM core.tenant_money_due d"
            f" JOIN core.tenant t ON t.id = d.tenant_id WHERE {' AND '.join(where)} GROUP BY t.id {having}")
    totals = await DB.pool.fetchrow(
        f"SELECT count(*)::int AS tenants, {', '.join(f'coalesce(sum({k}), 0)::bigint AS {k}' for k, *_ in BUCKETS)},"
        f" coalesce(sum(overdue), 0)::bigint AS overdue, coalesce(sum(not_due), 0)::bigint AS not_due FROM ({base}) x",
        *args)
    args_page = [*args, per_page, (max(page, 1) - 1) * per_page]
    rows = await DB.pool.fetch(
        f"SELECT * FROM ({base}) x ORDER BY overdue DESC, id LIMIT ${len(args) + 1} OFFSET ${len(args) + 2}",
        *args_page)
    return {"as_of": as_of, "rows": [dict(r) for r in rows], "totals": dict(totals), "page": page,
            "per_page": per_page}


async def tenant_arrears(tenant_id: int, as_of: dt.date | None = None) -> dict[str, Any]:
    """One tenant's ageing, from core."""
    as_of = as_of or today()
    row = await DB.pool.fetchrow(
        f"SELECT {_bucket_sql()} FROM core.tenant_money_due d WHERE d.tenant_id = $2", as_of, tenant_id)
    money = await DB.pool.fetchrow("SELECT * FROM core.tenant_money WHERE tenant_id = $1", tenant_id)
    return {"as_of": as_of, **dict(row), "money": dict(money) if money else None}


async def tenants_in_arrears(as_of: dt.date, min_days: int = 1) -> list[int]:
    """Ids of active tenants with an amount overdue ``min_days`` or more."""
    rows = await DB.pool.fetch(
        "SELECT DISTINCT d.tenant_id FROM core.tenant_money_due d JOIN core.tenant t ON t.id = d.tenant_id"
        " WHERE t.active AND d.outstanding_fen > 0 AND ($1::date - d.due_date) >= $2 ORDER BY d.tenant_id",
        as_of, max(1, min_days))
    return [r["tenant_id"] for r in rows]


async def collection_rates(principal: Principal, *, months: int = 12, until: dt.date | None = None,
                           building_id: int | None = None) -> list[dict[str, Any]]:
    """Per billing month: billed, collected to date, and the collection rate."""
    need(principal, Perm.MONEY_READ)
    last = month_start(until or today())
    first = add_months(last, -(months - 1))
    args: list = [first, last]
    where = ["p.period BETWEEN $1 AND $2"]
    _scope(principal, args, where, building_id)
    rows = await DB.pool.fetch(
        "SELECT p.period, sum(p.billed_fen)::bigint AS billed, sum(p.collected_fen)::bigint AS collected,"
        " count(DISTINCT p.tenant_id)::int AS tenants FROM core.tenant_money_period p"
        f" JOIN core.tenant t ON t.id = p.tenant_id WHERE {' AND '.join(where)} GROUP BY p.period ORDER BY p.period",
        *args)
    out = []
    for r in rows:
        rate = (r["collected"] / r["billed"]) if r["billed"] else None
        out.append({**dict(r), "rate": rate})
    return out
