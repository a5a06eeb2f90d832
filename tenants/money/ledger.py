"""The tenant's ledger: deposits, charges, payments and their allocation.

Every change runs in one ``tenant_tx``: it first locks the tenant's core
summary row (so two changes for one tenant run one after the other), then the
charges it allocates to (``FOR UPDATE``), writes its rows and a change-log
entry, rewrites the core summary and the audit row, and commits all together.
Nothing is edited in place: a reversal, an adjustment, a deduction or a refund
is a new row.
"""

from __future__ import annotations

import datetime as dt
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, Mapping

from portal.core import audit
from portal.core import approvals
from portal.core.roles import Perm, Principal
from portal.core.db import DB
from portal.core.errors import Conflict, Forbidden, FormErrors, NotFound
from tenants.money import summary
from tenants.money.allocation import AllocationError, OpenCharge, allocate_chosen, allocate_oldest_first
from tenants.money.amounts import AmountError, add_months, month_start, parse_date, parse_fen, today
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
ENTRY_KINDS = {"receipt": "Received", "deduction": "Deduction", "refund": "Refund"}


def need(principal: Principal, perm: Perm) -> None:
    if not principal.can(perm):
        raise Forbidden()


def _text(raw: Mapping[str, Any], key: str, limit: int = 500) -> str:
    return str(raw.get(key) or "").strip()[:limit]


class _Form:
    """Collects field errors while cleaning a form; raises them all at once."""

    def __init__(self, raw: Mapping[str, Any]):
        self.raw = raw
        self.errors: dict[str, str] = {}

    def fen(self, key: str, **kw) -> int:
        try:
            return parse_fen(self.raw.get(key), **kw)
        except AmountError as exc:
            self.errors[key] = str(exc)
            return 0

    def date(self, key: str, default: dt.date | None = None, not_future: bool = False) -> dt.date:
        try:
            value = parse_date(self.raw.get(key), default=default)
        except AmountError as exc:
            self.errors[key] = str(exc)
            return today()
        if not_future and value > today():
            self.errors[key] = "The date cannot be in the future."
        return value

    def choice(self, key: str, options, default: str | None = None) -> str:
        value = _text(self.raw, key) or (default or "")
        if value not in options:
            self.errors[key] = "Choose one of the options."
        return value

    def required(self, key: str, message: str = "This field is required.", limit: int = 500) -> str:
        value = _text(self.raw, key, limit)
        if not value:
            self.errors[key] = message
        return value

    def check(self) -> None:
        if self.errors:
            raise FormErrors(self.errors)


async def _log(conn, principal: Principal, entity: str, entity_id: int | None, field: str, old, new,
               approved_by: str = "") -> None:
    await conn.execute(
        "INSERT INTO change_log (actor_kind, actor_name, approved_by, entity, entity_id, field, old_value, new_value)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        principal.kind, principal.name, approved_by, entity, entity_id, field,
        "" if old is None else str(old), "" if new is None else str(new),
    )


@asynccontextmanager
async def ledger_tx(ref: TenantRef) -> AsyncIterator[Any]:
    """One ledger change: tenant_tx + the tenant's lock + the core summary rewrite."""
    async with tenant_tx(ref.schema) as tx:
        conn = tx.connection
        await summary.lock(conn, ref.id)
        yield conn
        await summary.refresh(conn, ref.id)


async def next_number(conn, prefix: str, sequence: str = "core.receipt_seq", day: dt.date | None = None) -> str:
    """Office-wide numbers like SK2026-000123 (a rolled-back change leaves a gap)."""
    seq = await conn.fetchval(f"SELECT nextval('{sequence}')")
    return f"{prefix}{(day or today()).year}-{seq:06d}"


async def deposit_kinds(active_only: bool = True) -> dict[str, dict]:
    rows = await DB.pool.fetch(
        "SELECT code, name, name_en, active FROM core.deposit_kind"
        + (" WHERE active" if active_only else "") + " ORDER BY sort, code")
    return {r["code"]: dict(r) for r in rows}


async def fee_items_map(active_only: bool = False) -> dict[str, dict]:
    rows = await DB.pool.fetch(
        "SELECT * FROM core.fee_item" + (" WHERE active" if active_only else "") + " ORDER BY sort, code")
    return {r["code"]: dict(r) for r in rows}


# --- reading ------------------------------------------------------------------------------------

