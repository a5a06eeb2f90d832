"""Lending (借阅) and sharing of tenant files: the request, the two-step approval
(department head, then supervisor; nobody approves their own request), paper
out/in with the return check, electronic grants withdrawn at the due time, and
reminders. Everything lives in ``core`` (a loan can span several tenants).
Every step only accepts files the person acting may see (documents.lending_scope);
access to a file outside one's buildings is its own kind, approved by the
leadership in one step and read in the company of the archive."""

from __future__ import annotations

import datetime as dt
from typing import Any, Mapping
from zoneinfo import ZoneInfo

from documents.lending_scope import OUTSIDE, document_titles, is_approver_of_outside, loan_items, masked
from documents.lending_scope import require_scope, resolve, split_ids
from portal.core import audit
from portal.core.roles import Perm, Principal, Role
from portal.core.db import DB
from portal.core.errors import Conflict, FormErrors, Forbidden, NotFound
from tenants.registry.visibility import in_scope

SHANGHAI = ZoneInfo("Asia/Shanghai")
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


def is_handler(principal: Principal) -> bool:
    return principal.can(Perm.LOAN_HANDLE)


def is_overseer(principal: Principal) -> bool:
    """Sees the whole register: the archive side and the auditor."""
    return principal.can(Perm.LOAN_HANDLE) or principal.can(Perm.AUDIT_READ)


def status_key(loan: Mapping) -> str:
    """The STATUSES key to show: an 'outside' request waits for the leadership, not the head."""
    return "leadership" if loan["mode"] == OUTSIDE and loan["status"] == "requested" else loan["status"]


def step_role(loan: Mapping) -> frozenset[Role]:
    """The roles that may decide the step this loan waits for (empty when none)."""
    if loan["status"] == "requested":
        return frozenset({Role.SUPERVISOR, Role.GENERAL_MANAGER}) if loan["mode"] == OUTSIDE \
            else frozenset({Role.DEPT_HEAD})
    if loan["status"] == "head_approved":
        return frozenset({Role.SUPERVISOR})
    return frozenset()


def may_decide(principal: Principal, loan: Mapping) -> bool:
    return (principal.can(Perm.LOAN_APPROVE) and bool(principal.roles & step_role(loan))
            and loan["borrower_id"] != principal.user_id
            and not (loan["status"] == "head_approved" and loan["head_id"] == principal.user_id))


