"""``portal bench notices --json`` and ``portal bench billing --tenants N --json``.

Scratch databases (``portal_bench_notices``, ``portal_bench_billing``) are
filled once and reused by later runs; each billing run bills a new month.
Jobs run in one real Celery worker (concurrency 2) started here on its own
Redis database and queue; e-mail goes to an aiosmtpd sink on a free port.

Both also measure, in the same run, a reference figure of the same kind of
work that depends only on the machine (``reference_ms``), and print
``ratio`` = measured / reference, so results from different machines compare:

- notices: a plain one-page WeasyPrint render (a heading, paragraphs and a small
  table of CJK text) in the notices' own subset fonts, median of ``REFERENCE_RENDERS``;
- billing: a fixed PostgreSQL loop over the same number of rows as tenants
  billed, one transaction per row (INSERT one row, SELECT it back by key) on one
  connection of the same database.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import socket
import subprocess
import sys
import time
import uuid

from portal.core import db
from portal.core.roles import Principal, Role
from portal.core.settings import Settings
from tenants import migrate
from tenants.registry import service as registry
from tests.benchmarks.common import median, percentile, scratch_settings
from tests.factories import SYSTEM, credit_code

FINANCE = Principal(kind="staff", user_id=1, name="bench-finance", roles=frozenset({Role.FINANCE}))
LETTERS = {"A": "写字楼租赁"}
REDIS_DB = "11"
REFERENCE_RENDERS = 15


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _ensure_database(settings: Settings) -> None:
    from portal.core.db import ensure_database

    await ensure_database(settings)


async def _provision(n: int, jobs: int, progress) -> None:
    have = await db.DB.pool.fetchval("SELECT count(*) FROM core.tenant")
    if have >= n:
        return
    bld = await db.DB.pool.fetchrow("SELECT id FROM core.building WHERE code = 'BM'")
    if bld is None:
        building_id = await db.DB.pool.fetchval(
            "INSERT INTO core.building (code, name, floors) VALUES ('BM', '基准大厦', 40) RETURNING id")
        await db.DB.pool.execute(
            "INSERT INTO core.unit (building_id, floor, code, area_m2)"
            " SELECT $1, g / 100, g::text, 80 + (g % 7) * 10.25 FROM generate_series(1, 10000) g", building_id)
    else:
        building_id = bld["id"]
    units = [r["id"] for r in await db.DB.pool.fetch(
        "SELECT id FROM core.unit WHERE building_id = $1 AND id NOT IN (SELECT unit_id FROM core.tenant_unit)"
        " ORDER BY id", building_id)]
    todo = list(range(have, n))
    queue: asyncio.Queue = asyncio.Queue()
    for i, index in enumerate(todo):
        queue.put_nowait((index, units[i]))

    async def worker():
        while not queue.empty():
            index, unit = queue.get_nowait()
            data = {"name": f"基准企业{index:05d}有限公司", "kind": "E", "level": "0", "status": "active",
                    "business_letter": "A", "credit_code": credit_code(500_000_000 + index), "legal_rep": "王五"}
            contact = {"name": f"联系人{index}", "email": f"c{index}@bench.example", "mobile": f"139{index:08d}",
                       "is_primary": True, "receives_notices": True}
            await registry.create_tenant(data, [contact], [unit], SYSTEM, business_letters=LETTERS)
            if progress and (index + 1) % 500 == 0:
                progress(f"provisioned {index + 1}/{n}")

    await asyncio.gather(*(worker() for _ in range(jobs)))


class Worker:
    """One Celery worker subprocess, concurrency 2, on its own queue."""

    def __init__(self, settings: Settings, concurrency: int = 2):
        from portal.cli import _env_for
        from tasks.celery_app import make_celery

        self.queue = f"bench-{uuid.uuid4().hex[:8]}"
        self.app = make_celery(settings)
        log = open(os.path.join(settings.data_path, f"bench-worker.log"), "ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "tasks.worker", "worker", f"--concurrency={concurrency}",
             "--loglevel=WARNING", "-Q", self.queue, f"--hostname={self.queue}@%h", "--without-gossip",
             "--without-mingle"], env=_env_for(settings), stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.app.control.ping(destination=[f"{self.queue}@{os.uname().nodename}"], timeout=0.5):
                return
        raise RuntimeError("bench worker did not start")

    def send(self, task, *args) -> None:
        """Send ``task`` (the task object of tasks/money.py) to this worker's queue."""
        self.app.send_task(task.name, args=list(args), queue=self.queue)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()


