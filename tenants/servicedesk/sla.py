"""SLA clocks of a work order: response (accepted), on site, completion.

Targets per category and urgency are constants here (README "Repairs" lists
them). Normal orders count office time from the working-day engine
(``WorkCalendar``: office hours with the lunch break, weekends, public
holidays, make-up working days); urgent orders count around the clock. A
paused order keeps each clock's counted time left and gets new due times when
it resumes (``Clock``), so the time spent waiting for the tenant or for parts
never counts.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from portal.core.workdays import Clock, WorkCalendar

H = dt.timedelta(hours=1)
M = dt.timedelta(minutes=1)


@dataclass(frozen=True)
class Targets:
    response: dt.timedelta  # until a technician accepts
    on_site: dt.timedelta  # until the technician is on site
    completion: dt.timedelta  # until the work is completed


# Normal orders: office time (working hours). Urgent orders: around the clock.
NORMAL = {
    "water": Targets(1 * H, 4 * H, 16 * H),
    "electrical": Targets(1 * H, 4 * H, 16 * H),
    "lift": Targets(1 * H, 4 * H, 16 * H),
    "hvac": Targets(2 * H, 8 * H, 24 * H),
    "doors_locks": Targets(2 * H, 8 * H, 16 * H),
    "network": Targets(2 * H, 8 * H, 16 * H),
    "cleaning": Targets(2 * H, 8 * H, 8 * H),
    "other": Targets(4 * H, 16 * H, 40 * H),
}
URGENT = Targets(15 * M, 1 * H, 8 * H)
CLOCKS = ("response", "onsite", "completion")
# The clock that runs in each open status (None: no clock runs).
RUNNING = {"reported": "response", "unassigned": "response", "dispatched": "response",
           "accepted": "onsite", "on_site": "completion", "paused": None, "completed": None}


def targets(category: str, urgency: str) -> Targets:
    return URGENT if urgency == "urgent" else NORMAL.get(category, NORMAL["other"])


def around_the_clock(urgency: str) -> bool:
    return urgency == "urgent"


def start(at: dt.datetime, category: str, urgency: str, calendar: WorkCalendar) -> dict[str, dt.datetime]:
    """Due times of the three clocks for an order reported (or reopened) at ``at``."""
    t, atc = targets(category, urgency), around_the_clock(urgency)
    return {"response_due_at": calendar.add(at, t.response, atc),
            "onsite_due_at": calendar.add(at, t.on_site, atc),
            "completion_due_at": calendar.add(at, t.completion, atc)}


def pause(row: dict, at: dt.datetime, calendar: WorkCalendar) -> dict:
    """Column values that pause the order's clocks at ``at``."""
    atc = around_the_clock(row["urgency"])
    out: dict = {"paused_at": at}
    for name in CLOCKS:
        clock = Clock(due_at=row[f"{name}_due_at"], around_the_clock=atc).pause(at, calendar)
        out[f"{name}_left_s"] = int(clock.remaining.total_seconds())
    return out


def resume(row: dict, at: dt.datetime, calendar: WorkCalendar) -> dict:
    """Column values that resume the clocks at ``at`` (new due times)."""
    atc = around_the_clock(row["urgency"])
    out: dict = {"paused_at": None}
    for name in CLOCKS:
        left = row.get(f"{name}_left_s")
        if left is None:
            continue
        clock = Clock(due_at=row[f"{name}_due_at"], paused_at=row["paused_at"],
                      remaining=dt.timedelta(seconds=left), around_the_clock=atc)
        out[f"{name}_due_at"] = clock.resume(at, calendar).due_at
        out[f"{name}_left_s"] = None
    return out


def running_due(row: dict) -> dt.datetime | None:
    """The due time of the clock running in the order's status."""
    name = RUNNING.get(row["status"])
    return row[f"{name}_due_at"] if name else None
