"""SQL the query builder cannot say for repairs (each with its reason)."""

from __future__ import annotations

import datetime as dt

from portal.core.db import DB


def _on_duty_at(at: str) -> str:
    """A technician ``t`` on shift and not on leave at ``at`` (shifts and leave
    are kept in Shanghai local time)."""
    local = f"({at}::timestamptz AT TIME ZONE 'Asia/Shanghai')"
    return f"""EXISTS (SELECT 1 FROM core.technician_shift sh WHERE sh.user_id = t.user_id
                AND sh.day = {local}::date AND {local}::time >= sh.starts AND {local}::time < sh.ends)
   AND NOT EXISTS (SELECT 1 FROM core.technician_leave l WHERE l.user_id = t.user_id
                AND {local}::date BETWEEN l.starts_on AND l.ends_on)"""


# Eligible technicians, least loaded first then longest since their last
# assignment (round robin on ties); FOR UPDATE SKIP LOCKED and array containment
# are not expressible in Piccolo. A row taken by a concurrent dispatch is skipped.
_PICK = f"""
SELECT t.user_id, t.name FROM core.technician t
 WHERE t.active AND t.open_load < t.capacity
   AND $1 = ANY (t.skills) AND ($2::integer IS NULL OR $2 = ANY (t.building_ids))
   AND NOT (t.user_id = ANY ($3::integer[]))
   AND {_on_duty_at("$4")}
 ORDER BY t.open_load, t.last_assigned_at NULLS FIRST, t.user_id
 LIMIT 1
"""


async def pick_technician(conn, category: str, building_id: int | None, exclude: list[int],
                          at: dt.datetime) -> dict | None:
    """Lock and return the technician to assign, or None. First skips rows other
    dispatches hold; if every eligible row was held, waits for one (the WHERE is
    re-checked on the locked row, so capacity still holds)."""
    args = (category, building_id, list(exclude), at)
    row = await conn.fetchrow(_PICK + " FOR UPDATE OF t SKIP LOCKED", *args)
    if row is None:
        row = await conn.fetchrow(_PICK + " FOR UPDATE OF t", *args)
    return dict(row) if row else None


async def take_load(conn, user_id: int) -> bool:
    # A conditional increment with its guard in one statement (the CHECK is the backstop).
    done = await conn.fetchval(
        "UPDATE core.technician SET open_load = open_load + 1, last_assigned_at = now(), updated_at = now()"
        " WHERE user_id = $1 AND open_load < capacity AND active RETURNING user_id", user_id)
    return done is not None


async def release_load(conn, user_id: int | None) -> None:
    # GREATEST keeps the counter from going below zero (a floor the builder cannot say).
    if user_id is not None:
        await conn.execute("UPDATE core.technician SET open_load = GREATEST(open_load - 1, 0), updated_at = now()"
                           " WHERE user_id = $1", user_id)


async def lock_order(conn, order_id: int) -> dict | None:
    # SELECT ... FOR UPDATE: serializes every change of one order (dispatch, accept, timeout).
    row = await conn.fetchrow("SELECT * FROM work_order WHERE id = $1 FOR UPDATE", order_id)
    return dict(row) if row else None


async def next_number(conn, year: int) -> str:
    # nextval of the office-wide sequence (no builder for sequences).
    n = await conn.fetchval("SELECT nextval('core.work_order_seq')")
    return f"WX{year}-{n:06d}"


# The SLA scan, one statement per step over core.work_order_summary (UPDATE ...
# RETURNING across tenants, one round trip). ``due_at`` is the running clock's.
async def mark_breaches(conn, at: dt.datetime) -> list[dict]:
    rows = await conn.fetch(
        "UPDATE core.work_order_summary s SET breached = true, escalation = 2, updated_at = now()"
        " WHERE NOT s.paused AND NOT s.breached AND s.due_at < $1"
        " RETURNING s.tenant_id, s.order_id, s.number, s.building_id, s.dispatch_round", at)
    return [dict(r) for r in rows]


async def mark_warnings(conn, at: dt.datetime, warn_before: dt.timedelta) -> list[dict]:
    rows = await conn.fetch(
        "UPDATE core.work_order_summary s SET escalation = 1, updated_at = now()"
        " WHERE NOT s.paused AND s.escalation = 0 AND s.due_at < $1"
        " RETURNING s.tenant_id, s.order_id, s.number, s.building_id, s.dispatch_round", at + warn_before)
    return [dict(r) for r in rows]


