"""Lending (借阅) and sharing of tenant files: the request, the two-step approval
(department head, then supervisor; nobody approves their own request: the
approval engine's flows in documents.lending_flow), paper
out/in with the return check, electronic grants withdrawn at the due time, and
reminders. Everything lives in ``core`` (a loan can span several tenants).
Every step only accepts files the person acting may see (documents.lending_scope);
access to a file outside one's buildings is its own kind, approved by the
leadership in one step and read in the company of the archive."""

from __future__ import annotations

import datetime as dt
import functools
import operator
from typing import Any, Mapping

from documents.lending_flow import case_of, current_step, flow_of, steps_for
from documents.lending_queries import staff_department
from documents.lending_scope import OUTSIDE, document_titles, is_approver_of_outside, loan_items, masked
from documents.lending_scope import require_scope, resolve, split_ids
from documents.tables import AccessGrant, Export, Loan, LoanItem, LoanReminder
from portal.core import approvals, audit
from portal.core.db import DB
from portal.core.errors import Conflict, FormErrors, Forbidden, NotFound
from portal.core.roles import Perm, Principal
from portal.core.workdays import SHANGHAI
from tenants.registry.tables import Tenant
from tenants.registry.visibility import scope_ids
MODES = {"paper": "Paper file", "electronic": "Electronic read access", "export": "Encrypted export",
         OUTSIDE: "Access to a file outside my buildings"}
STATUSES = {
    "requested": "Waiting for the department head",
    "leadership": "Waiting for the leadership",
    "head_approved": "Waiting for the supervisor",
    "approved": "Approved, not yet handed out",
    "lent": "Lent",
    "returned": "Returned",
    "expired": "Expired",
    "refused": "Refused",
    "cancelled": "Cancelled",
}
CONDITIONS = {"intact": "Intact", "damaged": "Damaged", "lost": "Lost or missing"}
MAX_DAYS = 90
DUE_SOON = dt.timedelta(hours=24)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def is_handler(principal: Principal) -> bool:
    return principal.can(Perm.LOAN_HANDLE)


def is_overseer(principal: Principal) -> bool:
    """Sees the whole register: the archive side and the auditor."""
    return principal.can(Perm.LOAN_HANDLE) or principal.can(Perm.AUDIT_READ)


def status_key(loan: Mapping) -> str:
    """The STATUSES key to show: an 'outside' request waits for the leadership, not the head."""
    return "leadership" if loan["mode"] == OUTSIDE and loan["status"] == "requested" else loan["status"]


async def create_loan(principal: Principal, raw: Mapping[str, Any], *, now: dt.datetime | None = None) -> int:
    """A staff member asks to borrow (or export) tenant files or some of their documents.
    Files outside the requester's buildings: 404, unless the kind is 'outside'."""
    if not principal.can(Perm.LOAN_REQUEST):
        raise Forbidden()
    now = now or utcnow()
    errors: dict[str, str] = {}
    mode = str(raw.get("mode") or "")
    if mode not in MODES:
        errors["mode"] = "Choose the kind of request."
    purpose = str(raw.get("purpose") or "").strip()
    if not purpose:
        errors["purpose"] = "Say why you need the file."
    tenants = await resolve(principal, raw, mode, errors)
    try:
        document_ids = split_ids(raw.get("document_ids"))
    except ValueError:
        document_ids, errors["document_ids"] = [], "Pick the documents from the list."
    if document_ids and mode == OUTSIDE:
        errors["document_ids"] = ("A file outside your buildings is asked for whole; the archive shows you"
                                  " the part you need.")
    elif document_ids and len(tenants) > 1:
        errors["document_ids"] = "Pick single documents only when borrowing from one tenant file."
    due_at = None
    try:
        due_date = dt.date.fromisoformat(str(raw.get("due_date") or ""))
        due_at = dt.datetime.combine(due_date, dt.time(18, 0), SHANGHAI)
        if due_at <= now or due_at > now + dt.timedelta(days=MAX_DAYS):
            errors["due_date"] = "The due date must be within the next 90 days."
    except ValueError:
        errors["due_date"] = "Enter a date as YYYY-MM-DD."
    if raw.get("due_at"):  # exact time (tests, API)
        due_at = raw["due_at"]
        errors.pop("due_date", None)
    titles: list[str] = []
    if document_ids and len(tenants) == 1 and "document_ids" not in errors:
        try:
            titles = await document_titles(principal, tenants[0]["id"], document_ids)
        except FormErrors as exc:
            errors.update(exc.fields)
    if errors:
        raise FormErrors(errors)
    tenant_ids = [t["id"] for t in tenants]
    department = str(raw.get("department") or "").strip() or await staff_department(principal.user_id)
    async with DB.transaction():
        loan_id = (await Loan.insert(Loan(mode=mode, borrower_id=principal.user_id, borrower_name=principal.name,
                                          department=department[:100], purpose=purpose[:1000], due_at=due_at))
                   .returning(Loan.id).run())[0]["id"]
        await LoanItem.insert(*(LoanItem(loan_id=loan_id, tenant_id=t, document_ids=document_ids,
                                         document_titles=titles) for t in tenant_ids)).run()
        await audit.record("loan.request", principal=principal, target=f"loan:{loan_id}",
                           detail={"mode": mode, "tenants": tenant_ids, "documents": document_ids,
                                   "purpose": purpose, "due_at": due_at})
    return loan_id


