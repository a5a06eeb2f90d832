"""Destruction requests: request -> archive-department review -> two approvals
by the leadership (the approval engine: two different people, neither the
requester) -> a cooling-off period (cancellable) -> the purge (``purge.py``).

The state stays in ``core.destruction_request``: ``status`` names the step
waiting ('review', 'approval_1', 'approval_2'), then 'cooling', 'purging',
'destroyed', or 'rejected' / 'cancelled'. Legal holds are re-checked at the
request, at every approval and inside the purge.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Mapping

from documents.tables import Document
from portal.core import approvals, audit
from portal.core.db import DB
from portal.core.errors import Conflict, Forbidden, FormErrors, NotFound
from portal.core.forms import Form
from portal.core.jobs import core_tx, on_commit
from portal.core.roles import LEADERSHIP, Perm, Principal
from tenants.destruction.holds import assert_not_held, document_ids, now
from tenants.destruction.tables import DestructionRequest, PurgeJob
from tenants.registry.service import get_refs, ref_for_staff
from tenants.scope import tenant_tx

FLOW = approvals.Flow(name="destruction", steps=(
    approvals.Step("review", "Archive department review", perm=Perm.DESTRUCTION_REVIEW),
    approvals.Step("approval_1", "First leadership approval", roles=LEADERSHIP, perm=Perm.DESTRUCTION_APPROVE),
    approvals.Step("approval_2", "Second leadership approval", roles=LEADERSHIP, perm=Perm.DESTRUCTION_APPROVE,
                   not_previous_actor=True),
))
WAITING = ("review", "approval_1", "approval_2")
OPEN = WAITING + ("cooling", "purging")
STATUSES = {
    "review": "Waiting for the archive department's review", "approval_1": "Waiting for the first approval",
    "approval_2": "Waiting for the second approval", "cooling": "Cooling-off period",
    "purging": "Being destroyed", "destroyed": "Destroyed", "rejected": "Rejected", "cancelled": "Cancelled",
}
_COLUMNS = {"review": ("reviewer_id", "reviewer", "reviewed_at"),
            "approval_1": ("approver_1_id", "approver_1", "approved_1_at"),
            "approval_2": ("approver_2_id", "approver_2", "approved_2_at")}


def case_of(row: Mapping) -> approvals.Case:
    status = row["status"]
    actors = {step: row[cols[0]] for step, cols in _COLUMNS.items() if row[cols[0]] is not None}
    if status in WAITING:
        index = WAITING.index(status)
        started = row["requested_at"] if index == 0 else row[_COLUMNS[WAITING[index - 1]][2]]
        return approvals.Case(requester_id=row["requested_by_id"], step=status, step_started_at=started, actors=actors)
    outcome = approvals.Outcome.REJECTED if status in ("rejected", "cancelled") else approvals.Outcome.APPROVED
    return approvals.Case(requester_id=row["requested_by_id"], step=None, outcome=outcome, actors=actors)


def may_decide(principal: Principal, row: Mapping) -> bool:
    try:
        approvals.check_may_act(FLOW, case_of(row), principal)
    except (Conflict, Forbidden):
        return False
    return True


def clean_request(raw: Mapping[str, Any]) -> dict:
    form = Form(raw)
    scope = form.choice("scope", ("file", "documents"), default="file")
    reason = form.text("reason", limit=500, required="Give the reason for the destruction.")
    early = form.flag("early")
    early_reason = form.text("early_reason", limit=500)
    if early and not early_reason:
        form.fail("early_reason", "early_reason.required",
                  "Destruction before the retention period ends needs the special reason.")
    signer_1 = form.text("signer_1", limit=60, required="Name the two people who sign the destruction list.")
    signer_2 = form.text("signer_2", limit=60, required="Name the two people who sign the destruction list.")
    if signer_1 and signer_1 == signer_2:
        form.fail("signer_2", "signer_2.same", "The destruction list needs two different people.")
    ids = document_ids(form, raw) if scope == "documents" else []
    form.check()
    return {"scope": scope, "reason": reason, "early": early, "early_reason": early_reason if early else "",
            "signer_1": signer_1, "signer_2": signer_2, "document_ids": ids}


async def from_list(raw: Mapping[str, Any], ref, data: dict) -> dict | None:
    """The disposition-list line a request was chosen from (field ``disposition_item``), checked
    against the request: the same file, the whole file for a file line, documents of the group for
    a group line. A request from the list is not early (its retention has ended)."""
    from tenants.retention import disposition

    text = str(raw.get("disposition_item") or "").strip()
    if not text:
        return None
    item = await disposition.item_row(int(text)) if text.isdigit() and len(text) < 19 else None
    if item is None or item["tenant_id"] != ref.id:
        raise FormErrors({"disposition_item": "This line is no longer on the disposition list."})
    if item["category"] is None and data["scope"] != "file":
        raise FormErrors({"scope": "This line of the disposition list is the whole file."})
    if item["category"] is not None:
        group = set(await disposition.group_documents(ref.schema, item["category"]))
        if data["scope"] != "documents" or not set(data["document_ids"]) <= group:
            raise FormErrors({"document_ids": "Choose documents of this line's document group only."})
    return item


async def create_request(tenant_id: int, raw: Mapping[str, Any], principal: Principal) -> int:
    if not principal.can(Perm.DESTRUCTION_REQUEST):
        raise Forbidden()
    ref = await ref_for_staff(principal, tenant_id)
    await assert_not_destroyed(ref.id)
    if str(raw.get("disposition_item") or "").strip():  # chosen from the list: its retention has ended
        raw = {**raw, "early": "", "early_reason": ""}
    data = clean_request(raw)
    item = await from_list(raw, ref, data)
    ids = data["document_ids"] if data["scope"] == "documents" else None
    async with tenant_tx(ref.schema):
        await assert_not_held(ref.id, ids)
        titles = []
        if ids:
            found = {r["id"]: r["title"] for r in await Document.select(Document.id, Document.title).where(
                Document.id.is_in(ids)).run()}
            if set(found) != set(ids):
                raise FormErrors({"document_ids": "Some of these documents are not in this file."})
            titles = [found[i] for i in ids]
        busy = await DestructionRequest.exists().where((DestructionRequest.tenant_id == ref.id)
                                                       & DestructionRequest.status.is_in(list(OPEN))).run()
        if busy:
            raise Conflict("This file already has an open destruction request.")
        [row] = await DestructionRequest.insert(DestructionRequest(
            tenant_id=ref.id, archive_no=ref.archive_no, tenant_name=ref.name, scope=data["scope"],
            document_ids=ids or [], document_titles=titles, reason=data["reason"], early=data["early"],
            early_reason=data["early_reason"], signer_1=data["signer_1"], signer_2=data["signer_2"],
            requested_by_id=principal.user_id, requested_by=principal.name, requested_at=now(),
        )).returning(DestructionRequest.id).run()
        detail = {"scope": data["scope"], "early": data["early"]}
        if item is not None:  # where it was chosen: the audit row is the request's record of its origin
            detail.update(disposition_item=item["id"], disposition_run=item["run_id"], list_of=item["as_of"].isoformat())
        await audit.record("destruction.request", principal=principal, tenant_id=ref.id,
                           target=f"destruction:{row['id']}", detail=detail)
    return row["id"]


async def origin(request_id: int) -> dict | None:
    """The disposition-list line the request was chosen from ({"item", "run", "list_of"}), or None
    (an early destruction, or a request made without the list)."""
    from portal.core.tables import AuditLog

    row = await AuditLog.select(AuditLog.detail).where(
        (AuditLog.action == "destruction.request") & (AuditLog.target == f"destruction:{request_id}")).first().run()
    detail = row["detail"] if row else None
    if isinstance(detail, str):
        import json

        detail = json.loads(detail)
    if not detail or "disposition_item" not in detail:
        return None
    return {"item": detail["disposition_item"], "run": detail["disposition_run"],
            "list_of": dt.date.fromisoformat(detail["list_of"])}


async def get_request(request_id: int, principal: Principal) -> dict:
    if not (principal.can(Perm.DESTRUCTION_READ) or principal.can(Perm.DESTRUCTION_REQUEST)):
        raise NotFound("No such destruction request.")
    row = await DestructionRequest.select().where(DestructionRequest.id == request_id).first().run()
    if row is None:
        raise NotFound("No such destruction request.")
    if row["status"] != "destroyed" or not principal.sees_all_buildings:
        await ref_for_staff(principal, row["tenant_id"])  # 404 outside one's buildings
    return row


async def _locked(request_id: int) -> dict:
    row = await DestructionRequest.select().where(DestructionRequest.id == request_id).lock_rows("UPDATE").first().run()
    if row is None:
        raise NotFound("No such destruction request.")
    return row


async def decide(request_id: int, raw: Mapping[str, Any], principal: Principal, *, cooling_days: int) -> str:
    """One decision of the flow; returns the new status."""
    await get_request(request_id, principal)
    decision = str(raw.get("decision") or "")
    async with core_tx():
        row = await _locked(request_id)
        transition = approvals.decide(FLOW, case_of(row), principal, decision, reason=str(raw.get("reason") or ""),
                                      expected_step=str(raw.get("step") or "") or None)
        if transition.decision == approvals.Decision.APPROVE:
            await assert_not_held(row["tenant_id"], row["document_ids"] if row["scope"] == "documents" else None)
        cols = _COLUMNS[transition.step.name]
        changes = {getattr(DestructionRequest, cols[0]): principal.user_id,
                   getattr(DestructionRequest, cols[1]): principal.name, getattr(DestructionRequest, cols[2]): transition.at}
        if transition.after.outcome == approvals.Outcome.REJECTED:
            status = "rejected"
            changes.update({DestructionRequest.closed_by: principal.name, DestructionRequest.closed_at: transition.at,
                            DestructionRequest.close_reason: transition.reason})
        elif transition.finished:
            status = "cooling"
            changes[DestructionRequest.cooling_until] = transition.at + dt.timedelta(days=cooling_days)
        else:
            status = transition.after.step
        changes[DestructionRequest.status] = status
        await DestructionRequest.update(changes).where(DestructionRequest.id == request_id).run()
        await approvals.record(transition, principal, tenant_id=row["tenant_id"], target=f"destruction:{request_id}")
    return status


async def cancel(request_id: int, raw: Mapping[str, Any], principal: Principal) -> None:
    """Anyone of the flow (the requester, the archive department, the leadership) may stop it before the purge."""
    row = await get_request(request_id, principal)
    if not (principal.user_id == row["requested_by_id"] or principal.can(Perm.DESTRUCTION_REVIEW)
            or principal.can(Perm.DESTRUCTION_APPROVE)):
        raise Forbidden()
    form = Form(raw)
    reason = form.text("reason", limit=500, required="Give the reason for cancelling.")
    form.check()
    async with core_tx():
        row = await _locked(request_id)
        if row["status"] not in WAITING + ("cooling",):
            raise Conflict("This destruction can no longer be cancelled.")
        await DestructionRequest.update({DestructionRequest.status: "cancelled", DestructionRequest.closed_by: principal.name,
                                         DestructionRequest.closed_at: now(), DestructionRequest.close_reason: reason}
                                        ).where(DestructionRequest.id == request_id).run()
        await audit.record("destruction.cancel", principal=principal, tenant_id=row["tenant_id"],
                           target=f"destruction:{request_id}", detail={"reason": reason})


async def start_due(at: dt.datetime | None = None, *, send: bool = True) -> list[int]:
    """Beat: requests whose cooling-off period is over start their purge (a job row and the task).
    A request whose scope came under hold meanwhile waits (and says so on its page)."""
    from tasks.destruction import purge as purge_task  # noqa: PLC0415 (tasks import services, not the reverse)

    at = at or now()
    started = []
    async with core_tx():
        rows = await DestructionRequest.select().where(
            (DestructionRequest.status == "cooling") & (DestructionRequest.cooling_until <= at)
        ).lock_rows("UPDATE", skip_locked=True).run()
        for row in rows:
            from tenants.destruction.holds import Held, active_holds, _covers

            ids = row["document_ids"] if row["scope"] == "documents" else None
            if any(_covers(h, ids) for h in await active_holds(row["tenant_id"])):
                continue
            await DestructionRequest.update({DestructionRequest.status: "purging"}).where(
                DestructionRequest.id == row["id"]).run()
            await PurgeJob.insert(PurgeJob(request_id=row["id"], tenant_id=row["tenant_id"], started_at=at,
                                           heartbeat_at=at)).on_conflict(action="DO NOTHING").run()
            await audit.record("destruction.purge.start", actor_name="beat", tenant_id=row["tenant_id"],
                               target=f"destruction:{row['id']}")
            if send:
                on_commit(purge_task, row["tenant_id"], row["id"])
            started.append(row["id"])
    return started


async def register(principal: Principal, *, status: str = "", q: str = "") -> list[dict]:
    """The destruction requests and register this person may see, newest first."""
    if not (principal.can(Perm.DESTRUCTION_READ) or principal.can(Perm.DESTRUCTION_REQUEST)):
        raise Forbidden()
    query = DestructionRequest.select().order_by(DestructionRequest.id, ascending=False).limit(1000)
    if status in STATUSES:
        query = query.where(DestructionRequest.status == status)
    rows = await query.run()
    refs = await get_refs(sorted({r["tenant_id"] for r in rows}))
    needle = q.strip().lower()
    out = []
    for row in rows:
        ref = refs.get(row["tenant_id"])
        if not principal.sees_all_buildings and (ref is None or not principal.may_see_tenant(ref.building_ids)):
            continue
        text = " ".join([row["archive_no"], row["tenant_name"], row["certificate_no"] or "", row["reason"]]).lower()
        if needle and needle not in text:
            continue
        out.append(row)
    return out


async def resume_stale(stale_seconds: int) -> list[int]:
    """Beat: purges whose heartbeat stopped (a worker killed, its message lost) are sent again."""
    from tasks.destruction import purge as purge_task  # noqa: PLC0415

    from portal.core import jobs

    cutoff = now() - dt.timedelta(seconds=stale_seconds)
    rows = await PurgeJob.select(PurgeJob.request_id, PurgeJob.tenant_id).where(
        (PurgeJob.status == "running") & (PurgeJob.heartbeat_at < cutoff)).run()
    for row in rows:
        await jobs.send_now(purge_task, row["tenant_id"], row["request_id"])
    return [r["request_id"] for r in rows]


async def assert_not_destroyed(tenant_id: int) -> None:
    """A file being destroyed or destroyed is out of reach of the tenant pages (404): only its
    destruction record and certificate remain."""
    from tenants.registry.tables import Tenant

    if await Tenant.exists().where((Tenant.id == tenant_id) & Tenant.status.is_in(["destroying", "destroyed"])).run():
        raise NotFound("This file has been destroyed.")
