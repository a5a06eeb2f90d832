"""Per-schema migrations: a new column over many schemas, one broken schema
rolling back alone and succeeding on the next run, no-op runs."""

from __future__ import annotations

import pytest

import migrations
from migrations import Migration
from portal.core.db import DB
from tenants import migrate
from tenants.registry import service as registry
from tenants.scope import tenant_tx
from tests import factories

EXTRA_SQL = """
CREATE TABLE visit_note (id serial PRIMARY KEY, body text NOT NULL);
ALTER TABLE profile ADD COLUMN website text NOT NULL DEFAULT '';
"""


@pytest.fixture
def extra_migration(monkeypatch):
    """Pretend the code base gains one more tenant migration (call it to install)."""
    real = migrations.load("tenant")
    extra = Migration(version=real[-1].version + 1, name="test: website column", sql=EXTRA_SQL)
    original_load = migrations.load

    def load(kind):
        return real + (extra,) if kind == "tenant" else original_load(kind)

    def install():
        monkeypatch.setattr(migrations, "load", load)
        migrate.tenant_ddl.cache_clear()
        return extra

    yield install
    migrate.tenant_ddl.cache_clear()


async def _columns(schema: str) -> set[tuple[str, str, str]]:
    rows = await DB.pool.fetch(
        "SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = $1", schema
    )
    return {(r["table_name"], r["column_name"], r["data_type"]) for r in rows}


async def test_new_column_over_many_schemas_and_broken_one_retried(database, extra_migration):
    bld = await factories.building()
    refs = [await registry.get_ref(await factories.tenant(bld)) for _ in range(12)]
    extra_migration = extra_migration()
    broken = refs[5]
    # Break one schema: the column already exists with another type, so ALTER fails.
    async with tenant_tx(broken.schema) as tx:
        await tx.connection.execute("ALTER TABLE profile ADD COLUMN website integer")

    progress = []
    report = await migrate.migrate_all(jobs=3, progress=lambda d, f, t: progress.append((d, f, t)))
    assert set(report.failures) == {broken.id}
    assert "website" in report.failures[broken.id]
    assert report.tenants_migrated >= 11 and progress[-1][2] == report.tenants_total

    for ref in refs:
        row = await DB.pool.fetchrow("SELECT schema_version, migration_error FROM core.tenant WHERE id = $1", ref.id)
        columns = await _columns(ref.schema)
        if ref.id == broken.id:
            # Rolled back as a whole: the table created before the failing ALTER is gone too.
            assert row["schema_version"] == extra_migration.version - 1
            assert row["migration_error"]
            assert not any(t == "visit_note" for t, _, _ in columns)
        else:
            assert row["schema_version"] == extra_migration.version
            assert ("profile", "website", "text") in columns
            assert ("visit_note", "body", "text") in columns

    # Mend the broken schema; the next run retries it and clears the error.
    async with tenant_tx(broken.schema) as tx:
        await tx.connection.execute("ALTER TABLE profile DROP COLUMN website")
    second = await migrate.migrate_all(jobs=2)
    assert second.ok and second.tenants_migrated == 1
    row = await DB.pool.fetchrow("SELECT schema_version, migration_error FROM core.tenant WHERE id = $1", broken.id)
    assert row["schema_version"] == extra_migration.version and row["migration_error"] is None

    # A run with nothing to do touches no schema.
    third = await migrate.migrate_all()
    assert third.ok and third.tenants_total == 0 and third.core_applied == []

    # A tenant provisioned now has exactly the structure of a migrated one.
    fresh = await registry.get_ref(await factories.tenant(bld))
    assert await _columns(fresh.schema) == await _columns(refs[0].schema)
    async with tenant_tx(fresh.schema) as tx:
        versions = [r["version"] for r in await tx.connection.fetch("SELECT version FROM _migration ORDER BY 1")]
    assert versions[-1] == extra_migration.version


async def test_migrating_again_is_a_no_op(database):
    report = await migrate.migrate_all()
    assert report.ok and report.tenants_total == 0
    assert await migrate.pending_tenants() == []
