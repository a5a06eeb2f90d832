"""Cleaning complaint input on the one form collector (``portal.core.forms.Form``)."""

from __future__ import annotations

from typing import Any, Mapping

from portal.core.forms import Form, InvalidValue
from tenants.complaints.flow import CHANNELS, GRADES, REMEDY_KINDS, STEPS

STAFF_CHANNELS = tuple(c for c in CHANNELS if c != "portal")
MAX_REMEDY_FEN = 100_000_000_00  # one hundred million yuan


def _no_controls(form: Form, field: str, value: str) -> str:
    if any(ord(c) < 32 and c not in "\n\r\t" for c in value):
        form.fail(field, f"{field}.control", "This text contains characters that are not allowed.")
    return value


def _text(form: Form, field: str, *, limit: int = 2000, required: str | None = None) -> str:
    return _no_controls(form, field, form.text(field, limit=limit, required=required))


def clean_new(raw: Mapping[str, Any], *, staff: bool) -> dict[str, Any]:
    """A complaint as lodged: by a tenant in the portal, or recorded by staff from a call or visit."""
    form = Form(raw)
    out = {
        "description": _text(form, "description", required="Describe what the complaint is about."),
        "against": _text(form, "against", limit=200),
        "request": _text(form, "request"),
        "contact": _text(form, "contact", limit=200),
    }
    if staff:
        out["channel"] = form.choice("channel", STAFF_CHANNELS, default="phone")
        out["complainant"] = _text(form, "complainant", limit=200, required="Give the complainant's name.")
        out["grade"] = form.choice("grade", GRADES, default="general")
        out["legal_hold_requested"] = form.flag("legal_hold_requested")
    else:
        out["channel"] = "portal"
        out["complainant"] = _text(form, "complainant", limit=200)
        out["grade"] = "general"
        out["legal_hold_requested"] = False
    form.check()
    if out["grade"] == "major":
        out["legal_hold_requested"] = True  # a major complaint always places the flag
    return out


def parse_yuan(text: str) -> int:
    """'1,234.5' -> 123450 fen; blank is 0."""
    text = (text or "").strip().replace(",", "")
    if not text:
        return 0
    whole, _, frac = text.partition(".")
    if not whole.isdigit() or (frac and (not frac.isdigit() or len(frac) > 2)):
        raise InvalidValue("Enter an amount in yuan, e.g. 1200.50.")
    fen = int(whole) * 100 + int((frac + "00")[:2] or 0)
    if fen > MAX_REMEDY_FEN:
        raise InvalidValue("The amount is too large.")
    return fen


def clean_step(step: str, decision: str, raw: Mapping[str, Any], grade: str = "general") -> dict[str, Any]:
    """What a step's approving form carries (a send-back or rejection only carries its note)."""
    form = Form(raw)
    out: dict[str, Any] = {"note": _text(form, "note", limit=1000)}
    if decision != "approve":
        form.check()
        return out
    if step == "record":
        out["grade"] = form.choice("grade", GRADES, default=grade)  # blank keeps the grade
    elif step == "assign":
        out["department"] = _text(form, "department", limit=200, required="Name the responsible department.")
    elif step == "cause":
        out["cause"] = _text(form, "cause", required="Describe the cause.")
        out["responsible"] = _text(form, "responsible", limit=200, required="Name the person responsible.")
    elif step == "remedy":
        out["remedy_kind"] = form.choice("remedy_kind", REMEDY_KINDS)
        out["remedy"] = _text(form, "remedy", required="Describe the remedy.")
        out["remedy_fen"] = form.run("remedy_amount", parse_yuan, str(raw.get("remedy_amount") or ""), default=0)
        if out["remedy_kind"] in ("discount", "compensation") and not out["remedy_fen"] and "remedy_kind" not in form.errors:
            form.fail("remedy_amount", "remedy_amount.required", "Give the amount of the discount or compensation.")
        elif out["remedy_kind"] not in ("discount", "compensation") and out["remedy_fen"]:
            form.fail("remedy_amount", "remedy_amount.not_money",
                      "An amount is only given for a discount or compensation.")
    elif step == "carry_out":
        out["reply"] = _text(form, "reply", required="Write the reply the tenant will read.")
        out["feedback"] = _text(form, "feedback")
    elif step == "review":
        out["follow_up"] = _text(form, "follow_up", required="Record the follow-up with the tenant.")
        out["lessons"] = _text(form, "lessons", required="Record the lessons learned.")
    form.check()
    return out


def clean_decision(raw: Mapping[str, Any], current: str) -> tuple[str, str | None]:
    """The decision and, for a send-back, the step it goes to."""
    form = Form(raw)
    decision = form.choice("decision", ("approve", "reject", "send_back"))
    to_step = str(raw.get("to_step") or "").strip() or None
    if decision == "send_back" and to_step is not None and to_step not in STEPS[:STEPS.index(current)]:
        form.fail("to_step", "to_step.choice", "Choose an earlier step.")
    if decision == "reject" and current != "stands":
        form.fail("decision", "decision.choice", "Only the decision whether the complaint stands can close it.")
    form.check()
    return decision, to_step