def _settings(base: Settings, name: str) -> Settings:
    settings = scratch_settings(base, name)
    redis = settings.redis_url.rsplit("/", 1)[0] + "/" + REDIS_DB
    return settings.with_(redis_url=redis)


async def _wait(sql: str, arg, want: str, timeout: float = 900) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if await db.DB.pool.fetchval(sql, arg) == want:
            return
        await asyncio.sleep(0.1)
    raise RuntimeError("timed out")


def _reference_html(font_urls: dict[str, str] | None) -> str:
    faces = "".join(f'@font-face {{ font-family: "Money Sans"; src: url({url}); font-weight: {700 if k == "bold" else 400}; }}'
                    for k, url in (font_urls or {}).items())
    rows = "".join(f"<tr><td>2025-0{m}-10</td><td>物业管理费 2025-0{m}</td><td>12,345.6{m}</td></tr>" for m in range(1, 7))
    text = "本通知书所列款项为截至通知日期的应收未收金额，请于七日内缴清。如已缴纳，请忽略本通知。" * 3
    return (f"<html><head><style>{faces} @page {{ size: A4; margin: 20mm; }}"
            " body { font-family: 'Money Sans', sans-serif; font-size: 11pt; }"
            " table { border-collapse: collapse; width: 100%; } td { border: 1px solid #999; padding: 2pt 4pt; }"
            f"</style></head><body><h1>催缴通知书</h1><p>{text}</p><table>{rows}</table><p>{text}</p>"
            "</body></html>")


def notice_reference_ms(settings: Settings, renders: int = REFERENCE_RENDERS) -> float:
    """A plain one-page WeasyPrint render in the notices' fonts (median ms; one warm-up first)."""
    from weasyprint import HTML

    from documents.pdf import font_config
    from tenants.money.fonts import subset_fonts

    fonts = subset_fonts(settings.data_path)
    html = _reference_html({k: p.as_uri() for k, p in fonts.items()} if fonts else None)
    config = font_config()
    times = []
    for _ in range(renders + 1):
        started = time.perf_counter()
        HTML(string=html).write_pdf(font_config=config)
        times.append((time.perf_counter() - started) * 1000)
    return median(times[1:])


async def billing_reference_ms(rows: int) -> float:
    """``rows`` transactions of INSERT + SELECT by key on one connection (ms, the loop's total)."""
    async with db.DB.pool.acquire() as conn:
        await conn.execute("CREATE TEMP TABLE IF NOT EXISTS bench_reference"
                           " (n int PRIMARY KEY, fen bigint NOT NULL, note text NOT NULL)")
        await conn.execute("TRUNCATE pg_temp.bench_reference")
        started = time.perf_counter()
        for n in range(rows):
            async with conn.transaction():
                await conn.execute("INSERT INTO pg_temp.bench_reference (n, fen, note) VALUES ($1, $2, $3)",
                                   n, n * 100, f"物业管理费 {n}")
                await conn.fetchval("SELECT fen FROM pg_temp.bench_reference WHERE n = $1", n)
        elapsed = (time.perf_counter() - started) * 1000
        await conn.execute("DROP TABLE pg_temp.bench_reference")
    return elapsed


async def billing(base: Settings, tenants: int, runs: int = 3, progress=None) -> dict:
    from tasks import money as money_tasks
    from tenants.money import billing as money_billing

    settings = _settings(base, "portal_bench_billing")
    await _ensure_database(settings)
    await db.open_pool(settings, max_size=4)
    try:
        await migrate.migrate_all(jobs=2)
        await _provision(tenants, 3, progress)
        worker = Worker(settings)
        try:
            times = []
            first = await db.DB.pool.fetchval("SELECT coalesce(max(period), '2090-01-01') FROM core.billing_run")
            for i in range(runs):
                period = (first + dt.timedelta(days=40 * (i + 1))).replace(day=1)
                started = time.perf_counter()
                run_id = await money_billing.start_run(period, FINANCE)
                worker.send(money_tasks.billing_run, run_id)
                await _wait("SELECT status FROM core.billing_run WHERE id = $1", run_id, "done")
                times.append(time.perf_counter() - started)
                info = await money_billing.run_progress(run_id)
                if progress:
                    progress(f"run {period:%Y-%m}: {times[-1]:.1f}s, {info['done']} billed, {info['failed']} failed")
        finally:
            worker.stop()
        billed = info["done"] + info["failed"]
        reference = await billing_reference_ms(billed)
        return {"tenants": tenants, "billing_run_s": round(median(times), 2),
                "billing_run_s_all": [round(t, 2) for t in times], "worker_concurrency": 2,
                "reference": f"{billed} transactions of INSERT + SELECT by key, one connection",
                "reference_ms": round(reference, 1),
                "ratio": round(median(times) * 1000 / reference, 2) if reference else None}
    finally:
        await db.close_pool()


