"""Outgoing e-mail over SMTP (the settings' ``smtp_host``, ``smtp_port``, ``mail_from``).

``message`` builds one (From is the office), ``Mailer`` sends many over one
connection, opened on first use. Delivery trouble is a ``MailError`` whose
``reason`` is what may be stored and shown (localized by the caller):
'rejected' (the server refused the sender, a recipient or the data) or
'unreachable' (anything else: network, timeouts, a dropped connection). The
exception text itself only goes to the log.
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
from email.message import EmailMessage
from email.utils import formataddr, make_msgid

log = logging.getLogger(__name__)

TIMEOUT = 15  # seconds, per SMTP operation
REASONS = ("rejected", "unreachable")


class MailError(Exception):
    """A message was not delivered; ``reason`` is one of ``REASONS``."""

    def __init__(self, reason: str, cause: BaseException | None = None):
        super().__init__(reason)
        self.reason = reason
        self.cause = cause


def failure_reason(exc: BaseException) -> str:
    """'rejected' when the server refused the message, else 'unreachable'."""
    refused = (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError)
    return "rejected" if isinstance(exc, refused) else "unreachable"


def message(settings, to: list[tuple[str, str]], subject: str, body: str, *, sender_name: str = "",
            attachments: list[tuple[str, bytes, str, str]] = ()) -> EmailMessage:
    """A message from ``settings.mail_from`` to ``to`` ((name, address) pairs);
    ``attachments``: (filename, bytes, maintype, subtype)."""
    msg = EmailMessage()
    msg["From"] = formataddr((sender_name, settings.mail_from))
    msg["To"] = ", ".join(formataddr(pair) for pair in to)
    msg["Subject"] = subject
    msg["Message-ID"] = make_msgid(domain=settings.mail_from.split("@")[-1])
    msg.set_content(body)
    for filename, data, maintype, subtype in attachments:
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return msg


class Mailer:
    """Sends messages over one SMTP connection, opened on first use. After a
    failure the next message starts a new connection; an idle connection the
    server dropped is retried once on a fresh one. Close it when done."""

    def __init__(self, settings):
        self.settings = settings
        self._smtp: smtplib.SMTP | None = None

    def send(self, msg: EmailMessage) -> None:
        """Deliver ``msg`` or raise ``MailError``."""
        for attempt in (1, 2):
            reused = self._smtp is not None
            try:
                if self._smtp is None:
                    self._smtp = smtplib.SMTP(self.settings.smtp_host, self.settings.smtp_port, timeout=TIMEOUT)
                self._smtp.send_message(msg)
                return
            except smtplib.SMTPServerDisconnected as exc:
                self.close()
                if reused and attempt == 1:
                    continue  # an idle connection the server dropped: once more, on a fresh one
                log.warning("e-mail not delivered: %s", exc)
                raise MailError(failure_reason(exc), exc) from None
            except (OSError, smtplib.SMTPException) as exc:
                self.close()
                log.warning("e-mail not delivered: %s", exc)
                raise MailError(failure_reason(exc), exc) from None
        raise MailError("unreachable")

    def try_send(self, msg: EmailMessage) -> str:
        """Deliver ``msg``; '' when delivered, else the ``MailError`` reason (never raises for SMTP trouble)."""
        try:
            self.send(msg)
        except MailError as exc:
            return exc.reason
        return ""

    async def asend(self, msg: EmailMessage) -> str:
        """``try_send`` on a thread (SMTP is blocking)."""
        return await asyncio.to_thread(self.try_send, msg)

    def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()

    async def aclose(self) -> None:
        await asyncio.to_thread(self.close)


def send(settings, msg: EmailMessage) -> None:
    """Deliver one message on a connection of its own, or raise ``MailError``."""
    mailer = Mailer(settings)
    try:
        mailer.send(msg)
    finally:
        mailer.close()