async def _locked(principal: Principal, loan_id: int) -> dict:
    """The loan, locked (inside the caller's transaction), if the person acting
    may see every file it names (404 otherwise)."""
    loan = await Loan.select().where(Loan.id == loan_id).lock_rows("UPDATE").first().run()
    if loan is None:
        raise NotFound("No such loan.")
    require_scope(principal, loan, await loan_items([loan_id]))
    return loan


async def approve(principal: Principal, loan_id: int) -> str:
    """The next approval step. Returns the new status."""
    return await _decide(principal, loan_id, approvals.Decision.APPROVE)


async def refuse(principal: Principal, loan_id: int, reason: str) -> None:
    await _decide(principal, loan_id, approvals.Decision.REJECT, reason)


async def _decide(principal: Principal, loan_id: int, decision: approvals.Decision, reason: str = "") -> str:
    """One decision of the loan's flow (lending_flow); an electronic loan is lent at its final approval."""
    if not principal.can(Perm.LOAN_APPROVE):
        raise Forbidden()
    async with DB.transaction():
        loan = await _locked(principal, loan_id)
        decided = approvals.decide(flow_of(loan), case_of(loan), principal, decision, reason=reason)
        who = {"id": principal.user_id, "name": principal.name, "at": decided.at}
        if decided.after.outcome == approvals.Outcome.REJECTED:
            status = "refused"
            changes = {Loan.refused_by: principal.name, Loan.refused_reason: decided.reason,
                       Loan.refused_at: decided.at}
        elif decided.step.name == "head":
            status = "head_approved"
            changes = {Loan.head_id: who["id"], Loan.head_name: who["name"], Loan.head_at: who["at"]}
        else:  # the supervisor's step, or the leadership's single step for a file outside one's buildings
            status = "approved"
            changes = {Loan.supervisor_id: who["id"], Loan.supervisor_name: who["name"], Loan.supervisor_at: who["at"]}
        await Loan.update({Loan.status: status, **changes}).where(Loan.id == loan_id).run()
        if status == "approved" and loan["mode"] == "electronic":
            await _grant(loan, principal.name, loan["due_at"])
            status = "lent"
        await approvals.record(decided, principal, target=f"loan:{loan_id}", detail={"status": status})
    return status


async def _grant(loan: Mapping, by: str, until: dt.datetime) -> None:
    """Read grants for the borrower on every file of the loan; the loan is then lent."""
    items = await LoanItem.select(LoanItem.tenant_id, LoanItem.document_ids).where(
        LoanItem.loan_id == loan["id"]).run()
    await AccessGrant.insert(*(AccessGrant(staff_id=loan["borrower_id"], tenant_id=i["tenant_id"], loan_id=loan["id"],
                                           document_ids=i["document_ids"], expires_at=until) for i in items)).run()
    await Loan.update({Loan.status: "lent", Loan.lent_by: by, Loan.lent_at: utcnow()}).where(
        Loan.id == loan["id"]).run()


