"""Running async services from (synchronous) Celery tasks.

Each worker process keeps one event loop and one small connection pool, opened
on first use; a task body is a coroutine run to completion on that loop.
"""

from __future__ import annotations

import asyncio
from typing import Awaitable, Callable, TypeVar

from celery import current_app

from portal.core import db
from portal.core.errors import NotFound
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


class TenantGone(Exception):
    """The task's tenant is not in the registry (or its schema is gone)."""


def tenant_task(name: str, *, in_transaction: bool = True, **options):
    """Declare a Celery task that acts on one tenant.

    The task's first argument is the tenant id. The decorator resolves the
    registry row (a missing tenant ends the task with ``TenantGone``, never a
    fall-back to another schema) and runs the coroutine body:
    ``body(ref, tx, *args, **kwargs)`` inside ``tenant_tx`` (one transaction;
    its ``on_commit`` follow-ups are sent after commit), or, with
    ``in_transaction=False`` for work that also talks to S3 or SMTP,
    ``body(ref, *args, **kwargs)`` opening its own transactions. With
    ``bind=True`` the body gets the Celery task first (for ``task.retry``).
    """
    from celery import shared_task

    from tenants.scope import TenantScopeError, tenant_tx

    bound = bool(options.get("bind"))

    def declare(body):
        async def resolved(task, tenant_id, args, kwargs):
            try:
                ref = await tenant_ref(tenant_id)
            except (NotFound, TenantScopeError):
                raise TenantGone(f"tenant {tenant_id} is not in the registry") from None
            first = (task, ref) if bound else (ref,)
            if not in_transaction:
                return await body(*first, *args, **kwargs)
            async with tenant_tx(ref.schema) as tx:
                return await body(*first, tx, *args, **kwargs)

        if bound:
            def task(self, tenant_id: int, *args, **kwargs):
                return run(lambda: resolved(self, tenant_id, args, kwargs))
        else:
            def task(tenant_id: int, *args, **kwargs):
                return run(lambda: resolved(None, tenant_id, args, kwargs))

        task.__name__, task.__doc__ = body.__name__, body.__doc__
        # ``body`` is an attribute of the task class, not set on the proxy
        # shared_task returns: the proxy resolves to a new task object for each
        # Celery app (a test's worker app), which would not carry it.
        return shared_task(name=name, body=staticmethod(body), **options)(task)

    return declare