async def create_loan(principal: Principal, raw: Mapping[str, Any], *, now: dt.datetime | None = None) -> int:
    """A staff member asks to borrow (or export) tenant files or some of their documents.
    Files outside the requester's buildings: 404, unless the kind is 'outside'."""
    if not principal.can(Perm.LOAN_REQUEST):
        raise Forbidden()
    now = now or dt.datetime.now(dt.timezone.utc)
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
    department = str(raw.get("department") or "").strip() or (await DB.pool.fetchval(
        "SELECT department FROM core.staff_user WHERE id = $1", principal.user_id) or "")
    async with DB.transaction() as tx:
        conn = tx.connection
        loan_id = await conn.fetchval(
            "INSERT INTO core.loan (mode, borrower_id, borrower_name, department, purpose, due_at)"
            " VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            mode, principal.user_id, principal.name, department[:100], purpose[:1000], due_at)
        await conn.executemany(
            "INSERT INTO core.loan_item (loan_id, tenant_id, document_ids, document_titles) VALUES ($1, $2, $3, $4)",
            [(loan_id, t, document_ids, titles) for t in tenant_ids])
        await audit.record("loan.request", principal=principal, target=f"loan:{loan_id}",
                           detail={"mode": mode, "tenants": tenant_ids, "documents": document_ids,
                                   "purpose": purpose, "due_at": due_at})
    return loan_id


async def _locked(conn, principal: Principal, loan_id: int):
    """The loan, locked, if the person acting may see every file it names (404 otherwise)."""
    row = await conn.fetchrow("SELECT * FROM core.loan WHERE id = $1 FOR UPDATE", loan_id)
    if row is None:
        raise NotFound("No such loan.")
    require_scope(principal, row, await loan_items([loan_id]))
    return row


async def approve(principal: Principal, loan_id: int) -> str:
    """The next approval step. Returns the new status."""
    if not principal.can(Perm.LOAN_APPROVE):
        raise Forbidden()
    async with DB.transaction() as tx:
        conn = tx.connection
        loan = await _locked(conn, principal, loan_id)
        if not step_role(loan):
            raise Conflict("This request is not waiting for an approval.")
        if loan["borrower_id"] == principal.user_id:
            raise Forbidden("Nobody may approve their own request.")
        if not may_decide(principal, loan):
            raise Forbidden("The two approvals must come from two different people."
                            if principal.roles & step_role(loan) else "You cannot approve this step.")
        if loan["status"] == "requested" and loan["mode"] != OUTSIDE:
            await conn.execute("UPDATE core.loan SET status = 'head_approved', head_id = $2, head_name = $3,"
                               " head_at = now() WHERE id = $1", loan_id, principal.user_id, principal.name)
            status = "head_approved"
        else:  # the supervisor's step, or the leadership's single step for a file outside one's buildings
            await conn.execute("UPDATE core.loan SET status = 'approved', supervisor_id = $2, supervisor_name = $3,"
                               " supervisor_at = now() WHERE id = $1", loan_id, principal.user_id, principal.name)
            status = "approved"
            if loan["mode"] == "electronic":
                await _grant(conn, loan, principal.name, loan["due_at"])
                status = "lent"
        await audit.record(f"loan.approve.{status}", principal=principal, target=f"loan:{loan_id}")
    return status


async def _grant(conn, loan, by: str, until: dt.datetime) -> None:
    items = await conn.fetch("SELECT tenant_id, document_ids FROM core.loan_item WHERE loan_id = $1", loan["id"])
    await conn.executemany(
        "INSERT INTO core.access_grant (staff_id, tenant_id, loan_id, document_ids, expires_at)"
        " VALUES ($1, $2, $3, $4, $5)",
        [(loan["borrower_id"], i["tenant_id"], loan["id"], i["document_ids"], until) for i in items])
    await conn.execute("UPDATE core.loan SET status = 'lent', lent_by = $2, lent_at = now() WHERE id = $1",
                       loan["id"], by)


async def refuse(principal: Principal, loan_id: int, reason: str) -> None:
    if not principal.can(Perm.LOAN_APPROVE):
        raise Forbidden()
    reason = (reason or "").strip()
    if not reason:
        raise FormErrors({"reason": "Give a reason for the refusal."})
    async with DB.transaction() as tx:
        conn = tx.connection
        loan = await _locked(conn, principal, loan_id)
        if not step_role(loan):
            raise Conflict("This request is not waiting for an approval.")
        if not (principal.roles & step_role(loan)) or loan["borrower_id"] == principal.user_id:
            raise Forbidden()
        await conn.execute("UPDATE core.loan SET status = 'refused', refused_by = $2, refused_reason = $3,"
                           " refused_at = now() WHERE id = $1", loan_id, principal.name, reason[:1000])
        await audit.record("loan.refuse", principal=principal, target=f"loan:{loan_id}", detail={"reason": reason})


async def hand_out(principal: Principal, loan_id: int, *, now: dt.datetime | None = None) -> None:
    """Paper: the archive records the file going out. Outside one's buildings: the
    archive person opens the accompanied reading (a read grant until the end of
    the day at the latest) and is recorded as accompanying."""
    if not is_handler(principal):
        raise Forbidden()
    now = now or dt.datetime.now(dt.timezone.utc)
    async with DB.transaction() as tx:
        conn = tx.connection
        loan = await _locked(conn, principal, loan_id)
        if loan["status"] != "approved" or loan["mode"] not in ("paper", OUTSIDE):
            raise Conflict("Only an approved paper loan can be handed out.")
        if loan["mode"] == OUTSIDE:
            if loan["borrower_id"] == principal.user_id:
                raise Forbidden("Someone else from the archive must accompany you.")
            end_of_day = dt.datetime.combine(now.astimezone(SHANGHAI).date(), dt.time(23, 59), SHANGHAI)
            await _grant(conn, loan, principal.name, min(loan["due_at"], end_of_day))
            await conn.execute("UPDATE core.loan SET accompanied_by = $2 WHERE id = $1", loan_id, principal.name)
        else:
            await conn.execute("UPDATE core.loan SET status = 'lent', lent_by = $2, lent_at = now() WHERE id = $1",
                               loan_id, principal.name)
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
    async with DB.transaction() as tx:
        conn = tx.connection
        loan = await _locked(conn, principal, loan_id)
        if loan["status"] != "lent" or loan["mode"] == "export":
            raise Conflict("This file is not out on loan.")
        await conn.execute(
            "UPDATE core.loan SET status = 'returned', returned_to = $2, returned_at = now(), return_condition = $3,"
            " damage_note = $4 WHERE id = $1", loan_id, principal.name, condition, note[:1000])
        await conn.execute("UPDATE core.access_grant SET withdrawn_at = now() WHERE loan_id = $1"
                           " AND withdrawn_at IS NULL", loan_id)
        await audit.record("loan.return", principal=principal, target=f"loan:{loan_id}",
                           outcome="ok" if condition == "intact" else condition,
                           detail={"condition": condition, "note": note, "borrower": loan["borrower_name"],
                                   "borrower_id": loan["borrower_id"]})


async def withdraw_expired_grants(now: dt.datetime | None = None) -> int:
    """Beat: withdraw grants past their time; their electronic loans end."""
    now = now or dt.datetime.now(dt.timezone.utc)
    async with DB.transaction() as tx:
        conn = tx.connection
        rows = await conn.fetch(
            "UPDATE core.access_grant SET withdrawn_at = $1 WHERE withdrawn_at IS NULL AND expires_at <= $1"
            " RETURNING id, staff_id, tenant_id, loan_id", now)
        loans = sorted({r["loan_id"] for r in rows if r["loan_id"]})
        if loans:
            await conn.execute("UPDATE core.loan SET status = 'expired' WHERE id = ANY($1::int[])"
                               " AND status = 'lent' AND mode IN ('electronic', 'outside')", loans)
        for r in rows:
            await audit.record("loan.grant.withdrawn", actor_name="beat", tenant_id=r["tenant_id"],
                               target=f"grant:{r['id']}", detail={"loan": r["loan_id"], "staff_id": r["staff_id"]})
    return len(rows)


async def send_reminders(now: dt.datetime | None = None) -> int:
    """Beat: one reminder a day before the due time and every day after it."""
    now = now or dt.datetime.now(dt.timezone.utc)
    today = now.astimezone(SHANGHAI).date()
    created = 0
    async with DB.transaction() as tx:
        conn = tx.connection
        for kind, cond in (("due_soon", "due_at > $1 AND due_at <= $2::timestamptz"),
                           ("overdue", "due_at <= $1 AND $2::timestamptz IS NOT NULL")):
            rows = await conn.fetch(
                "INSERT INTO core.loan_reminder (loan_id, staff_id, kind, for_date)"
                f" SELECT id, borrower_id, '{kind}', $3 FROM core.loan WHERE status = 'lent' AND mode = 'paper'"
                f" AND {cond} ON CONFLICT DO NOTHING RETURNING loan_id, staff_id",
                now, now + DUE_SOON, today)
            for r in rows:
                await audit.record(f"loan.reminder.{kind}", actor_name="beat", target=f"loan:{r['loan_id']}",
                                   detail={"staff_id": r["staff_id"]})
            created += len(rows)
    return created


async def reminders_for(principal: Principal, limit: int = 20) -> list[dict]:
    rows = await DB.pool.fetch(
        "SELECT r.*, l.due_at, l.purpose, l.mode FROM core.loan_reminder r JOIN core.loan l ON l.id = r.loan_id"
        " WHERE r.staff_id = $1 AND l.status = 'lent' ORDER BY r.created_at DESC LIMIT $2", principal.user_id, limit)
    return [dict(r) for r in rows]


async def list_loans(principal: Principal, *, view: str = "mine", page: int = 1,
                     per_page: int = 50) -> tuple[list, int]:
    """'mine', 'approve' (waiting for this person's step) or 'all' (overseers). Other
    people's loans are listed only when this person may see every file they name
    (the leadership also sees requests for files outside one's buildings)."""
    if not principal.can(Perm.TENANT_READ):
        raise Forbidden()
    where, args = [], []
    if view in ("approve", "all"):
        scoped = in_scope(principal, args)
        if scoped:
            outside_ok = f" OR l.mode = '{OUTSIDE}'" if is_approver_of_outside(principal) else ""
            where.append(f"(NOT EXISTS (SELECT 1 FROM core.loan_item i JOIN core.tenant t ON t.id = i.tenant_id"
                         f" WHERE i.loan_id = l.id AND NOT {scoped}){outside_ok})")
    if view == "approve":
        steps = []
        if principal.can(Perm.LOAN_APPROVE) and Role.DEPT_HEAD in principal.roles:
            steps.append(f"(l.status = 'requested' AND l.mode <> '{OUTSIDE}')")
        if principal.can(Perm.LOAN_APPROVE) and Role.SUPERVISOR in principal.roles:
            steps.append("l.status = 'head_approved'")
        if is_approver_of_outside(principal) and principal.can(Perm.LOAN_APPROVE):
            steps.append(f"(l.status = 'requested' AND l.mode = '{OUTSIDE}')")
        if not steps:
            return [], 0
        where.append(f"({' OR '.join(steps)})")
        args.append(principal.user_id)
        where.append(f"l.borrower_id <> ${len(args)}")
    elif view != "all" or not is_overseer(principal):
        args.append(principal.user_id)
        where.append(f"l.borrower_id = ${len(args)}")
    sql_where = ("WHERE " + " AND ".join(where)) if where else ""
    total = await DB.pool.fetchval(f"SELECT count(*) FROM core.loan l {sql_where}", *args)
    args.extend([per_page, (max(page, 1) - 1) * per_page])
    rows = [dict(r) for r in await DB.pool.fetch(
        f"SELECT l.* FROM core.loan l {sql_where} ORDER BY l.requested_at DESC, l.id DESC"
        f" LIMIT ${len(args) - 1} OFFSET ${len(args)}", *args)]
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
    loan = await DB.pool.fetchrow("SELECT * FROM core.loan WHERE id = $1", loan_id)
    if loan is None:
        raise NotFound("No such loan.")
    if loan["borrower_id"] != principal.user_id and not is_overseer(principal) \
            and not (principal.roles & step_role(loan) and principal.can(Perm.LOAN_APPROVE)):
        raise NotFound("No such loan.")
    items = await loan_items([loan_id])
    require_scope(principal, loan, items)
    grants = await DB.pool.fetch("SELECT * FROM core.access_grant WHERE loan_id = $1 ORDER BY id", loan_id)
    exports = await DB.pool.fetch("SELECT * FROM core.export WHERE loan_id = $1 ORDER BY id", loan_id)
    return {"loan": dict(loan), "items": masked(principal, items, loan["mode"]), "grants": [dict(g) for g in grants],
            "exports": [dict(e) for e in exports]}


def slip_pdf(data: dict, office_name: str) -> bytes:
    from documents.pdf import render_pdf

    return render_pdf("lending_slip.html", office_name=office_name, modes=MODES, statuses=STATUSES,
                      status_key=status_key, conditions=CONDITIONS, **data)
