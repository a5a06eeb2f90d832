""""My company": the tenant's own file as its people may see it."""

from __future__ import annotations

from litestar import Request, get
from litestar.response import Template

from portal.core.db import DB
from portal.routes.forms import page_number
from portal.web.render import portal_guard, render
from tenants.file import forms, service as file_service
from tenants.registry import service as registry

# Profile fields the tenant sees; the office's own remarks (notes, level, source) stay in the console.
VISIBLE_PROFILE_FIELDS = frozenset(file_service.TENANT_EDITABLE | {"kind", "credit_code", "resident_id", "status",
                                                                   "move_in_date"})


# Column names in the change log -> label msgids.
FIELD_LABELS = {
    "name": "Name",
    "kind": "Type",
    "credit_code": "Unified social credit code",
    "resident_id": "Resident ID number",
    "legal_rep": "Legal representative",
    "registered_capital": "Registered capital (yuan)",
    "industry": "Industry",
    "business_scope": "Business scope",
    "registered_address": "Registered address",
    "status": "Status",
    "move_in_date": "Move-in date",
    "special_needs": "Special needs",
    "position": "Position",
    "mobile": "Mobile",
    "landline": "Landline",
    "email": "E-mail",
    "is_primary": "Primary contact",
    "is_emergency": "Emergency contact",
    "receives_notices": "Receives notices",
    "active": "Active",
    "created": "Created",
}
ENTITY_LABELS = {"profile": "Company details", "contact": "Contact", "file": "Tenant file"}
FLAG_FIELDS = frozenset({"is_primary", "is_emergency", "receives_notices", "active"})


def visible_change(entry: dict) -> bool:
    """Change-log rows shown to the tenant: never those of office-only fields."""
    if entry["entity"] == "profile":
        return entry["field"] in VISIBLE_PROFILE_FIELDS
    return entry["entity"] in ("contact", "file")


async def leased_units(tenant_id: int) -> list[dict]:
    rows = await DB.pool.fetch(
        "SELECT u.code, u.floor, u.area_m2, b.name AS building_name FROM core.tenant_unit tu"
        " JOIN core.unit u ON u.id = tu.unit_id JOIN core.building b ON b.id = u.building_id"
        " WHERE tu.tenant_id = $1 ORDER BY b.code, u.code", tenant_id)
    return [dict(r) for r in rows]


def describe_requests(requests: list[dict], contacts: list[dict]) -> list[dict]:
    """Add the name of the contact a request is about, for display."""
    names = {c["id"]: c["name"] for c in contacts}
    return [{**r, "target_name": names.get(r["target_id"], "") if r["target_id"] else ""} for r in requests]


@get("/portal/", guards=[portal_guard])
async def home(request: Request, changes: str = "1") -> Template:
    principal = request.state.principal
    ref = await registry.ref_for_portal(principal)
    data = await file_service.read_file(ref, principal, changes_page=page_number(changes))
    contacts = [c for c in data["contacts"] if c["active"]]
    return render(
        "portal/home.html", principal=principal, ref=ref, profile=data["profile"], contacts=contacts,
        requests=describe_requests(data["requests"], data["contacts"]),
        changes=[c for c in data["changes"] if visible_change(c)], changes_total=data["changes_total"],
        changes_page=data["changes_page"], changes_per_page=file_service.CHANGES_PER_PAGE,
        units=await leased_units(ref.id), kinds=forms.KIND_LABELS, statuses=forms.STATUS_LABELS,
        titles=file_service.REQUEST_TITLES, field_labels=FIELD_LABELS, entity_labels=ENTITY_LABELS,
        flag_fields=FLAG_FIELDS, contact_names={c["id"]: c["name"] for c in data["contacts"]},
    )


ROUTES = [home]
