"""The portal user's own account: change the password."""

from __future__ import annotations

from litestar import Request, get, post
from litestar.response import Redirect, Response, Template

from portal.accounts import service as accounts
from portal.core.errors import FormErrors
from portal.routes.auth import set_session_cookie
from portal.routes.forms import form_dict
from portal.security.sessions import COOKIE as SESSION_COOKIE
from portal.web.render import form_errors, portal_guard, render


@get("/portal/account", guards=[portal_guard])
async def account_form(request: Request) -> Template:
    return render("portal/account.html", principal=request.state.principal, errors={})


@post("/portal/account", guards=[portal_guard])
async def account_submit(request: Request) -> Response:
    principal = request.state.principal
    data = await form_dict(request)
    new = data.get("new_password") or ""
    try:
        if new != (data.get("new_password_again") or ""):
            raise FormErrors({"new_password_again": "The two passwords differ."})
        await accounts.change_password(principal, data.get("current_password") or "", new)
    except FormErrors as exc:
        return render("portal/account.html", status_code=422, principal=principal, errors=form_errors(exc))
    # A new password ends every other session; this device keeps a fresh one.
    epoch = await accounts.sign_out_everywhere(principal)
    sessions = request.app.state.sessions
    await sessions.destroy(request.cookies.get(SESSION_COOKIE))
    response = Redirect("/portal/account?changed=1")
    set_session_cookie(response, request, await sessions.create("portal", principal.user_id, epoch))
    return response


ROUTES = [account_form, account_submit]
