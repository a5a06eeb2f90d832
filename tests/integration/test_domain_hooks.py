"""Domain hooks: every tenant table is in some domain's inventory, the
inventory counts what a tenant holds and nothing of another tenant, and the
core purge removes every core row naming the tenant but the registry row
(and the append-only audit log), leaving other tenants alone."""

from __future__ import annotations

from portal.core import hooks
from portal.core.db import DB
from portal.core.roles import Principal, Role
from tenants.money import charges, payments
from tenants.registry import service as registry
from tenants.registry.lifecycle import inventory, purge_core_rows
from tests import factories
from tests.integration.test_table_drift import table_classes

FINANCE = Principal(kind="staff", user_id=9101, name="财务", roles=frozenset({Role.FINANCE}))
KEPT = {"tenant", "audit_log",  # the tombstone, and the log that is never deleted
        "destruction_request", "purge_job", "destruction_certificate"}  # the record of the destruction


async def _tenant_with_business():
    bld = await factories.building()
    ref = await registry.get_ref(await factories.tenant(bld))
    await factories.portal_user(ref.id)
    await charges.add_manual_charge(ref, {"fee_item": "utilities", "amount": "120.00", "due_date": "2026-03-10",
                                          "reason": "水电抄表"}, FINANCE)
    await payments.record_payment(ref, {"amount": "20", "paid_on": "2026-03-11", "method": "cash"}, FINANCE)
    return ref


async def _core_rows_naming(tenant_id: int) -> dict[str, int]:
    tables = await DB.pool.fetch(
        "SELECT table_name FROM information_schema.columns WHERE table_schema = 'core' AND column_name = 'tenant_id'")
    counts = {}
    for row in tables:
        name = row["table_name"]
        counts[name] = await DB.pool.fetchval(f'SELECT count(*) FROM core."{name}" WHERE tenant_id = $1', tenant_id)
    return counts


def test_every_domain_registers_once():
    names = [h.domain for h in hooks.load()]
    assert names == sorted(set(names))
    assert {"registry", "file", "money", "documents", "accounts", "destruction"} <= set(names)


async def test_inventory_covers_every_tenant_table(database):
    ref = await _tenant_with_business()
    found = await inventory(ref)
    counted = {table for inv in found.values() for table in inv.rows}
    tenant_tables = {c._meta.tablename for c in table_classes() if not c._meta.schema}
    assert counted == tenant_tables


async def test_inventory_counts_this_tenant_only(database):
    ref = await _tenant_with_business()
    other = await _tenant_with_business()
    await payments.record_payment(other, {"amount": "5", "paid_on": "2026-03-12", "method": "cash"}, FINANCE)
    mine = await inventory(ref)
    assert mine["money"].rows["payment"] == 1 and mine["money"].rows["charge"] == 1
    assert mine["file"].rows["profile"] == 1
    assert (await inventory(other))["money"].rows["payment"] == 2


async def test_purge_core_rows_leaves_only_the_tombstone_and_spares_others(database):
    ref = await _tenant_with_business()
    other = await _tenant_with_business()
    before_other = await _core_rows_naming(other.id)
    assert (await _core_rows_naming(ref.id))["portal_user"] == 1
    deleted = await purge_core_rows(ref.id)
    assert deleted["accounts"] >= 1 and deleted["money"] >= 1 and deleted["registry"] >= 1
    left = {t: n for t, n in (await _core_rows_naming(ref.id)).items() if n and t not in KEPT}
    assert left == {}
    assert await _core_rows_naming(other.id) == before_other
