"""Templates, guards and the error answers shared by every face."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from litestar import Request, Response
from litestar.background_tasks import BackgroundTask
from litestar.connection import ASGIConnection
from litestar.exceptions import HTTPException, NotAuthorizedException, NotFoundException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.response import Redirect, Template
from markupsafe import Markup

from portal.core import audit, i18n
from portal.core.roles import Perm, Principal
from portal.core.errors import DomainError, FormErrors
from portal import events
from portal.web.lang import lang_url

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
SHANGHAI = ZoneInfo("Asia/Shanghai")


def _localtime(value: dt.datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(SHANGHAI).strftime(fmt)


def _money(value) -> str:
    if value is None or value == "":
        return ""
    return f"{value:,.2f}"


def _query(request: Request, **changes) -> str:
    """The current query string with some parameters replaced (for paging, sorting)."""
    params = {k: v for k, v in request.query_params.items()}
    for key, value in changes.items():
        if value in (None, ""):
            params.pop(key, None)
        else:
            params[key] = value
    return "?" + urlencode(params)


def _field_label(name: str) -> str:
    from tenants.file.forms import FIELD_LABELS

    return i18n.gettext(FIELD_LABELS.get(name, name))


def _csrf_input(request: Request) -> Markup:
    token = request.state.get("csrf_token", "")
    return Markup(f'<input type="hidden" name="_csrf_token" value="{token}">')


def make_environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(["html", "xml"]),
        extensions=["jinja2.ext.i18n"],
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        # Templates are read once per process: no stat() of every template (and its
        # layouts) on every page. A changed template shows after a restart.
        auto_reload=False,
    )
    env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)
    env.globals.update(
        csrf_input=_csrf_input,
        field_label=_field_label,
        lang_url=lang_url,
        query=_query,
        quote=quote,
        Perm=Perm,
        LOCALE_NAMES=i18n.LOCALE_NAMES,
        change_sentence=events.change_sentence,
        audit_sentence=events.audit_sentence,
        audit_details=events.audit_details,
        audit_actor=events.actor_with_kind,
        event_status=events.status,
        request_title=events.request_title,
        notice_title=events.notice_title,
        names_by_id=events.names_by_id,
        charge_description=events.charge_description,
    )
    env.filters.update(localtime=_localtime, money=_money, when=events.when)
    return env


class Page(Template):
    """A template response whose ``csrf_input(request)`` is ours (Litestar
    would otherwise put its own, empty, ``csrf_input`` string in the context)."""

    def create_template_context(self, request: Request) -> dict[str, Any]:
        context = super().create_template_context(request)
        context["csrf_input"] = _csrf_input
        return context


def render(template: str, status_code: int = 200, **context: Any) -> Template:
    return Page(template_name=template, context=context, status_code=status_code)


def form_errors(exc: FormErrors) -> dict[str, str]:
    """Field -> translated message, for inline display."""
    return {k: i18n.gettext(v) for k, v in exc.fields.items()}


def principal_of(connection: ASGIConnection) -> Principal | None:
    return connection.scope.get("state", {}).get("principal")


# --- guards -----------------------------------------------------------------------------------------
# Guards are coroutines: Litestar runs a plain function guard in a worker thread,
# which cost about a third of the CPU of a portal page. A guard that builds on
# another awaits it.

async def staff_guard(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    principal = principal_of(connection)
    if principal is None or not principal.is_staff:
        raise NotAuthorizedException()


async def portal_guard(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    principal = principal_of(connection)
    if principal is None or not principal.is_portal:
        raise NotAuthorizedException()


def requires(*perms: Perm):
    """Guard: a signed-in staff member holding every one of ``perms``."""

    async def guard(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
        await staff_guard(connection, handler)
        principal = principal_of(connection)
        if not all(principal.can(p) for p in perms):
            raise PermissionDeniedException()

    return guard


# --- error answers ----------------------------------------------------------------------------------

def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _login_path(request: Request) -> str:
    return "/portal/login" if request.url.path.startswith("/portal") else "/console/login"


def _client_ip(request: Request) -> str:
    return request.client.host if request.client else ""


def json_error(code: str, message: str, status: int, fields: dict | None = None) -> Response:
    body: dict[str, Any] = {"code": code, "message": message}
    if fields:
        body["fields"] = fields
    return Response(body, status_code=status, media_type="application/json")


def _ensure_request_state(request: Request) -> None:
    """Unmatched paths (404/405) are answered before the security middleware
    runs: give the error page the language and the (empty) CSRF token it expects."""
    if request.state.get("locale") is None:
        locale = i18n.pick_locale(request.query_params.get("lang"), request.cookies.get("lang"),
                                  request.headers.get("accept-language"), request.app.state.settings.default_locale)
        i18n.set_locale(locale)
        request.state.locale = locale
    if request.state.get("csrf_token") is None:
        request.state.csrf_token = ""


def error_page(request: Request, status: int, message: str) -> Response:
    return render("error.html", status_code=status, status=status, message=message,
                  principal=request.state.get("principal"))


def _audit_refusal(request: Request, response: Response) -> Response:
    """Exception handlers are synchronous: the refusal is written to the audit
    log by a background task right after the answer is sent."""
    response.background = BackgroundTask(
        audit.record, "security.refused", principal=request.state.get("principal"), outcome="refused",
        target=request.url.path, ip=_client_ip(request),
    )
    return response


def handle_domain_error(request: Request, exc: DomainError) -> Response:
    response = _domain_error_response(request, exc)
    return _audit_refusal(request, response) if exc.status_code == 403 else response


def _domain_error_response(request: Request, exc: DomainError) -> Response:
    message = i18n.gettext(exc.message)
    if _is_api(request):
        fields = form_errors(exc) if isinstance(exc, FormErrors) else None
        response = json_error(exc.code, message, exc.status_code, fields)
        if fields:
            # Every field gets a machine code (services without codes: "invalid").
            response.content["field_codes"] = {k: exc.codes.get(k, "invalid") for k in exc.fields}
        return response
    if isinstance(exc, FormErrors):
        message = message + " " + "; ".join(form_errors(exc).values())
    return error_page(request, exc.status_code, message)


def _litestar_fields(extra: Any) -> dict:
    """Litestar's validation details (``[{"key", "message", "source"}]``) as
    field -> message, the shape of every other API error."""
    if isinstance(extra, list):
        fields = {str(item.get("key") or "__all__"): str(item.get("message", ""))
                  for item in extra if isinstance(item, dict)}
        if fields:
            return fields
    return extra if isinstance(extra, dict) else {"__all__": str(extra)}


def handle_http_error(request: Request, exc: HTTPException) -> Response:
    _ensure_request_state(request)
    response = _http_error_response(request, exc)
    if exc.status_code == 405 and exc.headers:
        response.headers.update(exc.headers)  # the methods that are allowed (``Allow``)
    return _audit_refusal(request, response) if response.status_code == 403 else response


def _http_error_response(request: Request, exc: HTTPException) -> Response:
    status = exc.status_code
    if isinstance(exc, NotAuthorizedException) or status == 401:
        if _is_api(request):
            return json_error("not_authenticated", i18n.gettext("Sign in first."), 401)
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return Redirect(f"{_login_path(request)}?next={quote(target)}")
    if isinstance(exc, PermissionDeniedException) or status == 403:
        message = i18n.gettext("You do not have permission to do this.")
        code = "forbidden"
    elif isinstance(exc, NotFoundException) or status == 404:
        message, code = i18n.gettext("Not found."), "not_found"
    elif status == 413:
        message, code = i18n.gettext("The upload is too large."), "too_large"
    elif status == 405:
        message, code = i18n.gettext("This action is not allowed here."), "method_not_allowed"
    elif 400 <= status < 500:
        message, code = i18n.gettext("The request is not valid."), "bad_request"
        if _is_api(request) and getattr(exc, "extra", None):
            return json_error(code, message, status, _litestar_fields(exc.extra))
    else:
        message, code = i18n.gettext("Something went wrong on our side. Please try again."), "server_error"
    if _is_api(request):
        return json_error(code, message, status)
    return error_page(request, status, message)


def handle_server_error(request: Request, exc: Exception) -> Response:
    _ensure_request_state(request)
    request.logger.exception("unhandled error", exc_info=exc)
    message = i18n.gettext("Something went wrong on our side. Please try again.")
    if _is_api(request):
        return json_error("server_error", message, 500)
    return error_page(request, 500, message)
