"""Fee items and the monthly billing run.

A run is one row per period in ``core.billing_run`` with one item per tenant.
Each tenant is billed in one ``tenant_tx`` that inserts its charges (unique
per (period, fee item): a rerun never doubles), settles them from credit,
rewrites the core summary and marks its run item done — all or nothing. A
worker killed mid-run leaves every tenant either billed or untouched; running
the period again bills the rest.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Iterable, Mapping

from piccolo.query.functions import Count, Sum
from piccolo.querystring import QueryString

from portal.core import audit
from portal.core.db import DB
from portal.core.errors import Forbidden, FormErrors, NotFound
from portal.core.roles import Perm, Principal
from tenants.file import changelog
from tenants.money import queries, recovery, summary
from tenants.money.amounts import AmountError, add_months, month_end, parse_period, to_fen, today
from tenants.money.ledger import fee_items_map, need
from tenants.money.payments import settle_from_credit
from tenants.money.tables import BillingRun, BillingRunItem, FeeItem
from tenants.registry.tables import Tenant
from tenants.retention import service as retention
from tenants.registry.visibility import scope_ids
from tenants.scope import check_schema, tenant_tx

SYSTEM = Principal(kind="system", user_id=0, name="billing")
BASES = {"area": "Per m² per month on the leased area", "fixed": "Monthly, per subscription",
         "manual": "Charged by hand only"}


@dataclass(frozen=True)
class LateFeeRule:
    """Late fee (滞纳金) charged in each run on what was overdue during the
    previous month: outstanding x days overdue in that month x daily rate,
    after ``grace_days``. Off when the rate is zero (the default)."""

    daily_rate: Decimal = Decimal("0")
    grace_days: int = 0

    @property
    def on(self) -> bool:
        return self.daily_rate > 0

    @classmethod
    def from_settings(cls, settings) -> "LateFeeRule":
        try:
            rate = Decimal(str(getattr(settings, "late_fee_daily_rate", "0") or "0"))
        except InvalidOperation:
            rate = Decimal("0")
        return cls(daily_rate=max(rate, Decimal("0")), grace_days=int(getattr(settings, "late_fee_grace_days", 0)))


@dataclass(frozen=True)
class Line:
    fee_item: str
    kind: str
    description: str
    quantity: Decimal | None
    unit_price: Decimal | None
    amount_fen: int
    due_date: dt.date


def late_fee_fen(period: dt.date, dues: Mapping[dt.date, int], rule: LateFeeRule) -> int:
    """Late fee for ``period``: on each open amount, the days of the previous
    month on which it was overdue (after the grace days)."""
    if not rule.on:
        return 0
    prev_start = add_months(period, -1)
    prev_end = month_end(prev_start)
    total = Decimal(0)
    for due_date, fen in dues.items():
        first_late = due_date + dt.timedelta(days=rule.grace_days + 1)
        start = max(first_late, prev_start)
        days = (prev_end - start).days + 1
        if days > 0 and fen > 0:
            total += Decimal(fen) / 100 * days * rule.daily_rate
    return to_fen(total)


def compute_lines(period: dt.date, items: Iterable[Mapping[str, Any]], area_m2: Decimal,
                  subscriptions: Iterable[Mapping[str, Any]], dues: Mapping[dt.date, int],
                  rule: LateFeeRule) -> list[Line]:
    """The charges of one tenant for one period (pure; amounts rounded half-up to fen)."""
    lines: list[Line] = []
    items = list(items)
    label = f"{period:%Y-%m}"
    for item in items:
        if not item["active"]:
            continue
        due = period.replace(day=item["due_day"])
        if item["basis"] == "area" and area_m2 > 0 and item["unit_price"] > 0:
            fen = to_fen(area_m2 * item["unit_price"])
            lines.append(Line(item["code"], "billing", f"{item['name']} {label}", area_m2, item["unit_price"], fen,
                              due))
        elif item["basis"] == "fixed":
            subs = [s for s in subscriptions if s["fee_item"] == item["code"] and s["active"]]
            if not subs:
                continue
            fen = sum(to_fen(s["quantity"] * (s["unit_price"] if s["unit_price"] is not None else item["unit_price"]))
                      for s in subs)
            quantity = sum((s["quantity"] for s in subs), Decimal(0))
            if fen > 0:
                lines.append(Line(item["code"], "billing", f"{item['name']} {label}", quantity, item["unit_price"],
                                  fen, due))
    late = late_fee_fen(period, dues, rule)
    if late > 0:
        late_item = next((i for i in items if i["code"] == "late_fee"), None)
        due_day = late_item["due_day"] if late_item else 10
        name = late_item["name"] if late_item else "滞纳金"
        lines.append(Line("late_fee", "late_fee", f"{name} {add_months(period, -1):%Y-%m}", None, rule.daily_rate, late,
                          period.replace(day=due_day)))
    return lines


# --- fee items ----------------------------------------------------------------------------------

async def save_fee_item(code: str, raw: Mapping[str, Any], principal: Principal, *, create: bool = False) -> str:
    need(principal, Perm.BILLING_RUN)
    errors: dict[str, str] = {}
    code = (code or "").strip().lower()
    import re

    if not re.fullmatch(r"[a-z][a-z0-9_]{1,29}", code):
        errors["code"] = "Use 2-30 lower-case letters, digits or _."
    name = str(raw.get("name") or "").strip()[:100]
    name_en = str(raw.get("name_en") or "").strip()[:100] or name
    if not name:
        errors["name"] = "This field is required."
    basis = str(raw.get("basis") or "")
    if basis not in BASES:
        errors["basis"] = "Choose one of the options."
    price_text = str(raw.get("unit_price") or "0").strip()
    try:
        if not re.fullmatch(r"\d{1,8}(\.\d{1,4})?", price_text):
            raise InvalidOperation
        unit_price = Decimal(price_text)
    except InvalidOperation:
        errors["unit_price"] = "Enter a price with at most four decimals, e.g. 8.50."
        unit_price = Decimal(0)
    try:
        due_day = int(str(raw.get("due_day") or "10"))
        if not 1 <= due_day <= 28:
            raise ValueError
    except ValueError:
        errors["due_day"] = "Enter a day from 1 to 28."
        due_day = 10
    active = str(raw.get("active") or "") in ("1", "on", "true", "yes")
    if errors:
        raise FormErrors(errors)
    async with DB.transaction():
        exists = await FeeItem.exists().where(FeeItem.code == code)
        if create and exists:
            raise FormErrors({"code": "This code is taken."})
        if not create and not exists:
            raise NotFound("No such fee item.")
        changed = (FeeItem.name, FeeItem.name_en, FeeItem.basis, FeeItem.unit_price, FeeItem.due_day, FeeItem.active,
                   FeeItem.updated_by)
        await FeeItem.insert(FeeItem(code=code, name=name, name_en=name_en, basis=basis, unit_price=unit_price,
                                     due_day=due_day, active=active, updated_by=principal.name, sort=50)).on_conflict(
            target=FeeItem.code, action="DO UPDATE", values=changed)
        await FeeItem.update({FeeItem.updated_at: queries.NOW}).where(FeeItem.code == code)
        await audit.record("money.fee_item.save", principal=principal, target=f"fee_item:{code}",
                           detail={"unit_price": str(unit_price), "basis": basis, "active": active})
    return code


# --- runs ---------------------------------------------------------------------------------------

async def start_run(period_raw, principal: Principal) -> int:
    """Create (or reopen) the run of a period and its pending items. Tenants
    already billed for the period stay done; new active tenants are added."""
    if principal.kind != "system":
        need(principal, Perm.BILLING_RUN)
    try:
        period = parse_period(period_raw) if not isinstance(period_raw, dt.date) else period_raw.replace(day=1)
    except AmountError as exc:
        raise FormErrors({"period": str(exc)}) from None
    async with DB.transaction():
        [row] = await BillingRun.insert(BillingRun(period=period, created_by=principal.name)).on_conflict(
            target=BillingRun.period, action="DO UPDATE",
            values=[(BillingRun.status, "running"), (BillingRun.finished_at, None)]).returning(BillingRun.id)
        run_id = row["id"]
        await BillingRun.update({BillingRun.heartbeat_at: queries.NOW}).where(BillingRun.id == run_id)
        await queries.add_run_items(run_id)
        await BillingRunItem.update({BillingRunItem.status: "pending", BillingRunItem.error: None}).where(
            (BillingRunItem.run_id == run_id) & (BillingRunItem.status == "failed"))
        total = await BillingRunItem.count().where(BillingRunItem.run_id == run_id)
        await BillingRun.update({BillingRun.total: total}).where(BillingRun.id == run_id)
        await audit.record("money.billing.start", principal=principal if principal.kind != "system" else None,
                           actor_name=principal.name, target=f"billing_run:{run_id}",
                           detail={"period": period.isoformat()})
    return run_id


async def pending_tenants(run_id: int) -> list[int]:
    rows = await BillingRunItem.select(BillingRunItem.tenant_id).where(
        (BillingRunItem.run_id == run_id) & (BillingRunItem.status == "pending")).order_by(BillingRunItem.tenant_id)
    return [r["tenant_id"] for r in rows]


async def leased_areas(tenant_ids: list[int]) -> dict[int, Decimal]:
    """Leased area per tenant: the sum of its units' areas (core.tenant_unit)."""
    return {r["tenant_id"]: r["area"] for r in await queries.leased_areas(tenant_ids)}


