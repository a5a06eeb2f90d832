"""Repairs through the services: report -> dispatch (least loaded, on duty,
skill and building) -> accept -> on site -> complete -> confirm and rate;
re-dispatch after decline and timeout; the dispatcher's queue; bad input and
steps out of order refused without saving; another tenant never reaches an order."""

from __future__ import annotations

import pytest

from portal.core.db import DB
from portal.core.errors import Conflict, Forbidden, FormErrors, NotFound
from tenants.scope import tenant_tx
from tenants.servicedesk import dispatch, service
from tests.integration.repairs_support import (  # noqa: F401 (fixture)
    desk, load_of, order_row, run_body, sent_tasks, summary_row, technician,
)

LEAK = {"category": "water", "description": "卫生间水管漏水", "location": "3F 卫生间"}


async def test_report_dispatch_and_the_whole_life_of_an_order(desk, settings):
    a, pa = desk["a"], desk["pa"]
    busy = await technician(desk["b1"]["id"])
    idle = await technician(desk["b1"]["id"])
    await DB.pool.execute("UPDATE core.technician SET open_load = 1 WHERE user_id = $1", busy["id"])
    await technician(desk["b1"]["id"], skills=("lift",))  # wrong skill
    await technician(desk["b1"]["id"], on_shift=False)  # off duty
    await technician(desk["b2"]["id"])  # another building
    with sent_tasks() as sent:
        order = await service.report(a, pa, LEAK)
    assert order["number"].startswith("WX") and order["status"] == "reported"
    assert [s[0] for s in sent] == ["repairs.dispatch"] and sent[0][1] == [a.id, order["id"], 0]
    assert (await summary_row(a.id, order["id"]))["status"] == "reported"

    with sent_tasks() as sent:
        assert await run_body(dispatch.dispatch, a, order["id"], 0) == "dispatched"
        assert await run_body(dispatch.dispatch, a, order["id"], 0) == "skipped"  # redelivered
    assert [s[0] for s in sent] == ["repairs.accept_timeout", "notify.deliver"] and sent[0][2]["countdown"] == 15 * 60
    row = await order_row(a, order["id"])
    assert row["assignee_id"] == idle["id"] and row["status"] == "dispatched"
    assert await load_of(idle["id"]) == 1
    summary = await summary_row(a.id, order["id"])
    assert summary["assignee_id"] == idle["id"] and summary["status"] == "dispatched"

    with pytest.raises(Forbidden):
        await service.accept(a, busy["principal"], order["id"])
    with pytest.raises(Conflict):  # a step out of order
        await service.complete(a, idle["principal"], order["id"], {})
    await service.accept(a, idle["principal"], order["id"])
    assert await run_body(dispatch.timeout, a, order["id"], 0) is False  # accepted: the timeout does nothing
    await service.on_site(a, idle["principal"], order["id"])
    await service.pause(a, idle["principal"], order["id"], {"note": "等配件"})
    assert (await summary_row(a.id, order["id"]))["paused"] is True
    await service.resume(a, idle["principal"], order["id"])
    await service.add_part(a, idle["principal"], order["id"], {"description": "水管接头", "quantity": "2",
                                                               "unit_price": "15.50"})
    await service.complete(a, idle["principal"], order["id"], {"note": "已更换"})
    assert await load_of(idle["id"]) == 0

    with pytest.raises(FormErrors) as refused:
        await service.confirm(a, desk["pa"], order["id"], {"rating": "7"})
    assert "rating" in refused.value.fields
    assert (await order_row(a, order["id"]))["status"] == "completed"
    with pytest.raises(NotFound):
        await service.confirm(a, desk["pb"], order["id"], {"rating": "5"})
    with sent_tasks() as sent:
        await service.confirm(a, pa, order["id"], {"rating": "5", "comment": "很及时"})
    assert [s[0] for s in sent] == ["repairs.file_slip"]
    row = await order_row(a, order["id"])
    assert row["status"] == "closed" and row["rating"] == 5 and row["billable"] is True
    assert await summary_row(a.id, order["id"]) is None
    detail = await service.get_order(a, pa, order["id"])
    kinds = [e["kind"] for e in detail["events"]]
    assert kinds[:3] == ["reported", "dispatched", "accepted"] and "closed" in kinds
    assert detail["parts_total_fen"] == 3100

    from portal.core.roles import Principal, Role
    from tenants.servicedesk import billing

    finance = Principal(kind="staff", user_id=9101, name="财务", roles=frozenset({Role.FINANCE}))
    with pytest.raises(Forbidden):
        await billing.approve_charge(a, busy["principal"], order["id"])
    charge_id = await billing.approve_charge(a, finance, order["id"])
    assert await billing.approve_charge(a, finance, order["id"]) == charge_id  # approved once
    async with tenant_tx(a.schema) as tx:
        assert await tx.connection.fetchval("SELECT amount_fen FROM charge WHERE id = $1", charge_id) == 3100
    assert (await order_row(a, order["id"]))["charge_id"] == charge_id

    from documents.storage import get_storage
    from tenants.servicedesk import slip

    storage = get_storage(settings)
    doc_id = await slip.file_slip(a, order["id"], settings, storage=storage)
    assert doc_id and await slip.file_slip(a, order["id"], settings, storage=storage) is None  # filed once
    assert (await order_row(a, order["id"]))["slip_document_id"] == doc_id
    async with tenant_tx(a.schema) as tx:
        filed = await tx.connection.fetchrow("SELECT category, title FROM document WHERE id = $1", doc_id)
    assert filed["category"] == "repairs" and order["number"] in filed["title"]


