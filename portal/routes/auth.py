"""Sign-in and sign-out, shared by the console (staff) and the portal (tenants)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlparse

from litestar import Request, Response
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect

from portal.core import audit, i18n
from portal.accounts import service as accounts
from portal.security.sessions import COOKIE as SESSION_COOKIE
from portal.web.render import render

FormBody = Annotated[dict, Body(media_type=RequestEncodingType.URL_ENCODED)]


def safe_next(target: str | None, default: str) -> str:
    """Only same-site relative paths; anything else goes to the default page."""
    if not target:
        return default
    parsed = urlparse(target)
    if parsed.scheme or parsed.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target


def client_ip(request: Request) -> str:
    return request.client.host if request.client else ""


def set_session_cookie(response: Response, request: Request, session_id: str) -> None:
    settings = request.app.state.settings
    response.set_cookie(
        SESSION_COOKIE, session_id, path="/", httponly=True, samesite="lax", secure=settings.production,
        max_age=settings.session_absolute_hours * 3600,
    )


async def attempt_sign_in(request: Request, kind: str, login: str, password: str) -> tuple[str | None, str]:
    """Returns (new session id, "") on success or (None, translated error)."""
    throttle = request.app.state.throttle
    ip = client_ip(request)
    login = (login or "").strip().lower()
    if not login or not password:
        return None, i18n.gettext("Enter your user name and password.")
    wait = await throttle.locked_for(kind, login, ip)
    if wait:
        await audit.record(f"{kind}.login", actor_name=login, outcome="locked", ip=ip)
        minutes = max(1, (wait + 59) // 60)
        return None, i18n.gettext("Too many failed attempts. Try again in %(minutes)s minutes.") % {"minutes": minutes}
    found = await accounts.authenticate(kind, login, password)
    if found is None:
        await throttle.record_failure(kind, login, ip)
        await audit.record(f"{kind}.login", actor_name=login, outcome="failed", ip=ip)
        return None, i18n.gettext("The user name or password is wrong.")
    user_id, epoch = found
    await throttle.reset(kind, login)
    # A fresh session id at every sign-in; the old one (if any) is destroyed.
    await request.app.state.sessions.destroy(request.cookies.get(SESSION_COOKIE))
    session_id = await request.app.state.sessions.create(kind, user_id, epoch)
    principal = await accounts.load_principal(kind, user_id, epoch)
    await audit.record(f"{kind}.login", principal=principal, ip=ip)
    return session_id, ""


async def sign_in_page(request: Request, data: dict, kind: str, template: str, default_next: str) -> Response:
    session_id, error = await attempt_sign_in(request, kind, data.get("login", ""), data.get("password", ""))
    target = safe_next(data.get("next"), default_next)
    if session_id is None:
        return render(template, status_code=400, error=error, login=data.get("login", ""), next=target,
                      principal=None)
    response = Redirect(target)
    set_session_cookie(response, request, session_id)
    return response


async def sign_out(request: Request, everywhere: bool, login_path: str) -> Response:
    principal = request.state.get("principal")
    if principal is not None:
        if everywhere:
            await accounts.sign_out_everywhere(principal)
        await audit.record(f"{principal.kind}.logout", principal=principal, ip=client_ip(request),
                           detail={"everywhere": everywhere})
    await request.app.state.sessions.destroy(request.cookies.get(SESSION_COOKIE))
    response = Redirect(login_path)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
