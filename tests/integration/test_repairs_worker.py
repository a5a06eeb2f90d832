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
