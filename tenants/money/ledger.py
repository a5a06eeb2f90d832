"""The tenant's ledger: what every change shares, and reading it.

Every change (``deposits``, ``charges``, ``payments``) runs in one
``ledger_tx``: it first locks the tenant's core summary row (so two changes
for one tenant run one after the other), then the rows it allocates to
(``FOR UPDATE``), writes its rows and a change-log entry, rewrites the core
summary and the audit row, and commits all together. Nothing is edited in
place: a reversal, an adjustment, a deduction or a refund is a new row.
"""

from __future__ import annotations

import datetime as dt
from contextlib import asynccontextmanager
from functools import partial
from typing import Any, AsyncIterator, Mapping

from portal.core import audit
from portal.core.errors import Forbidden
from portal.core.forms import Form
from portal.core.roles import Perm, Principal
from tenants.file.changelog import Actor
from tenants.money import queries, summary
from tenants.money.allocation import OpenCharge
from tenants.money.amounts import parse_date, today
from tenants.money.tables import Charge, Deposit, DepositEntry, DepositKind, FeeItem, Notice
from tenants.registry.service import TenantRef
from tenants.scope import tenant_tx

METHODS = {
    "bank_transfer": "Bank transfer",
    "cash": "Cash",
    "cheque": "Cheque",
    "wechat": "WeChat Pay",
    "alipay": "Alipay",
    "card": "Bank card (POS)",
    "offset": "Offset against deposit",
}


def need(principal: Principal, perm: Perm) -> None:
    if not principal.can(perm):
        raise Forbidden()


def clip(raw: Mapping[str, Any], key: str, limit: int = 500) -> str:
    """A free-text field, stripped and cut to ``limit`` (longer input is not an error here)."""
    return str(raw.get(key) or "").strip()[:limit]


def required_text(form: Form, key: str, message: str, limit: int = 500) -> str:
    value = clip(form.raw, key, limit)
    if not value:
        form.fail(key, f"{key}.required", message)
    return value


def date_field(form: Form, key: str, *, not_future: bool = False) -> dt.date:
    """A date field, today when blank; an error (and today) when it is not a date."""
    value = form.run(key, partial(parse_date, default=today()), form.raw.get(key), default=today())
    if not_future and value > today():
        form.fail(key, f"{key}.future", "The date cannot be in the future.")
    return value


def actor(principal: Principal, approved_by: str = "") -> Actor:
    """The change log's actor for a ledger change made by ``principal``."""
    return Actor(principal.kind, principal.name, approved_by)


@asynccontextmanager
async def ledger_tx(ref: TenantRef) -> AsyncIterator[None]:
    """One ledger change: tenant_tx + the tenant's lock + the core summary rewrite."""
    async with tenant_tx(ref.schema):
        await summary.lock(ref.id)
        yield
        await summary.refresh(ref.id)


async def next_number(prefix: str, sequence: str = "core.receipt_seq", day: dt.date | None = None) -> str:
    """Office-wide numbers like SK2026-000123 (a rolled-back change leaves a gap)."""
    seq = await queries.next_in_sequence(sequence)
    return f"{prefix}{(day or today()).year}-{seq:06d}"


async def deposit_kinds(active_only: bool = True) -> dict[str, dict]:
    query = DepositKind.select(DepositKind.code, DepositKind.name, DepositKind.name_en, DepositKind.active)
    if active_only:
        query = query.where(DepositKind.active == True)  # noqa: E712 - a Piccolo expression
    return {r["code"]: r for r in await query.order_by(DepositKind.sort, DepositKind.code)}


async def fee_items_map(active_only: bool = False) -> dict[str, dict]:
    query = FeeItem.select()
    if active_only:
        query = query.where(FeeItem.active == True)  # noqa: E712 - a Piccolo expression
    return {r["code"]: r for r in await query.order_by(FeeItem.sort, FeeItem.code)}


async def open_charges(lock: bool = False) -> list[OpenCharge]:
    rows = await queries.charge_nets(open_only=True)
    if lock and rows:
        await Charge.select(Charge.id).where(Charge.id.is_in([r["id"] for r in rows])).order_by(
            Charge.id).lock_rows("UPDATE")
    return [OpenCharge(r["id"], r["due_date"], r["open_fen"]) for r in rows]


async def lock_deposit(deposit_id: int) -> bool:
    """Lock one deposit row; False when there is no such deposit."""
    return bool(await Deposit.select(Deposit.id).where(Deposit.id == deposit_id).lock_rows("UPDATE"))


async def _deposits_with_entries() -> list[dict[str, Any]]:
    """Deposits with their entries, running approved balance and pending total."""
    deposits = await Deposit.select().order_by(Deposit.id)
    entries = await DepositEntry.select().order_by(DepositEntry.entry_date, DepositEntry.id)
    for d in deposits:
        d["entries"] = []
        running = 0
        pending = 0
        for e in entries:
            if e["deposit_id"] != d["id"]:
                continue
            e = dict(e)
            if e["status"] == "approved":
                running += e["amount_fen"] if e["kind"] == "receipt" else -e["amount_fen"]
            elif e["status"] == "pending":
                pending += e["amount_fen"]
            e["running_fen"] = running
            d["entries"].append(e)
        d["balance_fen"] = running
        d["pending_fen"] = pending
    return deposits


async def read_ledger() -> dict[str, Any]:
    """Everything on the tenant's money tab, from the schema on the path."""
    charges = await queries.charge_nets(newest_first=True)
    adjustments = await Charge.select().where(Charge.kind == "adjustment").order_by(Charge.id)
    by_charge: dict[int, list] = {}
    for a in adjustments:
        by_charge.setdefault(a["adjusts_id"], []).append(a)
    for c in charges:
        c["adjustments"] = by_charge.get(c["id"], [])
    payments = await queries.payments_with_allocated()
    allocations = await queries.allocations_with_charge()
    from tenants.money.credits import credit_label  # credits builds on this module

    for p in payments:
        p["allocations"] = [a for a in allocations if a["payment_id"] == p["id"]]
        p["credit_label"] = credit_label(p["method"], p["reference"])  # an office credit names its source
    totals = await summary.compute()
    return {"charges": charges, "payments": payments, "deposits": await _deposits_with_entries(), "totals": totals}


NOTICE_LIST = (Notice.id, Notice.kind, Notice.number, Notice.title, Notice.issue_date, Notice.locale,
               Notice.amount_fen, Notice.visible_to_tenant, Notice.emailed_to, Notice.emailed_at,
               Notice.email_error, Notice.email_state, Notice.created_by, Notice.created_at)


async def overview(ref: TenantRef, principal: Principal, *, audit_view: bool = True) -> dict[str, Any]:
    if principal.is_staff:
        need(principal, Perm.MONEY_READ)
    elif not (principal.is_portal and principal.tenant_id == ref.id):
        raise Forbidden()
    async with tenant_tx(ref.schema):
        data = await read_ledger()
        notices = Notice.select(*NOTICE_LIST)
        if not principal.is_staff:
            notices = notices.where(Notice.visible_to_tenant == True)  # noqa: E712 - a Piccolo expression
        data["notices"] = await notices.order_by(Notice.issue_date, Notice.id, ascending=False)
        if principal.is_staff and audit_view:
            await audit.record("money.view", principal=principal, tenant_id=ref.id, target=ref.archive_no)
    return data
