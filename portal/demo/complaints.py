"""Demo complaints: a handful of tenants of building 1 with complaints at
several steps and grades (one waiting for its first response from the portal,
one overdue and escalated, one with the supervisor, one major with the legal-hold
flag, one found not to stand, one closed with its card), made through the
same services as the product (``tenants.complaints.service``) by the demo staff.
A tenant that already has complaints is skipped (a resumed load adds none twice)."""

from __future__ import annotations

import datetime as dt

from portal.accounts.tables import StaffUser
from portal.core.roles import Principal
from portal.core.workdays import now
from portal.demo.plan import STAFF, Plan
from tenants.complaints import service, summary
from tenants.complaints.tables import Complaint
from tenants.registry import service as registry
from tenants.scope import tenant_tx

STEP_DATA = {
    "record": {}, "stands": {}, "supervisor": {}, "gm": {},
    "assign": {"department": "客户服务部"},
    "cause": {"cause": "保洁排班人手不足，周末无人值守", "responsible": "保洁主管 何伟"},
    "remedy": {"remedy_kind": "discount", "remedy": "减免当月物业管理费 10%，增加周末保洁班次", "remedy_amount": "850.00"},
    "carry_out": {"reply": "您好，经核实确属我方保洁排班不足。已增加周末班次，并减免当月物业管理费 10%。感谢您的监督。",
                  "feedback": "租户表示满意"},
    "review": {"follow_up": "48 小时内电话回访，租户确认保洁已恢复正常", "lessons": "节假日排班需预留备员；每周抽查保洁记录"},
}
# Who decides each step in the demo (usernames of demo.plan.STAFF).
DECIDER = {"record": "clerk", "stands": "clerk", "assign": "depthead", "cause": "depthead", "remedy": "depthead",
           "supervisor": "supervisor", "gm": "manager", "carry_out": "clerk", "review": "clerk"}
SERIOUS_DECIDER = {**DECIDER, "stands": "depthead"}
MAJOR_DECIDER = {**DECIDER, "stands": "manager", "assign": "supervisor", "cause": "supervisor",
                 "remedy": "manager", "gm": "manager", "supervisor": "supervisor"}

# (grade, channel, against, description, request, steps to complete, days ago lodged)
CASES = (
    ("general", "portal", "保洁", "走廊和卫生间连续三天没有打扫，垃圾桶满溢。", "恢复每日保洁", 0, 0),
    ("general", "phone", "停车场管理", "访客车辆被保安拒绝入内，耽误了客户会面。", "说明原因并改进", 2, 6),
    ("serious", "visit", "空调系统", "办公室空调一周不制冷，多次报修未解决。", "尽快修复并减免费用", 5, 3),
    ("major", "letter", "装修施工", "隔壁装修噪音和粉尘严重影响办公，员工身体不适。", "停工整改并赔偿损失", 2, 1),
    ("general", "phone", "电梯", "早高峰电梯等候时间过长。", "增加运行电梯", -1, 4),
    ("general", "email", "保洁", "周末无人保洁，周一垃圾堆积。", "增加周末保洁", 9, 12),
)


async def _staff() -> dict[str, Principal]:
    rows = await StaffUser.select(StaffUser.id, StaffUser.username, StaffUser.display_name).where(
        StaffUser.username.is_in([p.username for p in STAFF])).run()
    by_name = {p.username: p for p in STAFF}
    return {r["username"]: Principal(kind="staff", user_id=r["id"], name=r["display_name"],
                                     roles=frozenset({by_name[r["username"]].role}), building_ids=frozenset())
            for r in rows}


async def load_complaints(plan: Plan, tenant_ids: dict[int, int], portal_users: dict[int, Principal]) -> int:
    people = await _staff()
    tenants = [t for t in plan.tenants if t.building == 1][:len(CASES)]
    made = 0
    start = now()
    for tenant, (grade, channel, against, description, request, steps, days) in zip(tenants, CASES):
        ref = await registry.get_ref(tenant_ids[tenant.number])
        async with tenant_tx(ref.schema):
            if await Complaint.exists().run():
                continue
        lodged = start - dt.timedelta(days=days, hours=1)
        raw = {"channel": channel, "complainant": tenant.portal_name, "against": against,
               "description": description, "request": request, "grade": grade}
        who = portal_users[tenant.number] if channel == "portal" else people["clerk"]
        complaint_id = await service.lodge(ref, raw, who, at=lodged)
        deciders = {"major": MAJOR_DECIDER, "serious": SERIOUS_DECIDER}.get(grade, DECIDER)
        moment = lodged
        if steps < 0:  # found not to stand
            await service.decide(ref, complaint_id, {"decision": "reject", "note": (
                "您好，经核实早高峰四部电梯均正常运行，平均等候约 90 秒。我们将在大堂增加引导人员，感谢您的建议。")},
                people["clerk"], at=moment + dt.timedelta(hours=2))
        for _ in range(max(steps, 0)):
            row = await service.read(ref, complaint_id, people["clerk"])
            if row["step"] is None:
                break
            moment += dt.timedelta(hours=3)
            await service.decide(ref, complaint_id, {"decision": "approve", **STEP_DATA[row["step"]]},
                                 people[deciders[row["step"]]], at=moment)
        made += 1
    await summary.escalate()
    return made
