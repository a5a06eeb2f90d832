"""Security headers on every response (issue 7, item 5).

Outermost ASGI middleware, so the CSRF refusal and error pages get them too.
A header a handler already set (a download's own ``Cache-Control``, say) is
kept as the handler wrote it.
"""

from __future__ import annotations

from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.middleware import AbstractMiddleware
from litestar.types import Message, Receive, Scope, Send

# No inline script and no inline style anywhere: the templates load
# /static/*.js and /static/portal.css only; HTMX is told not to inject its
# indicator style and not to eval (see base.html's htmx-config).
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
# Swagger UI (React) sets inline styles on its own elements; its script is still 'self' only.
API_DOCS_CSP = PAGE_CSP.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")
API_DOCS_PATH = "/api/docs"
STATIC_PATH = "/static/"
HSTS = "max-age=31536000; includeSubDomains"


def security_headers(path: str, production: bool) -> dict[str, str]:
    """The headers a response to ``path`` carries unless it set them itself."""
    headers = {
        "Content-Security-Policy": API_DOCS_CSP if path.startswith(API_DOCS_PATH) else PAGE_CSP,
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
    }
    # Everything but the static assets may carry a tenant's data (pages, API answers, files):
    # no browser or proxy keeps a copy.
    if not path.startswith(STATIC_PATH):
        headers["Cache-Control"] = "no-store"
    if production:
        headers["Strict-Transport-Security"] = HSTS
    return headers


class SecurityHeadersMiddleware(AbstractMiddleware):
    scopes = {ScopeType.HTTP}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        production = scope["litestar_app"].state.settings.production
        wanted = security_headers(scope["path"], production)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableScopeHeaders.from_message(message)
                for name, value in wanted.items():
                    if name not in headers:
                        headers.add(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)
