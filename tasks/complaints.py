"""Complaint follow-ups: e-mail to the tenant, filing the complaint card when
a case closes (both tenant tasks, idempotent), and the escalation beat."""

from __future__ import annotations

from celery import current_app, shared_task

from tasks.runner import run, tenant_task


@tenant_task("complaints.notify_tenant", in_transaction=False)
async def notify_tenant(ref, complaint_id: int, kind: str) -> str:
    """One kind of e-mail ('received', 'reply') for one complaint, at most once."""
    from tenants.complaints import mail

    return await mail.notify(ref, int(complaint_id), str(kind), current_app.portal_settings)


@tenant_task("complaints.file_card", in_transaction=False, max_retries=3, default_retry_delay=60)
async def file_card(ref, complaint_id: int) -> int | None:
    """File the closed complaint's card in the tenant's archive (once)."""
    from tenants.complaints import card

    return await card.file_card(ref, int(complaint_id))


@shared_task(name="complaints.escalate")
def escalate() -> int:
    """Flag and escalate the open complaints past a deadline (core rows only)."""
    from tenants.complaints import summary

    return run(summary.escalate)
