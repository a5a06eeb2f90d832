"""Repairs in the tenant portal (phone first): report, follow, confirm or
reopen, rate. The tenant is always the signed-in user's own (``my_tenant``)."""

from __future__ import annotations

from litestar import Request, get, post
from litestar.response import Redirect, Response, Template

from portal.core.errors import FormErrors
from portal.routes.forms import form_dict
from portal.web.render import form_errors, portal_guard, render
from portal.web.files import receive_upload, storage_of
from portal.web.tenancy import Tenant
from tenants.registry import service as registry
from tenants.servicedesk import labels, photos, service

GUARD = [portal_guard]


async def _list_page(request: Request, ref, values: dict, errors: dict, status_code: int = 200) -> Template:
    principal = request.state.principal
    return render("portal/repairs/list.html", status_code=status_code, principal=principal,
                  orders=await service.list_orders(ref, principal),
                  units=labels.unit_options(await registry.leased_units(ref.id)),
                  L=labels, values=values, errors=errors)


@get("/portal/repairs", guards=GUARD)
async def repairs_page(request: Request, my_tenant: Tenant) -> Template:
    return await _list_page(request, my_tenant, {"urgency": "normal"}, {})


@post("/portal/repairs", guards=GUARD)
async def report(request: Request, my_tenant: Tenant) -> Response:
    data = await form_dict(request)
    try:
        order = await service.report(my_tenant, request.state.principal, data, request.app.state.settings)
    except FormErrors as exc:
        return await _list_page(request, my_tenant, data, form_errors(exc), status_code=422)
    return Redirect(f"/portal/repairs/{order['id']}?reported=1")


async def _detail(request: Request, ref, order_id: int, errors: dict | None = None, status_code: int = 200):
    principal = request.state.principal
    return render("portal/repairs/detail.html", status_code=status_code, principal=principal,
                  order=await service.get_order(ref, principal, order_id), L=labels, values={}, errors=errors or {},
                  order_tenant_id=ref.id)


@get("/portal/repairs/{order_id:int}", guards=GUARD)
async def repair_detail(request: Request, my_tenant: Tenant, order_id: int) -> Template:
    return await _detail(request, my_tenant, order_id)


async def _step(request: Request, ref, order_id: int, action) -> Response:
    data = await form_dict(request)
    try:
        await action(ref, request.state.principal, order_id, data)
    except FormErrors as exc:
        return await _detail(request, ref, order_id, form_errors(exc), status_code=422)
    return Redirect(f"/portal/repairs/{order_id}")


@post("/portal/repairs/{order_id:int}/confirm", guards=GUARD)
async def confirm(request: Request, my_tenant: Tenant, order_id: int) -> Response:
    return await _step(request, my_tenant, order_id, service.confirm)


@post("/portal/repairs/{order_id:int}/rate", guards=GUARD)
async def rate(request: Request, my_tenant: Tenant, order_id: int) -> Response:
    return await _step(request, my_tenant, order_id, service.rate)


@post("/portal/repairs/{order_id:int}/reopen", guards=GUARD)
async def reopen(request: Request, my_tenant: Tenant, order_id: int) -> Response:
    settings = request.app.state.settings
    return await _step(request, my_tenant, order_id,
                       lambda ref, p, oid, data: service.reopen(ref, p, oid, data, settings))


@post("/portal/repairs/{order_id:int}/cancel", guards=GUARD)
async def cancel(request: Request, my_tenant: Tenant, order_id: int) -> Response:
    return await _step(request, my_tenant, order_id, service.cancel)


@post("/portal/repairs/{order_id:int}/photos", guards=GUARD, request_max_body_size=None)
async def photo(request: Request, my_tenant: Tenant, order_id: int) -> Response:
    """A photo taken on the phone, through the document intake (checked, encrypted, filed)."""
    form = await receive_upload(request, my_tenant.id)
    try:
        await photos.add_photo(my_tenant, request.state.principal, storage_of(request), order_id, form.file)
    except FormErrors as exc:
        return await _detail(request, my_tenant, order_id, form_errors(exc), status_code=422)
    return Redirect(f"/portal/repairs/{order_id}")


ROUTES = [repairs_page, report, repair_detail, confirm, rate, reopen, cancel, photo]
