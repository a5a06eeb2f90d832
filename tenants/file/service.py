"""The tenant file: reading it, changing it field by field with a change log,
and the tenant's own change requests that wait for staff review."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Mapping

from portal.core import audit
from portal.core.roles import Perm, Principal
from portal.core.errors import Conflict, FormErrors, Forbidden, NotFound
from tenants.file import forms
from tenants.registry import identity
from tenants.registry.service import TenantRef, insert_contact, refresh_summary
from tenants.scope import tenant_tx

# What a tenant's own people may propose; the rest is the office's to set.
TENANT_EDITABLE = frozenset(
    {"name", "legal_rep", "registered_capital", "industry", "business_scope", "registered_address", "special_needs"}
)
REQUEST_KINDS = ("profile", "contact_add", "contact_update", "contact_deactivate")
CHANGES_PER_PAGE = 50


@dataclass(frozen=True)
class Actor:
    """Who a change-log row names: the person who made or proposed the change,
    and, for a tenant's request, the staff member who approved it."""

    kind: str
    name: str
    approved_by: str = ""
    request_id: int | None = None

    @classmethod
    def of(cls, principal: Principal) -> "Actor":
        return cls(kind=principal.kind, name=principal.name)


async def read_file(ref: TenantRef, principal: Principal, *, changes_page: int = 1, audit_view: bool = True) -> dict:
    """Profile, contacts, change log and pending requests of one tenant."""
    async with tenant_tx(ref.schema) as tx:
        conn = tx.connection
        profile = await conn.fetchrow("SELECT * FROM profile WHERE id = 1")
        contacts = await conn.fetch("SELECT * FROM contact ORDER BY active DESC, is_primary DESC, id")
        changes, total_changes = await _change_page(conn, changes_page)
        requests = await conn.fetch("SELECT * FROM change_request ORDER BY submitted_at DESC, id DESC LIMIT 50")
        if principal.is_staff and audit_view:
            await audit.record("tenant.view", principal=principal, tenant_id=ref.id, target=ref.archive_no)
    return {
        "profile": dict(profile),
        "contacts": [dict(c) for c in contacts],
        "changes": changes,
        "changes_total": total_changes,
        "changes_page": changes_page,
        "requests": [_request_dict(r) for r in requests],
    }


async def _change_page(conn, page: int) -> tuple[list[dict], int]:
    """One page of the change log and the total count, in one query (the
    count rides along as a window); a second query only past the last page."""
    offset = (max(page, 1) - 1) * CHANGES_PER_PAGE
    rows = await conn.fetch(
        "SELECT *, count(*) OVER () AS _total FROM change_log ORDER BY at DESC, id DESC LIMIT $1 OFFSET $2",
        CHANGES_PER_PAGE, offset,
    )
    changes = [dict(r) for r in rows]
    total = 0
    for change in changes:
        total = change.pop("_total")
    if not changes and offset:
        total = await conn.fetchval("SELECT count(*) FROM change_log")
    return changes, total


def _request_dict(row) -> dict:
    out = dict(row)
    if isinstance(out.get("payload"), str):
        out["payload"] = json.loads(out["payload"])
    return out


async def _log(conn, actor: Actor, entity: str, entity_id: int | None, field: str, old, new) -> None:
    await conn.execute(
        "INSERT INTO change_log (actor_kind, actor_name, approved_by, entity, entity_id, field, old_value,"
        " new_value, request_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        actor.kind, actor.name, actor.approved_by, entity, entity_id, field,
        forms.as_text(old), forms.as_text(new), actor.request_id,
    )


