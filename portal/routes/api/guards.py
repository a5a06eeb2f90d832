"""API guards: the console's and portal's guards, with API status codes.

The HTML guards answer "not staff" with 401 (a redirect to the sign-in page).
An API client that *is* signed in, but as the wrong kind of user, gets 403
instead: 401 means only "no session".
"""

from __future__ import annotations

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

from portal.core.roles import Perm
from portal.web.render import portal_guard, principal_of, requires


async def signed_in(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    if principal_of(connection) is None:
        raise NotAuthorizedException()


def staff_requires(*perms: Perm):
    """A signed-in staff member holding every one of ``perms`` (as ``requires``)."""
    inner = requires(*perms)

    async def guard(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
        principal = principal_of(connection)
        if principal is None:
            raise NotAuthorizedException()
        if not principal.is_staff:
            raise PermissionDeniedException()
        await inner(connection, handler)

    return guard


async def portal_user(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    """A signed-in tenant portal user (as ``portal_guard``)."""
    principal = principal_of(connection)
    if principal is None:
        raise NotAuthorizedException()
    if not principal.is_portal:
        raise PermissionDeniedException()
    await portal_guard(connection, handler)
