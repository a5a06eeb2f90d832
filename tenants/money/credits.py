"""Credits granted by the office: a discount or compensation (today from a
complaint's money remedy) becomes a non-cash credit entry in the ledger.

The entry is a ``payment`` row of its own method (``CREDIT_METHODS``, never
offered on the payment form, so staff cannot record one by hand: only a
domain's flow grants it), with the source's number as its reference and its
own receipt number (JM…, 减免). Allocation treats it like any unallocated
payment: it settles open charges oldest first at once, and what is left stays
as the tenant's credit for later charges (``payments.settle_from_credit``).

``grant_in_tx`` works INSIDE the caller's ``tenant_tx`` (the complaint's
decision), so the credit commits or rolls back with the decision that grants
it. It takes the tenant's ledger lock (``summary.lock``) first, which also
makes "one credit per source" race-free: the existence check and the insert
run under that lock, so a repeated decision or a redelivered task finds the
first credit and adds nothing.
"""

from __future__ import annotations

from typing import Any

from portal.core import audit
from portal.core.errors import Conflict, FormErrors
from portal.core.i18n import N_
from portal.core.roles import Principal
from tenants.file import changelog
from tenants.money import summary
from tenants.money.allocation import allocate_oldest_first
from tenants.money.amounts import today
from tenants.money.ledger import actor, next_number, open_charges
from tenants.money.payments import _insert_allocations
from tenants.money.tables import Payment
from tenants.registry.service import TenantRef

# method -> its label on pages, statements and receipts ("%(number)s": the source's number).
CREDIT_METHODS = {
    "complaint_discount": N_("Discount (complaint %(number)s)"),
    "complaint_compensation": N_("Compensation (complaint %(number)s)"),
}
MAX_CREDIT_FEN = 100_000_000_00  # one hundred million yuan, as the complaint form bounds it


def credit_label(method: str, reference: str, gettext=None) -> str:
    """'Discount (complaint TS2026-000012)' in the reader's language ('' when not a credit)."""
    msgid = CREDIT_METHODS.get(method)
    if msgid is None:
        return ""
    if gettext is None:
        from portal.core.i18n import gettext
    return gettext(msgid) % {"number": reference}


def check_amount(fen: Any) -> int:
    """A credit is a whole number of fen, positive and bounded."""
    if isinstance(fen, bool) or not isinstance(fen, int) or not 0 < fen <= MAX_CREDIT_FEN:
        raise FormErrors({"amount": "Enter an amount greater than zero."})
    return fen


async def find(method: str, reference: str) -> dict[str, Any] | None:
    """The credit already granted for a source, in the tenant schema on the path."""
    return await Payment.select().where(
        (Payment.kind == "payment") & (Payment.method == method) & (Payment.reference == reference)
    ).order_by(Payment.id).first()


async def for_complaint(number: str) -> dict[str, Any] | None:
    """The credit a complaint's money remedy granted, if any (either kind), with its label."""
    for method in CREDIT_METHODS:
        row = await find(method, number)
        if row is not None:
            row = dict(row)
            row["reversed"] = await Payment.exists().where(Payment.reverses_id == row["id"])
            return row
    return None


async def grant_in_tx(ref: TenantRef, *, method: str, reference: str, fen: int, principal: Principal,
                      note: str = "") -> int:
    """Grant a credit of ``fen`` to the tenant, in the caller's ``tenant_tx``:
    the entry, its allocation to open charges (oldest first), the change log,
    the audit row and the money summary. Exactly once per (method, reference):
    a second call returns the first entry's id and writes nothing; a second
    call with another amount is refused (``Conflict``)."""
    if method not in CREDIT_METHODS:
        raise ValueError(f"not an office credit method: {method!r}")
    fen = check_amount(fen)
    await summary.lock(ref.id)
    existing = None
    for other in CREDIT_METHODS:  # one credit per source, whatever its kind
        existing = existing or await find(other, reference)
    if existing is not None:
        if existing["amount_fen"] != fen or existing["method"] != method:
            raise Conflict("A credit for this complaint is already in the ledger; finance corrects it there.")
        return existing["id"]
    day = today()
    receipt_no = await next_number("JM", day=day)
    [row] = await Payment.insert(Payment(
        kind="payment", amount_fen=fen, paid_on=day, method=method, reference=reference, receipt_no=receipt_no,
        note=note[:500], recorded_by=principal.name, recorded_by_id=principal.user_id,
    )).returning(Payment.id).run()
    payment_id = row["id"]
    allocated = await _insert_allocations(payment_id, allocate_oldest_first(fen, await open_charges(lock=True)),
                                          principal)
    await changelog.record(actor(principal, approved_by=principal.name), "payment", "credited", "",
                           f"{fen / 100:.2f} {reference} {receipt_no}", entity_id=payment_id)
    await audit.record("money.credit.grant", principal=principal, tenant_id=ref.id, target=f"payment:{payment_id}",
                       detail={"fen": fen, "allocated_fen": allocated, "receipt_no": receipt_no,
                               "number": reference})
    await summary.refresh(ref.id)
    return payment_id
