"""Per-tenant data keys in ``core.tenant_key``, wrapped by the master key.

The unwrapped key lives only in memory for the duration of one operation.
``destroy_tenant_key`` is the crypto-shredding hook: afterwards no object of the
tenant can be decrypted. ``rotate_master`` rewraps every key without touching
any object.
"""

from __future__ import annotations

from portal.core.db import DB
from portal.core.errors import DomainError

from documents import crypto


class KeyDestroyed(DomainError):
    """The documents of this tenant have been destroyed and can no longer be read."""

    status_code = 410
    code = "key_destroyed"


def _executor(conn=None):
    """The caller's connection, the open transaction's, or the pool."""
    if conn is not None:
        return conn
    tx = DB.current_transaction.get()
    return tx.connection if tx is not None else DB.pool


async def data_key(tenant_id: int, master_b64: str, *, create: bool = True, conn=None) -> bytes:
    """The tenant's data key; created (random, wrapped) on first use."""
    db = _executor(conn)
    row = await db.fetchrow("SELECT wrapped_key, destroyed_at FROM core.tenant_key WHERE tenant_id = $1", tenant_id)
    if row is None:
        if not create:
            raise KeyDestroyed("This tenant has no document key.")
        wrapped = crypto.wrap_key(master_b64, crypto.new_data_key())
        await db.execute(
            "INSERT INTO core.tenant_key (tenant_id, wrapped_key, master_key_id) VALUES ($1, $2, $3)"
            " ON CONFLICT (tenant_id) DO NOTHING",
            tenant_id, wrapped, crypto.master_key_id(master_b64),
        )
        row = await db.fetchrow("SELECT wrapped_key, destroyed_at FROM core.tenant_key WHERE tenant_id = $1",
                                tenant_id)
    if row["destroyed_at"] is not None or row["wrapped_key"] is None:
        raise KeyDestroyed()
    return crypto.unwrap_key(master_b64, row["wrapped_key"])


async def destroy_tenant_key(tenant_id: int, *, conn=None) -> bool:
    """Crypto-shred a tenant's documents: forget its data key for good.
    Returns False if there was no live key. Audit it in the caller."""
    db = _executor(conn)
    status = await db.execute(
        "UPDATE core.tenant_key SET wrapped_key = NULL, destroyed_at = now()"
        " WHERE tenant_id = $1 AND destroyed_at IS NULL",
        tenant_id,
    )
    if status.endswith(" 0"):
        # No key yet: record a destroyed one so a later upload cannot silently start a new key.
        status = await db.execute(
            "INSERT INTO core.tenant_key (tenant_id, wrapped_key, master_key_id, destroyed_at)"
            " VALUES ($1, NULL, '', now()) ON CONFLICT (tenant_id) DO NOTHING", tenant_id)
        return False
    return True


async def rotate_master(old_b64: str, new_b64: str, *, batch: int = 500) -> dict:
    """Rewrap every live data key from ``old`` to ``new`` in one transaction.
    Keys already wrapped by ``new`` are left alone (the command can be rerun)."""
    old_id, new_id = crypto.master_key_id(old_b64), crypto.master_key_id(new_b64)
    rewrapped = skipped = 0
    async with DB.transaction() as tx:
        conn = tx.connection
        rows = await conn.fetch(
            "SELECT tenant_id, wrapped_key, master_key_id FROM core.tenant_key"
            " WHERE destroyed_at IS NULL ORDER BY tenant_id FOR UPDATE")
        updates = []
        for row in rows:
            if row["master_key_id"] == new_id:
                skipped += 1
                continue
            if row["master_key_id"] != old_id:
                raise ValueError(f"tenant {row['tenant_id']}: key wrapped by an unknown master key "
                                 f"{row['master_key_id']}")
            key = crypto.unwrap_key(old_b64, row["wrapped_key"])
            updates.append((row["tenant_id"], crypto.wrap_key(new_b64, key), new_id))
        for i in range(0, len(updates), batch):
            await conn.executemany(
                "UPDATE core.tenant_key SET wrapped_key = $2, master_key_id = $3, rotated_at = now()"
                " WHERE tenant_id = $1", updates[i:i + batch])
        rewrapped = len(updates)
    return {"rewrapped": rewrapped, "already_current": skipped, "master_key_id": new_id}
