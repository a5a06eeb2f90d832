"""Console: satisfaction surveys (prepare, open, remind, close), their analysis
report with charts and corrective actions, and the general manager's approval."""

from __future__ import annotations

from litestar import Request, get, post
from litestar.response import Redirect, Response, Template

from portal.core.errors import Conflict, FormErrors
from portal.core.i18n import gettext
from portal.core.roles import Perm
from portal.routes.forms import form_dict
from portal.web.render import error_page, form_errors, render, requires
from tenants.file.forms import LEVEL_LABELS
from tenants.registry import service as registry
from tenants.surveys import forms, report as survey_report, service

MANAGE = [requires(Perm.SURVEY_MANAGE)]
BASE = "/console/surveys/{survey_id:int}"


def _labels() -> dict:
    return {"statuses": service.STATUSES, "kinds": forms.KINDS, "audiences": forms.AUDIENCES,
            "standard": forms.STANDARD, "level_labels": LEVEL_LABELS, "report_statuses": survey_report.REPORT_STATUSES,
            "action_statuses": survey_report.ACTION_STATUSES}


@get("/console/surveys", guards=MANAGE)
async def survey_list(request: Request) -> Template:
    principal = request.state.principal
    return render("console/surveys/list.html", principal=principal,
                  surveys=await service.list_surveys(principal), **_labels())


async def _new_page(request: Request, values: dict, errors: dict, status_code: int = 200) -> Template:
    return render("console/surveys/new.html", status_code=status_code, principal=request.state.principal,
                  values=values, errors=errors, buildings=await registry.buildings(), **_labels())


@get("/console/surveys/new", guards=MANAGE)
async def survey_new(request: Request) -> Template:
    return await _new_page(request, {"kind": "yearly", "audience": "all", "questions": list(forms.STANDARD)}, {})


@post("/console/surveys/new", guards=MANAGE)
async def survey_create(request: Request) -> Response:
    data = await form_dict(request, multi=("questions", "building_ids", "levels"))
    try:
        survey_id = await service.create_survey(data, request.state.principal, request.app.state.settings)
    except FormErrors as exc:
        return await _new_page(request, data, form_errors(exc), status_code=422)
    return Redirect(f"/console/surveys/{survey_id}?created=1")


async def _detail(request: Request, survey_id: int, *, status_code: int = 200, error: str = "") -> Template:
    principal = request.state.principal
    survey = await service.staff_survey(survey_id, principal)
    data = await survey_report.analysis(survey_id)
    return render("console/surveys/detail.html", status_code=status_code, principal=principal, survey=survey,
                  counts=data["counts"], rate=data["rate"], answers=await service.answers_in_scope(survey_id, principal),
                  questions=data["questions"], is_open=service.is_open(survey), error=error,
                  buildings={b["id"]: b["name"] for b in await registry.buildings()}, **_labels())


@get(BASE, guards=MANAGE)
async def survey_detail(request: Request, survey_id: int) -> Template:
    return await _detail(request, survey_id)


async def _step(request: Request, survey_id: int, action, flag: str) -> Response:
    await form_dict(request)
    try:
        await action(survey_id, request.state.principal)
    except Conflict as exc:
        return await _detail(request, survey_id, status_code=409, error=exc.message)
    return Redirect(f"/console/surveys/{survey_id}?{flag}=1")


@post(BASE + "/open", guards=MANAGE)
async def survey_open(request: Request, survey_id: int) -> Response:
    return await _step(request, survey_id, service.open_survey, "opened")


@post(BASE + "/remind", guards=MANAGE)
async def survey_remind(request: Request, survey_id: int) -> Response:
    return await _step(request, survey_id, service.send_reminders, "reminded")


@post(BASE + "/close", guards=MANAGE)
async def survey_close(request: Request, survey_id: int) -> Response:
    return await _step(request, survey_id, service.close_survey, "closed")


async def _report_page(request: Request, survey_id: int, *, status_code: int = 200, errors: dict | None = None,
                       values: dict | None = None, error: str = "") -> Template:
    principal = request.state.principal
    data = await survey_report.report(survey_id, principal)
    charts = {
        "questions": survey_report.bar_chart(data["questions"], data["threshold"], title=gettext("Scores by question")),
        "buildings": survey_report.bar_chart(data["buildings"], data["threshold"], title=gettext("Scores by building")),
        "levels": survey_report.bar_chart(data["levels"], data["threshold"], title=gettext("Scores by level")),
        "industries": survey_report.bar_chart(data["industries"], data["threshold"],
                                              title=gettext("Scores by industry")),
        "trend": survey_report.trend_chart(data["trend"], title=gettext("Trend against the previous survey")),
    }
    return render("console/surveys/report.html", status_code=status_code, principal=principal, charts=charts,
                  errors=errors or {}, values=values or {}, error=error,
                  may_decide=principal.can(Perm.SURVEY_APPROVE), **data, **_labels())


@get(BASE + "/report", guards=MANAGE)
async def report_page(request: Request, survey_id: int) -> Template:
    return await _report_page(request, survey_id)


@get(BASE + "/report.pdf", guards=MANAGE)
async def report_pdf(request: Request, survey_id: int) -> Response:
    name, body = await survey_report.report_pdf(survey_id, request.state.principal, request.app.state.settings,
                                                request.state.locale)
    return Response(body, media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{name}.pdf"',
                             "X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"})


@post(BASE + "/report/submit", guards=MANAGE)
async def report_submit(request: Request, survey_id: int) -> Response:
    await form_dict(request)
    try:
        await survey_report.request_approval(survey_id, request.state.principal)
    except FormErrors as exc:
        return await _report_page(request, survey_id, status_code=422, error=next(iter(form_errors(exc).values())))
    except Conflict as exc:
        return await _report_page(request, survey_id, status_code=409, error=exc.message)
    return Redirect(f"/console/surveys/{survey_id}/report?submitted=1")


@post(BASE + "/report/decide", guards=[requires(Perm.SURVEY_APPROVE)])
async def report_decide(request: Request, survey_id: int) -> Response:
    data = await form_dict(request)
    try:
        await survey_report.decide_report(survey_id, request.state.principal,
                                          approve=data.get("decision") == "approve", reason=data.get("reason", ""))
    except FormErrors as exc:
        return await _report_page(request, survey_id, status_code=422, errors=form_errors(exc), values=data)
    except Conflict as exc:
        return await _report_page(request, survey_id, status_code=409, error=exc.message)
    return Redirect(f"/console/surveys/{survey_id}/report?decided=1")


@post(BASE + "/actions", guards=MANAGE)
async def action_add(request: Request, survey_id: int) -> Response:
    data = await form_dict(request)
    try:
        await survey_report.add_action(survey_id, data, request.state.principal)
    except FormErrors as exc:
        return await _report_page(request, survey_id, status_code=422, errors=form_errors(exc), values=data)
    return Redirect(f"/console/surveys/{survey_id}/report?action=1#actions")


@post(BASE + "/actions/{action_id:int}/done", guards=MANAGE)
async def action_done(request: Request, survey_id: int, action_id: int) -> Response:
    await form_dict(request)
    try:
        await survey_report.finish_action(survey_id, action_id, request.state.principal)
    except Conflict as exc:
        return error_page(request, 409, gettext(exc.message))
    return Redirect(f"/console/surveys/{survey_id}/report?done=1#actions")


ROUTES = [survey_list, survey_new, survey_create, survey_detail, survey_open, survey_remind, survey_close,
          report_page, report_pdf, report_submit, report_decide, action_add, action_done]
