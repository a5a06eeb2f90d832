"""The nine-step complaint flow on the approval engine: the whole walk by the
right people, every refusal path, no self-approval, send-back, the polite
reply that closes a complaint that does not stand, grades and the legal-hold
flag, the core summary row, bad input saving nothing."""

from __future__ import annotations

import datetime as dt

import pytest

from portal.core.db import DB
from portal.core.errors import Conflict, Forbidden, FormErrors, NotFound
from portal.core.roles import Principal, Role
from tenants.complaints import service
from tenants.registry import service as registry
from tenants.scope import tenant_tx
from tests import factories


def person(staff: dict, *roles: str, buildings=()) -> Principal:
    return Principal(kind="staff", user_id=staff["id"], name=staff["username"],
                     roles=frozenset(Role(r) for r in roles), building_ids=frozenset(buildings))


@pytest.fixture
async def office(database):
    bld = await factories.building()
    ref = await registry.get_ref(await factories.tenant(bld))
    b = [bld["id"]]
    people = {
        "clerk": person(await factories.staff(["clerk"], b), "clerk", buildings=b),
        "clerk2": person(await factories.staff(["clerk"], b), "clerk", buildings=b),
        "head": person(await factories.staff(["dept_head"], b), "dept_head", buildings=b),
        "supervisor": person(await factories.staff(["supervisor"]), "supervisor"),
        "gm": person(await factories.staff(["general_manager"]), "general_manager"),
        "archivist": person(await factories.staff(["archivist"]), "archivist"),
    }
    user = await factories.portal_user(ref.id)
    people["tenant"] = Principal(kind="portal", user_id=user["id"], name="租户用户", tenant_id=ref.id)
    return ref, people


NEW = {"channel": "phone", "complainant": "王先生", "contact": "wang@example.com", "against": "保洁",
       "description": "走廊连续三天没有打扫", "request": "恢复每日保洁", "grade": "general"}

STEP_DATA = {
    "stands": {},
    "assign": {"department": "保洁部"},
    "cause": {"cause": "排班缺人", "responsible": "赵主管"},
    "remedy": {"remedy_kind": "discount", "remedy": "当月物业费减免", "remedy_amount": "200.00"},
    "supervisor": {},
    "gm": {},
    "carry_out": {"reply": "已恢复每日保洁并减免当月费用，感谢您的监督。", "feedback": "满意"},
    "review": {"follow_up": "48小时内回访，租户满意", "lessons": "排班需留备员"},
}


async def _row(ref, complaint_id):
    async with tenant_tx(ref.schema) as tx:
        return await tx.connection.fetchrow("SELECT * FROM complaint WHERE id = $1", complaint_id)


async def _core(ref, complaint_id):
    return await DB.pool.fetchrow("SELECT * FROM core.complaint_case WHERE tenant_id = $1 AND complaint_id = $2",
                                  ref.id, complaint_id)


async def _approve(ref, cid, who, step):
    return await service.decide(ref, cid, {"decision": "approve", "expected_step": step, **STEP_DATA[step]}, who)


async def test_nine_steps_by_the_right_people(office):
    ref, p = office
    cid = await service.lodge(ref, NEW, p["clerk"])
    row = await _row(ref, cid)
    assert row["step"] == "stands" and row["number"].startswith("TS")
    for step, who in [("stands", "clerk"), ("assign", "clerk"), ("cause", "clerk2"), ("remedy", "clerk"),
                      ("supervisor", "supervisor"), ("gm", "gm"), ("carry_out", "clerk"), ("review", "clerk2")]:
        core = await _core(ref, cid)
        assert core["step"] == step and core["closed_at"] is None and core["due_at"] is not None
        await _approve(ref, cid, p[who], step)
    row = await _row(ref, cid)
    assert row["status"] == "closed" and row["step"] is None and row["closed_at"] is not None
    assert row["department"] == "保洁部" and row["remedy_fen"] == 20000 and row["lessons"] == "排班需留备员"
    assert (await _core(ref, cid))["closed_at"] is not None
    async with tenant_tx(ref.schema) as tx:
        steps = await tx.connection.fetch("SELECT step, decision FROM complaint_step WHERE complaint_id = $1"
                                          " ORDER BY id", cid)
    assert [(s["step"], s["decision"]) for s in steps][:2] == [("record", "record"), ("record", "approve")]
    assert len(steps) == 10
    actions = await DB.pool.fetch("SELECT action FROM core.audit_log WHERE target = $1 ORDER BY id",
                                  f"complaint:{row['number']}")
    assert [a["action"] for a in actions].count("complaint.approve") == 9
    # The tenant sees the reply and the status, never the internal steps.
    seen = await service.read(ref, cid, p["tenant"])
    assert seen["public_status"] == "closed" and "steps" not in seen and "cause" not in seen
    assert seen["reply"].startswith("已恢复")


