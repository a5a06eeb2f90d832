"""The pieces inside an event sentence, in the reader's language: money, dates
and moments, field values and labels, who acted, notice titles, charge
descriptions and review statuses."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Any, Mapping
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime

from portal.core.i18n import N_, get_locale, gettext as _

SHANGHAI = ZoneInfo("Asia/Shanghai")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


# --- values ------------------------------------------------------------------------------------

def money(value: Any) -> str:
    """Yuan (number or text) -> '¥3,000.00'; fen as int with ``fen=True`` via ``money_fen``."""
    try:
        amount = Decimal(str(value).replace(",", ""))
    except (InvalidOperation, ValueError):
        return str(value)
    sign = "-" if amount < 0 else ""
    return f"{sign}¥{abs(amount):,.2f}"


def money_fen(fen: int) -> str:
    return money(Decimal(int(fen)) / 100)


def date(value: dt.date | str | None) -> str:
    if value in (None, ""):
        return ""
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value[:10])
        except ValueError:
            return value
    return format_date(value, "long", locale=_babel_locale())


def when(value: dt.datetime | None) -> str:
    """A moment, in Shanghai time, as the language writes it."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    pattern = "y年M月d日 HH:mm" if get_locale() == "zh" else "d MMM y, HH:mm"
    return format_datetime(value.astimezone(SHANGHAI), pattern, locale=_babel_locale())


def _babel_locale() -> str:
    return "zh_Hans_CN" if get_locale() == "zh" else "en_GB"


def _choice_labels() -> dict[str, Mapping]:
    from documents.service import CATEGORIES, CONFIDENTIALITY
    from tenants.file import forms

    return {"kind": forms.KIND_LABELS, "status": forms.STATUS_LABELS, "source_channel": forms.SOURCE_LABELS,
            "level": {str(k): v for k, v in forms.LEVEL_LABELS.items()}, "category": CATEGORIES,
            "confidentiality": CONFIDENTIALITY}


YES_NO = {"yes": N_("yes"), "no": N_("no"), "true": N_("yes"), "false": N_("no")}
FLAG_FIELDS = frozenset({"is_primary", "is_emergency", "receives_notices", "active", "visible_to_tenant"})


def value(field: str, raw: Any) -> str:
    """A stored field value as the reader should see it: yes/no, labels for
    codes, dates and money written out. Free text is returned as it is."""
    if raw is None or raw == "":
        return ""
    if isinstance(raw, bool):
        return _("yes") if raw else _("no")
    text = str(raw)
    if field in FLAG_FIELDS and text.lower() in YES_NO:
        return _(YES_NO[text.lower()])
    labels = _choice_labels().get(field)
    if labels and text in labels:
        return _(labels[text])
    if field == "registered_capital":
        return money(text)
    if _ISO_DATE.match(text):
        return date(text)
    return text


def field_label(field: str) -> str:
    from tenants.file.forms import FIELD_LABELS

    label = FIELD_LABELS.get(field) or DOCUMENT_FIELD_LABELS.get(field)
    return _(label) if label else _("a detail")


DOCUMENT_FIELD_LABELS = {
    "category": N_("Category"), "title": N_("Title"), "issue_date": N_("Issue date"),
    "received_date": N_("Received date"), "pages": N_("Pages"), "paper_location": N_("Paper location"),
    "confidentiality": N_("Confidentiality"), "visible_to_tenant": N_("Visible to the tenant"),
}


# --- actors ------------------------------------------------------------------------------------

ACTOR_KINDS = {"staff": N_("staff"), "portal": N_("tenant user"), "system": N_("system"), "anonymous": N_("not signed in")}


# Names the background jobs write as their actor.
SYSTEM_NAMES = frozenset({"", "system", "billing", "beat", "retention"})


def actor(kind: str, name: str) -> str:
    """Who did it, as a sentence subject: the person's name; the system by its role."""
    return _("The system") if kind == "system" or name in SYSTEM_NAMES else name


def actor_with_kind(kind: str, name: str) -> str:
    """For the audit log: the name and, when not a signed-in person, what it was."""
    label = _(ACTOR_KINDS[kind]) if kind in ACTOR_KINDS else ""
    if kind == "system" or name in SYSTEM_NAMES - {""}:
        return _("The system")
    if kind == "anonymous":
        return _("%(name)s (not signed in)") % {"name": name} if name else _("Someone not signed in")
    if not name:
        return _("The system")
    return f"{name} · {label}" if label else name


def names_by_id(rows) -> dict[int, str]:
    """Contact id -> name, for sentences about a contact."""
    return {r["id"]: r["name"] for r in rows}


# --- titles and descriptions ---------------------------------------------------------------

def notice_title(stored: str) -> str:
    """A notice title is stored in the notice's own language ('欠费通知书 CJ2026-000063 1,200.00'):
    shown in the reader's language, number and amount kept."""
    from tenants.money.notices import KINDS
    from portal.core.i18n import translations

    for msgid in KINDS.values():
        for written in {msgid, translations("zh").gettext(msgid)}:
            if stored.startswith(written):
                rest = stored[len(written):].strip()
                number, _sep, amount = rest.partition(" ")
                text = f"{_(msgid)} {number}".strip()
                return f"{text} · {money(amount)}" if amount else text
    return stored


def charge_description(charge: Mapping, fee_items: Mapping[str, Mapping]) -> str:
    """A charge is described with its fee item's Chinese name ('物业管理费 2026-11'):
    in English mode the item's English name replaces it."""
    text = charge.get("description") or ""
    if get_locale() != "en":
        return text
    item = fee_items.get(charge.get("fee_item") or "")
    candidates = [item] if item else sorted(fee_items.values(), key=lambda i: len(i["name"]), reverse=True)
    for candidate in candidates:
        if candidate.get("name_en") and candidate["name"] and text.startswith(candidate["name"]):
            return candidate["name_en"] + text[len(candidate["name"]):]
    return text


# --- review statuses ---------------------------------------------------------------------------

STATUS_LABELS = {
    "pending": N_("Waiting for review"), "approved": N_("Approved"), "rejected": N_("Rejected"),
    "accepted": N_("Accepted"), "withdrawn": N_("Withdrawn"),
}


def status(code: str) -> str:
    return _(STATUS_LABELS.get(code, N_("Unknown state")))


def request_title(kind: str) -> str:
    from tenants.file.service import REQUEST_TITLES

    return _(REQUEST_TITLES.get(kind, N_("a change request")))
