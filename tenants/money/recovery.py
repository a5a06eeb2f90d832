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
from typing import NamedTuple

from piccolo.columns.combination import WhereRaw
from piccolo.table import Table

from portal.core.i18n import N_
from tenants.money import queries
from tenants.money.tables import BillingRun, BillingRunItem, NoticeBatch, NoticeBatchItem, NoticeNumber
from tenants.registry.visibility import scope_ids

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 5
STALE_SECONDS = 30
SWEEP_SECONDS = 20  # the beat interval: a dead job is resumed within STALE + SWEEP seconds
# A number reserved outside a batch (a single notice) is filed within seconds;
# one still reserved after this long was taken by a process that died.
ORPHAN_NUMBER_MINUTES = 10


class Job(NamedTuple):
    job: type[Table]
    item: type[Table]
    item_fk: str  # the item's column naming its job


# The kinds of job; tasks/money.py resumes each with its dispatching task.
JOBS = {"billing_run": Job(BillingRun, BillingRunItem, "run_id"),
        "notice_batch": Job(NoticeBatch, NoticeBatchItem, "batch_id")}
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
    job = JOBS[kind].job
    await job.update({job.heartbeat_at: queries.NOW}).where((job.id == job_id) & (job.status == "running")).run()


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
    job, item, fk = JOBS[kind].job, JOBS[kind].item, JOBS[kind].item_fk
    due = WhereRaw(stalled_sql())
    if cancelled_too:
        due = due | (job.status == "cancelled")
    where = due & job.id.is_in(item.select(getattr(item, fk)).where(item.status == "pending"))
    if job_id is not None:
        where = where & (job.id == job_id)
    rows = await job.update({job.status: "running", job.heartbeat_at: queries.NOW, job.resumes: job.resumes + 1}).where(
        where).returning(job.id).run()
    ids = [r["id"] for r in rows]
    if kind == "notice_batch" and ids:  # whatever the dead workers had numbered, they never filed
        await void_reserved(ids, "interrupted")
    return ids


async def resume_stalled() -> list[tuple[str, int]]:
    """(kind, job id) of every dead job claimed now, to dispatch again; also
    voids numbers orphaned by single notices."""
    found = [(kind, job_id) for kind in JOBS for job_id in await claim(kind)]
    live_batches = NoticeBatch.select(NoticeBatch.id).where(
        (NoticeBatch.status == "running") & WhereRaw(f"NOT {stalled_sql()}"))
    await NoticeNumber.update({NoticeNumber.status: "void", NoticeNumber.reason: "interrupted",
                               NoticeNumber.settled_at: queries.NOW}).where(
        (NoticeNumber.status == "reserved")
        & WhereRaw(f"taken_at < now() - interval '{ORPHAN_NUMBER_MINUTES} minutes'")
        & (NoticeNumber.batch_id.is_null() | NoticeNumber.batch_id.not_in(live_batches))).run()
    for kind, job_id in found:
        log.warning("resuming %s %s: its workers stopped", kind, job_id)
    return found


# --- the notice number register -----------------------------------------------------------------

class NumberVoided(RuntimeError):
    """The number was voided (its job taken for dead): the notice must not be filed under it."""


async def reserve(number: str, tenant_id: int, batch_id: int | None) -> None:
    """In the caller's transaction: the number is taken."""
    await NoticeNumber.insert(NoticeNumber(number=number, tenant_id=tenant_id, batch_id=batch_id)).run()


async def issue(number: str) -> None:
    """In the filing transaction: the number is used. Refuses a number voided
    meanwhile (the job was taken for dead), so a number is never both."""
    issued = await NoticeNumber.update({NoticeNumber.status: "issued", NoticeNumber.settled_at: queries.NOW}).where(
        (NoticeNumber.number == number) & (NoticeNumber.status == "reserved")).returning(NoticeNumber.number).run()
    if not issued:
        raise NumberVoided(f"notice number {number} is no longer reserved")


async def _void_where(where, reason: str) -> None:
    assert reason in VOID_REASONS
    await NoticeNumber.update({
        NoticeNumber.status: "void", NoticeNumber.reason: reason, NoticeNumber.settled_at: queries.NOW,
    }).where(where & (NoticeNumber.status == "reserved")).run()


async def void(numbers: list[str], reason: str) -> None:
    if numbers:
        await _void_where(NoticeNumber.number.is_in(numbers), reason)


async def void_reserved(batch_ids: list[int], reason: str) -> None:
    await _void_where(NoticeNumber.batch_id.is_in(batch_ids), reason)


async def void_numbers(principal, limit: int = 200, batch_id: int | None = None) -> list[dict]:
    """The register of void numbers (newest first), for finance: only the
    tenants of the buildings this person covers."""
    return await queries.void_numbers(limit, batch_id, scope_ids(principal))
