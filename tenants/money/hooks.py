"""Money's part of a tenant's file: the ledger tables, the core money summary
(reconciled against the ledger) and the tenant's rows of runs and batches."""

from __future__ import annotations

from portal.core.hooks import DomainHooks, Inventory, count_rows, delete_for_tenant, register
from tenants.money import summary
from tenants.money.tables import (
    Allocation,
    BillingRunItem,
    Charge,
    Deposit,
    DepositEntry,
    FeeSubscription,
    Notice,
    NoticeBatchItem,
    NoticeNumber,
    Payment,
    TenantMoney,
    TenantMoneyDue,
    TenantMoneyPeriod,
)


async def inventory(conn, tenant_id: int) -> Inventory:
    return Inventory(rows=await count_rows(Deposit, DepositEntry, FeeSubscription, Charge, Payment, Allocation, Notice))


async def purge_core(conn, tenant_id: int) -> int:
    return await delete_for_tenant(tenant_id, TenantMoneyDue, TenantMoneyPeriod, TenantMoney, BillingRunItem,
                                   NoticeBatchItem, NoticeNumber)


register(DomainHooks("money", drift=summary.drift, inventory=inventory, purge_core=purge_core))
