"""The signed-in staff member's own account: change password.

Also the "must change password" gate: after an administrator resets a
password (or creates the account), the person may use no console page but
this one (and sign-in / sign-out) until they have chosen their own password.
``password_gate(*handlers)`` wraps the console handlers in a router whose
guard enforces that; see ``portal/routes/console/__init__.py``.
"""

from __future__ import annotations

from litestar import Request, Router, get, post
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.response import Redirect, Response, Template

from portal.accounts import service as accounts
from portal.core.errors import FormErrors
from portal.core.i18n import gettext
from portal.routes.auth import set_session_cookie
from portal.routes.forms import form_dict
from portal.security.passwords import MIN_LENGTH
from portal.security.sessions import COOKIE as SESSION_COOKIE
from portal.web.render import form_errors, principal_of, render, staff_guard

ACCOUNT_PATH = "/console/account"
# Reachable while a password change is pending.
GATE_EXEMPT = frozenset({ACCOUNT_PATH, "/console/login", "/console/logout", "/console/logout-everywhere"})


class PasswordChangeRequired(Exception):
    """The signed-in staff member must change their password first."""


async def must_change_password_guard(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    principal = principal_of(connection)
    if principal is None or not principal.is_staff:
        return  # the handler's own guard sends them to sign in
    if connection.url.path.rstrip("/") in GATE_EXEMPT or not connection.url.path.startswith("/console"):
        return
    if principal.must_change_password:
        raise PasswordChangeRequired()


def redirect_to_account(request: Request, _: PasswordChangeRequired) -> Response:
    target = f"{ACCOUNT_PATH}?required=1"
    if request.headers.get("hx-request"):
        return Response(b"", status_code=200, headers={"HX-Redirect": target})
    return Redirect(target, status_code=303)


def password_gate(*route_handlers) -> Router:
    """The console handlers behind the must-change-password gate. Paths stay
    as declared (the router sits at "/")."""
    return Router(path="/", route_handlers=list(route_handlers), guards=[must_change_password_guard],
                  exception_handlers={PasswordChangeRequired: redirect_to_account})


async def _page(request: Request, *, errors: dict, status_code: int = 200, changed: bool = False) -> Template:
    principal = request.state.principal
    required = not changed and principal.must_change_password
    response = render("console/account.html", status_code=status_code, principal=principal, errors=errors,
                      required=required, changed=changed, min_length=MIN_LENGTH)
    response.headers["Cache-Control"] = "no-store"
    return response


@get(ACCOUNT_PATH, guards=[staff_guard])
async def account_page(request: Request) -> Template:
    return await _page(request, errors={}, changed=request.query_params.get("changed") == "1")


@post(ACCOUNT_PATH, guards=[staff_guard])
async def change_password(request: Request) -> Response:
    principal = request.state.principal
    data = await form_dict(request)
    current = data.get("current_password") or ""
    new = data.get("new_password") or ""
    errors: dict[str, str] = {}
    if not current:
        errors["current_password"] = gettext("Enter your current password.")
    if not new:
        errors["new_password"] = gettext("Enter a new password.")
    elif new != (data.get("new_password_again") or ""):
        errors["new_password_again"] = gettext("The two passwords differ.")
    elif new == current:
        errors["new_password"] = gettext("The new password must differ from the current one.")
    if not errors:
        try:
            await accounts.change_password(principal, current, new)
        except FormErrors as exc:
            errors = form_errors(exc)
    if errors:
        return await _page(request, errors=errors, status_code=422)
    # A new password ends every other session; this one continues under a fresh id.
    epoch = await accounts.sign_out_everywhere(principal)
    sessions = request.app.state.sessions
    await sessions.destroy(request.cookies.get(SESSION_COOKIE))
    session_id = await sessions.create("staff", principal.user_id, epoch)
    response = Redirect(f"{ACCOUNT_PATH}?changed=1", status_code=303)
    set_session_cookie(response, request, session_id)
    return response


ROUTES = [account_page, change_password]
