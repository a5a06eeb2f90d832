"""Archive objects written before the row that owns them commits.

An upload (``upload_stream.UploadSink``) first records its object key in
``core.pending_object``, committed on its own, then writes to S3. The
transaction that files the object (``service.insert_version``) deletes that
record, so it commits with the document row. A record left behind means the
filing never committed (a crash between upload and commit): ``sweep`` (Celery
beat, ``money.recover``) removes such objects once they are older than
``GRACE_MINUTES``. Whichever of the filing and the sweep deletes the record
first wins; the other waits on the row lock and then finds it gone.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from contextlib import contextmanager
from typing import Iterator

from documents.tables import PendingObject
from portal.core.db import DB

log = logging.getLogger(__name__)
GRACE_MINUTES = 15  # far longer than any upload-to-commit: an older record is an orphan


class ObjectSwept(RuntimeError):
    """The object was swept as an orphan before its row committed."""


@contextmanager
def _own_connection() -> Iterator[None]:
    """Piccolo joins the caller's open transaction; these records must commit on their own."""
    token = DB.current_transaction.set(None)
    try:
        yield
    finally:
        DB.current_transaction.reset(token)


async def record(object_key: str, tenant_id: int) -> None:
    """Before the upload (its own connection: committed even if the caller's transaction rolls back)."""
    with _own_connection():
        await PendingObject.insert(PendingObject(object_key=object_key, tenant_id=tenant_id)).run()


async def settle(object_key: str) -> None:
    """In the filing transaction: the object is owned by a row now."""
    gone = await PendingObject.delete().where(PendingObject.object_key == object_key).returning(
        PendingObject.object_key).run()
    if not gone:
        raise ObjectSwept(f"object {object_key} is no longer pending")


async def forget(object_key: str) -> None:
    """The upload was refused or aborted and its object removed."""
    with _own_connection():
        await PendingObject.delete().where(PendingObject.object_key == object_key).run()


async def sweep(storage, grace_minutes: float = GRACE_MINUTES, limit: int = 500) -> int:
    """Remove the objects whose filing never committed; returns how many."""
    older_than = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=grace_minutes)
    rows = await PendingObject.select(PendingObject.object_key).where(
        PendingObject.created_at < older_than).order_by(PendingObject.created_at).limit(limit).run()
    swept = 0
    for row in rows:
        key = row["object_key"]
        async with DB.transaction():
            if await PendingObject.delete().where(PendingObject.object_key == key).returning(
                    PendingObject.object_key).run():
                await asyncio.to_thread(storage.remove_all_versions, key)
                swept += 1
    if swept:
        log.warning("removed %s archive objects whose filing never committed", swept)
    return swept