async def notices(base: Settings, tenants: int = 1000, singles: int = 40, progress=None) -> dict:
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Sink

    from documents.storage import get_storage
    from portal.core.s3 import ensure_bucket
    from tasks import money as money_tasks
    from tenants.money import batches, billing as money_billing
    from tenants.money import notices_issue

    port = _free_port()
    smtp = Controller(Sink(), hostname="127.0.0.1", port=port)
    smtp.start()
    settings = _settings(base, "portal_bench_notices").with_(smtp_host="127.0.0.1", smtp_port=port)
    ensure_bucket(settings)
    get_storage(settings)
    from tenants.money.fonts import subset_fonts
    from tenants.money.seal import seal_path

    subset_fonts(settings.data_path)  # made once per data dir, before timing
    seal_path(settings.data_path, settings.office_name)
    await _ensure_database(settings)
    await db.open_pool(settings, max_size=4)
    try:
        await migrate.migrate_all(jobs=2)
        await _provision(tenants, 3, progress)
        period = dt.date(2025, 1, 1)
        run_id = await money_billing.start_run(period, FINANCE)
        await money_billing.bill_many(run_id, await money_billing.pending_tenants(run_id))
        as_of = dt.date(2025, 3, 1)
        ids = [r["id"] for r in await db.DB.pool.fetch("SELECT id FROM core.tenant ORDER BY id LIMIT $1", singles)]
        timings = []
        for tenant_id in ids:
            ref = await registry.get_ref(tenant_id)
            started = time.perf_counter()
            await notices_issue.issue(ref, "arrears", settings, actor=FINANCE, as_of=as_of, send_email=True)
            timings.append((time.perf_counter() - started) * 1000)
        worker = Worker(settings)
        try:
            batch_s = []
            for _ in range(1):
                gm = Principal(kind="staff", user_id=2, name="bench-gm", roles=frozenset({Role.GENERAL_MANAGER}))
                batch_id = await batches.create_batch(
                    {"kind": "arrears", "as_of": as_of.isoformat(), "min_days": "1", "send_email": "1"}, gm)
                total = (await batches.progress(batch_id))["total"]
                started = time.perf_counter()
                worker.send(money_tasks.notice_batch, batch_id)
                await _wait("SELECT status FROM core.notice_batch WHERE id = $1", batch_id, "done")
                batch_s.append(time.perf_counter() - started)
                info = await batches.progress(batch_id)
                if progress:
                    progress(f"batch of {total}: {batch_s[-1]:.1f}s, done {info['done']}, failed {info['failed']}")
        finally:
            worker.stop()
        cores = os.cpu_count() or 1
        reference = notice_reference_ms(settings)
        single = percentile(timings, 50)
        return {
            "single_notice_ms_p50": round(percentile(timings, 50), 1),
            "single_notice_ms_p95": round(percentile(timings, 95), 1),
            "batch_size": total, "batch_1000_s": round(batch_s[0] * 1000 / max(total, 1), 2),
            "batch_measured_s": round(batch_s[0], 2),
            "notices_per_s_per_core": round(total / batch_s[0] / cores, 2), "cores": cores,
            "worker_concurrency": 2,
            "reference": "one-page WeasyPrint render, same fonts", "reference_ms": round(reference, 1),
            "ratio": round(single / reference, 2) if reference else None,
            "batch_ratio": round(batch_s[0] * 1000 / max(total, 1) / reference, 2) if reference else None,
        }
    finally:
        await db.close_pool()
        smtp.stop()


def main_notices(base: Settings, tenants: int = 1000, singles: int = 40, progress=None) -> dict:
    return asyncio.run(notices(base, tenants=tenants, singles=singles, progress=progress))


def main_billing(base: Settings, tenants: int, progress=None) -> dict:
    return asyncio.run(billing(base, tenants, progress=progress))
