"""The core summary row of each complaint (``core.complaint_case``), written
in the same transaction as the tenant's change, and the escalation scan over
the open ones (one table, no tenant schema entered).

Escalation: a case past its step's deadline, or without progress for a
working day (24 hours counted on working days: the office time of one day), is flagged overdue and escalated to the department head (level 1);
still overdue 24 hours later, to the supervisor (level 2). Each level is
audited once; the flag clears when the case moves on.
"""

from __future__ import annotations

import datetime as dt
from typing import Mapping

from portal.core import approvals, audit
from portal.core.settings import load_settings
from portal.core.workdays import WorkCalendar, now
from tenants.complaints import flow
from tenants.complaints.tables import Complaint, ComplaintCase
from tenants.registry.service import TenantRef

SECOND_LEVEL_AFTER = dt.timedelta(hours=24)
ESCALATED_TO = {1: "dept_head", 2: "supervisor"}


async def calendar() -> WorkCalendar:
    from portal.core import office_calendar

    return await office_calendar.load(load_settings())


def due_times(row: Mapping, cal: WorkCalendar, at: dt.datetime) -> tuple[dt.datetime | None, dt.datetime | None]:
    """The current step's due time and when the next progress report is due."""
    if row["status"] != "open":
        return None, None
    due = approvals.due_at(flow.flow_of(row), flow.case_of(row), cal)
    return due, cal.add_working_time(at, cal.hours.per_day)


async def sync(ref: TenantRef, complaint_id: int, cal: WorkCalendar, at: dt.datetime | None = None) -> None:
    """Rewrite the complaint's core row from its tenant row (inside ``tenant_tx``)."""
    at = at or now()
    row = await Complaint.select().where(Complaint.id == complaint_id).first().run()
    due, progress_due = due_times(row, cal, at)
    values = {
        ComplaintCase.number: row["number"], ComplaintCase.tenant_name: ref.name, ComplaintCase.grade: row["grade"],
        ComplaintCase.step: row["step"], ComplaintCase.subject: (row["against"] or row["description"])[:120],
        ComplaintCase.lodged_at: row["lodged_at"], ComplaintCase.due_at: due,
        ComplaintCase.progress_due_at: progress_due, ComplaintCase.overdue: False, ComplaintCase.escalation: 0,
        ComplaintCase.building_ids: list(ref.building_ids),
        ComplaintCase.legal_hold_requested: row["legal_hold_requested"],
        ComplaintCase.closed_at: row["closed_at"], ComplaintCase.updated_at: at,
    }
    updated = await ComplaintCase.update(values).where(
        (ComplaintCase.tenant_id == ref.id) & (ComplaintCase.complaint_id == complaint_id)).returning(
        ComplaintCase.id).run()
    if not updated:
        await ComplaintCase.insert(ComplaintCase(
            tenant_id=ref.id, complaint_id=complaint_id,
            **{column._meta.name: value for column, value in values.items()})).run()


def level_at(due: dt.datetime | None, progress_due: dt.datetime | None, at: dt.datetime) -> int:
    """0 on time, 1 overdue (department head), 2 overdue for a day more (supervisor)."""
    late_since = min((t for t in (due, progress_due) if t is not None and t < at), default=None)
    if late_since is None:
        return 0
    return 2 if at - late_since >= SECOND_LEVEL_AFTER else 1


async def escalate(at: dt.datetime | None = None) -> int:
    """Flag and escalate every open case that is late; returns how many rose a
    level. Idempotent: a level is written (and audited) once."""
    from portal.core.jobs import core_tx, on_commit
    from tasks.notify import deliver

    at = at or now()
    raised = 0
    async with core_tx():
        rows = await ComplaintCase.select().where(
            ComplaintCase.closed_at.is_null() & (
                (ComplaintCase.due_at < at) | (ComplaintCase.progress_due_at < at))).order_by(
            ComplaintCase.id).lock_rows("UPDATE", skip_locked=True).run()
        for row in rows:
            level = level_at(row["due_at"], row["progress_due_at"], at)
            if level <= row["escalation"]:
                continue
            await ComplaintCase.update({ComplaintCase.overdue: True, ComplaintCase.escalation: level}).where(
                ComplaintCase.id == row["id"]).run()
            await audit.record("complaint.escalate", actor_name="system", tenant_id=row["tenant_id"],
                               target=f"complaint:{row['number']}",
                               detail={"number": row["number"], "step": row["step"], "to": ESCALATED_TO[level]})
            on_commit(deliver, row["tenant_id"], "complaint.escalated", row["complaint_id"],
                      f"{level}:{row['step']}:{(row['updated_at'] or row['lodged_at']).timestamp():.0f}")
            raised += 1
    return raised
