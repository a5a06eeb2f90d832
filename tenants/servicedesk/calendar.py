"""The working-day calendar the SLA clocks count with, loaded once per call."""

from __future__ import annotations

from portal.core import office_calendar
from portal.core.workdays import WorkCalendar


def _settings(settings):
    if settings is not None:
        return settings
    try:
        from celery import current_app

        found = getattr(current_app, "portal_settings", None)
    except Exception:
        found = None
    if found is None:
        from portal.core.settings import load_settings

        found = load_settings()
    return found


async def calendar(settings=None) -> WorkCalendar:
    """Office hours from the settings (the caller's, the worker's, or the
    environment's) and the office calendar's dates (one query)."""
    return await office_calendar.load(_settings(settings))
