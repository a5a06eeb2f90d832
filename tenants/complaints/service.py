"""Complaints: lodging one (tenant in the portal, staff from a call or visit),
deciding its steps on the approval engine, and reading it (staff see every
step; the tenant sees the status and the reply only).

Every change runs in one ``tenant_tx``: the complaint row, its step record,
the core summary row (``summary.sync``), the engine's audit row and the
follow-ups (e-mail to the tenant, the complaint card) sent after commit.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, Mapping

from portal.core import approvals, audit
from portal.core.errors import Conflict, Forbidden, NotFound
from portal.core.jobs import on_commit
from portal.core.roles import Perm, Principal
from portal.core.workdays import SHANGHAI, now
from tenants.complaints import flow, forms, queries, summary
from tenants.complaints.tables import Complaint, ComplaintStep
from tenants.destruction import holds
from tenants.retention import activity as retention
from tenants.money import credits
from tenants.registry.service import TenantRef
from tenants.scope import tenant_tx

# What the tenant reads for a case, never the internal step.
PUBLIC_STATUS = {"received": "Received", "handling": "Being handled", "answered": "Answered",
                 "not_upheld": "Answered: not upheld", "closed": "Case closed"}
MAX_ID = 2_147_483_647
# Remedies that are money: approved at step 7, each becomes this kind of ledger credit.
MONEY_REMEDIES = {"discount": "complaint_discount", "compensation": "complaint_compensation"}


def public_status(row: Mapping) -> str:
    if row["status"] == "not_upheld":
        return "not_upheld"
    if row["status"] == "closed":
        return "closed"
    if row["step"] == "record":
        return "received"
    return "answered" if row["step"] == "review" else "handling"


def _may_read(principal: Principal) -> None:
    if principal.is_staff and not principal.can(Perm.TENANT_READ):
        raise Forbidden()


def _may_handle(principal: Principal) -> None:
    if not principal.can(Perm.COMPLAINT_HANDLE) and not principal.can(Perm.COMPLAINT_APPROVE):
        raise Forbidden()


async def _step_row(complaint_id: int, step: str, decision: str, principal: Principal | None, note: str = "",
                    to_step: str = "", at: dt.datetime | None = None) -> None:
    await ComplaintStep.insert(ComplaintStep(
        complaint_id=complaint_id, step=step, decision=decision, to_step=to_step or "",
        actor_kind=principal.kind if principal else "system", actor_id=principal.user_id if principal else None,
        actor_name=principal.name if principal else "", at=at or now(), note=note[:1000])).run()


async def _hold(ref: TenantRef, number: str, principal: Principal) -> None:
    """A major complaint (or staff asking for it) places a legal hold on the whole file, in this
    transaction, in the name of the person who graded it; releasing it stays a person's act."""
    await holds.hold_in_tx(ref.id, reason=number, case_ref=number, principal=principal, source="complaint")


def _notify(ref: TenantRef, complaint_id: int, kind: str) -> None:
    from tasks.complaints import notify_tenant

    on_commit(notify_tenant, ref.id, complaint_id, kind)


def _file_card_later(ref: TenantRef, complaint_id: int) -> None:
    from tasks.complaints import file_card

    on_commit(file_card, ref.id, complaint_id)


