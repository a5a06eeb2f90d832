"""portal/core/mail.py against a real local SMTP server (aiosmtpd): messages,
one connection for many, and the reasons of a failed delivery."""

from __future__ import annotations

import email
import socket
from types import SimpleNamespace

import pytest
from aiosmtpd.controller import Controller

from portal.core import mail


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Sink:
    def __init__(self, refuse: str = ""):
        self.refuse = refuse
        self.messages = []
        self.connections = 0

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        self.connections += 1
        session.host_name = hostname
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address == self.refuse:
            return "550 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope)
        return "250 OK"


@pytest.fixture
def sink():
    handler = Sink(refuse="nobody@tenant.example")
    controller = Controller(handler, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield handler, SimpleNamespace(smtp_host="127.0.0.1", smtp_port=controller.port, mail_from="archive@office.example")
    controller.stop()


def _message(settings, to="li@tenant.example"):
    return mail.message(settings, [("李四", to)], "催缴通知书 CJ2026-000001", "请查收附件。", sender_name="物业管理处",
                        attachments=[("CJ2026-000001.pdf", b"%PDF-1.7 test", "application", "pdf")])


def test_messages_go_over_one_connection_with_their_attachment(sink):
    handler, settings = sink
    mailer = mail.Mailer(settings)
    try:
        mailer.send(_message(settings))
        assert mailer.try_send(_message(settings, "wang@tenant.example")) == ""
    finally:
        mailer.close()
    assert handler.connections == 1
    assert [m.rcpt_tos for m in handler.messages] == [["li@tenant.example"], ["wang@tenant.example"]]
    parsed = email.message_from_bytes(handler.messages[0].content)
    assert "archive@office.example" in parsed["From"] and parsed["Message-ID"].endswith("@office.example>")
    [attachment] = [p for p in parsed.walk() if p.get_filename()]
    assert attachment.get_filename() == "CJ2026-000001.pdf" and attachment.get_payload(decode=True) == b"%PDF-1.7 test"


def test_a_refused_recipient_is_rejected_and_the_next_message_still_goes(sink):
    handler, settings = sink
    mailer = mail.Mailer(settings)
    try:
        with pytest.raises(mail.MailError) as refused:
            mailer.send(_message(settings, "nobody@tenant.example"))
        assert refused.value.reason == "rejected"
        assert mailer.try_send(_message(settings)) == ""  # a fresh connection
    finally:
        mailer.close()
    assert len(handler.messages) == 1 and handler.connections == 2


def test_no_server_is_unreachable():
    settings = SimpleNamespace(smtp_host="127.0.0.1", smtp_port=_free_port(), mail_from="archive@office.example")
    with pytest.raises(mail.MailError) as failed:
        mail.send(settings, _message(settings))
    assert failed.value.reason == "unreachable" and failed.value.reason in mail.REASONS
    assert mail.Mailer(settings).try_send(_message(settings)) == "unreachable"
