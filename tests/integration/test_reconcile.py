"""Core summaries: written with every change, rebuilt and drift reported by
``portal tenants reconcile`` and by the nightly Celery task."""

from __future__ import annotations

from portal.core.db import DB
from tenants.registry import service as registry
from tenants.registry.reconcile import reconcile_all
from tenants.scope import tenant_tx
from tests import factories


async def test_summary_follows_changes_and_reconcile_reports_drift(database):
    bld = await factories.building()
    tenant_id = await factories.tenant(bld, name="对账测试有限公司")
    row = await DB.pool.fetchrow("SELECT * FROM core.tenant WHERE id = $1", tenant_id)
    assert row["primary_contact"] == "李四" and row["contact_phones"] == "13800138000" and row["contact_count"] == 1

    # Someone edits core behind the services' back: drift.
    await DB.pool.execute("UPDATE core.tenant SET contact_count = 7, name = 'wrong' WHERE id = $1", tenant_id)
    report = await reconcile_all(fix=False)
    drift = next(d for d in report["drifted"] if d["tenant_id"] == tenant_id)
    assert drift["fields"]["contact_count"] == {"core": 7, "schema": 1}
    assert drift["fields"]["name"]["schema"] == "对账测试有限公司"
    assert await DB.pool.fetchval("SELECT contact_count FROM core.tenant WHERE id = $1", tenant_id) == 7

    fixed = await reconcile_all(fix=True)
    assert any(d["tenant_id"] == tenant_id for d in fixed["drifted"])
    clean = await reconcile_all(fix=False)
    assert not [d for d in clean["drifted"] if d["tenant_id"] == tenant_id]
    assert await DB.pool.fetchval("SELECT name FROM core.tenant WHERE id = $1", tenant_id) == "对账测试有限公司"


async def test_reconcile_reports_a_broken_schema_and_continues(database):
    bld = await factories.building()
    broken = await registry.get_ref(await factories.tenant(bld))
    fine = await factories.tenant(bld)
    async with tenant_tx(broken.schema) as tx:
        await tx.connection.execute("ALTER TABLE contact RENAME TO contact_gone")
    try:
        await DB.pool.execute("UPDATE core.tenant SET contact_count = 9 WHERE id = $1", fine)
        report = await reconcile_all(fix=True)
        assert broken.id in report["failed"]
        assert any(d["tenant_id"] == fine for d in report["drifted"])
    finally:
        async with tenant_tx(broken.schema) as tx:
            await tx.connection.execute("ALTER TABLE contact_gone RENAME TO contact")


async def test_nightly_reconcile_runs_in_a_real_worker(database, celery_worker, celery_app):
    bld = await factories.building()
    tenant_id = await factories.tenant(bld)
    await DB.pool.execute("UPDATE core.tenant SET contact_count = 5 WHERE id = $1", tenant_id)
    result = celery_app.send_task("tenancy.reconcile")
    report = result.get(timeout=60)
    assert any(d["tenant_id"] == tenant_id for d in report["drifted"])
    assert await DB.pool.fetchval("SELECT contact_count FROM core.tenant WHERE id = $1", tenant_id) == 1
    logged = await DB.pool.fetchval(
        "SELECT count(*) FROM core.audit_log WHERE action = 'tenancy.reconcile' AND outcome = 'drift'")
    assert logged >= 1
