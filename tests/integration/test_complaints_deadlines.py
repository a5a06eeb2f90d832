"""Complaint deadlines on the working-day engine (fixed dates in 2026, across
the National Day week, its make-up Saturday and the make-up Sunday before
Mid-Autumn), escalation by the beat task (flag, department head, then the
supervisor; each level once), and the follow-up tasks on a real worker: the
card filed once in the right tenant's archive, the e-mail sent once."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import json

import pytest

from portal.core.db import DB
from portal.core.roles import Principal, Role
from portal.core.workdays import SHANGHAI, WorkCalendar
from tasks.runner import TenantGone
from tenants.complaints import flow, mail, service, summary
from tenants.registry import service as registry
from tenants.scope import tenant_tx
from tests import factories
from tests.followups import sent_tasks
from tests.integration.money_support import archive_storage, smtp_sink  # noqa: F401 (fixtures)


def at(month: int, day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI)


def due(grade: str, step: str, started: dt.datetime) -> dt.datetime:
    return flow.FLOWS[grade].step(step).deadline.due(started, WorkCalendar())


def test_deadlines_count_working_days_and_hours_of_2026():
    # First response: 30 minutes of office time; 10 left on the eve of National Day, 20 after it.
    assert due("general", "record", at(9, 30, 17, 20)) == at(10, 8, 8, 50)
    # The answer: 24 hours around the clock, holidays or not.
    assert due("general", "stands", at(10, 1, 10)) == at(10, 2, 10)
    # General: one working day; the holiday week does not count.
    assert due("general", "assign", at(9, 30, 10)) == at(10, 8, 17, 30)
    # Serious: the remedy within two working days.
    assert due("serious", "remedy", at(9, 30, 10)) == at(10, 9, 17, 30)
    assert due("general", "remedy", at(9, 30, 10)) == at(10, 8, 17, 30)
    # Carried out within five working days: Saturday 10 October is a make-up working day.
    assert due("major", "carry_out", at(9, 28, 10)) == at(10, 10, 17, 30)
    # Sunday 20 September is a make-up working day; Friday 25 September is Mid-Autumn.
    assert due("general", "cause", at(9, 18, 15)) == at(9, 20, 17, 30)
    assert due("general", "cause", at(9, 24, 15)) == at(9, 28, 17, 30)
    # The follow-up: 48 hours after resolution.
    assert due("general", "review", at(10, 1, 10)) == at(10, 3, 10)


@pytest.fixture
async def office(database):
    bld = await factories.building()
    ref = await registry.get_ref(await factories.tenant(bld))
    clerk = await factories.staff(["clerk"], [bld["id"]])
    user = await factories.portal_user(ref.id)
    return ref, {
        "clerk": Principal(kind="staff", user_id=clerk["id"], name="前台", roles=frozenset({Role.CLERK}),
                           building_ids=frozenset({bld["id"]})),
        "tenant": Principal(kind="portal", user_id=user["id"], name="租户用户", tenant_id=ref.id),
    }


async def _core(ref, cid):
    return await DB.pool.fetchrow("SELECT * FROM core.complaint_case WHERE tenant_id = $1 AND complaint_id = $2",
                                  ref.id, cid)


async def _escalations(number: str) -> list[dict]:
    rows = await DB.pool.fetch("SELECT detail FROM core.audit_log WHERE action = 'complaint.escalate'"
                               " AND target = $1 ORDER BY id", f"complaint:{number}")
    return [json.loads(r["detail"]) if isinstance(r["detail"], str) else r["detail"] for r in rows]


async def test_escalation_across_the_national_day_week(office):
    ref, p = office
    cid = await service.lodge(ref, {"description": "电梯停运无人处理"}, p["tenant"], at=at(9, 30, 17, 20))
    row = await _core(ref, cid)
    assert row["due_at"] == at(10, 8, 8, 50) and row["progress_due_at"] == at(10, 8, 17, 20)
    # Nothing is late during the holiday week.
    assert await summary.escalate(at(10, 5, 12)) == 0
    assert not (await _core(ref, cid))["overdue"]
    # One minute past the first-response deadline: flagged, the department head is told, once.
    await summary.escalate(at(10, 8, 8, 51))
    await summary.escalate(at(10, 8, 9, 30))
    row = await _core(ref, cid)
    assert row["overdue"] and row["escalation"] == 1
    assert [e["to"] for e in await _escalations(row["number"])] == ["dept_head"]
    # A day later, still untouched: the supervisor.
    await summary.escalate(at(10, 9, 9))
    assert (await _core(ref, cid))["escalation"] == 2
    assert [e["to"] for e in await _escalations(row["number"])] == ["dept_head", "supervisor"]
    # The console list shows it first, flagged, to staff of the building only.
    from tenants.complaints import queries

    rows, _ = await queries.console_cases(p["clerk"], overdue_only=True)
    assert rows[0]["complaint_id"] == cid and rows[0]["tenant_id"] == ref.id
    outsider = Principal(kind="staff", user_id=1, name="x", roles=frozenset({Role.CLERK}),
                         building_ids=frozenset({10**6}))
    assert (await queries.console_cases(outsider))[0] == []
    # Acting on the step clears the flag and starts the next clock (24 h for the answer).
    await service.decide(ref, cid, {"decision": "approve"}, p["clerk"], at=at(10, 9, 9, 10))
    row = await _core(ref, cid)
    assert (row["overdue"], row["escalation"], row["step"]) == (False, 0, "stands")
    assert row["due_at"] == at(10, 10, 9, 10)


async def test_closed_cases_never_escalate(office):
    ref, p = office
    cid = await service.lodge(ref, {"description": "噪音", "complainant": "王", "channel": "phone"}, p["clerk"],
                              at=at(9, 28, 9))
    await service.decide(ref, cid, {"decision": "reject", "note": "经核实为正常施工，已提前公告。"}, p["clerk"],
                         at=at(9, 28, 10))
    assert await summary.escalate(at(12, 1, 9)) >= 0
    row = await _core(ref, cid)
    assert row["closed_at"] is not None and not row["overdue"]


async def test_card_filed_once_by_a_real_worker_in_the_right_archive(office, celery_app, celery_worker,
                                                                     archive_storage):
    ref, p = office
    cid = await service.lodge(ref, {"description": "停车位被占", "complainant": "王", "channel": "visit"},
                              p["clerk"])
    await service.decide(ref, cid, {"decision": "reject", "note": "车位为公共车位，已向您说明。"}, p["clerk"])
    first = celery_app.send_task("complaints.file_card", args=[ref.id, cid]).get(timeout=120)
    again = celery_app.send_task("complaints.file_card", args=[ref.id, cid]).get(timeout=120)
    assert first is not None and again == first
    async with tenant_tx(ref.schema) as tx:
        docs = await tx.connection.fetch("SELECT id, category, visible_to_tenant FROM document"
                                         " WHERE category = 'complaints'")
        assert await tx.connection.fetchval("SELECT card_document_id FROM complaint WHERE id = $1", cid) == first
    assert [(d["id"], d["category"], d["visible_to_tenant"]) for d in docs] == [(first, "complaints", False)]
    # Another tenant's id with this complaint id files nothing there.
    other = await registry.get_ref(await factories.tenant(await factories.building()))
    assert celery_app.send_task("complaints.file_card", args=[other.id, cid]).get(timeout=120) is None
    async with tenant_tx(other.schema) as tx:
        assert await tx.connection.fetchval("SELECT count(*) FROM document") == 0
    with pytest.raises(TenantGone):
        celery_app.send_task("complaints.file_card", args=[987654321, cid]).get(timeout=60)
    # The beat's escalation scan runs on the worker too (core rows only).
    assert isinstance(celery_app.send_task("complaints.escalate").get(timeout=60), int)


async def test_tenant_mail_goes_once_to_the_complainant(office, settings, smtp_sink):
    controller, sink = smtp_sink
    local = settings.with_(smtp_host="127.0.0.1", smtp_port=controller.port)
    ref, p = office
    with sent_tasks():  # the services' own mail follow-ups are kept from any worker the session runs
        cid = await service.lodge(ref, {"description": "前台态度差", "contact": "me@tenant.example"}, p["tenant"])
    assert await mail.notify(ref, cid, "received", local) == "sent"
    assert await mail.notify(ref, cid, "received", local) == "already"
    assert len(sink.messages) == 1 and sink.messages[0].rcpt_tos == ["me@tenant.example"]
    # Without an address on the complaint, the tenant's notice contacts get the reply.
    with sent_tasks():
        cid2 = await service.lodge(ref, {"description": "前台态度差", "complainant": "王", "channel": "phone"},
                                   p["clerk"])
        await service.decide(ref, cid2, {"decision": "reject", "note": "已核实并致歉。"}, p["clerk"])
    assert await mail.notify(ref, cid2, "reply", local) == "sent"
    assert sink.messages[-1].rcpt_tos == ["lisi@example.com"]
    body = email.message_from_bytes(sink.messages[-1].original_content, policy=email.policy.default)
    assert "已核实并致歉" in body.get_content() and body["Subject"]
