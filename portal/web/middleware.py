"""Per-request security: who is signed in, the UI language, and CSRF.

Runs as ASGI middleware in the request's own task, before routing, so the
handlers and guards find ``request.state.principal``, ``.locale`` and
``.csrf_token`` ready. It opens no transaction (see DESIGN.md 5.4).
"""

from __future__ import annotations

import hashlib
import json
import hmac
import secrets
from http.cookies import SimpleCookie
from urllib.parse import parse_qs

from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.middleware import AbstractMiddleware
from litestar.types import Message, Receive, Scope, Send

from portal.core import audit, i18n
from portal.accounts.service import load_principal
from portal.security.sessions import COOKIE as SESSION_COOKIE
from portal.web.multipart_field import leading_field

CSRF_COOKIE = "csrftoken"
CSRF_HEADER = b"x-csrftoken"
CSRF_FIELD = "_csrf_token"
LANG_COOKIE = "lang"
# How much of a multipart body the CSRF check may read looking for the token field.
MULTIPART_HEAD_LIMIT = 64 * 1024
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def session_csrf_token(secret: str, session_id: str) -> str:
    """The token of a signed-in session: derived from the session id, so it
    changes at every sign-in and cannot be planted by a cookie alone."""
    return hmac.new(secret.encode(), b"csrf:" + session_id.encode(), hashlib.sha256).hexdigest()


def _cookies(scope: Scope) -> dict[str, str]:
    jar = SimpleCookie()
    for name, value in scope.get("headers", []):
        if name == b"cookie":
            try:
                jar.load(value.decode("latin-1"))
            except Exception:  # a malformed cookie header is treated as none
                pass
    return {k: m.value for k, m in jar.items()}


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return None


class SecurityMiddleware(AbstractMiddleware):
    scopes = {ScopeType.HTTP}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        app_state = scope["litestar_app"].state
        settings = app_state.settings
        cookies = _cookies(scope)
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        state = scope.setdefault("state", {})

        # Pages are Chinese unless the person switches; API clients may ask by header.
        accept = _header(scope, b"accept-language") if scope["path"].startswith("/api/") else None
        locale = i18n.pick_locale(
            (query.get("lang") or [None])[0], cookies.get(LANG_COOKIE), accept, settings.default_locale
        )
        i18n.set_locale(locale)
        state["locale"] = locale

        principal = None
        session_id = cookies.get(SESSION_COOKIE)
        session = await app_state.sessions.load(session_id)
        if session is not None:
            principal = await load_principal(session.kind, session.user_id, session.epoch, session_id)
            if principal is None:
                await app_state.sessions.destroy(session_id)
        state["principal"] = principal

        anon_token = cookies.get(CSRF_COOKIE) or ""
        new_anon_token = None
        if principal is not None:
            state["csrf_token"] = session_csrf_token(settings.secret_key, session_id)
        else:
            if len(anon_token) < 32:
                anon_token = new_anon_token = secrets.token_urlsafe(32)
            state["csrf_token"] = anon_token

        if scope["method"] not in SAFE_METHODS:
            if not await self._csrf_ok(scope, receive, state):
                await self._refuse(scope, send, state)
                return
            receive = _replaying(scope.pop("_replay_body", None), receive)

        set_cookies = []
        secure = "; Secure" if settings.production else ""
        if new_anon_token:
            set_cookies.append(f"{CSRF_COOKIE}={new_anon_token}; Path=/; HttpOnly; SameSite=Lax{secure}")
        if (query.get("lang") or [None])[0] in i18n.LOCALES:
            set_cookies.append(f"{LANG_COOKIE}={locale}; Path=/; Max-Age=31536000; SameSite=Lax{secure}")

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start" and set_cookies:
                headers = MutableScopeHeaders.from_message(message)
                for cookie in set_cookies:
                    headers.add("set-cookie", cookie)
            await send(message)

        await self.app(scope, receive, send_wrapper)

    async def _csrf_ok(self, scope: Scope, receive: Receive, state: dict) -> bool:
        """The token comes in the X-CSRFToken header (HTMX, API) or as a form field;
        never in the URL, which access logs keep."""
        expected = state["csrf_token"]
        supplied = _header(scope, CSRF_HEADER)
        if supplied is None:
            content_type = _header(scope, b"content-type") or ""
            media_type = content_type.split(";")[0].strip().lower()
            if media_type == "application/x-www-form-urlencoded":
                # Read the (small) form body and replay it to the handler.
                body = await _read_body(receive, limit=1_000_000)
                if body is None:
                    return False
                supplied = (parse_qs(body.decode("utf-8", "replace")).get(CSRF_FIELD) or [None])[0]
                scope["_replay_body"] = (body, False)
            elif media_type == "multipart/form-data":
                # Uploads: the token field precedes the file; read only the head of the body.
                head = await leading_field(content_type, receive, CSRF_FIELD, MULTIPART_HEAD_LIMIT)
                if head is None:
                    return False
                supplied, body, more_body = head
                scope["_replay_body"] = (body, more_body)
        return bool(supplied) and hmac.compare_digest(str(supplied), expected)

    async def _refuse(self, scope: Scope, send: Send, state: dict) -> None:
        message = i18n.gettext("The form has expired or came from another site. Reload the page and try again.")
        if scope["path"].startswith("/api/"):
            body = json.dumps({"code": "csrf_failed", "message": message}, ensure_ascii=False).encode()
            content_type = b"application/json"
        else:
            body = (
                f'<!doctype html><meta charset="utf-8"><title>403</title><p>{message}</p>'
            ).encode()
            content_type = b"text/html; charset=utf-8"
        await audit.record("security.csrf_refused", principal=state.get("principal"), outcome="refused",
                           target=scope["path"], ip=(scope.get("client") or ("", 0))[0])
        await send({"type": "http.response.start", "status": 403,
                    "headers": [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


def _replaying(read: tuple[bytes, bool] | None, receive: Receive) -> Receive:
    """Give the handler the body the CSRF check already read, then the rest."""
    if read is None:
        return receive
    pending = [read]

    async def replay() -> Message:
        if pending:
            body, more_body = pending.pop()
            return {"type": "http.request", "body": body, "more_body": more_body}
        return await receive()

    return replay


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)