# The board: open orders with the tenant's name, filtered and paged, with the
# total. The page's keys come from an index-only scan of
# work_order_summary_board_idx (no sort of every open order, even 400 pages
# deep); only those 50 rows and their tenants' names are read.
async def board(conn, *, scope: list[int] | None, view: str, building_id: int | None, assignee_id: int | None,
                category: str, at: dt.datetime, limit: int, offset: int) -> tuple[list[dict], int]:
    where, args = ["true"], []

    def arg(value) -> str:
        args.append(value)
        return f"${len(args)}"

    if scope is not None:
        where.append(f"s.building_id = ANY ({arg(scope)}::integer[])")
    if view == "new":
        where.append("s.status IN ('reported', 'dispatched')")
    elif view == "unassigned":
        where.append("s.status = 'unassigned'")
    elif view == "overdue":
        where.append(f"(s.breached OR (NOT s.paused AND s.due_at < {arg(at)}))")
    if building_id is not None:
        where.append(f"s.building_id = {arg(building_id)}")
    if assignee_id is not None:
        where.append(f"s.assignee_id = {arg(assignee_id)}")
    if category:
        where.append(f"s.category = {arg(category)}")
    matching = f"FROM core.work_order_summary s WHERE {' AND '.join(where)}"
    order = "s.breached DESC, s.due_at NULLS LAST, s.order_id"
    rows = await conn.fetch(
        f"SELECT s.*, t.name AS tenant_name, (SELECT count(*) {matching}) AS total"
        f" FROM (SELECT s.tenant_id, s.order_id {matching} ORDER BY {order}"
        f" LIMIT {arg(limit)} OFFSET {arg(offset)}) page"
        f" JOIN core.work_order_summary s USING (tenant_id, order_id) JOIN core.tenant t ON t.id = s.tenant_id"
        f" ORDER BY {order}", *args)
    return [dict(r) for r in rows], (rows[0]["total"] if rows else 0)


async def my_orders(conn, user_id: int) -> list[dict]:
    # The technician's open orders across tenants, in due order (a join the builder would run as two queries).
    rows = await conn.fetch(
        "SELECT s.*, t.name AS tenant_name FROM core.work_order_summary s"
        " JOIN core.tenant t ON t.id = s.tenant_id WHERE s.assignee_id = $1"
        " AND s.status IN ('dispatched', 'accepted', 'on_site', 'paused') ORDER BY s.due_at NULLS LAST", user_id)
    return [dict(r) for r in rows]


# Technicians on shift now for a building (array containment and local time: raw SQL).
_ON_DUTY = f"""
SELECT t.user_id, t.name FROM core.technician t WHERE t.active
   AND ($1::integer IS NULL OR $1 = ANY (t.building_ids))
   AND {_on_duty_at("$2")}
"""


async def on_duty(conn, building_id: int | None, at: dt.datetime) -> list[dict]:
    return [dict(r) for r in await conn.fetch(_ON_DUTY, building_id, at)]


async def due_for_auto_close(conn, before: dt.datetime, limit: int = 500) -> list[tuple[int, int]]:
    # Completed orders nobody confirmed in time, across tenants (reads core only).
    rows = await conn.fetch("SELECT tenant_id, order_id FROM core.work_order_summary WHERE status = 'completed'"
                            " AND completed_at < $1 ORDER BY completed_at LIMIT $2", before, limit)
    return [(r["tenant_id"], r["order_id"]) for r in rows]


async def stuck_reported(conn, before: dt.datetime, limit: int = 500) -> list[tuple[int, int, int]]:
    # Orders whose dispatch message was lost after commit (the sweep re-sends it).
    rows = await conn.fetch("SELECT tenant_id, order_id, dispatch_round FROM core.work_order_summary"
                            " WHERE status = 'reported' AND updated_at < $1 ORDER BY updated_at LIMIT $2",
                            before, limit)
    return [(r["tenant_id"], r["order_id"], r["dispatch_round"]) for r in rows]


# Orders waiting in the dispatcher's queue that a technician now on duty with
# capacity left could take (a shift began, leave ended, load was freed): the
# sweep sends their dispatch again. Across tenants, from core only.
_ASSIGNABLE = f"""
SELECT s.tenant_id, s.order_id, s.dispatch_round FROM core.work_order_summary s
 WHERE s.status = 'unassigned' AND EXISTS (
       SELECT 1 FROM core.technician t WHERE t.active AND t.open_load < t.capacity
          AND s.category = ANY (t.skills) AND (s.building_id IS NULL OR s.building_id = ANY (t.building_ids))
          AND {_on_duty_at("$1")})
 ORDER BY s.reported_at LIMIT $2
"""


async def assignable_unassigned(conn, at: dt.datetime, limit: int = 200) -> list[tuple[int, int, int]]:
    rows = await conn.fetch(_ASSIGNABLE, at, limit)
    return [(r["tenant_id"], r["order_id"], r["dispatch_round"]) for r in rows]


async def staff_with_role(role: str) -> list[dict]:
    # core.staff_user belongs to portal.accounts, which domains may not import.
    rows = await DB.pool.fetch("SELECT id, display_name, building_ids FROM core.staff_user"
                               " WHERE $1 = ANY (roles) AND active ORDER BY display_name", role)
    return [dict(r) for r in rows]
