"""``portal bench tenancy --tenants N --json``: provisioning, migrations over all
schemas, the tenant file read and the staff list, at N tenants, in a scratch
database (``portal_bench``)."""

from __future__ import annotations

import asyncio
import random
import time

import migrations
from migrations import Migration
from portal.core import db
from portal.core.roles import Principal, Role
from portal.core.settings import Settings
from tenants import migrate
from tenants.file import service as file_service
from tenants.registry import service as registry
from tests.benchmarks.common import median, percentile, recreate_database, rss_mb, scratch_settings
from tests.factories import SYSTEM, credit_code

LETTERS = {"A": "写字楼租赁", "B": "商铺租赁"}


async def _make_buildings() -> list[dict]:
    buildings = []
    for b in range(3):
        building_id = await db.DB.pool.fetchval(
            "INSERT INTO core.building (code, name, floors) VALUES ($1, $2, 30) RETURNING id", f"B{b}", f"大厦{b}")
        unit_ids = [r["id"] for r in await db.DB.pool.fetch(
            "INSERT INTO core.unit (building_id, floor, code, area_m2)"
            " SELECT $1, g / 100, g::text, 100 FROM generate_series(1, 3000) g RETURNING id", building_id)]
        buildings.append({"id": building_id, "unit_ids": unit_ids})
    return buildings


async def _provision(n: int, buildings: list[dict], progress) -> list[float]:
    timings = []
    for i in range(n):
        bld = buildings[i % len(buildings)]
        data = {"name": f"基准测试企业{i:05d}有限公司", "kind": "E", "level": str(i % 4), "status": "active",
                "business_letter": "A", "credit_code": credit_code(), "legal_rep": "王五"}
        contact = {"name": f"联系人{i}", "mobile": f"139{i:08d}", "email": f"c{i}@bench.example",
                   "is_primary": True}
        started = time.perf_counter()
        await registry.create_tenant(data, [contact], [bld["unit_ids"][i // len(buildings)]], SYSTEM,
                                     business_letters=LETTERS)
        timings.append((time.perf_counter() - started) * 1000)
        if progress and (i + 1) % 500 == 0:
            progress(f"provisioned {i + 1}/{n}")
    return timings


async def run(base: Settings, tenants: int, reads: int = 2000, jobs: int = 2, progress=None) -> dict:
    settings = scratch_settings(base, "portal_bench")
    await recreate_database(settings)
    await db.open_pool(settings, max_size=jobs + 2)
    try:
        await migrate.migrate_all()
        buildings = await _make_buildings()
        provision = await _provision(tenants, buildings, progress)

        # A real added column on every tenant schema, written the recommended
        # additive way (nullable, default for new rows only); then the same with
        # NOT NULL DEFAULT, which costs PostgreSQL a scan of pg_class per schema.
        real = migrations.load("tenant")
        extra = (
            Migration(version=real[-1].version + 1, name="bench: add column",
                      sql="ALTER TABLE profile ADD COLUMN bench_note text;"
                          " ALTER TABLE profile ALTER COLUMN bench_note SET DEFAULT '';"),
            Migration(version=real[-1].version + 2, name="bench: add column with default",
                      sql="ALTER TABLE profile ADD COLUMN bench_flag boolean NOT NULL DEFAULT false;"),
        )
        original = migrations.load
        try:
            seconds = []
            for step in range(1, 3):
                migrations.load = lambda kind, n=step: real + extra[:n] if kind == "tenant" else original(kind)
                report = await migrate.migrate_all(jobs=jobs)
                assert report.ok and report.tenants_migrated == tenants, report.as_dict()
                seconds.append(report.seconds)
            migrate_all_s, migrate_all_default_s = seconds
            noop = []
            for _ in range(3):
                started = time.perf_counter()
                again = await migrate.migrate_all(jobs=jobs)
                noop.append(time.perf_counter() - started)
                assert again.tenants_total == 0
        finally:
            migrations.load = original

        ids = [r["id"] for r in await db.DB.pool.fetch("SELECT id FROM core.tenant")]
        reader = Principal(kind="staff", user_id=0, name="bench", roles=frozenset({Role.GENERAL_MANAGER}))
        read_ms = []
        for _ in range(reads):
            ref = await registry.ref_for_staff(reader, random.choice(ids))
            started = time.perf_counter()
            await file_service.read_file(ref, reader, audit_view=False)
            read_ms.append((time.perf_counter() - started) * 1000)

        clerk = Principal(kind="staff", user_id=0, name="bench-clerk", roles=frozenset({Role.CLERK}),
                          building_ids=frozenset({buildings[0]["id"], buildings[1]["id"]}))
        list_ms = []
        pages = max(1, tenants // 3 // 50)
        for _ in range(max(200, reads // 4)):
            started = time.perf_counter()
            await registry.list_tenants(clerk, building_id=buildings[random.randrange(2)]["id"],
                                        page=random.randint(1, pages), per_page=50)
            list_ms.append((time.perf_counter() - started) * 1000)
        return {
            "tenants": tenants,
            "provision_ms_per_tenant": round(median(provision), 2),
            "provision_ms_p95": round(percentile(provision, 95), 2),
            "migrate_all_s": round(migrate_all_s, 2),
            "migrate_all_not_null_default_s": round(migrate_all_default_s, 2),
            "migrate_jobs": jobs,
            "noop_migrate_s": round(median(noop), 4),
            "tenant_read_p95_ms": round(percentile(read_ms, 95), 2),
            "tenant_read_p50_ms": round(median(read_ms), 2),
            "staff_list_p95_ms": round(percentile(list_ms, 95), 2),
            "web_rss_mb": round(rss_mb(), 1),
        }
    finally:
        await db.close_pool()


def main(base: Settings, tenants: int, jobs: int, progress=None) -> dict:
    return asyncio.run(run(base, tenants, jobs=jobs, progress=progress))
