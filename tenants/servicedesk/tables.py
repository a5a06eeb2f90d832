"""Piccolo tables of the service desk (repairs).

Work orders, their timeline, parts and photos live in each tenant schema
(unqualified); technicians, their roster and the one summary row per open
order are in ``core``. The SQL in ``migrations/*/m00NN_repairs.py`` is the
source of truth; tests/integration/test_table_drift.py keeps them equal.
"""

from decimal import Decimal

from piccolo.columns import Array, BigInt, Boolean, Date, Integer, Numeric, Serial, SmallInt, Text, Time, Timestamptz
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from portal.core.db import DB

# --- tenant schema


class WorkOrder(Table, tablename="work_order", db=DB):
    id = Serial(primary_key=True)
    number = Text()
    unit_id = Integer(null=True, default=None)
    building_id = Integer(null=True, default=None)
    location = Text(default="")
    category = Text()
    description = Text()
    urgency = Text(default="normal")
    preferred_window = Text(default="")
    reporter_kind = Text()
    reporter_id = Integer()
    reporter_name = Text(default="")
    channel = Text()
    status = Text(default="reported")
    assignee_id = Integer(null=True, default=None)
    assignee_name = Text(default="")
    dispatch_round = Integer(default=0)
    declined_ids = Array(base_column=Integer(), default=list)
    response_due_at = Timestamptz()
    onsite_due_at = Timestamptz()
    completion_due_at = Timestamptz()
    paused_at = Timestamptz(null=True, default=None)
    response_left_s = Integer(null=True, default=None)
    onsite_left_s = Integer(null=True, default=None)
    completion_left_s = Integer(null=True, default=None)
    responded_at = Timestamptz(null=True, default=None)
    on_site_at = Timestamptz(null=True, default=None)
    completed_at = Timestamptz(null=True, default=None)
    confirmed_at = Timestamptz(null=True, default=None)
    closed_at = Timestamptz(null=True, default=None)
    rating = SmallInt(null=True, default=None)
    rating_comment = Text(default="")
    billable = Boolean(default=False)
    slip_document_id = Integer(null=True, default=None)
    charge_id = Integer(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class WorkOrderEvent(Table, tablename="work_order_event", db=DB):
    id = Serial(primary_key=True)
    order_id = Integer()
    kind = Text()
    actor_kind = Text()
    actor_id = Integer(null=True, default=None)
    actor_name = Text(default="")
    note = Text(default="")
    at = Timestamptz(default=TimestamptzNow())


class WorkOrderPart(Table, tablename="work_order_part", db=DB):
    id = Serial(primary_key=True)
    order_id = Integer()
    kind = Text()
    description = Text()
    quantity = Numeric(digits=(10, 2), default=Decimal("1"))
    unit_price_fen = BigInt()
    added_by = Text(default="")
    added_at = Timestamptz(default=TimestamptzNow())


class WorkOrderPhoto(Table, tablename="work_order_photo", db=DB):
    id = Serial(primary_key=True)
    order_id = Integer()
    document_id = Integer()
    added_by = Text(default="")
    added_at = Timestamptz(default=TimestamptzNow())


TENANT_TABLES = (WorkOrder, WorkOrderEvent, WorkOrderPart, WorkOrderPhoto)

# --- core


class Technician(Table, tablename="technician", schema="core", db=DB):
    user_id = Integer(primary_key=True)
    name = Text(default="")
    skills = Array(base_column=Text(), default=list)
    building_ids = Array(base_column=Integer(), default=list)
    capacity = Integer(default=5)
    open_load = Integer(default=0)
    last_assigned_at = Timestamptz(null=True, default=None)
    active = Boolean(default=True)
    updated_at = Timestamptz(default=TimestamptzNow())


class TechnicianShift(Table, tablename="technician_shift", schema="core", db=DB):
    id = Serial(primary_key=True)
    user_id = Integer()
    day = Date()
    starts = Time()
    ends = Time()


class TechnicianLeave(Table, tablename="technician_leave", schema="core", db=DB):
    id = Serial(primary_key=True)
    user_id = Integer()
    starts_on = Date()
    ends_on = Date()
    note = Text(default="")


class WorkOrderSummary(Table, tablename="work_order_summary", schema="core", db=DB):
    """One row per open order (composite key: tenant_id, order_id)."""

    tenant_id = Integer(primary_key=True)
    order_id = Integer()
    number = Text()
    building_id = Integer(null=True, default=None)
    category = Text()
    urgency = Text()
    status = Text()
    assignee_id = Integer(null=True, default=None)
    assignee_name = Text(default="")
    dispatch_round = Integer(default=0)
    reported_at = Timestamptz(default=TimestamptzNow())
    response_due_at = Timestamptz()
    onsite_due_at = Timestamptz()
    completion_due_at = Timestamptz()
    due_at = Timestamptz(null=True, default=None)  # the running clock's (sla.running_due); none while paused
    paused = Boolean(default=False)
    completed_at = Timestamptz(null=True, default=None)
    escalation = SmallInt(default=0)
    breached = Boolean(default=False)
    updated_at = Timestamptz(default=TimestamptzNow())
