"""Periodic upkeep of the registry."""

from __future__ import annotations

from celery import shared_task

from portal.core import audit
from tasks.runner import run


@shared_task(name="tenancy.reconcile")
def reconcile() -> dict:
    """Rebuild core summaries from the tenant schemas; drift goes to the audit log."""
    from tenants.registry.reconcile import reconcile_all

    async def body():
        report = await reconcile_all(fix=True)
        if report["drifted"]:
            await audit.record("tenancy.reconcile", actor_name="beat", outcome="drift",
                               detail={"drifted": report["drifted"][:100]})
        return report

    return run(body)


@shared_task(name="tenancy.expire_invitations")
def expire_invitations() -> int:
    """Mark expired, unused portal invitations revoked so they list as closed."""

    from portal.accounts.service import expire_invitations as expire

    return run(expire)
