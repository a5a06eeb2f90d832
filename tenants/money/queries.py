"""The money queries Piccolo's query builder cannot say, each with the reason.

They run through ``Table.raw`` (``{}`` placeholders), so inside ``tenant_tx``
they use its connection like every builder query. Tenant tables are written
unqualified (the schema on the path), core tables with ``core.``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from piccolo.querystring import QueryString

from portal.core.db import execute, fetch, fetchrow, fetchval

from tenants.money.tables import BillingRunItem, Charge, NoticeBatchItem, NoticeNumber, Payment, TenantMoney

# The transaction's time, as the tables' SQL defaults use (not the worker's clock).
NOW = QueryString("now()")

# Net amount of each charge (its adjustments included) and what is allocated to
# it: two grouped sub-selects joined on the charge, which the builder (no
# foreign keys between these tables, no derived tables) cannot express.
CHARGE_NET = """
SELECT c.id, c.period, c.due_date, c.fee_item, c.description, c.kind, c.amount_fen, c.created_at,
       c.amount_fen + coalesce(adj.fen, 0) AS net_fen,
       coalesce(al.fen, 0) AS paid_fen,
       c.amount_fen + coalesce(adj.fen, 0) - coalesce(al.fen, 0) AS open_fen
FROM charge c
LEFT JOIN (SELECT adjusts_id, sum(amount_fen) AS fen FROM charge WHERE adjusts_id IS NOT NULL GROUP BY adjusts_id) adj
       ON adj.adjusts_id = c.id
LEFT JOIN (SELECT charge_id, sum(amount_fen) AS fen FROM allocation GROUP BY charge_id) al ON al.charge_id = c.id
WHERE c.kind <> 'adjustment'
"""

# One round trip for every figure of the summary: CTEs over CHARGE_NET with
# array aggregates (the builder has neither CTEs nor array_agg ... ORDER BY).
_SUMMARY = f"""
WITH net AS ({CHARGE_NET}),
dues AS (SELECT due_date, sum(open_fen)::bigint AS fen FROM net WHERE open_fen > 0 GROUP BY due_date),
periods AS (SELECT period, sum(net_fen)::bigint AS billed, sum(paid_fen)::bigint AS collected FROM net GROUP BY period)
SELECT
  coalesce((SELECT sum(net_fen) FROM net), 0)::bigint AS charged_fen,
  coalesce((SELECT sum(paid_fen) FROM net), 0)::bigint AS allocated_fen,
  coalesce((SELECT sum(amount_fen) FROM payment), 0)::bigint AS paid_fen,
  coalesce((SELECT sum(open_fen) FROM net WHERE open_fen > 0), 0)::bigint AS outstanding_fen,
  coalesce((SELECT sum(CASE e.kind WHEN 'receipt' THEN e.amount_fen ELSE -e.amount_fen END)
            FROM deposit_entry e WHERE e.status = 'approved'), 0)::bigint AS deposits_held_fen,
  (SELECT count(*) FROM net WHERE open_fen > 0)::int AS open_charges,
  (SELECT min(due_date) FROM dues) AS oldest_due,
  coalesce((SELECT array_agg(due_date ORDER BY due_date) FROM dues), ARRAY[]::date[]) AS due_dates,
  coalesce((SELECT array_agg(fen ORDER BY due_date) FROM dues), ARRAY[]::bigint[]) AS due_fens,
  coalesce((SELECT array_agg(period ORDER BY period) FROM periods), ARRAY[]::date[]) AS periods,
  coalesce((SELECT array_agg(billed ORDER BY period) FROM periods), ARRAY[]::bigint[]) AS billed,
  coalesce((SELECT array_agg(collected ORDER BY period) FROM periods), ARRAY[]::bigint[]) AS collected
