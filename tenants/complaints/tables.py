"""Complaint tables: the tenant's own (unqualified, only inside ``tenant_tx``)
and the office-wide summary row in ``core``."""

from piccolo.columns import JSONB, Array, BigInt, BigSerial, Boolean, Integer, SmallInt, Text, Timestamptz
from piccolo.table import Table

from portal.core.db import DB


class Complaint(Table, tablename="complaint", db=DB):
    number = Text()
    lodged_at = Timestamptz()
    channel = Text()
    complainant = Text()
    contact = Text()
    lodged_by_kind = Text()
    lodged_by_id = Integer()
    lodged_by = Text()
    against = Text()
    description = Text()
    request = Text()
    grade = Text(default="general")
    status = Text(default="open")
    step = Text(null=True, default=None)
    step_started_at = Timestamptz(null=True, default=None)
    actors = JSONB()
    department = Text()
    cause = Text()
    responsible = Text()
    remedy_kind = Text()
    remedy = Text()
    remedy_fen = BigInt()
    reply = Text()
    replied_at = Timestamptz(null=True, default=None)
    feedback = Text()
    follow_up = Text()
    lessons = Text()
    legal_hold_requested = Boolean(default=False)
    resolved_at = Timestamptz(null=True, default=None)
    closed_at = Timestamptz(null=True, default=None)
    card_document_id = Integer(null=True, default=None)
    mailed = JSONB()  # mail kind -> when it went out (a redelivered task sends nothing twice)


class ComplaintStep(Table, tablename="complaint_step", db=DB):
    complaint_id = Integer()
    step = Text()
    decision = Text()
    to_step = Text()
    actor_kind = Text()
    actor_id = Integer(null=True, default=None)
    actor_name = Text()
    at = Timestamptz()
    note = Text()


class ComplaintCase(Table, tablename="complaint_case", schema="core", db=DB):
    id = BigSerial(primary_key=True)
    tenant_id = Integer()
    complaint_id = Integer()
    number = Text()
    tenant_name = Text()
    grade = Text()
    step = Text(null=True, default=None)
    subject = Text()
    lodged_at = Timestamptz()
    due_at = Timestamptz(null=True, default=None)
    progress_due_at = Timestamptz(null=True, default=None)
    overdue = Boolean(default=False)
    escalation = SmallInt()
    building_ids = Array(base_column=Integer())
    legal_hold_requested = Boolean(default=False)
    closed_at = Timestamptz(null=True, default=None)
    updated_at = Timestamptz()


TENANT_TABLES = (Complaint, ComplaintStep)
