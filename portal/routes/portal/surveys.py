"""Portal: the satisfaction surveys the tenant was invited to, and the
phone-first answer form. The tenant comes from the signed-in user; a survey
it was not invited to answers 404."""

from __future__ import annotations

from litestar import Request, get, post
from litestar.response import Redirect, Response, Template

from portal.core.errors import Conflict, FormErrors
from portal.routes.forms import form_dict
from portal.web.render import form_errors, portal_guard, render
from portal.web.tenancy import Tenant
from tenants.surveys import service


@get("/portal/surveys", guards=[portal_guard])
async def my_surveys(request: Request, my_tenant: Tenant) -> Template:
    principal = request.state.principal
    return render("portal/surveys.html", principal=principal, ref=my_tenant,
                  surveys=await service.my_surveys(my_tenant, principal))


async def _form(request: Request, ref, survey_id: int, *, values: dict, errors: dict, error: str = "",
                status_code: int = 200) -> Template:
    principal = request.state.principal
    survey, answer = await service.my_survey(ref, survey_id, principal)
    questions = [{**q, "text": service.question_label(q)} for q in survey["questions"]]
    return render("portal/survey_answer.html", status_code=status_code, principal=principal, ref=ref,
                  survey=survey, answer=answer, questions=questions, is_open=service.is_open(survey),
                  values=values, errors=errors, error=error)


@get("/portal/surveys/{survey_id:int}", guards=[portal_guard])
async def survey_form(request: Request, my_tenant: Tenant, survey_id: int) -> Template:
    return await _form(request, my_tenant, survey_id, values={}, errors={})


@post("/portal/surveys/{survey_id:int}", guards=[portal_guard])
async def survey_answer(request: Request, my_tenant: Tenant, survey_id: int) -> Response:
    data = await form_dict(request)
    try:
        await service.answer(my_tenant, survey_id, data, request.state.principal)
    except FormErrors as exc:
        return await _form(request, my_tenant, survey_id, values=data, errors=form_errors(exc), status_code=422)
    except Conflict as exc:
        return await _form(request, my_tenant, survey_id, values=data, errors={}, error=exc.message,
                           status_code=409)
    return Redirect(f"/portal/surveys/{survey_id}?answered=1")


ROUTES = [my_surveys, survey_form, survey_answer]
