"""A notice batch in a real Celery worker, killed with SIGKILL between a
notice's upload to S3 and its commit, with no mail server:

- the batch page says "interrupted, resuming" and the beat task of a fresh
  worker resumes it within a minute, without anyone pressing Resume (item 17);
- every number taken is issued once or recorded void with the reason (item 18);
- the uploaded object whose row never committed is pending and swept (item 19);
- undelivered e-mails are shown and resent once each; a notice handed to the
  mail server is never sent again by a resume (item 20, item 9)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid

import asyncpg

from documents import pending
from documents.storage import get_storage
from portal.core.roles import Principal, Role
from portal.core.db import DB
from tenants.money import batches, notices_mail, recovery
from tenants.scope import tenant_tx
from tests import factories
from tests.integration.money_support import tenants_in_arrears, archive_storage, free_port, smtp_sink  # noqa: F401 (fixtures)
from tests.integration.test_money_billing_worker import _wait_ready

FINANCE = Principal(kind="staff", user_id=9501, name="财务戊", roles=frozenset({Role.FINANCE}))


def _arrears(n: int):
    return tenants_in_arrears(n, FINANCE, name="崩溃恢复测试{}号有限公司", base_amount=200, due_date="2015-01-10")
GM = Principal(kind="staff", user_id=9502, name="总经理丙", roles=frozenset({Role.GENERAL_MANAGER}))
# Earlier than any other test's arrears (a batch takes every tenant overdue as of its date): it holds only ours.
AS_OF = "2015-02-01"


def _worker(settings, queues: str, name: str, *, beat: bool) -> subprocess.Popen:
    from portal.cli import _env_for

    log = open(os.path.join(settings.data_dir, f"recovery-{name}.log"), "ab")
    cmd = [sys.executable, "-m", "celery", "-A", "tasks.worker", "worker", "--concurrency=2", "--loglevel=INFO",
           "-Q", queues, f"--hostname={name}@%h", "--without-gossip", "--without-mingle"]
    if beat:
        cmd += ["-B", "-s", os.path.join(settings.data_dir, f"beat-{name}")]
    return subprocess.Popen(cmd, env=_env_for(settings), stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)


def _stop(worker: subprocess.Popen) -> None:
    if worker.poll() is None:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)


async def _until(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = await predicate()
        if value:
            return value
        await asyncio.sleep(0.1)
    raise AssertionError(f"{what}: not within {timeout} s")


async def _notices(ref, batch_id: int) -> list[dict]:
    async with tenant_tx(ref.schema) as tx:
        return [dict(r) for r in await tx.connection.fetch(
            "SELECT id, number, email_state, emailed_to FROM notice WHERE batch_id = $1", batch_id)]


async def test_killed_batch_resumes_itself_numbers_objects_and_emails_accounted(
        database, settings, celery_app, client_factory, smtp_sink):
    controller, sink = smtp_sink
    # Other tests leave batches running on purpose (cancel/resume tests): keep this sweep to our batch.
    await DB.pool.execute("UPDATE core.notice_batch SET status = 'cancelled' WHERE status = 'running'")
    await DB.pool.execute("UPDATE core.billing_run SET status = 'done' WHERE status = 'running'")
    refs = await _arrears(5)
    batch_id = await batches.create_batch({"kind": "arrears", "as_of": AS_OF, "min_days": "1", "send_email": "1"},
                                          GM)
    assert await batches.pending_tenants(batch_id) == [r.id for r in refs]
    victim = refs[2]
    no_mail = settings.with_(smtp_host="127.0.0.1", smtp_port=free_port())  # nothing listens there

    # Pause the victim's filing at its start (its batch item row), then again after its upload (the
    # notice number's unique index, taken by an uncommitted row of ours), and kill the worker there.
    item_lock = await asyncpg.connect(settings.database_url)
    number_lock = await asyncpg.connect(settings.database_url)
    await item_lock.execute("BEGIN")
    await item_lock.execute("SELECT 1 FROM core.notice_batch_item WHERE batch_id = $1 AND tenant_id = $2 FOR UPDATE",
                            batch_id, victim.id)
    queue = f"recovery-{uuid.uuid4().hex[:8]}"
    worker = _worker(no_mail, queue, queue, beat=False)
    try:
        _wait_ready(celery_app, worker, queue)
        celery_app.send_task("money.notice_batch", args=[batch_id], queue=queue)
        number = await _until(lambda: DB.pool.fetchval(
            "SELECT number FROM core.notice_number WHERE batch_id = $1 AND tenant_id = $2", batch_id, victim.id),
            120, "the victim's number")
        await number_lock.execute("BEGIN")
        await number_lock.execute(f'INSERT INTO "{victim.schema}".notice (kind, number, title, issue_date, created_by)'
                                  " VALUES ('arrears', $1, 'lock', '2015-02-01', 'test')", number)
        await item_lock.execute("ROLLBACK")
        orphan = await _until(lambda: DB.pool.fetchval(
            "SELECT object_key FROM core.pending_object WHERE tenant_id = $1", victim.id), 60, "the victim's upload")
        await _until(lambda: DB.pool.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
            " AND query LIKE 'INSERT INTO \"notice\" %'"), 60, "the filing waiting on the number")
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
        killed_at = time.monotonic()
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
        await number_lock.execute("ROLLBACK")
        await number_lock.close()
        await item_lock.close()

    # Mid-crash: the victim has no notice and no document, but its object is in S3, recorded as pending.
    storage = get_storage(settings)
    assert await _notices(victim, batch_id) == []
    assert storage.exists(orphan)
    async with tenant_tx(victim.schema) as tx:
        assert not await tx.connection.fetchval("SELECT 1 FROM document_version WHERE object_key = $1", orphan)
    reserved = {r["number"] for r in await DB.pool.fetch(
        "SELECT number FROM core.notice_number WHERE batch_id = $1 AND status = 'reserved'", batch_id)}
    assert number in reserved
    # the earlier tenants were issued; their e-mails failed (no mail server) and wait for a retry
    for ref in refs[:2]:
        [notice] = await _notices(ref, batch_id)
        assert notice["email_state"] == "retrying"

    # The sweep removes the object whose row never committed (its grace period is what the beat waits).
    assert await pending.sweep(storage, grace_minutes=0) >= 1
    assert not storage.exists(orphan)
    assert not await DB.pool.fetchval("SELECT 1 FROM core.pending_object WHERE object_key = $1", orphan)

    # Nobody presses anything: once the heartbeat is stale the page says so ...
    finance = await client_factory()
    person = await factories.staff(["finance"])
    assert (await factories.sign_in(finance, person["username"])).status_code in (302, 303)
    info = await _until(lambda: _stalled(batch_id), recovery.STALE_SECONDS + 10, "stalled")
    assert info["resumable"] and info["status"] == "running"
    page = await finance.get(f"/console/money/notices/{batch_id}")
    assert "已中断，正在恢复" in page.text and f"/console/money/notices/{batch_id}/resume" in page.text
    assert time.monotonic() - killed_at <= recovery.STALE_SECONDS + 10
    # ... and beat resumes it at its next tick: with beat running, within STALE + SWEEP seconds of the kill.
    assert recovery.STALE_SECONDS + recovery.SWEEP_SECONDS <= 60
    fresh = _worker(no_mail, f"{queue},celery", f"{queue}-b", beat=True)
    try:
        _wait_ready(celery_app, fresh, f"{queue}-b")
        beat_started = time.monotonic()
        await _until(lambda: _resumed(batch_id), recovery.SWEEP_SECONDS + 15, "the beat task resuming the batch")
        assert time.monotonic() - beat_started <= recovery.SWEEP_SECONDS + 15
        await _until(lambda: _status_is(batch_id, "done"), 60, "the resumed batch finishing")
        info = await batches.progress(batch_id)
        assert info["resumes"] >= 1 and info["done"] == 5 and not info["stalled"]

        # Each tenant has one notice; every number taken is issued once or void with the reason.
        issued = set()
        for ref in refs:
            [notice] = await _notices(ref, batch_id)
            issued.add(notice["number"])
        register = {r["number"]: (r["status"], r["reason"]) for r in await DB.pool.fetch(
            "SELECT number, status, reason FROM core.notice_number WHERE batch_id = $1", batch_id)}
        assert {n for n, (s, _) in register.items() if s == "issued"} == issued
        voids = {n: reason for n, (s, reason) in register.items() if s == "void"}
        assert number in voids and set(voids.values()) == {"interrupted"}
        assert set(register) == issued | set(voids)
        numbers_page = await finance.get("/console/money/numbers")
        assert number in numbers_page.text and "中断" in numbers_page.text
        clerk = await client_factory()  # MONEY_READ, but only for another building
        person = await factories.staff(["clerk"], [(await factories.building())["id"]])
        assert (await factories.sign_in(clerk, person["username"])).status_code in (302, 303)
        numbers_page = await clerk.get("/console/money/numbers")
        assert numbers_page.status_code == 200 and number not in numbers_page.text
        assert victim.name not in numbers_page.text

        # No mail server: the batch says so (not "0 failed · Done"), and never shows exception text.
        assert info["email_undelivered"] + info["email_retrying"] == 5 and info["emailed"] == 0
        page = await finance.get(f"/console/money/notices/{batch_id}")
        assert "尚未送达，正在重试" in page.text and "重新发送失败的邮件" in page.text
        tab = await finance.get(f"/console/tenants/{refs[0].id}/money")
        assert "尚未送达，正在重试" in tab.text and "Errno" not in tab.text and "ConnectionRefused" not in tab.text

        # The mail server is back: "resend the failed ones" makes them due; each delivery attempt (run here
        # with the mail server's address: any worker of the suite may also try, with another one) sends once.
        _stop(fresh)
        token = await factories.form_token(finance, f"/console/money/notices/{batch_id}")
        response = await finance.post(f"/console/money/notices/{batch_id}/resend", data={"_csrf_token": token})
        assert response.status_code in (302, 303)
        local = settings.with_(smtp_host="127.0.0.1", smtp_port=controller.port)

        async def deliver_due() -> bool:
            for ref in refs:
                [notice] = await _notices(ref, batch_id)
                if notice["email_state"] == "retrying":
                    await notices_mail.deliver(ref, notice["id"], local)
            return await _emailed(batch_id, 5)

        await _until(deliver_due, 60, "the resent e-mails")
        assert len(sink.messages) == 5
        assert len({m.content for m in sink.messages}) == 5
        response = await finance.post(f"/console/money/notices/{batch_id}/resend", data={"_csrf_token": token})
        await asyncio.sleep(2.0)
        assert len(sink.messages) == 5  # delivered ones are never sent again
    finally:
        _stop(fresh)


async def _stalled(batch_id: int):
    info = await batches.progress(batch_id)
    return info if info["stalled"] else None


async def _resumed(batch_id: int) -> bool:
    return (await batches.batch(batch_id))["resumes"] >= 1


async def _status_is(batch_id: int, status: str) -> bool:
    return (await batches.batch(batch_id))["status"] == status


async def _emailed(batch_id: int, n: int) -> bool:
    return (await batches.progress(batch_id))["emailed"] >= n
