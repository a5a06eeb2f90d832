"""Survey API: the staff's list and analysis (aggregates only), and the
tenant's own invitations and its one answer (the same services and rules as
the console and portal pages)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from litestar import Request, get, post
from msgspec import Meta, Struct

from portal.core.roles import Perm
from portal.routes.api.guards import portal_user, staff_requires
from portal.routes.api.schemas import CONFLICT, INVALID, NOT_FOUND, responses
from portal.web.tenancy import Tenant
from tenants.surveys import report as survey_report, service

TAGS = ["surveys"]
Comment = Annotated[str, Meta(max_length=1000)]


class SurveyOut(Struct):
    id: int
    title: str
    status: str
    closes_on: dt.date
    report_status: str


class ScoreOut(Struct):
    area: str
    label: str
    mean: float | None
    answers: int


class ReportOut(Struct):
    survey: SurveyOut
    invited: int
    answered: int
    response_rate: float
    threshold: float
    questions: list[ScoreOut]
    buildings: list[ScoreOut]
    levels: list[ScoreOut]
    industries: list[ScoreOut]
    below_threshold: list[str]


class MySurveyOut(Struct):
    id: int
    title: str
    open: bool
    closes_on: dt.date
    answered_by: str | None


class AnswerIn(Struct, forbid_unknown_fields=True):
    scores: dict[Annotated[str, Meta(max_length=20)], int]
    comments: dict[Annotated[str, Meta(max_length=20)], Comment] = {}


class AnswerOut(Struct):
    survey_id: int
    answer_id: int


def _survey(s: dict) -> SurveyOut:
    return SurveyOut(id=s["id"], title=s["title"], status=s["status"], closes_on=s["closes_on"],
                     report_status=s.get("report_status", ""))


@get("/surveys", tags=TAGS, guards=[staff_requires(Perm.SURVEY_MANAGE)], summary="Satisfaction surveys",
     responses=responses())
async def list_surveys(request: Request) -> list[SurveyOut]:
    return [_survey(s) for s in await service.list_surveys(request.state.principal)]


def _scores(rows: list[dict]) -> list[ScoreOut]:
    return [ScoreOut(area=r["area"], label=r["label"], mean=r["mean"], answers=r.get("answered", r.get("n", 0)))
            for r in rows]


@get("/surveys/{survey_id:int}/report", tags=TAGS, guards=[staff_requires(Perm.SURVEY_MANAGE)],
     summary="A survey's analysis (office-wide aggregates)", responses=responses(NOT_FOUND))
async def get_report(request: Request, survey_id: int) -> ReportOut:
    data = await survey_report.report(survey_id, request.state.principal)
    return ReportOut(survey=_survey(data["survey"]), invited=data["counts"]["invited"],
                     answered=data["counts"]["answered"], response_rate=round(data["rate"], 4),
                     threshold=data["threshold"], questions=_scores(data["questions"]),
                     buildings=_scores(data["buildings"]), levels=_scores(data["levels"]),
                     industries=_scores(data["industries"]), below_threshold=[a["area"] for a in data["below"]])


@get("/portal/surveys", tags=TAGS, guards=[portal_user], summary="The surveys my company was invited to",
     responses=responses())
async def my_surveys(request: Request, my_tenant: Tenant) -> list[MySurveyOut]:
    rows = await service.my_surveys(my_tenant, request.state.principal)
    return [MySurveyOut(id=s["id"], title=s["title"], open=s["open"], closes_on=s["closes_on"],
                        answered_by=s["answer"]["answered_by"] if s["answer"] else None) for s in rows]


@post("/portal/surveys/{survey_id:int}/answer", tags=TAGS, guards=[portal_user], status_code=201,
      summary="My company's answer (once per company)", responses=responses(NOT_FOUND, INVALID, CONFLICT))
async def answer(request: Request, my_tenant: Tenant, survey_id: int, data: AnswerIn) -> AnswerOut:
    """Scores 1-5 for every question (``scores``: question key -> score) and optional comments."""
    raw = {f"score_{k}": str(v) for k, v in data.scores.items()}
    raw.update({f"comment_{k}": v for k, v in data.comments.items()})
    answer_id = await service.answer(my_tenant, survey_id, raw, request.state.principal)
    return AnswerOut(survey_id=survey_id, answer_id=answer_id)


ROUTES = [list_surveys, get_report, my_surveys, answer]
