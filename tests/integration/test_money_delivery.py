"""Notice e-mail delivery as people see it: a failed delivery is a localized
state (never exception text), retried with a bound, resent on request by those
allowed to; a notice handed to the mail server before a crash is never sent
again by a resume; Resume is offered only when it would do something."""

from __future__ import annotations

import datetime as dt
import uuid

from portal.core.roles import Principal, Role
from portal.core.db import DB
from tenants.money import (batches, billing, charges, notices_issue, notices_mail, notices_render,
                           recovery)
from tenants.registry import service as registry
from tenants.scope import tenant_tx
from tests import factories
from tests.followups import sent_tasks
from tests.integration.money_support import archive_storage, free_port, smtp_sink  # noqa: F401 (fixtures)

FINANCE = Principal(kind="staff", user_id=9601, name="财务己", roles=frozenset({Role.FINANCE}))
GM = Principal(kind="staff", user_id=9602, name="总经理丁", roles=frozenset({Role.GENERAL_MANAGER}))


async def _signed_in(client_factory, roles):
    person = await factories.staff(roles)
    client = await client_factory()
    assert (await factories.sign_in(client, person["username"])).status_code in (302, 303)
    return client


async def _notice(ref, notice_id: int) -> dict:
    async with tenant_tx(ref.schema) as tx:
        return dict(await tx.connection.fetchrow(
            "SELECT email_state, email_error, email_attempts, emailed_to FROM notice WHERE id = $1", notice_id))


async def test_failed_email_is_a_localized_state_retried_then_resent(database, settings, client_factory, smtp_sink):
    controller, sink = smtp_sink
    no_mail = settings.with_(smtp_host="127.0.0.1", smtp_port=free_port())
    ref = await registry.get_ref(await factories.tenant(await factories.building()))
    await charges.add_manual_charge(ref, {"fee_item": "other", "amount": "300", "reason": "门禁卡补办"}, FINANCE)
    notice_id = await notices_issue.issue(ref, "statement", no_mail, actor=FINANCE)
    assert (await _notice(ref, notice_id))["email_state"] == "retrying"
    assert (await _notice(ref, notice_id))["email_error"] == "unreachable"

    finance = await _signed_in(client_factory, ["finance"])
    tab = await finance.get(f"/console/tenants/{ref.id}/money")
    assert "尚未送达，正在重试" in tab.text
    assert "Errno" not in tab.text and "ConnectionRefused" not in tab.text and "unreachable" not in tab.text
    resend = f"/console/tenants/{ref.id}/money/notices/{notice_id}/resend"
    assert resend in tab.text

    # retried with a bound: after MAX_ATTEMPTS failures it is failed, with the reason (the suite's worker may
    # make one of the attempts: the retry that issue() queued)
    for _ in range(notices_mail.MAX_ATTEMPTS - 1):
        state, attempts = await notices_mail.deliver(ref, notice_id, no_mail)
        if state == "failed":
            break
    assert (state, attempts) == ("failed", notices_mail.MAX_ATTEMPTS)
    assert await notices_mail.deliver(ref, notice_id, no_mail) == ("failed", notices_mail.MAX_ATTEMPTS)  # no more attempts
    tab = await finance.get(f"/console/tenants/{ref.id}/money")
    assert "发送失败：无法连接邮件服务器" in tab.text and resend in tab.text
    english = await finance.get(f"/console/tenants/{ref.id}/money?lang=en")
    assert "Failed: mail server unreachable" in english.text

    # resend: permission-checked and CSRF-protected
    token = await factories.form_token(finance, f"/console/tenants/{ref.id}/money")
    for roles in (["auditor"], ["clerk"], ["technician"]):
        other = await _signed_in(client_factory, roles)
        response = await other.post(resend, data={"_csrf_token": await factories.csrf(other, "/console/")})
        assert response.status_code in (403, 404), roles
    assert (await finance.post(resend, data={})).status_code == 403  # no CSRF token
    assert (await _notice(ref, notice_id))["email_state"] == "failed"
    response = await finance.post(resend, data={"_csrf_token": token})
    assert response.status_code in (302, 303)  # due again, and queued (a worker may be at it already)
    assert (await _notice(ref, notice_id))["email_state"] in ("retrying", "sending", "sent")

    # a tenant's portal user cannot reach it
    portal_user = await factories.portal_user(ref.id)
    tenant = await client_factory()
    await factories.sign_in(tenant, portal_user["email"], kind="portal")
    assert (await tenant.post(resend, data={"_csrf_token": await factories.csrf(tenant, "/portal/")})).status_code \
        in (302, 303, 401, 403)

    # a retry that reaches the mail server delivers it; a further resend is refused (not a 500) and sends nothing
    local = settings.with_(smtp_host="127.0.0.1", smtp_port=controller.port)
    other_id = await notices_issue.issue(ref, "statement", no_mail, actor=FINANCE)
    assert (await notices_mail.deliver(ref, other_id, local))[0] == "sent"
    assert len(sink.messages) == 1 and (await _notice(ref, other_id))["emailed_to"]
    response = await finance.post(f"/console/tenants/{ref.id}/money/notices/{other_id}/resend",
                                  data={"_csrf_token": token})
    assert response.status_code == 409
    assert (await notices_mail.deliver(ref, other_id, local))[0] == "sent"
    assert len(sink.messages) == 1


