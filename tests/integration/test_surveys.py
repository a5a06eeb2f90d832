"""Satisfaction surveys (issue 9 §3): a survey opens and invites its audience
after commit, each tenant company answers once in the portal (a unique
constraint and a clear 409), bad input is a localized 4xx that saves nothing,
a tenant reaches only its own invitations, staff outside a building see the
office-wide figures but not that building's answers, corrective actions are
required below the threshold, and the general manager (never the requester)
approves the report, which prints as a PDF."""

from __future__ import annotations

import asyncpg
import pytest

from portal.core import jobs
from portal.core.errors import Conflict, Forbidden, FormErrors
from portal.core.workdays import today
from tenants.surveys import report, service
from tenants.surveys.tables import SurveyAnswer, SurveyInvitation
from tests import factories
from tests.integration.survey_support import GM, GM2, SUPERVISOR, office, portal_of, scores, survey


@pytest.fixture
def sent(monkeypatch):
    """The follow-ups sent after commit (task name, args), instead of the broker."""
    out: list[tuple[str, list]] = []
    monkeypatch.setattr(jobs, "_sender", lambda name, args, kwargs, options: out.append((name, args)))
    return out


async def _portal_client(client_factory, tenant_id: int):
    user = await factories.portal_user(tenant_id)
    client = await client_factory()
    assert (await factories.sign_in(client, user["email"], kind="portal")).status_code in (302, 303)
    return client


def _pdf_text(pdf: bytes) -> str:
    import subprocess

    return subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()


async def _answers(survey_id: int) -> int:
    return await SurveyAnswer.count().where(SurveyAnswer.survey_id == survey_id).run()


async def test_a_company_answers_once_and_bad_input_saves_nothing(database, settings, client_factory, sent):
    buildings, refs = await office({"A": ["问卷甲科技有限公司", "问卷乙餐饮有限公司"], "B": ["问卷丙贸易有限公司"]})
    survey_id = await survey(settings, audience="building", building_ids=[buildings["A"]["id"]],
                             custom="电梯运行是否满意")
    assert await service.open_survey(survey_id, SUPERVISOR) == 2
    invited = sorted(args[0] for name, args in sent if name == "surveys.invite")
    assert invited == sorted([refs["问卷甲科技有限公司"].id, refs["问卷乙餐饮有限公司"].id])
    with pytest.raises(Conflict):
        await service.open_survey(survey_id, SUPERVISOR)  # once

    first = refs["问卷甲科技有限公司"]
    client = await _portal_client(client_factory, first.id)
    path = f"/portal/surveys/{survey_id}"
    page = await client.get(path)
    assert page.status_code == 200 and "服务质量" in page.text and "电梯运行是否满意" in page.text
    assert "年度满意度调查" in (await client.get("/portal/surveys")).text
    token = await factories.form_token(client, path)
    good = {**scores(service=4, price=2, responsiveness=3, overall=4, c1=5), "_csrf_token": token}
    for bad, message in ((dict(good, score_price="7"), "评分须为 1 至 5 的整数"),
                         (dict(good, score_service=""), "请选择 1 至 5 分"),
                         (dict(good, comment_price="太贵\x00了"), "")):
        response = await client.post(path, data=bad)
        assert response.status_code == 422, response.text[:300]
        assert message in response.text
        assert "Traceback" not in response.text
    assert await _answers(survey_id) == 0

    done = await client.post(path, data=dict(good, comment_price="物业费偏高"), follow_redirects=False)
    assert done.status_code in (302, 303)
    assert await _answers(survey_id) == 1

    # A second contact of the same company sees it answered, and by whom; a second answer is refused.
    second = await _portal_client(client_factory, first.id)
    seen = await second.get(path)
    assert "贵公司已填写本调查" in seen.text and "租户用户" in seen.text
    again = await second.post(path, data={**good, "_csrf_token": await factories.form_token(second, "/portal/surveys")})
    assert again.status_code == 409 and "贵公司已经填写过本调查" in again.text
    with pytest.raises(Conflict):
        await service.answer(first, survey_id, scores(service=5, price=5, responsiveness=5, overall=5, c1=5),
                             portal_of(first))
    # The rule is the database's: a direct second insert breaks the unique constraint.
    with pytest.raises(asyncpg.UniqueViolationError):
        await SurveyAnswer.insert(SurveyAnswer(survey_id=survey_id, tenant_id=first.id, answered_by_id=1,
                                               scores="{}", comments="{}")).run()
    assert await _answers(survey_id) == 1

    # A tenant that was not invited cannot see or answer the survey (404), in the portal or the API.
    outsider = refs["问卷丙贸易有限公司"]
    other = await _portal_client(client_factory, outsider.id)
    assert (await other.get(path)).status_code == 404
    token = (await other.get("/api/v1/auth/csrf")).json()["csrf_token"]
    api = await other.post(f"/api/v1/portal/surveys/{survey_id}/answer", headers={"x-csrftoken": token},
                           json={"scores": {"service": 5, "price": 5, "responsiveness": 5, "overall": 5, "c1": 5}})
    assert api.status_code == 404
    assert survey_id not in [s["id"] for s in (await other.get("/api/v1/portal/surveys")).json()]

    # The API answers with the same rules.
    second_tenant = refs["问卷乙餐饮有限公司"]
    api_client = await _portal_client(client_factory, second_tenant.id)
    token = (await api_client.get("/api/v1/auth/csrf")).json()["csrf_token"]
    url = f"/api/v1/portal/surveys/{survey_id}/answer"
    bad = await api_client.post(url, headers={"x-csrftoken": token},
                                json={"scores": {"service": 0, "price": 3, "responsiveness": 3, "overall": 3, "c1": 3}})
    assert bad.status_code == 422 and bad.json()["field_codes"]["score_service"] == "score.range"
    ok = await api_client.post(url, headers={"x-csrftoken": token},
                               json={"scores": {"service": 3, "price": 2, "responsiveness": 3, "overall": 3, "c1": 4}})
    assert ok.status_code == 201, ok.text
    assert await _answers(survey_id) == 2
    counts = await SurveyInvitation.count().where((SurveyInvitation.survey_id == survey_id)
                                                 & SurveyInvitation.answered_at.is_not_null()).run()
    assert counts == 2


