"""Notifications: the gateway webhook against a local HTTP sink (the real
SMS/WeChat gateway is outside this machine), e-mail against the SMTP sink,
each delivery once, and the repair and complaint events that send them."""

from __future__ import annotations

import email
import email.policy
import hashlib
import hmac
import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from portal.core import notify
from portal.core.db import DB
from portal.core.notify import Notice
from tasks import notify as notify_task
from tenants.servicedesk import dispatch, scan, service
from tests.integration.money_support import archive_storage, smtp_sink  # noqa: F401 (fixtures)
from tests.integration.repairs_support import desk, run_body, sent_tasks, technician  # noqa: F401

LEAK = {"category": "water", "description": "卫生间水管漏水", "location": "3F 卫生间"}


class HookSink:
    """A local HTTP server standing in for the gateway: records each POST;
    answers 500 to the first ``fail`` of them."""

    def __init__(self, fail: int = 0):
        self.posts: list[tuple[dict, bytes]] = []
        self.fail = fail
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if sink.fail > 0:
                    sink.fail -= 1
                    self.send_response(500)
                else:
                    sink.posts.append(({k.lower(): v for k, v in self.headers.items()}, body))
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def bodies(self) -> list[dict]:
        return [json.loads(body) for _, body in self.posts]


@pytest.fixture
def hook_sink():
    sink = HookSink()
    sink.thread.start()
    yield sink
    sink.server.shutdown()
    sink.server.server_close()


def local(settings, controller, sink: HookSink | None, secret: str = ""):
    return settings.with_(smtp_host="127.0.0.1", smtp_port=controller.port,
                          notify_webhook_url=sink.url if sink else "", notify_webhook_secret=secret)


def mails(sink) -> list[email.message.EmailMessage]:
    return [email.message_from_bytes(m.original_content, policy=email.policy.default) for m in sink.messages]


def text_of(msg) -> str:
    return msg["Subject"] + "\n" + msg.get_body(("plain",)).get_content()


PAGE = Notice("webhook", "technician", "staff:1", "师傅甲", "13800000000", "紧急报修", "紧急报修 WX1：请立即响应。")


async def test_webhook_is_signed_and_posted_once_per_key(settings, smtp_sink, hook_sink):
    controller, _ = smtp_sink
    conf = local(settings, controller, hook_sink, secret="s3cret")
    key = f"test:{uuid.uuid4().hex}"
    assert (await notify.deliver(conf, "repair.urgent", "A-001", key, [PAGE]))["sent"] == 1
    assert (await notify.deliver(conf, "repair.urgent", "A-001", key, [PAGE]))["already"] == 1  # redelivered
    assert len(hook_sink.posts) == 1
    headers, body = hook_sink.posts[0]
    expected = "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert headers["x-portal-signature"] == expected
    assert headers["x-portal-delivery"] == f"{key}:webhook:staff:1"
    sent = json.loads(body)
    assert sent == {"kind": "repair.urgent", "archive_no": "A-001", "delivery": f"{key}:webhook:staff:1",
                    "recipient": {"role": "technician", "name": "师傅甲", "phone": "13800000000"},
                    "text": "紧急报修 WX1：请立即响应。"}


async def test_webhook_off_unsigned_and_retried_after_a_failure(settings, smtp_sink, hook_sink):
    controller, _ = smtp_sink
    key = f"test:{uuid.uuid4().hex}"
    assert (await notify.deliver(local(settings, controller, None), "k", "A", key, [PAGE]))["off"] == 1
    conf = local(settings, controller, hook_sink)
    hook_sink.fail = 1
    assert (await notify.deliver(conf, "k", "A", key, [PAGE]))["failed"] == 1  # the task retries
    assert (await notify.deliver(conf, "k", "A", key, [PAGE]))["sent"] == 1
    assert (await notify.deliver(conf, "k", "A", key, [PAGE]))["already"] == 1
    assert len(hook_sink.posts) == 1 and "x-portal-signature" not in hook_sink.posts[0][0]
    dead = settings.with_(notify_webhook_url="http://127.0.0.1:9/none")  # nothing listens: a failure, not a crash
    assert (await notify.deliver(dead, "k", "A", f"test:{uuid.uuid4().hex}", [PAGE]))["failed"] == 1