async def test_no_self_approval_and_role_refusals(office):
    ref, p = office
    # The supervisor records a complaint: he may not approve its remedy himself.
    cid = await service.lodge(ref, NEW, p["supervisor"])
    for step in ("stands", "assign", "cause", "remedy"):
        await _approve(ref, cid, p["clerk"], step)
    with pytest.raises(Forbidden):
        await _approve(ref, cid, p["supervisor"], "supervisor")
    cid = await service.lodge(ref, NEW, p["clerk"])
    for step in ("stands", "assign", "cause"):
        await _approve(ref, cid, p["clerk"], step)
    # A supervisor proposes the remedy: he may not approve it at the next step.
    await _approve(ref, cid, p["supervisor"], "remedy")
    with pytest.raises(Forbidden):
        await _approve(ref, cid, p["supervisor"], "supervisor")
    # Only a supervisor decides step 6; only the general manager step 7.
    for who in ("clerk", "head", "gm", "archivist"):
        with pytest.raises(Forbidden):
            await _approve(ref, cid, p[who], "supervisor")
    other_supervisor = person(await factories.staff(["supervisor"]), "supervisor")
    await _approve(ref, cid, other_supervisor, "supervisor")
    with pytest.raises(Forbidden):
        await _approve(ref, cid, other_supervisor, "gm")
    with pytest.raises(Forbidden):
        await _approve(ref, cid, p["supervisor"], "gm")
    # A tenant's portal user never decides a step.
    with pytest.raises(Forbidden):
        await _approve(ref, cid, p["tenant"], "gm")
    # A stale form (the step moved on) is refused.
    with pytest.raises(Conflict):
        await _approve(ref, cid, p["gm"], "remedy")
    assert (await _row(ref, cid))["step"] == "gm"


async def test_serious_and_major_grades_are_led_by_head_and_management(office):
    ref, p = office
    serious = await service.lodge(ref, {**NEW, "grade": "serious"}, p["clerk"])
    with pytest.raises(Forbidden):
        await _approve(ref, serious, p["clerk"], "stands")
    await _approve(ref, serious, p["head"], "stands")
    major = await service.lodge(ref, {**NEW, "grade": "major"}, p["clerk"])
    with pytest.raises(Forbidden):
        await _approve(ref, major, p["head"], "stands")
    await _approve(ref, major, p["gm"], "stands")
    row = await _row(ref, major)
    assert row["legal_hold_requested"] and (await _core(ref, major))["legal_hold_requested"]
    assert not (await _row(ref, serious))["legal_hold_requested"]


async def test_send_back_with_reason_and_to_an_earlier_step_only(office):
    ref, p = office
    cid = await service.lodge(ref, NEW, p["clerk"])
    for step in ("stands", "assign", "cause", "remedy"):
        await _approve(ref, cid, p["clerk"], step)
    with pytest.raises(FormErrors) as refused:
        await service.decide(ref, cid, {"decision": "send_back", "expected_step": "supervisor"}, p["supervisor"])
    assert "note" in refused.value.fields
    with pytest.raises(FormErrors):
        await service.decide(ref, cid, {"decision": "send_back", "to_step": "gm", "note": "x"}, p["supervisor"])
    await service.decide(ref, cid, {"decision": "send_back", "to_step": "cause", "note": "原因分析不充分"},
                         p["supervisor"])
    row = await _row(ref, cid)
    assert row["step"] == "cause"
    async with tenant_tx(ref.schema) as tx:
        last = await tx.connection.fetchrow("SELECT * FROM complaint_step ORDER BY id DESC LIMIT 1")
    assert (last["decision"], last["to_step"], last["note"]) == ("send_back", "cause", "原因分析不充分")
    # The steps from 'cause' on are decided again.
    await _approve(ref, cid, p["clerk"], "cause")
    await _approve(ref, cid, p["clerk2"], "remedy")
    await _approve(ref, cid, p["supervisor"], "supervisor")


async def test_not_upheld_closes_with_a_polite_reply(office):
    ref, p = office
    cid = await service.lodge(ref, NEW, p["clerk"])
    with pytest.raises(FormErrors):
        await service.decide(ref, cid, {"decision": "reject"}, p["clerk"])
    await service.decide(ref, cid, {"decision": "reject", "note": "经核实保洁按计划进行，感谢您的反馈。"}, p["clerk"])
    row = await _row(ref, cid)
    assert row["status"] == "not_upheld" and row["reply"].startswith("经核实") and row["closed_at"]
    with pytest.raises(Conflict):
        await _approve(ref, cid, p["clerk"], "assign")
    seen = await service.read(ref, cid, p["tenant"])
    assert seen["public_status"] == "not_upheld" and seen["reply"]


