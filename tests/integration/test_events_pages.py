"""Pages that show stored events, walked in Chinese and English: sentences, money,
no codes; the review diff shows only what changes; the tenant withdraws a
pending request; English pages carry no Chinese UI text."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest

from portal.core import audit
from portal.core.roles import Principal, Role
from portal.core.db import DB
from tenants.file import service as file_service
from tenants.money import charges, deposits, notices_issue, payments
from tenants.registry import service as registry
from tenants.scope import tenant_tx
from tests import factories
from tests.integration.money_support import archive_storage  # noqa: F401 (fixture)

FINANCE = Principal(kind="staff", user_id=9301, name="Finance Fang", roles=frozenset({Role.FINANCE}))
CJK = re.compile(r"[\u3400-\u9fff\uff01-\uff60\u3000-\u303f]")
# Stored codes, JSON and ids that must never reach a page that shows events.
INTERNALS = [
    re.compile(r"\b(?:tenant|money|document|staff|portal|loan|audit|security)\.[a-z_]+(?:\.[a-z_]+)*\b"),
    re.compile(r"\{&#34;|\{\""), re.compile(r"#\d+"), re.compile(r"\b(?:True|False|anonymous)\b"),
    re.compile(r"\b(?:contact_update|bank_transfer|lease_security|is_primary|is_emergency)\b"),
    re.compile(r"\b(?:payment|deposit|document) #?\d"),
]
# In Chinese pages an English status or verb is a code that slipped through.
ENGLISH_CODES = re.compile(r"\b(?:pending|approved|rejected|withdrawn|recorded|received|submitted|filed|issued|yes|no)\b")


def visible_text(page: str) -> str:
    """What a person reads: the body without tags, scripts, styles and attribute values."""
    body = page.split("<body", 1)[-1].split(">", 1)[-1]
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", body, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", body))


def assert_no_internals(page: str, where: str) -> None:
    text = re.sub(r"\S+@\S+", " ", visible_text(page))  # e-mail addresses are data
    for pattern in INTERNALS + ([ENGLISH_CODES] if '<html lang="zh-CN"' in page else []):
        found = pattern.search(text)
        assert not found, f"{where} shows {found.group(0)!r}"


def assert_no_chinese_ui(page: str, where: str, data: list[str]) -> None:
    """English pages: any Chinese left once the data people entered is taken out is UI text."""
    text = visible_text(page)
    for value in sorted(data, key=len, reverse=True):
        text = text.replace(value, " ")
    leftover = [m.start() for m in CJK.finditer(text)]
    assert not leftover, f"{where} shows Chinese UI text: {text[max(leftover[0] - 40, 0):leftover[0] + 40]!r}"


async def _client(client_factory, login: str, password: str, kind: str, lang: str):
    client = await client_factory()
    client.cookies.set("lang", lang, domain="testserver.local")
    client.follow_redirects = True
    response = await factories.sign_in(client, login, password, kind=kind)
    assert response.status_code in (200, 302, 303)
    return client


async def _post(client, path: str, data: dict, token_path: str):
    token = await factories.form_token(client, token_path)
    return await client.post(path, data={**data, "_csrf_token": token}, follow_redirects=False)


async def _contact(ref) -> dict:
    async with tenant_tx(ref.schema) as tx:
        return dict(await tx.connection.fetchrow("SELECT * FROM contact WHERE active ORDER BY id LIMIT 1"))


@pytest.fixture
def contact_form():
    def make(contact: dict, **changes) -> dict:
        form = {k: contact[k] for k in ("name", "position", "mobile", "landline", "email")}
        form.update({k: "1" for k in ("is_primary", "is_emergency", "receives_notices") if contact[k]})
        form.update(changes)
        return form
    return make


async def test_review_diff_withdrawal_and_isolation(database, client_factory, contact_form):
    bld = await factories.building()
    ref = await registry.get_ref(await factories.tenant(bld, name="Diff Trading Co"))
    other = await registry.get_ref(await factories.tenant(bld, name="Other Trading Co"))
    user, other_user = await factories.portal_user(ref.id), await factories.portal_user(other.id)
    reviewer = await factories.staff(["dept_head"], buildings=[bld["id"]])
    contact = await _contact(ref)
    assert contact["is_primary"] and not contact["is_emergency"]

    tenant = await _client(client_factory, user["email"], user["password"], "portal", "en")
    sent = await _post(tenant, f"/portal/requests/contacts/{contact['id']}/edit",
                       contact_form(contact, mobile="13911112222"), f"/portal/requests/contacts/{contact['id']}/edit")
    assert sent.status_code in (302, 303)
    request_id = (await file_service.read_file(ref, factories.SYSTEM, audit_view=False))["requests"][0]["id"]

    # Staff see only the changed field, with readable values, in both languages.
    for lang, mobile in (("en", "Mobile"), ("zh", "手机")):
        staff = await _client(client_factory, reviewer["username"], reviewer["password"], "console", lang)
        review = await staff.get(f"/console/reviews/{ref.id}/{request_id}")
        assert review.status_code == 200
        table = review.text.split('class="diff"', 1)[1].split("</table>", 1)[0]
        assert table.count('class="changed"') == 1 and mobile in table and "13911112222" in table
        assert "True" not in table and "yes" not in table and "是" not in table
        assert_no_internals(review.text, f"review ({lang})")

    # The tenant sees the same diff and withdraws after a confirmation page.
    home = await tenant.get("/portal/")
    requests = home.text.split('id="h-requests"', 1)[1].split("</section>", 1)[0]
    assert "13911112222" in requests and "Waiting for review" in requests and "True" not in requests
    assert f"/portal/requests/{request_id}/withdraw" in requests
    confirm = await tenant.get(f"/portal/requests/{request_id}/withdraw")
    assert confirm.status_code == 200 and "13911112222" in confirm.text and "Yes, withdraw it" in confirm.text

    # Another tenant's user, and staff, cannot withdraw it.
    intruder = await _client(client_factory, other_user["email"], other_user["password"], "portal", "en")
    assert (await intruder.get(f"/portal/requests/{request_id}/withdraw")).status_code == 404
    token = await factories.form_token(intruder, "/portal/account")
    refused = await intruder.post(f"/portal/requests/{request_id}/withdraw", data={"_csrf_token": token},
                                  follow_redirects=False)
    assert refused.status_code == 404
    staff = await _client(client_factory, reviewer["username"], reviewer["password"], "console", "en")
    token = await factories.form_token(staff, "/console/account")
    as_staff = await staff.post(f"/portal/requests/{request_id}/withdraw", data={"_csrf_token": token},
                                follow_redirects=False)
    assert as_staff.status_code in (302, 303, 401) and "/portal/login" in as_staff.headers.get("location", "/portal/login")
    assert (await file_service.read_file(ref, factories.SYSTEM, audit_view=False))["requests"][0]["status"] == "pending"

    done = await _post(tenant, f"/portal/requests/{request_id}/withdraw", {},
                       f"/portal/requests/{request_id}/withdraw")
    assert done.status_code in (302, 303) and "withdrawn=1" in done.headers["location"]
    data = await file_service.read_file(ref, factories.SYSTEM, audit_view=False)
    assert data["requests"][0]["status"] == "withdrawn"
    assert [c["field"] for c in data["changes"]][:1] == ["withdrawn"]
    assert await DB.pool.fetchval("SELECT status FROM core.review_item WHERE tenant_id = $1 AND ref_id = $2"
                                  " AND kind LIKE 'change:%'", ref.id, request_id) == "withdrawn"
    queue = await staff.get("/console/reviews")
    assert f"/console/reviews/{ref.id}/{request_id}" not in queue.text
    assert f"/console/reviews/{ref.id}/{request_id}" in (await staff.get("/console/reviews?status=withdrawn")).text
    # Withdrawing twice, or after a decision, is a clear conflict that changes nothing.
    again = await tenant.post(f"/portal/requests/{request_id}/withdraw",
                              data={"_csrf_token": await factories.form_token(tenant, "/portal/account")},
                              follow_redirects=False)
    assert again.status_code == 409 and "already been decided" in again.text
    home = await tenant.get("/portal/?withdrawn=1")
    assert "Your request was withdrawn." in home.text and "withdrew the request" in home.text
    assert_no_internals(home.text, "portal home")


async def test_pages_with_events_read_as_sentences_in_both_languages(database, client_factory, settings,
                                                                     contact_form):
    bld = await factories.building()
    ref = await registry.get_ref(await factories.tenant(bld, name="Sentence Trading Co"))
    user = await factories.portal_user(ref.id)
    contact = await _contact(ref)
    await deposits.receive_deposit(ref, {"kind": "lease_security", "amount": "3000"}, FINANCE)
    await charges.add_manual_charge(ref, {"fee_item": "management", "amount": "1200", "due_date": "2026-01-10",
                                          "reason": "January"}, FINANCE)
    await payments.record_payment(ref, {"amount": "3000", "paid_on": "2026-01-15", "method": "bank_transfer",
                                        "reference": "REF-7"}, FINANCE)
    await notices_issue.issue(ref, "statement", settings, actor=FINANCE, locale="zh", send_email=False)
    await file_service.update_profile(ref, {"registered_capital": "250000", "status": "dormant"}, factories.SYSTEM)
    request_id = await file_service.submit_request(
        ref, await _portal_principal(user), "contact_update", contact_form(contact, is_emergency="1"),
        target_id=contact["id"])
    await file_service.decide_request(ref, request_id, factories.SYSTEM, approve=True)
    await audit.record("portal.login", actor_name="陈明", outcome="failed")
    await audit.record("money.deposit.receive", principal=FINANCE, tenant_id=ref.id, target="deposit:1",
                       detail={"fen": 300000, "receipt_no": "YJ2026-000009"})
    auditor, clerk = await factories.staff(["auditor"]), await factories.staff(["general_manager"])

    for lang in ("zh", "en"):
        staff = await _client(client_factory, clerk["username"], clerk["password"], "console", lang)
        page = await staff.get(f"/console/tenants/{ref.id}")
        assert page.status_code == 200
        log = page.text.split('id="h-changes"', 1)[1].split("</section>", 1)[0]
        assert "¥3,000.00" in log and "¥250,000.00" in log and "REF-7" in log
        assert ("银行转账" in log) == (lang == "zh") and ("Bank transfer" in log) == (lang == "en")
        assert_no_internals(page.text, f"console tenant page ({lang})")

        audit_client = await _client(client_factory, auditor["username"], auditor["password"], "console", lang)
        audit_page = await audit_client.get("/console/audit")
        assert audit_page.status_code == 200 and "¥3,000.00" in audit_page.text
        assert "陈明" in audit_page.text and "YJ2026-000009" in audit_page.text
        assert_no_internals(audit_page.text, f"audit log ({lang})")

        tenant = await _client(client_factory, user["email"], user["password"], "portal", lang)
        home = await tenant.get("/portal/")
        assert_no_internals(home.text, f"portal home ({lang})")
        money = await tenant.get("/portal/money")
        assert money.status_code == 200
        assert_no_internals(money.text, f"portal money ({lang})")
        review = await staff.get(f"/console/reviews/{ref.id}/{request_id}")
        assert_no_internals(review.text, f"decided review ({lang})")
        assert ("已批准" if lang == "zh" else "Approved") in review.text


async def _portal_principal(user: dict) -> Principal:
    from portal.accounts import service as accounts

    epoch = await DB.pool.fetchval("SELECT session_epoch FROM core.portal_user WHERE id = $1", user["id"])
    return await accounts.load_principal("portal", user["id"], epoch)


async def test_english_pages_carry_no_chinese_ui_text(database, client_factory, settings):
    bld = await factories.building()
    ref = await registry.get_ref(await factories.tenant(bld, name="English Trading Co"))
    user = await factories.portal_user(ref.id)
    await charges.add_manual_charge(ref, {"fee_item": "management", "amount": "1200", "due_date": "2026-01-10",
                                          "reason": "January"}, FINANCE)
    async with tenant_tx(ref.schema) as tx:  # a billed line, described in Chinese when it was billed
        item = await DB.pool.fetchrow("SELECT name, name_en FROM core.fee_item WHERE code = 'management'")
        await tx.connection.execute(
            "INSERT INTO charge (kind, fee_item, period, description, amount_fen, due_date, created_by)"
            " VALUES ('billing', 'management', '2026-02-01', $1, 50000, '2026-02-10', 'billing')",
            f"{item['name']} 2026-02")
    await notices_issue.issue(ref, "arrears", settings, actor=FINANCE, locale="zh", send_email=False,
                        as_of=dt.date(2026, 3, 1))
    manager = await factories.staff(["general_manager"])
    data = ["English Trading Co", "李四", "行政经理", "张三", "软件", "租户用户", f"测试大厦{bld['code']}",
            f"员工{manager['username'][-4:]}", settings.office_name, "中文"]  # 中文: the language switch
    data += [r["name"] for r in await DB.pool.fetch("SELECT name FROM core.building")]  # office data

    staff = await _client(client_factory, manager["username"], manager["password"], "console", "en")
    for path in ("/console/tenants/new", f"/console/tenants/{ref.id}/money", f"/console/tenants/{ref.id}"):
        page = await staff.get(path)
        assert page.status_code == 200, path
        assert_no_chinese_ui(page.text, path, data)
    new = await staff.get("/console/tenants/new")
    assert "Office leasing" in new.text
    money = await staff.get(f"/console/tenants/{ref.id}/money")
    assert f"{item['name_en']} 2026-02" in money.text and "Notice of arrears" in money.text

    tenant = await _client(client_factory, user["email"], user["password"], "portal", "en")
    for path in ("/portal/", "/portal/money", "/portal/documents", "/portal/requests/profile"):
        page = await tenant.get(path)
        assert page.status_code == 200, path
        assert_no_chinese_ui(page.text, path, data)