async def _apply_profile(conn, cleaned: Mapping[str, Any], actor: Actor) -> list[str]:
    current = await conn.fetchrow("SELECT * FROM profile WHERE id = 1 FOR UPDATE")
    changed = [k for k, value in cleaned.items() if current[k] != value]
    for key in changed:
        await _log(conn, actor, "profile", None, key, current[key], cleaned[key])
    if changed:
        sets = ", ".join(f"{k} = ${i + 1}" for i, k in enumerate(changed))
        await conn.execute(
            f"UPDATE profile SET {sets}, updated_at = now() WHERE id = 1", *(cleaned[k] for k in changed)
        )
    return changed


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
        current = dict(await conn.fetchrow("SELECT * FROM profile WHERE id = 1"))
        whole = _check_identity({**{k: forms.as_text(current[k]) for k in forms.PROFILE_FIELDS},
                                 **{k: raw[k] for k in present}})
        code = identity.identity_of(whole)[1]
        holders = []
        if code != identity.identity_of(current)[1]:  # only a new code can collide
            holders = await identity.holders_to_link(conn, whole, raw, ref.id)
        changed = await _apply_profile(conn, cleaned, Actor.of(principal))
        await identity.link(conn, ref.id, holders, code, principal)
        if changed:
            await refresh_summary(conn, ref.id)
            await audit.record("tenant.update", principal=principal, tenant_id=ref.id, target=ref.archive_no,
                               detail={"fields": changed})
    return changed


async def _apply_contact(conn, contact_id: int | None, cleaned: Mapping[str, Any], actor: Actor) -> int:
    if contact_id is None:
        new_id = await insert_contact(conn, cleaned)
        await _log(conn, actor, "contact", new_id, "created", "", cleaned["name"])
        return new_id
    current = await conn.fetchrow("SELECT * FROM contact WHERE id = $1 FOR UPDATE", contact_id)
    if current is None:
        raise NotFound("No such contact.")
    changed = [k for k, value in cleaned.items() if current[k] != value]
    for key in changed:
        await _log(conn, actor, "contact", contact_id, key, current[key], cleaned[key])
    if changed:
        sets = ", ".join(f"{k} = ${i + 2}" for i, k in enumerate(changed))
        await conn.execute(f"UPDATE contact SET {sets} WHERE id = $1", contact_id, *(cleaned[k] for k in changed))
    return contact_id


async def _set_contact_active(conn, contact_id: int, active: bool, actor: Actor) -> None:
    current = await conn.fetchrow("SELECT active FROM contact WHERE id = $1 FOR UPDATE", contact_id)
    if current is None:
        raise NotFound("No such contact.")
    if current["active"] == active:
        return
    await conn.execute(
        "UPDATE contact SET active = $2, deactivated_at = CASE WHEN $2 THEN NULL ELSE now() END WHERE id = $1",
        contact_id, active,
    )
    await _log(conn, actor, "contact", contact_id, "active", current["active"], active)


async def save_contact(ref: TenantRef, contact_id: int | None, raw: Mapping[str, Any], principal: Principal) -> int:
    """Staff add (contact_id None) or edit of a contact."""
    if not principal.can(Perm.TENANT_WRITE):
        raise Forbidden()
    cleaned = forms.clean_contact(raw)
    async with tenant_tx(ref.schema) as tx:
        saved = await _apply_contact(tx.connection, contact_id, cleaned, Actor.of(principal))
        await refresh_summary(tx.connection, ref.id)
        await audit.record("tenant.contact.save", principal=principal, tenant_id=ref.id, target=f"contact:{saved}")
    return saved


async def set_contact_active(ref: TenantRef, contact_id: int, active: bool, principal: Principal) -> None:
    if not principal.can(Perm.TENANT_WRITE):
        raise Forbidden()
    async with tenant_tx(ref.schema) as tx:
        await _set_contact_active(tx.connection, contact_id, active, Actor.of(principal))
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
        conn = tx.connection
        if kind in ("contact_update", "contact_deactivate"):
            if target_id is None or not await conn.fetchval("SELECT 1 FROM contact WHERE id = $1", target_id):
                raise NotFound("No such contact.")
        request_id = await conn.fetchval(
            "INSERT INTO change_request (kind, target_id, payload, submitted_by_id, submitted_by)"
            " VALUES ($1, $2, $3::jsonb, $4, $5) RETURNING id",
            kind, target_id, json.dumps(_jsonable(cleaned), ensure_ascii=False), principal.user_id, principal.name,
        )
        await conn.execute(
            "INSERT INTO core.review_item (tenant_id, kind, ref_id, title, submitted_by)"
            " VALUES ($1, $2, $3, $4, $5)",
            ref.id, f"change:{kind}", request_id, REQUEST_TITLES[kind], principal.name,
        )
        await refresh_summary(conn, ref.id)
        await audit.record("tenant.request.submit", principal=principal, tenant_id=ref.id,
                           target=f"request:{request_id}", detail={"kind": kind})
    return request_id


