"""Console pages for tenants: list, create, file page, edit, contacts, invitations."""

from __future__ import annotations

from litestar import Request, get, post
from litestar.response import Redirect, Response, Template

from portal.accounts import service as accounts
from portal.core.roles import Perm
from portal.core.errors import FormErrors, NotFound
from portal.routes.forms import form_dict, int_or_none, page_number
from portal.web.render import form_errors, render, requires
from portal.web.tenancy import Tenant
from tenants.file import forms, service as file_service
from tenants.money import ledger
from tenants.numbering import business_letter_names
from tenants.registry import identity, service as registry
from tenants.servicedesk import labels as repair_labels, service as repair_service

PER_PAGE = 50


def _choices(request: Request) -> dict:
    return {
        "kinds": forms.KIND_LABELS,
        "levels": forms.LEVEL_LABELS,
        "statuses": forms.STATUS_LABELS,
        "sources": forms.SOURCE_LABELS,
        "letters": business_letter_names(request.app.state.settings, request.state.locale),
    }


@get("/console/tenants", guards=[requires(Perm.TENANT_READ)])
async def tenant_list(
    request: Request,
    q: str = "",
    building: str = "",
    level: str = "",
    status: str = "",
    sort: str = "name",
    page: str = "1",
    inactive: str = "",
) -> Template:
    principal = request.state.principal
    filters = {
        "q": q.strip()[:100],
        "building_id": int_or_none(building, "building"),
        "level": int_or_none(level, "level"),
        "status": status if status in forms.STATUSES else "",
        "include_inactive": inactive == "1",
        "sort": sort if sort in registry.SORTS else "name",
    }
    current = page_number(page)
    rows, total = await registry.list_tenants(principal, page=current, per_page=PER_PAGE, **filters)
    buildings = await registry.buildings()
    scope = principal.building_scope()
    if scope is not None:
        buildings = [b for b in buildings if b["id"] in scope]
    template = "console/_tenant_rows.html" if request.headers.get("hx-request") else "console/tenants.html"
    return render(
        template, principal=principal, rows=rows, total=total, page=current, per_page=PER_PAGE,
        pages=max(1, (total + PER_PAGE - 1) // PER_PAGE), filters=filters, buildings=buildings,
        building_names={b["id"]: b["name"] for b in buildings}, **_choices(request),
    )


def _duplicates(exc: FormErrors, principal) -> list[dict]:
    """The files already holding the identity code, for the confirmation box."""
    if not isinstance(exc, identity.DuplicateIdentity):
        return []
    return [identity.visible(dict(h), principal) for h in exc.holders]


@get("/console/tenants/new", guards=[requires(Perm.TENANT_CREATE)])
async def tenant_new_form(request: Request) -> Template:
    principal = request.state.principal
    return render("console/tenant_new.html", principal=principal, values={"kind": "E", "level": "0",
                  "status": "potential"}, contact={}, errors={}, units=await registry.units_for(principal),
                  chosen_units=[], **_choices(request))


@post("/console/tenants/new", guards=[requires(Perm.TENANT_CREATE)])
async def tenant_new_submit(request: Request) -> Response:
    principal = request.state.principal
    data = await form_dict(request, multi=("unit_ids",))
    contact = {k[len("contact_"):]: v for k, v in data.items() if k.startswith("contact_")}
    contact.setdefault("is_primary", "1")
    unit_ids = [u for u in (int_or_none(x) for x in data.get("unit_ids", [])) if u]
    try:
        tenant_id = await registry.create_tenant(
            data, [contact] if contact.get("name") else [], unit_ids, principal,
            business_letters=_choices(request)["letters"],
        )
    except FormErrors as exc:
        errors = form_errors(exc)
        errors.update({k.replace("contacts.0.", "contact_"): v for k, v in errors.items() if k.startswith("contacts.0.")})
        return render("console/tenant_new.html", status_code=422, principal=principal, values=data, contact=contact,
                      errors=errors, units=await registry.units_for(principal), chosen_units=unit_ids,
                      duplicates=_duplicates(exc, principal), **_choices(request))
    return Redirect(f"/console/tenants/{tenant_id}?created=1")


async def _file_page(request: Request, ref, *, status_code: int = 200, changes_page: int = 1,
                     audit_view: bool = True, **extra) -> Template:
    """The tenant's file page; the invitation form re-renders it with its result."""
    principal = request.state.principal
    data = await file_service.read_file(ref, principal, changes_page=changes_page, audit_view=audit_view)
    people = await accounts.list_portal_users(ref.id) if principal.can(Perm.PORTAL_INVITE) and not ref.via_grant \
        else None
    context = {"invite_link": None, "invite_errors": {}, "invite_values": {},
               "links": await identity.links_of(ref.id, principal), **extra,
               "repairs": [] if ref.via_grant else await repair_service.list_orders(ref, principal, limit=5)}
    return render("console/tenant.html", status_code=status_code, principal=principal, ref=ref,
                  people=people, fee_items=await ledger.fee_items_map(), **context,
                  **data, **_choices(request), repair_labels=repair_labels)


@get("/console/tenants/{tenant_id:int}", guards=[requires(Perm.TENANT_READ)])
async def tenant_page(request: Request, readable_tenant: Tenant, changes: str = "1") -> Response:
    # Read-only: an active lending grant also opens the file page.
    if readable_tenant.via_grant and readable_tenant.grant_document_ids:
        # Lent only some documents, not the whole file.
        return Redirect(f"/console/tenants/{readable_tenant.id}/documents")
    return await _file_page(request, readable_tenant, changes_page=page_number(changes))


@get("/console/tenants/{tenant_id:int}/edit", guards=[requires(Perm.TENANT_WRITE)])
async def tenant_edit_form(request: Request, tenant: Tenant) -> Template:
    principal = request.state.principal
    data = await file_service.read_file(tenant, principal, audit_view=False)
    values = {k: forms.as_text(data["profile"][k]) for k in forms.PROFILE_FIELDS}
    return render("console/tenant_edit.html", principal=principal, ref=tenant, values=values, errors={},
                  **_choices(request))


@post("/console/tenants/{tenant_id:int}/edit", guards=[requires(Perm.TENANT_WRITE)])
async def tenant_edit_submit(request: Request, tenant: Tenant) -> Response:
    principal = request.state.principal
    data = await form_dict(request)
    try:
        fields = (*forms.PROFILE_FIELDS, identity.CONFIRM_FIELD)
        await file_service.update_profile(tenant, {k: data.get(k, "") for k in fields}, principal)
    except FormErrors as exc:
        return render("console/tenant_edit.html", status_code=422, principal=principal, ref=tenant, values=data,
                      errors=form_errors(exc), duplicates=_duplicates(exc, principal), **_choices(request))
    return Redirect(f"/console/tenants/{tenant.id}?saved=1")


@get("/console/tenants/{tenant_id:int}/contacts/new", guards=[requires(Perm.TENANT_WRITE)])
async def contact_new_form(request: Request, tenant: Tenant) -> Template:
    return render("console/contact_form.html", principal=request.state.principal, ref=tenant, contact_id=None,
                  values={}, errors={})


@get("/console/tenants/{tenant_id:int}/contacts/{contact_id:int}/edit", guards=[requires(Perm.TENANT_WRITE)])
async def contact_edit_form(request: Request, tenant: Tenant, contact_id: int) -> Template:
    principal = request.state.principal
    data = await file_service.read_file(tenant, principal, audit_view=False)
    contact = next((c for c in data["contacts"] if c["id"] == contact_id), None)
    if contact is None:
        raise NotFound("No such contact.")
    return render("console/contact_form.html", principal=principal, ref=tenant, contact_id=contact_id,
                  values=contact, errors={})


async def _save_contact(request: Request, tenant: Tenant, contact_id: int | None) -> Response:
    principal = request.state.principal
    data = await form_dict(request)
    try:
        await file_service.save_contact(tenant, contact_id, data, principal)
    except FormErrors as exc:
        return render("console/contact_form.html", status_code=422, principal=principal, ref=tenant,
                      contact_id=contact_id, values=data, errors=form_errors(exc))
    return Redirect(f"/console/tenants/{tenant.id}?saved=1#contacts")


@post("/console/tenants/{tenant_id:int}/contacts/new", guards=[requires(Perm.TENANT_WRITE)])
async def contact_new_submit(request: Request, tenant: Tenant) -> Response:
    return await _save_contact(request, tenant, None)


@post("/console/tenants/{tenant_id:int}/contacts/{contact_id:int}/edit", guards=[requires(Perm.TENANT_WRITE)])
async def contact_edit_submit(request: Request, tenant: Tenant, contact_id: int) -> Response:
    return await _save_contact(request, tenant, contact_id)


@post("/console/tenants/{tenant_id:int}/contacts/{contact_id:int}/active", guards=[requires(Perm.TENANT_WRITE)])
async def contact_set_active(request: Request, tenant: Tenant, contact_id: int) -> Response:
    principal = request.state.principal
    data = await form_dict(request)
    await file_service.set_contact_active(tenant, contact_id, data.get("active") == "1", principal)
    return Redirect(f"/console/tenants/{tenant.id}?saved=1#contacts")


@post("/console/tenants/{tenant_id:int}/invite", guards=[requires(Perm.PORTAL_INVITE)])
async def invite(request: Request, tenant: Tenant) -> Response:
    principal = request.state.principal
    settings = request.app.state.settings
    data = await form_dict(request)
    invite_errors: dict = {}
    link = None
    try:
        _, token = await accounts.invite_portal_user(tenant.id, data, principal, settings.invite_valid_hours)
        link = f"{settings.base_url}/portal/invite/{token}"
    except FormErrors as exc:
        invite_errors = form_errors(exc)
    return await _file_page(request, tenant, status_code=422 if invite_errors else 200, audit_view=False,
                            invite_link=link, invite_errors=invite_errors, invite_values=data)


@post("/console/tenants/{tenant_id:int}/active", guards=[requires(Perm.TENANT_DEACTIVATE)])
async def tenant_set_active(request: Request, tenant: Tenant) -> Response:
    principal = request.state.principal
    data = await form_dict(request)
    await registry.set_active(tenant, data.get("active") == "1", principal, data.get("reason", ""))
    return Redirect(f"/console/tenants/{tenant.id}?saved=1")


ROUTES = [
    tenant_list, tenant_new_form, tenant_new_submit, tenant_page, tenant_edit_form, tenant_edit_submit,
    contact_new_form, contact_edit_form, contact_new_submit, contact_edit_submit, contact_set_active, invite,
    tenant_set_active,
]
