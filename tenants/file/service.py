"""The tenant file: reading it, changing it field by field with a change log,
and the tenant's own change requests that wait for staff review."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, Mapping

from portal.core import approvals, audit
from portal.core.roles import Perm, Principal
from portal.core.errors import Conflict, FormErrors, Forbidden, NotFound
from tenants.file import changelog, forms, queries
from tenants.file.changelog import Actor
from tenants.file.tables import ChangeRequest, Contact, Profile
from tenants.registry import identity
from tenants.registry.service import TenantRef, insert_contact, refresh_summary
from tenants.registry.tables import ReviewItem
from tenants.scope import tenant_tx

# What a tenant's own people may propose; the rest is the office's to set.
TENANT_EDITABLE = frozenset(
    {"name", "legal_rep", "registered_capital", "industry", "business_scope", "registered_address", "special_needs"}
)
REQUEST_KINDS = ("profile", "contact_add", "contact_update", "contact_deactivate")
CHANGES_PER_PAGE = 50


# A tenant's change request waits for one staff member who may decide reviews (never its requester).
REQUEST_FLOW = approvals.Flow(
    name="tenant.request",
    steps=(approvals.Step("review", "Staff review", perm=Perm.REVIEW_DECIDE, not_requester=True),),
)


def _actor(principal: Principal) -> Actor:
    return Actor(kind=principal.kind, name=principal.name)


async def read_file(ref: TenantRef, principal: Principal, *, changes_page: int = 1, audit_view: bool = True) -> dict:
    """Profile, contacts, change log, pending requests and leased units of one tenant."""
    async with tenant_tx(ref.schema):
        data = await queries.file_page(ref.id, changes_page, CHANGES_PER_PAGE, requests=50)
        if principal.is_staff and audit_view:
            await audit.record("tenant.view", principal=principal, tenant_id=ref.id, target=ref.archive_no)
    return {**data, "changes_page": changes_page, "requests": [_request_dict(r) for r in data["requests"]]}


def _request_dict(row) -> dict:
    out = dict(row)
    if isinstance(out.get("payload"), str):
        out["payload"] = json.loads(out["payload"])
    return out


async def _apply_profile(cleaned: Mapping[str, Any], actor: Actor) -> list[str]:
    current = await Profile.select().where(Profile.id == 1).lock_rows("UPDATE").first().run()
    changed = [k for k, value in cleaned.items() if current[k] != value]
    for key in changed:
        await changelog.record(actor, "profile", key, current[key], cleaned[key])
    if changed:
        await Profile.update({**{_column(Profile, k): cleaned[k] for k in changed},
                              Profile.updated_at: dt.datetime.now(dt.timezone.utc)}).where(Profile.id == 1).run()
    return changed


def _column(table, name: str):
    return table._meta.get_column_by_name(name)


def _check_identity(merged: Mapping[str, Any]) -> dict[str, Any]:
    """Re-check the kind/identity rule on the whole merged profile; the cleaned profile."""
    return forms.clean_profile(merged)


async def update_profile(ref: TenantRef, raw: Mapping[str, Any], principal: Principal) -> list[str]:
    """Staff edit of the profile. Returns the fields that changed."""
    if not principal.can(Perm.TENANT_WRITE):
        raise Forbidden()
    present = set(raw) & set(forms.PROFILE_FIELDS)
    cleaned = forms.clean_profile(raw, only=present)
    async with tenant_tx(ref.schema) as tx:
        conn = tx.connection
        current = await Profile.select().where(Profile.id == 1).first().run()
        whole = _check_identity({**{k: forms.as_text(current[k]) for k in forms.PROFILE_FIELDS},
                                 **{k: raw[k] for k in present}})
        code = identity.identity_of(whole)[1]
        holders = []
        if code != identity.identity_of(current)[1]:  # only a new code can collide
            holders = await identity.holders_to_link(conn, whole, raw, ref.id)
        changed = await _apply_profile(cleaned, _actor(principal))
        await identity.link(conn, ref.id, holders, code, principal)
        if changed:
            await refresh_summary(conn, ref.id)
            await audit.record("tenant.update", principal=principal, tenant_id=ref.id, target=ref.archive_no,
                               detail={"fields": changed})
    return changed


async def _apply_contact(contact_id: int | None, cleaned: Mapping[str, Any], actor: Actor) -> int:
    if contact_id is None:
        new_id = await insert_contact(cleaned)
        await changelog.record(actor, "contact", "created", "", cleaned["name"], entity_id=new_id)
        return new_id
    current = await Contact.select().where(Contact.id == contact_id).lock_rows("UPDATE").first().run()
    if current is None:
        raise NotFound("No such contact.")
    changed = [k for k, value in cleaned.items() if current[k] != value]
    for key in changed:
        await changelog.record(actor, "contact", key, current[key], cleaned[key], entity_id=contact_id)
    if changed:
        await Contact.update({_column(Contact, k): cleaned[k] for k in changed}).where(Contact.id == contact_id).run()
    return contact_id


async def _set_contact_active(contact_id: int, active: bool, actor: Actor) -> None:
    current = await Contact.select(Contact.active).where(Contact.id == contact_id).lock_rows("UPDATE").first().run()
    if current is None:
        raise NotFound("No such contact.")
    if current["active"] == active:
        return
    await Contact.update({Contact.active: active,
                          Contact.deactivated_at: None if active else dt.datetime.now(dt.timezone.utc)}).where(
        Contact.id == contact_id).run()
    await changelog.record(actor, "contact", "active", current["active"], active, entity_id=contact_id)


async def save_contact(ref: TenantRef, contact_id: int | None, raw: Mapping[str, Any], principal: Principal) -> int:
    """Staff add (contact_id None) or edit of a contact."""
    if not principal.can(Perm.TENANT_WRITE):
        raise Forbidden()
    cleaned = forms.clean_contact(raw)
    async with tenant_tx(ref.schema) as tx:
        saved = await _apply_contact(contact_id, cleaned, _actor(principal))
        await refresh_summary(tx.connection, ref.id)
        await audit.record("tenant.contact.save", principal=principal, tenant_id=ref.id, target=f"contact:{saved}")
    return saved


async def set_contact_active(ref: TenantRef, contact_id: int, active: bool, principal: Principal) -> None:
    if not principal.can(Perm.TENANT_WRITE):
        raise Forbidden()
    async with tenant_tx(ref.schema) as tx:
        await _set_contact_active(contact_id, active, _actor(principal))
        await refresh_summary(tx.connection, ref.id)
        await audit.record("tenant.contact.active", principal=principal, tenant_id=ref.id,
                           target=f"contact:{contact_id}", detail={"active": active})


# --- the tenant's change requests ---------------------------------------------------------------

def _clean_request(kind: str, raw: Mapping[str, Any]) -> dict[str, Any]:
    if kind == "profile":
        present = set(raw) & TENANT_EDITABLE
        if not present:
            raise FormErrors({"__all__": "Change at least one field."})
        return forms.clean_profile(raw, only=present)
    if kind in ("contact_add", "contact_update"):
        return forms.clean_contact(raw)
    if kind == "contact_deactivate":
        return {}
    raise FormErrors({"kind": "Unknown kind of change."})


def _jsonable(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (forms.as_text(v) if not isinstance(v, (bool, int, str)) or v is None else v) for k, v in values.items()}


REQUEST_TITLES = {
    "profile": "Company details change",
    "contact_add": "New contact",
    "contact_update": "Contact change",
    "contact_deactivate": "Contact removal",
}


async def submit_request(
    ref: TenantRef, principal: Principal, kind: str, raw: Mapping[str, Any], target_id: int | None = None
) -> int:
    """A portal user proposes a change; it is validated now and waits for staff."""
    if not principal.is_portal or principal.tenant_id != ref.id:
        raise Forbidden()
    if kind not in REQUEST_KINDS:
        raise FormErrors({"kind": "Unknown kind of change."})
    cleaned = _clean_request(kind, raw)
    async with tenant_tx(ref.schema) as tx:
        if kind in ("contact_update", "contact_deactivate"):
            if target_id is None or not await Contact.exists().where(Contact.id == target_id).run():
                raise NotFound("No such contact.")
        request_id = (await ChangeRequest.insert(ChangeRequest(
            kind=kind, target_id=target_id, payload=json.dumps(_jsonable(cleaned), ensure_ascii=False),
            submitted_by_id=principal.user_id, submitted_by=principal.name,
        )).returning(ChangeRequest.id).run())[0]["id"]
        await ReviewItem.insert(ReviewItem(tenant_id=ref.id, kind=f"change:{kind}", ref_id=request_id,
                                           title=REQUEST_TITLES[kind], submitted_by=principal.name)).run()
        await refresh_summary(tx.connection, ref.id)
        await audit.record("tenant.request.submit", principal=principal, tenant_id=ref.id,
                           target=f"request:{request_id}", detail={"kind": kind})
    return request_id


def _request_case(request: Mapping[str, Any]) -> approvals.Case:
    """A pending request's approval state, from its own columns."""
    return approvals.Case(requester_id=request["submitted_by_id"], requester_kind="portal",
                          step=REQUEST_FLOW.steps[0].name, step_started_at=request["submitted_at"])