async def _period(run_id: int) -> dt.date:
    row = await BillingRun.select(BillingRun.period).where(BillingRun.id == run_id).first()
    if row is None:
        raise NotFound("No such billing run.")
    return row["period"]


async def bill_tenant(run_id: int, tenant_id: int, *, rule: LateFeeRule = LateFeeRule(),
                      period: dt.date | None = None, items: list[dict] | None = None,
                      area: Decimal | None = None, schema: str | None = None) -> dict:
    """Bill one tenant for the run's period in one transaction. Idempotent:
    an item already done is skipped; the charge index refuses doubles."""
    if period is None:
        period = await _period(run_id)
    if items is None:
        items = list((await fee_items_map()).values())
    if schema is None:
        row = await Tenant.select(Tenant.schema_name).where(Tenant.id == tenant_id).first()
        if row is None:
            raise NotFound("No such tenant.")
        schema = row["schema_name"]
    if area is None:
        area = (await leased_areas([tenant_id])).get(tenant_id, Decimal(0))
    async with tenant_tx(check_schema(schema)):
        status = await queries.lock_run_item(run_id, tenant_id)
        if status is None:
            raise NotFound("The tenant is not part of this run.")
        if status == "done":
            return {"tenant_id": tenant_id, "skipped": True, "charges": 0, "billed_fen": 0}
        locked = await summary.lock(tenant_id)
        subs = await queries.active_subscriptions()
        dues = await queries.open_dues_before(period) if rule.on else {}
        lines = compute_lines(period, items, area or Decimal(0), subs, dues, rule)
        inserted = await queries.insert_billed_charges(period, run_id, lines) if lines else []
        billed = sum(r["amount_fen"] for r in inserted)
        if inserted:
            await retention.touch(tenant_id, today())  # a billed charge is business (last business date)
            await changelog.record(changelog.Actor("system", "billing"), "charge", "billed", "",
                                   f"{period:%Y-%m}: {len(inserted)} charges, {billed / 100:.2f}")
            if locked["credit_fen"] > 0:
                await settle_from_credit(SYSTEM)
            await summary.refresh(tenant_id)
        await queries.finish_run_item(run_id, tenant_id, len(inserted), billed)
    return {"tenant_id": tenant_id, "skipped": False, "charges": len(inserted), "billed_fen": billed}


