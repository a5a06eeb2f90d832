"""The review queue: changes and uploads tenants submitted, decided by staff."""

from __future__ import annotations

from litestar import Request, get, post
from litestar.response import Redirect, Response, Template

from portal.core.roles import Perm
from portal.core.errors import FormErrors, NotFound
from portal.routes.forms import form_dict, page_number
from portal.web.render import form_errors, render, requires
from tenants import review
from tenants.file import service as file_service
from portal.web.request_diff import request_changes
from portal.web.tenancy import Tenant

PER_PAGE = 50


@get("/console/reviews", guards=[requires(Perm.REVIEW_DECIDE)])
async def queue(request: Request, status: str = "pending", page: str = "1") -> Template:
    principal = request.state.principal
    current = page_number(page)
    rows, total = await review.list_items(principal, status=status, page=current, per_page=PER_PAGE)
    return render("console/reviews.html", principal=principal, rows=rows, total=total, page=current,
                  pages=max(1, (total + PER_PAGE - 1) // PER_PAGE), status=status)


async def _request_context(request: Request, tenant: Tenant, request_id: int) -> dict:
    principal = request.state.principal
    data = await file_service.read_file(tenant, principal, audit_view=False)
    change = next((r for r in data["requests"] if r["id"] == request_id), None)
    if change is None:
        raise NotFound("No such request.")
    contact = next((c for c in data["contacts"] if c["id"] == change["target_id"]), {})
    return {"principal": principal, "ref": tenant, "change": change, "contact": contact,
            "diff": request_changes(change, data["profile"], data["contacts"]), "titles": file_service.REQUEST_TITLES}


@get("/console/reviews/{tenant_id:int}/{request_id:int}", guards=[requires(Perm.REVIEW_DECIDE)])
async def review_page(request: Request, tenant: Tenant, request_id: int) -> Template:
    return render("console/review.html", errors={}, **await _request_context(request, tenant, request_id))


@post("/console/reviews/{tenant_id:int}/{request_id:int}", guards=[requires(Perm.REVIEW_DECIDE)])
async def decide(request: Request, tenant: Tenant, request_id: int) -> Response:
    principal = request.state.principal
    data = await form_dict(request)
    try:
        await file_service.decide_request(tenant, request_id, principal, approve=data.get("decision") == "approve",
                                          reason=data.get("reason", ""))
    except FormErrors as exc:
        return render("console/review.html", status_code=422, errors=form_errors(exc),
                      **await _request_context(request, tenant, request_id))
    return Redirect("/console/reviews?decided=1")


ROUTES = [queue, review_page, decide]
