"""Payments: money received and allocated to open charges (oldest first or as
staff choose), the tenant's credit, and reversals."""

from __future__ import annotations

from typing import Any, Mapping

from portal.core import audit
from portal.core.errors import Conflict, FormErrors, NotFound
from portal.core.forms import Form
from portal.core.roles import Perm, Principal
from piccolo.query.functions import Sum
from tenants.file import changelog
from tenants.money import queries
from tenants.money.allocation import AllocationError, allocate_chosen, allocate_oldest_first
from tenants.money.amounts import AmountError, parse_fen, today
from tenants.money.ledger import METHODS, actor, clip, date_field, ledger_tx, need, next_number, open_charges
from tenants.money.tables import Allocation, Payment
from tenants.registry.service import TenantRef
from tenants.retention import service as retention


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
            errors[key] = exc.message
    if errors:
        raise FormErrors(errors)
    return chosen


async def _insert_allocations(payment_id: int, parts: list[tuple[int, int]], principal: Principal) -> int:
    if parts:
        await Allocation.insert(*(
            Allocation(payment_id=payment_id, charge_id=charge_id, amount_fen=fen, created_by=principal.name)
            for charge_id, fen in parts)).run()
    return sum(fen for _, fen in parts)


async def settle_from_credit(principal: Principal, chosen: Mapping[int, int] | None = None) -> int:
    """Settle open charges from the tenant's credit (unallocated payments), in
    the caller's ``ledger_tx``. Returns the fen allocated."""
    sources = [(r["id"], r["left_fen"]) for r in await queries.lock_credit_sources() if r["left_fen"] > 0]
    if not sources:
        if chosen:
            raise FormErrors({"allocation": "There is no credit to allocate."})
        return 0
    charges = await open_charges(lock=True)
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
        total += await _insert_allocations(payment_id, parts, principal)
    return total


async def record_payment(ref: TenantRef, raw: Mapping[str, Any], principal: Principal) -> int:
    """Record money received. ``allocate``: 'oldest' (default) or 'chosen' with
    ``alloc_<charge id>`` amounts. Whatever is left stays as credit."""
    need(principal, Perm.MONEY_WRITE)
    form = Form(raw)
    amount = form.run("amount", parse_fen, raw.get("amount"), default=0)
    paid_on = date_field(form, "paid_on", not_future=True)
    method = form.choice("method", METHODS, default="bank_transfer")
    reference = clip(raw, "reference", 100)
    note = clip(raw, "note", 500)
    mode = clip(raw, "allocate") or "oldest"
    if mode not in ("oldest", "chosen", "none"):
        form.fail("allocate", "allocate.choice", "Choose one of the options.")
    chosen: dict[int, int] = {}
    if mode == "chosen":
        try:
            chosen = parse_chosen(raw)
        except FormErrors as exc:
            for field, message in exc.fields.items():
                form.fail(field, "invalid", message)
    form.check()
    async with ledger_tx(ref):
        charges = await open_charges(lock=True)
        try:
            if mode == "chosen":
                parts = allocate_chosen(amount, charges, chosen)
            elif mode == "oldest":
                parts = allocate_oldest_first(amount, charges)
            else:
                parts = []
        except AllocationError as exc:
            raise FormErrors({exc.field: exc.message}) from None
        receipt_no = await next_number("SK", day=paid_on)
        [row] = await Payment.insert(Payment(
            kind="payment", amount_fen=amount, paid_on=paid_on, method=method, reference=reference,
            receipt_no=receipt_no, note=note, recorded_by=principal.name, recorded_by_id=principal.user_id,
        )).returning(Payment.id).run()
        payment_id = row["id"]
        allocated = await _insert_allocations(payment_id, parts, principal)
        await retention.touch(ref.id, paid_on)  # a payment is business (last business date)
        await changelog.record(actor(principal), "payment", "recorded", "",
                               f"{amount / 100:.2f} {METHODS[method]} {reference} {receipt_no}".strip(),
                               entity_id=payment_id)
        await audit.record("money.payment.record", principal=principal, tenant_id=ref.id,
                           target=f"payment:{payment_id}",
                           detail={"fen": amount, "allocated_fen": allocated, "receipt_no": receipt_no})
    return payment_id


async def apply_credit(ref: TenantRef, raw: Mapping[str, Any], principal: Principal) -> int:
    """Allocate the tenant's credit, oldest first or as chosen. Returns fen allocated."""
    need(principal, Perm.MONEY_WRITE)
    chosen = parse_chosen(raw) if clip(raw, "allocate") == "chosen" else None
    async with ledger_tx(ref):
        total = await settle_from_credit(principal, chosen)
        if total:
            await changelog.record(actor(principal), "payment", "credit_allocated", "", f"{total / 100:.2f}")
            await audit.record("money.credit.allocate", principal=principal, tenant_id=ref.id, detail={"fen": total})
    return total


async def reverse_payment(ref: TenantRef, payment_id: int, reason: str, principal: Principal) -> int:
    """Reverse a payment with a new entry (negative payment and allocations);
    the charges it settled are open again."""
    need(principal, Perm.MONEY_WRITE)
    reason = (reason or "").strip()[:500]
    if not reason:
        raise FormErrors({"reason": "Give the reason for the reversal."})
    async with ledger_tx(ref):
        payment = await Payment.select().where(Payment.id == payment_id).lock_rows("UPDATE").first()
        if payment is None:
            raise NotFound("No such payment.")
        if payment["kind"] != "payment" or await Payment.exists().where(Payment.reverses_id == payment_id):
            raise Conflict("This payment has already been reversed.")
        [row] = await Payment.insert(Payment(
            kind="reversal", amount_fen=-payment["amount_fen"], paid_on=today(), method=payment["method"],
            reference=payment["reference"], receipt_no=await next_number("CX"), reverses_id=payment_id, note=reason,
            recorded_by=principal.name, recorded_by_id=principal.user_id,
        )).returning(Payment.id).run()
        reversal_id = row["id"]
        settled = await Allocation.select(Allocation.charge_id, Sum(Allocation.amount_fen, alias="fen")).where(
            Allocation.payment_id == payment_id).group_by(Allocation.charge_id).order_by(Allocation.charge_id)
        undone = [(r["charge_id"], -int(r["fen"])) for r in settled if r["fen"]]
        await _insert_allocations(reversal_id, undone, principal)
        await changelog.record(actor(principal), "payment", "reversed", f"{payment['amount_fen'] / 100:.2f}",
                               f"0.00 ({reason})", entity_id=payment_id)
        await audit.record("money.payment.reverse", principal=principal, tenant_id=ref.id,
                           target=f"payment:{payment_id}", detail={"reason": reason})
    return reversal_id
