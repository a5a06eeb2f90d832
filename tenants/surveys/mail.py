"""The survey e-mails (invitation, reminder) to a tenant's notice contacts,
sent with the kernel's mailer (``portal.core.mail.Mailer``)."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import formataddr, make_msgid

from portal.core import i18n
from portal.core.mail import Mailer
from tenants.money.notices_mail import recipients
from tenants.registry.service import TenantRef
from tenants.scope import tenant_tx
from tenants.surveys.service import get_survey


def message(settings, to: list[tuple[str, str]], survey: dict, *, reminder: bool, locale: str) -> EmailMessage:
    tr = i18n.translations(locale)
    office = settings.office_name if locale == "zh" else settings.office_name_en
    link = f"{settings.base_url.rstrip('/')}/portal/surveys/{survey['id']}"
    if reminder:
        subject = tr.gettext("Reminder: satisfaction survey %(title)s") % {"title": survey["title"]}
        intro = tr.gettext("Your company has not answered our satisfaction survey yet. It closes on %(date)s.")
    else:
        subject = tr.gettext("Satisfaction survey: %(title)s") % {"title": survey["title"]}
        intro = tr.gettext("We would like to know how satisfied you are with our services. "
                           "The survey closes on %(date)s.")
    body = tr.gettext("Dear %(name)s,\n\n%(intro)s\n\nAnswer in the tenant portal: %(link)s\n"
                      "One answer per company; any of your notice contacts may give it.\n\n%(office)s\n%(phone)s") % {
        "name": to[0][0], "intro": intro % {"date": survey["closes_on"].isoformat()}, "link": link,
        "office": office, "phone": settings.office_phone}
    mail = EmailMessage()
    mail["From"] = formataddr((office, settings.mail_from))
    mail["To"] = ", ".join(formataddr(pair) for pair in to)
    mail["Subject"] = f"{subject} — {office}"
    mail["Message-ID"] = make_msgid(domain=settings.mail_from.split("@")[-1])
    mail.set_content(body)
    return mail


async def send(ref: TenantRef, survey_id: int, settings, *, reminder: bool) -> str:
    """'sent', 'no_contacts', or the failure reason code (never exception text)."""
    async with tenant_tx(ref.schema):
        to = await recipients()
    if not to:
        return "no_contacts"
    survey = await get_survey(survey_id)
    mailer = Mailer(settings)
    try:
        error = await mailer.asend(message(settings, to, survey, reminder=reminder, locale=settings.default_locale))
    finally:
        await mailer.aclose()
    return error or "sent"
