"""Document pipeline and lending upkeep. Tasks take ids, resolve the tenant from
the registry, and exit cleanly when their object is gone."""

from __future__ import annotations

from celery import current_app, shared_task

from tasks.runner import run, tenant_ref


def _storage():
    from documents.storage import get_storage

    return get_storage(current_app.portal_settings)


@shared_task(name="documents.thumbnail", bind=True, max_retries=3, default_retry_delay=30)
def thumbnail(self, tenant_id: int, version_row_id: int) -> str:
    """First-page PNG of one document version, stored encrypted."""
    from documents.thumbs import make_thumbnail

    async def body():
        ref = await tenant_ref(tenant_id)
        return await make_thumbnail(_storage(), ref.id, int(version_row_id))

    return run(body)


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
