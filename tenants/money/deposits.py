"""Deposits: money received and held, and its release (a deduction with a
reason, or a refund) once a second person approves it."""

from __future__ import annotations

from typing import Any, Mapping

from portal.core import approvals, audit
from portal.core.errors import Conflict, FormErrors, NotFound
from portal.core.forms import Form
from portal.core.roles import Perm, Principal
from tenants.file import changelog
from tenants.money import queries
from tenants.money.amounts import parse_fen
from tenants.money.ledger import (
    METHODS, actor, clip, date_field, deposit_kinds, ledger_tx, lock_deposit, need, next_number, required_text,
)
from tenants.money.tables import Deposit, DepositEntry
from tenants.registry.service import TenantRef
from tenants.retention import service as retention


async def receive_deposit(ref: TenantRef, raw: Mapping[str, Any], principal: Principal) -> int:
    """Record money received as a deposit (a new deposit of ``kind``, or more on
    ``deposit_id``). Returns the entry id."""
    need(principal, Perm.MONEY_WRITE)
    form = Form(raw)
    deposit_id = raw.get("deposit_id")
    if not deposit_id:
        kind = form.choice("kind", await deposit_kinds())
    amount = form.run("amount", parse_fen, raw.get("amount"), default=0)
    entry_date = date_field(form, "entry_date", not_future=True)
    method = form.choice("method", METHODS, default="bank_transfer")
    receipt_no = clip(raw, "receipt_no", 40)
    title = clip(raw, "title", 200)
    form.check()
    async with ledger_tx(ref):
        if deposit_id:
            deposit_id = int(deposit_id)
            if not await lock_deposit(deposit_id):
                raise NotFound("No such deposit.")
        else:
            [row] = await Deposit.insert(Deposit(kind=kind, title=title, agreed_fen=amount, created_by=principal.name)
                                         ).returning(Deposit.id).run()
            deposit_id = row["id"]
        receipt_no = receipt_no or await next_number("YJ", day=entry_date)
        [entry] = await DepositEntry.insert(DepositEntry(
            deposit_id=deposit_id, kind="receipt", amount_fen=amount, entry_date=entry_date, method=method,
            receipt_no=receipt_no, status="approved", recorded_by=principal.name, recorded_by_id=principal.user_id,
        )).returning(DepositEntry.id).run()
        await retention.touch(ref.id, entry_date)  # a deposit paid is business (last business date)
        await changelog.record(actor(principal), "deposit", "received", "", f"{amount / 100:.2f} {receipt_no}",
                               entity_id=deposit_id)
        await audit.record("money.deposit.receive", principal=principal, tenant_id=ref.id,
                           target=f"deposit:{deposit_id}", detail={"fen": amount, "receipt_no": receipt_no})
    return entry["id"]


async def request_deposit_release(ref: TenantRef, deposit_id: int, kind: str, raw: Mapping[str, Any],
                                  principal: Principal) -> int:
    """A deduction (with a reason) or a refund, waiting for a second person."""
    need(principal, Perm.MONEY_WRITE)
    if kind not in ("deduction", "refund"):
        raise FormErrors({"kind": "Choose one of the options."})
    form = Form(raw)
    amount = form.run("amount", parse_fen, raw.get("amount"), default=0)
    entry_date = date_field(form, "entry_date")
    if kind == "deduction":
        reason = required_text(form, "reason", "Give the reason for the deduction.")
        method = ""
    else:
        reason = clip(raw, "reason")
        method = form.choice("method", METHODS, default="bank_transfer")
    form.check()
    async with ledger_tx(ref):
        if not await lock_deposit(deposit_id):
            raise NotFound("No such deposit.")
        balance = await queries.deposit_balance(deposit_id)
        if amount > balance["balance"] - balance["pending"]:
            raise FormErrors({"amount": "More than the deposit balance (less what already waits for approval)."})
        [entry] = await DepositEntry.insert(DepositEntry(
            deposit_id=deposit_id, kind=kind, amount_fen=amount, entry_date=entry_date, method=method, reason=reason,
            status="pending", recorded_by=principal.name, recorded_by_id=principal.user_id,
        )).returning(DepositEntry.id).run()
        await changelog.record(actor(principal), "deposit", f"{kind}_requested", "", f"{amount / 100:.2f} {reason}",
                               entity_id=deposit_id)
        await audit.record(f"money.deposit.{kind}.request", principal=principal, tenant_id=ref.id,
                           target=f"deposit_entry:{entry['id']}", detail={"fen": amount, "reason": reason})
    return entry["id"]


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
    async with ledger_tx(ref):
        found = await DepositEntry.select(DepositEntry.deposit_id).where(DepositEntry.id == entry_id).first()
        if found is None:
            raise NotFound("No such entry.")
        await lock_deposit(found["deposit_id"])
        # Read again under the deposit's lock: another decision may have just committed.
        entry = await DepositEntry.select().where(DepositEntry.id == entry_id).first()
        if entry["kind"] not in RELEASE_FLOWS:
            raise Conflict("This entry has already been decided.")
        decided = approvals.decide(RELEASE_FLOWS[entry["kind"]], _release_case(entry), principal, decision, reason=note)
        if approve:
            balance = await queries.deposit_balance(entry["deposit_id"])
            if entry["amount_fen"] > balance["balance"]:
                raise Conflict("The deposit balance is too small for this entry.")
        outcome = decided.after.outcome.value
        await DepositEntry.update({
            DepositEntry.status: outcome, DepositEntry.decided_by: principal.name,
            DepositEntry.decided_by_id: principal.user_id, DepositEntry.decided_at: queries.NOW,
            DepositEntry.decision_note: decided.reason,
        }).where(DepositEntry.id == entry_id).run()
        await changelog.record(actor(principal, approved_by=principal.name), "deposit", f"{entry['kind']}_{outcome}",
                               "", f"{entry['amount_fen'] / 100:.2f} {entry['reason']} {decided.reason}".strip(),
                               entity_id=entry["deposit_id"])
        await approvals.record(decided, principal, tenant_id=ref.id, target=f"deposit_entry:{entry_id}",
                               detail={"note": decided.reason})
