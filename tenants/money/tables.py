"""Piccolo tables of money.

Deposits, charges, payments, allocations and notices live in each tenant
schema (unqualified: they resolve only inside ``tenant_tx``); office-wide
configuration (deposit kinds, fee items), billing runs, notice batches and the
cross-tenant money summaries are pinned to ``core``. The SQL in
``migrations/*/m0003_money.py`` is the source of truth for the DDL;
tests/integration/test_table_drift.py keeps the two equal. Tables with a
composite primary key name its first column as ``primary_key`` (Piccolo knows
one key column only).
"""

from decimal import Decimal

from piccolo.columns import BigInt, Boolean, Bytea, Date, Integer, Numeric, Serial, SmallInt, Text, Timestamptz
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from portal.core.db import DB

# --- tenant schema


class Deposit(Table, tablename="deposit", db=DB):
    id = Serial(primary_key=True)
    kind = Text()
    title = Text(default="")
    agreed_fen = BigInt(default=0)
    created_by = Text()
    created_at = Timestamptz(default=TimestamptzNow())


class DepositEntry(Table, tablename="deposit_entry", db=DB):
    id = Serial(primary_key=True)
    deposit_id = Integer()
    kind = Text()
    amount_fen = BigInt()
    entry_date = Date()
    method = Text(default="")
    receipt_no = Text(default="")
    reason = Text(default="")
    status = Text()
    recorded_by = Text()
    recorded_by_id = Integer()
    decided_by = Text(default="")
    decided_by_id = Integer(null=True, default=None)
    decided_at = Timestamptz(null=True, default=None)
    decision_note = Text(default="")
    created_at = Timestamptz(default=TimestamptzNow())


class FeeSubscription(Table, tablename="fee_subscription", db=DB):
    id = Serial(primary_key=True)
    fee_item = Text()
    quantity = Numeric(digits=(10, 2), default=Decimal("1"))
    unit_price = Numeric(digits=(12, 4), null=True, default=None)
    description = Text(default="")
    active = Boolean(default=True)
    created_by = Text(default="")
    created_at = Timestamptz(default=TimestamptzNow())


class Charge(Table, tablename="charge", db=DB):
    id = Serial(primary_key=True)
    kind = Text()
    fee_item = Text()
    period = Date()
    description = Text()
    quantity = Numeric(digits=(12, 2), null=True, default=None)
    unit_price = Numeric(digits=(12, 4), null=True, default=None)
    amount_fen = BigInt()
    due_date = Date()
    adjusts_id = Integer(null=True, default=None)
    reason = Text(default="")
    run_id = Integer(null=True, default=None)
    created_by = Text()
    created_at = Timestamptz(default=TimestamptzNow())


class Payment(Table, tablename="payment", db=DB):
    id = Serial(primary_key=True)
    kind = Text()
    amount_fen = BigInt()
    paid_on = Date()
    method = Text()
    reference = Text(default="")
    receipt_no = Text()
    reverses_id = Integer(null=True, default=None)
    note = Text(default="")
    recorded_by = Text()
    recorded_by_id = Integer(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())


class Allocation(Table, tablename="allocation", db=DB):
    id = Serial(primary_key=True)
    payment_id = Integer()
    charge_id = Integer()
    amount_fen = BigInt()
    created_by = Text()
    created_at = Timestamptz(default=TimestamptzNow())


class Notice(Table, tablename="notice", db=DB):
    id = Serial(primary_key=True)
    kind = Text()
    number = Text()
    title = Text()
    issue_date = Date()
    locale = Text(default="zh")
    amount_fen = BigInt(null=True, default=None)
    subject_id = Integer(null=True, default=None)
    pdf = Bytea(null=True, default=None)
    document_id = Integer(null=True, default=None)
    visible_to_tenant = Boolean(default=True)
    batch_id = Integer(null=True, default=None)
    emailed_to = Text(default="")
    emailed_at = Timestamptz(null=True, default=None)
    email_error = Text(default="")
    created_by = Text()
    created_at = Timestamptz(default=TimestamptzNow())
    email_state = Text(default="")
    email_attempts = Integer(default=0)


