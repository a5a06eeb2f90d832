"""The input guard: one check, after routing and before any handler, that every
path and query value and every JSON body fits what PostgreSQL accepts
(``portal.core.params``).

- An id in the path outside 1..2**31-1 is a 404 (no such object can exist).
- A query parameter the handler declares as an ``int`` must fit ``integer``
  (and the handler's own ``ge``/``le``): otherwise a localized 422.
- Control characters (NUL and the like) in a path or query value, or in any
  string of a JSON body, are a localized 422.

HTML form bodies are checked where they are read (``portal.routes.forms``),
since multipart bodies are streamed.
"""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import parse_qsl

import msgspec
from litestar.enums import ScopeType
from litestar.exceptions import HTTPException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import AbstractMiddleware
from litestar.params import ParameterKwarg
from litestar.types import Message, Receive, Scope, Send
from litestar.typing import FieldDefinition

from portal.core.errors import FormErrors, NotFound
from portal.core import params

JSON_BODY_LIMIT = 1_000_000  # JSON bodies are forms, never files


def _declared_int(field: FieldDefinition) -> bool:
    candidates = field.inner_types if field.is_union else (field,)
    return any(c.annotation is int for c in candidates)


@lru_cache(maxsize=None)
def _int_query_bounds(handler: BaseRouteHandler) -> dict[str, tuple[int, int]]:
    """Query name -> (lowest, highest) for the handler's integer query parameters."""
    bounds: dict[str, tuple[int, int]] = {}
    for name, field in handler.parsed_fn_signature.parameters.items():
        kwarg = field.kwarg_definition if isinstance(field.kwarg_definition, ParameterKwarg) else None
        if (kwarg and (kwarg.header or kwarg.cookie)) or not _declared_int(field):
            continue
        lo, hi = params.INT4_MIN, params.INT4_MAX
        if kwarg is not None:
            lo = max(lo, int(kwarg.ge) if kwarg.ge is not None else lo, int(kwarg.gt) + 1 if kwarg.gt is not None else lo)
            hi = min(hi, int(kwarg.le) if kwarg.le is not None else hi, int(kwarg.lt) - 1 if kwarg.lt is not None else hi)
        bounds[(kwarg.query if kwarg and kwarg.query else name)] = (lo, hi)
    return bounds


def check_path_and_query(scope: Scope) -> None:
    for value in scope.get("path_params", {}).values():
        if isinstance(value, int) and not 1 <= value <= params.INT4_MAX:
            raise NotFound()
        if isinstance(value, str) and params.has_control_chars(value):
            raise NotFound()
    query = parse_qsl(scope.get("query_string", b"").decode("utf-8", "replace"), keep_blank_values=True)
    errors: dict[str, str] = {}
    codes: dict[str, str] = {}
    handler = scope.get("route_handler")
    bounds = _int_query_bounds(handler) if handler is not None else {}
    for key, value in query:
        if params.has_control_chars(key) or params.has_control_chars(value):
            errors[key], codes[key] = params.CONTROL_MESSAGE, "text.control_characters"
        elif key in bounds:
            # Not a whole number at all: Litestar's own type check answers it.
            number = params.whole_number(value)
            if number is not None and not bounds[key][0] <= number <= bounds[key][1]:
                errors[key], codes[key] = params.RANGE_MESSAGE, "number.range"
    if errors:
        raise FormErrors(errors, codes)


class InputGuardMiddleware(AbstractMiddleware):
    scopes = {ScopeType.HTTP}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        check_path_and_query(scope)
        content_type = next((v for k, v in scope.get("headers", []) if k == b"content-type"), b"")
        if content_type.split(b";")[0].strip().lower() == b"application/json":
            body = await _read_body(receive)
            try:
                decoded = msgspec.json.decode(body)
            except msgspec.DecodeError:
                decoded = None  # Litestar answers malformed JSON with its own 400
            params.refuse_control_chars(decoded)
            receive = _replay(body)
        await self.app(scope, receive, send)


async def _read_body(receive: Receive) -> bytes:
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] != "http.request":  # the client went away
            return b"".join(chunks)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > JSON_BODY_LIMIT:
            raise HTTPException(status_code=413)
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    return receive
