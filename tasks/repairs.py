"""Repair jobs: dispatch (sent after the order commits), the acceptance
timeout, paging on-duty staff for urgent orders, the repair slip, and the beat
sweeps (SLA scan, automatic close, lost dispatches). Tasks take ids and are
idempotent: each re-checks the order's status and dispatch round under a row
lock, so a redelivered message does nothing twice."""

from __future__ import annotations

from celery import current_app, shared_task

from tasks.runner import run, tenant_task


def _accept_minutes() -> int:
    settings = getattr(current_app, "portal_settings", None)
    return int(getattr(settings, "repair_accept_minutes", 15))


@tenant_task("repairs.dispatch")
async def dispatch_order(ref, tx, order_id: int, round_: int) -> str:
    """Pick a technician for the order (or queue it for the dispatcher)."""
    from tenants.servicedesk.dispatch import dispatch

    return await dispatch(ref, tx, int(order_id), int(round_), _accept_minutes())


@tenant_task("repairs.accept_timeout")
async def accept_timeout(ref, tx, order_id: int, round_: int) -> bool:
    """Not accepted in time: give the order to the next technician."""
    from tenants.servicedesk.dispatch import timeout

    return await timeout(ref, tx, int(order_id), int(round_))


@tenant_task("repairs.page_on_duty")
async def page_on_duty(ref, tx, order_id: int) -> int:
    """An urgent order: tell the technicians on duty for its building at once."""
    from tenants.servicedesk.dispatch import page_on_duty as page

    return await page(ref, tx, int(order_id))


@tenant_task("repairs.file_slip", in_transaction=False, max_retries=3, default_retry_delay=30)
async def file_slip(ref, order_id: int) -> int | None:
    """The closed order's repair slip (PDF) filed in the tenant's archive, once."""
    from tenants.servicedesk.slip import file_slip as file

    return await file(ref, int(order_id), current_app.portal_settings)


@shared_task(name="repairs.sla_scan")
def sla_scan() -> dict:
    from tenants.servicedesk.scan import sla_scan as scan

    return run(scan)


@shared_task(name="repairs.auto_close")
def auto_close() -> int:
    from tenants.servicedesk.scan import auto_close_one, due_for_auto_close
    from portal.core.workdays import now

    async def body() -> int:
        at, closed = now(), 0
        for tenant_id, order_id in await due_for_auto_close(at):
            closed += await auto_close_one(tenant_id, order_id, at)
        return closed

    return run(body)


@shared_task(name="repairs.sweep")
def sweep() -> int:
    """Re-send dispatches whose message was lost after commit, and dispatch
    unassigned orders again once someone on duty could take them."""
    from portal.core import jobs
    from tenants.servicedesk.scan import dispatches_to_resend

    async def body() -> int:
        due = await dispatches_to_resend()
        for tenant_id, order_id, round_ in due:
            await jobs.send_now(dispatch_order, tenant_id, order_id, round_)
        return len(due)

    return run(body)
