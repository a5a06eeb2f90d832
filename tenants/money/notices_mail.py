"""E-mailing issued notices to the tenant's notice contacts (over
``portal.core.mail``): the message, the delivery record on the notice, retries
with backoff (``tasks.money.email_notice``) and a person's resend.

A notice's ``email_state``: '' (not e-mailed), 'sending' (handed to the mail
server, not confirmed), 'sent', 'retrying' (due again), 'failed' (retries spent).
"""

from __future__ import annotations

from email.message import EmailMessage

from portal.core import audit, i18n, mail
from portal.core.errors import Conflict, NotFound
from portal.core.jobs import on_commit
from portal.core.roles import Perm, Principal
from tenants.file.tables import Contact
from tenants.money import queries
from tenants.money.ledger import need
from tenants.money.notices import stored_pdf
from tenants.money.tables import Notice, NoticeBatchItem
from tenants.registry.service import TenantRef
from tenants.scope import tenant_tx

N_ = i18n.N_
# Delivery retries (tasks/money.py email_notice): seconds before attempts 2, 3, 4; then 'failed'.
RETRY_BACKOFF = (60, 300, 1800)
MAX_ATTEMPTS = len(RETRY_BACKOFF) + 1
EMAIL_STATES = {
    "sent": N_("Sent"),
    "sending": N_("Delivery not confirmed"),
    "retrying": N_("Not delivered yet, retrying"),
}
EMAIL_FAILURES = {"unreachable": N_("Failed: mail server unreachable"),
                  "rejected": N_("Failed: refused by the mail server")}
RESENDABLE = ("sending", "retrying", "failed")


def email_status(state: str, reason: str) -> str:
    """The message id of a notice's delivery state, as shown ('' when not e-mailed)."""
    if state == "failed":
        return EMAIL_FAILURES.get(reason, EMAIL_FAILURES["unreachable"])
    return EMAIL_STATES.get(state, "")


async def recipients() -> list[tuple[str, str]]:
    """(name, address) of the notice contacts of the tenant schema on the path."""
    rows = await Contact.select(Contact.name, Contact.email).where(
        (Contact.active == True) & (Contact.receives_notices == True) & (Contact.email != "")  # noqa: E712
    ).order_by(Contact.id)
    return [(r["name"], r["email"]) for r in rows]


def mail_for(settings, to: list[tuple[str, str]], number: str, title: str, locale: str, pdf: bytes) -> EmailMessage:
    """The e-mail carrying a notice to the tenant's notice contacts."""
    tr = i18n.translations(locale)
    body = tr.gettext("Dear %(name)s,\n\nplease find attached %(title)s from %(office)s.\n\n%(office)s\n%(phone)s") % {
        "name": to[0][0], "title": title,
        "office": settings.office_name if locale == "zh" else settings.office_name_en,
        "phone": settings.office_phone}
    return mail.message(settings, to, f"{title} — {settings.office_name}", body, sender_name=settings.office_name,
                        attachments=[(f"{number}.pdf", pdf, "application", "pdf")])


def emailed_values(to: list[tuple[str, str]], error: str, failed_state: str = "retrying") -> dict:
    """A delivery attempt's outcome on the notice: to whom ('' on failure), the
    reason ('' or ``mail.REASONS``), the state after it ('sent', or
    ``failed_state``: 'retrying', or 'failed' once the retries are spent)."""
    values = {Notice.emailed_to: "" if error else ", ".join(e for _, e in to), Notice.email_error: error,
              Notice.email_state: failed_state if error else "sent", Notice.email_attempts: Notice.email_attempts + 1}
    if not error:
        values[Notice.emailed_at] = queries.NOW
    return values


async def record_email(notice_id: int, to: list[tuple[str, str]], error: str, *, final: bool = False) -> int:
    """Note on the notice whom it went to (or why not). Returns how many addresses."""
    await Notice.update(emailed_values(to, error, "failed" if final else "retrying")).where(Notice.id == notice_id)
    return 0 if error else len(to)


def retry_after_commit(tenant_id: int, notice_id: int, attempt: int) -> None:
    """Queue the next delivery attempt after a failed one (``attempt`` failed so
    far), once the transaction that recorded the failure commits."""
    from tasks.money import email_notice

    on_commit(email_notice, tenant_id, notice_id, countdown=retry_delay(attempt))


def retry_delay(attempts: int) -> int:
    return RETRY_BACKOFF[min(max(attempts, 1), len(RETRY_BACKOFF)) - 1]