"""


async def summary_row() -> dict[str, Any]:
    """The raw summary figures of the tenant schema on the path (see ``_SUMMARY``)."""
    return await fetchrow(_SUMMARY)


async def charge_nets(*, open_only: bool = False, newest_first: bool = False) -> list[dict[str, Any]]:
    """Every charge with its net, paid and open amounts (CHARGE_NET: derived tables)."""
    order = "due_date DESC, id DESC" if newest_first else "due_date, id"
    where = " WHERE open_fen > 0" if open_only else ""
    return await Charge.raw(f"SELECT * FROM ({CHARGE_NET}) n{where} ORDER BY {order}").run()


async def charge_net(charge_id: int) -> dict[str, Any] | None:
    """One charge with its net, paid and open amounts (CHARGE_NET: derived tables)."""
    rows = await Charge.raw(f"SELECT * FROM ({CHARGE_NET}) n WHERE id = {{}}", charge_id).run()
    return rows[0] if rows else None


async def payments_with_allocated() -> list[dict[str, Any]]:
    """Payments newest first, with what is allocated from each and whether it is
    reversed: correlated sub-selects per row, which the builder cannot write."""
    return await Payment.raw(
        "SELECT p.*, coalesce((SELECT sum(a.amount_fen) FROM allocation a WHERE a.payment_id = p.id), 0)::bigint"
        " AS allocated_fen, EXISTS (SELECT 1 FROM payment r WHERE r.reverses_id = p.id) AS reversed"
        " FROM payment p ORDER BY p.paid_on DESC, p.id DESC").run()


async def allocations_with_charge() -> list[dict[str, Any]]:
    """Every allocation with its charge's description: a join on a column that
    is not a Piccolo foreign key."""
    return await Payment.raw(
        "SELECT a.*, c.description, c.fee_item, c.due_date FROM allocation a JOIN charge c ON c.id = a.charge_id"
        " ORDER BY a.id").run()


async def lock_credit_sources() -> list[dict[str, Any]]:
    """(id, left_fen) of payments not reversed, oldest first, locked: a
    correlated sum and NOT EXISTS under FOR UPDATE."""
    return await Payment.raw(
        "SELECT p.id, p.amount_fen - coalesce((SELECT sum(a.amount_fen) FROM allocation a WHERE a.payment_id = p.id),"
        " 0) AS left_fen FROM payment p WHERE p.kind = 'payment'"
        " AND NOT EXISTS (SELECT 1 FROM payment r WHERE r.reverses_id = p.id)"
        " ORDER BY p.paid_on, p.id FOR UPDATE").run()


async def deposit_balance(deposit_id: int) -> dict[str, int]:
    """{balance, pending} of one deposit: conditional aggregates (CASE, FILTER)."""
    [row] = await Charge.raw(
        "SELECT coalesce(sum(CASE WHEN status = 'approved' THEN (CASE kind WHEN 'receipt' THEN amount_fen"
        " ELSE -amount_fen END) END), 0)::bigint AS balance,"
        " coalesce(sum(amount_fen) FILTER (WHERE status = 'pending'), 0)::bigint AS pending"
        " FROM deposit_entry WHERE deposit_id = {}", deposit_id).run()
    return row


async def next_in_sequence(sequence: str) -> int:
    """nextval of an office-wide sequence: a function call, not a table query."""
    [row] = await TenantMoney.raw(f"SELECT nextval('{sequence}') AS n").run()
    return row["n"]


async def void_numbers(limit: int, batch_id: int | None, building_ids: list[int] | None) -> list[dict[str, Any]]:
    """Void notice numbers with their tenant's name, newest first: a join with
    core.tenant (no foreign key) and an array overlap for the building scope."""
    return await NoticeNumber.raw(
        "SELECT n.number, n.tenant_id, t.name AS tenant_name, n.batch_id, n.reason, n.taken_at, n.settled_at"
        " FROM core.notice_number n JOIN core.tenant t ON t.id = n.tenant_id WHERE n.status = 'void'"
        " AND ({}::int IS NULL OR n.batch_id = {}) AND ({}::int[] IS NULL OR t.building_ids && {}::int[])"
        " ORDER BY n.settled_at DESC, n.number DESC LIMIT {}",
        batch_id, batch_id, building_ids, building_ids, limit).run()


def _ages(ages) -> str:
    """Outstanding per age bucket (days overdue on ``a.as_of``), the overdue and
    not-yet-due totals and the oldest overdue date, from dues ``d``."""
    parts = []
    for key, low, high in ages:
        cond = f"(a.as_of - d.due_date) >= {int(low)}" + (f" AND (a.as_of - d.due_date) <= {int(high)}" if high else "")
        parts.append(f"coalesce(sum(d.outstanding_fen) FILTER (WHERE {cond}), 0)::bigint AS {key}")
    parts.append("coalesce(sum(d.outstanding_fen) FILTER (WHERE d.due_date < a.as_of), 0)::bigint AS overdue")
    parts.append("coalesce(sum(d.outstanding_fen) FILTER (WHERE d.due_date >= a.as_of), 0)::bigint AS not_due")
    parts.append("min(d.due_date) FILTER (WHERE d.due_date < a.as_of) AS oldest_due")
    return ", ".join(parts)


async def arrears_by_tenant(ages, as_of: dt.date, scope: list[int] | None, building_id: int | None, min_days: int,
                            limit: int, offset: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(totals, one page of rows) of tenants overdue ``min_days`` or more, by age
    bucket: aggregates with FILTER per bucket, over a grouped derived table."""
    base = (f"SELECT t.id, t.name, t.archive_no, t.unit_labels, {_ages(ages)} FROM core.tenant_money_due d"
            " JOIN core.tenant t ON t.id = d.tenant_id"
            " CROSS JOIN (SELECT {}::date AS as_of, {}::int[] AS scope, {}::int AS building, {}::int AS min_days) a"
            " WHERE t.active AND (a.scope IS NULL OR t.building_ids && a.scope)"
            " AND (a.building IS NULL OR a.building = ANY(t.building_ids))"
            " GROUP BY t.id"
            " HAVING coalesce(sum(d.outstanding_fen) FILTER (WHERE (a.as_of - d.due_date) >= a.min_days), 0) > 0")
    args = (as_of, scope, building_id, min_days)
    sums = ", ".join(f"coalesce(sum({key}), 0)::bigint AS {key}" for key, *_ in ages)
    [totals] = await TenantMoney.raw(
        f"SELECT count(*)::int AS tenants, {sums}, coalesce(sum(overdue), 0)::bigint AS overdue,"
        f" coalesce(sum(not_due), 0)::bigint AS not_due FROM ({base}) x", *args).run()
    rows = await TenantMoney.raw(f"SELECT * FROM ({base}) x ORDER BY overdue DESC, id LIMIT {{}} OFFSET {{}}",
                                 *args, limit, offset).run()
    return totals, rows


