"""Working days and working hours in Asia/Shanghai.

Which dates are working days is decided, for each date, by the first of:

1. the office calendar (``core.office_calendar_day``, edited by admins in the
   console): a listed date is a holiday or a make-up working day, whatever
   the package says, so the office can correct or extend it;
2. the ``chinese-calendar`` package: public holidays and make-up working days
   (调休) as announced by the State Council, for the years it knows;
3. otherwise Monday to Friday. Such a year is "unknown" (``WorkCalendar.year_known``)
   and the console warns admins and managers until someone fills it in.

Office hours are several intervals a day (``PORTAL_OFFICE_HOURS``, e.g.
``08:30-12:00,13:30-17:30``: the lunch break does not count). Arithmetic is pure
and synchronous on a ``WorkCalendar`` value; ``portal.core.office_calendar.load``
builds one from the table. Around-the-clock arithmetic (urgent repairs) counts
every minute and ignores the calendar.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Mapping
from zoneinfo import ZoneInfo

import chinese_calendar

from portal.core.settings import Settings

SHANGHAI = ZoneInfo("Asia/Shanghai")
DEFAULT_OFFICE_HOURS = Settings.office_hours
# A search for the next working minute gives up after this many days: a
# calendar with no working day in a year is a configuration error.
_MAX_DAYS_SCANNED = 400
ZERO = dt.timedelta(0)


class CalendarError(ValueError):
    """Office hours or a date that working-time arithmetic cannot use."""


def now() -> dt.datetime:
    return dt.datetime.now(SHANGHAI)


def today() -> dt.date:
    return now().date()


def _aware(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None:
        raise CalendarError("Working-time arithmetic needs an aware datetime.")
    return moment.astimezone(SHANGHAI)


@dataclass(frozen=True)
class OfficeHours:
    """Working intervals of one working day, sorted and not overlapping."""

    intervals: tuple[tuple[dt.time, dt.time], ...]

    @classmethod
    def parse(cls, text: str) -> "OfficeHours":
        """``"08:30-12:00,13:30-17:30"`` -> two intervals. Raises CalendarError."""
        intervals = []
        for part in (text or "").split(","):
            try:
                start_text, end_text = part.strip().split("-")
                start = dt.time.fromisoformat(start_text.strip())
                end = dt.time.fromisoformat(end_text.strip())
            except ValueError:
                raise CalendarError(f"office hours {text!r}: write them like 08:30-12:00,13:30-17:30") from None
            if start >= end:
                raise CalendarError(f"office hours {text!r}: {part.strip()} ends before it starts")
            intervals.append((start, end))
        intervals.sort()
        for (_, end), (start, _) in zip(intervals, intervals[1:]):
            if start < end:
                raise CalendarError(f"office hours {text!r}: intervals overlap")
        return cls(tuple(intervals))

    def on(self, day: dt.date) -> list[tuple[dt.datetime, dt.datetime]]:
        """The intervals of ``day`` as aware datetimes."""
        return [(dt.datetime.combine(day, start, SHANGHAI), dt.datetime.combine(day, end, SHANGHAI))
                for start, end in self.intervals]

    @property
    def per_day(self) -> dt.timedelta:
        return sum((dt.datetime.combine(dt.date.min, e) - dt.datetime.combine(dt.date.min, s)
                    for s, e in self.intervals), ZERO)


@lru_cache(maxsize=1)
def package_years() -> range:
    """The years the installed ``chinese-calendar`` knows (announced schedules)."""
    years = {day.year for day in chinese_calendar.holidays}
    return range(min(years), max(years) + 1)


def package_days(year: int) -> list[tuple[dt.date, str, str]]:
    """(date, 'holiday' | 'workday', English name) of the package's schedule for
    ``year``: weekday holidays and weekend make-up days (what differs from Mon-Fri)."""
    days = [(d, "holiday", name) for d, name in chinese_calendar.holidays.items()
            if d.year == year and d.weekday() < 5]
    days += [(d, "workday", name) for d, name in chinese_calendar.workdays.items()
             if d.year == year and d.weekday() >= 5]
    return sorted(days)


@dataclass(frozen=True)
class WorkCalendar:
    """Working days (office table over package over Monday-Friday) and office hours."""

    hours: OfficeHours = field(default_factory=lambda: OfficeHours.parse(DEFAULT_OFFICE_HOURS))
    # Office calendar entries: date -> True (make-up working day) / False (holiday).
    office: Mapping[dt.date, bool] = field(default_factory=dict)

    def with_office(self, office: Mapping[dt.date, bool]) -> "WorkCalendar":
        return replace(self, office=dict(office))

    # --- days ---------------------------------------------------------------------------------

    def year_known(self, year: int) -> bool:
        """True when the package or the office calendar covers ``year``."""
        return year in package_years() or any(day.year == year for day in self.office)

    def is_working_day(self, day: dt.date) -> bool:
        if day in self.office:
            return self.office[day]
        if day.year in package_years():
            return chinese_calendar.is_workday(day)
        return day.weekday() < 5

    def add_working_days(self, start: dt.date, n: int) -> dt.date:
        """The ``n``-th working day after ``start`` (before it when ``n`` < 0);
        ``start`` itself does not count, so ``n`` = 0 gives ``start``."""
        step = 1 if n >= 0 else -1
        day, left, scanned = start, abs(n), 0
        while left:
            day += dt.timedelta(days=step)
            scanned += 1
            if self.is_working_day(day):
                left -= 1
                scanned = 0
            elif scanned > _MAX_DAYS_SCANNED:
                raise CalendarError("No working day within a year: check the office calendar.")
        return day

    def working_days_between(self, start: dt.date, end: dt.date) -> int:
        """Working days in (start, end]: how many ``add_working_days`` steps apart."""
        if end < start:
            return -self.working_days_between(end, start)
        return sum(1 for i in range(1, (end - start).days + 1) if self.is_working_day(start + dt.timedelta(days=i)))

    def close_of(self, day: dt.date) -> dt.datetime:
        """The end of the last office interval of ``day`` (a working-day deadline)."""
        return dt.datetime.combine(day, self.hours.intervals[-1][1], SHANGHAI)

    # --- hours --------------------------------------------------------------------------------

    def _intervals_from(self, day: dt.date, step: int = 1):
        """Working intervals day by day from ``day`` (forwards or backwards)."""
        scanned = 0
        while True:
            if self.is_working_day(day):
                scanned = 0
                yield from (self.hours.on(day) if step > 0 else reversed(self.hours.on(day)))
            else:
                scanned += 1
                if scanned > _MAX_DAYS_SCANNED:
                    raise CalendarError("No working day within a year: check the office calendar.")
            day += dt.timedelta(days=step)

    def add_working_time(self, start: dt.datetime, duration: dt.timedelta) -> dt.datetime:
        """The moment when ``duration`` of office time has passed since ``start``
        (nights, lunch breaks, weekends and holidays do not count)."""
        moment = _aware(start)
        if duration < ZERO:
            return self._subtract_working_time(moment, -duration)
        left = duration
        if not left:
            return moment
        for open_at, close_at in self._intervals_from(moment.date()):
            if close_at <= moment:
                continue
            begin = max(open_at, moment)
            if begin + left <= close_at:
                return begin + left
            left -= close_at - begin
        raise AssertionError("unreachable")  # pragma: no cover - the generator is endless

    def _subtract_working_time(self, moment: dt.datetime, duration: dt.timedelta) -> dt.datetime:
        left = duration
        for open_at, close_at in self._intervals_from(moment.date(), step=-1):
            if open_at >= moment:
                continue
            end = min(close_at, moment)
            if end - left >= open_at:
                return end - left
            left -= end - open_at
        raise AssertionError("unreachable")  # pragma: no cover

    def add_working_hours(self, start: dt.datetime, hours: float = 0, minutes: float = 0) -> dt.datetime:
        return self.add_working_time(start, dt.timedelta(hours=hours, minutes=minutes))

    def working_time_between(self, a: dt.datetime, b: dt.datetime) -> dt.timedelta:
        """Office time in [a, b); negative when ``b`` is before ``a``."""
        a, b = _aware(a), _aware(b)
        if b < a:
            return -self.working_time_between(b, a)
        total = ZERO
        day = a.date()
        while day <= b.date():
            if self.is_working_day(day):
                for open_at, close_at in self.hours.on(day):
                    overlap = min(close_at, b) - max(open_at, a)
                    if overlap > ZERO:
                        total += overlap
            day += dt.timedelta(days=1)
        return total

    # --- both modes ---------------------------------------------------------------------------

    def add(self, start: dt.datetime, duration: dt.timedelta, around_the_clock: bool = False) -> dt.datetime:
        return _aware(start) + duration if around_the_clock else self.add_working_time(start, duration)

    def between(self, a: dt.datetime, b: dt.datetime, around_the_clock: bool = False) -> dt.timedelta:
        return _aware(b) - _aware(a) if around_the_clock else self.working_time_between(a, b)


@dataclass(frozen=True)
class Clock:
    """An SLA clock that can pause: the time it spends paused does not count.

    Stored by its owner as three values (``due_at``, ``paused_at``,
    ``remaining``). Pausing keeps the time left; resuming sets a new due time
    that far from the moment of resuming. A clock that was already overdue when
    paused stays overdue at its old due time (pausing does not undo a breach).
    """

    due_at: dt.datetime
    paused_at: dt.datetime | None = None
    remaining: dt.timedelta | None = None
    around_the_clock: bool = False

    @classmethod
    def start(cls, at: dt.datetime, budget: dt.timedelta, calendar: WorkCalendar,
              around_the_clock: bool = False) -> "Clock":
        return cls(due_at=calendar.add(at, budget, around_the_clock), around_the_clock=around_the_clock)

    @property
    def paused(self) -> bool:
        return self.paused_at is not None

    def pause(self, at: dt.datetime, calendar: WorkCalendar) -> "Clock":
        if self.paused:
            return self
        left = calendar.between(at, self.due_at, self.around_the_clock)
        return replace(self, paused_at=_aware(at), remaining=left)

    def resume(self, at: dt.datetime, calendar: WorkCalendar) -> "Clock":
        if not self.paused:
            return self
        due = self.due_at if self.remaining < ZERO else calendar.add(at, self.remaining, self.around_the_clock)
        return replace(self, due_at=due, paused_at=None, remaining=None)

    def time_left(self, at: dt.datetime, calendar: WorkCalendar) -> dt.timedelta:
        """Counted time until due (negative once overdue); frozen while paused."""
        if self.paused:
            return self.remaining
        return calendar.between(at, self.due_at, self.around_the_clock)

    def overdue(self, at: dt.datetime) -> bool:
        if self.paused:
            return self.remaining < ZERO
        return _aware(at) > self.due_at
