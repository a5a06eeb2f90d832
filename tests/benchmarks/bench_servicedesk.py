"""``portal bench servicedesk --tenants N --orders M --technicians T --json``:
repair dispatch through a real Celery worker (concurrency 2) at a steady rate,
the SLA scan over every open order, the dispatcher's board and a technician's
list, in a scratch database (``portal_bench_servicedesk``)."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import time

from portal.core import db, jobs
from portal.core.roles import Principal, Role
from portal.core.settings import Settings
from portal.core.workdays import now
from tenants import migrate
from tenants.registry import service as registry
from tenants.scope import tenant_tx
from tests.benchmarks.bench_money import Worker
from tests.benchmarks.common import median, percentile, recreate_database, scratch_settings
from tests.factories import SYSTEM, credit_code

REDIS_DB = "10"
WARM_UP = 8  # orders dispatched before measuring: the worker's processes load and connect on their first tasks
CATEGORIES = ("water", "electrical", "hvac", "doors_locks", "network", "cleaning", "other")


def _settings(base: Settings) -> Settings:
    settings = scratch_settings(base, "portal_bench_servicedesk")
    return settings.with_(redis_url=settings.redis_url.rsplit("/", 1)[0] + "/" + REDIS_DB)


async def _world(tenants: int, technicians: int, orders: int) -> tuple[list, list[int], int]:
    building_id = await db.DB.pool.fetchval(
        "INSERT INTO core.building (code, name, floors) VALUES ('SD', '报修基准大厦', 30) RETURNING id")
    unit_ids = [r["id"] for r in await db.DB.pool.fetch(
        "INSERT INTO core.unit (building_id, floor, code, area_m2) SELECT $1, g / 100, g::text, 100"
        " FROM generate_series(1, $2) g RETURNING id", building_id, tenants)]
    refs = []
    for i in range(tenants):
        tenant_id = await registry.create_tenant(
            {"name": f"报修基准企业{i:05d}有限公司", "kind": "E", "level": "1", "status": "active",
             "business_letter": "A", "credit_code": credit_code(), "legal_rep": "王五"},
            [{"name": f"联系人{i}", "mobile": f"139{i:08d}", "email": f"c{i}@bench.example", "is_primary": True}],
            [unit_ids[i]], SYSTEM, business_letters={"A": "写字楼租赁"})
        refs.append(await registry.get_ref(tenant_id))
    capacity = min(50, max(1, -(-(orders + WARM_UP) // technicians) + 2))
    tech_ids = []
    today = now().date()
    for t in range(technicians):
        user_id = await db.DB.pool.fetchval(
            "INSERT INTO core.staff_user (username, display_name, email, department, password_hash, roles,"
            " building_ids, created_at, password_changed_at) VALUES ($1, $2, '', '工程部', 'x', '{technician}',"
            " $3, now(), now()) RETURNING id", f"tech{t}", f"师傅{t}", [building_id])
        await db.DB.pool.execute("INSERT INTO core.technician (user_id, name, skills, building_ids, capacity)"
                                 " VALUES ($1, $2, $3, $4, $5)", user_id, f"师傅{t}", list(CATEGORIES),
                                 [building_id], capacity)
        await db.DB.pool.execute("INSERT INTO core.technician_shift (user_id, day, starts, ends) VALUES"
                                 " ($1, $2, '00:00', '23:59:59.999'), ($1, $3, '00:00', '23:59:59.999')",
                                 user_id, today, today + dt.timedelta(days=1))
        tech_ids.append(user_id)
    return refs, tech_ids, building_id


async def _settled(timeout: float = 600) -> None:
    """Until no order waits for its dispatch."""
    deadline = time.time() + timeout
    while time.time() < deadline and await db.DB.pool.fetchval(
            "SELECT count(*) FROM core.work_order_summary WHERE status = 'reported'"):
        await asyncio.sleep(0.1)


async def run(base: Settings, tenants: int, orders: int, technicians: int, rate: float = 20.0,
              progress=None) -> dict:
    from tenants.servicedesk import board, scan, service

    settings = _settings(base)
    await recreate_database(settings)
    await db.open_pool(settings, max_size=8)
    worker = Worker(settings)
    previous = jobs._sender
    jobs.use_sender(lambda name, args, kwargs, options: worker.app.send_task(
        name, args=args, kwargs=kwargs, queue=worker.queue, **options))
    try:
        await migrate.migrate_all()
        refs, tech_ids, building_id = await _world(tenants, technicians, orders)
        if progress:
            progress(f"{tenants} tenants, {technicians} technicians; reporting {orders} orders at {rate}/s")
        users = [Principal(kind="portal", user_id=i + 1, name="基准用户", tenant_id=r.id) for i, r in enumerate(refs)]
        for i in range(WARM_UP):
            await service.report(refs[0], users[0], {"category": "other", "description": f"预热 {i}"}, settings)
        await _settled()
        measured_from = now()
        started = time.perf_counter()
        pending = []
        for i in range(orders):
            due = started + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            k = i % len(refs)
            pending.append(asyncio.create_task(service.report(
                refs[k], users[k], {"category": CATEGORIES[i % len(CATEGORIES)], "description": f"基准报修 {i}"},
                settings)))
        await asyncio.gather(*pending)
        await _settled()
        elapsed = time.perf_counter() - started
        rows = await db.DB.pool.fetch(
            "SELECT extract(epoch FROM updated_at - reported_at) * 1000 AS ms FROM core.work_order_summary"
            " WHERE status = 'dispatched' AND reported_at >= $1", measured_from)
        latencies = [float(r["ms"]) for r in rows]
        double = await db.DB.pool.fetchval(
            "SELECT count(*) FROM core.technician t WHERE t.open_load <> (SELECT count(*) FROM"
            " core.work_order_summary s WHERE s.assignee_id = t.user_id) OR t.open_load > t.capacity")
        for ref in refs:
            async with tenant_tx(ref.schema) as tx:
                double += await tx.connection.fetchval(
                    "SELECT count(*) FROM (SELECT order_id FROM work_order_event WHERE kind = 'dispatched'"
                    " GROUP BY order_id HAVING count(*) > 1) x")
        scans = []
        for _ in range(3):
            t0 = time.perf_counter()
            await scan.sla_scan()
            scans.append((time.perf_counter() - t0) * 1000)
        dispatcher = Principal(kind="staff", user_id=0, name="调度", roles=frozenset({Role.DISPATCHER}),
                               building_ids=frozenset({building_id}))
        pages = max(1, -(-orders // board.PER_PAGE))
        board_ms, list_ms = [], []
        for _ in range(200):
            t0 = time.perf_counter()
            await board.board(dispatcher, page=random.randint(1, pages))
            board_ms.append((time.perf_counter() - t0) * 1000)
            tech = Principal(kind="staff", user_id=random.choice(tech_ids), name="师傅",
                             roles=frozenset({Role.TECHNICIAN}))
            t0 = time.perf_counter()
            await board.mine(tech)
            list_ms.append((time.perf_counter() - t0) * 1000)
        return {
            "tenants": tenants, "orders": orders, "technicians": technicians, "rate_per_s": rate,
            "dispatched": len(latencies), "warm_up_orders": WARM_UP,
            "unassigned": await db.DB.pool.fetchval(
                "SELECT count(*) FROM core.work_order_summary WHERE status = 'unassigned'"),
            "dispatch_p50_ms": round(percentile(latencies, 50), 1) if latencies else None,
            "dispatch_p95_ms": round(percentile(latencies, 95), 1) if latencies else None,
            "dispatch_per_s": round(orders / elapsed, 1),
            "double_assignments": int(double),
            "sla_scan_ms": round(median(scans), 1),
            "board_p95_ms": round(percentile(board_ms, 95), 2),
            "technician_list_p95_ms": round(percentile(list_ms, 95), 2),
            "worker_concurrency": 2,
        }
    finally:
        jobs.use_sender(previous)
        worker.stop()
        await db.close_pool()


def main(base: Settings, tenants: int, orders: int, technicians: int, rate: float = 20.0, progress=None) -> dict:
    return asyncio.run(run(base, tenants, orders, technicians, rate, progress))
