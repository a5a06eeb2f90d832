"""Console sign-in, sign-out and the home page."""

from __future__ import annotations

from litestar import Request, get, post
from litestar.response import Redirect, Response, Template

from documents import lending
from portal.core import office_calendar
from portal.core.roles import Perm
from portal.routes.auth import safe_next, sign_in_page, sign_out
from portal.routes.forms import form_dict
from portal.web.render import render, staff_guard
from tenants import review
from tenants.registry import service as registry


@get("/console/login", name="console_login")
async def login_form(request: Request, next: str | None = None) -> Response:
    principal = request.state.get("principal")
    if principal is not None and principal.is_staff:
        return Redirect(safe_next(next, "/console/"))
    return render("console/login.html", error="", login="", next=safe_next(next, "/console/"), principal=None)


@post("/console/login")
async def login_submit(request: Request) -> Response:
    return await sign_in_page(request, await form_dict(request), "staff", "console/login.html", "/console/")


@post("/console/logout", guards=[staff_guard])
async def logout(request: Request) -> Response:
    return await sign_out(request, everywhere=False, login_path="/console/login")


@post("/console/logout-everywhere", guards=[staff_guard])
async def logout_everywhere(request: Request) -> Response:
    return await sign_out(request, everywhere=True, login_path="/console/login")


@get("/console/", guards=[staff_guard])
async def home(request: Request) -> Template:
    """Only what this person may open: file counts for readers of tenant files, the
    review queue for reviewers, pending lending approvals for approvers."""
    principal = request.state.principal
    counts = {}
    queue: list = []
    if principal.can(Perm.TENANT_READ):
        counts = await registry.file_counts(principal)
        if principal.can(Perm.REVIEW_DECIDE):
            queue, _ = await review.list_items(principal, status="pending", per_page=10)
    approvals = await lending.pending_approvals(principal)
    # Deadlines in a year nobody has described count Monday to Friday: say so to those who can fix it.
    unknown_years = await office_calendar.unknown_years() if office_calendar.warned(principal) else []
    return render("console/home.html", principal=principal, counts=counts, queue=queue, approvals=approvals,
                  modes=lending.MODES, unknown_years=unknown_years)


ROUTES = [login_form, login_submit, logout, logout_everywhere, home]
