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
import logging

from portal.core.db import DB

log = logging.getLogger(__name__)
GRACE_MINUTES = 15  # far longer than any upload-to-commit: an older record is an orphan


class ObjectSwept(RuntimeError):
    """The object was swept as an orphan before its row committed."""


async def record(object_key: str, tenant_id: int) -> None:
    """Before the upload (its own connection: committed even if the caller's transaction rolls back)."""
    await DB.pool.execute("INSERT INTO core.pending_object (object_key, tenant_id) VALUES ($1, $2)",
                          object_key, tenant_id)


async def settle(conn, object_key: str) -> None:
    """In the filing transaction: the object is owned by a row now."""
    result = await conn.execute("DELETE FROM core.pending_object WHERE object_key = $1", object_key)
    if not result.endswith(" 1"):
        raise ObjectSwept(f"object {object_key} is no longer pending")


async def forget(object_key: str) -> None:
    """The upload was refused or aborted and its object removed."""
    await DB.pool.execute("DELETE FROM core.pending_object WHERE object_key = $1", object_key)


async def sweep(storage, grace_minutes: float = GRACE_MINUTES, limit: int = 500) -> int:
    """Remove the objects whose filing never committed; returns how many."""
    keys = [r["object_key"] for r in await DB.pool.fetch(
        "SELECT object_key FROM core.pending_object WHERE created_at < now() - make_interval(secs => $1)"
        " ORDER BY created_at LIMIT $2", grace_minutes * 60, limit)]
    swept = 0
    for key in keys:
        async with DB.transaction() as tx:
            if await tx.connection.fetchval(
                    "DELETE FROM core.pending_object WHERE object_key = $1 RETURNING 1", key):
                await asyncio.to_thread(storage.remove_all_versions, key)
                swept += 1
    if swept:
        log.warning("removed %s archive objects whose filing never committed", swept)
    return swept
