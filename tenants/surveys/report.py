"""The analysis report (顾客满意度调查分析报告): response rate, scores by
question, building, level and industry, the lowest-scoring areas, the trend
against the previous survey, charts (SVG drawn here, no JavaScript; they print
in WeasyPrint), corrective actions where a mean falls below the threshold, and
the general manager's approval before the report is issued (``REPORT_FLOW``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Mapping

from markupsafe import Markup, escape

from portal.core import approvals, audit, i18n
from portal.core.errors import Conflict, FormErrors, NotFound
from portal.core.i18n import N_, gettext
from portal.core.jobs import core_tx
from portal.core.roles import Perm, Principal, Role
from portal.core.workdays import now, today
from tenants.registry.tables import Building
from tenants.surveys import forms, queries
from tenants.surveys.service import get_survey, level_label, need, question_label
from tenants.surveys.tables import Survey, SurveyAction

# The report is approved by the general manager, never by the person who asked for the approval.
REPORT_FLOW = approvals.Flow(
    name="survey.report",
    steps=(approvals.Step("gm", N_("General manager's approval"), roles=frozenset({Role.GENERAL_MANAGER}),
                          perm=Perm.SURVEY_APPROVE, not_requester=True),),
)
REPORT_STATUSES = {"": N_("Not yet submitted"), "pending": N_("Waiting for the general manager"),
                   "approved": N_("Approved and issued"), "rejected": N_("Sent back by the general manager")}
ACTION_STATUSES = {"open": N_("Not done yet"), "done": N_("Done")}
GENERAL_AREA = "general"
LOWEST = 5


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), 2)


async def _previous(survey: Mapping[str, Any]) -> dict | None:
    """The survey opened before this one (the trend's baseline)."""
    if survey.get("opened_at") is None:
        return None
    row = await Survey.select().where((Survey.id != survey["id"]) & Survey.opened_at.is_not_null()
                                      & (Survey.opened_at < survey["opened_at"])).order_by(
        Survey.opened_at, ascending=False).first().run()
    return None if row is None else await get_survey(row["id"])


async def analysis(survey_id: int) -> dict:
    """Everything the report shows, with labels in the reader's language."""
    survey = await get_survey(survey_id)
    threshold = float(survey["threshold"])
    counts = await queries.counts(survey_id)
    rate = counts["answered"] / counts["invited"] if counts["invited"] else 0.0
    labels = {q["key"]: question_label(q) for q in survey["questions"]}
    found = {r["key"]: r for r in await queries.by_question(survey_id)}
    questions = []
    for q in survey["questions"]:
        r = found.get(q["key"], {"n": 0, "mean": None, "spread": [0] * 5})
        questions.append({"area": f"question:{q['key']}", "key": q["key"], "label": labels[q["key"]],
                          "n": r["n"], "mean": _round(r["mean"]), "spread": r["spread"]})
    names = {b["id"]: b["name"] for b in await Building.select(Building.id, Building.name).run()}
    groups: dict[str, list[dict]] = {}
    for group in ("building", "level", "industry"):
        rows = []
        for r in await queries.by_group(survey_id, group):
            if group == "building":
                label = names.get(r["key"], "—")
            elif group == "level":
                label = level_label(int(r["key"]))
            else:
                label = r["key"] or gettext("Industry not given")
            rows.append({"area": f"{group}:{r['key']}", "label": label, "invited": r["invited"],
                         "answered": r["answered"], "mean": _round(r["mean"])})
        groups[group] = sorted(rows, key=lambda x: x["label"])
    scored = [a for a in questions + groups["building"] + groups["level"] + groups["industry"] if a["mean"] is not None]
    lowest = sorted(scored, key=lambda a: (a["mean"], a["label"]))[:LOWEST]
    below = [a for a in scored if a["mean"] < threshold]
    previous = await _previous(survey)
    trend = []
    if previous is not None:
        before = {r["key"]: r for r in await queries.by_question(previous["id"])}
        for q in questions:
            old = before.get(q["key"])
            if old is not None and q["mean"] is not None:
                trend.append({"label": q["label"], "before": _round(old["mean"]), "now": q["mean"],
                              "change": round(q["mean"] - _round(old["mean"]), 2)})
    actions = await SurveyAction.select().where(SurveyAction.survey_id == survey_id).order_by(
        SurveyAction.due_on).order_by(SurveyAction.id).run()
    areas = {a["area"]: a["label"] for a in questions + groups["building"] + groups["level"] + groups["industry"]}
    areas[GENERAL_AREA] = gettext("The service as a whole")
    covered = {a["area"] for a in actions}
    return {
        "survey": survey, "threshold": threshold, "counts": counts, "rate": rate, "questions": questions,
        "buildings": groups["building"], "levels": groups["level"], "industries": groups["industry"],
        "lowest": lowest, "below": below, "uncovered": [a for a in below if a["area"] not in covered],
        "previous": previous, "trend": trend, "actions": [dict(a) for a in actions], "areas": areas,
        "overall": _round(sum(q["mean"] * q["n"] for q in questions if q["mean"] is not None)
                          / max(1, sum(q["n"] for q in questions if q["mean"] is not None))) if scored else None,
    }


async def report(survey_id: int, principal: Principal) -> dict:
    need(principal)
    return await analysis(survey_id)


# --- charts ------------------------------------------------------------------------------------------

def _short(label: str, room: int = 24) -> str:
    """The label cut to fit the chart's label column (a CJK character is two widths)."""
    used, out = 0, ""
    for char in label:
        used += 2 if ord(char) > 0x2E80 else 1
        if used > room:
            return out + "…"
        out += char
    return out


def bar_chart(rows: list[Mapping[str, Any]], threshold: float, *, width: int = 520, title: str = "") -> Markup:
    """Horizontal bars of mean scores (0-5) with the threshold line; red below it."""
    rows = [r for r in rows if r.get("mean") is not None]
    if not rows:
        return Markup("")
    bar, gap, left, right = 18, 8, 170, 40
    height = len(rows) * (bar + gap) + 30
    scale = (width - left - right) / 5
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" '
             f'width="{width}" height="{height}" role="img" aria-label="{escape(title)}">']
    for i, r in enumerate(rows):
        y = 10 + i * (bar + gap)
        length = max(1.0, float(r["mean"]) * scale)
        colour = "#b3261e" if float(r["mean"]) < threshold else "#2e6b3a"
        label = _short(str(r["label"]))
        parts.append(f'<text x="{left - 6}" y="{y + 13}" text-anchor="end" font-size="11" fill="#222">'
                     f'{escape(label)}</text>')
        parts.append(f'<rect x="{left}" y="{y}" width="{length:.1f}" height="{bar}" fill="{colour}"/>')
        parts.append(f'<text x="{left + length + 4:.1f}" y="{y + 13}" font-size="11" fill="#222">'
                     f'{float(r["mean"]):.2f}</text>')
    x = left + threshold * scale
    parts.append(f'<line x1="{x:.1f}" y1="4" x2="{x:.1f}" y2="{height - 18}" stroke="#555" '
                 f'stroke-dasharray="4 3" stroke-width="1"/>')
    for tick in range(6):
        tx = left + tick * scale
        parts.append(f'<text x="{tx:.1f}" y="{height - 4}" text-anchor="middle" font-size="10" fill="#666">{tick}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def trend_chart(trend: list[Mapping[str, Any]], *, width: int = 520, title: str = "") -> Markup:
    """Paired bars: the previous survey (grey) and this one (blue), per question."""
    if not trend:
        return Markup("")
    bar, gap, left, right = 10, 10, 170, 40
    height = len(trend) * (2 * bar + gap) + 30
    scale = (width - left - right) / 5
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" '
             f'width="{width}" height="{height}" role="img" aria-label="{escape(title)}">']
    for i, r in enumerate(trend):
        y = 10 + i * (2 * bar + gap)
        label = _short(str(r["label"]))
        parts.append(f'<text x="{left - 6}" y="{y + 14}" text-anchor="end" font-size="11" fill="#222">'
                     f'{escape(label)}</text>')
        for j, (value, colour) in enumerate(((r["before"], "#9e9e9e"), (r["now"], "#1f5aa6"))):
            length = max(1.0, float(value) * scale)
            parts.append(f'<rect x="{left}" y="{y + j * bar}" width="{length:.1f}" height="{bar - 1}" fill="{colour}"/>')
            parts.append(f'<text x="{left + length + 4:.1f}" y="{y + j * bar + 9}" font-size="9" fill="#222">'
                         f'{float(value):.2f}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


# --- approval ----------------------------------------------------------------------------------------

def _case(survey: Mapping[str, Any]) -> approvals.Case:
    return approvals.Case(requester_id=survey["report_requested_by_id"], step=REPORT_FLOW.steps[0].name,
                          step_started_at=survey["report_requested_at"])


async def request_approval(survey_id: int, principal: Principal) -> None:
    """Submit the report to the general manager: the survey is closed, has
    answers, and every area below the threshold has a corrective action."""
    need(principal)
    data = await analysis(survey_id)
    survey = data["survey"]
    if survey["status"] != "closed":
        raise Conflict("Close the survey before submitting its report.")
    if not data["counts"]["answered"]:
        raise Conflict("No tenant has answered this survey yet.")
    if data["uncovered"]:
        raise FormErrors({"area": N_("Every area below the threshold needs a corrective action first.")},
                         {"area": "actions.missing"})
    async with core_tx():
        locked = await Survey.select(Survey.report_status).where(Survey.id == survey_id).lock_rows(
            "UPDATE").first().run()
        if locked["report_status"] in ("pending", "approved"):
            raise Conflict("This report has already been submitted.")
        await Survey.update({Survey.report_status: "pending", Survey.report_requested_by_id: principal.user_id,
                             Survey.report_requested_by: principal.name, Survey.report_requested_at: now(),
                             Survey.report_reason: ""}).where(Survey.id == survey_id).run()
        await audit.record("survey.report.submit", principal=principal, target=f"survey:{survey_id}")


async def decide_report(survey_id: int, principal: Principal, *, approve: bool, reason: str = "",
                        expected_step: str | None = None) -> str:
    """The general manager approves (the report is issued) or sends it back with a reason."""
    need(principal, Perm.SURVEY_APPROVE)
    reason = (reason or "").strip()[:1000]
    decision = approvals.Decision.APPROVE if approve else approvals.Decision.REJECT
    async with core_tx():
        survey = await Survey.select().where(Survey.id == survey_id).lock_rows("UPDATE").first().run()
        if survey is None:
            raise NotFound("No such survey.")
        if survey["report_status"] != "pending":
            raise Conflict("This report is not waiting for a decision.")
        decided = approvals.decide(REPORT_FLOW, _case(survey), principal, decision, reason=reason,
                                   expected_step=expected_step)
        status = decided.after.outcome.value
        await Survey.update({Survey.report_status: status, Survey.report_decided_by_id: principal.user_id,
                             Survey.report_decided_by: principal.name, Survey.report_decided_at: now(),
                             Survey.report_reason: decided.reason}).where(Survey.id == survey_id).run()
        await approvals.record(decided, principal, target=f"survey:{survey_id}")
    return status


# --- corrective actions ------------------------------------------------------------------------------

async def add_action(survey_id: int, raw: Mapping[str, Any], principal: Principal) -> int:
    need(principal)
    cleaned = forms.clean_action(raw, today=today())
    data = await analysis(survey_id)
    if cleaned["area"] not in data["areas"]:
        raise FormErrors({"area": N_("Choose an area of the report.")}, {"area": "area.choice"})
    async with core_tx():
        action_id = (await SurveyAction.insert(SurveyAction(
            survey_id=survey_id, created_by=principal.name, **cleaned)).returning(SurveyAction.id).run())[0]["id"]
        await audit.record("survey.action.add", principal=principal, target=f"survey:{survey_id}",
                           detail={"owner": cleaned["owner"], "due_on": cleaned["due_on"].isoformat()})
    return action_id


async def finish_action(survey_id: int, action_id: int, principal: Principal) -> None:
    need(principal)
    async with core_tx():
        row = await SurveyAction.select().where((SurveyAction.id == action_id)
                                                & (SurveyAction.survey_id == survey_id)).lock_rows(
            "UPDATE").first().run()
        if row is None:
            raise NotFound("No such corrective action.")
        if row["status"] == "done":
            raise Conflict("This corrective action is already done.")
        await SurveyAction.update({SurveyAction.status: "done", SurveyAction.done_by: principal.name,
                                   SurveyAction.done_at: now()}).where(SurveyAction.id == action_id).run()
        await audit.record("survey.action.done", principal=principal, target=f"survey:{survey_id}")


# --- the PDF -----------------------------------------------------------------------------------------

def _render(ctx: dict, settings, locale: str) -> bytes:
    from documents.pdf import render_pdf
    from tenants.money.fonts import subset_fonts

    fonts = subset_fonts(settings.data_path)
    font_urls = {k: p.as_uri() for k, p in fonts.items()} if fonts else None
    return render_pdf("survey_report.html", locale=locale, fonts=font_urls, **ctx)


async def report_pdf(survey_id: int, principal: Principal, settings, locale: str = "zh") -> tuple[str, bytes]:
    """The report as a PDF (WeasyPrint). Before approval it prints marked as a draft."""
    import anyio

    need(principal)
    previous = i18n.get_locale()
    i18n.set_locale(locale)  # the labels (questions, levels) in the PDF's language
    try:
        data = await analysis(survey_id)
        office = settings.office_name if locale == "zh" else settings.office_name_en
        charts = {
            "questions": bar_chart(data["questions"], data["threshold"], title=gettext("Scores by question")),
            "buildings": bar_chart(data["buildings"], data["threshold"], title=gettext("Scores by building")),
            "levels": bar_chart(data["levels"], data["threshold"], title=gettext("Scores by level")),
            "industries": bar_chart(data["industries"], data["threshold"], title=gettext("Scores by industry")),
            "trend": trend_chart(data["trend"], title=gettext("Trend against the previous survey")),
        }
    finally:
        i18n.set_locale(previous)
    ctx = {**data, "charts": charts, "office": office, "issue_date": today(),
           "report_statuses": REPORT_STATUSES, "action_statuses": ACTION_STATUSES}
    await audit.record("survey.report.print", principal=principal, target=f"survey:{survey_id}")
    body = await anyio.to_thread.run_sync(lambda: _render(ctx, settings, locale))
    return f"survey-{survey_id}-{dt.date.today().isoformat()}", body