async def lodge(ref: TenantRef, raw: Mapping[str, Any], principal: Principal, *, at: dt.datetime | None = None) -> int:
    """A new complaint. A tenant's waits for staff to record it (the first
    response); staff recording one from a call or visit decide step 1 at once."""
    if principal.is_staff:
        if not principal.can(Perm.COMPLAINT_HANDLE):
            raise Forbidden()
    elif principal.tenant_id != ref.id:
        raise NotFound("No such tenant.")
    cleaned = forms.clean_new(raw, staff=principal.is_staff)
    if not principal.is_staff and not cleaned["complainant"]:
        cleaned["complainant"] = principal.name
    at = at or now()
    cal = await summary.calendar()
    async with tenant_tx(ref.schema):
        number = await queries.next_number(at.astimezone(SHANGHAI).date())
        [row] = await Complaint.insert(Complaint(
            number=number, lodged_at=at, lodged_by_kind=principal.kind, lodged_by_id=principal.user_id,
            lodged_by=principal.name, status="open", step="record", step_started_at=at, actors="{}", mailed="{}",
            **cleaned)).returning(Complaint.id).run()
        complaint_id = row["id"]
        await _step_row(complaint_id, "record", "record", principal, cleaned["description"][:200], at=at)
        if principal.is_staff:
            current = await _locked(complaint_id)
            transition = approvals.decide(flow.flow_of(current), flow.case_of(current), principal, "approve", at=at)
            await _write_state(complaint_id, transition, {})
            await _step_row(complaint_id, "record", "approve", principal, at=at)
            await approvals.record(transition, principal, tenant_id=ref.id, target=f"complaint:{number}",
                                   detail={"number": number})
        await summary.sync(ref, complaint_id, cal, at)
        await audit.record("complaint.lodge", principal=principal, tenant_id=ref.id, target=f"complaint:{number}",
                           detail={"number": number, "kind": cleaned["channel"]})
        await retention.touch(ref.id, at.astimezone(SHANGHAI).date())  # a complaint is business (last business date)
        if cleaned["legal_hold_requested"]:
            await _hold(ref, number, principal)
        _notify(ref, complaint_id, "received")
        if cleaned.get("grade") == "major":
            from tasks.notify import deliver

            on_commit(deliver, ref.id, "complaint.major", complaint_id, "")
    return complaint_id


async def _locked(complaint_id: int) -> dict:
    if not 0 < complaint_id <= MAX_ID:
        raise NotFound("No such complaint.")
    row = await Complaint.select().where(Complaint.id == complaint_id).lock_rows("UPDATE").first().run()
    if row is None:
        raise NotFound("No such complaint.")
    return row


async def _write_state(complaint_id: int, transition: approvals.Transition, data: Mapping[str, Any]) -> None:
    after = transition.after
    values: dict = {Complaint.step: after.step, Complaint.step_started_at: after.step_started_at,
                    Complaint.actors: json.dumps(dict(after.actors))}
    for key, value in data.items():
        if key != "note":
            values[Complaint._meta.get_column_by_name(key)] = value
    if after.outcome == approvals.Outcome.REJECTED:
        values.update({Complaint.status: "not_upheld", Complaint.reply: transition.reason,
                       Complaint.replied_at: transition.at, Complaint.closed_at: transition.at})
    elif after.outcome == approvals.Outcome.APPROVED:
        values.update({Complaint.status: "closed", Complaint.closed_at: transition.at})
    if transition.step.name == "carry_out" and transition.decision == approvals.Decision.APPROVE:
        values.update({Complaint.replied_at: transition.at, Complaint.resolved_at: transition.at})
    await Complaint.update(values).where(Complaint.id == complaint_id).run()


async def decide(ref: TenantRef, complaint_id: int, raw: Mapping[str, Any], principal: Principal, *,
                 at: dt.datetime | None = None) -> str | None:
    """Decide the current step: approve (with the step's data), send back to
    an earlier step with a reason, or (step 2 only) find that the complaint
    does not stand, with the polite reply. Returns the step now waiting."""
    _may_handle(principal)
    at = at or now()
    cal = await summary.calendar()
    async with tenant_tx(ref.schema):
        row = await _locked(complaint_id)
        if row["status"] != "open":
            raise Conflict("This has already been decided.")
        expected = str(raw.get("expected_step") or "") or None
        if expected is not None and expected != row["step"]:
            raise Conflict("This step is no longer waiting for a decision. Reload the page.")
        decision, to_step = forms.clean_decision(raw, row["step"])
        data = forms.clean_step(row["step"], decision, raw, row["grade"])
        _not_own_remedy(row, principal)
        transition = approvals.decide(flow.flow_of(row), flow.case_of(row), principal, decision, reason=data["note"],
                                      to_step=to_step, expected_step=expected, at=at)
        await _write_state(complaint_id, transition, data)
        await _step_row(complaint_id, row["step"], transition.decision.value, principal, transition.reason,
                        to_step=transition.after.step if transition.decision == approvals.Decision.SEND_BACK else "",
                        at=at)
        await approvals.record(transition, principal, tenant_id=ref.id, target=f"complaint:{row['number']}",
                               detail={"number": row["number"]})
        if data.get("grade") and data["grade"] != row["grade"]:
            await audit.record("complaint.grade", principal=principal, tenant_id=ref.id,
                               target=f"complaint:{row['number']}", detail={"number": row["number"]})
            if data["grade"] == "major":
                await Complaint.update({Complaint.legal_hold_requested: True}).where(Complaint.id == complaint_id)
                await _hold(ref, row["number"], principal)
                from tasks.notify import deliver

                on_commit(deliver, ref.id, "complaint.major", complaint_id, "")
        await summary.sync(ref, complaint_id, cal, at)
        if transition.step.name == "gm" and transition.decision == approvals.Decision.APPROVE:
            await _grant_money_remedy(ref, row, principal)
        if transition.after.outcome == approvals.Outcome.REJECTED or (
                transition.step.name == "carry_out" and transition.decision == approvals.Decision.APPROVE):
            _notify(ref, complaint_id, "reply")
        if transition.finished:
            _file_card_later(ref, complaint_id)
    return transition.after.step


