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
from tenants.file.tables import ChangeLog


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
    await ChangeLog.insert(ChangeLog(
        actor_kind=actor.kind, actor_name=actor.name, approved_by=actor.approved_by, entity=entity,
        entity_id=entity_id, field=field, old_value=as_text(old), new_value=as_text(new),
        request_id=actor.request_id,
    )).run()