async def _lock_pending_request(request_id: int) -> dict:
    row = await ChangeRequest.select().where(ChangeRequest.id == request_id).lock_rows("UPDATE").first().run()
    if row is None:
        raise NotFound("No such request.")
    if row["status"] != "pending":
        raise Conflict("This request has already been decided.")
    return _request_dict(row)


async def _close_request(ref: TenantRef, request_id: int, status: str, decided_by: str, reason: str = "") -> None:
    """The request's final state, in its row and in the staff review queue."""
    at = dt.datetime.now(dt.timezone.utc)
    await ChangeRequest.update({ChangeRequest.status: status, ChangeRequest.decided_by: decided_by,
                                ChangeRequest.decided_at: at, ChangeRequest.reason: reason}).where(
        ChangeRequest.id == request_id).run()
    await ReviewItem.update({ReviewItem.status: status, ReviewItem.decided_at: at}).where(
        (ReviewItem.tenant_id == ref.id) & (ReviewItem.ref_id == request_id) & ReviewItem.kind.like("change:%")).run()


async def decide_request(
    ref: TenantRef, request_id: int, principal: Principal, *, approve: bool, reason: str = ""
) -> None:
    """Approve (apply with the submitter and the approver in the change log) or
    reject with a reason the tenant sees: the one step of ``REQUEST_FLOW``."""
    if not principal.can(Perm.REVIEW_DECIDE):
        raise Forbidden()
    reason = (reason or "").strip()
    if not approve and not reason:
        raise FormErrors({"reason": "Give the tenant a reason for the rejection."})
    decision = approvals.Decision.APPROVE if approve else approvals.Decision.REJECT
    async with tenant_tx(ref.schema) as tx:
        conn = tx.connection
        request = await _lock_pending_request(request_id)
        decided = approvals.decide(REQUEST_FLOW, _request_case(request), principal, decision, reason=reason)
        if approve:
            actor = Actor(kind="portal", name=request["submitted_by"], approved_by=principal.name, request_id=request_id)
            cleaned = _clean_request(request["kind"], request["payload"])
            if request["kind"] == "profile":
                await _apply_profile(cleaned, actor)
            elif request["kind"] == "contact_add":
                await _apply_contact(None, cleaned, actor)
            elif request["kind"] == "contact_update":
                await _apply_contact(request["target_id"], cleaned, actor)
            else:
                await _set_contact_active(request["target_id"], False, actor)
        await _close_request(ref, request_id, decided.after.outcome.value, principal.name, decided.reason)
        await refresh_summary(conn, ref.id)
        await approvals.record(decided, principal, tenant_id=ref.id, target=f"request:{request_id}")


async def withdraw_request(ref: TenantRef, request_id: int, principal: Principal) -> None:
    """The tenant takes back a request staff have not decided yet: it leaves the
    review queue and the change log says who withdrew it."""
    if not principal.is_portal or principal.tenant_id != ref.id:
        raise Forbidden()
    async with tenant_tx(ref.schema) as tx:
        row = await _lock_pending_request(request_id)
        await _close_request(ref, request_id, "withdrawn", principal.name)
        await changelog.record(_actor(principal), "request", "withdrawn", "", row["kind"], entity_id=request_id)
        await refresh_summary(tx.connection, ref.id)
        await audit.record("tenant.request.withdrawn", principal=principal, tenant_id=ref.id,
                           target=f"request:{request_id}", detail={"kind": row["kind"]})