async def tenant_ageing(ages, tenant_id: int, as_of: dt.date) -> dict[str, Any]:
    """One tenant's outstanding by age bucket: aggregates with FILTER per bucket."""
    [row] = await TenantMoney.raw(
        f"SELECT {_ages(ages)} FROM core.tenant_money_due d CROSS JOIN (SELECT {{}}::date AS as_of) a"
        " WHERE d.tenant_id = {}", as_of, tenant_id).run()
    return row


async def generated_version(document_id: int) -> dict[str, Any] | None:
    """Where a generated document's first version is stored: a join of the
    archive's tables (no Piccolo foreign key between them)."""
    rows = await Charge.raw(
        "SELECT v.object_key, v.s3_version_id FROM document d JOIN document_version v ON v.document_id = d.id"
        " AND v.version = 1 WHERE d.id = {} AND d.source = 'generated'", document_id).run()
    return rows[0] if rows else None


# --- billing runs and notice batches (core) -----------------------------------------------------

async def add_run_items(run_id: int) -> None:
    """A pending item for every active tenant not yet in the run: INSERT from a
    SELECT with ON CONFLICT DO NOTHING (the builder inserts only rows it is given)."""
    await BillingRunItem.raw(
        "INSERT INTO core.billing_run_item (run_id, tenant_id)"
        " SELECT {}, id FROM core.tenant WHERE active AND status = 'active' ON CONFLICT DO NOTHING", run_id).run()


async def add_batch_items(batch_id: int, tenant_ids: list[int]) -> None:
    """The batch's items from one array parameter (unnest): the builder would bind
    two parameters per row, past PostgreSQL's limit for a large batch."""
    await NoticeBatchItem.raw(
        "INSERT INTO core.notice_batch_item (batch_id, tenant_id) SELECT {}, unnest({}::int[])",
        batch_id, tenant_ids).run()


async def leased_areas(tenant_ids: list[int]) -> list[dict[str, Any]]:
    """(tenant_id, area) per tenant: units joined on a column that is not a
    Piccolo foreign key, summed per tenant."""
    return await BillingRunItem.raw(
        "SELECT tu.tenant_id, sum(u.area_m2) AS area FROM core.tenant_unit tu JOIN core.unit u ON u.id = tu.unit_id"
        " WHERE tu.tenant_id = ANY({}::int[]) GROUP BY tu.tenant_id", tenant_ids).run()