async def hand_out(principal: Principal, loan_id: int, *, now: dt.datetime | None = None) -> None:
    """Paper: the archive records the file going out. Outside one's buildings: the
    archive person opens the accompanied reading (a read grant until the end of
    the day at the latest) and is recorded as accompanying."""
    if not is_handler(principal):
        raise Forbidden()
    now = now or utcnow()
    async with DB.transaction():
        loan = await _locked(principal, loan_id)
        if loan["status"] != "approved" or loan["mode"] not in ("paper", OUTSIDE):
            raise Conflict("Only an approved paper loan can be handed out.")
        if loan["mode"] == OUTSIDE:
            if loan["borrower_id"] == principal.user_id:
                raise Forbidden("Someone else from the archive must accompany you.")
            end_of_day = dt.datetime.combine(now.astimezone(SHANGHAI).date(), dt.time(23, 59), SHANGHAI)
            await _grant(loan, principal.name, min(loan["due_at"], end_of_day))
            await Loan.update({Loan.accompanied_by: principal.name}).where(Loan.id == loan_id).run()
        else:
            await Loan.update({Loan.status: "lent", Loan.lent_by: principal.name, Loan.lent_at: utcnow()}).where(
                Loan.id == loan_id).run()
        await audit.record("loan.out", principal=principal, target=f"loan:{loan_id}")


async def record_return(principal: Principal, loan_id: int, condition: str, note: str = "") -> None:
    """The return check: intact, or damage/loss recorded against the borrower."""
    if not is_handler(principal):
        raise Forbidden()
    note = (note or "").strip()
    if condition not in CONDITIONS:
        raise FormErrors({"condition": "Record the condition of the returned file."})
    if condition != "intact" and not note:
        raise FormErrors({"note": "Describe the damage or loss."})
    async with DB.transaction():
        loan = await _locked(principal, loan_id)
        if loan["status"] != "lent" or loan["mode"] == "export":
            raise Conflict("This file is not out on loan.")
        returned_at = utcnow()
        await Loan.update({Loan.status: "returned", Loan.returned_to: principal.name, Loan.returned_at: returned_at,
                           Loan.return_condition: condition, Loan.damage_note: note[:1000]}).where(
            Loan.id == loan_id).run()
        await AccessGrant.update({AccessGrant.withdrawn_at: returned_at}).where(
            (AccessGrant.loan_id == loan_id) & AccessGrant.withdrawn_at.is_null()).run()
        await audit.record("loan.return", principal=principal, target=f"loan:{loan_id}",
                           outcome="ok" if condition == "intact" else condition,
                           detail={"condition": condition, "note": note, "borrower": loan["borrower_name"],
                                   "borrower_id": loan["borrower_id"]})


async def withdraw_expired_grants(now: dt.datetime | None = None) -> int:
    """Beat: withdraw grants past their time; their electronic loans end."""
    now = now or utcnow()
    async with DB.transaction():
        rows = await AccessGrant.update({AccessGrant.withdrawn_at: now}).where(
            AccessGrant.withdrawn_at.is_null() & (AccessGrant.expires_at <= now)).returning(
            AccessGrant.id, AccessGrant.staff_id, AccessGrant.tenant_id, AccessGrant.loan_id).run()
        loans = sorted({r["loan_id"] for r in rows if r["loan_id"]})
        if loans:
            await Loan.update({Loan.status: "expired"}).where(
                Loan.id.is_in(loans) & (Loan.status == "lent") & Loan.mode.is_in(["electronic", OUTSIDE])).run()
        for r in rows:
            await audit.record("loan.grant.withdrawn", actor_name="beat", tenant_id=r["tenant_id"],
                               target=f"grant:{r['id']}", detail={"loan": r["loan_id"], "staff_id": r["staff_id"]})
    return len(rows)


async def send_reminders(now: dt.datetime | None = None) -> int:
    """Beat: one reminder a day before the due time and every day after it."""
    now = now or utcnow()
    today = now.astimezone(SHANGHAI).date()
    created = 0
    out_on_paper = (Loan.status == "lent") & (Loan.mode == "paper")
    async with DB.transaction():
        for kind, due in (("due_soon", (Loan.due_at > now) & (Loan.due_at <= now + DUE_SOON)),
                          ("overdue", Loan.due_at <= now)):
            loans = await Loan.select(Loan.id, Loan.borrower_id).where(out_on_paper & due).run()
            if not loans:
                continue
            rows = await LoanReminder.insert(*(LoanReminder(loan_id=r["id"], staff_id=r["borrower_id"], kind=kind,
                                                            for_date=today) for r in loans)).on_conflict(
                action="DO NOTHING").returning(LoanReminder.loan_id, LoanReminder.staff_id).run()
            for r in rows:
                await audit.record(f"loan.reminder.{kind}", actor_name="beat", target=f"loan:{r['loan_id']}",
                                   detail={"staff_id": r["staff_id"]})
            created += len(rows)
    return created


