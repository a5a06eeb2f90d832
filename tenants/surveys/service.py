"""Satisfaction surveys (满意度调查): staff prepare a survey, opening it invites the
tenants of its audience (e-mail after commit), each tenant company answers once
in the portal, reminders go to those who have not answered, and the survey
closes on its date. The analysis and its approval are in ``tenants.surveys.report``.

Who sees what: the analysis is office-wide aggregates (counts and means, no
company) for everyone who manages surveys; single answers (company, scores,
comments) only for the tenants of the buildings the person covers.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal, InvalidOperation
from typing import Any, Mapping

import asyncpg

from portal.core import audit
from portal.core.errors import Conflict, Forbidden, NotFound
from portal.core.i18n import N_, gettext
from portal.core.jobs import core_tx, on_commit
from portal.core.roles import Perm, Principal
from portal.core.workdays import now, today
from tenants.file.forms import LEVEL_LABELS
from tenants.file.tables import Profile
from tenants.registry.service import TenantRef
from tenants.registry.tables import Building, Tenant
from tenants.registry.visibility import in_scope
from tenants.scope import tenant_tx
from tenants.surveys import forms
from tenants.surveys.tables import Survey, SurveyAnswer, SurveyInvitation

STATUSES = {"draft": N_("Draft"), "open": N_("Open for answers"), "closed": N_("Survey closed")}
DEFAULT_THRESHOLD = Decimal("3.5")


def threshold_of(settings) -> Decimal:
    try:
        value = Decimal(str(getattr(settings, "survey_threshold", "3.5")))
    except InvalidOperation:
        return DEFAULT_THRESHOLD
    return value if Decimal(1) <= value <= Decimal(5) else DEFAULT_THRESHOLD


def need(principal: Principal, perm: Perm = Perm.SURVEY_MANAGE) -> None:
    if not principal.can(perm):
        raise Forbidden()


def _decoded(row: Mapping[str, Any] | None) -> dict | None:
    if row is None:
        return None
    out = dict(row)
    for key in ("questions", "scores", "comments"):
        if isinstance(out.get(key), str):
            out[key] = json.loads(out[key])
    return out


def question_label(question: Mapping[str, Any]) -> str:
    """A question as the reader's language shows it (custom questions as written)."""
    return question.get("label") or gettext(forms.STANDARD.get(question["key"], question["key"]))


def is_open(survey: Mapping[str, Any], on: dt.date | None = None) -> bool:
    """Open for answers: opened, not closed, and its closing date not passed."""
    return survey["status"] == "open" and (on or today()) <= survey["closes_on"]


# --- staff: preparing, opening, reminding, closing -------------------------------------------------

async def create_survey(raw: Mapping[str, Any], principal: Principal, settings) -> int:
    need(principal)
    building_ids = {b["id"] for b in await Building.select(Building.id).run()}
    cleaned = forms.clean_survey(raw, buildings=building_ids, today=today())
    async with core_tx():
        survey_id = (await Survey.insert(Survey(
            title=cleaned["title"], kind=cleaned["kind"], questions=json.dumps(cleaned["questions"], ensure_ascii=False),
            audience=cleaned["audience"], audience_ids=cleaned["audience_ids"], closes_on=cleaned["closes_on"],
            threshold=threshold_of(settings), created_by_id=principal.user_id, created_by=principal.name,
        )).returning(Survey.id).run())[0]["id"]
        await audit.record("survey.create", principal=principal, target=f"survey:{survey_id}",
                           detail={"title": cleaned["title"]})
    return survey_id


async def list_surveys(principal: Principal) -> list[dict]:
    need(principal)
    rows = await Survey.select().order_by(Survey.created_at, ascending=False).limit(200).run()
    return [_decoded(r) for r in rows]


async def get_survey(survey_id: int) -> dict:
    row = await Survey.select().where(Survey.id == survey_id).first().run()
    if row is None:
        raise NotFound("No such survey.")
    return _decoded(row)


async def staff_survey(survey_id: int, principal: Principal) -> dict:
    need(principal)
    return await get_survey(survey_id)


async def _lock(survey_id: int) -> dict:
    row = await Survey.select().where(Survey.id == survey_id).lock_rows("UPDATE").first().run()
    if row is None:
        raise NotFound("No such survey.")
    return _decoded(row)


async def _audience(survey: Mapping[str, Any]) -> list[dict]:
    rows = await Tenant.select(Tenant.id, Tenant.building_ids, Tenant.level).where(Tenant.active.eq(True)).run()
    if survey["audience"] == "building":
        wanted = set(survey["audience_ids"])
        rows = [r for r in rows if wanted & set(r["building_ids"] or ())]
    elif survey["audience"] == "level":
        rows = [r for r in rows if r["level"] in set(survey["audience_ids"])]
    return rows


