"""The web server's share of the load work: one process per core, and no
request handling pushed to worker threads by accident."""

from __future__ import annotations

import inspect
import os

from portal.cli import web_workers
from portal.core.settings import Settings, load_settings


def test_web_workers_default_to_the_cores_available():
    assert web_workers(Settings()) == len(os.sched_getaffinity(0))
    assert web_workers(load_settings({"PORTAL_WEB_WORKERS": "3"})) == 3


def test_every_route_guard_is_a_coroutine():
    # Litestar runs a plain-function guard in a worker thread on every request
    # (a third of a portal page's CPU before guards became coroutines).
    from portal.app import create_app

    app = create_app(Settings(env="test"))
    checked = 0
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            for guard in handler.resolve_guards():
                assert inspect.iscoroutinefunction(guard), (route.path, guard)
                checked += 1
    assert checked > 50