async def test_resume_never_resends_a_notice_handed_to_the_mail_server(database, settings, smtp_sink):
    controller, sink = smtp_sink
    local = settings.with_(smtp_host="127.0.0.1", smtp_port=controller.port)
    ref = await registry.get_ref(await factories.tenant(await factories.building(), name="重复发送测试有限公司"))
    await charges.add_manual_charge(ref, {"fee_item": "management", "amount": "150", "due_date": "2018-05-10",
                                          "reason": "五月物业费"}, FINANCE)
    batch_id = await batches.create_batch({"kind": "arrears", "as_of": "2018-06-01", "min_days": "1",
                                           "send_email": "1"}, GM)
    assert await batches.pending_tenants(batch_id) == [ref.id]
    # a crash after the notice was filed (state 'sending') and before the delivery was recorded
    async with tenant_tx(ref.schema):
        prepared = await notices_issue.prepare(ref, "arrears", local, as_of=dt.date(2018, 6, 1), batch_id=batch_id)
    pdf = await notices_render.render("arrears", prepared.ctx, local)
    async with tenant_tx(ref.schema):
        await notices_issue.store(ref, prepared, pdf, actor=batches.SYSTEM, batch_id=batch_id, emailing=True)
    assert await batches.run_chunk(batch_id, [ref.id], local) == {"done": 1}
    assert sink.messages == []  # maybe delivered before the crash: never sent again automatically
    info = await batches.progress(batch_id)
    assert info["status"] == "done" and info["email_undelivered"] == 1 and info["emailed"] == 0
    # a person resends it, once
    with sent_tasks() as queued:  # the resend is queued after commit; delivered here, not by any worker
        [(tenant_id, notice_id)] = await batches.resend_failed(batch_id, GM)
    assert [name for name, _ in queued] == ["money.email_notice"]
    assert (await notices_mail.deliver(ref, notice_id, local))[0] == "sent"
    assert len(sink.messages) == 1 and (await batches.progress(batch_id))["emailed"] == 1
    assert await batches.resend_failed(batch_id, GM) == []


async def test_resume_is_offered_only_when_it_would_do_something(database, client_factory):
    period = dt.date(1990 + int(uuid.uuid4().int % 30), 1 + int(uuid.uuid4().int % 12), 1)
    run_id = await billing.start_run(period, FINANCE)
    finance = await _signed_in(client_factory, ["finance"])
    resume = f"/console/money/billing/{run_id}/resume"
    try:
        page = await finance.get(f"/console/money/billing/{run_id}")
        assert page.status_code == 200 and resume not in page.text  # alive: nothing to resume
        assert await recovery.claim("billing_run", run_id) == []
        await DB.pool.execute("UPDATE core.billing_run SET heartbeat_at = now() - interval '5 minutes' WHERE id = $1",
                              run_id)
        page = await finance.get(f"/console/money/billing/{run_id}")
        assert "已中断，正在恢复" in page.text and resume in page.text
        assert await recovery.claim("billing_run", run_id) == [run_id]  # what the beat task does
        assert await recovery.claim("billing_run", run_id) == []  # once
        run = await billing.run_progress(run_id)
        assert run["resumes"] == 1 and not run["stalled"] and not run["resumable"]
    finally:  # nobody is going to bill this period
        await DB.pool.execute("UPDATE core.billing_run SET status = 'done' WHERE id = $1", run_id)

    ref = await registry.get_ref(await factories.tenant(await factories.building()))
    await charges.add_manual_charge(ref, {"fee_item": "management", "amount": "99", "due_date": "2017-03-10",
                                          "reason": "三月物业费"}, FINANCE)
    batch_id = await batches.create_batch({"kind": "arrears", "as_of": "2017-04-01", "min_days": "1"}, GM)
    page = await finance.get(f"/console/money/notices/{batch_id}")
    assert f"/notices/{batch_id}/resume" not in page.text and f"/notices/{batch_id}/cancel" in page.text
    await batches.cancel(batch_id, GM)
    page = await finance.get(f"/console/money/notices/{batch_id}")
    assert f"/notices/{batch_id}/resume" in page.text and f"/notices/{batch_id}/cancel" not in page.text
    await batches.resume(batch_id, GM)
    assert (await batches.progress(batch_id))["resumes"] == 1
    await batches.cancel(batch_id, GM)  # leave nothing running for other tests' beat
