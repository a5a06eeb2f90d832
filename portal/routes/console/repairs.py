"""Repairs in the console: the dispatcher's board (HTMX refresh) and roster,
a technician's own orders (phone first), a tenant's repairs and one order with
the steps the person may take. Every write goes through the servicedesk
services; the tenant comes from the ``tenant`` dependency (404 out of reach)."""

from __future__ import annotations

from litestar import Request, get, post
from litestar.response import Redirect, Response, Template

from portal.core.errors import FormErrors
from portal.core.roles import Perm
from portal.core.workdays import today
from portal.routes.forms import form_dict, int_or_none, page_number
from portal.web.render import form_errors, render, requires
from portal.web.files import receive_upload, storage_of
from portal.web.tenancy import Tenant
from tenants.registry import service as registry
from tenants.servicedesk import billing, board as desk, dispatch, labels, photos, roster, service

DISPATCH = [requires(Perm.REPAIR_DISPATCH)]
WORK = [requires(Perm.REPAIR_WORK)]
READ = [requires(Perm.TENANT_READ)]
REPORT = [requires(Perm.REPAIR_REPORT)]
T = "/console/tenants/{tenant_id:int}/repairs"


def _filters(request: Request) -> dict:
    q = request.query_params
    return {"view": q.get("view") or "all", "building_id": int_or_none(q.get("building")),
            "assignee_id": int_or_none(q.get("technician")), "category": q.get("category") or "",
            "page": page_number(q.get("page"))}


@get("/console/repairs", guards=DISPATCH)
async def board_page(request: Request) -> Template:
    principal = request.state.principal
    return render("console/repairs/board.html", principal=principal, L=labels,
                  buildings=await registry.buildings(), **await desk.board(principal, **_filters(request)))


@get("/console/repairs/board", guards=DISPATCH)
async def board_rows(request: Request) -> Template:
    """The board's table alone, for the HTMX refresh."""
    return render("console/repairs/_board.html", principal=request.state.principal, L=labels,
                  **await desk.board(request.state.principal, **_filters(request)))


@get("/console/repairs/mine", guards=WORK)
async def my_orders(request: Request) -> Template:
    return render("console/repairs/mine.html", principal=request.state.principal, L=labels,
                  rows=await desk.mine(request.state.principal))


# --- roster --------------------------------------------------------------------------------------

async def _roster_page(request: Request, errors: dict | None = None, status_code: int = 200) -> Template:
    principal = request.state.principal
    techs = await roster.technicians(principal)
    ids = [t["user_id"] for t in techs]
    start = today()
    return render("console/repairs/roster.html", status_code=status_code, principal=principal, L=labels,
                  technicians=techs, candidates=await roster.candidates(principal),
                  shifts=await roster.shifts(ids, start), leaves=await roster.leaves(ids, start), start=start,
                  values={}, errors=errors or {})


@get("/console/repairs/roster", guards=DISPATCH)
async def roster_page(request: Request) -> Template:
    return await _roster_page(request)


async def _roster_write(request: Request, action, user_id: int) -> Response:
    data = await form_dict(request, multi=("skills",))
    try:
        await action(request.state.principal, user_id, data)
    except FormErrors as exc:
        return await _roster_page(request, form_errors(exc), status_code=422)
    return Redirect("/console/repairs/roster")


@post("/console/repairs/roster/{user_id:int}", guards=DISPATCH)
async def roster_save(request: Request, user_id: int) -> Response:
    return await _roster_write(request, roster.save_technician, user_id)


@post("/console/repairs/roster/{user_id:int}/shifts", guards=DISPATCH)
async def roster_shift(request: Request, user_id: int) -> Response:
    return await _roster_write(request, roster.add_shift, user_id)


@post("/console/repairs/roster/{user_id:int}/leave", guards=DISPATCH)
async def roster_leave(request: Request, user_id: int) -> Response:
    return await _roster_write(request, roster.add_leave, user_id)


# --- one tenant's repairs --------------------------------------------------------------------------

async def _tenant_page(request: Request, ref, values: dict, errors: dict, status_code: int = 200) -> Template:
    principal = request.state.principal
    return render("console/repairs/tenant.html", status_code=status_code, principal=principal, ref=ref, L=labels,
                  orders=await service.list_orders(ref, principal),
                  units=labels.unit_options(await registry.leased_units(ref.id)), values=values, errors=errors,
                  channels={k: labels.CHANNELS[k] for k in ("phone", "walk_in", "inspection")})


@get(T, guards=READ)
async def tenant_repairs(request: Request, tenant: Tenant) -> Template:
    return await _tenant_page(request, tenant, {"urgency": "normal", "channel": "phone"}, {})


@post(T, guards=REPORT)
async def tenant_report(request: Request, tenant: Tenant) -> Response:
    data = await form_dict(request)
    try:
        order = await service.report(tenant, request.state.principal, data, request.app.state.settings)
    except FormErrors as exc:
        return await _tenant_page(request, tenant, data, form_errors(exc), status_code=422)
    return Redirect(f"/console/tenants/{tenant.id}/repairs/{order['id']}")


