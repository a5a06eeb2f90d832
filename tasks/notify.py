"""Notifications after commit: one task per event builds the messages from
the tenant's own rows (the domain's ``notices``) and sends each once through
``portal.core.notify`` (e-mail, the SMS/WeChat gateway webhook). A failed
delivery retries the task with back-off (bounded); what went out already is
skipped by its delivery key."""

from __future__ import annotations

import importlib

from celery import current_app

from tasks.runner import tenant_task

BUILDERS = {"repair": "tenants.servicedesk.notices", "complaint": "tenants.complaints.notices"}
MAX_RETRIES = 5


async def send(ref, event: str, entity_id: int, tag: str, settings) -> dict[str, int]:
    """Build and send the messages of one event ('repair.dispatched', ...)."""
    from portal.core import notify

    domain, _, what = event.partition(".")
    if domain not in BUILDERS:
        return {}
    builder = importlib.import_module(BUILDERS[domain])
    notices = await builder.notices(ref, what, int(entity_id), settings, str(tag))
    office = settings.office_name if settings.default_locale != "en" else settings.office_name_en
    return await notify.deliver(settings, event, ref.archive_no, f"{ref.id}:{event}:{entity_id}:{tag}", notices,
                                sender_name=office)


@tenant_task("notify.deliver", in_transaction=False, bind=True, max_retries=MAX_RETRIES)
async def deliver(task, ref, event: str, entity_id: int, tag: str = "") -> dict:
    """Tell the people concerned about one event of one tenant, each once."""
    counts = await send(ref, str(event), int(entity_id), str(tag), current_app.portal_settings)
    if counts.get("failed"):
        raise task.retry(countdown=min(900, 30 * 2 ** task.request.retries))
    return counts
