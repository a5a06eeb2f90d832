"""Audit rows as sentences: the action's sentence (tables in ``audit_kinds``)
and the readable part of the row's detail (``DETAIL_LABELS``)."""

from __future__ import annotations

import json
from typing import Any, Callable, Mapping

from portal.core.i18n import N_, gettext as _
from portal.events.audit_kinds import AUDIT_AREAS, AUDIT_SENTENCES
from portal.events.changes import DEPOSIT_KINDS
from portal.events.values import date, field_label, money_fen, value


def audit_sentence(row: Mapping) -> str:
    action = row.get("action", "")
    msgid = AUDIT_SENTENCES.get(action) or AUDIT_AREAS.get(action.split(".", 1)[0], N_("Did something"))
    text = _(msgid)
    if str(row.get("target", "")).startswith("/"):  # refusals name the page asked for
        text += _(": %(page)s") % {"page": row["target"]}
    return text


# Detail keys people can read, with how to show their values; other keys stay in the CSV's raw column.
DETAIL_LABELS: dict[str, tuple[str, Callable[[Any], str]]] = {
    "fen": (N_("Amount"), money_fen),
    "amount_fen": (N_("Amount"), money_fen),
    "reason": (N_("Reason"), str),
    "note": (N_("Note"), str),
    "receipt_no": (N_("Receipt number"), str),
    "number": (N_("Number"), str),
    "title": (N_("Title"), str),
    "fields": (N_("Fields"), lambda v: ", ".join(field_label(f) for f in (v or []))),
    "kind": (N_("Type"), lambda v: _kind_label(v)),
    "active": (N_("Active"), lambda v: value("active", v)),
    "period": (N_("Period"), str),
    "via_grant": (N_("Through a file loan"), lambda v: value("active", v)),
    # Retention.
    "years": (N_("Years"), str),
    "years_before": (N_("Years before"), str),
    "last_business_on": (N_("Last business date"), lambda v: date(v)),
    "files": (N_("Whole files"), str),
    "document_groups": (N_("Document groups"), str),
    "rows": (N_("Rows"), str),
    "requested_by": (N_("Asked for by"), str),
}


def _kind_label(kind: Any) -> str:
    from tenants.file.service import REQUEST_TITLES
    from tenants.money.notices import KINDS

    text = str(kind)
    label = REQUEST_TITLES.get(text) or KINDS.get(text) or DEPOSIT_KINDS.get(text)
    return _(label) if label else ""


def audit_details(row: Mapping) -> str:
    """The readable part of an audit row's detail: 'Amount: ¥3,000.00 · Reason: …'."""
    detail = row.get("detail") or {}
    if isinstance(detail, str):
        try:
            detail = json.loads(detail)
        except ValueError:
            return ""
    parts = []
    for key, raw in detail.items() if isinstance(detail, dict) else ():
        if key not in DETAIL_LABELS or raw in (None, "", [], {}):
            continue
        label, show = DETAIL_LABELS[key]
        shown = show(raw)
        if shown:
            parts.append(_("%(label)s: %(value)s") % {"label": _(label), "value": shown})
    return " · ".join(parts)