async def open_survey(survey_id: int, principal: Principal, *, notify: bool = True) -> int:
    """Invite the audience: one invitation row per tenant, e-mailed after commit
    (``notify=False``: no e-mail, for the demo data). Returns how many tenants were invited."""
    need(principal)
    from tasks.surveys import invite

    async with core_tx():
        survey = await _lock(survey_id)
        if survey["status"] != "draft":
            raise Conflict("This survey has already been opened.")
        if survey["closes_on"] < today():
            raise Conflict("The closing date of this survey has passed.")
        tenants = await _audience(survey)
        if not tenants:
            raise Conflict("No tenant is in this survey's audience.")
        await SurveyInvitation.insert(*(SurveyInvitation(
            survey_id=survey_id, tenant_id=t["id"], building_ids=list(t["building_ids"] or []), level=t["level"],
        ) for t in tenants)).on_conflict(action="DO NOTHING").run()
        await Survey.update({Survey.status: "open", Survey.opened_at: now()}).where(Survey.id == survey_id).run()
        for t in tenants if notify else ():
            on_commit(invite, t["id"], survey_id)
        await audit.record("survey.open", principal=principal, target=f"survey:{survey_id}",
                           detail={"tenants": len(tenants)})
    return len(tenants)


async def send_reminders(survey_id: int, principal: Principal) -> int:
    """E-mail again the tenants that have not answered (after commit). Returns how many."""
    need(principal)
    from tasks.surveys import remind

    async with core_tx():
        survey = await _lock(survey_id)
        if not is_open(survey):
            raise Conflict("This survey is not open.")
        waiting = await SurveyInvitation.select(SurveyInvitation.tenant_id, SurveyInvitation.reminders).where(
            (SurveyInvitation.survey_id == survey_id) & SurveyInvitation.answered_at.is_null()).run()
        for row in waiting:
            on_commit(remind, row["tenant_id"], survey_id, row["reminders"] + 1)
        await audit.record("survey.remind", principal=principal, target=f"survey:{survey_id}",
                           detail={"tenants": len(waiting)})
    return len(waiting)


async def close_survey(survey_id: int, principal: Principal | None = None) -> bool:
    """Close an open survey (staff, or the daily sweep once its date has passed)."""
    if principal is not None:
        need(principal)
    async with core_tx():
        survey = await _lock(survey_id)
        if survey["status"] != "open":
            if principal is None:
                return False
            raise Conflict("This survey is not open.")
        await Survey.update({Survey.status: "closed", Survey.closed_at: now()}).where(Survey.id == survey_id).run()
        await audit.record("survey.close", principal=principal, actor_name="" if principal else "system",
                           target=f"survey:{survey_id}")
    return True


async def close_due(on: dt.date | None = None) -> list[int]:
    """The daily sweep: close every open survey whose closing date has passed."""
    due = await Survey.select(Survey.id).where((Survey.status == "open") & (Survey.closes_on < (on or today()))).run()
    return [r["id"] for r in due if await close_survey(r["id"])]


async def answers_in_scope(survey_id: int, principal: Principal) -> list[dict]:
    """Single answers (company, scores, comments) of the tenants in this person's buildings."""
    need(principal)
    from portal.core.db import DB

    args: list = [survey_id]
    scoped = in_scope(principal, args)
    rows = await DB.pool.fetch(
        "SELECT a.*, t.name AS tenant_name, t.archive_no FROM core.survey_answer a"
        " JOIN core.tenant t ON t.id = a.tenant_id WHERE a.survey_id = $1"
        + (f" AND {scoped}" if scoped else "") + " ORDER BY a.answered_at, a.id", *args)
    return [_decoded(r) for r in rows]


# --- the tenant: its invitations and its one answer ---------------------------------------------------

def _own(ref: TenantRef, principal: Principal) -> None:
    if not principal.is_portal or principal.tenant_id != ref.id:
        raise Forbidden()


async def my_surveys(ref: TenantRef, principal: Principal) -> list[dict]:
    """The surveys this tenant was invited to, newest first, with its answer if any."""
    _own(ref, principal)
    invitations = await SurveyInvitation.select(SurveyInvitation.survey_id).where(
        SurveyInvitation.tenant_id == ref.id).run()
    ids = [r["survey_id"] for r in invitations]
    if not ids:
        return []
    surveys = await Survey.select(Survey.id, Survey.title, Survey.status, Survey.closes_on).where(
        Survey.id.is_in(ids)).order_by(Survey.id, ascending=False).run()
    answers = {r["survey_id"]: r for r in await SurveyAnswer.select(
        SurveyAnswer.survey_id, SurveyAnswer.answered_by, SurveyAnswer.answered_at).where(
        (SurveyAnswer.tenant_id == ref.id) & SurveyAnswer.survey_id.is_in(ids)).run()}
    return [{**s, "open": is_open(s), "answer": answers.get(s["id"])} for s in surveys]


