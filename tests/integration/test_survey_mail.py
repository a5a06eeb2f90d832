"""Survey e-mails: the invitation and reminder tasks send to the tenant's notice
contacts through a real SMTP server, each only once (a redelivered task sends
nothing), never to a tenant that has answered; the daily sweep closes surveys
past their date."""

from __future__ import annotations

import datetime as dt
from email import message_from_bytes
from email.header import decode_header, make_header

import pytest

from portal.core import jobs
from portal.core.errors import Conflict
from tasks import surveys as survey_tasks
from tenants.surveys import service
from tenants.surveys.tables import Survey, SurveyInvitation
from tests.integration.money_support import smtp_sink  # noqa: F401 (fixture)
from tests.integration.survey_support import SUPERVISOR, office, portal_of, scores, survey


def _subject(envelope) -> str:
    return str(make_header(decode_header(message_from_bytes(envelope.content)["Subject"])))


async def test_invitations_and_reminders_are_sent_once(database, settings, smtp_sink, monkeypatch):
    controller, sink = smtp_sink
    mail_settings = settings.with_(smtp_host="127.0.0.1", smtp_port=controller.port)
    sent: list = []
    monkeypatch.setattr(jobs, "_sender", lambda name, args, kwargs, options: sent.append((name, args)))
    buildings, refs = await office({"M": ["邮件甲有限公司", "邮件乙有限公司"], "N": ["邮件丙有限公司"]})
    survey_id = await survey(settings, audience="building", building_ids=[buildings["M"]["id"]], title="年度调查邮件")
    await service.open_survey(survey_id, SUPERVISOR)
    first, second = refs["邮件甲有限公司"], refs["邮件乙有限公司"]

    for ref in (first, second):
        assert await survey_tasks.send_invitation(ref, survey_id, mail_settings) == "sent"
        assert await survey_tasks.send_invitation(ref, survey_id, mail_settings) == "already"  # redelivered: nothing more
    # A tenant outside the audience gets nothing, whatever task names it.
    outsider = refs["邮件丙有限公司"]
    assert await survey_tasks.send_invitation(outsider, survey_id, mail_settings) == "already"
    assert await survey_tasks.send_reminder(outsider, survey_id, 1, mail_settings) == "skipped"
    assert len(sink.messages) == 2
    assert all("满意度调查" in _subject(m) and "年度调查邮件" in _subject(m) for m in sink.messages)
    assert sink.messages[0].rcpt_tos == ["lisi@example.com"]
    body = message_from_bytes(sink.messages[0].content).get_payload(decode=True).decode()
    assert f"/portal/surveys/{survey_id}" in body
    industries = {r["industry"] for r in await SurveyInvitation.select(SurveyInvitation.industry).where(
        SurveyInvitation.survey_id == survey_id).run()}
    assert industries == {"软件", "餐饮"}

    await service.answer(first, survey_id, scores(service=5, price=4, responsiveness=4, overall=5), portal_of(first))
    sent.clear()
    assert await service.send_reminders(survey_id, SUPERVISOR) == 1
    assert sent == [("surveys.remind", [second.id, survey_id, 1])]
    assert await survey_tasks.send_reminder(second, survey_id, 1, mail_settings) == "sent"
    assert await survey_tasks.send_reminder(second, survey_id, 1, mail_settings) == "skipped"  # the same round again
    assert await survey_tasks.send_reminder(first, survey_id, 1, mail_settings) == "skipped"  # answered: no reminder
    assert len(sink.messages) == 3 and "提醒" in _subject(sink.messages[-1])

    # The sweep closes it once its date has passed; reminders then stop.
    await Survey.update({Survey.closes_on: dt.date(2026, 1, 1)}).where(Survey.id == survey_id).run()
    assert survey_id in await service.close_due(dt.date(2026, 1, 2))
    assert (await service.get_survey(survey_id))["status"] == "closed"
    assert await survey_tasks.send_reminder(second, survey_id, 2, mail_settings) == "skipped"
    with pytest.raises(Conflict):
        await service.answer(second, survey_id, scores(service=5, price=4, responsiveness=4, overall=5),
                             portal_of(second))


async def test_opening_in_the_console_has_a_real_worker_claim_each_invitation(database, settings, client_factory,
                                                                            celery_worker):
    """The route commits, the invitations go to the broker after commit, the worker's
    surveys.invite claims each one (emailed_at) whatever the mail server says."""
    import asyncio
    import time

    from tests import factories

    buildings, refs = await office({"W": ["工人甲有限公司", "工人乙有限公司"]})
    survey_id = await survey(settings, audience="building", building_ids=[buildings["W"]["id"]], title="工人调查")
    head = await factories.staff(["supervisor"])
    client = await client_factory()
    await factories.sign_in(client, head["username"])
    path = f"/console/surveys/{survey_id}"
    response = await client.post(path + "/open", data={"_csrf_token": await factories.form_token(client, path)})
    assert response.status_code in (302, 303)
    deadline = time.time() + 60
    claimed = 0
    while time.time() < deadline:
        claimed = await SurveyInvitation.count().where((SurveyInvitation.survey_id == survey_id)
                                                       & SurveyInvitation.emailed_at.is_not_null()).run()
        if claimed == 2:
            break
        await asyncio.sleep(0.5)
    assert claimed == 2, "the worker did not send the invitations"
    industries = {r["industry"] for r in await SurveyInvitation.select(SurveyInvitation.industry).where(
        SurveyInvitation.survey_id == survey_id).run()}
    assert industries == {"软件", "餐饮"}
