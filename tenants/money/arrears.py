"""Arrears and collection reports, read from the core summaries only (never
across tenant schemas). Ageing is counted from each charge's due date to
``as_of`` (Asia/Shanghai): 0-30, 31-60, 61-90 and over 90 days overdue; an
amount is overdue from the day after its due date."""

from __future__ import annotations

import datetime as dt
from typing import Any

from piccolo.query.functions import Count, Sum

from portal.core.roles import Perm, Principal
from tenants.money import queries
from tenants.money.amounts import add_months, month_start, today
from tenants.money.ledger import need
from tenants.money.tables import TenantMoney, TenantMoneyDue, TenantMoneyPeriod
from tenants.registry.tables import Tenant
from tenants.registry.visibility import scope_ids

BUCKETS = (("b0_30", "0-30 days", 1, 30), ("b31_60", "31-60 days", 31, 60), ("b61_90", "61-90 days", 61, 90),
           ("b90", "Over 90 days", 91, None))
AGES = tuple((key, low, high) for key, _, low, high in BUCKETS)


async def arrears_by_tenant(principal: Principal, *, as_of: dt.date | None = None, building_id: int | None = None,
                            min_days: int = 1, page: int = 1, per_page: int = 100) -> dict[str, Any]:
    """Tenants with overdue amounts, by age bucket, largest first; with totals."""
    need(principal, Perm.MONEY_READ)
    as_of = as_of or today()
    totals, rows = await queries.arrears_by_tenant(
        AGES, as_of, scope_ids(principal), building_id or None, max(1, min_days), per_page,
        (max(page, 1) - 1) * per_page)
    return {"as_of": as_of, "rows": rows, "totals": totals, "page": page, "per_page": per_page}


async def tenant_arrears(tenant_id: int, as_of: dt.date | None = None) -> dict[str, Any]:
    """One tenant's ageing, from core."""
    as_of = as_of or today()
    ageing = await queries.tenant_ageing(AGES, tenant_id, as_of)
    money = await TenantMoney.select().where(TenantMoney.tenant_id == tenant_id).first()
    return {"as_of": as_of, **ageing, "money": money}


async def tenants_in_arrears(as_of: dt.date, min_days: int = 1) -> list[int]:
    """Ids of active tenants with an amount overdue ``min_days`` or more."""
    due = TenantMoneyDue
    rows = await due.select(due.tenant_id).distinct().where(
        (due.outstanding_fen > 0) & (due.due_date <= as_of - dt.timedelta(days=max(1, min_days)))
        & due.tenant_id.is_in(Tenant.select(Tenant.id).where(Tenant.active == True))  # noqa: E712 - Piccolo
    ).order_by(due.tenant_id).run()
    return [r["tenant_id"] for r in rows]


async def collection_rates(principal: Principal, *, months: int = 12, until: dt.date | None = None,
                           building_id: int | None = None) -> list[dict[str, Any]]:
    """Per billing month: billed, collected to date, and the collection rate."""
    need(principal, Perm.MONEY_READ)
    last = month_start(until or today())
    first = add_months(last, -(months - 1))
    period = TenantMoneyPeriod
    where = (period.period >= first) & (period.period <= last)
    scope = scope_ids(principal)
    if scope is not None or building_id:
        tenants = Tenant.select(Tenant.id)
        if scope is not None:
            tenants = tenants.where(Tenant.building_ids.overlap(scope))
        if building_id:
            tenants = tenants.where(Tenant.building_ids.any(building_id))
        where &= period.tenant_id.is_in(tenants)
    rows = await period.select(
        period.period, Sum(period.billed_fen, alias="billed"), Sum(period.collected_fen, alias="collected"),
        Count(distinct=[period.tenant_id], alias="tenants"),
    ).where(where).group_by(period.period).order_by(period.period).run()
    out = []
    for r in rows:
        billed, collected = int(r["billed"]), int(r["collected"])
        rate = (collected / billed) if billed else None
        out.append({"period": r["period"], "billed": billed, "collected": collected, "tenants": r["tenants"],
                    "rate": rate})
    return out
