"""One way into a tenant for the routes.

A handler names the tenant it works on as a parameter and Litestar hands it
the resolved, permission-checked ``TenantRef`` (one registry query); nothing
in a route body resolves a tenant by hand:

- ``tenant``: the ``{tenant_id}`` of the path, for staff who cover one of the
  tenant's buildings (every write);
- ``readable_tenant``: the same, or read-only through an active lending grant
  (``ref.via_grant``), for pages that only read;
- ``my_tenant``: the signed-in portal user's own tenant, never from the URL.

Out of reach is 404, so an unseen tenant's existence is not revealed. The
dependencies run after the route's guards and open no transaction (the
service does: DESIGN.md 5.4).
"""

from __future__ import annotations

from typing import Annotated

from litestar import Request
from litestar.di import NamedDependency, Provide
from litestar.params import Parameter

from portal.core.errors import Conflict
from tenants.registry import service as registry
from tenants.registry.service import TenantRef

TenantId = Annotated[int, Parameter(description="The tenant's id.")]
# How a handler's parameter asks for one of the DEPENDENCIES (by its name).
Tenant = NamedDependency[TenantRef]


async def _not_destroyed(ref: TenantRef) -> TenantRef:
    # A file being destroyed or destroyed (inactive, so one more query only for inactive files) is out of reach.
    if not ref.active:
        from tenants.destruction.service import assert_not_destroyed
        await assert_not_destroyed(ref.id)
    return ref


# A restored copy (tenants/backup, core.tenant.read_only) is for inspection: every
# write route names the tenant through ``tenant``, so refusing here refuses them all.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def staff_tenant(request: Request, tenant_id: TenantId) -> TenantRef:
    ref = await _not_destroyed(await registry.ref_for_staff(request.state.principal, tenant_id))
    if ref.read_only and request.method not in SAFE_METHODS:
        raise Conflict("This file is a restored copy for inspection and cannot be changed.", code="read_only")
    return ref


async def staff_tenant_or_grant(request: Request, tenant_id: TenantId) -> TenantRef:
    return await _not_destroyed(await registry.ref_for_staff(request.state.principal, tenant_id, allow_grant=True))


async def portal_tenant(request: Request) -> TenantRef:
    return await registry.ref_for_portal(request.state.principal)


DEPENDENCIES = {
    "tenant": Provide(staff_tenant),
    "readable_tenant": Provide(staff_tenant_or_grant),
    "my_tenant": Provide(portal_tenant),
}
