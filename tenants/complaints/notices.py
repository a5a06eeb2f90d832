"""Who is told what about a complaint beyond the tenant's own e-mails
(``mail.py``): built by the ``notify.deliver`` task after commit.

- escalated: the escalation scan raised a late case: level 1 to the
  department heads (of the case's department when one is named), level 2 to
  the supervisors; by e-mail, and through the gateway webhook for major cases;
- major: a case was graded major: the supervisors and the general managers,
  by e-mail and the gateway webhook.

Only this tenant's complaint and the office's staff rows are read.
"""

from __future__ import annotations

from portal.core import i18n
from portal.core.notify import Notice
from tenants.complaints import flow
from tenants.complaints.tables import Complaint
from tenants.registry.service import TenantRef
from tenants.scope import tenant_tx

EVENTS = ("escalated", "major")

# Staff with a role who see one of the tenant's buildings (an empty scope is the whole office);
# core.staff_user belongs to portal.accounts, which domains may not import.
_STAFF = ("SELECT id, display_name, email, mobile, department FROM core.staff_user WHERE active AND $1 = ANY (roles)"
          " AND (cardinality(building_ids) = 0 OR building_ids && $2::int[]) ORDER BY id")


async def _staff(conn, role: str, ref: TenantRef, department: str = "") -> list[dict]:
    rows = [dict(r) for r in await conn.fetch(_STAFF, role, list(ref.building_ids))]
    own = [r for r in rows if department and r["department"] == department]
    return own or rows


def _texts(event: str, row: dict, ref: TenantRef, tr, level: str) -> tuple[str, str]:
    values = {"number": row["number"], "tenant": ref.name, "archive_no": ref.archive_no,
              "grade": tr.gettext(flow.GRADES.get(row["grade"], "General")),
              "step": tr.gettext(flow.STEP_LABELS.get(row["step"] or "", "")) if row["step"] else "-"}
    if event == "major":
        return (tr.gettext("Major complaint %(number)s") % values,
                tr.gettext("Complaint %(number)s of %(tenant)s (%(archive_no)s) has been graded major; "
                           "management leads it.") % values)
    if level == "2":
        return (tr.gettext("Complaint %(number)s is still overdue") % values,
                tr.gettext("Complaint %(number)s of %(tenant)s (%(archive_no)s, %(grade)s) is still overdue "
                           "at the step \u201c%(step)s\u201d a day after the department head was told.") % values)
    return (tr.gettext("Complaint %(number)s is overdue") % values,
            tr.gettext("Complaint %(number)s of %(tenant)s (%(archive_no)s, %(grade)s) is overdue at the step "
                       "\u201c%(step)s\u201d.") % values)


async def notices(ref: TenantRef, event: str, complaint_id: int, settings, tag: str = "") -> list[Notice]:
    if event not in EVENTS:
        return []
    tr = i18n.translations(settings.default_locale or "zh")
    level = tag[:1]
    async with tenant_tx(ref.schema) as tx:
        row = await Complaint.select().where(Complaint.id == complaint_id).first().run()
        if row is None or row["status"] != "open":
            return []
        subject, text = _texts(event, row, ref, tr, level)
        if event == "major":
            people = [(r, "supervisor") for r in await _staff(tx.connection, "supervisor", ref)]
            people += [(r, "general_manager") for r in await _staff(tx.connection, "general_manager", ref)]
        elif level == "2":
            people = [(r, "supervisor") for r in await _staff(tx.connection, "supervisor", ref)]
        else:
            people = [(r, "dept_head") for r in await _staff(tx.connection, "dept_head", ref, row["department"])]
    webhook = event == "major" or row["grade"] == "major"
    out = []
    for person, role in people:
        who = f"staff:{person['id']}"
        out.append(Notice("mail", role, who, person["display_name"], person["email"] or "", subject, text))
        if webhook:
            out.append(Notice("webhook", role, who, person["display_name"], person["mobile"], subject, text))
    return out
