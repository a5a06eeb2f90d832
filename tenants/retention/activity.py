"""The last business date: ``touch``, the one call every domain makes when
something that counts as business happens (imports nothing of the registry, so
the registry itself can call it)."""

from __future__ import annotations

import datetime as dt

from portal.core.db import DB


async def touch(tenant_id: int, day: dt.date) -> None:
    """Business happened for ``tenant_id`` on ``day``: move its last business
    date forward (never back). Must run inside the caller's transaction
    (``tenant_tx`` / ``core_tx``), so it commits or rolls back with the event."""
    tx = DB.current_transaction.get()
    if tx is None:
        raise RuntimeError("retention.touch must be called inside the domain's transaction")
    await tx.connection.execute(
        "UPDATE core.tenant SET last_business_on = $2 WHERE id = $1 AND last_business_on < $2", tenant_id, day)