async def open_charges(conn, lock: bool = False) -> list[OpenCharge]:
    rows = await conn.fetch(f"SELECT * FROM ({summary.CHARGE_NET}) n WHERE open_fen > 0 ORDER BY due_date, id")
    if lock and rows:
        await conn.execute("SELECT 1 FROM charge WHERE id = ANY($1::int[]) ORDER BY id FOR UPDATE",
                           [r["id"] for r in rows])
    return [OpenCharge(r["id"], r["due_date"], r["open_fen"]) for r in rows]


async def read_ledger(conn) -> dict[str, Any]:
    """Everything on the tenant's money tab, from the schema on the path."""
    charges = [dict(r) for r in await conn.fetch(f"{summary.CHARGE_NET} ORDER BY c.due_date DESC, c.id DESC")]
    adjustments = await conn.fetch("SELECT * FROM charge WHERE kind = 'adjustment' ORDER BY id")
    by_charge: dict[int, list] = {}
    for a in adjustments:
        by_charge.setdefault(a["adjusts_id"], []).append(dict(a))
    for c in charges:
        c["adjustments"] = by_charge.get(c["id"], [])
    payments = [dict(r) for r in await conn.fetch(
        "SELECT p.*, coalesce((SELECT sum(a.amount_fen) FROM allocation a WHERE a.payment_id = p.id), 0)::bigint"
        " AS allocated_fen, EXISTS (SELECT 1 FROM payment r WHERE r.reverses_id = p.id) AS reversed"
        " FROM payment p ORDER BY p.paid_on DESC, p.id DESC")]
    allocations = await conn.fetch(
        "SELECT a.*, c.description, c.fee_item, c.due_date FROM allocation a JOIN charge c ON c.id = a.charge_id ORDER BY a.id")
    for p in payments:
        p["allocations"] = [dict(a) for a in allocations if a["payment_id"] == p["id"]]
    deposits = [dict(r) for r in await conn.fetch("SELECT * FROM deposit ORDER BY id")]
    entries = await conn.fetch("SELECT * FROM deposit_entry ORDER BY entry_date, id")
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
    totals = await summary.compute(conn)
    return {"charges": charges, "payments": payments, "deposits": deposits, "totals": totals}


async def overview(ref: TenantRef, principal: Principal, *, audit_view: bool = True) -> dict[str, Any]:
    if principal.is_staff:
        need(principal, Perm.MONEY_READ)
    elif not (principal.is_portal and principal.tenant_id == ref.id):
        raise Forbidden()
    async with tenant_tx(ref.schema) as tx:
        data = await read_ledger(tx.connection)
        data["notices"] = [dict(r) for r in await tx.connection.fetch(
            "SELECT id, kind, number, title, issue_date, locale, amount_fen, visible_to_tenant, emailed_to,"
            " emailed_at, email_error, email_state, created_by, created_at FROM notice"
            + ("" if principal.is_staff else " WHERE visible_to_tenant") + " ORDER BY issue_date DESC, id DESC")]
        if principal.is_staff and audit_view:
            await audit.record("money.view", principal=principal, tenant_id=ref.id, target=ref.archive_no)
    return data


# --- deposits -----------------------------------------------------------------------------------

async def _deposit_balance(conn, deposit_id: int) -> tuple[int, int]:
    """(approved balance, pending deductions + refunds) of one deposit."""
    row = await conn.fetchrow(
        "SELECT coalesce(sum(CASE WHEN status = 'approved' THEN (CASE kind WHEN 'receipt' THEN amount_fen"
        " ELSE -amount_fen END) END), 0)::bigint AS balance,"
        " coalesce(sum(amount_fen) FILTER (WHERE status = 'pending'), 0)::bigint AS pending"
        " FROM deposit_entry WHERE deposit_id = $1", deposit_id)
    return row["balance"], row["pending"]


