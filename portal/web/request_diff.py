"""What a change request would change: only the fields whose value differs
from the file today, compared as the reader sees them (so ``True`` and
``yes``, or ``100000`` and ``100000.00``, agree), in the reader's language."""

from __future__ import annotations

from typing import Any, Mapping

from portal.events import field_label, value
from tenants.file import forms


def request_changes(change: Mapping[str, Any], profile: Mapping[str, Any],
                    contacts: list[Mapping[str, Any]]) -> list[dict[str, str]]:
    """``[{"field", "label", "old", "new"}]`` in form order, localized; empty for a removal."""
    payload = change.get("payload") or {}
    if change["kind"] == "profile":
        current: Mapping[str, Any] = profile
        order = forms.PROFILE_FIELDS
    else:
        current = next((c for c in contacts if c["id"] == change.get("target_id")), {})
        order = forms.CONTACT_FIELDS
    rows = []
    for key in sorted(payload, key=lambda k: order.index(k) if k in order else len(order)):
        old, new = value(key, forms.as_text(current.get(key))), value(key, forms.as_text(payload[key]))
        if change["kind"] == "contact_add" and key in forms.CONTACT_FLAGS and payload[key] in (False, "no"):
            continue  # a new contact's unticked boxes are not news
        if old != new:
            rows.append({"field": key, "label": field_label(key), "old": old, "new": new})
    return rows