async def _notice_contacts(ref) -> set[str]:
    from tenants.scope import tenant_tx

    async with tenant_tx(ref.schema) as tx:
        rows = await tx.connection.fetch("SELECT email FROM contact WHERE active AND receives_notices AND email <> ''")
    return {r["email"] for r in rows}


def deliveries(sent) -> list[list]:
    return [args for name, args, _ in sent if name == "notify.deliver"]


async def _email(user_id: int, address: str) -> None:
    await DB.pool.execute("UPDATE core.staff_user SET email = $2 WHERE id = $1", user_id, address)


async def test_urgent_repair_pages_on_duty_tells_the_tenant_once_and_names_no_other_tenant(
        desk, settings, smtp_sink, hook_sink):
    controller, box = smtp_sink
    conf = local(settings, controller, hook_sink)
    a, b, pa = desk["a"], desk["b"], desk["pa"]
    tech = await technician(desk["b1"]["id"])
    await _email(tech["id"], f"tech{tech['id']}@office.example")
    await DB.pool.execute("UPDATE core.staff_user SET mobile = '13912345678' WHERE id = $1", tech["id"])
    with sent_tasks() as sent:
        order = await service.report(a, pa, {**LEAK, "urgency": "urgent"})
    with sent_tasks() as sent:
        from tasks.repairs import page_on_duty

        await run_body(page_on_duty.body, a, order["id"])
        assert await run_body(dispatch.dispatch, a, order["id"], 0) == "dispatched"
    events = deliveries(sent)
    assert [e[1] for e in events] == ["repair.urgent", "repair.dispatched"]
    for args in events + events:  # each task delivered twice: nothing goes out twice
        await notify_task.send(a, args[1], args[2], args[3], conf)
    got = mails(box)
    to_tech = [m for m in got if m["To"].addresses[0].addr_spec == f"tech{tech['id']}@office.example"]
    to_tenant = [m for m in got if m["To"].addresses[0].addr_spec == desk["user_a"]["email"]]
    assert len(to_tech) == 1 and "紧急报修" in to_tech[0]["Subject"] and a.archive_no in text_of(to_tech[0])
    assert len(to_tenant) == 1 and "已派单" in to_tenant[0]["Subject"]
    assert f"师傅{tech['id']}" in text_of(to_tenant[0]) and "water" not in text_of(to_tenant[0])
    pages = [p for p in hook_sink.bodies() if p["recipient"]["name"] == tech["principal"].name or
             p["kind"] == "repair.urgent" and p["delivery"].endswith(f"staff:{tech['id']}")]
    assert len(pages) == 1 and pages[0]["archive_no"] == a.archive_no
    assert pages[0]["recipient"]["phone"] == "13912345678"  # the gateway can text the technician
    everything = "\n".join([text_of(m) for m in got] + [json.dumps(p, ensure_ascii=False) for p in hook_sink.bodies()])
    assert b.name not in everything and b.archive_no not in everything