async def receive_deposit(ref: TenantRef, raw: Mapping[str, Any], principal: Principal) -> int:
    """Record money received as a deposit (a new deposit of ``kind``, or more on
    ``deposit_id``). Returns the entry id."""
    need(principal, Perm.MONEY_WRITE)
    form = _Form(raw)
    kinds = await deposit_kinds()
    deposit_id = raw.get("deposit_id")
    if not deposit_id:
        kind = form.choice("kind", kinds)
    amount = form.fen("amount")
    entry_date = form.date("entry_date", default=today(), not_future=True)
    method = form.choice("method", METHODS, "bank_transfer")
    receipt_no = _text(raw, "receipt_no", 40)
    title = _text(raw, "title", 200)
    form.check()
    async with ledger_tx(ref) as conn:
        if deposit_id:
            if not await conn.fetchval("SELECT 1 FROM deposit WHERE id = $1 FOR UPDATE", int(deposit_id)):
                raise NotFound("No such deposit.")
            deposit_id = int(deposit_id)
        else:
            deposit_id = await conn.fetchval(
                "INSERT INTO deposit (kind, title, agreed_fen, created_by) VALUES ($1, $2, $3, $4) RETURNING id",
                kind, title, amount, principal.name)
        receipt_no = receipt_no or await next_number(conn, "YJ", day=entry_date)
        entry_id = await conn.fetchval(
            "INSERT INTO deposit_entry (deposit_id, kind, amount_fen, entry_date, method, receipt_no, status,"
            " recorded_by, recorded_by_id) VALUES ($1, 'receipt', $2, $3, $4, $5, 'approved', $6, $7) RETURNING id",
            deposit_id, amount, entry_date, method, receipt_no, principal.name, principal.user_id)
        await _log(conn, principal, "deposit", deposit_id, "received", "", f"{amount / 100:.2f} {receipt_no}")
        await audit.record("money.deposit.receive", principal=principal, tenant_id=ref.id,
                           target=f"deposit:{deposit_id}", detail={"fen": amount, "receipt_no": receipt_no})
    return entry_id


async def request_deposit_release(ref: TenantRef, deposit_id: int, kind: str, raw: Mapping[str, Any],
                                  principal: Principal) -> int:
    """A deduction (with a reason) or a refund, waiting for a second person."""
    need(principal, Perm.MONEY_WRITE)
    if kind not in ("deduction", "refund"):
        raise FormErrors({"kind": "Choose one of the options."})
    form = _Form(raw)
    amount = form.fen("amount")
    entry_date = form.date("entry_date", default=today())
    reason = form.required("reason", "Give the reason for the deduction.") if kind == "deduction" \
        else _text(raw, "reason")
    method = form.choice("method", METHODS, "bank_transfer") if kind == "refund" else ""
    form.check()
    async with ledger_tx(ref) as conn:
        if not await conn.fetchval("SELECT 1 FROM deposit WHERE id = $1 FOR UPDATE", deposit_id):
            raise NotFound("No such deposit.")
        balance, pending = await _deposit_balance(conn, deposit_id)
        if amount > balance - pending:
            raise FormErrors({"amount": "More than the deposit balance (less what already waits for approval)."})
        entry_id = await conn.fetchval(
            "INSERT INTO deposit_entry (deposit_id, kind, amount_fen, entry_date, method, reason, status,"
            " recorded_by, recorded_by_id) VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, $8) RETURNING id",
            deposit_id, kind, amount, entry_date, method, reason, principal.name, principal.user_id)
        await _log(conn, principal, "deposit", deposit_id, f"{kind}_requested", "", f"{amount / 100:.2f} {reason}")
        await audit.record(f"money.deposit.{kind}.request", principal=principal, tenant_id=ref.id,
                           target=f"deposit_entry:{entry_id}", detail={"fen": amount, "reason": reason})
    return entry_id


def _release_flow(kind: str) -> approvals.Flow:
    """A deduction or refund waits for one second person who may approve money."""
    return approvals.Flow(
        name=f"money.deposit.{kind}",
        steps=(approvals.Step("approve", "Second-person approval", perm=Perm.MONEY_APPROVE, not_requester=True),),
        reason_field="note",
    )


RELEASE_FLOWS = {kind: _release_flow(kind) for kind in ("deduction", "refund")}


def _release_case(entry: Mapping[str, Any]) -> approvals.Case:
    """The approval state of a deposit entry, from its own columns."""
    pending = entry["status"] == "pending"
    return approvals.Case(
        requester_id=entry["recorded_by_id"], step="approve" if pending else None,
        outcome=approvals.Outcome(entry["status"]),
        actors={} if pending or entry["decided_by_id"] is None else {"approve": entry["decided_by_id"]},
    )


