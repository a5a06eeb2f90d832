"""The money ledger against real PostgreSQL: deposits, charges, payments,
allocation, reversal, concurrency, core summaries and reconcile."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from portal.core.roles import Principal, Role
from portal.core.db import DB
from portal.core.errors import Conflict, Forbidden, FormErrors
from tenants.money import arrears, billing, charges, deposits, ledger, summary
from tenants.money import payments as money_payments  # a test below names its rows `payments`
from tenants.registry import service as registry
from tenants.registry.reconcile import reconcile_all
from tenants.scope import tenant_tx
from tests import factories

FINANCE = Principal(kind="staff", user_id=9001, name="财务甲", roles=frozenset({Role.FINANCE}))
FINANCE2 = Principal(kind="staff", user_id=9002, name="财务乙", roles=frozenset({Role.FINANCE}))
CLERK = Principal(kind="staff", user_id=9003, name="文员", roles=frozenset({Role.CLERK}))


async def _tenant():
    bld = await factories.building()
    return await registry.get_ref(await factories.tenant(bld))


async def _charge(ref, amount: str, due: str, reason="水电抄表"):
    return await charges.add_manual_charge(
         ref, {"fee_item": "utilities", "amount": amount, "due_date": due, "reason": reason}, FINANCE)


async def _rows(ref, sql, *args):
    async with tenant_tx(ref.schema) as tx:
        return [dict(r) for r in await tx.connection.fetch(sql, *args)]


async def _core_money(ref):
    return dict(await DB.pool.fetchrow("SELECT * FROM core.tenant_money WHERE tenant_id = $1", ref.id))


async def test_payment_allocates_oldest_first_keeps_credit_and_reverses(database):
    ref = await _tenant()
    c1 = await _charge(ref, "1000.00", "2026-01-10")
    c2 = await _charge(ref, "500.50", "2026-02-10")
    c3 = await _charge(ref, "300", "2025-12-10")
    pay = await money_payments.record_payment(
        ref, {"amount": "1,500.00", "paid_on": "2026-02-15", "method": "bank_transfer", "reference": "TX-1"}, FINANCE)
    allocs = await _rows(ref, "SELECT charge_id, amount_fen FROM allocation WHERE payment_id = $1 ORDER BY id", pay)
    assert [(a["charge_id"], a["amount_fen"]) for a in allocs] == [(c3, 30000), (c1, 100000), (c2, 20000)]
    money = await _core_money(ref)
    assert money["outstanding_fen"] == 30050 and money["credit_fen"] == 0 and money["charged_fen"] == 180050
    # overpayment becomes credit
    await money_payments.record_payment(ref, {"amount": "400", "paid_on": "2026-02-16", "method": "cash"}, FINANCE)
    money = await _core_money(ref)
    assert money["outstanding_fen"] == 0 and money["credit_fen"] == 9950
    # the next charge is settled from the credit
    await _charge(ref, "50", "2026-03-10")
    money = await _core_money(ref)
    assert money["outstanding_fen"] == 0 and money["credit_fen"] == 4950
    # a reversal is a new entry; the charges it settled are open again
    await money_payments.reverse_payment(ref, pay, "退票", FINANCE)
    payments = await _rows(ref, "SELECT kind, amount_fen, reverses_id FROM payment ORDER BY id")
    assert payments[0] == {"kind": "payment", "amount_fen": 150000, "reverses_id": None}
    assert payments[-1] == {"kind": "reversal", "amount_fen": -150000, "reverses_id": pay}
    money = await _core_money(ref)
    # 1,850.50 charged - 400 paid + 49.50 still unallocated credit
    assert money["outstanding_fen"] == 150000 and money["credit_fen"] == 4950
    assert money["paid_fen"] == 40000
    with pytest.raises(Conflict):
        await money_payments.reverse_payment(ref, pay, "again", FINANCE)
    log = await _rows(ref, "SELECT entity, field FROM change_log WHERE entity IN ('payment', 'charge')")
    assert {"recorded", "reversed", "created"} <= {r["field"] for r in log}
    report = await reconcile_all(fix=False)
    assert not [d for d in report["drifted"] if d["tenant_id"] == ref.id]


async def test_chosen_allocation_and_partial(database):
    ref = await _tenant()
    c1 = await _charge(ref, "100", "2026-01-10")
    c2 = await _charge(ref, "200", "2026-02-10")
    pay = await money_payments.record_payment(
        ref, {"amount": "150", "allocate": "chosen", f"alloc_{c2}": "150"}, FINANCE)
    allocs = await _rows(ref, "SELECT charge_id, amount_fen FROM allocation WHERE payment_id = $1", pay)
    assert allocs == [{"charge_id": c2, "amount_fen": 15000}]
    with pytest.raises(FormErrors) as err:
        await money_payments.record_payment(ref, {"amount": "50", "allocate": "chosen", f"alloc_{c1}": "60"}, FINANCE)
    assert f"alloc_{c1}" in err.value.fields or "allocation" in err.value.fields
    with pytest.raises(FormErrors):
        await money_payments.record_payment(
            ref, {"amount": "500", "allocate": "chosen", f"alloc_{c1}": "100.001"}, FINANCE)
    assert len(await _rows(ref, "SELECT id FROM payment")) == 1


@pytest.mark.parametrize("raw, field", [
    ({"amount": "-10"}, "amount"), ({"amount": "1e5"}, "amount"), ({"amount": "12.345"}, "amount"),
    ({"amount": "NaN"}, "amount"), ({"amount": ""}, "amount"), ({"amount": "10", "paid_on": "2026-13-01"}, "paid_on"),
    ({"amount": "10", "method": "bitcoin"}, "method"),
])
async def test_bad_payment_input_saves_nothing(database, raw, field):
    ref = await _tenant()
    with pytest.raises(FormErrors) as err:
        await money_payments.record_payment(ref, raw, FINANCE)
    assert field in err.value.fields
    assert await _rows(ref, "SELECT id FROM payment") == []


async def test_manual_charge_and_adjustment_need_a_reason(database):
    ref = await _tenant()
    with pytest.raises(FormErrors) as err:
        await charges.add_manual_charge(ref, {"fee_item": "other", "amount": "10", "reason": " "}, FINANCE)
    assert "reason" in err.value.fields
    charge = await _charge(ref, "100", "2026-01-10")
    with pytest.raises(FormErrors) as err:
        await charges.adjust_charge(ref, charge, {"amount": "-20"}, FINANCE)
    assert "reason" in err.value.fields
    with pytest.raises(FormErrors):
        await charges.adjust_charge(ref, charge, {"amount": "-200", "reason": "减免"}, FINANCE)
    await charges.adjust_charge(ref, charge, {"amount": "-20", "reason": "减免"}, FINANCE)
    assert (await _core_money(ref))["outstanding_fen"] == 8000
    log = await _rows(ref, "SELECT field, new_value FROM change_log WHERE entity = 'charge' ORDER BY id")
    assert log[-1]["field"] == "adjusted" and "减免" in log[-1]["new_value"]


async def test_clerk_cannot_record_money(database):
    ref = await _tenant()
    with pytest.raises(Forbidden):
        await money_payments.record_payment(ref, {"amount": "10"}, CLERK)
    with pytest.raises(Forbidden):
        await deposits.receive_deposit(ref, {"kind": "fitout", "amount": "10"}, CLERK)


async def test_deposit_deduction_needs_a_second_person(database):
    ref = await _tenant()
    entry = await deposits.receive_deposit(ref, {"kind": "fitout", "amount": "12000", "method": "bank_transfer"},
                                           FINANCE)
    deposit_id = (await _rows(ref, "SELECT deposit_id FROM deposit_entry WHERE id = $1", entry))[0]["deposit_id"]
    with pytest.raises(FormErrors):
        await deposits.request_deposit_release(ref, deposit_id, "deduction", {"amount": "100"}, FINANCE)
    ded = await deposits.request_deposit_release(ref, deposit_id, "deduction",
                                                 {"amount": "2000", "reason": "损坏公共墙面"}, FINANCE)
    with pytest.raises(FormErrors):  # more than balance less pending
        await deposits.request_deposit_release(ref, deposit_id, "refund", {"amount": "10000.01"}, FINANCE)
    with pytest.raises(Forbidden):
        await deposits.decide_deposit_entry(ref, ded, True, FINANCE)
    await deposits.decide_deposit_entry(ref, ded, True, FINANCE2)
    refund = await deposits.request_deposit_release(ref, deposit_id, "refund", {"amount": "10000", "method": "cash"},
                                                    FINANCE2)
    await deposits.decide_deposit_entry(ref, refund, True, FINANCE)
    data = await ledger.overview(ref, FINANCE)
    deposit = data["deposits"][0]
    assert deposit["balance_fen"] == 0
    assert [e["running_fen"] for e in deposit["entries"]] == [1200000, 1000000, 0]
    assert (await _core_money(ref))["deposits_held_fen"] == 0


async def test_concurrent_payments_never_over_allocate(database):
    ref = await _tenant()
    charges = [await _charge(ref, "100", f"2026-0{i}-10") for i in range(1, 6)]
    results = await asyncio.gather(*(
        money_payments.record_payment(ref, {"amount": "70", "method": "cash"}, FINANCE) for _ in range(8)))
    assert len(set(results)) == 8
    rows = await _rows(ref, "SELECT charge_id, sum(amount_fen)::bigint AS fen FROM allocation GROUP BY charge_id")
    assert all(r["fen"] <= 10000 for r in rows)
    assert sum(r["fen"] for r in rows) == 50000
    money = await _core_money(ref)
    assert money["outstanding_fen"] == 0 and money["credit_fen"] == 8 * 7000 - 50000
    assert set(r["charge_id"] for r in rows) == set(charges)


async def test_billing_is_idempotent_in_process(database):
    bld = await factories.building(units=4)
    ids = [await factories.tenant(bld) for _ in range(3)]
    refs = [await registry.get_ref(i) for i in ids]
    async with tenant_tx(refs[0].schema) as tx:
        await tx.connection.execute("INSERT INTO fee_subscription (fee_item, quantity) VALUES ('parking', 2)")
    period = dt.date(2031, 3, 1)
    run = await billing.start_run(period, FINANCE)
    pending = await billing.pending_tenants(run)
    assert set(ids) <= set(pending)
    await billing.bill_many(run, ids)
    await billing.bill_many(run, ids)  # again: skipped
    await billing.start_run(period, FINANCE)  # reopening never doubles
    await billing.bill_many(run, ids)
    rows = await _rows(refs[0], "SELECT fee_item, amount_fen, due_date FROM charge WHERE period = $1 ORDER BY fee_item",
                       period)
    # the factory leases one 88.00 m2 unit: 88.00 x 8.50 = 748.00; parking 2 x 600
    assert rows == [{"fee_item": "management", "amount_fen": 74800, "due_date": dt.date(2031, 3, 10)},
                    {"fee_item": "parking", "amount_fen": 120000, "due_date": dt.date(2031, 3, 10)}]
    for ref in refs[1:]:
        assert len(await _rows(ref, "SELECT 1 FROM charge WHERE period = $1", period)) == 1
    # ageing from core
    principal = FINANCE
    report = await arrears.arrears_by_tenant(principal, as_of=dt.date(2031, 5, 1))
    row = next(r for r in report["rows"] if r["id"] == refs[0].id)
    assert row["b31_60"] == 74800 + 120000 and row["b0_30"] == 0
    rates = await arrears.collection_rates(principal, until=dt.date(2031, 3, 1), months=1)
    assert rates and rates[0]["billed"] >= (74800 + 120000) + 2 * 74800


async def test_late_fee_rule(database):
    from decimal import Decimal

    rule = billing.LateFeeRule(daily_rate=Decimal("0.0005"), grace_days=0)
    # 1,000 yuan due 2026-01-10, overdue 2026-01-11..31 = 21 days in January -> 10.50
    assert billing.late_fee_fen(dt.date(2026, 2, 1), {dt.date(2026, 1, 10): 100000}, rule) == 1050
    # due before the month: the whole month
    assert billing.late_fee_fen(dt.date(2026, 3, 1), {dt.date(2026, 1, 10): 100000}, rule) == 1400
    assert billing.late_fee_fen(dt.date(2026, 3, 1), {dt.date(2026, 1, 10): 100000}, billing.LateFeeRule()) == 0


async def test_reconcile_reports_and_fixes_money_drift(database):
    ref = await _tenant()
    await _charge(ref, "100", "2026-01-10")
    await DB.pool.execute("UPDATE core.tenant_money SET outstanding_fen = 1 WHERE tenant_id = $1", ref.id)
    await DB.pool.execute("DELETE FROM core.tenant_money_due WHERE tenant_id = $1", ref.id)
    report = await reconcile_all(fix=True)
    mine = [d for d in report["drifted"] if d["tenant_id"] == ref.id]
    assert mine and {"money.outstanding_fen", "money.dues"} <= set(mine[0]["fields"])
    report = await reconcile_all(fix=False)
    assert not [d for d in report["drifted"] if d["tenant_id"] == ref.id]
    assert (await _core_money(ref))["outstanding_fen"] == 10000
