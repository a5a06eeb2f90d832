"""Portal users and their invitations belong to one tenant company."""

from __future__ import annotations

from portal.accounts.tables import PortalInvite, PortalUser
from portal.core.hooks import DomainHooks, delete_for_tenant, register


async def purge_core(conn, tenant_id: int) -> int:
    return await delete_for_tenant(tenant_id, PortalInvite, PortalUser)


register(DomainHooks("accounts", purge_core=purge_core))