async def decide_deposit_entry(ref: TenantRef, entry_id: int, approve: bool, principal: Principal,
                               note: str = "") -> None:
    """Approve or reject a pending deduction/refund: never by the person who recorded it."""
    need(principal, Perm.MONEY_APPROVE)
    decision = approvals.Decision.APPROVE if approve else approvals.Decision.REJECT
    async with ledger_tx(ref) as conn:
        entry = await conn.fetchrow("SELECT deposit_id FROM deposit_entry WHERE id = $1", entry_id)
        if entry is None:
            raise NotFound("No such entry.")
        await conn.execute("SELECT 1 FROM deposit WHERE id = $1 FOR UPDATE", entry["deposit_id"])
        entry = await conn.fetchrow("SELECT * FROM deposit_entry WHERE id = $1", entry_id)
        if entry["kind"] not in RELEASE_FLOWS:
            raise Conflict("This entry has already been decided.")
        decided = approvals.decide(RELEASE_FLOWS[entry["kind"]], _release_case(entry), principal, decision, reason=note)
        if approve:
            balance, _ = await _deposit_balance(conn, entry["deposit_id"])
            if entry["amount_fen"] > balance:
                raise Conflict("The deposit balance is too small for this entry.")
        await conn.execute(
            "UPDATE deposit_entry SET status = $2, decided_by = $3, decided_by_id = $4, decided_at = now(),"
            " decision_note = $5 WHERE id = $1",
            entry_id, decided.after.outcome.value, principal.name, principal.user_id, decided.reason)
        await _log(conn, principal, "deposit", entry["deposit_id"], f"{entry['kind']}_{decided.after.outcome.value}",
                   "", f"{entry['amount_fen'] / 100:.2f} {entry['reason']} {decided.reason}".strip(),
                   approved_by=principal.name)
        await approvals.record(decided, principal, tenant_id=ref.id, target=f"deposit_entry:{entry_id}",
                               detail={"note": decided.reason})


# --- charges ------------------------------------------------------------------------------------

async def add_manual_charge(ref: TenantRef, raw: Mapping[str, Any], principal: Principal) -> int:
    """A charge raised by hand (utilities reading, repair at the tenant's cost, ...)."""
    need(principal, Perm.MONEY_WRITE)
    items = await fee_items_map()
    form = _Form(raw)
    fee_item = form.choice("fee_item", items)
    amount = form.fen("amount")
    due_date = form.date("due_date", default=today())
    description = _text(raw, "description", 200) or (items.get(fee_item) or {}).get("name", "")
    reason = form.required("reason", "Give the reason for this charge.")
    form.check()
    async with ledger_tx(ref) as conn:
        charge_id = await conn.fetchval(
            "INSERT INTO charge (kind, fee_item, period, description, amount_fen, due_date, reason, created_by)"
            " VALUES ('manual', $1, $2, $3, $4, $5, $6, $7) RETURNING id",
            fee_item, month_start(due_date), description, amount, due_date, reason, principal.name)
        await _log(conn, principal, "charge", charge_id, "created", "", f"{description} {amount / 100:.2f} ({reason})")
        await _apply_credit(conn, principal)
        await audit.record("money.charge.manual", principal=principal, tenant_id=ref.id, target=f"charge:{charge_id}",
                           detail={"fen": amount, "reason": reason})
    return charge_id


async def adjust_charge(ref: TenantRef, charge_id: int, raw: Mapping[str, Any], principal: Principal) -> int:
    """A signed adjustment of a charge, with a reason. A reduction cannot go
    below what has been paid on the charge (reverse the payment first)."""
    need(principal, Perm.MONEY_WRITE)
    form = _Form(raw)
    amount = form.fen("amount", allow_negative=True)
    reason = form.required("reason", "Give the reason for the adjustment.")
    form.check()
    async with ledger_tx(ref) as conn:
        charge = await conn.fetchrow(
            f"SELECT * FROM ({summary.CHARGE_NET}) n WHERE id = $1", charge_id)
        if charge is None:
            raise NotFound("No such charge.")
        await conn.execute("SELECT 1 FROM charge WHERE id = $1 FOR UPDATE", charge_id)
        if amount < 0 and -amount > charge["open_fen"]:
            raise FormErrors({"amount": "The reduction is more than the open amount of the charge."})
        adj_id = await conn.fetchval(
            "INSERT INTO charge (kind, fee_item, period, description, amount_fen, due_date, adjusts_id, reason,"
            " created_by) VALUES ('adjustment', $1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
            charge["fee_item"], charge["period"], charge["description"], amount, charge["due_date"], charge_id,
            reason, principal.name)
        await _log(conn, principal, "charge", charge_id, "adjusted", f"{charge['net_fen'] / 100:.2f}",
                   f"{(charge['net_fen'] + amount) / 100:.2f} ({reason})")
        if amount > 0:
            await _apply_credit(conn, principal)
        await audit.record("money.charge.adjust", principal=principal, tenant_id=ref.id, target=f"charge:{charge_id}",
                           detail={"fen": amount, "reason": reason})
    return adj_id


