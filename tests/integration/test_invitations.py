"""Invitations: the nightly sweep closes expired, unused ones and nothing else;
the invitation link and acceptance read through the tenant's row."""

from __future__ import annotations

import uuid

import pytest

from portal.accounts import service as accounts
from portal.accounts.tables import PortalInvite
from portal.core.errors import Conflict, NotFound
from portal.core.roles import Principal, Role
from tests import factories

STRONG = "Quiet-Lantern-Orbit-42"


async def _invite(tenant_id: int, clerk: Principal, hours: int) -> tuple[int, str]:
    email = f"i{uuid.uuid4().hex[:10]}@tenant.example"
    return await accounts.invite_portal_user(tenant_id, {"display_name": "王五", "email": email}, clerk, hours)


async def test_sweep_revokes_only_expired_unused_invitations(database):
    bld = await factories.building()
    tenant_id = await factories.tenant(bld)
    person = await factories.staff(["clerk"], [bld["id"]])
    clerk = Principal(kind="staff", user_id=person["id"], name="clerk", roles=frozenset({Role.CLERK}),
                      building_ids=frozenset({bld["id"]}))
    expired, _token = await _invite(tenant_id, clerk, -1)
    live, live_token = await _invite(tenant_id, clerk, 48)
    used, used_token = await _invite(tenant_id, clerk, 48)
    await accounts.accept_invite(used_token, STRONG, STRONG)

    assert await accounts.expire_invitations() >= 1
    rows = {r["id"]: r for r in await PortalInvite.select(PortalInvite.id, PortalInvite.revoked_at).where(
        PortalInvite.id.is_in([expired, live, used])).run()}
    assert rows[expired]["revoked_at"] is not None
    assert rows[live]["revoked_at"] is None and rows[used]["revoked_at"] is None
    assert await accounts.expire_invitations() == 0  # idempotent: nothing left to close
    with pytest.raises(NotFound):
        await accounts.find_invite(_token)  # a revoked link is not valid
    assert (await accounts.find_invite(live_token))["tenant_name"]
    with pytest.raises(Conflict):
        await accounts.find_invite(used_token)
