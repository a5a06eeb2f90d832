"""SLA arithmetic of repairs across the 2026 National Day week (holidays 1-7
October, make-up working Saturday 10 October), weekends, the lunch break,
pauses (the time waited never counts) and around-the-clock urgent orders."""

from __future__ import annotations

import datetime as dt

import pytest

from portal.core.workdays import SHANGHAI, WorkCalendar
from tenants.servicedesk import sla

CAL = WorkCalendar()


def at(month: int, day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI)


def test_normal_clocks_skip_the_national_day_week():
    due = sla.start(at(9, 30, 16, 30), "water", "normal", CAL)
    assert due["response_due_at"] == at(9, 30, 17, 30)
    assert due["onsite_due_at"] == at(10, 8, 11, 30)  # 1 h on 30 Sep, 3 h on 8 Oct
    assert due["completion_due_at"] == at(10, 9, 17, 30)  # 1 + 7.5 + 7.5 hours


def test_the_lunch_break_does_not_count():
    assert sla.start(at(10, 12, 11, 30), "hvac", "normal", CAL)["response_due_at"] == at(10, 12, 15, 0)


def test_a_weekend_passes_but_the_make_up_saturday_counts():
    assert sla.start(at(10, 9, 17, 0), "water", "normal", CAL)["response_due_at"] == at(10, 10, 9, 0)
    assert sla.start(at(10, 16, 17, 0), "water", "normal", CAL)["response_due_at"] == at(10, 19, 9, 0)


def test_urgent_orders_count_around_the_clock_even_on_a_holiday():
    due = sla.start(at(10, 1, 3, 0), "lift", "urgent", CAL)
    assert due == {"response_due_at": at(10, 1, 3, 15), "onsite_due_at": at(10, 1, 4, 0),
                   "completion_due_at": at(10, 1, 11, 0)}


def test_pause_keeps_the_time_left_and_resume_sets_new_due_times():
    row = {"urgency": "normal", "status": "accepted", **sla.start(at(10, 12, 9, 0), "water", "normal", CAL)}
    assert row["onsite_due_at"] == at(10, 12, 14, 30) and row["completion_due_at"] == at(10, 14, 10, 0)
    paused = {**row, **sla.pause(row, at(10, 12, 10, 30), CAL)}
    assert paused["response_left_s"] == -30 * 60  # already overdue when paused
    assert paused["onsite_left_s"] == int(2.5 * 3600)
    resumed = {**paused, **sla.resume(paused, at(10, 13, 9, 0), CAL)}
    assert resumed["response_due_at"] == at(10, 12, 10, 0)  # a breach stays a breach
    assert resumed["onsite_due_at"] == at(10, 13, 11, 30)
    assert resumed["completion_due_at"] == at(10, 14, 17, 30)
    assert resumed["paused_at"] is None and resumed["onsite_left_s"] is None


def test_a_pause_over_a_holiday_does_not_eat_the_clock():
    row = {"urgency": "normal", **sla.start(at(9, 30, 9, 0), "cleaning", "normal", CAL)}
    assert row["completion_due_at"] == at(10, 8, 9, 30)  # 7 hours on 30 Sep, the 8th on 8 Oct
    paused = {**row, **sla.pause(row, at(9, 30, 14, 30), CAL)}
    assert paused["completion_left_s"] == 4 * 3600
    resumed = sla.resume(paused, at(10, 8, 8, 30), CAL)
    assert resumed["completion_due_at"] == at(10, 8, 14, 0)  # 3.5 hours before lunch, 0.5 after


@pytest.mark.parametrize("status, clock", [("dispatched", "response_due_at"), ("accepted", "onsite_due_at"),
                                           ("on_site", "completion_due_at"), ("paused", None)])
def test_the_running_clock_follows_the_status(status, clock):
    row = {"status": status, "response_due_at": 1, "onsite_due_at": 2, "completion_due_at": 3}
    assert sla.running_due(row) == (row[clock] if clock else None)