# --- payments -----------------------------------------------------------------------------------

def parse_chosen(raw: Mapping[str, Any]) -> dict[int, int]:
    """Staff-chosen allocation from fields ``alloc_<charge id>``."""
    chosen: dict[int, int] = {}
    errors: dict[str, str] = {}
    for key, value in raw.items():
        if not key.startswith("alloc_") or str(value or "").strip() == "":
            continue
        try:
            charge_id = int(key[len("alloc_"):])
        except ValueError:
            continue
        try:
            chosen[charge_id] = parse_fen(value, allow_zero=True)
        except AmountError as exc:
            errors[key] = str(exc)
    if errors:
        raise FormErrors(errors)
    return chosen


async def _insert_allocations(conn, payment_id: int, parts: list[tuple[int, int]], principal: Principal) -> int:
    if parts:
        await conn.executemany(
            "INSERT INTO allocation (payment_id, charge_id, amount_fen, created_by) VALUES ($1, $2, $3, $4)",
            [(payment_id, cid, fen, principal.name) for cid, fen in parts])
    return sum(fen for _, fen in parts)


async def _credit_sources(conn) -> list[tuple[int, int]]:
    """(payment id, unallocated fen) of payments not reversed, oldest first."""
    rows = await conn.fetch(
        "SELECT p.id, p.amount_fen - coalesce((SELECT sum(a.amount_fen) FROM allocation a WHERE a.payment_id = p.id),"
        " 0) AS left_fen FROM payment p WHERE p.kind = 'payment'"
        " AND NOT EXISTS (SELECT 1 FROM payment r WHERE r.reverses_id = p.id) ORDER BY p.paid_on, p.id FOR UPDATE")
    return [(r["id"], r["left_fen"]) for r in rows if r["left_fen"] > 0]


async def _apply_credit(conn, principal: Principal, chosen: Mapping[int, int] | None = None) -> int:
    """Settle open charges from the tenant's credit (unallocated payments)."""
    sources = await _credit_sources(conn)
    if not sources:
        if chosen:
            raise FormErrors({"allocation": "There is no credit to allocate."})
        return 0
    charges = await open_charges(conn, lock=True)
    available = sum(left for _, left in sources)
    try:
        wanted = allocate_chosen(available, charges, chosen) if chosen else allocate_oldest_first(available, charges)
    except AllocationError as exc:
        raise FormErrors({exc.field: exc.message}) from None
    total = 0
    queue = list(wanted)
    for payment_id, left in sources:
        parts = []
        while queue and left > 0:
            charge_id, fen = queue[0]
            part = min(fen, left)
            parts.append((charge_id, part))
            left -= part
            if part == fen:
                queue.pop(0)
            else:
                queue[0] = (charge_id, fen - part)
        total += await _insert_allocations(conn, payment_id, parts, principal)
    return total


async def record_payment(ref: TenantRef, raw: Mapping[str, Any], principal: Principal) -> int:
    """Record money received. ``allocate``: 'oldest' (default) or 'chosen' with
    ``alloc_<charge id>`` amounts. Whatever is left stays as credit."""
    need(principal, Perm.MONEY_WRITE)
    form = _Form(raw)
    amount = form.fen("amount")
    paid_on = form.date("paid_on", default=today(), not_future=True)
    method = form.choice("method", METHODS, "bank_transfer")
    reference = _text(raw, "reference", 100)
    note = _text(raw, "note", 500)
    mode = _text(raw, "allocate") or "oldest"
    if mode not in ("oldest", "chosen", "none"):
        form.errors["allocate"] = "Choose one of the options."
    chosen: dict[int, int] = {}
    if mode == "chosen":
        try:
            chosen = parse_chosen(raw)
        except FormErrors as exc:
            form.errors.update(exc.fields)
    form.check()
    async with ledger_tx(ref) as conn:
        charges = await open_charges(conn, lock=True)
        try:
            if mode == "chosen":
                parts = allocate_chosen(amount, charges, chosen)
            elif mode == "oldest":
                parts = allocate_oldest_first(amount, charges)
            else:
                parts = []
        except AllocationError as exc:
            raise FormErrors({exc.field: exc.message}) from None
        receipt_no = await next_number(conn, "SK", day=paid_on)
        payment_id = await conn.fetchval(
            "INSERT INTO payment (kind, amount_fen, paid_on, method, reference, receipt_no, note, recorded_by,"
            " recorded_by_id) VALUES ('payment', $1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
            amount, paid_on, method, reference, receipt_no, note, principal.name, principal.user_id)
        allocated = await _insert_allocations(conn, payment_id, parts, principal)
        await _log(conn, principal, "payment", payment_id, "recorded", "",
                   f"{amount / 100:.2f} {METHODS[method]} {reference} {receipt_no}".strip())
        await audit.record("money.payment.record", principal=principal, tenant_id=ref.id,
                           target=f"payment:{payment_id}",
                           detail={"fen": amount, "allocated_fen": allocated, "receipt_no": receipt_no})
    return payment_id


