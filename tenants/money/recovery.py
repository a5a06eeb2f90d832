"""Crash recovery of money jobs (billing runs, notice batches) and of notice numbers.

A running job is alive while a worker touches its ``heartbeat_at`` (every
``HEARTBEAT_SECONDS`` while one of its chunks runs). ``resume_stalled``, run by
Celery beat every ``SWEEP_SECONDS``, claims the running jobs whose heartbeat is
older than ``STALE_SECONDS`` and still have pending tenants, and returns them to
be dispatched again; meanwhile their page says "interrupted, resuming". The job
steps are idempotent, so a stale copy of an old task that turns up later does
nothing twice.

Every notice number taken from ``core.notice_seq`` is in ``core.notice_number``:
``reserve`` when taken, ``issue`` in the transaction that files the notice, or
``void`` with the reason (``interrupted``, ``cancelled``, ``failed``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from portal.core.db import DB
from portal.core.i18n import N_
from tenants.registry.visibility import scope_ids

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 5
STALE_SECONDS = 30
SWEEP_SECONDS = 20  # the beat interval: a dead job is resumed within STALE + SWEEP seconds
# A number reserved outside a batch (a single notice) is filed within seconds;
# one still reserved after this long was taken by a process that died.
ORPHAN_NUMBER_MINUTES = 10
JOBS = {"billing_run": ("core.billing_run", "core.billing_run_item", "run_id", "money.billing_run"),
        "notice_batch": ("core.notice_batch", "core.notice_batch_item", "batch_id", "money.notice_batch")}
VOID_LABELS = {  # message ids, shown localized in the register
    "interrupted": N_("Interrupted: the worker stopped before the notice was filed"),
    "cancelled": N_("Batch cancelled before the notice was filed"),
    "failed": N_("The notice could not be generated or filed"),
}
VOID_REASONS = tuple(VOID_LABELS)


def stalled_sql(alias: str = "") -> str:
    """SQL true for a running job whose workers stopped beating."""
    p = f"{alias}." if alias else ""
    return f"({p}status = 'running' AND {p}heartbeat_at < now() - interval '{STALE_SECONDS} seconds')"


async def touch(kind: str, job_id: int) -> None:
    table = JOBS[kind][0]
    await DB.pool.execute(f"UPDATE {table} SET heartbeat_at = now() WHERE id = $1 AND status = 'running'", job_id)


@contextlib.asynccontextmanager
async def heartbeat(kind: str, job_id: int):
    """Keep the job's heartbeat fresh while the body runs (one chunk of it)."""
    async def beat() -> None:
        while True:
            try:
                await touch(kind, job_id)
            except Exception:  # a missed beat only risks a harmless extra dispatch
                log.warning("heartbeat of %s %s failed", kind, job_id, exc_info=True)
            await asyncio.sleep(HEARTBEAT_SECONDS)

    task = asyncio.create_task(beat())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def claim(kind: str, job_id: int | None = None, *, cancelled_too: bool = False) -> list[int]:
    """Claim stalled jobs that still have pending tenants (all, or ``job_id``):
    their heartbeat is renewed and ``resumes`` counted, so one sweep dispatches
    each once. ``cancelled_too``: also a cancelled one (a person's Resume)."""
    table, items, fk, _ = JOBS[kind]
    due = f"({stalled_sql('j')} OR j.status = 'cancelled')" if cancelled_too else stalled_sql("j")
    rows = await DB.pool.fetch(
        f"UPDATE {table} j SET status = 'running', heartbeat_at = now(), resumes = resumes + 1"
        f" WHERE {due} AND ($1::int IS NULL OR j.id = $1)"
        f" AND EXISTS (SELECT 1 FROM {items} i WHERE i.{fk} = j.id AND i.status = 'pending') RETURNING j.id", job_id)
    ids = [r["id"] for r in rows]
    if kind == "notice_batch" and ids:  # whatever the dead workers had numbered, they never filed
        await void_reserved(ids, "interrupted")
    return ids


async def resume_stalled() -> list[tuple[str, int]]:
    """(task name, job id) of every dead job claimed now, to dispatch again;
    also voids numbers orphaned by single notices."""
    found = [(JOBS[kind][3], job_id) for kind in JOBS for job_id in await claim(kind)]
    await DB.pool.execute(
        "UPDATE core.notice_number n SET status = 'void', reason = 'interrupted', settled_at = now()"
        f" WHERE status = 'reserved' AND taken_at < now() - interval '{ORPHAN_NUMBER_MINUTES} minutes'"
        " AND (batch_id IS NULL OR NOT EXISTS (SELECT 1 FROM core.notice_batch b WHERE b.id = n.batch_id"
        f" AND b.status = 'running' AND NOT {stalled_sql('b')}))")
    for task, job_id in found:
        log.warning("resuming %s %s: its workers stopped", task, job_id)
    return found


# --- the notice number register -----------------------------------------------------------------

class NumberVoided(RuntimeError):
    """The number was voided (its job taken for dead): the notice must not be filed under it."""


async def reserve(conn, number: str, tenant_id: int, batch_id: int | None) -> None:
    await conn.execute("INSERT INTO core.notice_number (number, tenant_id, batch_id) VALUES ($1, $2, $3)",
                       number, tenant_id, batch_id)


async def issue(conn, number: str) -> None:
    """In the filing transaction: the number is used. Refuses a number voided
    meanwhile (the job was taken for dead), so a number is never both."""
    result = await conn.execute(
        "UPDATE core.notice_number SET status = 'issued', settled_at = now() WHERE number = $1"
        " AND status = 'reserved'", number)
    if not result.endswith(" 1"):
        raise NumberVoided(f"notice number {number} is no longer reserved")


async def void(numbers: list[str], reason: str) -> None:
    assert reason in VOID_REASONS
    if numbers:
        await DB.pool.execute(
            "UPDATE core.notice_number SET status = 'void', reason = $2, settled_at = now()"
            " WHERE number = ANY($1::text[]) AND status = 'reserved'", numbers, reason)


async def void_reserved(batch_ids: list[int], reason: str) -> None:
    await DB.pool.execute(
        "UPDATE core.notice_number SET status = 'void', reason = $2, settled_at = now()"
        " WHERE batch_id = ANY($1::int[]) AND status = 'reserved'", batch_ids, reason)


async def void_numbers(principal, limit: int = 200, batch_id: int | None = None) -> list[dict]:
    """The register of void numbers (newest first), for finance: only the
    tenants of the buildings this person covers."""
    rows = await DB.pool.fetch(
        "SELECT n.number, n.tenant_id, t.name AS tenant_name, n.batch_id, n.reason, n.taken_at, n.settled_at"
        " FROM core.notice_number n JOIN core.tenant t ON t.id = n.tenant_id WHERE n.status = 'void'"
        " AND ($2::int IS NULL OR n.batch_id = $2) AND ($3::int[] IS NULL OR t.building_ids && $3::int[])"
        " ORDER BY n.settled_at DESC, n.number DESC LIMIT $1",
        limit, batch_id, scope_ids(principal))
    return [dict(r) for r in rows]
