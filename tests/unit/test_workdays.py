"""Working days and SLA arithmetic against the real 2026 schedule that the
installed chinese-calendar knows (National Day 10-01..07 with make-up days on
Sun 09-20 and Sat 10-10; Spring Festival 02-15..23 with Sat 02-14 and Sat 02-28)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings as hsettings, strategies as st

from portal.core.workdays import SHANGHAI, CalendarError, Clock, OfficeHours, WorkCalendar, package_years
from portal.core.settings import SettingsError, load_settings

CAL = WorkCalendar(hours=OfficeHours.parse("08:30-12:00,13:30-17:30"))
H = dt.timedelta(hours=1)


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


D = dt.date.fromisoformat


def test_the_package_knows_2026_and_not_2027():
    assert 2026 in package_years() and 2027 not in package_years()
    assert CAL.year_known(2026) and not CAL.year_known(2027)


@pytest.mark.parametrize("day, working", [
    ("2026-03-06", True),    # a Friday
    ("2026-03-07", False),   # a Saturday
    ("2026-09-20", True),    # Sunday, make-up day for National Day
    ("2026-10-01", False), ("2026-10-07", False),  # the National Day week
    ("2026-10-08", True),
    ("2026-10-10", True),    # Saturday, make-up day
    ("2026-02-14", True),    # Saturday before Spring Festival, make-up day
    ("2026-02-16", False), ("2026-02-23", False),  # Spring Festival (Mon 02-23 included)
    ("2026-02-28", True),    # Saturday, make-up day
    ("2026-01-04", True),    # Sunday, make-up day for New Year
])
def test_is_working_day_2026(day, working):
    assert CAL.is_working_day(D(day)) is working


def test_add_working_days_across_national_day():
    start = D("2026-09-30")
    assert [CAL.add_working_days(start, n) for n in range(1, 5)] == [
        D("2026-10-08"), D("2026-10-09"), D("2026-10-10"), D("2026-10-12")]
    assert CAL.add_working_days(D("2026-09-18"), 1) == D("2026-09-20")  # Sat 19th off, Sun 20th worked
    assert CAL.add_working_days(D("2026-10-08"), -1) == D("2026-09-30")
    assert CAL.add_working_days(start, 0) == start
    assert CAL.working_days_between(start, D("2026-10-12")) == 4


def test_add_working_days_across_spring_festival():
    assert CAL.add_working_days(D("2026-02-13"), 1) == D("2026-02-14")
    assert CAL.add_working_days(D("2026-02-13"), 2) == D("2026-02-24")
    assert CAL.add_working_days(D("2026-02-27"), 1) == D("2026-02-28")
    assert CAL.add_working_days(D("2026-02-27"), 2) == D("2026-03-02")


def test_working_hours_skip_lunch_nights_and_weekends():
    assert CAL.add_working_hours(at("2026-03-03 11:00"), 2) == at("2026-03-03 14:30")
    assert CAL.add_working_hours(at("2026-03-03 11:00"), 1) == at("2026-03-03 12:00")  # ends at the break
    assert CAL.add_working_hours(at("2026-03-03 12:15"), minutes=30) == at("2026-03-03 14:00")
    assert CAL.add_working_hours(at("2026-03-03 07:00"), 1) == at("2026-03-03 09:30")
    assert CAL.add_working_hours(at("2026-03-06 17:00"), 1) == at("2026-03-09 09:00")  # Fri -> Mon
    assert CAL.add_working_hours(at("2026-03-03 09:00"), 7.5) == at("2026-03-04 09:00")  # one office day
    assert CAL.add_working_hours(at("2026-03-09 09:00"), -1) == at("2026-03-06 17:00")


def test_working_hours_across_the_national_day_week():
    due = CAL.add_working_hours(at("2026-09-30 16:30"), 2)
    assert due == at("2026-10-08 09:30")
    assert CAL.working_time_between(at("2026-09-30 16:30"), due) == 2 * H
    assert CAL.working_time_between(due, at("2026-09-30 16:30")) == -2 * H
    # Nothing counts during the holiday itself.
    assert CAL.working_time_between(at("2026-10-01 00:00"), at("2026-10-08 00:00")) == dt.timedelta(0)


def test_working_hours_use_spring_festival_make_up_saturday():
    assert CAL.add_working_hours(at("2026-02-13 17:00"), 1) == at("2026-02-14 09:00")
    assert CAL.add_working_hours(at("2026-02-14 17:00"), 1) == at("2026-02-24 09:00")


def test_other_office_hours():
    cal = WorkCalendar(hours=OfficeHours.parse("09:00-12:00, 13:00-15:00, 16:00-18:00"))
    assert cal.hours.per_day == 7 * H
    assert cal.add_working_hours(at("2026-03-03 14:30"), 1) == at("2026-03-03 16:30")


@pytest.mark.parametrize("text", ["8-12", "12:00-08:00", "08:00-12:00,11:00-14:00", "", "08:00"])
def test_bad_office_hours_are_refused(text):
    with pytest.raises(CalendarError):
        OfficeHours.parse(text)
    with pytest.raises(SettingsError):
        load_settings({"PORTAL_OFFICE_HOURS": text}).check()


def test_naive_datetimes_are_refused():
    with pytest.raises(CalendarError):
        CAL.add_working_hours(dt.datetime(2026, 3, 3, 9), 1)


def test_around_the_clock_ignores_holidays_and_nights():
    start = at("2026-10-03 22:00")
    assert CAL.add(start, 4 * H, around_the_clock=True) == at("2026-10-04 02:00")
    assert CAL.between(start, at("2026-10-04 02:00"), around_the_clock=True) == 4 * H


def test_clock_pauses_and_recomputes_due_on_resume():
    clock = Clock.start(at("2026-03-03 10:00"), 4 * H, CAL)
    assert clock.due_at == at("2026-03-03 15:30")
    paused = clock.pause(at("2026-03-03 11:00"), CAL)  # waiting for the tenant
    assert paused.paused and paused.remaining == 3 * H
    assert paused.time_left(at("2026-03-20 10:00"), CAL) == 3 * H  # frozen while paused
    assert not paused.overdue(at("2026-03-20 10:00"))
    resumed = paused.resume(at("2026-03-05 09:00"), CAL)
    assert resumed.due_at == at("2026-03-05 12:00") and not resumed.paused
    assert resumed.time_left(at("2026-03-05 11:00"), CAL) == H
    assert resumed.overdue(at("2026-03-05 12:01")) and not resumed.overdue(at("2026-03-05 11:59"))


def test_clock_paused_over_a_holiday_resumes_with_its_time_left():
    clock = Clock.start(at("2026-09-30 15:30"), 3 * H, CAL)
    assert clock.due_at == at("2026-10-08 09:30")
    resumed = clock.pause(at("2026-09-30 16:30"), CAL).resume(at("2026-10-09 10:00"), CAL)
    assert resumed.due_at == at("2026-10-09 12:00")


def test_a_breached_clock_stays_breached_through_a_pause():
    clock = Clock.start(at("2026-03-03 10:00"), H, CAL)
    paused = clock.pause(at("2026-03-03 14:00"), CAL)
    assert paused.remaining < dt.timedelta(0) and paused.overdue(at("2026-03-03 14:00"))
    assert paused.resume(at("2026-03-04 09:00"), CAL).due_at == clock.due_at


def test_around_the_clock_clock_for_urgent_orders():
    clock = Clock.start(at("2026-10-03 22:00"), 4 * H, CAL, around_the_clock=True)
    assert clock.due_at == at("2026-10-04 02:00")
    resumed = clock.pause(at("2026-10-03 23:00"), CAL).resume(at("2026-10-04 08:00"), CAL)
    assert resumed.due_at == at("2026-10-04 11:00")


def test_office_table_overrides_the_package():
    cal = CAL.with_office({D("2026-10-08"): False, D("2026-10-03"): True})
    assert not cal.is_working_day(D("2026-10-08"))
    assert cal.is_working_day(D("2026-10-03"))
    assert cal.add_working_days(D("2026-09-30"), 1) == D("2026-10-03")
    assert cal.add_working_days(D("2026-10-03"), 1) == D("2026-10-09")


def test_unknown_year_falls_back_to_weekdays_until_the_office_lists_it():
    assert not CAL.year_known(2099)
    assert CAL.is_working_day(D("2099-01-01"))  # a Thursday: nobody has said it is a holiday
    assert not CAL.is_working_day(D("2099-01-03"))  # Saturday
    cal = CAL.with_office({D("2099-01-01"): False, D("2099-01-03"): True})
    assert cal.year_known(2099)
    assert not cal.is_working_day(D("2099-01-01")) and cal.is_working_day(D("2099-01-03"))
    assert cal.add_working_days(D("2098-12-31"), 1) == D("2099-01-02")


def test_a_calendar_without_working_days_is_an_error_not_a_hang():
    closed = CAL.with_office({D("2026-01-01") + dt.timedelta(days=i): False for i in range(800)})
    with pytest.raises(CalendarError):
        closed.add_working_days(D("2026-01-01"), 1)
    with pytest.raises(CalendarError):
        closed.add_working_hours(at("2026-01-01 09:00"), 1)


@hsettings(max_examples=150, deadline=None)
@given(start=st.datetimes(min_value=dt.datetime(2026, 1, 1), max_value=dt.datetime(2026, 12, 20)),
       minutes=st.integers(min_value=0, max_value=60 * 7 * 30))
def test_adding_then_measuring_working_time_round_trips(start, minutes):
    begin = start.replace(tzinfo=SHANGHAI)
    duration = dt.timedelta(minutes=minutes)
    end = CAL.add_working_time(begin, duration)
    assert end >= begin
    assert CAL.working_time_between(begin, end) == duration
