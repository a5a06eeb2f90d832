"""The tenant file's change log: one writer for every domain.

Each change to the file (a profile field, a contact, a payment recorded, a
document filed, a notice issued) is one row: who, who approved, what entity,
which field, old and new value. The pages render the rows as sentences
(``portal/events/``); nothing here is shown raw.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tenants.file.forms import as_text
from tenants.file import queries


@dataclass(frozen=True)
class Actor:
    """Who made a change: a staff member, a portal user or the system."""

    kind: str
    name: str
    approved_by: str = ""
    request_id: int | None = None


async def record(actor: Actor, entity: str, field: str, old: Any = None, new: Any = None, *,
                 entity_id: int | None = None) -> None:
    """One change-log row, in the caller's tenant transaction (``tenant_tx``)."""
    await queries.insert_change(actor.kind, actor.name, actor.approved_by, entity, entity_id, field,
                                as_text(old), as_text(new), actor.request_id)