async def _send(settings, to, number: str, title: str, locale: str, pdf: bytes,
                mailer: mail.Mailer | None = None) -> str:
    """One message over ``mailer`` (or a connection of its own); '' or the failure reason."""
    own = mailer is None
    mailer = mailer or mail.Mailer(settings)
    try:
        return await mailer.asend(mail_for(settings, to, number, title, locale, pdf))
    finally:
        if own:
            await mailer.aclose()


async def deliver(ref: TenantRef, notice_id: int, settings) -> tuple[str, int]:
    """One delivery attempt of a notice whose e-mail is due (state 'retrying');
    returns the state after it and the attempts so far. After ``MAX_ATTEMPTS``
    failures the state is 'failed'."""
    async with tenant_tx(ref.schema):
        row = await Notice.select(Notice.number, Notice.title, Notice.locale, Notice.pdf, Notice.document_id,
                                  Notice.batch_id, Notice.email_state, Notice.email_attempts).where(
            Notice.id == notice_id).lock_rows("UPDATE").first()
        if row is None or row["email_state"] != "retrying":
            return (row["email_state"], row["email_attempts"]) if row else ("", 0)
        final = row["email_attempts"] + 1 >= MAX_ATTEMPTS
        to = await recipients()
        state = "sending" if to else ""
        await Notice.update({Notice.email_state: state}).where(Notice.id == notice_id)
        await _sync_item(row["batch_id"], ref.id, state, 0)
    if not to:
        return "", row["email_attempts"]
    pdf = await stored_pdf(ref, row)
    error = await _send(settings, to, row["number"], row["title"], row["locale"], pdf) \
        if pdf is not None else "unreachable"
    state = "sent" if not error else "failed" if final else "retrying"
    async with tenant_tx(ref.schema):
        sent = await record_email(notice_id, to, error, final=final)
        await _sync_item(row["batch_id"], ref.id, state, sent)
    return state, row["email_attempts"] + 1


async def _sync_item(batch_id: int | None, tenant_id: int, state: str, emailed: int) -> None:
    """Copy a batch notice's e-mail state to its batch item (the batch page counts them)."""
    if batch_id is not None:
        await NoticeBatchItem.update({NoticeBatchItem.email_state: state, NoticeBatchItem.emailed: emailed}).where(
            (NoticeBatchItem.batch_id == batch_id) & (NoticeBatchItem.tenant_id == tenant_id))


async def request_resend(notice_ids: list[int], tenant_id: int) -> list[int]:
    """Make undelivered notices due again (a person's resend), in the caller's
    ``tenant_tx``; returns those to queue."""
    if not notice_ids:
        return []
    rows = await Notice.update({Notice.email_state: "retrying", Notice.email_attempts: 0}).where(
        Notice.id.is_in(notice_ids) & Notice.email_state.is_in(list(RESENDABLE))).returning(Notice.id, Notice.batch_id)
    for r in rows:
        await _sync_item(r["batch_id"], tenant_id, "retrying", 0)
    return [r["id"] for r in rows]


async def resend(ref: TenantRef, notice_id: int, principal: Principal) -> None:
    """A person resends a notice whose e-mail was not delivered (or not confirmed)."""
    need(principal, Perm.MONEY_WRITE)
    async with tenant_tx(ref.schema):
        if not await Notice.exists().where(Notice.id == notice_id):
            raise NotFound("No such notice.")
        queued = await request_resend([notice_id], ref.id)
        if not queued:
            raise Conflict("This notice's e-mail was delivered or is not due.")
        await audit.record("money.notice.resend", principal=principal, tenant_id=ref.id, target=f"notice:{notice_id}")
        from tasks.money import email_notice

        on_commit(email_notice, ref.id, notice_id)


async def email_notice(ref: TenantRef, notice_id: int, settings, mailer: mail.Mailer | None = None) -> int:
    """Send a stored notice to the tenant's notice contacts. Returns how many
    addresses it went to; a failure is recorded on the notice (not raised)."""
    async with tenant_tx(ref.schema):
        row = await Notice.select(Notice.number, Notice.title, Notice.locale, Notice.pdf, Notice.document_id).where(
            Notice.id == notice_id).first()
        to = await recipients()
    if row is None:
        raise NotFound("No such notice.")
    if not to:
        return 0
    pdf = await stored_pdf(ref, row)
    if pdf is None:
        raise NotFound("No such notice.")
    async with tenant_tx(ref.schema):
        await Notice.update({Notice.email_state: "sending"}).where(Notice.id == notice_id)
    error = await _send(settings, to, row["number"], row["title"], row["locale"], pdf, mailer)
    async with tenant_tx(ref.schema):
        return await record_email(notice_id, to, error)
