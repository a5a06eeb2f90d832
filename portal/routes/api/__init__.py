"""The JSON API (/api/v1)."""

from litestar import Router


def router() -> Router:
    return Router(path="/api/v1", route_handlers=[])
