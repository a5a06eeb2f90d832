"""Retention's beat tasks: the daily dormancy sweep and the monthly
disposition list. Both read core, act one tenant at a time through the same
services as the console, and are idempotent (a repeat changes nothing more)."""

from __future__ import annotations

from celery import shared_task

from tasks.runner import run


@shared_task(name="retention.dormancy")
def dormancy() -> int:
    """Files with no business for a year become dormant (seed 002)."""
    from tenants.retention import service

    async def body():
        return len(await service.run_dormancy())

    return run(body)


@shared_task(name="retention.disposition")
def disposition(built_by: str = "beat") -> int:
    """Build this month's disposition list (or now, when an archivist asks); returns the run id."""
    from tenants.retention import disposition as lists

    async def body():
        return await lists.build(built_by=built_by)

    return run(body)