async def test_reject_only_where_the_complaint_can_be_closed(office):
    ref, p = office
    cid = await service.lodge(ref, NEW, p["clerk"])
    await _approve(ref, cid, p["clerk"], "stands")
    with pytest.raises(FormErrors):
        await service.decide(ref, cid, {"decision": "reject", "note": "不成立"}, p["clerk"])
    assert (await _row(ref, cid))["status"] == "open"


async def test_bad_input_is_refused_and_saves_nothing(office):
    ref, p = office
    async with tenant_tx(ref.schema) as tx:
        before = await tx.connection.fetchval("SELECT count(*) FROM complaint")
    for bad in ({**NEW, "description": "  "}, {**NEW, "channel": "pigeon"}, {**NEW, "grade": "extreme"},
                {**NEW, "complainant": ""}, {**NEW, "description": "a\x00b"}, {**NEW, "against": "x" * 300}):
        with pytest.raises(FormErrors):
            await service.lodge(ref, bad, p["clerk"])
    async with tenant_tx(ref.schema) as tx:
        assert await tx.connection.fetchval("SELECT count(*) FROM complaint") == before
    cid = await service.lodge(ref, NEW, p["clerk"])
    for step in ("stands", "assign", "cause"):
        await _approve(ref, cid, p["clerk"], step)
    for bad in ({"decision": "approve", "remedy_kind": "discount", "remedy": "减免"},
                {"decision": "approve", "remedy_kind": "discount", "remedy": "减免", "remedy_amount": "-5"},
                {"decision": "approve", "remedy_kind": "bribe", "remedy": "x"},
                {"decision": "maybe"}):
        with pytest.raises(FormErrors):
            await service.decide(ref, cid, bad, p["clerk"])
    assert (await _row(ref, cid))["step"] == "remedy"
    with pytest.raises(NotFound):
        await service.decide(ref, 2_147_480_000, {"decision": "approve"}, p["clerk"])
    with pytest.raises(NotFound):
        await service.read(ref, 10**12, p["clerk"])


async def test_portal_complaint_waits_for_staff_to_record_it(office):
    ref, p = office
    cid = await service.lodge(ref, {"description": "空调不制冷已投诉两次", "channel": "visit", "grade": "major"},
                              p["tenant"])
    row = await _row(ref, cid)
    assert (row["step"], row["channel"], row["grade"], row["lodged_by_kind"]) == ("record", "portal", "general",
                                                                                  "portal")
    assert (await service.read(ref, cid, p["tenant"]))["public_status"] == "received"
    await service.decide(ref, cid, {"decision": "approve", "grade": "serious"}, p["clerk"])
    row = await _row(ref, cid)
    assert (row["step"], row["grade"]) == ("stands", "serious")
    # Another tenant's portal user cannot lodge into this tenant.
    bld = await factories.building()
    other = await registry.get_ref(await factories.tenant(bld))
    with pytest.raises(NotFound):
        await service.lodge(other, NEW, p["tenant"])


async def test_the_remedy_proposer_approves_it_at_neither_approval_step(office):
    ref, p = office
    cid = await service.lodge(ref, NEW, p["clerk"])
    for step in ("stands", "assign", "cause"):
        await _approve(ref, cid, p["clerk"], step)
    await _approve(ref, cid, p["gm"], "remedy")  # the general manager proposes the remedy himself
    await _approve(ref, cid, p["supervisor"], "supervisor")
    with pytest.raises(Forbidden):
        await _approve(ref, cid, p["gm"], "gm")
    assert (await _row(ref, cid))["step"] == "gm"
    # The case page does not offer him the form either.
    assert not (await service.read(ref, cid, p["gm"]))["may_act"]


async def test_drift_hook_rewrites_a_wrong_core_row(office):
    from tenants.complaints import hooks

    ref, p = office
    cid = await service.lodge(ref, NEW, p["clerk"])
    await DB.pool.execute("UPDATE core.complaint_case SET step = 'gm' WHERE tenant_id = $1 AND complaint_id = $2",
                          ref.id, cid)
    async with tenant_tx(ref.schema) as tx:
        found = await hooks.drift(tx.connection, ref.id, True)
    assert found["complaints"]["differing"] == 1
    assert (await _core(ref, cid))["step"] == "stands"
    async with tenant_tx(ref.schema) as tx:
        assert await hooks.drift(tx.connection, ref.id, False) == {}
