"""Portal: the tenant lodges a complaint (made for a phone) and follows its
status and the office's reply; the internal steps stay in the console. The
tenant is the signed-in user's own; another tenant's complaint id is 404."""

from __future__ import annotations

from litestar import Request, get, post
from litestar.response import Redirect, Response, Template

from portal.core.errors import FormErrors
from portal.routes.forms import form_dict
from portal.web.render import form_errors, portal_guard, render
from portal.web.tenancy import Tenant
from tenants.complaints import service


async def _list_page(request: Request, ref, *, values: dict | None = None, errors: dict | None = None,
                     status_code: int = 200) -> Template:
    principal = request.state.principal
    return render("portal/complaints.html", status_code=status_code, principal=principal, ref=ref,
                  rows=await service.list_for(ref, principal), values=values or {}, errors=errors or {},
                  public_status=service.PUBLIC_STATUS)


@get("/portal/complaints", guards=[portal_guard])
async def complaints_page(request: Request, my_tenant: Tenant) -> Template:
    return await _list_page(request, my_tenant)


@post("/portal/complaints", guards=[portal_guard])
async def lodge(request: Request, my_tenant: Tenant) -> Response:
    data = await form_dict(request)
    try:
        complaint_id = await service.lodge(my_tenant, data, request.state.principal)
    except FormErrors as exc:
        return await _list_page(request, my_tenant, values=data, errors=form_errors(exc), status_code=422)
    return Redirect(f"/portal/complaints/{complaint_id}?lodged=1")


@get("/portal/complaints/{complaint_id:int}", guards=[portal_guard])
async def complaint_page(request: Request, my_tenant: Tenant, complaint_id: int) -> Template:
    principal = request.state.principal
    return render("portal/complaint.html", principal=principal, ref=my_tenant,
                  c=await service.read(my_tenant, complaint_id, principal), public_status=service.PUBLIC_STATUS)


ROUTES = [complaints_page, lodge, complaint_page]
