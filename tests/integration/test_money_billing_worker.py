"""The monthly billing run in a real Celery worker: killed with SIGKILL
mid-run, it leaves no half-billed tenant; a rerun bills the rest, never twice."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import subprocess
import sys
import time
import uuid
from decimal import ROUND_HALF_UP, Decimal

import asyncpg
import pytest

from portal.core.roles import Principal, Role
from portal.core.db import DB
from tenants.money import billing
from tests import factories

FINANCE = Principal(kind="staff", user_id=9101, name="财务", roles=frozenset({Role.FINANCE}))


def _start_worker(settings, queue: str) -> subprocess.Popen:
    from portal.cli import _env_for

    log = open(os.path.join(settings.data_dir, f"money-worker-{queue}.log"), "ab")
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "tasks.worker", "worker", "--concurrency=2", "--loglevel=INFO",
         "-Q", queue, f"--hostname={queue}@%h", "--without-gossip", "--without-mingle"],
        env=_env_for(settings), stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def _wait_ready(app, process, name: str) -> None:
    deadline = time.time() + 60
    while time.time() < deadline:
        assert process.poll() is None, "the worker exited during start-up"
        replies = app.control.ping(destination=[f"{name}@{os.uname().nodename}"], timeout=0.5)
        if replies:
            return
    raise AssertionError("worker did not start")


def _expected_fen(area: Decimal, parking_qty: Decimal) -> int:
    def fen(x: Decimal) -> int:
        return int((x).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP) * 100)
    return (fen(area * Decimal("8.5")) if area > 0 else 0) + (fen(parking_qty * 600) if parking_qty > 0 else 0)


async def _expected(tenant_ids: list[int]) -> dict[int, int]:
    out = {}
    for tid in tenant_ids:
        row = await DB.pool.fetchrow(
            "SELECT t.schema_name, coalesce((SELECT sum(u.area_m2) FROM core.tenant_unit tu JOIN core.unit u"
            " ON u.id = tu.unit_id WHERE tu.tenant_id = t.id), 0) AS area FROM core.tenant t WHERE t.id = $1", tid)
        async with DB.transaction() as tx:
            await tx.connection.execute("SELECT set_config('search_path', $1, true)", row["schema_name"])
            qty = await tx.connection.fetchval(
                "SELECT coalesce(sum(quantity), 0) FROM fee_subscription WHERE active AND fee_item = 'parking'")
        out[tid] = _expected_fen(row["area"], qty)
    return out


async def _billed(tenant_ids: list[int], period: dt.date) -> dict[int, tuple[int, int]]:
    """(charges, fen) per tenant for the period, read in each schema."""
    out = {}
    for tid in tenant_ids:
        schema = await DB.pool.fetchval("SELECT schema_name FROM core.tenant WHERE id = $1", tid)
        async with DB.transaction() as tx:
            await tx.connection.execute("SELECT set_config('search_path', $1, true)", schema)
            row = await tx.connection.fetchrow(
                "SELECT count(*)::int AS n, coalesce(sum(amount_fen), 0)::bigint AS fen FROM charge"
                " WHERE period = $1 AND kind = 'billing'", period)
        out[tid] = (row["n"], row["fen"])
    return out


async def test_killed_worker_leaves_no_half_billed_tenant_and_rerun_finishes(database, settings, celery_app):
    bld = await factories.building(units=8)
    mine = [await factories.tenant(bld) for _ in range(12)]
    period = dt.date(2040 + int(uuid.uuid4().int % 50), 1 + int(uuid.uuid4().int % 12), 1)
    await DB.pool.execute("DELETE FROM core.billing_run_item WHERE run_id IN"
                          " (SELECT id FROM core.billing_run WHERE period = $1)", period)
    await DB.pool.execute("DELETE FROM core.billing_run WHERE period = $1", period)
    run_id = await billing.start_run(period, FINANCE)
    pending = await billing.pending_tenants(run_id)
    assert set(mine) <= set(pending)
    expected = await _expected(pending)
    # Block one tenant's transaction AFTER it has written its charges: hold the
    # lock on its core due-date row, which the summary rewrite must update.
    blocked = pending[min(9, len(pending) - 1)]
    from tenants.money import charges
    from tenants.registry import service as registry

    await charges.add_manual_charge(await registry.get_ref(blocked), {
         "fee_item": "other", "amount": "1", "due_date": period.replace(day=10).isoformat(), "reason": "test lock"},
         FINANCE)
    holder = await asyncpg.connect(settings.database_url)
    await holder.execute("BEGIN")
    await holder.execute("SELECT 1 FROM core.tenant_money_due WHERE tenant_id = $1 FOR UPDATE", blocked)

    queue = f"money-kill-{uuid.uuid4().hex[:8]}"
    worker = _start_worker(settings, queue)
    try:
        _wait_ready(celery_app, worker, queue)
        celery_app.send_task("money.billing_run", args=[run_id], queue=queue)
        # wait until the blocked tenant's transaction waits on our lock and the others are done
        deadline = time.time() + 120
        while time.time() < deadline:
            waiting = await DB.pool.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND wait_event_type = 'Lock' AND application_name = 'tenant-archive'")
            done = await DB.pool.fetchval(
                "SELECT count(*) FROM core.billing_run_item WHERE run_id = $1 AND status = 'done'", run_id)
            if waiting and done >= 1:
                await asyncio.sleep(1.0)
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("the run never reached the blocked tenant")
        # the blocked transaction has inserted its charges (uncommitted): kill the worker now
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
        await holder.execute("ROLLBACK")
        await holder.close()

    # Mid-run state: every tenant billed completely or not at all, matching its item.
    items = {r["tenant_id"]: r["status"] for r in await DB.pool.fetch(
        "SELECT tenant_id, status FROM core.billing_run_item WHERE run_id = $1", run_id)}
    billed = await _billed(pending, period)
    assert items[blocked] == "pending" and billed[blocked] == (0, 0)
    assert "pending" in items.values() and "done" in items.values()
    for tid, status in items.items():
        if status == "done":
            assert billed[tid][1] == expected[tid], tid
        else:
            assert billed[tid] == (0, 0), tid

    # Rerun with a fresh worker: it finishes the rest and doubles nothing.
    await billing.start_run(period, FINANCE)
    worker = _start_worker(settings, queue)
    try:
        _wait_ready(celery_app, worker, queue)
        celery_app.send_task("money.billing_run", args=[run_id], queue=queue)
        deadline = time.time() + 120
        while time.time() < deadline:
            if await DB.pool.fetchval("SELECT status FROM core.billing_run WHERE id = $1", run_id) == "done":
                break
            await asyncio.sleep(0.2)
        else:
            raise AssertionError("the rerun did not finish")
        celery_app.send_task("money.billing_run", args=[run_id], queue=queue)  # a third time: nothing to do
        await asyncio.sleep(1.0)
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
    billed = await _billed(pending, period)
    assert {tid: fen for tid, (_, fen) in billed.items()} == expected
    assert all(n <= 2 for n, _ in billed.values())
    core_total = await DB.pool.fetchval(
        "SELECT sum(billed_fen) FROM core.billing_run_item WHERE run_id = $1 AND status = 'done'", run_id)
    assert core_total == sum(expected.values())
    assert await DB.pool.fetchval(
        "SELECT count(*) FROM core.billing_run_item WHERE run_id = $1 AND status <> 'done'", run_id) == 0
