"""The tenant file's own tables (profile, contacts, change log and requests)."""

from __future__ import annotations

from portal.core.hooks import DomainHooks, Inventory, count_rows, register
from tenants.file.tables import ChangeLog, ChangeRequest, Contact, Profile


async def inventory(conn, tenant_id: int) -> Inventory:
    return Inventory(rows=await count_rows(Profile, Contact, ChangeLog, ChangeRequest))


register(DomainHooks("file", inventory=inventory))
