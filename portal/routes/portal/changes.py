"""Change requests: the tenant proposes, the office reviews (console review queue).

Nothing here changes the file directly; every form ends in
``file_service.submit_request`` for the signed-in user's own tenant.
"""

from __future__ import annotations

from litestar import Request, get, post
from litestar.response import Redirect, Response, Template

from portal.core.errors import FormErrors, NotFound
from portal.routes.forms import form_dict
from portal.web.render import form_errors, portal_guard, render
from tenants.file import forms, service as file_service
from portal.web.request_diff import request_changes
from portal.web.tenancy import Tenant

# The fields a tenant may propose, in the order the console shows them.
PROFILE_REQUEST_FIELDS = tuple(f for f in forms.PROFILE_FIELDS if f in file_service.TENANT_EDITABLE)
NOTHING_CHANGED = "You have not changed anything."
DONE = "/portal/?submitted=1"


async def _file(request: Request, my_tenant: Tenant):
    principal = request.state.principal
    return principal, my_tenant, await file_service.read_file(my_tenant, principal)


def _pending(data: dict, kinds: tuple[str, ...], target_id: int | None = None) -> list[dict]:
    return [r for r in data["requests"] if r["status"] == "pending" and r["kind"] in kinds
            and (target_id is None or r["target_id"] == target_id)]


# --- company details ----------------------------------------------------------------------------

def _profile_page(principal, ref, data: dict, values: dict, errors: dict, status_code: int = 200) -> Template:
    return render("portal/profile_request.html", status_code=status_code, principal=principal, ref=ref,
                  values=values, errors=errors, fields=PROFILE_REQUEST_FIELDS,
                  pending=_pending(data, ("profile",)))


@get("/portal/requests/profile", guards=[portal_guard])
async def profile_form(request: Request, my_tenant: Tenant) -> Template:
    principal, ref, data = await _file(request, my_tenant)
    values = {k: forms.as_text(data["profile"][k]) for k in PROFILE_REQUEST_FIELDS}
    return _profile_page(principal, ref, data, values, {})


@post("/portal/requests/profile", guards=[portal_guard])
async def profile_submit(request: Request, my_tenant: Tenant) -> Response:
    principal, ref, data = await _file(request, my_tenant)
    current = data["profile"]
    form = await form_dict(request)
    # A field missing from the form is left as it is; only real differences are proposed.
    submitted = {k: form[k] if k in form else forms.as_text(current[k]) for k in PROFILE_REQUEST_FIELDS}
    try:
        cleaned = forms.clean_profile(submitted, only=set(PROFILE_REQUEST_FIELDS))
        changed = {k: submitted[k] for k in PROFILE_REQUEST_FIELDS if cleaned[k] != current[k]}
        if not changed:
            raise FormErrors({"__all__": NOTHING_CHANGED})
        await file_service.submit_request(ref, principal, "profile", changed)
    except FormErrors as exc:
        return _profile_page(principal, ref, data, submitted, form_errors(exc), status_code=422)
    return Redirect(DONE)


# --- contacts -----------------------------------------------------------------------------------

def _active_contact(data: dict, contact_id: int) -> dict:
    contact = next((c for c in data["contacts"] if c["id"] == contact_id and c["active"]), None)
    if contact is None:
        raise NotFound("No such contact.")
    return contact


def _contact_page(principal, ref, data: dict, contact: dict | None, values: dict, errors: dict,
                  status_code: int = 200) -> Template:
    pending = _pending(data, ("contact_update", "contact_deactivate"), contact["id"]) if contact else []
    return render("portal/contact_request.html", status_code=status_code, principal=principal, ref=ref,
                  contact=contact, values=values, errors=errors, pending=pending)


@get("/portal/requests/contacts/new", guards=[portal_guard])
async def contact_new_form(request: Request, my_tenant: Tenant) -> Template:
    principal, ref, data = await _file(request, my_tenant)
    return _contact_page(principal, ref, data, None, {}, {})


