"""Document pipeline and lending upkeep. Tasks take ids; a tenant's task is a
``tenant_task`` (the tenant resolved from the registry) and exits cleanly when
its object is gone."""

from __future__ import annotations

from celery import current_app, shared_task

from tasks.runner import run, tenant_task


def _storage():
    from documents.storage import get_storage

    return get_storage(current_app.portal_settings)


@tenant_task("documents.thumbnail", in_transaction=False, max_retries=3, default_retry_delay=30)
async def thumbnail(ref, version_row_id: int) -> str:
    """First-page PNG of one document version, stored encrypted."""
    from documents.thumbs import make_thumbnail

    return await make_thumbnail(_storage(), ref.id, int(version_row_id))


@shared_task(name="documents.withdraw_expired_grants")
def withdraw_expired_grants() -> int:
    from documents.lending import withdraw_expired_grants as withdraw

    return run(withdraw)


@shared_task(name="documents.loan_reminders")
def loan_reminders() -> int:
    from documents.lending import send_reminders

    return run(send_reminders)


@shared_task(name="documents.delete_expired_exports")
def delete_expired_exports() -> int:
    from documents.exports import delete_expired

    return run(lambda: delete_expired(_storage()))
