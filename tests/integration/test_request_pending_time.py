"""A tenant's change request is pending until staff decide: it has no decision
time. (The table class once filled ``decided_at`` with the insert's clock, so the
portal said "decided at" under a request nobody had decided.)"""

from __future__ import annotations

from portal.accounts import service as accounts
from portal.core.db import DB
from tenants.file import service as file_service
from tenants.registry import service as registry
from tests import factories


async def test_a_pending_request_has_no_decision_time_until_decided(database):
    ref = await registry.get_ref(await factories.tenant(await factories.building()))
    user = await factories.portal_user(ref.id)
    epoch = await DB.pool.fetchval("SELECT session_epoch FROM core.portal_user WHERE id = $1", user["id"])
    person = await accounts.load_principal("portal", user["id"], epoch)
    request_id = await file_service.submit_request(ref, person, "profile", {"industry": "会展服务"})

    [pending] = (await file_service.read_file(ref, person))["requests"]
    assert pending["status"] == "pending" and pending["submitted_at"] is not None
    assert pending["decided_at"] is None

    await file_service.decide_request(ref, request_id, factories.SYSTEM, approve=True)
    [decided] = (await file_service.read_file(ref, person))["requests"]
    assert decided["status"] == "approved" and decided["decided_at"] >= decided["submitted_at"]