async def open_dues_before(period: dt.date) -> dict[dt.date, int]:
    """Open amounts per due date before ``period`` (the late fee's base): grouped
    over CHARGE_NET, a derived table."""
    rows = await Charge.raw(
        f"SELECT due_date, sum(open_fen)::bigint AS fen FROM ({CHARGE_NET}) n"
        " WHERE open_fen > 0 AND due_date < {} GROUP BY due_date", period).run()
    return {r["due_date"]: r["fen"] for r in rows}


async def insert_billed_charges(period: dt.date, run_id: int, lines) -> list:
    """A run's charges for the tenant on the path, (id, amount_fen) of those new:
    ON CONFLICT on a partial unique index (period, fee_item WHERE kind IN ...),
    which the builder's on_conflict cannot name; one statement from arrays."""
    return await fetch(
        "INSERT INTO charge (kind, fee_item, period, description, quantity, unit_price, amount_fen, due_date,"
        " run_id, created_by) SELECT x.kind, x.item, $1, x.descr, x.qty, x.price, x.fen, x.due, $2, 'billing'"
        " FROM unnest($3::text[], $4::text[], $5::text[], $6::numeric[], $7::numeric[], $8::bigint[],"
        " $9::date[]) AS x(kind, item, descr, qty, price, fen, due)"
        " ON CONFLICT (period, fee_item) WHERE kind IN ('billing', 'late_fee') DO NOTHING"
        " RETURNING id, amount_fen",
        period, run_id, [ln.kind for ln in lines], [ln.fee_item for ln in lines],
        [ln.description for ln in lines], [ln.quantity for ln in lines], [ln.unit_price for ln in lines],
        [ln.amount_fen for ln in lines], [ln.due_date for ln in lines])


async def run_failures(run_id: int, limit: int, building_ids: list[int] | None) -> list[dict[str, Any]]:
    """The run's failed tenants in the given buildings (None: all): a join with
    the registry and an array overlap (&&), which the builder cannot say."""
    return await BillingRunItem.raw(
        "SELECT i.tenant_id, t.name, t.archive_no, i.error FROM core.billing_run_item i"
        " JOIN core.tenant t ON t.id = i.tenant_id WHERE i.run_id = {} AND i.status = 'failed'"
        " AND ({}::int[] IS NULL OR t.building_ids && {}::int[]) ORDER BY i.tenant_id LIMIT {}",
        run_id, building_ids, building_ids, limit).run()


async def batch_mail_counts(batch_id: int) -> dict[str, int]:
    """{emailed, retrying, undelivered} of a batch: aggregates with FILTER."""
    [row] = await NoticeBatchItem.raw(
        "SELECT coalesce(sum(emailed), 0)::int AS emailed,"
        " count(*) FILTER (WHERE email_state = 'retrying')::int AS retrying,"
        " count(*) FILTER (WHERE email_state IN ('failed', 'sending') AND status = 'done')::int AS undelivered"
        " FROM core.notice_batch_item WHERE batch_id = {}", batch_id).run()
    return row


async def batch_item_state(batch_id: int, tenant_id: int) -> dict[str, Any] | None:
    """The batch's status, the tenant's item status and the batch's notice in the
    tenant schema on the path (issued before a crash), in one round trip per
    tenant of a batch: a LEFT JOIN LATERAL, which the builder cannot say."""
    rows = await NoticeBatchItem.raw(
        "SELECT b.status AS batch_status, i.status, n.id AS notice_id, n.email_state, n.emailed_to"
        " FROM core.notice_batch b LEFT JOIN core.notice_batch_item i ON i.batch_id = b.id AND i.tenant_id = {}"
        " LEFT JOIN LATERAL (SELECT id, email_state, emailed_to FROM notice WHERE batch_id = b.id ORDER BY id"
        " LIMIT 1) n ON true WHERE b.id = {}", tenant_id, batch_id).run()
    return rows[0] if rows else None


async def lock_batch_item(batch_id: int, tenant_id: int) -> dict[str, Any] | None:
    """Lock the tenant's batch item and read it with its batch's status: a join
    locking one side only (FOR UPDATE OF), which the builder cannot say."""
    rows = await NoticeBatchItem.raw(
        "SELECT b.status AS batch_status, i.status FROM core.notice_batch_item i JOIN core.notice_batch b"
        " ON b.id = i.batch_id WHERE i.batch_id = {} AND i.tenant_id = {} FOR UPDATE OF i", batch_id, tenant_id).run()
    return rows[0] if rows else None


