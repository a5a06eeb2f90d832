"""Billing's office-wide side against real PostgreSQL: fee items saved once
and edited (audited, codes unique), a run with the late-fee rule on, and the
run's progress and failure list."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from portal.core.db import DB
from portal.core.errors import FormErrors, NotFound
from portal.core.roles import Principal, Role
from tenants.money import billing, charges, ledger
from tenants.money.tables import Charge
from tenants.registry import service as registry
from tenants.scope import tenant_tx
from tests import factories

GM = Principal(kind="staff", user_id=9701, name="总经理庚", roles=frozenset({Role.GENERAL_MANAGER}))
FINANCE = Principal(kind="staff", user_id=9702, name="财务庚", roles=frozenset({Role.FINANCE}))


async def test_fee_item_is_created_once_then_edited(database):
    raw = {"name": "储藏室", "name_en": "Storage", "basis": "fixed", "unit_price": "120.50", "due_day": "5",
           "active": "1"}
    assert await billing.save_fee_item("storage_x", raw, GM, create=True) == "storage_x"
    with pytest.raises(FormErrors) as taken:
        await billing.save_fee_item("storage_x", raw, GM, create=True)
    assert taken.value.fields == {"code": "This code is taken."}
    before = (await ledger.fee_items_map())["storage_x"]
    await billing.save_fee_item("storage_x", {**raw, "unit_price": "99", "active": ""}, GM)
    item = (await ledger.fee_items_map())["storage_x"]
    assert (item["unit_price"], item["active"], item["due_day"], item["sort"]) == (Decimal("99"), False, 5, 50)
    assert item["updated_by"] == GM.name and item["updated_at"] >= before["updated_at"]
    with pytest.raises(NotFound):
        await billing.save_fee_item("storage_none", raw, GM)
    assert await DB.pool.fetchval(
        "SELECT count(*) FROM core.audit_log WHERE action = 'money.fee_item.save' AND target = 'fee_item:storage_x'") == 2


async def test_run_with_late_fee_bills_the_overdue_month_once(database):
    bld = await factories.building()
    ref = await registry.get_ref(await factories.tenant(bld))
    await charges.add_manual_charge(ref, {"fee_item": "utilities", "amount": "1000", "due_date": "2032-01-10",
                                          "reason": "一月水电"}, FINANCE)
    rule = billing.LateFeeRule(daily_rate=Decimal("0.0005"), grace_days=0)
    run_id = await billing.start_run("2032-03", GM)
    assert await billing.bill_many(run_id, [ref.id], rule=rule) == {"done": 1, "failed": 0}
    assert (await billing.bill_tenant(run_id, ref.id, rule=rule))["skipped"] is True
    async with tenant_tx(ref.schema):
        rows = await Charge.select(Charge.kind, Charge.amount_fen, Charge.run_id).where(
            Charge.period == dt.date(2032, 3, 1)).order_by(Charge.kind)
    # 88.00 m2 x 8.50 = 748.00; 1,000.00 overdue all of February (29 days in 2032) x 0.05% = 14.50
    assert rows == [{"kind": "billing", "amount_fen": 74800, "run_id": run_id},
                    {"kind": "late_fee", "amount_fen": 1450, "run_id": run_id}]
    progress = await billing.run_progress(run_id)
    assert progress["period"] == dt.date(2032, 3, 1) and progress["stalled"] is False
    assert progress["done"] >= 1 and progress["billed_fen"] >= 74800 + 1450
    assert await billing.failures(run_id, GM) == []
    await billing.record_failure(run_id, ref.id, "ignored: the item is done")
    assert (await billing.run_progress(run_id))["failed"] == 0
