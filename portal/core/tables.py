"""Piccolo tables of the kernel (schema ``core``)."""

from piccolo.columns import Date, Text, Timestamptz
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
