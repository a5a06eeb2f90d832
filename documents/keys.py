"""Per-tenant data keys in ``core.tenant_key``, wrapped by the master key.

The unwrapped key lives only in memory for the duration of one operation.
``destroy_tenant_key`` is the crypto-shredding hook: afterwards no object of the
tenant can be decrypted. ``rotate_master`` rewraps every key without touching
any object.
"""

from __future__ import annotations

import datetime as dt

from documents import crypto, queries
from documents.tables import TenantKey
from portal.core.db import DB
from portal.core.errors import DomainError


class KeyDestroyed(DomainError):
    """The documents of this tenant have been destroyed and can no longer be read."""

    status_code = 410
    code = "key_destroyed"


async def _stored_key(tenant_id: int) -> dict | None:
    return await TenantKey.select(TenantKey.wrapped_key, TenantKey.destroyed_at).where(
        TenantKey.tenant_id == tenant_id).first().run()


async def data_key(tenant_id: int, master_b64: str, *, create: bool = True) -> bytes:
    """The tenant's data key; created (random, wrapped) on first use. Runs in the
    caller's transaction if there is one."""
    row = await _stored_key(tenant_id)
    if row is None:
        if not create:
            raise KeyDestroyed("This tenant has no document key.")
        wrapped = crypto.wrap_key(master_b64, crypto.new_data_key())
        await TenantKey.insert(TenantKey(tenant_id=tenant_id, wrapped_key=wrapped,
                                         master_key_id=crypto.master_key_id(master_b64))).on_conflict(
            action="DO NOTHING").run()
        row = await _stored_key(tenant_id)
    if row["destroyed_at"] is not None or row["wrapped_key"] is None:
        raise KeyDestroyed()
    return crypto.unwrap_key(master_b64, row["wrapped_key"])


async def destroy_tenant_key(tenant_id: int) -> bool:
    """Crypto-shred a tenant's documents: forget its data key for good.
    Returns False if there was no live key. Audit it in the caller."""
    destroyed = await TenantKey.update({TenantKey.wrapped_key: None, TenantKey.destroyed_at: _now()}).where(
        (TenantKey.tenant_id == tenant_id) & TenantKey.destroyed_at.is_null()).returning(TenantKey.tenant_id).run()
    if destroyed:
        return True
    # No key yet: record a destroyed one so a later upload cannot silently start a new key.
    await TenantKey.insert(TenantKey(tenant_id=tenant_id, wrapped_key=None, master_key_id="",
                                     destroyed_at=_now())).on_conflict(action="DO NOTHING").run()
    return False


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


async def rotate_master(old_b64: str, new_b64: str, *, batch: int = 500) -> dict:
    """Rewrap every live data key from ``old`` to ``new`` in one transaction.
    Keys already wrapped by ``new`` are left alone (the command can be rerun)."""
    old_id, new_id = crypto.master_key_id(old_b64), crypto.master_key_id(new_b64)
    skipped = 0
    async with DB.transaction():
        rows = await TenantKey.select(TenantKey.tenant_id, TenantKey.wrapped_key, TenantKey.master_key_id).where(
            TenantKey.destroyed_at.is_null()).order_by(TenantKey.tenant_id).lock_rows("UPDATE").run()
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
            await queries.rewrap_keys(updates[i:i + batch])
    return {"rewrapped": len(updates), "already_current": skipped, "master_key_id": new_id}
