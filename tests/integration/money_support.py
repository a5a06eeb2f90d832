"""Fixtures shared by the money tests: a real local SMTP server (aiosmtpd) as
the mail sink, and the test bucket for filed notices."""

from __future__ import annotations

import socket

import pytest
from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Sink:
    """Collects delivered messages and counts SMTP sessions."""

    def __init__(self):
        self.messages = []
        self.connections = 0

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        self.connections += 1
        session.host_name = hostname
        return responses

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope)
        return "250 OK"


@pytest.fixture(autouse=True)
def archive_storage(settings, services):
    """Notices are filed in the documents archive (S3): use the test bucket."""
    from documents.storage import get_storage

    return get_storage(settings)


@pytest.fixture
def smtp_sink():
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, sink
    controller.stop()


async def tenants_in_arrears(n: int, finance, *, name: str, base_amount: int, due_date: str) -> list:
    """``n`` tenants of one new building, each owing one management charge
    (``base_amount + i`` yuan, due on ``due_date``), sorted by id."""
    from tenants.money import charges
    from tenants.registry import service as registry
    from tests import factories

    bld = await factories.building()
    refs = []
    for i in range(n):
        ref = await registry.get_ref(await factories.tenant(bld, name=name.format(i)))
        await charges.add_manual_charge(ref, {"fee_item": "management", "amount": f"{base_amount + i}",
                                              "due_date": due_date, "reason": "一月物业费"}, finance)
        refs.append(ref)
    return sorted(refs, key=lambda r: r.id)
