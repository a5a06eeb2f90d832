"""Stored events as sentences a person reads: change-log rows, audit rows and
review statuses, in the current UI language.

The writers store codes (``payment``/``recorded``, ``money.notice.issue``,
``{"fen": 300000}``); every page and export that people read goes through
here, so no code, JSON or internal id reaches the screen. An event kind
without a sentence of its own gets a generic one, never its code.

Where things go:
  values.py       the pieces of a sentence: money, dates, field values and labels, actors, titles, statuses
  changes.py      change-log rows: one renderer per entity (CHANGE_RENDERERS); a new entity or field goes here
  audit_kinds.py  audit actions: one sentence table per area; a new audit kind is one line in its area's table
  audit_rows.py   an audit row as a sentence, and the readable part of its detail (DETAIL_LABELS)
Callers use ``from portal import events`` and the names below.
"""

from portal.events.audit_kinds import AUDIT_AREAS, AUDIT_FILTERS, AUDIT_SENTENCES
from portal.events.audit_rows import DETAIL_LABELS, audit_details, audit_sentence
from portal.events.changes import CHANGE_RENDERERS, DEPOSIT_KINDS, ENTITY_NAMES, change_sentence
from portal.events.values import (
    ACTOR_KINDS,
    STATUS_LABELS,
    actor,
    actor_with_kind,
    charge_description,
    date,
    field_label,
    money,
    money_fen,
    names_by_id,
    notice_title,
    request_title,
    status,
    value,
    when,
)

__all__ = [
    "ACTOR_KINDS", "AUDIT_AREAS", "AUDIT_FILTERS", "AUDIT_SENTENCES", "CHANGE_RENDERERS", "DEPOSIT_KINDS",
    "DETAIL_LABELS", "ENTITY_NAMES", "STATUS_LABELS", "actor", "actor_with_kind", "audit_details", "audit_sentence",
    "change_sentence", "charge_description", "date", "field_label", "money", "money_fen", "names_by_id",
    "notice_title", "request_title", "status", "value", "when",
]
