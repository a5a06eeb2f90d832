"""Console: the complaints list (scope-filtered, most urgent first), a
tenant's complaints with the form to record one from a call or visit, and the
case page where the right person decides the current step."""

from __future__ import annotations

from litestar import Request, get, post
from litestar.response import Redirect, Response, Template

from portal.core.errors import FormErrors, NotFound
from portal.core.roles import Perm
from portal.routes.forms import form_dict, page_number
from portal.web.render import form_errors, render, requires
from portal.web.tenancy import Tenant
from tenants.complaints import card, flow, forms, queries, service

T = "/console/tenants/{tenant_id:int}/complaints"
CONFIRM = "Tick the box to confirm."


def _choices() -> dict:
    return {"grades": flow.GRADES, "channels": flow.CHANNELS, "staff_channels": {
        k: flow.CHANNELS[k] for k in forms.STAFF_CHANNELS}, "step_labels": flow.STEP_LABELS,
        "step_numbers": flow.STEP_NUMBERS, "remedies": flow.REMEDY_KINDS, "public_status": service.PUBLIC_STATUS,
        "decisions": card.DECISIONS}


@get("/console/complaints", guards=[requires(Perm.TENANT_READ)])
async def complaint_list(request: Request, show: str = "open", overdue: str = "", page: str = "1") -> Template:
    principal = request.state.principal
    state = "closed" if show == "closed" else "open"
    current = page_number(page)
    rows, total = await queries.console_cases(principal, state=state, overdue_only=overdue == "1", page=current)
    return render("console/complaints/list.html", principal=principal, rows=rows, total=total, page=current,
                  pages=max(1, (total + queries.PER_PAGE - 1) // queries.PER_PAGE), state=state,
                  overdue=overdue == "1", **_choices())


async def _tenant_page(request: Request, ref, *, values: dict | None = None, errors: dict | None = None,
                       status_code: int = 200) -> Template:
    principal = request.state.principal
    rows = await service.list_for(ref, principal)
    return render("console/complaints/tenant.html", status_code=status_code, principal=principal, ref=ref,
                  rows=rows, values=values or {"channel": "phone", "grade": "general"}, errors=errors or {},
                  **_choices())


@get(T, guards=[requires(Perm.TENANT_READ)])
async def tenant_complaints(request: Request, tenant: Tenant) -> Template:
    return await _tenant_page(request, tenant)


@get(T + "/recent", guards=[requires(Perm.TENANT_READ)])
async def recent(request: Request, tenant: Tenant) -> Template:
    """Fragment for the tenant's page (hx-get): its latest complaints."""
    principal = request.state.principal
    return render("console/complaints/_recent.html", principal=principal, ref=tenant,
                  rows=(await service.list_for(tenant, principal))[:5], **_choices())


@post(T, guards=[requires(Perm.COMPLAINT_HANDLE)])
async def lodge(request: Request, tenant: Tenant) -> Response:
    data = await form_dict(request)
    try:
        complaint_id = await service.lodge(tenant, data, request.state.principal)
    except FormErrors as exc:
        return await _tenant_page(request, tenant, values=data, errors=form_errors(exc), status_code=422)
    return Redirect(f"/console/tenants/{tenant.id}/complaints/{complaint_id}?saved=1")


async def _case_page(request: Request, ref, complaint_id: int, *, values: dict | None = None,
                     errors: dict | None = None, status_code: int = 200) -> Template:
    principal = request.state.principal
    c = await service.read(ref, complaint_id, principal)
    return render("console/complaints/case.html", status_code=status_code, principal=principal, ref=ref, c=c,
                  values=values or {"grade": c["grade"]}, errors=errors or {},
                  earlier=flow.earlier_steps(c["step"]) if c["step"] else [], **_choices())


@get(T + "/{complaint_id:int}", guards=[requires(Perm.TENANT_READ)])
async def case(request: Request, tenant: Tenant, complaint_id: int) -> Template:
    return await _case_page(request, tenant, complaint_id)


@post(T + "/{complaint_id:int}/decide", guards=[requires(Perm.COMPLAINT_HANDLE)])
async def decide(request: Request, tenant: Tenant, complaint_id: int) -> Response:
    data = await form_dict(request)
    try:
        if data.get("confirm") != "1":
            raise FormErrors({"confirm": CONFIRM})
        await service.decide(tenant, complaint_id, data, request.state.principal)
    except FormErrors as exc:
        return await _case_page(request, tenant, complaint_id, values=data, errors=form_errors(exc),
                                status_code=422)
    return Redirect(f"/console/tenants/{tenant.id}/complaints/{complaint_id}?saved=1")


@get(T + "/{complaint_id:int}/card.pdf", guards=[requires(Perm.TENANT_READ)])
async def card_pdf(request: Request, tenant: Tenant, complaint_id: int) -> Response:
    await service.read(tenant, complaint_id, request.state.principal)  # 404 when there is no such complaint
    body = await card.card_pdf(tenant, complaint_id, locale=request.state.locale)
    if body is None:
        raise NotFound("No such complaint.")
    return Response(body, media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="complaint-{complaint_id}.pdf"',
                             "X-Content-Type-Options": "nosniff"})


ROUTES = [complaint_list, tenant_complaints, recent, lodge, case, decide, card_pdf]