# --- core


class DepositKind(Table, tablename="deposit_kind", schema="core", db=DB):
    code = Text(primary_key=True)
    name = Text()
    name_en = Text()
    sort = Integer(default=0)
    active = Boolean(default=True)


class FeeItem(Table, tablename="fee_item", schema="core", db=DB):
    code = Text(primary_key=True)
    name = Text()
    name_en = Text()
    basis = Text()
    unit_price = Numeric(digits=(12, 4), default=Decimal("0"))
    due_day = SmallInt(default=10)
    active = Boolean(default=True)
    sort = Integer(default=0)
    updated_by = Text(default="")
    updated_at = Timestamptz(default=TimestamptzNow())


class BillingRun(Table, tablename="billing_run", schema="core", db=DB):
    id = Serial(primary_key=True)
    period = Date()
    status = Text(default="running")
    total = Integer(default=0)
    created_by = Text(default="")
    created_at = Timestamptz(default=TimestamptzNow())
    started_at = Timestamptz(default=TimestamptzNow())
    finished_at = Timestamptz(null=True, default=None)
    heartbeat_at = Timestamptz(default=TimestamptzNow())
    resumes = Integer(default=0)


class BillingRunItem(Table, tablename="billing_run_item", schema="core", db=DB):
    run_id = Integer(primary_key=True)
    tenant_id = Integer()
    status = Text(default="pending")
    charges = Integer(default=0)
    billed_fen = BigInt(default=0)
    error = Text(null=True, default=None)
    finished_at = Timestamptz(null=True, default=None)


class NoticeBatch(Table, tablename="notice_batch", schema="core", db=DB):
    id = Serial(primary_key=True)
    kind = Text()
    locale = Text(default="zh")
    as_of = Date()
    min_days = Integer(default=1)
    send_email = Boolean(default=True)
    status = Text(default="running")
    total = Integer(default=0)
    created_by = Text(default="")
    created_at = Timestamptz(default=TimestamptzNow())
    finished_at = Timestamptz(null=True, default=None)
    heartbeat_at = Timestamptz(default=TimestamptzNow())
    resumes = Integer(default=0)


class NoticeBatchItem(Table, tablename="notice_batch_item", schema="core", db=DB):
    batch_id = Integer(primary_key=True)
    tenant_id = Integer()
    status = Text(default="pending")
    notice_id = Integer(null=True, default=None)
    emailed = Integer(default=0)
    error = Text(null=True, default=None)
    finished_at = Timestamptz(null=True, default=None)
    email_state = Text(default="")


class TenantMoney(Table, tablename="tenant_money", schema="core", db=DB):
    tenant_id = Integer(primary_key=True)
    charged_fen = BigInt(default=0)
    allocated_fen = BigInt(default=0)
    paid_fen = BigInt(default=0)
    outstanding_fen = BigInt(default=0)
    credit_fen = BigInt(default=0)
    deposits_held_fen = BigInt(default=0)
    open_charges = Integer(default=0)
    oldest_due = Date(null=True, default=None)
    updated_at = Timestamptz(default=TimestamptzNow())


class TenantMoneyDue(Table, tablename="tenant_money_due", schema="core", db=DB):
    tenant_id = Integer(primary_key=True)
    due_date = Date()
    outstanding_fen = BigInt()


class TenantMoneyPeriod(Table, tablename="tenant_money_period", schema="core", db=DB):
    tenant_id = Integer(primary_key=True)
    period = Date()
    billed_fen = BigInt()
    collected_fen = BigInt()


class NoticeNumber(Table, tablename="notice_number", schema="core", db=DB):
    """Every official notice number taken: issued with its notice, or void with the reason."""

    number = Text(primary_key=True)
    tenant_id = Integer()
    batch_id = Integer(null=True, default=None)
    status = Text(default="reserved")
    reason = Text(default="")
    taken_at = Timestamptz(default=TimestamptzNow())
    settled_at = Timestamptz(null=True, default=None)
