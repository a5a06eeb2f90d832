"""Running async services from (synchronous) Celery tasks.

Each worker process keeps one event loop and one small connection pool, opened
on first use; a task body is a coroutine run to completion on that loop.
"""

from __future__ import annotations

import asyncio
from typing import Awaitable, Callable, TypeVar

from celery import current_app

from portal.core import db
from tenants.registry.service import TenantRef, get_ref

T = TypeVar("T")
_loop: asyncio.AbstractEventLoop | None = None
_pool_open = False


def run(coro_fn: Callable[[], Awaitable[T]]) -> T:
    global _loop, _pool_open
    if _loop is None or _loop.is_closed():
        _loop = asyncio.new_event_loop()
        asyncio.set_event_loop(_loop)
    if not _pool_open:
        _loop.run_until_complete(db.open_pool(current_app.portal_settings, max_size=2))
        _pool_open = True
    return _loop.run_until_complete(coro_fn())


async def tenant_ref(tenant_id) -> TenantRef:
    """Resolve a task's tenant from the registry. A task without a valid
    tenant fails; it never falls back to another schema."""
    if not isinstance(tenant_id, int) or isinstance(tenant_id, bool):
        raise ValueError(f"task needs an integer tenant id, got {tenant_id!r}")
    return await get_ref(tenant_id)