async def reminders_for(principal: Principal, limit: int = 20) -> list[dict]:
    """The borrower's reminders of loans still out, newest first, with the loan's due time and purpose."""
    rows = await LoanReminder.select().where(
        (LoanReminder.staff_id == principal.user_id)
        & LoanReminder.loan_id.is_in(Loan.select(Loan.id).where(Loan.status == "lent"))).order_by(
        LoanReminder.created_at, ascending=False).limit(limit).run()
    if not rows:
        return []
    loans = {r["id"]: r for r in await Loan.select(Loan.id, Loan.due_at, Loan.purpose, Loan.mode).where(
        Loan.id.is_in(sorted({r["loan_id"] for r in rows}))).run()}
    return [{**r, **{k: v for k, v in loans[r["loan_id"]].items() if k != "id"}} for r in rows]


def _visible_to(principal: Principal) -> list:
    """Conditions for the register's 'approve' and 'all' views: loans whose every file
    is in this person's buildings (the leadership also sees the 'outside' kind)."""
    scope = scope_ids(principal)
    if scope is None:
        return []
    visible = Tenant.select(Tenant.id).where(Tenant.building_ids.overlap(scope))
    condition = Loan.id.not_in(LoanItem.select(LoanItem.loan_id).where(LoanItem.tenant_id.not_in(visible)))
    return [condition | (Loan.mode == OUTSIDE)] if is_approver_of_outside(principal) else [condition]


async def list_loans(principal: Principal, *, view: str = "mine", page: int = 1,
                     per_page: int = 50) -> tuple[list, int]:
    """'mine', 'approve' (waiting for this person's step) or 'all' (overseers). Other
    people's loans are listed only when this person may see every file they name
    (the leadership also sees requests for files outside one's buildings)."""
    if not principal.can(Perm.TENANT_READ):
        raise Forbidden()
    where = _visible_to(principal) if view in ("approve", "all") else []
    if view == "approve":
        steps = [((Loan.mode == OUTSIDE) if kind == OUTSIDE else (Loan.mode != OUTSIDE)) & (Loan.status == status)
                 for kind, status in steps_for(principal)]
        if not steps:
            return [], 0
        where += [functools.reduce(operator.or_, steps), Loan.borrower_id != principal.user_id]
    elif view != "all" or not is_overseer(principal):
        where.append(Loan.borrower_id == principal.user_id)
    count, select = Loan.count(), Loan.select()
    if where:
        count, select = count.where(*where), select.where(*where)
    total = await count.run()
    rows = await select.order_by(Loan.requested_at, Loan.id, ascending=False).limit(per_page).offset(
        (max(page, 1) - 1) * per_page).run()
    items = await loan_items([r["id"] for r in rows])
    for row in rows:
        row["items"] = masked(principal, [i for i in items if i["loan_id"] == row["id"]], row["mode"])
    return rows, total


async def pending_approvals(principal: Principal, limit: int = 10) -> list[dict]:
    """For the home page: requests waiting for this person's approval."""
    if not principal.can(Perm.LOAN_APPROVE):
        return []
    rows, _ = await list_loans(principal, view="approve", per_page=limit)
    return rows


async def get_loan(principal: Principal, loan_id: int) -> dict:
    loan = await Loan.select().where(Loan.id == loan_id).first().run()
    if loan is None:
        raise NotFound("No such loan.")
    step = current_step(loan)
    if loan["borrower_id"] != principal.user_id and not is_overseer(principal) \
            and not (step is not None and step.may_act(principal)):
        raise NotFound("No such loan.")
    items = await loan_items([loan_id])
    require_scope(principal, loan, items)
    grants = await AccessGrant.select().where(AccessGrant.loan_id == loan_id).order_by(AccessGrant.id).run()
    exports = await Export.select().where(Export.loan_id == loan_id).order_by(Export.id).run()
    return {"loan": loan, "items": masked(principal, items, loan["mode"]), "grants": grants, "exports": exports}


def slip_pdf(data: dict, office_name: str) -> bytes:
    from documents.pdf import render_pdf

    return render_pdf("lending_slip.html", office_name=office_name, modes=MODES, statuses=STATUSES,
                      status_key=status_key, conditions=CONDITIONS, **data)
