"""Piccolo tables of the kernel (schema ``core``)."""

from piccolo.columns import JSONB, BigSerial, Date, Integer, Text, Timestamptz
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from portal.core.db import DB


class OfficeCalendarDay(Table, tablename="office_calendar_day", schema="core", db=DB):
    """A holiday or make-up working day decided by the office (overrides chinese-calendar)."""

    day = Date(primary_key=True)
    kind = Text()  # 'holiday' | 'workday'
    name = Text()
    updated_by = Text(default="")
    updated_at = Timestamptz(default=TimestamptzNow())


class AuditLog(Table, tablename="audit_log", schema="core", db=DB):
    """The append-only audit log (``portal/core/audit.py``; the table refuses UPDATE and DELETE)."""

    id = BigSerial(primary_key=True)
    at = Timestamptz()
    actor_kind = Text()
    actor_id = Integer(null=True)
    actor_name = Text()
    action = Text()
    outcome = Text(default="ok")
    tenant_id = Integer(null=True)
    target = Text()
    detail = JSONB(default={})
    ip = Text()
