"""Tenancy invariants (DESIGN.md section 5): one way in, fail closed, generated
names, atomic provisioning, isolation under concurrency."""

from __future__ import annotations

import asyncio
import random

import asyncpg
import pytest

from portal.core.db import DB
from portal.core.errors import FormErrors
from tenants.file.tables import Contact, Profile
from tenants.registry import service as registry
from tenants.scope import TenantScopeError, check_schema, schema_for, tenant_tx
from tests import factories


async def test_unscoped_tenant_query_raises(database):
    # Outside tenant_tx the search_path reaches no tenant table.
    with pytest.raises(asyncpg.UndefinedTableError):
        await Profile.select().first()
    with pytest.raises(asyncpg.UndefinedTableError):
        await DB.pool.fetch("SELECT * FROM contact")


async def test_plain_transaction_is_not_scoped_either(database):
    with pytest.raises(asyncpg.UndefinedTableError):
        async with DB.transaction():
            await Contact.select().first()


@pytest.mark.parametrize("bad", ["public", "core", "t_1", "t_0000001", "t_00000a", "t_000001; DROP", "", None, 5])
def test_schema_names_are_checked(bad):
    with pytest.raises(TenantScopeError):
        check_schema(bad)


def test_schema_names_are_generated():
    assert schema_for(42) == "t_000042"
    for bad in (0, -1, 1_000_000, "42", True):
        with pytest.raises(TenantScopeError):
            schema_for(bad)


async def test_nested_tenant_tx_is_refused(database):
    bld = await factories.building()
    a = await registry.get_ref(await factories.tenant(bld))
    b = await registry.get_ref(await factories.tenant(bld))
    async with tenant_tx(a.schema):
        with pytest.raises(TenantScopeError):
            async with tenant_tx(b.schema):
                pass


async def test_search_path_does_not_leak_to_the_next_user_of_a_connection(database):
    bld = await factories.building()
    ref = await registry.get_ref(await factories.tenant(bld))
    async with tenant_tx(ref.schema) as tx:
        conn = tx.connection
        assert await conn.fetchval("SHOW search_path") == ref.schema
    # SET LOCAL ended with the transaction; every pooled connection is unscoped.
    for _ in range(DB.pool.get_size() + 1):
        async with DB.pool.acquire() as conn:
            assert await conn.fetchval("SHOW search_path") == "pg_catalog"


async def test_provisioning_is_atomic(database):
    bld = await factories.building()
    before_schemas = await DB.pool.fetchval("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 't\\_%'")
    before_rows = await DB.pool.fetchval("SELECT count(*) FROM core.tenant")
    with pytest.raises(FormErrors) as err:
        await factories.tenant(bld, credit_code="91350100M000100Y44")  # wrong check character
    assert "credit_code" in err.value.fields
    # A failure inside the transaction (after the schema was created) leaves nothing either.
    original = registry.refresh_summary

    async def explode(conn, tenant_id):
        raise RuntimeError("disk full")

    registry.refresh_summary = explode
    try:
        with pytest.raises(RuntimeError):
            await factories.tenant(bld)
    finally:
        registry.refresh_summary = original
    assert await DB.pool.fetchval("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 't\\_%'") == before_schemas
    assert await DB.pool.fetchval("SELECT count(*) FROM core.tenant") == before_rows


async def test_new_tenant_is_at_latest_version_with_archive_number(database):
    import migrations

    bld = await factories.building()
    tenant_id = await factories.tenant(bld, kind="E", level="2", business_letter="B")
    row = await DB.pool.fetchrow("SELECT * FROM core.tenant WHERE id = $1", tenant_id)
    assert row["schema_version"] == migrations.latest("tenant")
    assert row["archive_no"].startswith("E2B") and len(row["archive_no"]) >= 7
    async with tenant_tx(row["schema_name"]) as tx:
        versions = [r["version"] for r in await tx.connection.fetch("SELECT version FROM _migration ORDER BY 1")]
        profile = await Profile.select().first()
    assert versions == [m.version for m in migrations.load("tenant")]
    assert profile["archive_no"] == row["archive_no"]


async def test_no_tenant_tables_in_core_or_public(database):
    tenant_tables = {"profile", "contact", "change_log", "change_request", "_migration"}
    rows = await DB.pool.fetch(
        "SELECT schemaname, tablename FROM pg_tables WHERE schemaname IN ('core', 'public')"
    )
    assert not tenant_tables & {r["tablename"] for r in rows}


async def interleave_canaries(tenants: int, requests: int) -> None:
    """Many concurrent scoped transactions, interleaved with unscoped queries,
    on whatever pool ``DB`` holds: each scoped read sees only its own tenant's
    canary, and every unscoped read of a tenant table still fails."""
    bld = await factories.building()
    refs = [await registry.get_ref(await factories.tenant(bld, name=f"金丝雀{i}")) for i in range(tenants)]
    for ref in refs:
        async with tenant_tx(ref.schema) as tx:
            await tx.connection.execute("UPDATE profile SET notes = $1", f"canary-{ref.id}")

    async def read(ref):
        async with tenant_tx(ref.schema) as tx:
            await asyncio.sleep(random.random() / 200)
            notes = await tx.connection.fetchval("SELECT notes FROM profile")
            piccolo_notes = (await Profile.select(Profile.notes).first())["notes"]
            return ref.id, notes, piccolo_notes

    async def unscoped():
        with pytest.raises(asyncpg.UndefinedTableError):
            await DB.pool.fetchval("SELECT notes FROM profile")
        return None

    jobs = [read(random.choice(refs)) if i % 5 else unscoped() for i in range(requests)]
    results = [r for r in await asyncio.gather(*jobs) if r is not None]
    assert len(results) == requests - len(range(0, requests, 5))
    for tenant_id, notes, piccolo_notes in results:
        assert notes == piccolo_notes == f"canary-{tenant_id}"


async def test_interleaved_requests_never_cross_tenants(database):
    """Many concurrent scoped transactions on a small pool: each sees only its canary."""
    await interleave_canaries(tenants=6, requests=300)