async def decide_request(
    ref: TenantRef, request_id: int, principal: Principal, *, approve: bool, reason: str = ""
) -> None:
    """Approve (apply with the submitter and the approver in the change log) or
    reject with a reason the tenant sees."""
    if not principal.can(Perm.REVIEW_DECIDE):
        raise Forbidden()
    reason = (reason or "").strip()
    if not approve and not reason:
        raise FormErrors({"reason": "Give the tenant a reason for the rejection."})
    async with tenant_tx(ref.schema) as tx:
        conn = tx.connection
        row = await conn.fetchrow("SELECT * FROM change_request WHERE id = $1 FOR UPDATE", request_id)
        if row is None:
            raise NotFound("No such request.")
        if row["status"] != "pending":
            raise Conflict("This request has already been decided.")
        request = _request_dict(row)
        if approve:
            actor = Actor(kind="portal", name=request["submitted_by"], approved_by=principal.name, request_id=request_id)
            cleaned = _clean_request(request["kind"], request["payload"])
            if request["kind"] == "profile":
                await _apply_profile(conn, cleaned, actor)
            elif request["kind"] == "contact_add":
                await _apply_contact(conn, None, cleaned, actor)
            elif request["kind"] == "contact_update":
                await _apply_contact(conn, request["target_id"], cleaned, actor)
            else:
                await _set_contact_active(conn, request["target_id"], False, actor)
        status = "approved" if approve else "rejected"
        await conn.execute(
            "UPDATE change_request SET status = $2, decided_by = $3, decided_at = now(), reason = $4 WHERE id = $1",
            request_id, status, principal.name, reason,
        )
        await conn.execute(
            "UPDATE core.review_item SET status = $3, decided_at = now() WHERE tenant_id = $1 AND ref_id = $2"
            " AND kind LIKE 'change:%'",
            ref.id, request_id, status,
        )
        await refresh_summary(conn, ref.id)
        await audit.record(f"tenant.request.{status}", principal=principal, tenant_id=ref.id,
                           target=f"request:{request_id}", detail={"reason": reason})


async def withdraw_request(ref: TenantRef, request_id: int, principal: Principal) -> None:
    """The tenant takes back a request staff have not decided yet: it leaves the
    review queue and the change log says who withdrew it."""
    if not principal.is_portal or principal.tenant_id != ref.id:
        raise Forbidden()
    async with tenant_tx(ref.schema) as tx:
        conn = tx.connection
        row = await conn.fetchrow("SELECT kind, status FROM change_request WHERE id = $1 FOR UPDATE", request_id)
        if row is None:
            raise NotFound("No such request.")
        if row["status"] != "pending":
            raise Conflict("This request has already been decided.")
        await conn.execute(
            "UPDATE change_request SET status = 'withdrawn', decided_by = $2, decided_at = now() WHERE id = $1",
            request_id, principal.name)
        await conn.execute(
            "UPDATE core.review_item SET status = 'withdrawn', decided_at = now() WHERE tenant_id = $1"
            " AND ref_id = $2 AND kind LIKE 'change:%'", ref.id, request_id)
        await _log(conn, Actor.of(principal), "request", request_id, "withdrawn", "", row["kind"])
        await refresh_summary(conn, ref.id)
        await audit.record("tenant.request.withdrawn", principal=principal, tenant_id=ref.id,
                           target=f"request:{request_id}", detail={"kind": row["kind"]})
