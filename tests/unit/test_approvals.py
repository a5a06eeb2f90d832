"""The approval engine: who may decide, refusals, send-back, deadlines, audit."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from portal.core.roles import Perm, Principal, Role
from portal.core import approvals
from portal.core.approvals import Case, Deadline, Decision, Flow, Outcome, Step
from portal.core.workdays import SHANGHAI, OfficeHours, WorkCalendar
from portal.core.db import DB
from portal.core.errors import Conflict, Forbidden, FormErrors
from tests.conftest import unique

CAL = WorkCalendar(hours=OfficeHours.parse("08:30-12:00,13:30-17:30"))


def staff(user_id: int, *roles: Role) -> Principal:
    return Principal(kind="staff", user_id=user_id, name=f"员工{user_id}", roles=frozenset(roles))


CLERK, CLERK2 = staff(1, Role.CLERK), staff(2, Role.CLERK)
HEAD, HEAD2 = staff(3, Role.DEPT_HEAD), staff(4, Role.DEPT_HEAD)
SUPERVISOR = staff(5, Role.SUPERVISOR)
BOTH = staff(6, Role.DEPT_HEAD, Role.SUPERVISOR)
GM = staff(7, Role.GENERAL_MANAGER)
TENANT_USER = Principal(kind="portal", user_id=1, name="租户", tenant_id=9)


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


# A complaint-like flow: record, head decides, supervisor and GM approve; any step may send back.
FLOW = Flow(
    name="test.flow",
    steps=(
        Step("record", "Record", roles=frozenset({Role.CLERK}), not_requester=False,
             deadline=Deadline(working_hours=0.5)),
        Step("decide", "Decide", roles=frozenset({Role.DEPT_HEAD}), deadline=Deadline(working_days=1)),
        Step("approve", "Approve", roles=frozenset({Role.SUPERVISOR}), not_previous_actor=True,
             deadline=Deadline(working_days=2)),
        Step("sign", "Sign", perm=Perm.BILLING_RUN, roles=frozenset({Role.GENERAL_MANAGER}),
             deadline=Deadline(calendar_hours=24)),
    ),
    send_back=True,
)


def walk(case: Case, *moves) -> Case:
    for principal, decision in moves:
        case = approvals.decide(FLOW, case, principal, decision, reason="因为").after
    return case


def test_happy_path_records_who_decided_each_step():
    case = FLOW.start(requester_id=CLERK.user_id, at=at("2026-03-03 09:00"))
    assert case.step == "record"
    case = walk(case, (CLERK, Decision.APPROVE), (HEAD, "approve"), (SUPERVISOR, "approve"))
    last = approvals.decide(FLOW, case, GM, Decision.APPROVE, at=at("2026-03-05 10:00"))
    assert last.finished and last.after.outcome == Outcome.APPROVED and last.after.step is None
    assert last.after.actors == {"record": 1, "decide": 3, "approve": 5, "sign": 7}
    assert last.before == case  # nothing is changed in place


def test_only_the_steps_roles_and_permission_may_act():
    case = walk(FLOW.start(requester_id=CLERK.user_id), (CLERK, "approve"))
    for who in (CLERK2, SUPERVISOR, GM, TENANT_USER):
        with pytest.raises(Forbidden):
            approvals.decide(FLOW, case, who, Decision.APPROVE)
    case = walk(case, (HEAD, "approve"), (SUPERVISOR, "approve"))
    # The sign step needs both the role and the permission.
    no_perm = Principal(kind="staff", user_id=8, name="x", roles=frozenset({Role.GENERAL_MANAGER}))
    assert approvals.decide(FLOW, case, no_perm, "approve").finished  # GM holds billing.run
    with pytest.raises(Forbidden):
        approvals.decide(FLOW, case, staff(9, Role.FINANCE), "approve")  # permission without the role


def test_nobody_approves_their_own_request():
    case = walk(FLOW.start(requester_id=HEAD.user_id), (CLERK, "approve"))
    with pytest.raises(Forbidden, match="second person"):
        approvals.decide(FLOW, case, HEAD, Decision.APPROVE)
    with pytest.raises(Forbidden):  # nor refuses it (that is withdrawing, a different thing)
        approvals.decide(FLOW, case, HEAD, Decision.REJECT, reason="no")
    assert approvals.decide(FLOW, case, HEAD2, Decision.APPROVE).after.step == "approve"


def test_a_portal_requester_does_not_block_the_staff_member_with_the_same_id():
    case = walk(FLOW.start(requester_id=HEAD.user_id, requester_kind="portal"), (CLERK, "approve"))
    assert approvals.decide(FLOW, case, HEAD, "approve").after.step == "approve"


def test_the_previous_steps_person_may_not_decide_the_next():
    case = walk(FLOW.start(requester_id=CLERK.user_id), (CLERK, "approve"), (BOTH, "approve"))
    with pytest.raises(Forbidden, match="previous step"):
        approvals.decide(FLOW, case, BOTH, Decision.APPROVE)
    assert approvals.decide(FLOW, case, SUPERVISOR, "approve").after.step == "sign"


def test_rejection_needs_a_reason_and_ends_the_flow():
    case = walk(FLOW.start(requester_id=CLERK.user_id), (CLERK, "approve"), (HEAD, "approve"))
    with pytest.raises(FormErrors) as exc:
        approvals.decide(FLOW, case, SUPERVISOR, Decision.REJECT, reason="   ")
    assert list(exc.value.fields) == ["reason"]
    rejected = approvals.decide(FLOW, case, SUPERVISOR, Decision.REJECT, reason="证据不足")
    assert rejected.finished and rejected.after.outcome == Outcome.REJECTED and rejected.reason == "证据不足"
    for decision in Decision:
        with pytest.raises(Conflict):
            approvals.decide(FLOW, rejected.after, GM, decision, reason="x")


def test_rejection_at_the_first_and_the_last_step():
    first = approvals.decide(FLOW, FLOW.start(requester_id=9), CLERK, "reject", reason="不成立")
    assert first.after.outcome == Outcome.REJECTED and first.after.actors == {"record": 1}
    case = walk(FLOW.start(requester_id=9), (CLERK, "approve"), (HEAD, "approve"), (SUPERVISOR, "approve"))
    assert approvals.decide(FLOW, case, GM, "reject", reason="超出权限").after.outcome == Outcome.REJECTED


def test_send_back_to_the_step_before_or_an_earlier_one():
    case = walk(FLOW.start(requester_id=9), (CLERK, "approve"), (HEAD, "approve"), (SUPERVISOR, "approve"))
    with pytest.raises(FormErrors):
        approvals.decide(FLOW, case, GM, Decision.SEND_BACK)  # no reason
    back = approvals.decide(FLOW, case, GM, Decision.SEND_BACK, reason="补充材料", at=at("2026-03-04 10:00"))
    assert back.after.step == "approve" and back.after.outcome == Outcome.PENDING
    assert back.after.step_started_at == at("2026-03-04 10:00")
    assert back.after.actors == {"record": 1, "decide": 3}
    far = approvals.decide(FLOW, case, GM, Decision.SEND_BACK, reason="重新认定", to_step="decide")
    assert far.after.step == "decide" and far.after.actors == {"record": 1}
    # The case then runs forward again, with the same rules.
    again = approvals.decide(FLOW, far.after, HEAD2, "approve").after
    assert approvals.decide(FLOW, again, SUPERVISOR, "approve").after.step == "sign"


def test_send_back_refusals():
    case = walk(FLOW.start(requester_id=9), (CLERK, "approve"), (HEAD, "approve"))
    for bad in ("approve", "sign", "nonsense"):
        with pytest.raises(FormErrors):
            approvals.decide(FLOW, case, SUPERVISOR, Decision.SEND_BACK, reason="x", to_step=bad)
    with pytest.raises(Conflict):  # nothing before the first step
        approvals.decide(FLOW, FLOW.start(requester_id=9), CLERK, Decision.SEND_BACK, reason="x")
    single = Flow("test.single", (Step("approve", "Approve", perm=Perm.MONEY_APPROVE),))
    with pytest.raises(Conflict):  # the flow does not allow it
        approvals.decide(single, single.start(requester_id=9), GM, Decision.SEND_BACK, reason="x")


def test_a_stale_form_and_an_unknown_decision_are_refused():
    case = walk(FLOW.start(requester_id=9), (CLERK, "approve"))
    with pytest.raises(Conflict):
        approvals.decide(FLOW, case, HEAD, Decision.APPROVE, expected_step="record")
    with pytest.raises(FormErrors):
        approvals.decide(FLOW, case, HEAD, "maybe")
    assert approvals.decide(FLOW, case, HEAD, "approve", expected_step="decide").after.step == "approve"


def test_flows_and_deadlines_are_checked_when_declared():
    with pytest.raises(ValueError):
        Flow("test.dup", (Step("a", "A"), Step("a", "A")))
    with pytest.raises(ValueError):
        Deadline()
    with pytest.raises(ValueError):
        Deadline(working_days=1, working_hours=2)


def test_deadlines_in_working_hours_working_days_and_calendar_hours():
    # Recorded on the eve of National Day: half an office hour, then the holiday week.
    case = FLOW.start(requester_id=9, at=at("2026-09-30 17:15"))
    assert approvals.due_at(FLOW, case, CAL) == at("2026-10-08 08:45")
    case = approvals.decide(FLOW, case, CLERK, "approve", at=at("2026-09-30 17:20")).after
    assert approvals.due_at(FLOW, case, CAL) == at("2026-10-08 17:30")  # 1 working day: close of office
    case = approvals.decide(FLOW, case, HEAD, "approve", at=at("2026-10-09 11:00")).after
    assert approvals.due_at(FLOW, case, CAL) == at("2026-10-12 17:30")  # Sat 10-10 is a make-up day
    case = approvals.decide(FLOW, case, SUPERVISOR, "approve", at=at("2026-10-09 16:00")).after
    assert approvals.due_at(FLOW, case, CAL) == at("2026-10-10 16:00")  # calendar hours
    done = approvals.decide(FLOW, case, GM, "approve").after
    assert approvals.due_at(FLOW, done, CAL) is None


def test_overdue_lists_late_steps_most_overdue_first():
    fresh = FLOW.start(requester_id=9, at=at("2026-03-03 09:00"))
    older = FLOW.start(requester_id=9, at=at("2026-03-02 09:00"))
    deciding = approvals.decide(FLOW, fresh, CLERK, "approve", at=at("2026-03-03 09:10")).after
    finished = approvals.decide(FLOW, fresh, CLERK, "reject", reason="x").after
    no_deadline = Flow("test.free", (Step("a", "A"),)).start(requester_id=9, at=at("2026-01-01 09:00"))
    cases = [("fresh", fresh), ("older", older), ("deciding", deciding), ("finished", finished),
             ("free", no_deadline)]
    late = approvals.overdue(FLOW, cases[:4], CAL, at=at("2026-03-03 10:00"))
    assert [(o.key, o.step.name) for o in late] == [("older", "record"), ("fresh", "record")]
    assert late[0].due_at == at("2026-03-02 09:30")
    assert approvals.overdue(FLOW, cases[:4], CAL, at=at("2026-03-03 09:20")) == [late[0]]
    assert [o.key for o in approvals.overdue(FLOW, cases[:4], CAL, at=at("2026-03-05 09:00"))] == [
        "older", "fresh", "deciding"]


async def test_each_decision_writes_one_audit_row(database):
    target = unique("case:")
    case = FLOW.start(requester_id=9)
    async with DB.transaction():
        for principal, decision in ((CLERK, "approve"), (HEAD, "approve"), (SUPERVISOR, "send_back")):
            step = approvals.decide(FLOW, case, principal, decision, reason="说明")
            await approvals.record(step, principal, target=target, detail={"extra": 1})
            case = step.after
    rows = await DB.pool.fetch("SELECT action, actor_id, detail FROM core.audit_log WHERE target = $1 ORDER BY id",
                               target)
    assert [(r["action"], r["actor_id"]) for r in rows] == [
        ("test.flow.approve", 1), ("test.flow.approve", 3), ("test.flow.send_back", 5)]
    last = json.loads(rows[-1]["detail"])
    assert last == {"step": "approve", "reason": "说明", "next_step": "decide", "outcome": "pending", "extra": 1}
