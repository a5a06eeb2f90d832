"""Migrations for ``core`` and for every tenant schema.

Piccolo's own runner keeps a single ``migration`` table found through the
search_path, so it cannot track thousands of schemas. Here each tenant schema
holds its own ``_migration`` record, each schema migrates in its own
transaction under an advisory lock, a failure stays with its tenant (recorded
in ``core.tenant.migration_error`` and retried next run), and
``core.tenant.schema_version`` makes a run with nothing to do a single query.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable

import migrations
from portal.core.db import DB, set_fail_closed_default
from tenants.scope import check_schema, tenant_tx

# pg_advisory_xact_lock(namespace, tenant id): one lock per schema.
LOCK_NAMESPACE = 4242
CORE_LOCK = (4242, 0)


@dataclass
class MigrationReport:
    core_applied: list[int] = field(default_factory=list)
    tenants_total: int = 0
    tenants_migrated: int = 0
    failures: dict[int, str] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failures

    def as_dict(self) -> dict:
        return {
            "core_applied": self.core_applied,
            "tenants_pending": self.tenants_total,
            "tenants_migrated": self.tenants_migrated,
            "failures": {str(k): v for k, v in self.failures.items()},
            "seconds": round(self.seconds, 3),
        }


async def migrate_core() -> list[int]:
    """Apply pending core migrations in one transaction. Returns versions applied."""
    applied: list[int] = []
    async with DB.transaction() as tx:
        conn = tx.connection
        await conn.execute("SELECT pg_advisory_xact_lock($1, $2)", *CORE_LOCK)
        await set_fail_closed_default(conn)
        exists = await conn.fetchval("SELECT to_regclass('core.migration_record') IS NOT NULL")
        done = set()
        if exists:
            done = {r["version"] for r in await conn.fetch("SELECT version FROM core.migration_record")}
        for migration in migrations.load("core"):
            if migration.version in done:
                continue
            await migration.apply(conn)
            await conn.execute(
                "INSERT INTO core.migration_record (version, name) VALUES ($1, $2)",
                migration.version,
                migration.name,
            )
            applied.append(migration.version)
    return applied


async def migrate_schema(tenant_id: int, schema: str) -> list[int]:
    """Bring one tenant schema to the latest version, atomically."""
    check_schema(schema)
    target = migrations.latest("tenant")
    async with tenant_tx(schema) as tx:
        conn = tx.connection
        await conn.execute("SELECT pg_advisory_xact_lock($1, $2)", LOCK_NAMESPACE, tenant_id)
        # Every schema has its _migration table: provisioning creates it first.
        done = {r["version"] for r in await conn.fetch("SELECT version FROM _migration")}
        pending = [m for m in migrations.load("tenant") if m.version not in done]
        for migration in pending:
            await migration.apply(conn)
        # Record the versions and the registry's copy in one round trip.
        await conn.execute(
            "WITH recorded AS (INSERT INTO _migration (version, name) SELECT * FROM unnest($1::int[], $2::text[]))"
            " UPDATE core.tenant SET schema_version = $3, migration_error = NULL WHERE id = $4",
            [m.version for m in pending], [m.name for m in pending], target, tenant_id,
        )
        applied = [m.version for m in pending]
    return applied


async def _record_failure(tenant_id: int, error: str) -> None:
    async with DB.transaction() as tx:
        await tx.connection.execute(
            "UPDATE core.tenant SET migration_error = $2 WHERE id = $1", tenant_id, error[:2000]
        )


async def pending_tenants() -> list[tuple[int, str]]:
    target = migrations.latest("tenant")
    rows = await DB.pool.fetch(
        "SELECT id, schema_name FROM core.tenant WHERE schema_version < $1 AND status <> 'destroyed' ORDER BY id", target
    )
    return [(r["id"], r["schema_name"]) for r in rows]


async def migrate_all(
    jobs: int = 2, progress: Callable[[int, int, int], None] | None = None
) -> MigrationReport:
    """Migrate core, then every tenant schema behind the latest version."""
    started = time.perf_counter()
    report = MigrationReport()
    report.core_applied = await migrate_core()
    todo = await pending_tenants()
    report.tenants_total = len(todo)
    queue: asyncio.Queue = asyncio.Queue()
    for item in todo:
        queue.put_nowait(item)

    async def worker() -> None:
        while True:
            try:
                tenant_id, schema = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            try:
                await migrate_schema(tenant_id, schema)
                report.tenants_migrated += 1
            except Exception as exc:  # one broken schema must not stop the others
                report.failures[tenant_id] = f"{type(exc).__name__}: {exc}"
                await _record_failure(tenant_id, report.failures[tenant_id])
            if progress:
                progress(report.tenants_migrated, len(report.failures), report.tenants_total)

    await asyncio.gather(*(worker() for _ in range(max(1, jobs))))
    report.seconds = time.perf_counter() - started
    return report


@lru_cache(maxsize=1)
def tenant_ddl() -> str:
    """The whole tenant schema at the latest version, as one script."""
    return "\n".join(m.sql for m in migrations.load("tenant"))


async def create_schema(conn, schema: str) -> None:
    """``CREATE SCHEMA`` for a new tenant (DDL; the name passes the pattern check)."""
    await conn.execute(f'CREATE SCHEMA "{check_schema(schema)}"')


async def build_latest_schema(conn) -> None:
    """Create every tenant table inside the current (already scoped) transaction."""
    loaded = migrations.load("tenant")
    if any(m.forwards for m in loaded):
        for m in loaded:
            await m.apply(conn)
    else:
        await conn.execute(tenant_ddl())
    await conn.executemany(
        "INSERT INTO _migration (version, name) VALUES ($1, $2)", [(m.version, m.name) for m in loaded]
    )

