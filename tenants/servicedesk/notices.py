"""Who is told what about a repair (built by the ``notify.deliver`` task after
the step commits; ``portal.core.notify`` sends each message once).

- dispatched: the tenant (reporter and notice contacts), with the technician and the on-site due time;
- completed: the tenant, asking to confirm and rate (reopen within 7 days, closed automatically after 3);
- auto_closed: the tenant;
- urgent: every technician on duty for the building (e-mail and the gateway);
- unassigned: the supervisors (e-mail and the gateway), the order waits in the dispatcher's queue;
- escalated: the SLA scan's warning (department heads) or breach (supervisors), e-mail and the gateway.

Everything read comes from this tenant's schema and the office's staff rows;
no other tenant is named. Texts are localized: for the tenant in its language
when known (that of its latest notice), else the office's; for staff in the
office's language (a person's own language is not stored yet).
"""

from __future__ import annotations

from portal.core import i18n
from portal.core.notify import Notice
from portal.core.workdays import SHANGHAI, now
from tenants.registry.service import TenantRef
from tenants.scope import tenant_tx
from tenants.servicedesk import queries
from tenants.servicedesk.labels import CATEGORIES
from tenants.servicedesk.service import AUTO_CLOSE_DAYS, REOPEN_DAYS
from tenants.servicedesk.tables import WorkOrder

EVENTS = ("dispatched", "completed", "auto_closed", "urgent", "unassigned", "escalated")
ROLE_OF_LEVEL = {"1": "dept_head", "2": "supervisor"}

# Staff with a role whose building scope covers the building (an empty scope is the whole office);
# core.staff_user belongs to portal.accounts, which domains may not import.
_STAFF = ("SELECT id, display_name, email, mobile FROM core.staff_user WHERE active AND $1 = ANY (roles)"
          " AND (cardinality(building_ids) = 0 OR $2::int IS NULL OR $2 = ANY (building_ids)) ORDER BY id")
_BY_ID = "SELECT id, display_name, email, mobile FROM core.staff_user WHERE active AND id = ANY ($1::int[]) ORDER BY id"
# The reporter's portal account, only if it belongs to this tenant.
_REPORTER = "SELECT id, display_name, email FROM core.portal_user WHERE id = $1 AND tenant_id = $2 AND active"


def _when(value) -> str:
    return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") if value else ""


async def _tenant_people(conn, ref: TenantRef, row: dict) -> list[tuple[str, str, str]]:
    """(who, name, e-mail) of the reporter (a portal user) and the notice contacts, one per address."""
    people, seen = [], set()
    if row["reporter_kind"] == "portal":
        user = await conn.fetchrow(_REPORTER, row["reporter_id"], ref.id)
        if user and "@" in (user["email"] or ""):
            people.append((f"portal:{user['id']}", user["display_name"], user["email"].strip()))
    contacts = await conn.fetch("SELECT id, name, email FROM contact WHERE active AND receives_notices"
                                " AND email <> '' ORDER BY id")
    for c in contacts:
        people.append((f"contact:{c['id']}", c["name"], c["email"].strip()))
    out = []
    for who, name, address in people:
        if address.lower() not in seen:
            seen.add(address.lower())
            out.append((who, name, address))
    return out


async def _staff(conn, role: str, building_id: int | None) -> list[dict]:
    return [dict(r) for r in await conn.fetch(_STAFF, role, building_id)]


async def tenant_locale(conn, settings) -> str:
    """The tenant's language if known (the one its latest notice was issued in), else the office's."""
    known = await conn.fetchval("SELECT locale FROM notice ORDER BY id DESC LIMIT 1")
    return known if known in ("zh", "en") else (settings.default_locale or "zh")


