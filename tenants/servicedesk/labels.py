"""What people read for the codes repairs store (English message ids)."""

from __future__ import annotations

from portal.core.i18n import N_, gettext as _

CATEGORIES = {
    "water": N_("Water and plumbing"), "electrical": N_("Electrical"), "hvac": N_("Heating and air conditioning"),
    "lift": N_("Lift"), "doors_locks": N_("Doors and locks"), "network": N_("Network"),
    "cleaning": N_("Cleaning"), "other": N_("Other repairs"),
}
URGENCIES = {"normal": N_("Normal"), "urgent": N_("Urgent")}
CHANNELS = {"portal": N_("Tenant portal"), "phone": N_("Phone call"), "walk_in": N_("Walk-in"),
            "inspection": N_("Staff inspection")}
STATUSES = {
    "reported": N_("Reported"), "unassigned": N_("Waiting for a dispatcher"), "dispatched": N_("Dispatched"),
    "accepted": N_("Accepted"), "on_site": N_("Technician on site"), "paused": N_("Paused"),
    "completed": N_("Completed, waiting for confirmation"), "closed": N_("Closed"), "cancelled": N_("Cancelled"),
}
EVENTS = {
    "reported": N_("Reported"), "dispatched": N_("Dispatched to %(name)s"), "accepted": N_("Accepted"),
    "declined": N_("Declined"), "on_site": N_("Technician on site"), "paused": N_("Paused"),
    "resumed": N_("Resumed"), "completed": N_("Completed"), "confirmed": N_("Confirmed by the tenant"),
    "reopened": N_("Reopened"), "cancelled": N_("Cancelled"), "closed": N_("Closed"),
    "unassigned": N_("No technician available: waiting for a dispatcher"), "note": N_("Note"),
    "escalated": N_("Escalated"), "rated": N_("Rated"), "photo": N_("Photo added"),
    "billed": N_("Charged to the tenant"),
}
TIMEOUT_NOTE = "timeout"


def event_text(e: dict) -> str:
    """One timeline line: what happened, by whom, and the note."""
    kind = e["kind"]
    if kind == "dispatched":
        text = _(EVENTS[kind]) % {"name": e["note"]}
        note = ""
    elif kind == "declined" and e["note"] == TIMEOUT_NOTE:
        text, note = _("Not accepted in time: passed to the next technician"), ""
    else:
        text, note = _(EVENTS.get(kind, N_("Note"))), e["note"]
    who = e.get("actor_name") or (_("System") if e.get("actor_kind") == "system" else "")
    return " · ".join(part for part in (text, who, note) if part)


def unit_options(units: list[dict]) -> dict[str, str]:
    """A tenant's units as picker choices: id -> "building unit"."""
    return {str(u["id"]): f"{u.get('building_name', '')} {u['code']}".strip() for u in units}
