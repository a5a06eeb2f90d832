"""Survey e-mails: the invitation when a survey opens, reminders to those who
have not answered, and the daily sweep that closes surveys past their date.

Each e-mail task first claims its row (``emailed_at`` / ``reminders``) in its
own transaction, so a redelivered task sends nothing twice; the mail goes to
the tenant's notice contacts over the money notices' mailer.
"""

from __future__ import annotations

import logging

from celery import current_app, shared_task

from tasks.runner import run, tenant_task

log = logging.getLogger(__name__)


def _settings():
    return current_app.portal_settings


async def send_invitation(ref, survey_id: int, settings) -> str:
    """The invitation e-mail of one tenant (once: 'already' when it was claimed before)."""
    from tenants.surveys import mail, service

    if not await service.mark_invited(ref, survey_id):
        return "already"
    return await mail.send(ref, survey_id, settings, reminder=False)


async def send_reminder(ref, survey_id: int, round_no: int, settings) -> str:
    """Reminder ``round_no`` to a tenant that has not answered (once per round)."""
    from tenants.surveys import mail, service

    if not await service.mark_reminded(ref, survey_id, int(round_no)):
        return "skipped"
    return await mail.send(ref, survey_id, settings, reminder=True)


@tenant_task("surveys.invite", in_transaction=False)
async def invite(ref, survey_id: int) -> str:
    """The invitation e-mail of one tenant (once)."""
    return await send_invitation(ref, survey_id, _settings())


@tenant_task("surveys.remind", in_transaction=False)
async def remind(ref, survey_id: int, round_no: int) -> str:
    """Reminder ``round_no`` to a tenant that has not answered (once per round)."""
    return await send_reminder(ref, survey_id, round_no, _settings())


@shared_task(name="surveys.close_due")
def close_due() -> list[int]:
    """Beat, daily: close the surveys whose closing date has passed."""
    from tenants.surveys import service

    return run(service.close_due)
