"""Money jobs: the monthly billing run and notice batches.

Tasks take ids. A run or batch task splits its pending tenants into chunk
tasks so every worker process takes a share; each tenant is one transaction
(billing) or one notice, so a worker killed mid-chunk leaves no half-done
tenant, and running the task again finishes the rest.
"""

from __future__ import annotations

import logging

from celery import current_app, shared_task
from celery.signals import worker_init, worker_process_init

from tasks.runner import run, tenant_task

log = logging.getLogger(__name__)

BILL_CHUNK = 50
# A notice chunk is a pipeline (renders overlap the database, archive and SMTP work; one SMTP
# connection per chunk): larger chunks fill it better, smaller ones share the tail between workers.
NOTICE_CHUNK = 25


def _settings():
    return current_app.portal_settings


@worker_init.connect
def _preload_notice_renderer(**_) -> None:
    """Import the notice renderer (WeasyPrint and its libraries, about half a
    second) in the worker's main process: the forked worker processes start
    with it, instead of each paying for it in the first chunk of a batch."""
    try:
        import weasyprint  # noqa: F401

        from tenants.money import batches  # noqa: F401
    except Exception:  # a worker without the PDF stack still runs everything else
        log.warning("notice renderer not preloaded", exc_info=True)


@worker_process_init.connect
def _warm_notice_renderer(**_) -> None:
    """Register the notice fonts in each worker process (not fork-safe, so not in the parent)."""
    try:
        from tenants.money import notices_render

        notices_render.warm_up(current_app.portal_settings)
    except Exception:
        log.warning("notice renderer not warmed up", exc_info=True)


def _chunks(ids: list[int], size: int) -> list[list[int]]:
    return [ids[i:i + size] for i in range(0, len(ids), size)]


def _alive(kind: str, job_id: int, body):
    """Run a chunk with its job's heartbeat kept fresh (tenants.money.recovery)."""
    from tenants.money import recovery

    async def beating():
        async with recovery.heartbeat(kind, job_id):
            return await body()

    return run(beating)


def _queue(task) -> str | None:
    """Chunks go to the queue their parent came from (the default one unless a
    caller routed the run elsewhere)."""
    info = getattr(task.request, "delivery_info", None) or {}
    return info.get("routing_key") or None


@shared_task(name="money.billing_run", bind=True)
def billing_run(self, run_id: int) -> dict:
    """Fan the run's pending tenants out to chunk tasks."""
    from tenants.money import billing, recovery

    if not isinstance(run_id, int):
        raise ValueError("billing_run needs a run id")

    async def body():
        pending = await billing.pending_tenants(run_id)
        if not pending:
            await billing.finish_if_complete(run_id)
        await recovery.touch("billing_run", run_id)  # its chunks have a while to start
        return pending

    pending = run(body)
    for chunk in _chunks(pending, BILL_CHUNK):
        bill_chunk.apply_async((run_id, chunk), queue=_queue(self))
    return {"run_id": run_id, "pending": len(pending)}


@shared_task(name="money.bill_chunk")
def bill_chunk(run_id: int, tenant_ids: list[int]) -> dict:
    from tenants.money import billing

    rule = billing.LateFeeRule.from_settings(_settings())
    ids = [int(t) for t in tenant_ids]
    return _alive("billing_run", run_id, lambda: billing.bill_many(run_id, ids, rule=rule))


@tenant_task("money.bill_tenant", in_transaction=False)
async def bill_tenant(ref, run_id: int) -> dict:
    """Bill one tenant of a run (the per-tenant step, e.g. a retry from the console)."""
    from tenants.money import billing

    result = await billing.bill_tenant(run_id, ref.id, rule=billing.LateFeeRule.from_settings(_settings()),
                                       schema=ref.schema)
    await billing.finish_if_complete(run_id)
    return result


@shared_task(name="money.notice_batch", bind=True)
def notice_batch(self, batch_id: int) -> dict:
    from tenants.money import batches, recovery

    async def body():
        if not await batches.is_running(batch_id):
            return []
        pending = await batches.pending_tenants(batch_id)
        if not pending:
            await batches.finish_if_complete(batch_id)
        await recovery.touch("notice_batch", batch_id)
        return pending

    pending = run(body)
    for chunk in _chunks(pending, NOTICE_CHUNK):
        notice_chunk.apply_async((batch_id, chunk), queue=_queue(self))
    return {"batch_id": batch_id, "pending": len(pending)}


@shared_task(name="money.notice_chunk")
def notice_chunk(batch_id: int, tenant_ids: list[int]) -> dict:
    from tenants.money import batches

    ids = [int(t) for t in tenant_ids]
    return _alive("notice_batch", batch_id, lambda: batches.run_chunk(batch_id, ids, _settings()))


@tenant_task("money.issue_notice", in_transaction=False)
async def issue_notice(ref, kind: str, locale: str = "zh", subject_id: int | None = None,
                       send_email: bool = True) -> int:
    """One notice for one tenant (on demand, off the request)."""
    from tenants.money import notices_issue
    from tenants.money.batches import SYSTEM

    return await notices_issue.issue(ref, kind, _settings(), actor=SYSTEM, locale=locale, subject_id=subject_id,
                               send_email=send_email)


@shared_task(name="money.recover")
def recover() -> dict:
    """Beat, every few seconds: dispatch again the billing runs and notice batches
    whose workers died (stale heartbeat), void orphaned notice numbers, and sweep
    archive objects whose row never committed."""
    from tenants.money import recovery

    resumed = run(recovery.resume_stalled)
    dispatchers = {"billing_run": billing_run, "notice_batch": notice_batch}  # recovery.JOBS
    for kind, job_id in resumed:
        dispatchers[kind].apply_async((job_id,))
    swept = run(_sweep_objects)
    return {"resumed": [f"{dispatchers[kind].name}:{job_id}" for kind, job_id in resumed], "objects_swept": swept}


async def _sweep_objects() -> int:
    from documents import pending
    from documents.storage import get_storage

    return await pending.sweep(get_storage(_settings()))


@tenant_task("money.email_notice", in_transaction=False, bind=True, max_retries=None)
async def email_notice(task, ref, notice_id: int) -> str:
    """One delivery attempt of a notice's e-mail; retried with backoff
    (notices_mail.RETRY_BACKOFF), then recorded as failed."""
    from tenants.money import notices_mail

    state, attempts = await notices_mail.deliver(ref, notice_id, _settings())
    if state == "retrying":
        raise task.retry(countdown=notices_mail.retry_delay(attempts))
    return state