async def test_decline_and_timeout_pass_the_order_on_then_the_dispatcher_queue(desk):
    a = desk["a"]
    first = await technician(desk["b1"]["id"])
    second = await technician(desk["b1"]["id"])
    with sent_tasks():
        order = await service.report(a, desk["pa"], LEAK)
        await run_body(dispatch.dispatch, a, order["id"], 0)
    got = (await order_row(a, order["id"]))["assignee_id"]
    other = second if got == first["id"] else first
    mine = first if got == first["id"] else second
    with pytest.raises(FormErrors):
        await service.decline(a, mine["principal"], order["id"], {"note": ""})
    with sent_tasks() as sent:
        await service.decline(a, mine["principal"], order["id"], {"note": "不在附近"})
    assert sent[0][0] == "repairs.dispatch" and sent[0][1] == [a.id, order["id"], 1]
    assert await load_of(mine["id"]) == 0
    with sent_tasks():
        assert await run_body(dispatch.dispatch, a, order["id"], 0) == "skipped"  # an old round
        assert await run_body(dispatch.dispatch, a, order["id"], 1) == "dispatched"
    assert (await order_row(a, order["id"]))["assignee_id"] == other["id"]
    with sent_tasks() as sent:
        assert await run_body(dispatch.timeout, a, order["id"], 1) is True
        assert await run_body(dispatch.timeout, a, order["id"], 1) is False  # redelivered
    assert sent[0][1] == [a.id, order["id"], 2]
    with sent_tasks():
        assert await run_body(dispatch.dispatch, a, order["id"], 2) == "unassigned"  # both passed
    assert (await order_row(a, order["id"]))["status"] == "unassigned"
    assert await DB.pool.fetchval("SELECT count(*) FROM core.audit_log WHERE action = 'repair.unassigned'"
                                  " AND tenant_id = $1", a.id) == 1
    assert (await summary_row(a.id, order["id"]))["status"] == "unassigned"


async def test_bad_reports_are_refused_and_save_nothing(desk):
    a = desk["a"]
    before = await DB.pool.fetchval("SELECT count(*) FROM core.work_order_summary WHERE tenant_id = $1", a.id)
    for raw in ({"category": "water", "description": "  "}, {"category": "roof", "description": "x"},
                {"category": "water", "description": "a\x00b"}, {"category": "water", "description": "x",
                                                                 "unit_id": "99999999"}):
        with pytest.raises(FormErrors):
            await service.report(a, desk["pa"], raw)
    with pytest.raises(NotFound):  # a portal user of another tenant
        await service.report(a, desk["pb"], LEAK)
    after = await DB.pool.fetchval("SELECT count(*) FROM core.work_order_summary WHERE tenant_id = $1", a.id)
    assert after == before


