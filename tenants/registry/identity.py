"""One company, one identity: a unified social credit code (or resident ID
number) already on another tenant's file is refused, unless staff confirm it
is the same company moving; then the two files are linked (``core.tenant_link``)
and each file page shows the other.

The check runs in the transaction that writes the code, under an advisory
lock on the code, so two clerks cannot both register it at once.
"""

from __future__ import annotations

from typing import Any, Mapping

from portal.core import audit
from portal.core.roles import Principal
from portal.core.db import DB
from portal.core.errors import FormErrors
from portal.core.i18n import N_

CONFIRM_FIELD = "confirm_same_company"
DUPLICATE_MESSAGE = N_(
    "This identity number is already on file for another tenant. If it is the same company moving, "
    "confirm it below to link the two files."
)


class DuplicateIdentity(FormErrors):
    """The code is on another tenant's file; ``holders`` are those tenants."""

    def __init__(self, field: str, holders: list[dict]):
        super().__init__({field: DUPLICATE_MESSAGE}, {field: f"{field}.duplicate"})
        self.holders = holders


def identity_of(profile: Mapping[str, Any]) -> tuple[str, str | None]:
    """(field, code) of a cleaned profile: the credit code of an enterprise,
    the resident ID number of an individual."""
    field = "credit_code" if profile.get("kind") == "E" else "resident_id"
    return field, (profile.get(field) or None)


def confirmed(raw: Mapping[str, Any]) -> bool:
    value = raw.get(CONFIRM_FIELD)
    return value is True or str(value or "").strip().lower() in {"1", "true", "on", "yes"}


async def holders_to_link(conn, profile: Mapping[str, Any], raw: Mapping[str, Any],
                          tenant_id: int | None = None) -> list[dict]:
    """The other tenants holding this profile's identity code (none: ``[]``).
    Raises ``DuplicateIdentity`` unless the form confirms the same company."""
    field, code = identity_of(profile)
    if code is None:
        return []
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"identity:{code}")
    rows = await conn.fetch(
        "SELECT id, archive_no, name, building_ids, active FROM core.tenant"
        " WHERE identity_code = $1 AND id IS DISTINCT FROM $2 ORDER BY id", code, tenant_id)
    holders = [dict(r) for r in rows]
    if holders and not confirmed(raw):
        raise DuplicateIdentity(field, holders)
    return holders


async def link(conn, tenant_id: int, holders: list[dict], code: str, principal: Principal) -> None:
    for holder in holders:
        await conn.execute(
            "INSERT INTO core.tenant_link (tenant_id, linked_tenant_id, identity_code, created_by)"
            " VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING", tenant_id, holder["id"], code, principal.name)
        await audit.record("tenant.link", principal=principal, tenant_id=tenant_id, target=holder["archive_no"],
                           detail={"linked_tenant_id": holder["id"], "reason": "same_company_moving"})


async def links_of(tenant_id: int, principal: Principal) -> list[dict]:
    """The files linked to this one, either way; a file the person may not
    see is shown without its name or number."""
    rows = await DB.pool.fetch(
        "SELECT l.created_by, l.created_at, t.id, t.archive_no, t.name, t.building_ids, t.active"
        " FROM core.tenant_link l JOIN core.tenant t"
        "   ON t.id = CASE WHEN l.tenant_id = $1 THEN l.linked_tenant_id ELSE l.tenant_id END"
        " WHERE $1 IN (l.tenant_id, l.linked_tenant_id) ORDER BY l.created_at", tenant_id)
    return [visible(dict(r), principal) for r in rows]


def visible(row: dict, principal: Principal) -> dict:
    """``row`` with ``visible`` set; name and number blanked outside the person's buildings."""
    row["visible"] = principal.may_see_tenant(tuple(row["building_ids"]))
    if not row["visible"]:
        row.update(id=None, archive_no="", name="")
    return row
