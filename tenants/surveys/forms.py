"""Cleaning survey input with the one collector (``portal.core.forms.Form``)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Mapping

from portal.core.forms import Form, InvalidValue
from portal.core.i18n import N_
from portal.core.params import whole_number

# The standard questions (label msgids, translated where shown); custom ones are c1..c5.
STANDARD = {
    "service": N_("Service quality"),
    "price": N_("Price"),
    "responsiveness": N_("Responsiveness"),
    "overall": N_("Overall satisfaction"),
}
MAX_CUSTOM = 5
KINDS = {"yearly": N_("Yearly survey"), "on_demand": N_("On-demand survey")}
AUDIENCES = {"all": N_("All tenants"), "building": N_("Tenants of some buildings"), "level": N_("Tenants of some levels")}
SCORES = (1, 2, 3, 4, 5)
COMMENT_LIMIT = 1000


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    return [str(value)]


def _ids(values: list[str], allowed: set[int], message: str) -> list[int]:
    out = []
    for raw in values:
        number = whole_number(raw)
        if number is None or number not in allowed:
            raise InvalidValue(message, "choice")
        out.append(number)
    return sorted(set(out))


def _closing_date(value: Any, today: dt.date) -> dt.date:
    try:
        day = dt.date.fromisoformat(str(value or "").strip())
    except ValueError:
        raise InvalidValue(N_("Enter the closing date as YYYY-MM-DD."), "date") from None
    if day < today:
        raise InvalidValue(N_("The closing date cannot be in the past."), "date.past")
    if day > today + dt.timedelta(days=366):
        raise InvalidValue(N_("The closing date must be within a year."), "date.range")
    return day


def clean_survey(raw: Mapping[str, Any], *, buildings: set[int], today: dt.date) -> dict[str, Any]:
    """A new survey: title, kind, questions (standard + custom lines), audience, closing date."""
    form = Form(raw)
    title = form.text("title", limit=200, required=N_("Give the survey a title."))
    kind = form.choice("kind", KINDS, default="yearly")
    standard = [k for k in STANDARD if k in set(_as_list(raw.get("questions")))]
    custom_lines = [line.strip() for line in str(raw.get("custom") or "").splitlines() if line.strip()]
    if len(custom_lines) > MAX_CUSTOM:
        form.fail("custom", "custom.too_many", N_("At most five questions of your own."))
    elif any(len(line) > 200 for line in custom_lines):
        form.fail("custom", "custom.too_long", "This text is too long.")
    questions = [{"key": k, "label": ""} for k in standard]
    questions += [{"key": f"c{i}", "label": line} for i, line in enumerate(custom_lines[:MAX_CUSTOM], start=1)]
    if not questions:
        form.fail("questions", "questions.required", N_("Choose at least one question."))
    audience = form.choice("audience", AUDIENCES, default="all")
    audience_ids: list[int] = []
    if audience == "building":
        audience_ids = form.run("building_ids", _ids, _as_list(raw.get("building_ids")), buildings,
                                N_("Choose buildings from the list."), default=[]) or []
        if not audience_ids and "building_ids" not in form.errors:
            form.fail("building_ids", "building_ids.required", N_("Choose at least one building."))
    elif audience == "level":
        audience_ids = form.run("levels", _ids, _as_list(raw.get("levels")), {0, 1, 2, 3},
                                N_("Choose levels from the list."), default=[]) or []
        if not audience_ids and "levels" not in form.errors:
            form.fail("levels", "levels.required", N_("Choose at least one level."))
    closes_on = form.run("closes_on", _closing_date, raw.get("closes_on"), today)
    form.check()
    return {"title": title, "kind": kind, "questions": questions, "audience": audience,
            "audience_ids": audience_ids, "closes_on": closes_on}


def _score(value: Any) -> int:
    text = "" if value is None else str(value).strip()
    if not text:
        raise InvalidValue(N_("Choose a score from 1 to 5."), "score.required")
    number = whole_number(text)
    if number not in SCORES:
        raise InvalidValue(N_("A score is a whole number from 1 to 5."), "score.range")
    return number


def clean_answer(raw: Mapping[str, Any], questions: list[dict]) -> tuple[dict[str, int], dict[str, str]]:
    """Scores (1-5, every question) and optional comments, keyed by question."""
    form = Form(raw)
    scores: dict[str, int] = {}
    comments: dict[str, str] = {}
    for question in questions:
        key = question["key"]
        score = form.run(f"score_{key}", _score, raw.get(f"score_{key}"))
        if score is not None:
            scores[key] = score
        comment = form.text(f"comment_{key}", limit=COMMENT_LIMIT)
        if comment:
            comments[key] = comment
    form.check()
    return scores, comments


def _due(value: Any, today: dt.date) -> dt.date:
    try:
        day = dt.date.fromisoformat(str(value or "").strip())
    except ValueError:
        raise InvalidValue(N_("Enter the due date as YYYY-MM-DD."), "date") from None
    if not today - dt.timedelta(days=366) <= day <= today + dt.timedelta(days=731):
        raise InvalidValue(N_("The due date must be within two years."), "date.range")
    return day


def clean_action(raw: Mapping[str, Any], *, today: dt.date) -> dict[str, Any]:
    """A corrective action: the area it addresses, what is done, by whom, by when."""
    form = Form(raw)
    area = form.text("area", limit=200, required=N_("Say which area the action addresses."))
    description = form.text("description", limit=1000, required=N_("Describe the action."))
    owner = form.text("owner", limit=100, required=N_("Name the person responsible."))
    due_on = form.run("due_on", _due, raw.get("due_on"), today)
    form.check()
    return {"area": area, "description": description, "owner": owner, "due_on": due_on}