async def test_sla_scan_escalates_then_marks_breaches_and_auto_close(desk):
    import datetime as dt

    from portal.core.workdays import now
    from tenants.servicedesk import scan

    a = desk["a"]
    tech = await technician(desk["b1"]["id"])
    with sent_tasks():
        order = await service.report(a, desk["pa"], {**LEAK, "urgency": "urgent"})
    due = (await summary_row(a.id, order["id"]))["response_due_at"]
    assert due - now() <= dt.timedelta(minutes=15)  # urgent: around the clock
    await scan.sla_scan(due - dt.timedelta(minutes=10))  # within the warning hour
    row = await summary_row(a.id, order["id"])
    assert row["escalation"] == 1 and not row["breached"]
    await scan.sla_scan(due + dt.timedelta(minutes=1))
    row = await summary_row(a.id, order["id"])
    assert row["escalation"] == 2 and row["breached"]
    await scan.sla_scan(due + dt.timedelta(minutes=2))  # escalated once each, not at every scan
    actions = [r["action"] for r in await DB.pool.fetch(
        "SELECT action FROM core.audit_log WHERE tenant_id = $1 AND target = $2 ORDER BY id", a.id,
        f"work_order:{order['id']}")]
    assert actions.count("repair.escalate.dept_head") == 1 and actions.count("repair.escalate.supervisor") == 1

    # Completed and not confirmed for 3 days: closed by the beat task, once.
    with sent_tasks():
        await run_body(dispatch.dispatch, a, order["id"], 0)
    await service.accept(a, tech["principal"], order["id"])
    await service.on_site(a, tech["principal"], order["id"])
    await service.complete(a, tech["principal"], order["id"], {})
    later = now() + dt.timedelta(days=3, minutes=1)
    assert (a.id, order["id"]) in await scan.due_for_auto_close(later)
    with sent_tasks() as sent:
        assert await scan.auto_close_one(a.id, order["id"], later) is True
        assert await scan.auto_close_one(a.id, order["id"], later) is False
    assert [s[0] for s in sent] == ["notify.deliver", "repairs.file_slip"]
    assert (await order_row(a, order["id"]))["status"] == "closed"


async def test_tasks_stay_in_their_tenant(desk):
    """A task given another tenant's id finds no such order there and does nothing."""
    a, b = desk["a"], desk["b"]
    await technician(desk["b1"]["id"])
    with sent_tasks():
        order = await service.report(a, desk["pa"], LEAK)
        other = await service.report(b, desk["pb"], LEAK)
        mine = await run_body(dispatch.dispatch, b, order["id"] + 10_000, 0)
    assert mine == "skipped"
    assert (await order_row(a, order["id"]))["status"] == "reported"
    with pytest.raises(NotFound):  # staff-facing reads are per tenant too
        await service.get_order(b, desk["pa"], other["id"])


async def test_a_dispatch_lost_after_commit_is_swept_up(desk):
    """The broker lost the message (or the worker died with it): the sweep finds
    the order still 'reported' and its dispatch, re-sent, is the same round."""
    import datetime as dt

    from portal.core.workdays import now
    from tenants.servicedesk import scan

    a = desk["a"]
    with sent_tasks():
        order = await service.report(a, desk["pa"], LEAK)  # the dispatch message goes nowhere
    assert (a.id, order["id"], 0) not in await scan.dispatches_to_resend(now())  # too fresh to call lost
    assert (a.id, order["id"], 0) in await scan.dispatches_to_resend(now() + dt.timedelta(minutes=3))
    await technician(desk["b1"]["id"])
    with sent_tasks():
        assert await run_body(dispatch.dispatch, a, order["id"], 0) == "dispatched"
        assert await run_body(dispatch.dispatch, a, order["id"], 0) == "skipped"  # a second copy does nothing
    assert (a.id, order["id"], 0) not in await scan.dispatches_to_resend(now() + dt.timedelta(minutes=3))


async def test_reopen_within_seven_days_dispatches_a_new_round(desk):
    a, pa = desk["a"], desk["pa"]
    tech = await technician(desk["b1"]["id"])
    with sent_tasks():
        order = await service.report(a, pa, LEAK)
        await run_body(dispatch.dispatch, a, order["id"], 0)
    with pytest.raises(Conflict):
        await service.reopen(a, pa, order["id"], {"note": "还在漏"})  # not completed yet
    for step in (service.accept, service.on_site):
        await step(a, tech["principal"], order["id"])
    await service.complete(a, tech["principal"], order["id"], {})
    with sent_tasks():
        await service.confirm(a, pa, order["id"], {})
    with pytest.raises(FormErrors):
        await service.reopen(a, pa, order["id"], {"note": ""})
    with pytest.raises(NotFound):
        await service.reopen(a, desk["pb"], order["id"], {"note": "还在漏"})
    with sent_tasks() as sent:
        await service.reopen(a, pa, order["id"], {"note": "还在漏"})
    row = await order_row(a, order["id"])
    assert row["status"] == "reported" and row["dispatch_round"] == 1 and row["assignee_id"] is None
    assert sent[0][1] == [a.id, order["id"], 1] and (await summary_row(a.id, order["id"]))["status"] == "reported"
    with pytest.raises(FormErrors):
        await service.rate(a, pa, order["id"], {"rating": "0"})