async def test_completion_asks_to_confirm_and_auto_close_tells_the_tenant(desk, settings, smtp_sink):
    controller, box = smtp_sink
    conf = local(settings, controller, None)
    a, pa = desk["a"], desk["pa"]
    tech = await technician(desk["b1"]["id"])
    with sent_tasks():  # the report's own dispatch is run here, not by a worker the session may run
        order = await service.report(a, pa, LEAK)
        await run_body(dispatch.dispatch, a, order["id"], 0)
        await service.accept(a, tech["principal"], order["id"])
        await service.on_site(a, tech["principal"], order["id"])
    with sent_tasks() as sent:
        await service.complete(a, tech["principal"], order["id"], {"note": "换了阀门"})
    [completed] = deliveries(sent)
    await notify_task.send(a, *completed[1:], conf)
    await notify_task.send(a, *completed[1:], conf)
    got = mails(box)
    to = [m["To"].addresses[0].addr_spec for m in got]
    assert desk["user_a"]["email"] in to and len(to) == len(set(to))  # the reporter and notice contacts, once each
    contacts = await _notice_contacts(a)
    assert set(to) == {desk["user_a"]["email"], *contacts}
    msg = got[0]
    assert "请确认" in msg["Subject"] and "7 天内重新打开" in text_of(msg)
    from portal.core.workdays import now
    import datetime as dt

    await DB.pool.execute("UPDATE core.work_order_summary SET completed_at = $3 WHERE tenant_id = $1 AND order_id = $2",
                          a.id, order["id"], now() - dt.timedelta(days=4))
    from tenants.scope import tenant_tx

    async with tenant_tx(a.schema) as tx:
        await tx.connection.execute("UPDATE work_order SET completed_at = $2 WHERE id = $1", order["id"],
                                    now() - dt.timedelta(days=4))
        # The tenant's notices go out in English: so do its repair e-mails from now on.
        await tx.connection.execute("INSERT INTO notice (kind, number, title, issue_date, locale, created_by)"
                                    " VALUES ('arrears', 'N-EN-1', 'Notice', current_date, 'en', 'test')")
    with sent_tasks() as sent:
        assert await scan.auto_close_one(a.id, order["id"], now())
    [closed] = deliveries(sent)
    assert closed[1] == "repair.auto_closed"
    await notify_task.send(a, *closed[1:], conf)
    last = mails(box)[-1]
    assert last["Subject"] == f"Your repair {order['number']} has been closed" and len(box.messages) == 2 * len(to)
    assert "Water and plumbing" in text_of(last) and settings.office_name_en in text_of(last)


async def test_unassigned_and_sla_escalation_tell_the_supervisor_and_dept_head(desk, settings, smtp_sink, hook_sink):
    from tests import factories

    controller, box = smtp_sink
    conf = local(settings, controller, hook_sink)
    a = desk["a"]
    sup = await factories.staff(["supervisor"], [desk["b1"]["id"]])
    head = await factories.staff(["dept_head"], [desk["b1"]["id"]])
    outside = await factories.staff(["supervisor"], [desk["b2"]["id"]])  # another building: not told
    for person in (sup, head, outside):
        await _email(person["id"], f"s{person['id']}@office.example")
    with sent_tasks():  # the report's own dispatch is run below, not by a worker the session may run
        order = await service.report(a, desk["pa"], {**LEAK, "category": "network"})  # nobody has the skill
    with sent_tasks() as sent:
        assert await run_body(dispatch.dispatch, a, order["id"], 0) == "unassigned"
    [queued] = deliveries(sent)
    await notify_task.send(a, *queued[1:], conf)
    to = [m["To"].addresses[0].addr_spec for m in mails(box)]
    assert f"s{sup['id']}@office.example" in to and f"s{outside['id']}@office.example" not in to
    assert f"s{head['id']}@office.example" not in to
    assert any(p["kind"] == "repair.unassigned" and p["recipient"]["role"] == "supervisor" for p in hook_sink.bodies())
    # The SLA scan: far in the future every running clock is breached (warning and breach together).
    import datetime as dt

    from portal.core.workdays import now

    with sent_tasks() as sent:
        await scan.sla_scan(now() + dt.timedelta(days=30))
    mine = [args for args in deliveries(sent) if args[0] == a.id and args[2] == order["id"]]
    assert sorted(args[3][:1] for args in mine) == ["1", "2"]
    before = len(box.messages)
    for args in mine + mine:
        await notify_task.send(a, *args[1:], conf)
    new = mails(box)[before:]
    subjects = {m["To"].addresses[0].addr_spec: m["Subject"] for m in new}
    assert "已超时" in subjects[f"s{sup['id']}@office.example"]
    assert "即将超时" in subjects[f"s{head['id']}@office.example"]
    assert len(new) == len(subjects)  # one each, though every task ran twice