async def test_report_needs_actions_below_threshold_and_the_gm_approves(database, settings, client_factory, sent):
    buildings, refs = await office({"A": ["报告甲有限公司", "报告乙有限公司"], "B": ["报告丙有限公司"]})
    ours = [buildings["A"]["id"], buildings["B"]["id"]]
    earlier = await survey(settings, title="上一年度调查", audience="building", building_ids=ours)
    await service.open_survey(earlier, SUPERVISOR)
    for ref in refs.values():
        await service.answer(ref, earlier, scores(service=3, price=3, responsiveness=3, overall=3), portal_of(ref))
    await service.close_survey(earlier, SUPERVISOR)

    survey_id = await survey(settings, audience="building", building_ids=ours)
    await service.open_survey(survey_id, SUPERVISOR)
    given = {"报告甲有限公司": (5, 2, 4, 4), "报告乙有限公司": (4, 2, 4, 5), "报告丙有限公司": (3, 3, 2, 3)}
    for name, (s, p, r, o) in given.items():
        raw = {**scores(service=s, price=p, responsiveness=r, overall=o), "comment_price": f"{name}觉得收费偏高"}
        await service.answer(refs[name], survey_id, raw, portal_of(refs[name]))

    data = await report.analysis(survey_id)
    assert (data["counts"]["invited"], data["counts"]["answered"]) == (3, 3) and data["rate"] == 1.0
    means = {q["key"]: q["mean"] for q in data["questions"]}
    assert means == {"service": 4.0, "price": 2.33, "responsiveness": 3.33, "overall": 4.0}
    assert data["lowest"][0]["area"] == "question:price"
    assert {a["area"] for a in data["below"]} >= {"question:price", "question:responsiveness"}
    assert [(t["before"], t["now"], t["change"]) for t in data["trend"]][1] == (3.0, 2.33, -0.67)  # price
    by_building = {b["label"]: b for b in data["buildings"]}
    assert sum(b["invited"] for b in by_building.values()) == 3
    assert {i["label"] for i in data["industries"]} == {"软件", "餐饮"}

    with pytest.raises(Conflict):
        await report.request_approval(survey_id, SUPERVISOR)  # still open
    await service.close_survey(survey_id, SUPERVISOR)
    with pytest.raises(FormErrors):
        await report.request_approval(survey_id, SUPERVISOR)  # no corrective actions yet
    with pytest.raises(FormErrors):
        await report.add_action(survey_id, {"area": "question:price", "description": "", "owner": "财务部王经理",
                                            "due_on": "2026-13-01"}, SUPERVISOR)
    for area in [a["area"] for a in data["below"]]:
        await report.add_action(survey_id, {"area": area, "description": "公示收费标准并召开说明会",
                                            "owner": "客服部王经理", "due_on": today().isoformat()}, SUPERVISOR)

    # The general manager who submitted it may not approve it; a supervisor may not decide at all.
    await report.request_approval(survey_id, GM)
    with pytest.raises(Forbidden):
        await report.decide_report(survey_id, GM, approve=True)
    with pytest.raises(Forbidden):
        await report.decide_report(survey_id, SUPERVISOR, approve=True)
    with pytest.raises(FormErrors):
        await report.decide_report(survey_id, GM2, approve=False)  # a send-back needs a reason
    assert await report.decide_report(survey_id, GM2, approve=False, reason="请补充各楼宇的措施") == "rejected"
    await report.request_approval(survey_id, SUPERVISOR)
    assert await report.decide_report(survey_id, GM, approve=True) == "approved"
    with pytest.raises(Conflict):
        await report.decide_report(survey_id, GM2, approve=True)

    name, pdf = await report.report_pdf(survey_id, SUPERVISOR, settings, "zh")
    assert pdf.startswith(b"%PDF") and len(pdf) > 5000
    text = _pdf_text(pdf)
    assert "顾客满意度调查分析报告" in text and "收费价格" in text and "公示收费标准并召开说明会" in text
    english = _pdf_text((await report.report_pdf(survey_id, SUPERVISOR, settings, "en"))[1])
    assert "Satisfaction survey analysis report" in english and "Price" in english and "收费价格" not in english

    # Staff: the head of building B sees the office's figures, and single answers of B's tenant only.
    head_b = await factories.staff(["dept_head"], [buildings["B"]["id"]])
    client = await client_factory()
    await factories.sign_in(client, head_b["username"])
    detail = await client.get(f"/console/surveys/{survey_id}")
    assert detail.status_code == 200
    assert "报告丙有限公司觉得收费偏高" in detail.text
    assert "报告甲有限公司" not in detail.text and "报告乙有限公司觉得收费偏高" not in detail.text
    page = await client.get(f"/console/surveys/{survey_id}/report")
    assert page.status_code == 200 and "<svg" in page.text and "公示收费标准并召开说明会" in page.text
    assert "报告甲有限公司" not in page.text
    pdf_response = await client.get(f"/console/surveys/{survey_id}/report.pdf")
    assert pdf_response.status_code == 200 and pdf_response.content.startswith(b"%PDF")
    # Without the permission: 403; an unknown survey: 404.
    clerk = await factories.staff(["clerk"], [buildings["A"]["id"]])
    other = await client_factory()
    await factories.sign_in(other, clerk["username"])
    assert (await other.get(f"/console/surveys/{survey_id}/report")).status_code == 403
    assert (await other.get("/api/v1/surveys")).status_code == 403
    assert (await client.get("/console/surveys/2147480000/report")).status_code == 404
    api = await client.get(f"/api/v1/surveys/{survey_id}/report")
    assert api.status_code == 200 and api.json()["answered"] == 3


async def test_the_create_form_refuses_bad_input(database, settings, client_factory):
    head = await factories.staff(["supervisor"])
    client = await client_factory()
    await factories.sign_in(client, head["username"])
    token = await factories.form_token(client, "/console/surveys/new")
    response = await client.post("/console/surveys/new", data={
        "_csrf_token": token, "title": "", "audience": "building", "closes_on": "2020-01-01",
        "custom": "\n".join(f"问题{i}" for i in range(7))})
    assert response.status_code == 422
    for message in ("请填写调查标题", "请至少选择一座楼宇", "截止日期不能早于今天", "自定义问题最多五个"):
        assert message in response.text
    assert (await client.post("/console/surveys/new", data={"_csrf_token": token, "title": "x\x01"})).status_code == 422
    assert (await client.get("/console/surveys")).status_code == 200