async def _grant_money_remedy(ref: TenantRef, row: Mapping, principal: Principal) -> None:
    """Step 7 approved a discount or compensation: it becomes a credit in the
    tenant's ledger in this transaction, once per complaint (its number)."""
    method = MONEY_REMEDIES.get(row["remedy_kind"] or "")
    if method and row["remedy_fen"] and row["remedy_fen"] > 0:
        await credits.grant_in_tx(ref, method=method, reference=row["number"], fen=row["remedy_fen"],
                                  principal=principal, note=(row["remedy"] or "")[:500])


def _not_own_remedy(row: Mapping, principal: Principal) -> None:
    """Whoever proposed the remedy approves it at neither approval step (the
    engine only excludes the step just before)."""
    if row["step"] in ("supervisor", "gm") and flow.case_of(row).actors.get("remedy") == principal.user_id \
            and principal.is_staff:
        raise Forbidden("A second person must decide what you requested.")


async def list_for(ref: TenantRef, principal: Principal) -> list[dict]:
    """The tenant's complaints, newest first (staff: with the internal step)."""
    _may_read(principal)
    async with tenant_tx(ref.schema):
        rows = await Complaint.select().order_by(Complaint.lodged_at, Complaint.id, ascending=False).limit(200).run()
    return [_view(r, principal) for r in rows]


def _view(row: Mapping, principal: Principal) -> dict:
    out = dict(row)
    out["public_status"] = public_status(row)
    if not principal.is_staff:
        keep = ("id", "number", "lodged_at", "channel", "complainant", "against", "description", "request",
                "public_status", "reply", "replied_at", "closed_at")
        out = {k: out[k] for k in keep}
        if out["public_status"] not in ("answered", "not_upheld", "closed"):
            out["reply"] = ""
    return out


async def read(ref: TenantRef, complaint_id: int, principal: Principal) -> dict:
    """One complaint; staff also get every step's record, the due time and who may act."""
    _may_read(principal)
    if not 0 < complaint_id <= MAX_ID:
        raise NotFound("No such complaint.")
    async with tenant_tx(ref.schema):
        row = await Complaint.select().where(Complaint.id == complaint_id).first().run()
        if row is None:
            raise NotFound("No such complaint.")
        steps = await ComplaintStep.select().where(ComplaintStep.complaint_id == complaint_id).order_by(
            ComplaintStep.id).run() if principal.is_staff else []
        credit = await credits.for_complaint(row["number"]) if row["remedy_fen"] else None
    out = _view(row, principal)
    if principal.is_staff:
        out["credit"] = credit  # the ledger credit of an approved money remedy
        cal = await summary.calendar()
        out["steps"] = steps
        out["due_at"] = approvals.due_at(flow.flow_of(row), flow.case_of(row), cal)
        out["may_act"] = may_act(row, principal)
    return out


def may_act(row: Mapping, principal: Principal) -> bool:
    try:
        _not_own_remedy(row, principal)
        approvals.check_may_act(flow.flow_of(row), flow.case_of(row), principal)
    except (Conflict, Forbidden):
        return False
    return True
