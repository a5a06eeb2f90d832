"""Follow-up work sent after commit.

Inside a transaction (``tenant_tx`` or ``core_tx``), ``on_commit(task, *args)``
collects a Celery task and its arguments; the transaction sends them only
once it has committed, so a worker never looks for a row that a rolled-back
change never wrote, and nothing is sent for a change that failed. Tasks are
referenced by their function (a Celery task object), never by a string.

The process that sends (web, worker, CLI) says once how to reach the broker:
``use_sender(send)`` with a callable ``send(task_name, args, kwargs, options)``
(``tasks.celery_app.sender(app)``). A broker outage after commit is logged,
not raised: the change is committed; the beat tasks that sweep for unfinished
work (thumbnails, dispatch, batches) pick it up.

Work that no transaction of the caller creates (a service that committed on
its own, a read that finds a thumbnail missing) is sent with
``await send_now(task, *args)``, through the same sender.
"""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, AsyncIterator, Callable, Iterator

import anyio

from portal.core.db import DB

log = logging.getLogger(__name__)

Sender = Callable[[str, list, dict, dict], None]


@dataclass(frozen=True)
class FollowUp:
    task_name: str
    args: tuple
    kwargs: dict
    options: dict  # Celery's sending options (countdown)


_collected: ContextVar[list[FollowUp] | None] = ContextVar("after_commit", default=None)
_sender: Sender | None = None


class AfterCommitError(RuntimeError):
    """on_commit was called outside a transaction that collects follow-ups."""


def use_sender(send: Sender | None) -> None:
    global _sender
    _sender = send


def _follow_up(task: Any, args: tuple, kwargs: dict, countdown: float | None) -> FollowUp:
    name = getattr(task, "name", None)
    if not isinstance(name, str) or "." not in name:
        raise TypeError("follow-ups take a Celery task object, not a name")
    return FollowUp(name, args, kwargs, {} if countdown is None else {"countdown": countdown})


def on_commit(task: Any, *args: Any, countdown: float | None = None, **kwargs: Any) -> None:
    """Send ``task(*args, **kwargs)`` when the current transaction commits
    (``countdown``: not before that many seconds after)."""
    pending = _collected.get()
    if pending is None:
        raise AfterCommitError("on_commit needs tenant_tx or core_tx around it")
    pending.append(_follow_up(task, args, kwargs, countdown))


async def send_now(task: Any, *args: Any, countdown: float | None = None, **kwargs: Any) -> bool:
    """Send ``task(*args, **kwargs)`` now, for work already committed (outside
    any transaction). Returns whether it reached the broker."""
    return await send([_follow_up(task, args, kwargs, countdown)]) == 1


@contextmanager
def collecting() -> Iterator[list[FollowUp]]:
    """Collect ``on_commit`` calls made in the block (transactions use it)."""
    pending: list[FollowUp] = []
    token = _collected.set(pending)
    try:
        yield pending
    finally:
        _collected.reset(token)


async def send(pending: list[FollowUp]) -> int:
    """Send collected follow-ups (after commit). Returns how many were sent."""
    if not pending:
        return 0
    if _sender is None:
        log.error("no task sender configured; %d follow-ups not sent", len(pending))
        return 0
    sender = _sender

    def send_all() -> int:
        sent = 0
        for item in pending:
            try:
                sender(item.task_name, list(item.args), dict(item.kwargs), dict(item.options))
                sent += 1
            except Exception:
                log.exception("could not send %s after commit", item.task_name)
        return sent

    return await anyio.to_thread.run_sync(send_all)


@asynccontextmanager
async def core_tx() -> AsyncIterator[Any]:
    """A transaction on core tables that sends its follow-ups after commit."""
    with collecting() as pending:
        async with DB.transaction() as tx:
            yield tx
    await send(pending)
