"""Demo satisfaction surveys: last year's survey (the trend's baseline) and this
year's, both answered by most tenants and closed; this year's report has its
corrective actions and the general manager's approval. Through the services."""

from __future__ import annotations

import datetime as dt
import random

from portal.accounts.tables import StaffUser
from portal.core.roles import Principal, Role
from portal.core.workdays import today
from tenants.registry import service as registry
from tenants.surveys import report, service
from tenants.surveys.tables import Survey

TITLES = ("2025 年度租户满意度调查", "2026 年度租户满意度调查")
CUSTOM = "电梯与空调运行"
# Mean scores the answers are drawn around: (service, price, responsiveness, overall, custom).
CENTRES = ((3.9, 3.4, 3.6, 3.8, 3.5), (4.2, 3.1, 3.9, 4.0, 3.3))
ACTIONS = {
    "question:price": ("公示物业费构成，召开收费说明会；对长期租户研究阶梯优惠方案", "财务部 陈静"),
    "question:c1": ("空调主机季前检修，电梯维保加密至每两周一次并公示记录", "工程部 赵志强"),
    report.GENERAL_AREA: ("每季度回访重点租户，收集改进意见", "客服部 王丽"),
}


async def _staff(username: str, role: Role) -> Principal:
    row = await StaffUser.select(StaffUser.id, StaffUser.display_name).where(StaffUser.username == username).first().run()
    return Principal(kind="staff", user_id=row["id"], name=row["display_name"], roles=frozenset({role}))


def _score(rng: random.Random, centre: float) -> int:
    return min(5, max(1, round(rng.gauss(centre, 0.8))))


async def _run(settings, title: str, centres, tenant_ids: list[int], rng: random.Random, supervisor) -> int:
    raw = {"title": title, "kind": "yearly", "questions": ["service", "price", "responsiveness", "overall"],
           "custom": CUSTOM, "audience": "all", "closes_on": (today() + dt.timedelta(days=14)).isoformat()}
    survey_id = await service.create_survey(raw, supervisor, settings)
    await service.open_survey(survey_id, supervisor, notify=False)
    keys = ("service", "price", "responsiveness", "overall", "c1")
    for tenant_id in tenant_ids:
        if rng.random() > 0.8:
            continue  # about one in five does not answer
        ref = await registry.get_ref(tenant_id)
        raw_answer = {f"score_{k}": str(_score(rng, c)) for k, c in zip(keys, centres)}
        if raw_answer["score_price"] in ("1", "2"):
            raw_answer["comment_price"] = rng.choice(("物业费偏高，希望说明收费依据", "停车费上涨过快"))
        if raw_answer["score_c1"] in ("1", "2"):
            raw_answer["comment_c1"] = rng.choice(("夏季空调制冷不足", "高峰期电梯等候时间长"))
        user = Principal(kind="portal", user_id=0, name="租户联系人", tenant_id=tenant_id)
        await service.answer(ref, survey_id, raw_answer, user)
    await service.close_survey(survey_id, supervisor)
    return survey_id


async def load(settings, tenant_ids: dict[int, int]) -> int:
    """Load the demo surveys once (skipped when they exist). Returns how many were made."""
    if await Survey.exists().where(Survey.title.is_in(list(TITLES))).run():
        return 0
    rng = random.Random(20261129)
    supervisor = await _staff("supervisor", Role.SUPERVISOR)
    manager = await _staff("manager", Role.GENERAL_MANAGER)
    ids = sorted(tenant_ids.values())
    await _run(settings, TITLES[0], CENTRES[0], ids, rng, supervisor)
    survey_id = await _run(settings, TITLES[1], CENTRES[1], ids, rng, supervisor)
    data = await report.analysis(survey_id)
    needed = {a["area"] for a in data["below"]} | set(ACTIONS)
    for area in sorted(needed):
        description, owner = ACTIONS.get(area, ("针对该方面制定改进方案并跟踪落实", "客服部 王丽"))
        await report.add_action(survey_id, {"area": area, "description": description, "owner": owner,
                                            "due_on": data["survey"]["closes_on"].isoformat()}, supervisor)
    await report.request_approval(survey_id, supervisor)
    await report.decide_report(survey_id, manager, approve=True)
    return 2
