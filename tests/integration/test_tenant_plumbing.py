"""One way into a tenant: follow-ups reach the broker only after their
transaction commits, a tenant task refuses a tenant that is not in the
registry, and the route dependencies answer 404 to whoever may not reach the
tenant."""

from __future__ import annotations

import base64
import datetime as dt
import json

import pytest
from redis.asyncio import Redis

from portal.core import jobs
from portal.core.roles import Principal, Role
from tasks.celery_app import make_celery, sender
from tasks.documents import thumbnail
from tasks.runner import TenantGone
from tenants.money import charges, notices_issue
from tenants.registry import service as registry
from tenants.scope import tenant_tx
from tests import factories
from tests.conftest import unique

FINANCE = Principal(kind="staff", user_id=0, name="财务测试", roles=frozenset({Role.FINANCE}))
CANARY = "管道隔离检验有限公司"


def _message(raw: bytes) -> tuple[str, list]:
    message = json.loads(raw)
    args, _kwargs, _embed = json.loads(base64.b64decode(message["body"]))
    return message["headers"]["task"], args


async def test_on_commit_sends_after_commit_and_nothing_on_rollback(database, settings):
    """A real Celery app on the test Redis, its default queue private to this test."""
    queue = unique("plumbing-")
    app = make_celery(settings)
    app.conf.task_default_queue = queue
    previous = jobs._sender
    jobs.use_sender(sender(app))
    redis = Redis.from_url(settings.redis_url)
    ref = await registry.get_ref(await factories.tenant(await factories.building()))
    try:
        async with tenant_tx(ref.schema):
            jobs.on_commit(thumbnail, ref.id, 41)
            assert await redis.llen(queue) == 0  # not before the commit
        assert await redis.llen(queue) == 1
        assert _message(await redis.lindex(queue, 0)) == ("documents.thumbnail", [ref.id, 41])

        with pytest.raises(RuntimeError):
            async with tenant_tx(ref.schema):
                jobs.on_commit(thumbnail, ref.id, 42)
                raise RuntimeError("the change fails")
        with pytest.raises(RuntimeError):
            async with jobs.core_tx():
                jobs.on_commit(thumbnail, ref.id, 43)
                raise RuntimeError("the change fails")
        assert await redis.llen(queue) == 1  # nothing sent for the rolled-back changes

        async with jobs.core_tx():
            jobs.on_commit(thumbnail, ref.id, 44, countdown=60)
        assert await redis.llen(queue) == 2
        with pytest.raises(jobs.AfterCommitError):
            jobs.on_commit(thumbnail, ref.id, 45)  # outside a transaction: refused, never sent
        with pytest.raises(TypeError):
            async with jobs.core_tx():
                jobs.on_commit("documents.thumbnail", ref.id, 46)  # tasks by function, not by name
        assert await redis.llen(queue) == 2
    finally:
        jobs.use_sender(previous)
        await redis.delete(queue)
        await redis.aclose()


def test_tenant_task_refuses_a_missing_tenant(celery_app, celery_worker):
    """The real worker: no registry row, no schema to fall back to."""
    result = celery_app.send_task("documents.thumbnail", args=[987654321, 1])
    with pytest.raises(TenantGone):
        result.get(timeout=60)
    refused = celery_app.send_task("documents.thumbnail", args=["public", 1])
    with pytest.raises(ValueError):
        refused.get(timeout=60)


async def test_tenant_dependency_gives_404_out_of_reach(database, settings, client_factory):
    home, elsewhere = await factories.building(), await factories.building()
    ref = await registry.get_ref(await factories.tenant(home, name=CANARY))
    other = await registry.get_ref(await factories.tenant(elsewhere))
    await charges.add_manual_charge(ref, {"fee_item": "management", "amount": "500", "due_date": "2026-01-10",
                                         "reason": "一月物业费"}, FINANCE)
    notice_id = await notices_issue.issue(ref, "arrears", settings, actor=FINANCE, as_of=dt.date(2026, 3, 1),
                                    send_email=False)

    outsider = await factories.staff(["clerk"], [elsewhere["id"]])
    staff_client = await client_factory()
    await factories.sign_in(staff_client, outsider["username"])
    for path in (f"/console/tenants/{ref.id}", f"/console/tenants/{ref.id}/edit",
                 f"/console/tenants/{ref.id}/documents", f"/console/tenants/{ref.id}/money",
                 f"/api/v1/tenants/{ref.id}"):
        response = await staff_client.get(path)
        assert response.status_code == 404, path
        assert CANARY not in response.text
    assert (await staff_client.get(f"/console/tenants/{other.id}")).status_code == 200
    assert (await staff_client.get("/console/tenants/2147483647")).status_code == 404

    user = await factories.portal_user(other.id)
    portal_client = await client_factory()
    await factories.sign_in(portal_client, user["email"], user["password"], kind="portal")
    response = await portal_client.get(f"/portal/money/notices/{notice_id}/pdf")
    assert response.status_code == 404 and CANARY not in response.text
    company = await portal_client.get("/api/v1/portal/company")
    assert company.status_code == 200 and CANARY not in company.text
    for path in (f"/console/tenants/{ref.id}", f"/api/v1/tenants/{ref.id}"):
        response = await portal_client.get(path)
        assert response.status_code in (302, 303, 401, 403, 404), path
        assert CANARY not in response.text
