"""A tenant portal user's own company (portal/routes/portal/home.py and
changes.py): what its people may see, and the change requests they propose.
Everything is scoped to the signed-in user's own tenant; there is no tenant
id in these paths to tamper with."""

from __future__ import annotations

from litestar import Request, get, post

from portal.core.errors import FormErrors, NotFound
from portal.core.i18n import N_
from portal.routes.api.guards import portal_user
from portal.routes.api.schemas import (
    INVALID,
    NOT_FOUND,
    ChangeRequestIn,
    ChangeRequestList,
    ChangeRequestOut,
    CompanyOut,
    CompanyProfileOut,
    ContactOut,
    as_form,
    build,
    responses,
)
from portal.routes.api.tenants import tenant_units
from portal.web.tenancy import Tenant
from tenants.file import forms, service as file_service

TAGS = ["portal"]
NOTHING_CHANGED = "You have not changed anything."  # the portal pages' msgid
NOT_EDITABLE = N_("This field cannot be changed here.")


async def _file(request: Request, my_tenant: Tenant):
    principal = request.state.principal
    return principal, my_tenant, await file_service.read_file(my_tenant, principal)


@get("/portal/company", tags=TAGS, guards=[portal_user], summary="My company's file",
     responses=responses())
async def company(request: Request, my_tenant: Tenant) -> CompanyOut:
    """The profile as the tenant may see it (not the office's own notes,
    level or source), the active contacts and the leased units."""
    _, ref, data = await _file(request, my_tenant)
    return CompanyOut(
        profile=build(CompanyProfileOut, data["profile"]),
        contacts=[build(ContactOut, c) for c in data["contacts"] if c["active"]],
        units=await tenant_units(ref.id),
    )


@get("/portal/requests", tags=TAGS, guards=[portal_user], summary="My company's change requests",
     responses=responses())
async def list_requests(request: Request, my_tenant: Tenant) -> ChangeRequestList:
    """The latest 50, newest first, with the office's decision and reason."""
    _, _, data = await _file(request, my_tenant)
    return ChangeRequestList(items=[build(ChangeRequestOut, r) for r in data["requests"]])


def _check_keys(data: dict, allowed) -> None:
    extra = sorted(k for k in data if k not in allowed)
    if extra:
        raise FormErrors({k: NOT_EDITABLE for k in extra}, {k: "field.not_editable" for k in extra})


@post("/portal/requests", tags=TAGS, guards=[portal_user],
      summary="Propose a change to my company's file", responses=responses(NOT_FOUND, INVALID))
async def submit_request(request: Request, my_tenant: Tenant, data: ChangeRequestIn) -> ChangeRequestOut:
    """Validated now with the same rules as the office's forms; applied only
    when the office approves it."""
    principal, ref, current = await _file(request, my_tenant)
    raw = as_form(data.data)
    target_id = None
    if data.kind == "profile":
        _check_keys(raw, file_service.TENANT_EDITABLE)
        cleaned = forms.clean_profile(raw, only=set(raw)) if raw else {}
        raw = {k: raw[k] for k in cleaned if cleaned[k] != current["profile"][k]}
        if not raw:
            raise FormErrors({"__all__": NOTHING_CHANGED}, {"__all__": "nothing_changed"})
    else:
        if data.kind != "contact_add":
            target_id = data.target_id
            contact = next((c for c in current["contacts"] if c["id"] == target_id and c["active"]), None)
            if contact is None:
                raise NotFound("No such contact.")
        if data.kind == "contact_deactivate":
            raw = {}
        else:
            _check_keys(raw, forms.CONTACT_FIELDS)
            if data.kind == "contact_update":
                cleaned = forms.clean_contact(raw)
                if all(cleaned[k] == contact[k] for k in forms.CONTACT_FIELDS):
                    raise FormErrors({"__all__": NOTHING_CHANGED}, {"__all__": "nothing_changed"})
    request_id = await file_service.submit_request(ref, principal, data.kind, raw, target_id=target_id)
    _, _, after = await _file(request, my_tenant)
    return build(ChangeRequestOut, next(r for r in after["requests"] if r["id"] == request_id))


ROUTES = [company, list_requests, submit_request]
