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
from portal.core.errors import FormErrors
from portal.core.i18n import N_
from tenants.registry import queries
from tenants.registry.tables import Tenant, TenantLink

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
    await queries.lock_identity(conn, code)
    others = Tenant.identity_code == code
    if tenant_id is not None:
        others &= Tenant.id != tenant_id
    holders = await Tenant.select(Tenant.id, Tenant.archive_no, Tenant.name, Tenant.building_ids,
                                  Tenant.active).where(others).order_by(Tenant.id).run()
    if holders and not confirmed(raw):
        raise DuplicateIdentity(field, holders)
    return holders


async def link(conn, tenant_id: int, holders: list[dict], code: str, principal: Principal) -> None:
    for holder in holders:
        await TenantLink.insert(TenantLink(tenant_id=tenant_id, linked_tenant_id=holder["id"], identity_code=code,
                                           created_by=principal.name)).on_conflict(action="DO NOTHING").run()
        await audit.record("tenant.link", principal=principal, tenant_id=tenant_id, target=holder["archive_no"],
                           detail={"linked_tenant_id": holder["id"], "reason": "same_company_moving"})


async def links_of(tenant_id: int, principal: Principal) -> list[dict]:
    """The files linked to this one, either way; a file the person may not
    see is shown without its name or number."""
    return [visible(row, principal) for row in await queries.linked_files(tenant_id)]


def visible(row: dict, principal: Principal) -> dict:
    """``row`` with ``visible`` set; name and number blanked outside the person's buildings."""
    row["visible"] = principal.may_see_tenant(tuple(row["building_ids"]))
    if not row["visible"]:
        row.update(id=None, archive_no="", name="")
    return row