async def my_survey(ref: TenantRef, survey_id: int, principal: Principal) -> tuple[dict, dict | None]:
    """One survey this tenant was invited to, and its answer; 404 for any other survey."""
    _own(ref, principal)
    invited = await SurveyInvitation.exists().where(
        (SurveyInvitation.survey_id == survey_id) & (SurveyInvitation.tenant_id == ref.id)).run()
    if not invited:
        raise NotFound("No such survey.")
    survey = await get_survey(survey_id)
    answer = await SurveyAnswer.select().where(
        (SurveyAnswer.survey_id == survey_id) & (SurveyAnswer.tenant_id == ref.id)).first().run()
    return survey, _decoded(answer)


def _already(answer: Mapping[str, Any]) -> Conflict:
    return Conflict("Your company has already answered this survey.", code="survey_answered",
                    answered_by=answer["answered_by"], answered_at=answer["answered_at"])


async def answer(ref: TenantRef, survey_id: int, raw: Mapping[str, Any], principal: Principal) -> int:
    """The company's one answer (any of its portal users). The UNIQUE
    (survey_id, tenant_id) of core.survey_answer is the rule; a second answer
    is a 409 naming who answered."""
    survey, existing = await my_survey(ref, survey_id, principal)
    if existing:
        raise _already(existing)
    if not is_open(survey):
        raise Conflict("This survey is closed.")
    scores, comments = forms.clean_answer(raw, survey["questions"])
    try:
        async with tenant_tx(ref.schema):
            profile = await Profile.select(Profile.industry).where(Profile.id == 1).first().run()
            answer_id = (await SurveyAnswer.insert(SurveyAnswer(
                survey_id=survey_id, tenant_id=ref.id, answered_by_id=principal.user_id, answered_by=principal.name,
                scores=json.dumps(scores), comments=json.dumps(comments, ensure_ascii=False),
            )).returning(SurveyAnswer.id).run())[0]["id"]
            await SurveyInvitation.update({
                SurveyInvitation.answered_at: now(),
                SurveyInvitation.industry: ((profile or {}).get("industry") or "")[:100],
            }).where((SurveyInvitation.survey_id == survey_id) & (SurveyInvitation.tenant_id == ref.id)).run()
            await audit.record("survey.answer", principal=principal, tenant_id=ref.id, target=f"survey:{survey_id}")
    except asyncpg.UniqueViolationError:
        _, existing = await my_survey(ref, survey_id, principal)
        raise _already(existing) from None
    return answer_id


# --- tasks: invitation and reminder e-mails ------------------------------------------------------------

async def mark_invited(ref: TenantRef, survey_id: int) -> bool:
    """Claim the invitation e-mail (once: a redelivered task finds it claimed) and
    note the tenant's industry. True when this call should send it."""
    async with tenant_tx(ref.schema):
        profile = await Profile.select(Profile.industry).where(Profile.id == 1).first().run()
        claimed = await SurveyInvitation.update({
            SurveyInvitation.emailed_at: now(),
            SurveyInvitation.industry: ((profile or {}).get("industry") or "")[:100],
        }).where((SurveyInvitation.survey_id == survey_id) & (SurveyInvitation.tenant_id == ref.id)
                 & SurveyInvitation.emailed_at.is_null()).returning(SurveyInvitation.id).run()
    return bool(claimed)


async def mark_reminded(ref: TenantRef, survey_id: int, round_no: int) -> bool:
    """Claim reminder ``round_no`` for a tenant that has not answered (once)."""
    survey = await get_survey(survey_id)
    if not is_open(survey):
        return False
    claimed = await SurveyInvitation.update({
        SurveyInvitation.reminders: round_no, SurveyInvitation.reminded_at: now(),
    }).where((SurveyInvitation.survey_id == survey_id) & (SurveyInvitation.tenant_id == ref.id)
             & SurveyInvitation.answered_at.is_null() & (SurveyInvitation.reminders < round_no)).returning(
        SurveyInvitation.id).run()
    return bool(claimed)


def level_label(level: int) -> str:
    return gettext(LEVEL_LABELS.get(level, "Normal"))
