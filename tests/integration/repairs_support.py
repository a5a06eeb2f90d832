"""Shared set-up for the repair tests: tenants, technicians on shift now,
principals, and running task bodies in the tenant's transaction."""

from __future__ import annotations

import datetime as dt

import pytest

from portal.core.db import DB
from portal.core.roles import Principal, Role
from portal.core.workdays import now
from tenants.registry import service as registry
from tenants.scope import tenant_tx
from tests import factories, followups


def sent_tasks():
    """The follow-ups sent while the block runs: (name, args, options)."""
    return followups.sent_tasks(with_options=True)


def principal_of(user: dict, role: Role, buildings=()) -> Principal:
    return Principal(kind="staff", user_id=user["id"], name=f"员工{user['id']}", roles=frozenset({role}),
                     building_ids=frozenset(buildings))


def portal_principal(user: dict, tenant_id: int) -> Principal:
    return Principal(kind="portal", user_id=user["id"], name="租户用户", tenant_id=tenant_id)


async def technician(building_id: int, skills=("water", "electrical"), capacity: int = 3, on_shift: bool = True,
                     username: str | None = None) -> dict:
    user = await factories.staff(["technician"], [building_id], username=username)
    await DB.pool.execute(
        "INSERT INTO core.technician (user_id, name, skills, building_ids, capacity) VALUES ($1, $2, $3, $4, $5)",
        user["id"], f"师傅{user['id']}", list(skills), [building_id], capacity)
    if on_shift:
        today = now().date()
        for day in (today - dt.timedelta(days=1), today, today + dt.timedelta(days=1)):
            await DB.pool.execute("INSERT INTO core.technician_shift (user_id, day, starts, ends)"
                                  " VALUES ($1, $2, '00:00', '23:59:59.999')", user["id"], day)
    user["principal"] = principal_of(user, Role.TECHNICIAN, [building_id])
    return user


async def load_of(user_id: int) -> int:
    return await DB.pool.fetchval("SELECT open_load FROM core.technician WHERE user_id = $1", user_id)


async def run_body(body, ref, *args):
    """What a tenant task runs (``body(ref, tx, ...)``), in the tenant's
    transaction as the task would (follow-ups sent after commit)."""
    async with tenant_tx(ref.schema) as tx:
        return await body(ref, tx, *args)


async def order_row(ref, order_id: int) -> dict:
    async with tenant_tx(ref.schema) as tx:
        return dict(await tx.connection.fetchrow("SELECT * FROM work_order WHERE id = $1", order_id))


async def summary_row(tenant_id: int, order_id: int) -> dict | None:
    row = await DB.pool.fetchrow("SELECT * FROM core.work_order_summary WHERE tenant_id = $1 AND order_id = $2",
                                 tenant_id, order_id)
    return dict(row) if row else None


@pytest.fixture
async def desk(database):
    """Two tenants in two buildings, a portal user of the first, technicians in the first building."""
    b1, b2 = await factories.building(), await factories.building()
    a = await registry.get_ref(await factories.tenant(b1))
    b = await registry.get_ref(await factories.tenant(b2))
    user_a = await factories.portal_user(a.id)
    user_b = await factories.portal_user(b.id)
    return {"b1": b1, "b2": b2, "a": a, "b": b, "pa": portal_principal(user_a, a.id), "pb": portal_principal(user_b, b.id),
            "user_a": user_a, "user_b": user_b}
