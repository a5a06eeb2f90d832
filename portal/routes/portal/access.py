"""Portal sign-in and sign-out, and accepting an invitation."""

from __future__ import annotations

from litestar import Request, get, post
from litestar.response import Redirect, Response, Template

from portal.accounts import service as accounts
from portal.core.errors import DomainError, FormErrors
from portal.routes.auth import safe_next, sign_in_page, sign_out
from portal.routes.forms import form_dict
from portal.web.render import form_errors, portal_guard, render

# The invitation token is in the path: keep it out of Referer headers and caches.
PRIVATE_HEADERS = {"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}


@get("/portal/login", name="portal_login")
async def login_form(request: Request, next: str | None = None) -> Response:
    principal = request.state.get("principal")
    if principal is not None and principal.is_portal:
        return Redirect(safe_next(next, "/portal/"))
    return render("portal/login.html", error="", login="", next=safe_next(next, "/portal/"), principal=None)


@post("/portal/login")
async def login_submit(request: Request) -> Response:
    return await sign_in_page(request, await form_dict(request), "portal", "portal/login.html", "/portal/")


@post("/portal/logout", guards=[portal_guard])
async def logout(request: Request) -> Response:
    return await sign_out(request, everywhere=False, login_path="/portal/login")


@post("/portal/logout-everywhere", guards=[portal_guard])
async def logout_everywhere(request: Request) -> Response:
    return await sign_out(request, everywhere=True, login_path="/portal/login")


def _invite_refused(request: Request, exc: DomainError) -> Template:
    """Unknown, used or expired link: say so plainly and what to do next."""
    response = render("portal/invite_invalid.html", status_code=exc.status_code, message=exc.message,
                      used="already been used" in exc.message, principal=request.state.get("principal"))
    response.headers.update(PRIVATE_HEADERS)
    return response


def _invite_page(request: Request, token: str, invite: dict, errors: dict, status_code: int = 200) -> Template:
    response = render("portal/invite.html", status_code=status_code, token=token, invite=invite, errors=errors,
                      principal=request.state.get("principal"))
    response.headers.update(PRIVATE_HEADERS)
    return response


@get("/portal/invite/{token:str}")
async def invite_form(request: Request, token: str) -> Template:
    try:
        invite = await accounts.find_invite(token)
    except DomainError as exc:
        return _invite_refused(request, exc)
    return _invite_page(request, token, invite, {})


@post("/portal/invite/{token:str}")
async def invite_accept(request: Request, token: str) -> Response:
    data = await form_dict(request)
    try:
        await accounts.accept_invite(token, data.get("password") or "", data.get("password_again") or "")
    except FormErrors as exc:
        try:
            invite = await accounts.find_invite(token)
        except DomainError as gone:
            return _invite_refused(request, gone)
        return _invite_page(request, token, invite, form_errors(exc), status_code=422)
    except DomainError as exc:
        return _invite_refused(request, exc)
    return Redirect("/portal/login?accepted=1")


ROUTES = [login_form, login_submit, logout, logout_everywhere, invite_form, invite_accept]
