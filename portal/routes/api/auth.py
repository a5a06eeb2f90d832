"""Sign-in, sign-out, the CSRF token and the current user.

CSRF for API clients: ``GET /api/v1/auth/csrf`` returns a token (and sets the
``csrftoken`` cookie it must match while signed out); every unsafe request
carries it in the ``x-csrftoken`` header. Signing in rotates the session and
returns the new session's token.
"""

from __future__ import annotations

from litestar import Request, Response, get, post
from litestar.datastructures import CacheControlHeader

from portal.core import audit
from portal.accounts import service as accounts
from portal.core.errors import FormErrors
from portal.core.i18n import N_
from portal.routes.api.guards import signed_in
from portal.routes.api.schemas import (
    INVALID,
    CsrfOut,
    LoginIn,
    LoginOut,
    UserOut,
    error_response,
    responses,
)
from portal.routes.auth import attempt_sign_in, client_ip, set_session_cookie
from portal.security.sessions import COOKIE as SESSION_COOKIE
from portal.web.middleware import session_csrf_token
from portal.web.render import json_error

NO_STORE = CacheControlHeader(no_store=True)
TAGS = ["auth"]


@get("/auth/csrf", tags=TAGS, cache_control=NO_STORE, summary="The CSRF token for this client",
     responses=responses())
async def csrf_token(request: Request) -> CsrfOut:
    """Signed out: a token that must equal the `csrftoken` cookie (set by this
    answer if missing). Signed in: the token of the session."""
    return CsrfOut(csrf_token=request.state.csrf_token)


@post(
    "/auth/login", tags=TAGS, status_code=200, cache_control=NO_STORE, summary="Sign in",
    responses=responses(INVALID, {429: error_response("Too many failed attempts (`login_locked`).")}),
)
async def login(request: Request, data: LoginIn) -> Response[LoginOut]:
    """Checks the password (with the same throttling and audit as the sign-in
    pages), starts a new session (cookie `portal_session`) and returns the
    user with the session's CSRF token."""
    errors, codes = {}, {}
    if not data.login.strip():
        errors["login"], codes["login"] = N_("Enter your user name."), "login.required"
    if not data.password:
        errors["password"], codes["password"] = N_("Enter your password."), "password.required"
    if errors:
        raise FormErrors(errors, codes)
    throttle = request.app.state.throttle
    locked = await throttle.locked_for(data.kind, data.login.strip().lower(), client_ip(request))
    session_id, error = await attempt_sign_in(request, data.kind, data.login, data.password)
    if session_id is None:
        if locked:
            response = json_error("login_locked", error, 429)
            response.headers["retry-after"] = str(locked)
            return response
        return json_error("login_failed", error, 401)
    session = await request.app.state.sessions.load(session_id)
    principal = await accounts.load_principal(session.kind, session.user_id, session.epoch, session_id)
    settings = request.app.state.settings
    response = Response(LoginOut(user=UserOut.of(principal),
                                 csrf_token=session_csrf_token(settings.secret_key, session_id)))
    set_session_cookie(response, request, session_id)
    return response


@post("/auth/logout", tags=TAGS, status_code=204, summary="Sign out",
      responses=responses())
async def logout(request: Request, everywhere: bool = False) -> Response[None]:
    """Ends this session (`everywhere=true`: every session of this user)."""
    principal = request.state.get("principal")
    if principal is not None:
        if everywhere:
            await accounts.sign_out_everywhere(principal)
        await audit.record(f"{principal.kind}.logout", principal=principal, ip=client_ip(request),
                           detail={"everywhere": everywhere, "via": "api"})
    await request.app.state.sessions.destroy(request.cookies.get(SESSION_COOKIE))
    response: Response[None] = Response(None, status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@get("/me", tags=TAGS, guards=[signed_in], cache_control=NO_STORE, summary="The signed-in user",
     responses=responses())
async def me(request: Request) -> UserOut:
    return UserOut.of(request.state.principal)


ROUTES = [csrf_token, login, logout, me]