async def _order_page(request: Request, ref, order_id: int, errors: dict | None = None, status_code: int = 200):
    principal = request.state.principal
    techs = await roster.technicians(principal) if principal.can(Perm.REPAIR_DISPATCH) else []
    return render("console/repairs/order.html", status_code=status_code, principal=principal, ref=ref, L=labels,
                  order=await service.get_order(ref, principal, order_id), technicians=techs, values={},
                  errors=errors or {}, order_tenant_id=ref.id)


@get(T + "/{order_id:int}", guards=READ)
async def order_page(request: Request, tenant: Tenant, order_id: int) -> Template:
    return await _order_page(request, tenant, order_id)


async def _step(request: Request, ref, order_id: int, action) -> Response:
    data = await form_dict(request)
    try:
        await action(ref, request.state.principal, order_id, data)
    except FormErrors as exc:
        return await _order_page(request, ref, order_id, form_errors(exc), status_code=422)
    return Redirect(f"/console/tenants/{ref.id}/repairs/{order_id}")


def _no_form(fn):
    return lambda ref, principal, order_id, data: fn(ref, principal, order_id)


def _with_settings(request: Request, fn):
    return lambda ref, principal, order_id, data: fn(ref, principal, order_id, data, request.app.state.settings)


@post(T + "/{order_id:int}/accept", guards=WORK)
async def accept(request: Request, tenant: Tenant, order_id: int) -> Response:
    return await _step(request, tenant, order_id, _no_form(service.accept))


@post(T + "/{order_id:int}/decline", guards=WORK)
async def decline(request: Request, tenant: Tenant, order_id: int) -> Response:
    return await _step(request, tenant, order_id, service.decline)


@post(T + "/{order_id:int}/on-site", guards=WORK)
async def on_site(request: Request, tenant: Tenant, order_id: int) -> Response:
    return await _step(request, tenant, order_id, _no_form(service.on_site))


@post(T + "/{order_id:int}/pause", guards=WORK)
async def pause(request: Request, tenant: Tenant, order_id: int) -> Response:
    return await _step(request, tenant, order_id, _with_settings(request, service.pause))


@post(T + "/{order_id:int}/resume", guards=WORK)
async def resume(request: Request, tenant: Tenant, order_id: int) -> Response:
    settings = request.app.state.settings
    return await _step(request, tenant, order_id, lambda r, p, o, d: service.resume(r, p, o, settings))


@post(T + "/{order_id:int}/notes", guards=WORK)
async def note(request: Request, tenant: Tenant, order_id: int) -> Response:
    return await _step(request, tenant, order_id, service.add_note)


@post(T + "/{order_id:int}/parts", guards=WORK)
async def part(request: Request, tenant: Tenant, order_id: int) -> Response:
    return await _step(request, tenant, order_id, service.add_part)


@post(T + "/{order_id:int}/complete", guards=WORK)
async def complete(request: Request, tenant: Tenant, order_id: int) -> Response:
    return await _step(request, tenant, order_id, service.complete)


@post(T + "/{order_id:int}/assign", guards=DISPATCH)
async def assign(request: Request, tenant: Tenant, order_id: int) -> Response:
    return await _step(request, tenant, order_id, lambda r, p, o, d: dispatch.assign(
        r, p, o, int_or_none(d.get("technician"), "technician")))


@post(T + "/{order_id:int}/cancel", guards=DISPATCH)
async def cancel(request: Request, tenant: Tenant, order_id: int) -> Response:
    return await _step(request, tenant, order_id, service.cancel)


@post(T + "/{order_id:int}/photos", guards=WORK, request_max_body_size=None)
async def photo(request: Request, tenant: Tenant, order_id: int) -> Response:
    form = await receive_upload(request, tenant.id)
    try:
        await photos.add_photo(tenant, request.state.principal, storage_of(request), order_id, form.file)
    except FormErrors as exc:
        return await _order_page(request, tenant, order_id, form_errors(exc), status_code=422)
    return Redirect(f"/console/tenants/{tenant.id}/repairs/{order_id}")


@post(T + "/{order_id:int}/bill", guards=[requires(Perm.MONEY_APPROVE, Perm.MONEY_WRITE)])
async def bill(request: Request, tenant: Tenant, order_id: int) -> Response:
    """Finance approves the repair's parts and labour as a charge in the ledger."""
    await billing.approve_charge(tenant, request.state.principal, order_id)
    return Redirect(f"/console/tenants/{tenant.id}/repairs/{order_id}")


ROUTES = [photo, bill, board_page, board_rows, my_orders, roster_page, roster_save, roster_shift, roster_leave, tenant_repairs,
          tenant_report, order_page, accept, decline, on_site, pause, resume, note, part, complete, assign, cancel]