def _texts(event: str, row: dict, ref: TenantRef, settings, locale: str, tag: str) -> tuple[str, str]:
    tr = i18n.translations(locale)
    office = settings.office_name if locale != "en" else settings.office_name_en
    values = {"number": row["number"], "tenant": ref.name, "archive_no": ref.archive_no,
              "category": tr.gettext(CATEGORIES.get(row["category"], "Other repairs")),
              "location": row["location"] or "-", "technician": row["assignee_name"],
              "due": _when(row["onsite_due_at"]), "completion_due": _when(row["completion_due_at"]),
              "reopen_days": REOPEN_DAYS, "close_days": AUTO_CLOSE_DAYS, "office": office}
    if event == "dispatched":
        return (tr.gettext("Your repair %(number)s has been dispatched") % values,
                tr.gettext("Your repair %(number)s (%(category)s) has been given to technician %(technician)s, "
                           "who is due on site by %(due)s.\n\n%(office)s") % values)
    if event == "completed":
        return (tr.gettext("Your repair %(number)s is done: please confirm") % values,
                tr.gettext("The technician has finished your repair %(number)s (%(category)s). Please confirm "
                           "and rate the work in the tenant portal. If it is not right you can reopen it within "
                           "%(reopen_days)s days; without a confirmation it closes by itself after "
                           "%(close_days)s days.\n\n%(office)s") % values)
    if event == "auto_closed":
        return (tr.gettext("Your repair %(number)s has been closed") % values,
                tr.gettext("Your repair %(number)s (%(category)s) was not confirmed within %(close_days)s days "
                           "and has been closed. You can still reopen it in the tenant portal within "
                           "%(reopen_days)s days of its completion.\n\n%(office)s") % values)
    if event == "urgent":
        return (tr.gettext("Urgent repair %(number)s") % values,
                tr.gettext("Urgent repair %(number)s for %(tenant)s (%(archive_no)s): %(category)s at "
                           "%(location)s. Please respond at once.") % values)
    if event == "unassigned":
        return (tr.gettext("Repair %(number)s waits for a dispatcher") % values,
                tr.gettext("No technician was available for repair %(number)s of %(tenant)s (%(archive_no)s), "
                           "%(category)s. It waits in the dispatcher's queue.") % values)
    if tag.startswith("2"):
        return (tr.gettext("Repair %(number)s is past its deadline") % values,
                tr.gettext("Repair %(number)s of %(tenant)s (%(archive_no)s), %(category)s, has missed its "
                           "service deadline (completion due %(completion_due)s).") % values)
    return (tr.gettext("Repair %(number)s is about to miss its deadline") % values,
            tr.gettext("Repair %(number)s of %(tenant)s (%(archive_no)s), %(category)s, will miss its service "
                       "deadline within the hour unless it moves on (completion due %(completion_due)s).") % values)


async def notices(ref: TenantRef, event: str, order_id: int, settings, tag: str = "") -> list[Notice]:
    """The messages for one repair event; empty when the order is gone or no longer in that state."""
    if event not in EVENTS:
        return []
    async with tenant_tx(ref.schema) as tx:
        conn = tx.connection
        row = await WorkOrder.select().where(WorkOrder.id == order_id).first().run()
        if row is None:
            return []
        to_tenant = event in ("dispatched", "completed", "auto_closed")
        locale = await tenant_locale(conn, settings) if to_tenant else (settings.default_locale or "zh")
        subject, text = _texts(event, row, ref, settings, locale, tag)
        if to_tenant:
            return [Notice("mail", "tenant", who, name, address, subject, text)
                    for who, name, address in await _tenant_people(conn, ref, row)]
        if event == "urgent":
            on_duty = [t["user_id"] for t in await queries.on_duty(conn, row["building_id"], now())]
            people = [dict(r) for r in await conn.fetch(_BY_ID, on_duty)]
            role = "technician"
        else:
            role = "supervisor" if event == "unassigned" else ROLE_OF_LEVEL.get(tag[:1], "dept_head")
            people = await _staff(conn, role, row["building_id"])
    out = []
    for person in people:  # by e-mail, and by the gateway to their mobile
        who = f"staff:{person['id']}"
        out.append(Notice("mail", role, who, person["display_name"], person["email"] or "", subject, text))
        out.append(Notice("webhook", role, who, person["display_name"], person["mobile"], subject, text))
    return out