async def apply_credit(ref: TenantRef, raw: Mapping[str, Any], principal: Principal) -> int:
    """Allocate the tenant's credit, oldest first or as chosen. Returns fen allocated."""
    need(principal, Perm.MONEY_WRITE)
    chosen = parse_chosen(raw) if _text(raw, "allocate") == "chosen" else None
    async with ledger_tx(ref) as conn:
        total = await _apply_credit(conn, principal, chosen)
        if total:
            await _log(conn, principal, "payment", None, "credit_allocated", "", f"{total / 100:.2f}")
            await audit.record("money.credit.allocate", principal=principal, tenant_id=ref.id, detail={"fen": total})
    return total


async def reverse_payment(ref: TenantRef, payment_id: int, reason: str, principal: Principal) -> int:
    """Reverse a payment with a new entry (negative payment and allocations);
    the charges it settled are open again."""
    need(principal, Perm.MONEY_WRITE)
    reason = (reason or "").strip()[:500]
    if not reason:
        raise FormErrors({"reason": "Give the reason for the reversal."})
    async with ledger_tx(ref) as conn:
        payment = await conn.fetchrow("SELECT * FROM payment WHERE id = $1 FOR UPDATE", payment_id)
        if payment is None:
            raise NotFound("No such payment.")
        if payment["kind"] != "payment" or await conn.fetchval(
                "SELECT 1 FROM payment WHERE reverses_id = $1", payment_id):
            raise Conflict("This payment has already been reversed.")
        reversal_id = await conn.fetchval(
            "INSERT INTO payment (kind, amount_fen, paid_on, method, reference, receipt_no, reverses_id, note,"
            " recorded_by, recorded_by_id) VALUES ('reversal', $1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
            -payment["amount_fen"], today(), payment["method"], payment["reference"],
            await next_number(conn, "CX"), payment_id, reason, principal.name, principal.user_id)
        rows = await conn.fetch(
            "SELECT charge_id, sum(amount_fen)::bigint AS fen FROM allocation WHERE payment_id = $1"
            " GROUP BY charge_id HAVING sum(amount_fen) <> 0", payment_id)
        await _insert_allocations(conn, reversal_id, [(r["charge_id"], -r["fen"]) for r in rows], principal)
        await _log(conn, principal, "payment", payment_id, "reversed", f"{payment['amount_fen'] / 100:.2f}",
                   f"0.00 ({reason})")
        await audit.record("money.payment.reverse", principal=principal, tenant_id=ref.id,
                           target=f"payment:{payment_id}", detail={"reason": reason})
    return reversal_id


# --- subscriptions (recurring 'fixed' items such as parking) ---------------------------------------

async def add_subscription(ref: TenantRef, raw: Mapping[str, Any], principal: Principal) -> int:
    need(principal, Perm.MONEY_WRITE)
    items = {k: v for k, v in (await fee_items_map(active_only=True)).items() if v["basis"] == "fixed"}
    form = _Form(raw)
    fee_item = form.choice("fee_item", items)
    quantity_text = _text(raw, "quantity") or "1"
    try:
        quantity_fen = parse_fen(quantity_text)
    except AmountError as exc:
        form.errors["quantity"] = str(exc)
        quantity_fen = 100
    form.check()
    from decimal import Decimal

    async with tenant_tx(ref.schema) as tx:
        sub_id = await tx.connection.fetchval(
            "INSERT INTO fee_subscription (fee_item, quantity, description, created_by) VALUES ($1, $2, $3, $4)"
            " RETURNING id", fee_item, Decimal(quantity_fen) / 100, _text(raw, "description", 200), principal.name)
        await _log(tx.connection, principal, "fee_subscription", sub_id, "created", "",
                   f"{fee_item} x {Decimal(quantity_fen) / 100}")
    return sub_id


def next_period(day: dt.date | None = None) -> dt.date:
    return add_months(month_start(day or today()), 1)
