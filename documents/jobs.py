"""Enqueueing document tasks from the web process (after commit, never inside tenant_tx)."""

from __future__ import annotations

import logging

import anyio

from portal.core.settings import Settings

log = logging.getLogger(__name__)
_apps: dict[int, object] = {}


def _celery(settings: Settings):
    app = _apps.get(id(settings))
    if app is None:
        from tasks.celery_app import make_celery

        app = _apps[id(settings)] = make_celery(settings)
    return app


async def enqueue(settings: Settings, task: str, *args, countdown: float | None = None) -> bool:
    """Send a task by name (``countdown``: not before that many seconds); a broker
    outage is logged, not raised (thumbnails are also made on demand)."""
    def send() -> None:
        _celery(settings).send_task(task, args=list(args), countdown=countdown)

    try:
        await anyio.to_thread.run_sync(send)
        return True
    except Exception:
        log.exception("could not enqueue %s", task)
        return False
