"""Cleaning repair input with the one collector (``portal.core.forms.Form``)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any, Mapping

from portal.core.forms import Form, InvalidValue
from portal.core.params import has_control_chars, whole_number

CATEGORIES = ("water", "electrical", "hvac", "lift", "doors_locks", "network", "cleaning", "other")
URGENCIES = ("normal", "urgent")
CHANNELS = ("portal", "phone", "walk_in", "inspection")
STAFF_CHANNELS = ("phone", "walk_in", "inspection")
# Categories that are urgent whatever the reporter chose (a leak, power, a lift).
ALWAYS_URGENT_WHEN_FLAGGED = ("water", "electrical", "lift")
PART_KINDS = ("part", "labour")


def _plain(form: Form, field: str, value: str, *, multiline: bool = False) -> str:
    if has_control_chars(value, multiline=multiline):
        form.fail(field, f"{field}.control", "This text contains characters that are not allowed.")
    return value


def clean_report(raw: Mapping[str, Any], *, staff: bool, unit_ids: set[int]) -> dict:
    form = Form(raw)
    out = {
        "category": form.choice("category", CATEGORIES, message="Choose what needs repairing."),
        "description": _plain(form, "description", form.text(
            "description", limit=2000, required="Describe what needs repairing."), multiline=True),
        "location": _plain(form, "location", form.text("location", limit=200)),
        "preferred_window": _plain(form, "preferred_window", form.text("preferred_window", limit=100)),
        "urgency": form.choice("urgency", URGENCIES, default="normal"),
        "channel": form.choice("channel", STAFF_CHANNELS, default="phone") if staff else "portal",
    }
    unit = form.run("unit_id", _int, raw.get("unit_id"), 1, 2**31 - 1, "Choose one of the tenant's units.")
    if unit is not None and unit not in unit_ids:
        form.fail("unit_id", "unit_id.choice", "Choose one of the tenant's units.")
    out["unit_id"] = unit
    form.check()
    return out


def clean_note(raw: Mapping[str, Any], *, required: bool = False) -> str:
    form = Form(raw)
    note = _plain(form, "note", form.text("note", limit=1000, required="Say why." if required else None),
                  multiline=True)
    form.check()
    return note


def _int(value: Any, lo: int, hi: int, message: str) -> int | None:
    if value in (None, ""):
        return None
    number = whole_number(value)
    if number is None or not lo <= number <= hi:
        raise InvalidValue(message)
    return number


def _rating(value: Any) -> int | None:
    if value in (None, ""):
        return None
    text = str(value).strip()
    if not text.isdigit() or not 1 <= int(text) <= 5:
        raise InvalidValue("Rate from 1 to 5.")
    return int(text)


def clean_rating(raw: Mapping[str, Any], *, required: bool) -> tuple[int | None, str]:
    form = Form(raw)
    rating = form.run("rating", _rating, raw.get("rating"))
    if required and rating is None and "rating" not in form.errors:
        form.fail("rating", "rating.required", "Rate from 1 to 5.")
    comment = _plain(form, "comment", form.text("comment", limit=1000), multiline=True)
    form.check()
    return rating, comment


def _quantity(value: Any) -> Decimal:
    try:
        q = Decimal(str(value or "1").strip())
    except (InvalidOperation, ValueError):
        raise InvalidValue("Enter a quantity like 1 or 2.5.") from None
    if not q.is_finite() or q <= 0 or q > 10000 or q != q.quantize(Decimal("0.01")):
        raise InvalidValue("Enter a quantity like 1 or 2.5.")
    return q


def _price_fen(value: Any) -> int:
    try:
        yuan = Decimal(str(value or "").strip())
    except (InvalidOperation, ValueError):
        raise InvalidValue("Enter an amount like 120.50.") from None
    if not yuan.is_finite() or yuan < 0 or yuan > 1_000_000 or yuan != yuan.quantize(Decimal("0.01")):
        raise InvalidValue("Enter an amount like 120.50.")
    return int(yuan * 100)


def clean_part(raw: Mapping[str, Any]) -> dict:
    form = Form(raw)
    out = {
        "kind": form.choice("kind", PART_KINDS, default="part"),
        "description": _plain(form, "description", form.text("description", limit=200,
                                                             required="Say what was used or done.")),
        "quantity": form.run("quantity", _quantity, raw.get("quantity")),
        "unit_price_fen": form.run("unit_price", _price_fen, raw.get("unit_price")),
    }
    form.check()
    return out


def clean_technician(raw: Mapping[str, Any]) -> dict:
    form = Form(raw)
    skills = raw.get("skills") or []
    if isinstance(skills, str):
        skills = [s for s in skills.replace(",", " ").split() if s]
    skills = [str(s) for s in skills]
    if not skills or any(s not in CATEGORIES for s in skills):
        form.fail("skills", "skills.choice", "Choose at least one skill.")
    capacity = form.run("capacity", _int, raw.get("capacity") or "5", 1, 50, "Enter a number from 1 to 50.")
    form.check()
    return {"skills": sorted(set(skills)), "capacity": capacity or 5, "active": form.flag("active")}
