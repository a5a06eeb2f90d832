""""My company": the tenant's own file as its people may see it."""

from __future__ import annotations

from litestar import Request, get
from litestar.response import Template

from portal.routes.forms import page_number
from portal.web.render import portal_guard, render
from tenants.file import forms, service as file_service
from portal.web.request_diff import request_changes
from portal.web.tenancy import Tenant

# Profile fields the tenant sees; the office's own remarks (notes, level, source) stay in the console.
VISIBLE_PROFILE_FIELDS = frozenset(file_service.TENANT_EDITABLE | {"kind", "credit_code", "resident_id", "status",
                                                                   "move_in_date"})


def visible_change(entry: dict) -> bool:
    """Change-log rows shown to the tenant: never those of office-only fields."""
    if entry["entity"] == "profile":
        return entry["field"] in VISIBLE_PROFILE_FIELDS
    return entry["entity"] in ("contact", "file", "request")


def describe_requests(requests: list[dict], profile: dict, contacts: list[dict]) -> list[dict]:
    """Add the name of the contact a request is about and what it would change, for display."""
    names = {c["id"]: c["name"] for c in contacts}
    return [{**r, "target_name": names.get(r["target_id"], "") if r["target_id"] else "",
             "diff": request_changes(r, profile, contacts)} for r in requests]


@get("/portal/", guards=[portal_guard])
async def home(request: Request, my_tenant: Tenant, changes: str = "1") -> Template:
    principal = request.state.principal
    data = await file_service.read_file(my_tenant, principal, changes_page=page_number(changes))
    contacts = [c for c in data["contacts"] if c["active"]]
    return render(
        "portal/home.html", principal=principal, ref=my_tenant, profile=data["profile"], contacts=contacts,
        requests=describe_requests(data["requests"], data["profile"], data["contacts"]),
        changes=[c for c in data["changes"] if visible_change(c)], changes_total=data["changes_total"],
        changes_page=data["changes_page"], changes_per_page=file_service.CHANGES_PER_PAGE,
        units=data["units"], kinds=forms.KIND_LABELS, statuses=forms.STATUS_LABELS,
        titles=file_service.REQUEST_TITLES, contact_names={c["id"]: c["name"] for c in data["contacts"]},
    )


ROUTES = [home]
