"""The purge of an approved destruction, and the beat that starts purges whose
cooling-off period is over and resumes purges whose worker died."""

from __future__ import annotations

from celery import current_app, shared_task

from tasks.runner import run, tenant_task

STALE_SECONDS = 300  # a running purge without a heartbeat this long is resumed by the beat


@tenant_task("destruction.purge", in_transaction=False)
async def purge(ref, request_id: int) -> str:
    """Run or resume the purge of one request (idempotent: finished steps are skipped)."""
    from tenants.destruction import purge as steps

    job = await steps.run(int(request_id), current_app.portal_settings)
    return job["status"]


@tenant_task("destruction.s3_hold", in_transaction=False)
async def s3_hold(ref, hold_id: int) -> int:
    """Turn on the S3 legal holds of a hold placed by another domain's transaction (a major complaint)."""
    from tenants.destruction import holds

    return await holds.apply_s3_hold(ref.id, int(hold_id))


@shared_task(name="destruction.start_due")
def start_due() -> int:
    from tenants.destruction import service

    async def body() -> int:
        started = await service.start_due()
        return len(started) + len(await service.resume_stale(STALE_SECONDS))

    return run(body)