@pytest.fixture
def notify_worker(settings, database, celery_app, smtp_sink, hook_sink):
    """A real Celery worker of its own, on a queue of its own, whose settings
    point at this test's SMTP and HTTP sinks."""
    import os
    import subprocess
    import sys
    import time

    from portal.cli import _env_for

    controller, box = smtp_sink
    queue = f"notify-test-{uuid.uuid4().hex[:8]}"
    conf = local(settings, controller, hook_sink, secret="worker-secret")
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "tasks.worker", "worker", "--concurrency=1", "--loglevel=WARNING",
         "-Q", queue, f"--hostname={queue}@%h", "--without-gossip", "--without-mingle"],
        env=_env_for(conf), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 60
    while time.time() < deadline and not celery_app.control.ping(destination=[f"{queue}@{os.uname()[1]}"],
                                                                 timeout=0.5):
        assert process.poll() is None, "the worker exited during start-up"
    yield queue, box, hook_sink
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


async def test_a_real_worker_sends_a_redelivered_event_once(desk, notify_worker, celery_app):
    import asyncio

    queue, box, hook = notify_worker
    a = desk["a"]
    tech = await technician(desk["b1"]["id"])
    await _email(tech["id"], f"w{tech['id']}@office.example")
    order = await service.report(a, desk["pa"], {**LEAK, "urgency": "urgent"})
    args = [a.id, "repair.urgent", order["id"], "0"]
    results = [celery_app.send_task("notify.deliver", args=args, queue=queue) for _ in range(2)]  # a redelivery
    outcomes = [await asyncio.to_thread(r.get, timeout=60) for r in results]
    assert sorted(o["sent"] > 0 for o in outcomes) == [False, True]  # one sent, the other found it sent
    mine = [m for m in mails(box) if m["To"].addresses[0].addr_spec == f"w{tech['id']}@office.example"]
    pages = [(h, json.loads(b)) for h, b in hook.posts if json.loads(b)["delivery"].endswith(f"staff:{tech['id']}")]
    assert len(mine) == 1 and len(pages) == 1
    headers, body = hook.posts[[json.loads(b)["delivery"] for _, b in hook.posts].index(pages[0][1]["delivery"])]
    assert headers["x-portal-signature"] == "sha256=" + hmac.new(b"worker-secret", body, hashlib.sha256).hexdigest()
    assert pages[0][1]["archive_no"] == a.archive_no and desk["b"].archive_no not in body.decode()
    # The same order id under another tenant reads that tenant's rows only (it has no such order): nothing goes out.
    posts, messages = len(hook.posts), len(box.messages)
    other = celery_app.send_task("notify.deliver", args=[desk["b"].id, "repair.urgent", order["id"], "0"], queue=queue)
    assert (await asyncio.to_thread(other.get, timeout=60))["sent"] == 0
    assert len(hook.posts) == posts and len(box.messages) == messages