async def record_failure(run_id: int, tenant_id: int, error: str) -> None:
    await BillingRunItem.update({BillingRunItem.status: "failed", BillingRunItem.error: error[:2000],
                                 BillingRunItem.finished_at: queries.NOW}).where(
        (BillingRunItem.run_id == run_id) & (BillingRunItem.tenant_id == tenant_id)
        & (BillingRunItem.status == "pending"))


async def bill_many(run_id: int, tenant_ids: list[int], *, rule: LateFeeRule = LateFeeRule(),
                    should_stop=None) -> dict:
    """Bill a chunk of tenants, each in its own transaction; one failure does
    not stop the others (it is recorded on its item and retried on rerun)."""
    period = await _period(run_id)
    items = list((await fee_items_map()).values())
    areas = await leased_areas(tenant_ids)
    schemas = {r["id"]: r["schema_name"] for r in await Tenant.select(Tenant.id, Tenant.schema_name).where(
        Tenant.id.is_in(tenant_ids))} if tenant_ids else {}
    done = failed = 0
    for tenant_id in tenant_ids:
        if should_stop is not None and should_stop():
            break
        try:
            await bill_tenant(run_id, tenant_id, rule=rule, period=period, items=items,
                              area=areas.get(tenant_id, Decimal(0)), schema=schemas.get(tenant_id))
            done += 1
        except Exception as exc:  # recorded per tenant; the run goes on
            failed += 1
            await record_failure(run_id, tenant_id, f"{type(exc).__name__}: {exc}")
    await finish_if_complete(run_id)
    return {"done": done, "failed": failed}