async def test_board_row_keeps_the_running_clocks_due_time_and_pages_in_due_order(desk):
    from portal.core.roles import Role
    from tenants.servicedesk import board
    from tests.integration.repairs_support import principal_of

    a = desk["a"]
    tech = await technician(desk["b1"]["id"])
    with sent_tasks():
        order = await service.report(a, desk["pa"], LEAK)
        await run_body(dispatch.dispatch, a, order["id"], 0)
    row = await summary_row(a.id, order["id"])
    assert row["status"] == "dispatched" and row["due_at"] == row["response_due_at"]
    await service.accept(a, tech["principal"], order["id"])
    row = await summary_row(a.id, order["id"])
    assert row["due_at"] == row["onsite_due_at"]
    await service.pause(a, tech["principal"], order["id"], {"note": "等配件"})
    assert (await summary_row(a.id, order["id"]))["due_at"] is None  # no clock runs while paused
    await service.resume(a, tech["principal"], order["id"])
    row = await summary_row(a.id, order["id"])
    assert row["due_at"] == row["onsite_due_at"] is not None

    with sent_tasks():  # not dispatched: they wait with their response clocks running
        for i in range(board.PER_PAGE):
            await service.report(a, desk["pa"], {**LEAK, "category": ("other", "hvac", "water")[i % 3]})
    dispatcher = principal_of({"id": 0}, Role.DISPATCHER, [desk["b1"]["id"]])
    first = await board.board(dispatcher)
    second = await board.board(dispatcher, page=2)
    assert first["total"] == second["total"] == board.PER_PAGE + 1 and first["pages"] == 2
    shown = first["rows"] + second["rows"]
    assert len(first["rows"]) == board.PER_PAGE and len(second["rows"]) == 1
    assert len({r["order_id"] for r in shown}) == board.PER_PAGE + 1
    due = [r["due_at"] for r in shown]
    assert due == sorted(due) and all(r["tenant_name"] == a.name for r in shown)
    other = principal_of({"id": 0}, Role.DISPATCHER, [desk["b2"]["id"]])
    assert (await board.board(other))["total"] == 0  # another building's dispatcher sees none of them


async def test_an_unassigned_order_is_dispatched_again_once_a_shift_begins(desk):
    import datetime as dt

    from portal.core.workdays import now
    from tenants.servicedesk import scan

    a = desk["a"]
    late = await technician(desk["b1"]["id"], on_shift=False)  # their shift has not begun
    await technician(desk["b2"]["id"])  # on duty, but for another building
    with sent_tasks():
        order = await service.report(a, desk["pa"], LEAK)
        assert await run_body(dispatch.dispatch, a, order["id"], 0) == "unassigned"
    waiting = (a.id, order["id"], 0)
    assert waiting not in await scan.dispatches_to_resend()  # nobody could take it: no futile retries

    today = now().date()
    await DB.pool.execute("INSERT INTO core.technician_shift (user_id, day, starts, ends) VALUES ($1, $2, $3, $4)",
                          late["id"], today, dt.time(0), dt.time(23, 59, 59))
    assert waiting in await scan.dispatches_to_resend()  # the sweep sends its dispatch again
    with sent_tasks():
        assert await run_body(dispatch.dispatch, a, order["id"], 0) == "dispatched"
    assert (await order_row(a, order["id"]))["assignee_id"] == late["id"]
    assert waiting not in await scan.dispatches_to_resend()

    await DB.pool.execute("INSERT INTO core.technician_leave (user_id, starts_on, ends_on) VALUES ($1, $2, $2)",
                          late["id"], today)
    with sent_tasks():
        second = await service.report(a, desk["pa"], LEAK)
        assert await run_body(dispatch.dispatch, a, second["id"], 0) == "unassigned"
    assert (a.id, second["id"], 0) not in await scan.dispatches_to_resend()  # on leave today