async def test_complaint_escalation_tells_the_head_then_the_supervisor_and_major_uses_the_webhook(
        database, settings, smtp_sink, hook_sink):
    import datetime as dt

    from portal.core.roles import Principal, Role
    from portal.core.workdays import SHANGHAI
    from tenants.complaints import service as complaints, summary
    from tenants.registry import service as registry
    from tests import factories

    controller, box = smtp_sink
    conf = local(settings, controller, hook_sink)
    bld, elsewhere = await factories.building(), await factories.building()
    ref = await registry.get_ref(await factories.tenant(bld))
    other = await registry.get_ref(await factories.tenant(elsewhere))
    clerk = await factories.staff(["clerk"], [bld["id"]])
    head = await factories.staff(["dept_head"], [bld["id"]])
    sup = await factories.staff(["supervisor"], [bld["id"]])
    gm = await factories.staff(["general_manager"], [bld["id"]])
    far = await factories.staff(["supervisor"], [elsewhere["id"]])  # not this tenant's building
    for person in (head, sup, gm, far):
        await _email(person["id"], f"c{person['id']}@office.example")
    who = Principal(kind="staff", user_id=clerk["id"], name="前台", roles=frozenset({Role.CLERK}),
                    building_ids=frozenset({bld["id"]}))
    user = await factories.portal_user(ref.id)
    tenant = Principal(kind="portal", user_id=user["id"], name="租户用户", tenant_id=ref.id)
    lodged = dt.datetime(2026, 9, 30, 17, 20, tzinfo=SHANGHAI)  # first response due 10-08 08:50
    base = {"channel": "phone", "complainant": "王先生", "contact": "", "against": "保洁",
            "description": "走廊连续三天没有打扫", "request": "恢复每日保洁"}
    with sent_tasks() as sent:
        cid = await complaints.lodge(ref, {**base, "grade": "general"}, tenant, at=lodged)  # waits at step 1
        major = await complaints.lodge(ref, {**base, "grade": "major"}, who,  # answer due 10-09 08:00
                                       at=dt.datetime(2026, 10, 8, 8, 0, tzinfo=SHANGHAI))
        await complaints.lodge(other, {**base, "grade": "general"}, who, at=lodged)  # another tenant's
    assert [a[1:3] for a in deliveries(sent)] == [["complaint.major", major]]

    async def run(at):
        with sent_tasks() as sent:
            await summary.escalate(at)
        mine = [a for a in deliveries(sent) if a[0] == ref.id and a[2] in (cid, major)]
        for args in deliveries(sent) + mine:  # ours twice: a redelivery
            if args[0] == ref.id:
                await notify_task.send(ref, *args[1:], conf)
        return mine

    await notify_task.send(ref, "complaint.major", major, "", conf)
    first = await run(dt.datetime(2026, 10, 8, 8, 51, tzinfo=SHANGHAI))  # late after the holiday week: level 1
    assert [(a[2], a[3][:1]) for a in first] == [(cid, "1")]
    second = await run(dt.datetime(2026, 10, 9, 9, 0, tzinfo=SHANGHAI))  # still late a day later: level 2
    assert sorted((a[2], a[3][:1]) for a in second) == sorted([(cid, "2"), (major, "1")])
    got = [(m["To"].addresses[0].addr_spec, m["Subject"], text_of(m)) for m in mails(box)]
    to_head = [g for g in got if g[0] == f"c{head['id']}@office.example"]
    to_sup = [g for g in got if g[0] == f"c{sup['id']}@office.example"]
    to_gm = [g for g in got if g[0] == f"c{gm['id']}@office.example"]
    assert len(to_head) == 2 and all("已超期" in g[1] for g in to_head)  # both cases, once each
    assert len(to_sup) == 2 and sum("仍然超期" in g[1] for g in to_sup) == 1 and sum("重大投诉" in g[1] for g in to_sup) == 1
    from portal.core import i18n
    from tenants.complaints import flow

    step_name = i18n.translations("zh").gettext(flow.STEP_LABELS["record"])
    assert any(f"“{step_name}”" in g[2] for g in to_head) and all("record" not in g[2] for g in got)
    assert len(to_gm) == 1 and "重大投诉" in to_gm[0][1]
    assert not [g for g in got if g[0] == f"c{far['id']}@office.example"]
    assert all(other.name not in g[2] and other.archive_no not in g[2] for g in got)
    hooks = hook_sink.bodies()
    assert {h["kind"] for h in hooks} == {"complaint.major", "complaint.escalated"}
    escalated = [h for h in hooks if h["kind"] == "complaint.escalated"]
    assert escalated and all(  # the webhook only for the major case (here at level 1: the department head)
        h["delivery"].split(":")[2] == str(major) and h["recipient"]["role"] == "dept_head" for h in escalated)
    assert all(h["archive_no"] == ref.archive_no for h in hooks)
