"""Cleaning of profile and contact input: one place for the rules, used by the
console, the portal and the API alike. Messages are English msgids."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any, Mapping

from portal.core.errors import FormErrors
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


def _text(raw: Mapping[str, Any], name: str) -> str:
    value = raw.get(name)
    return "" if value is None else str(value).strip()


def _flag(raw: Mapping[str, Any], name: str) -> bool:
    value = raw.get(name)
    if isinstance(value, bool):
        return value
    return str(value or "").strip().lower() in {"1", "true", "on", "yes"}


class _Collector:
    def __init__(self) -> None:
        self.errors: dict[str, str] = {}
        self.codes: dict[str, str] = {}

    def fail(self, field: str, code: str, message: str) -> None:
        self.errors.setdefault(field, message)
        self.codes.setdefault(field, code)

    def run(self, field: str, func, value):
        try:
            return func(value)
        except v.ValidationError as exc:
            self.fail(field, exc.code, exc.message)
            return value

    def raise_if_any(self) -> None:
        if self.errors:
            raise FormErrors(self.errors, self.codes)


def clean_profile(raw: Mapping[str, Any], *, only: set[str] | None = None) -> dict[str, Any]:
    """Validate a profile form. ``only`` limits cleaning to the fields present
    in a partial update (API PATCH, tenant change request)."""
    fields = [f for f in PROFILE_FIELDS if only is None or f in only]
    c = _Collector()
    out: dict[str, Any] = {}
    for name, limit in TEXT_LIMITS.items():
        if name in fields:
            out[name] = _text(raw, name)
            if len(out[name]) > limit:
                c.fail(name, f"{name}.too_long", "This text is too long.")
    if "name" in fields and not out.get("name"):
        c.fail("name", "name.required", "The name is required.")
    if "kind" in fields:
        out["kind"] = _text(raw, "kind").upper()
        if out["kind"] not in KINDS:
            c.fail("kind", "kind.choice", "Choose enterprise or individual.")
    if "level" in fields:
        try:
            out["level"] = int(_text(raw, "level") or 0)
            if out["level"] not in LEVELS:
                raise ValueError
        except ValueError:
            c.fail("level", "level.choice", "Choose a customer level.")
    if "status" in fields:
        out["status"] = _text(raw, "status") or "potential"
        if out["status"] not in STATUSES:
            c.fail("status", "status.choice", "Choose a status.")
    if "source_channel" in fields:
        out["source_channel"] = _text(raw, "source_channel")
        if out["source_channel"] and out["source_channel"] not in SOURCES:
            c.fail("source_channel", "source_channel.choice", "Choose a source channel.")
    if "credit_code" in fields:
        code = _text(raw, "credit_code")
        out["credit_code"] = c.run("credit_code", v.validate_credit_code, code) if code else ""
    if "resident_id" in fields:
        number = _text(raw, "resident_id")
        out["resident_id"] = c.run("resident_id", v.validate_resident_id, number) if number else ""
    if "registered_capital" in fields:
        out["registered_capital"] = _decimal(c, _text(raw, "registered_capital"))
    if "move_in_date" in fields:
        out["move_in_date"] = _date(c, "move_in_date", _text(raw, "move_in_date"))
    kind = out.get("kind")
    if kind == "E" and "credit_code" in fields and not out.get("credit_code") and "credit_code" not in c.errors:
        c.fail("credit_code", "credit_code.required", "An enterprise needs its unified social credit code.")
    if kind == "P" and "resident_id" in fields and not out.get("resident_id") and "resident_id" not in c.errors:
        c.fail("resident_id", "resident_id.required", "An individual needs a resident ID number.")
    c.raise_if_any()
    return out


def _decimal(c: _Collector, text: str) -> Decimal | None:
    if not text:
        return None
    try:
        value = Decimal(text.replace(",", ""))
        if not value.is_finite() or value < 0 or value >= Decimal("1e16"):
            raise InvalidOperation
        return value.quantize(Decimal("0.01"))
    except InvalidOperation:
        c.fail("registered_capital", "registered_capital.format", "Enter an amount in yuan, e.g. 5000000.00.")
        return None


def _date(c: _Collector, field: str, text: str) -> dt.date | None:
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        c.fail(field, f"{field}.format", "Enter a date as YYYY-MM-DD.")
        return None


def clean_contact(raw: Mapping[str, Any]) -> dict[str, Any]:
    c = _Collector()
    out: dict[str, Any] = {"name": _text(raw, "name"), "position": _text(raw, "position")}
    if not out["name"]:
        c.fail("name", "name.required", "The name is required.")
    elif len(out["name"]) > 100:
        c.fail("name", "name.too_long", "This text is too long.")
    if len(out["position"]) > 100:
        c.fail("position", "position.too_long", "This text is too long.")
    for field, func in (("mobile", v.validate_mobile), ("landline", v.validate_landline), ("email", v.validate_email)):
        value = _text(raw, field)
        out[field] = c.run(field, func, value) if value else ""
    for flag in CONTACT_FLAGS:
        out[flag] = _flag(raw, flag)
    if not (out["mobile"] or out["landline"] or out["email"]) and "mobile" not in c.errors:
        c.fail("mobile", "contact.unreachable", "Give at least one way to reach this contact.")
    if out["receives_notices"] and not out["email"] and "email" not in c.errors:
        c.fail("email", "email.required_for_notices", "A contact who receives notices needs an e-mail address.")
    c.raise_if_any()
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
