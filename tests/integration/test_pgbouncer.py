"""Tenancy through PgBouncer in transaction mode (deploy/SCALING.md): a few
server connections shared by many clients. SET LOCAL scoping, the fail-closed
default path, the pool's reset and ``portal migrate`` must all hold there."""

from __future__ import annotations

import subprocess
import sys

import asyncpg
import pytest

from portal.core import db
from portal.cli import _env_for
from tenants.file.tables import Profile
from tests import factories
from tests import pgbouncer as bouncer
from tests.integration.test_tenancy import interleave_canaries
from tenants.registry import service as registry

LOCK_KEY = (4299, 7)


async def test_interleaved_tenants_never_cross_through_pgbouncer(through_pgbouncer):
    # 20 pooled clients, 2 server connections, 30 tenants: every server
    # connection serves many tenants in turn.
    await interleave_canaries(tenants=30, requests=1500)


async def test_fail_closed_default_holds_through_pgbouncer(through_pgbouncer):
    # PgBouncer drops the search_path startup parameter; the database default holds.
    with pytest.raises(asyncpg.UndefinedTableError):
        await Profile.select().first()
    with pytest.raises(asyncpg.UndefinedTableError):
        await db.DB.pool.fetch("SELECT * FROM contact")
    for _ in range(10):
        assert await db.DB.pool.fetchval("SHOW search_path") == "pg_catalog"


async def test_session_set_would_leak_and_set_local_does_not(database, settings):
    """What the canary test guards against, shown on one server connection."""
    ref = await registry.get_ref(await factories.tenant(await factories.building()))
    running = bouncer.start(settings.database_url, pool_size=1)
    url = running.url_for(settings.database_url)
    clients = []
    try:
        first, second = clients = [await asyncpg.connect(url, statement_cache_size=0) for _ in range(2)]
        async with first.transaction():
            await first.execute("SELECT set_config('search_path', $1, true)", ref.schema)
        assert await second.fetchval("SHOW search_path") == "pg_catalog"
        await first.execute(f"SET search_path = {ref.schema}")  # what the code never does
        assert await second.fetchval("SHOW search_path") == ref.schema
    finally:
        for client in clients:
            await client.close()
        running.stop()  # closes the polluted server connection


async def test_pool_reset_keeps_other_clients_advisory_locks(database, settings):
    """asyncpg's default reset (pg_advisory_unlock_all) would release a lock
    another client holds on the shared server connection."""
    running = bouncer.start(settings.database_url, pool_size=1)
    url = running.url_for(settings.database_url)
    held = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = $1 AND objid = $2 AND granted"
    holder = pool = watcher = None
    try:
        holder = await asyncpg.connect(url, statement_cache_size=0)
        pool = await asyncpg.create_pool(**db.connect_kwargs(settings.with_(database_url=url)), **db.pool_options(2))
        watcher = await asyncpg.connect(settings.database_url)
        await holder.execute("SELECT pg_advisory_lock($1, $2)", *LOCK_KEY)
        assert await watcher.fetchval(held, *LOCK_KEY) == 1
        for _ in range(5):
            async with pool.acquire() as conn:
                await conn.fetchval("SELECT 1")
        assert await watcher.fetchval(held, *LOCK_KEY) == 1
    finally:
        for resource in (pool, holder, watcher):
            if resource is not None:
                await resource.close()
        running.stop()


def test_portal_migrate_runs_through_pgbouncer(through_pgbouncer):
    # The bouncer serves only the portal's database (no "postgres" maintenance db).
    result = subprocess.run([sys.executable, "-m", "portal.cli", "migrate"], env=_env_for(through_pgbouncer),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert '"failures": {}' in result.stdout