async def finish_if_complete(run_id: int) -> bool:
    pending = BillingRunItem.select(BillingRunItem.run_id).where(
        (BillingRunItem.run_id == run_id) & (BillingRunItem.status == "pending"))
    done = await BillingRun.update({BillingRun.status: "done", BillingRun.finished_at: queries.NOW}).where(
        (BillingRun.id == run_id) & (BillingRun.status == "running") & BillingRun.id.not_in(pending)).returning(
        BillingRun.id)
    return bool(done)


async def run_progress(run_id: int) -> dict:
    run = await BillingRun.select(*BillingRun.all_columns(), QueryString(recovery.stalled_sql()).as_alias(
        "stalled")).where(BillingRun.id == run_id).first()
    if run is None:
        raise NotFound("No such billing run.")
    counts = {r["status"]: (r["n"], int(r["fen"] or 0)) for r in await BillingRunItem.select(
        BillingRunItem.status, Count(alias="n"), Sum(BillingRunItem.billed_fen, alias="fen")).where(
        BillingRunItem.run_id == run_id).group_by(BillingRunItem.status)}
    done = counts.get("done", (0, 0))
    failed = counts.get("failed", (0, 0))[0]
    total = run["total"] or 0
    pending = counts.get("pending", (0, 0))[0]
    return {
        **run, "done": done[0], "failed": failed, "pending": pending,
        "resumable": bool(failed) or bool(pending) and run["stalled"],
        "billed_fen": done[1], "percent": int(100 * (done[0] + failed) / total) if total else 100,
    }


async def list_runs(limit: int = 24) -> list[dict]:
    rows = await BillingRun.select(BillingRun.id).order_by(BillingRun.period, ascending=False).limit(limit)
    return [await run_progress(r["id"]) for r in rows]


async def failures(run_id: int, principal: Principal, limit: int = 50) -> list[dict]:
    """Tenants the run could not bill, limited to the buildings this person covers."""
    return await queries.run_failures(run_id, limit, scope_ids(principal))


def may_run(principal: Principal) -> None:
    if not principal.can(Perm.BILLING_RUN):
        raise Forbidden()