@post("/portal/requests/contacts/new", guards=[portal_guard])
async def contact_new_submit(request: Request, my_tenant: Tenant) -> Response:
    principal, ref, data = await _file(request, my_tenant)
    form = await form_dict(request)
    try:
        await file_service.submit_request(ref, principal, "contact_add", form)
    except FormErrors as exc:
        return _contact_page(principal, ref, data, None, form, form_errors(exc), status_code=422)
    return Redirect(DONE)


@get("/portal/requests/contacts/{contact_id:int}/edit", guards=[portal_guard])
async def contact_edit_form(request: Request, my_tenant: Tenant, contact_id: int) -> Template:
    principal, ref, data = await _file(request, my_tenant)
    contact = _active_contact(data, contact_id)
    return _contact_page(principal, ref, data, contact, contact, {})


@post("/portal/requests/contacts/{contact_id:int}/edit", guards=[portal_guard])
async def contact_edit_submit(request: Request, my_tenant: Tenant, contact_id: int) -> Response:
    principal, ref, data = await _file(request, my_tenant)
    contact = _active_contact(data, contact_id)
    form = await form_dict(request)
    try:
        cleaned = forms.clean_contact(form)
        if all(cleaned[k] == contact[k] for k in forms.CONTACT_FIELDS):
            raise FormErrors({"__all__": NOTHING_CHANGED})
        await file_service.submit_request(ref, principal, "contact_update", form, target_id=contact_id)
    except FormErrors as exc:
        return _contact_page(principal, ref, data, contact, form, form_errors(exc), status_code=422)
    return Redirect(DONE)


@get("/portal/requests/contacts/{contact_id:int}/remove", guards=[portal_guard])
async def contact_remove_form(request: Request, my_tenant: Tenant, contact_id: int) -> Template:
    principal, ref, data = await _file(request, my_tenant)
    contact = _active_contact(data, contact_id)
    return render("portal/contact_remove.html", principal=principal, ref=ref, contact=contact,
                  pending=_pending(data, ("contact_deactivate",), contact_id))


@post("/portal/requests/contacts/{contact_id:int}/remove", guards=[portal_guard])
async def contact_remove_submit(request: Request, my_tenant: Tenant, contact_id: int) -> Response:
    principal, ref, data = await _file(request, my_tenant)
    _active_contact(data, contact_id)
    await file_service.submit_request(ref, principal, "contact_deactivate", {}, target_id=contact_id)
    return Redirect(DONE)


# --- withdrawing a request -----------------------------------------------------------------------

def _pending_request(data: dict, request_id: int) -> dict:
    change = next((r for r in data["requests"] if r["id"] == request_id and r["status"] == "pending"), None)
    if change is None:
        raise NotFound("No such request.")
    return change


@get("/portal/requests/{request_id:int}/withdraw", guards=[portal_guard])
async def withdraw_form(request: Request, my_tenant: Tenant, request_id: int) -> Template:
    principal, ref, data = await _file(request, my_tenant)
    change = _pending_request(data, request_id)
    contact = next((c for c in data["contacts"] if c["id"] == change["target_id"]), {})
    return render("portal/request_withdraw.html", principal=principal, ref=ref, change=change, contact=contact,
                  diff=request_changes(change, data["profile"], data["contacts"]), titles=file_service.REQUEST_TITLES)


@post("/portal/requests/{request_id:int}/withdraw", guards=[portal_guard])
async def withdraw_submit(request: Request, my_tenant: Tenant, request_id: int) -> Response:
    principal = request.state.principal
    await file_service.withdraw_request(my_tenant, request_id, principal)
    return Redirect("/portal/?withdrawn=1#requests")


ROUTES = [
    withdraw_form, withdraw_submit, profile_form, profile_submit, contact_new_form, contact_new_submit, contact_edit_form, contact_edit_submit,
    contact_remove_form, contact_remove_submit,
]
