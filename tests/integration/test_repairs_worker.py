"""Dispatch in a real Celery worker (two processes): many orders reported at
once for few technicians are each dispatched once, no technician goes above
capacity, and the rest wait in the dispatcher's queue."""

from __future__ import annotations

import asyncio
import time

from portal.core import jobs
from portal.core.db import DB
from tasks.celery_app import sender
from tenants.registry import service as registry
from tenants.scope import tenant_tx
from tenants.servicedesk import service
from tests import factories
from tests.integration.repairs_support import portal_principal, technician


async def test_concurrent_dispatch_never_exceeds_capacity_nor_assigns_twice(database, celery_app, celery_worker):
    bld = await factories.building()
    techs = [await technician(bld["id"], skills=("electrical",), capacity=2) for _ in range(3)]
    refs = [await registry.get_ref(await factories.tenant(bld)) for _ in range(4)]
    users = [portal_principal(await factories.portal_user(ref.id), ref.id) for ref in refs]
    previous = jobs._sender
    jobs.use_sender(sender(celery_app))
    try:
        orders = await asyncio.gather(*[
            service.report(refs[i % 4], users[i % 4], {"category": "electrical", "description": f"停电 {i}"})
            for i in range(12)])
    finally:
        jobs.use_sender(previous)
    keys = [(refs[i % 4].id, o["id"]) for i, o in enumerate(orders)]

    async def statuses() -> list[dict]:
        return [dict(r) for r in await DB.pool.fetch(
            "SELECT tenant_id, order_id, status, assignee_id FROM core.work_order_summary"
            " WHERE (tenant_id, order_id) IN (SELECT * FROM unnest($1::int[], $2::int[]))",
            [k[0] for k in keys], [k[1] for k in keys])]

    deadline = time.monotonic() + 90
    rows = await statuses()
    while time.monotonic() < deadline and any(r["status"] == "reported" for r in rows):
        await asyncio.sleep(0.3)
        rows = await statuses()
    assert len(rows) == 12 and not any(r["status"] == "reported" for r in rows), rows
    dispatched = [r for r in rows if r["status"] == "dispatched"]
    assert len(dispatched) == 6 and sum(r["status"] == "unassigned" for r in rows) == 6
    for tech in techs:
        mine = [r for r in dispatched if r["assignee_id"] == tech["id"]]
        load = await DB.pool.fetchval("SELECT open_load FROM core.technician WHERE user_id = $1", tech["id"])
        assert len(mine) == load == 2
    for ref in refs:  # one dispatch event per dispatched order, in each tenant's own timeline
        async with tenant_tx(ref.schema) as tx:
            counts = await tx.connection.fetch(
                "SELECT order_id, count(*) AS n FROM work_order_event WHERE kind = 'dispatched' GROUP BY order_id")
        assert all(c["n"] == 1 for c in counts)


async def test_a_worker_killed_mid_dispatch_loses_no_order_and_assigns_none_twice(database, celery_app):
    """SIGKILL while a worker dispatches: each order's dispatch is one transaction, so
    nothing half-done remains; the sweep re-sends what was lost and every order
    ends up assigned once (or queued for the dispatcher), loads matching."""
    import datetime as dt
    import os
    import signal

    from portal.core.workdays import now
    from tenants.servicedesk import dispatch, scan
    from tests.integration.repairs_support import run_body, sent_tasks
    from tests.integration.test_money_billing_worker import _start_worker, _wait_ready

    bld = await factories.building()
    techs = [await technician(bld["id"], skills=("water",), capacity=50) for _ in range(3)]
    ref = await registry.get_ref(await factories.tenant(bld))
    user = portal_principal(await factories.portal_user(ref.id), ref.id)
    with sent_tasks():  # the messages go nowhere: this test sends them to its own worker below
        orders = [await service.report(ref, user, {"category": "water", "description": f"漏水 {i}"}) for i in range(200)]
    queue = "repairs-kill"
    worker = _start_worker(celery_app.portal_settings, queue)
    try:
        _wait_ready(celery_app, worker, queue)
        for order in orders:
            celery_app.send_task("repairs.dispatch", args=[ref.id, order["id"], 0], queue=queue)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and await DB.pool.fetchval(
                "SELECT count(*) FROM core.work_order_summary WHERE tenant_id = $1 AND status <> 'reported'",
                ref.id) < 3:
            await asyncio.sleep(0.05)
    finally:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=30)
    # The sweep finds what the dead worker never finished and re-sends it (run here in-process).
    lost = [key for key in await scan.dispatches_to_resend(now() + dt.timedelta(minutes=3)) if key[0] == ref.id]
    print(f"orders left undispatched by the killed worker: {len(lost)} of {len(orders)}")
    with sent_tasks():
        for tenant_id, order_id, round_ in lost:
            await run_body(dispatch.dispatch, ref, order_id, round_)
        for order in orders:  # a late redelivery of every message changes nothing
            await run_body(dispatch.dispatch, ref, order["id"], 0)
    rows = await DB.pool.fetch("SELECT status, assignee_id FROM core.work_order_summary WHERE tenant_id = $1", ref.id)
    assert len(rows) == 200 and {r["status"] for r in rows} <= {"dispatched", "unassigned"}
    for tech in techs:
        load = await DB.pool.fetchval("SELECT open_load FROM core.technician WHERE user_id = $1", tech["id"])
        assert load == sum(r["assignee_id"] == tech["id"] for r in rows) <= 50
    async with tenant_tx(ref.schema) as tx:
        twice = await tx.connection.fetchval("SELECT count(*) FROM (SELECT order_id FROM work_order_event"
                                             " WHERE kind = 'dispatched' GROUP BY order_id HAVING count(*) > 1) x")
    assert twice == 0