# The per-tenant path of every billing run and every ledger change below runs
# thousands of times a run: fixed texts, because building each with the query
# builder cost 0.1-0.2 ms of CPU (``portal bench billing`` regressed ~25 %).
# The core money row's totals, in column order (summary.py reads and compares them).
TOTALS = ("charged_fen", "allocated_fen", "paid_fen", "outstanding_fen", "credit_fen", "deposits_held_fen",
          "open_charges", "oldest_due")
_LOCK_SUMMARY = "SELECT * FROM core.tenant_money WHERE tenant_id = $1 FOR UPDATE"
# The totals, the open amounts per due date and the months, replaced in one
# statement: data-modifying CTEs (each UPSERTs from unnest and deletes what is
# gone), so a refresh is one round trip instead of three.
_WRITE_SUMMARY = (
    f"WITH totals AS (INSERT INTO core.tenant_money (tenant_id, {', '.join(TOTALS)}, updated_at)"
    f" VALUES ($1, {', '.join(f'${n}' for n in range(2, len(TOTALS) + 2))}, now())"
    f" ON CONFLICT (tenant_id) DO UPDATE SET {', '.join(f'{c} = excluded.{c}' for c in TOTALS)},"
    " updated_at = excluded.updated_at),"
    " dues_gone AS (DELETE FROM core.tenant_money_due WHERE tenant_id = $1 AND NOT (due_date = ANY($10::date[]))),"
    " dues AS (INSERT INTO core.tenant_money_due (tenant_id, due_date, outstanding_fen)"
    " SELECT $1, d, f FROM unnest($10::date[], $11::bigint[]) AS x(d, f)"
    " ON CONFLICT (tenant_id, due_date) DO UPDATE SET outstanding_fen = excluded.outstanding_fen),"
    " periods_gone AS (DELETE FROM core.tenant_money_period WHERE tenant_id = $1"
    " AND NOT (period = ANY($12::date[])))"
    " INSERT INTO core.tenant_money_period (tenant_id, period, billed_fen, collected_fen)"
    " SELECT $1, p, b, c FROM unnest($12::date[], $13::bigint[], $14::bigint[]) AS x(p, b, c)"
    " ON CONFLICT (tenant_id, period) DO UPDATE SET billed_fen = excluded.billed_fen,"
    " collected_fen = excluded.collected_fen")


async def lock_summary(tenant_id: int) -> dict[str, Any]:
    """The tenant's core money row, locked for the transaction (created if missing)."""
    row = await fetchrow(_LOCK_SUMMARY, tenant_id)
    if row is None:
        await execute("INSERT INTO core.tenant_money (tenant_id) VALUES ($1) ON CONFLICT DO NOTHING", tenant_id)
        row = await fetchrow(_LOCK_SUMMARY, tenant_id)
    return dict(row)


async def write_summary(tenant_id: int, summary: dict[str, Any]) -> None:
    """Replace the tenant's core money rows: totals, dues and months (``_WRITE_SUMMARY``)."""
    dues, periods = summary["dues"], summary["periods"]
    await execute(_WRITE_SUMMARY, tenant_id, *(summary[k] for k in TOTALS), list(dues), list(dues.values()),
                  list(periods), [b for b, _ in periods.values()], [c for _, c in periods.values()])


async def lock_run_item(run_id: int, tenant_id: int) -> str | None:
    """The status of the tenant's item in the run, locked; None if not part of it."""
    return await fetchval(
        "SELECT status FROM core.billing_run_item WHERE run_id = $1 AND tenant_id = $2 FOR UPDATE", run_id, tenant_id)


async def finish_run_item(run_id: int, tenant_id: int, charges: int, billed_fen: int) -> None:
    await execute(
        "UPDATE core.billing_run_item SET status = 'done', charges = $3, billed_fen = $4, error = NULL,"
        " finished_at = now() WHERE run_id = $1 AND tenant_id = $2", run_id, tenant_id, charges, billed_fen)


async def active_subscriptions() -> list:
    """The tenant's active fee subscriptions (fee_item, quantity, unit_price)."""
    return await fetch("SELECT fee_item, quantity, unit_price, active FROM fee_subscription WHERE active")
