"""E-mail to the tenant at the steps that concern them (received, the reply),
sent by a task after the step commits. Each kind goes out at most once per
complaint: it is marked in ``complaint.mailed`` before the message is handed
to the mail server, so a redelivered task sends nothing twice."""

from __future__ import annotations

import json
import logging
import smtplib
from email.message import EmailMessage
from email.utils import formataddr, make_msgid

import anyio

from portal.core import i18n
from portal.core.workdays import now
from tenants.complaints.tables import Complaint
from tenants.file.tables import Contact
from tenants.registry.service import TenantRef
from tenants.scope import tenant_tx

log = logging.getLogger(__name__)
KINDS = ("received", "reply")


def _recipients(row: dict, contacts: list[dict]) -> list[tuple[str, str]]:
    if "@" in (row["contact"] or ""):
        return [(row["complainant"], row["contact"].strip())]
    return [(c["name"], c["email"]) for c in contacts]


def message(settings, row: dict, kind: str, to: list[tuple[str, str]], locale: str = "zh") -> EmailMessage:
    tr = i18n.translations(locale)
    office = settings.office_name if locale == "zh" else settings.office_name_en
    if kind == "received":
        subject = tr.gettext("We have received your complaint %(number)s") % {"number": row["number"]}
        body = tr.gettext("Dear %(name)s,\n\nwe have received your complaint %(number)s and will answer "
                          "within 24 hours.\n\n%(office)s") % {"name": to[0][0], "number": row["number"],
                                                               "office": office}
    else:
        subject = tr.gettext("Our reply to your complaint %(number)s") % {"number": row["number"]}
        body = tr.gettext("Dear %(name)s,\n\n%(reply)s\n\n%(office)s") % {
            "name": to[0][0], "reply": row["reply"], "office": office}
    mail = EmailMessage()
    mail["From"] = formataddr((office, settings.mail_from))
    mail["To"] = ", ".join(formataddr(pair) for pair in to)
    mail["Subject"] = subject
    mail["Message-ID"] = make_msgid(domain=settings.mail_from.split("@")[-1])
    mail.set_content(body)
    return mail


async def notify(ref: TenantRef, complaint_id: int, kind: str, settings) -> str:
    """Send one kind of e-mail for the complaint: 'sent', 'already', 'nobody' or 'failed'."""
    if kind not in KINDS:
        return "nobody"
    async with tenant_tx(ref.schema):
        row = await Complaint.select().where(Complaint.id == complaint_id).lock_rows("UPDATE").first().run()
        if row is None:
            return "nobody"
        mailed = row["mailed"] if isinstance(row["mailed"], dict) else json.loads(row["mailed"] or "{}")
        if kind in mailed:
            return "already"
        contacts = await Contact.select(Contact.name, Contact.email).where(
            (Contact.active == True) & (Contact.receives_notices == True) & (Contact.email != "")  # noqa: E712
        ).order_by(Contact.id).run()
        to = _recipients(row, contacts)
        if not to:
            return "nobody"
        mailed[kind] = now().isoformat()
        await Complaint.update({Complaint.mailed: json.dumps(mailed)}).where(Complaint.id == complaint_id)
    mail = message(settings, row, kind, to)

    def send() -> str:
        try:
            with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=15) as smtp:
                smtp.send_message(mail)
            return "sent"
        except (OSError, smtplib.SMTPException) as exc:
            log.warning("complaint e-mail not delivered: %s", exc)
            return "failed"

    return await anyio.to_thread.run_sync(send)
