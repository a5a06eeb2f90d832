"""Cleaning of profile and contact input: one place for the rules, used by the
console, the portal and the API alike. Messages are English msgids."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any, Mapping

from portal.core.forms import Form, InvalidValue
from tenants import validators as v

KINDS = ("E", "P")
LEVELS = (0, 1, 2, 3)
STATUSES = ("potential", "active", "dormant", "lost")
SOURCES = ("front_desk", "sales", "market_research", "self_service", "referral", "other")

# label msgids, shown translated by the UI
KIND_LABELS = {"E": "Enterprise", "P": "Individual"}
LEVEL_LABELS = {0: "Normal", 1: "Silver", 2: "Gold", 3: "Diamond"}
STATUS_LABELS = {"potential": "Potential", "active": "Active", "dormant": "Dormant", "lost": "Lost"}
SOURCE_LABELS = {
    "front_desk": "Front desk",
    "sales": "Sales",
    "market_research": "Market research",
    "self_service": "Self-service (website/app)",
    "referral": "Referral",
    "other": "Other",
}

# How the change log and review pages name each field (msgids).
FIELD_LABELS = {
    "name": "Name", "kind": "Type", "credit_code": "Unified social credit code", "resident_id": "Resident ID number",
    "legal_rep": "Legal representative", "registered_capital": "Registered capital (yuan)", "industry": "Industry",
    "business_scope": "Business scope", "registered_address": "Registered address", "level": "Customer level",
    "source_channel": "Source channel", "status": "Status", "move_in_date": "Move-in date",
    "special_needs": "Special needs", "notes": "Notes", "position": "Position", "mobile": "Mobile",
    "landline": "Landline", "email": "E-mail", "is_primary": "Primary contact", "is_emergency": "Emergency contact",
    "receives_notices": "Receives notices", "active": "Active", "created": "Created",
}

TEXT_LIMITS = {
    "name": 200,
    "legal_rep": 100,
    "industry": 100,
    "business_scope": 2000,
    "registered_address": 300,
    "special_needs": 2000,
    "notes": 4000,
    "position": 100,
}

PROFILE_FIELDS = (
    "name", "kind", "credit_code", "resident_id", "legal_rep", "registered_capital", "industry",
    "business_scope", "registered_address", "level", "source_channel", "status", "move_in_date",
    "special_needs", "notes",
)
CONTACT_FIELDS = ("name", "position", "mobile", "landline", "email", "is_primary", "is_emergency", "receives_notices")
CONTACT_FLAGS = ("is_primary", "is_emergency", "receives_notices")


def _plain(raw: Mapping[str, Any], name: str) -> str:
    """The field as stripped text, without a length rule (its parser judges it)."""
    value = raw.get(name)
    return "" if value is None else str(value).strip()


def clean_profile(raw: Mapping[str, Any], *, only: set[str] | None = None) -> dict[str, Any]:
    """Validate a profile form. ``only`` limits cleaning to the fields present
    in a partial update (API PATCH, tenant change request)."""
    fields = [f for f in PROFILE_FIELDS if only is None or f in only]
    form = Form(raw)
    out: dict[str, Any] = {}
    for name, limit in TEXT_LIMITS.items():
        if name in fields:
            out[name] = form.text(name, limit=limit, required="The name is required." if name == "name" else None)
    if "kind" in fields:
        out["kind"] = _plain(raw, "kind").upper()
        if out["kind"] not in KINDS:
            form.fail("kind", "kind.choice", "Choose enterprise or individual.")
    if "level" in fields:
        out["level"] = form.run("level", _level, _plain(raw, "level"), default=0)
    if "status" in fields:
        out["status"] = _plain(raw, "status") or "potential"
        if out["status"] not in STATUSES:
            form.fail("status", "status.choice", "Choose a status.")
    if "source_channel" in fields:
        out["source_channel"] = _plain(raw, "source_channel")
        if out["source_channel"] and out["source_channel"] not in SOURCES:
            form.fail("source_channel", "source_channel.choice", "Choose a source channel.")
    for name, validate in (("credit_code", v.validate_credit_code), ("resident_id", v.validate_resident_id)):
        if name in fields:
            text = _plain(raw, name)
            out[name] = form.run(name, validate, text, default=text) if text else ""
    if "registered_capital" in fields:
        out["registered_capital"] = form.run("registered_capital", _capital, _plain(raw, "registered_capital"))
    if "move_in_date" in fields:
        out["move_in_date"] = form.run("move_in_date", _date, "move_in_date", _plain(raw, "move_in_date"))
    kind = out.get("kind")
    if kind == "E" and "credit_code" in fields and not out.get("credit_code") and "credit_code" not in form.errors:
        form.fail("credit_code", "credit_code.required", "An enterprise needs its unified social credit code.")
    if kind == "P" and "resident_id" in fields and not out.get("resident_id") and "resident_id" not in form.errors:
        form.fail("resident_id", "resident_id.required", "An individual needs a resident ID number.")
    form.check()
    return out


def _level(text: str) -> int:
    try:
        level = int(text or 0)
    except ValueError:
        level = -1
    if level not in LEVELS:
        raise InvalidValue("Choose a customer level.", "level.choice")
    return level


def _capital(text: str) -> Decimal | None:
    if not text:
        return None
    try:
        value = Decimal(text.replace(",", ""))
        if not value.is_finite() or value < 0 or value >= Decimal("1e16"):
            raise InvalidOperation
        return value.quantize(Decimal("0.01"))
    except InvalidOperation:
        raise InvalidValue("Enter an amount in yuan, e.g. 5000000.00.", "registered_capital.format") from None


def _date(field: str, text: str) -> dt.date | None:
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InvalidValue("Enter a date as YYYY-MM-DD.", f"{field}.format") from None


def clean_contact(raw: Mapping[str, Any]) -> dict[str, Any]:
    form = Form(raw)
    out: dict[str, Any] = {"name": form.text("name", limit=100, required="The name is required."),
                           "position": form.text("position", limit=100)}
    for field, validate in (("mobile", v.validate_mobile), ("landline", v.validate_landline),
                            ("email", v.validate_email)):
        value = _plain(raw, field)
        out[field] = form.run(field, validate, value, default=value) if value else ""
    for flag in CONTACT_FLAGS:
        out[flag] = form.flag(flag)
    if not (out["mobile"] or out["landline"] or out["email"]) and "mobile" not in form.errors:
        form.fail("mobile", "contact.unreachable", "Give at least one way to reach this contact.")
    if out["receives_notices"] and not out["email"] and "email" not in form.errors:
        form.fail("email", "email.required_for_notices", "A contact who receives notices needs an e-mail address.")
    form.check()
    return out


def as_text(value: Any) -> str:
    """How a value is written into the change log."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return str(value)
