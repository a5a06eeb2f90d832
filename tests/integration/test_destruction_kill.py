"""The purge in a real Celery worker, killed with SIGKILL twice: while the
crypto-erase waits (after freeze and inventory) and while dropping the schema
waits (after the objects are gone). Each redelivery finishes the job without
repeating a finished step, and nothing of the file is left."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
import uuid

import asyncpg

from portal.core.db import DB
from tenants.destruction import purge, service
from tests.integration.destruction_support import approved, bench, start, tenant_with_everything  # noqa: F401
from tests.integration.docs_support import object_count
from tests.integration.test_money_billing_worker import _wait_ready
from tests.integration.test_money_recovery_kill import _worker


async def _until(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = await predicate()
        if value:
            return value
        await asyncio.sleep(0.1)
    raise AssertionError(f"{what}: not within {timeout} s")


async def _job(request_id: int):
    return await DB.pool.fetchrow("SELECT * FROM core.purge_job WHERE request_id = $1", request_id)


async def _waiting_on(fragment: str) -> bool:
    return bool(await DB.pool.fetchval("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                                       " AND query ILIKE $1", f"%{fragment}%"))


async def _run_and_kill(settings, celery_app, tenant_id: int, request_id: int, lock_sql: str, waits_on: str,
                        done_before: list[str]) -> None:
    blocker = await asyncpg.connect(settings.database_url)
    await blocker.execute("BEGIN")
    await blocker.execute(lock_sql)
    queue = f"purge-{uuid.uuid4().hex[:8]}"
    worker = _worker(settings, queue, queue, beat=False)
    try:
        _wait_ready(celery_app, worker, queue)
        celery_app.send_task("destruction.purge", args=[tenant_id, request_id], queue=queue)
        await _until(lambda: _waiting_on(waits_on), 120, f"the purge waiting on {waits_on}")
        assert list((await _job(request_id))["done_steps"]) == done_before
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
        await blocker.execute("ROLLBACK")
        await blocker.close()


async def test_killed_purge_resumes_without_repeating_a_step(settings, celery_app, bench):
    p = bench["p"]
    t = await tenant_with_everything(bench["client"], bench["bld"], marker="kill")
    request_id = await approved(t["id"], p)
    await start(request_id)
    assert request_id in await service.start_due(send=False)
    objects = await object_count(settings, t["id"])
    assert objects >= 3

    # 1. Killed while the crypto-erase waits for the key row: freeze and inventory are done.
    await _run_and_kill(settings, celery_app, t["id"], request_id,
                        f"SELECT 1 FROM core.tenant_key WHERE tenant_id = {t['id']} FOR UPDATE", "tenant_key",
                        ["freeze", "inventory"])
    assert await DB.pool.fetchval("SELECT wrapped_key IS NOT NULL FROM core.tenant_key WHERE tenant_id = $1", t["id"])
    assert await object_count(settings, t["id"]) == objects
    assert await DB.pool.fetchval("SELECT status FROM core.tenant WHERE id = $1", t["id"]) == "destroying"
    assert not await DB.pool.fetchval("SELECT bool_or(active) FROM core.portal_user WHERE tenant_id = $1", t["id"])

    # 2. Redelivered, killed again while dropping the schema waits: the objects are gone by then.
    await _run_and_kill(settings, celery_app, t["id"], request_id,
                        f"LOCK TABLE {t['ref'].schema}.profile IN ACCESS SHARE MODE", "DROP SCHEMA",
                        ["freeze", "inventory", "crypto_erase", "delete_objects"])
    assert await object_count(settings, t["id"]) == 0
    assert await DB.pool.fetchval("SELECT 1 FROM pg_namespace WHERE nspname = $1", t["ref"].schema)

    # 3. Redelivered to a fresh worker: it finishes, each finished step ran once.
    queue = f"purge-{uuid.uuid4().hex[:8]}"
    worker = _worker(settings, queue, queue, beat=False)
    try:
        _wait_ready(celery_app, worker, queue)
        celery_app.send_task("destruction.purge", args=[t["id"], request_id], queue=queue)
        await _until(lambda: DB.pool.fetchval("SELECT status = 'done' FROM core.purge_job WHERE request_id = $1",
                                              request_id), 180, "the resumed purge finishing")
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGTERM)
            worker.wait(timeout=20)
    job = await _job(request_id)
    assert list(job["done_steps"]) == list(purge.FILE_STEPS)
    runs = json.loads(job["runs"])
    assert runs["freeze"] == runs["inventory"] == 1 and runs["delete_objects"] == 1
    assert runs["crypto_erase"] == 2 and runs["drop_schema"] == 2  # the killed attempts, never committed
    assert all(runs[s] == 1 for s in purge.FILE_STEPS[5:])
    assert await purge.what_is_left(t["id"]) == {}
    assert (await purge.verify_archive_no(t["ref"].archive_no))["left"] == {}
    assert await DB.pool.fetchval("SELECT status FROM core.destruction_request WHERE id = $1", request_id) == "destroyed"

    # The command re-checks it at any time: nothing left, exit code 0; an unknown number, 2.
    import subprocess
    import sys

    from portal.cli import _env_for

    def command(number: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-c", "from portal.cli import main; main()", "purge", "verify",
                               "--tenant", number], env=_env_for(settings), capture_output=True, text=True, timeout=60)

    done = command(t["ref"].archive_no)
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout)["left"] == {}
    assert command("NO-SUCH-NUMBER").returncode == 2
