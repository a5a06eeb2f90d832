"""A complaint's money remedy becomes a credit in the tenant's ledger when the
general manager approves step 7: once, in the same transaction, allocated to
open charges, on the summary without drift, shown on the pages and the
statement, and never for another tenant, a non-money remedy, a refused step or
by hand."""

from __future__ import annotations

import subprocess

import pytest

from portal import events
from portal.core import i18n
from portal.core.db import DB
from portal.core.errors import Conflict, FormErrors
from portal.core.roles import Principal, Role
from tenants.complaints import service
from tenants.money import charges, credits, ledger, notices_render
from tenants.money import payments as money_payments
from tenants.registry import service as registry
from tenants.registry.reconcile import reconcile_all
from tenants.scope import tenant_tx
from tests import factories
from tests.integration.test_complaints_flow import NEW, STEP_DATA, person

FINANCE = Principal(kind="staff", user_id=9101, name="财务甲", roles=frozenset({Role.FINANCE}))


@pytest.fixture
async def office(database):
    bld = await factories.building()
    ref = await registry.get_ref(await factories.tenant(bld))
    other = await registry.get_ref(await factories.tenant(bld))
    b = [bld["id"]]
    people = {
        "clerk": person(await factories.staff(["clerk"], b), "clerk", buildings=b),
        "clerk2": person(await factories.staff(["clerk"], b), "clerk", buildings=b),
        "supervisor": person(await factories.staff(["supervisor"]), "supervisor"),
        "gm": person(await factories.staff(["general_manager"]), "general_manager"),
    }
    return ref, other, people


async def _charge(ref, amount: str, due: str) -> int:
    return await charges.add_manual_charge(
        ref, {"fee_item": "utilities", "amount": amount, "due_date": due, "reason": "水电抄表"}, FINANCE)


async def _to_gm(ref, p, remedy: dict) -> tuple[int, str]:
    """A complaint walked up to step 7 (the general manager's approval)."""
    cid = await service.lodge(ref, NEW, p["clerk"])
    for step, who in [("stands", "clerk"), ("assign", "clerk"), ("cause", "clerk2"), ("remedy", "clerk"),
                      ("supervisor", "supervisor")]:
        data = remedy if step == "remedy" else STEP_DATA[step]
        await service.decide(ref, cid, {"decision": "approve", "expected_step": step, **data}, p[who])
    async with tenant_tx(ref.schema) as tx:
        number = await tx.connection.fetchval("SELECT number FROM complaint WHERE id = $1", cid)
    return cid, number


async def _gm(ref, cid, p, decision="approve", **extra):
    return await service.decide(ref, cid, {"decision": decision, "expected_step": "gm", **extra}, p["gm"])


async def _credits(ref) -> list[dict]:
    async with tenant_tx(ref.schema) as tx:
        return [dict(r) for r in await tx.connection.fetch(
            "SELECT * FROM payment WHERE method LIKE 'complaint_%' ORDER BY id")]


async def _money(ref) -> dict:
    row = await DB.pool.fetchrow("SELECT * FROM core.tenant_money WHERE tenant_id = $1", ref.id)
    return dict(row) if row else {}


DISCOUNT = {"remedy_kind": "discount", "remedy": "当月水电费减免", "remedy_amount": "300.00"}


async def test_gm_approval_credits_once_reduces_arrears_without_drift(office):
    ref, other, p = office
    old = await _charge(ref, "200.00", "2026-01-10")
    new = await _charge(ref, "500.00", "2026-02-10")
    await _charge(other, "200.00", "2026-01-10")
    other_before = await _money(other)
    cid, number = await _to_gm(ref, p, DISCOUNT)
    assert await _credits(ref) == [] and (await _money(ref))["outstanding_fen"] == 70000

    await _gm(ref, cid, p)
    [credit] = await _credits(ref)
    assert credit["amount_fen"] == 30000 and credit["reference"] == number and credit["method"] == "complaint_discount"
    assert credit["receipt_no"].startswith("JM") and credit["recorded_by"] == p["gm"].name
    async with tenant_tx(ref.schema) as tx:
        allocs = await tx.connection.fetch("SELECT charge_id, amount_fen FROM allocation WHERE payment_id = $1"
                                           " ORDER BY id", credit["id"])
        log = await tx.connection.fetch("SELECT field, new_value FROM change_log WHERE entity = 'payment'")
    assert [(a["charge_id"], a["amount_fen"]) for a in allocs] == [(old, 20000), (new, 10000)]  # oldest first
    money = await _money(ref)
    assert money["outstanding_fen"] == 40000 and money["credit_fen"] == 0 and money["open_charges"] == 1
    assert [r["field"] for r in log] == ["credited"] and number in log[0]["new_value"]
    audit = await DB.pool.fetch("SELECT detail FROM core.audit_log WHERE action = 'money.credit.grant'"
                                " AND tenant_id = $1", ref.id)
    assert len(audit) == 1
    # Another tenant is untouched; no summary drifts.
    assert await _credits(other) == [] and await _money(other) == other_before
    report = await reconcile_all(fix=False)
    assert not [d for d in report["drifted"] if d["tenant_id"] in (ref.id, other.id)]

    # Re-deciding cannot double it: the step is gone, and the grant itself is idempotent.
    with pytest.raises(Conflict):
        await _gm(ref, cid, p)
    async with tenant_tx(ref.schema):
        again = await credits.grant_in_tx(ref, method="complaint_discount", reference=number, fen=30000,
                                          principal=p["gm"])
        with pytest.raises(Conflict):
            await credits.grant_in_tx(ref, method="complaint_compensation", reference=number, fen=50000,
                                      principal=p["gm"])
    assert again == credit["id"] and len(await _credits(ref)) == 1

    # The complaint page (staff) shows it.
    seen = await service.read(ref, cid, p["clerk"])
    assert seen["credit"]["receipt_no"] == credit["receipt_no"] and seen["credit"]["amount_fen"] == 30000


async def test_send_back_after_gm_and_second_approval_adds_nothing(office):
    ref, _other, p = office
    await _charge(ref, "100.00", "2026-01-10")
    cid, _number = await _to_gm(ref, p, {**DISCOUNT, "remedy_amount": "250"})
    await _gm(ref, cid, p)
    # Step 8 sends the case back to the supervisor; the GM approves again: still one credit.
    await service.decide(ref, cid, {"decision": "send_back", "to_step": "supervisor", "note": "再核一次",
                                    "expected_step": "carry_out"}, p["clerk"])
    await service.decide(ref, cid, {"decision": "approve", "expected_step": "supervisor"}, p["supervisor"])
    await _gm(ref, cid, p)
    [credit] = await _credits(ref)
    assert credit["amount_fen"] == 25000
    money = await _money(ref)
    assert money["outstanding_fen"] == 0 and money["credit_fen"] == 15000  # the rest stays as credit


async def test_non_money_remedy_and_refused_step_create_nothing(office):
    ref, _other, p = office
    await _charge(ref, "100.00", "2026-01-10")
    apology, _ = await _to_gm(ref, p, {"remedy_kind": "apology", "remedy": "书面道歉"})
    await _gm(ref, apology, p)
    sent_back, _ = await _to_gm(ref, p, DISCOUNT)
    with pytest.raises(FormErrors):  # only step 2 may reject; nothing is saved
        await _gm(ref, sent_back, p, decision="reject", note="不同意")
    await _gm(ref, sent_back, p, decision="send_back", to_step="remedy", note="金额过高")
    assert (await service.read(ref, sent_back, p["clerk"]))["step"] == "remedy"
    assert await _credits(ref) == []
    assert (await _money(ref))["outstanding_fen"] == 10000


async def test_amount_validation_is_localized_and_saves_nothing(office):
    ref, _other, p = office
    cid = await service.lodge(ref, NEW, p["clerk"])
    for step, who in [("stands", "clerk"), ("assign", "clerk"), ("cause", "clerk2")]:
        await service.decide(ref, cid, {"decision": "approve", "expected_step": step, **STEP_DATA[step]}, p[who])
    bad = [{**DISCOUNT, "remedy_amount": "-5"}, {**DISCOUNT, "remedy_amount": "1.234"},
           {**DISCOUNT, "remedy_amount": "0"}, {**DISCOUNT, "remedy_amount": "99999999999"},
           {"remedy_kind": "apology", "remedy": "道歉", "remedy_amount": "100"}]
    for data in bad:
        with pytest.raises(FormErrors) as exc:
            await service.decide(ref, cid, {"decision": "approve", "expected_step": "remedy", **data}, p["clerk"])
        assert "remedy_amount" in exc.value.fields
    i18n.set_locale("zh")
    assert i18n.gettext("An amount is only given for a discount or compensation.") != \
        "An amount is only given for a discount or compensation."
    async with tenant_tx(ref.schema) as tx:
        row = await tx.connection.fetchrow("SELECT step, remedy_fen FROM complaint WHERE id = $1", cid)
    assert row["step"] == "remedy" and row["remedy_fen"] == 0
    with pytest.raises(FormErrors):
        async with tenant_tx(ref.schema):
            await credits.grant_in_tx(ref, method="complaint_discount", reference="TS2026-9", fen=0,
                                      principal=p["gm"])


async def test_only_the_flow_grants_it_not_the_payment_form(office):
    ref, _other, p = office
    for method in credits.CREDIT_METHODS:
        with pytest.raises(FormErrors):
            await money_payments.record_payment(ref, {"amount": "100", "method": method, "reference": "TS2026-1"},
                                                FINANCE)
    assert await _credits(ref) == []


async def test_pages_statement_and_event_sentence_show_it(office, settings):
    ref, _other, p = office
    await _charge(ref, "100.00", "2026-01-10")
    cid, number = await _to_gm(ref, p, {"remedy_kind": "compensation", "remedy": "赔偿损失",
                                        "remedy_amount": "80"})
    await _gm(ref, cid, p)
    for locale, word in (("zh", "赔偿（投诉"), ("en", "Compensation (complaint")):
        i18n.set_locale(locale)
        data = await ledger.overview(ref, FINANCE, audit_view=False)
        [pay] = [x for x in data["payments"] if x["method"] == "complaint_compensation"]
        assert pay["credit_label"].startswith(word) and number in pay["credit_label"]
        pdf = await notices_render.statement_pdf(ref, FINANCE, settings, locale=locale)
        text = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
        assert word in text.replace("\n", " ") and number in text
        async with tenant_tx(ref.schema) as tx:
            row = dict(await tx.connection.fetchrow("SELECT * FROM change_log WHERE field = 'credited'"))
        sentence = events.change_sentence(row)
        assert number in sentence and "¥80.00" in sentence and "credited" not in sentence
    i18n.set_locale("zh")


async def test_pages_through_http_and_isolation(database, client_factory):
    """The console complaint and money pages and the portal money page show the
    credit to whoever may read them; staff outside the building and the other
    tenant's users see nothing of it (404 / absent); the payment form refuses
    the credit's method (only the flow grants it)."""
    from tests.integration.test_complaints_http import post_form, signed_in

    bld, other_bld = await factories.building(), await factories.building()
    ref = await registry.get_ref(await factories.tenant(bld))
    other = await registry.get_ref(await factories.tenant(other_bld))
    b = [bld["id"]]
    clerk_row = await factories.staff(["clerk"], b)
    p = {"clerk": person(clerk_row, "clerk", buildings=b),
         "clerk2": person(await factories.staff(["clerk"], b), "clerk", buildings=b),
         "supervisor": person(await factories.staff(["supervisor"]), "supervisor"),
         "gm": person(await factories.staff(["general_manager"]), "general_manager")}
    await _charge(ref, "100.00", "2026-01-10")
    cid, number = await _to_gm(ref, p, DISCOUNT)
    await _gm(ref, cid, p)
    [credit] = await _credits(ref)

    clerk = await signed_in(client_factory, [], login=clerk_row["username"])
    case = await clerk.get(f"/console/tenants/{ref.id}/complaints/{cid}")
    assert case.status_code == 200 and credit["receipt_no"] in case.text
    finance = await signed_in(client_factory, ["finance"], b)
    money = await finance.get(f"/console/tenants/{ref.id}/money")
    assert money.status_code == 200 and f"减免（投诉 {number}）" in money.text
    outsider = await signed_in(client_factory, ["clerk"], [other_bld["id"]])  # finance is office-wide
    assert (await outsider.get(f"/console/tenants/{ref.id}/money")).status_code == 404
    assert (await outsider.get(f"/console/tenants/{ref.id}/complaints/{cid}")).status_code == 404
    assert number not in (await outsider.get(f"/console/tenants/{other.id}/money")).text

    user = await factories.portal_user(ref.id)
    tenant = await signed_in(client_factory, [], kind="portal", login=user["email"])
    mine = await tenant.get("/portal/money")
    assert mine.status_code == 200 and f"减免（投诉 {number}）" in mine.text
    stranger_user = await factories.portal_user(other.id)
    stranger = await signed_in(client_factory, [], kind="portal", login=stranger_user["email"])
    theirs = await stranger.get("/portal/money")
    assert theirs.status_code == 200 and number not in theirs.text and credit["receipt_no"] not in theirs.text

    page = f"/console/tenants/{ref.id}/money"
    refused = await post_form(finance, page, page + "/payments",
                              {"amount": "100", "method": "complaint_discount", "reference": number})
    assert refused.status_code == 422
    assert len(await _credits(ref)) == 1 and await _credits(other) == []


async def test_api_gm_approval_grants_it_and_reads_it_back(database, client_factory):
    from tests.integration.test_api import staff_api

    bld, other_bld = await factories.building(), await factories.building()
    ref = await registry.get_ref(await factories.tenant(bld))
    b = [bld["id"]]
    p = {"clerk": person(await factories.staff(["clerk"], b), "clerk", buildings=b),
         "clerk2": person(await factories.staff(["clerk"], b), "clerk", buildings=b),
         "supervisor": person(await factories.staff(["supervisor"]), "supervisor")}
    cid, number = await _to_gm(ref, p, {**DISCOUNT, "remedy_amount": "12.34"})
    manager = await staff_api(client_factory, ["general_manager"])
    decided = await manager.post(f"/tenants/{ref.id}/complaints/{cid}/decide",
                                 {"decision": "approve", "expected_step": "gm"})
    assert decided.status_code == 200, decided.text
    body = decided.json()
    assert body["credited_fen"] == 1234 and body["credit_receipt_no"].startswith("JM")
    again = await manager.post(f"/tenants/{ref.id}/complaints/{cid}/decide",
                               {"decision": "approve", "expected_step": "gm"})
    assert again.status_code == 409 and len(await _credits(ref)) == 1
    outsider = await staff_api(client_factory, ["clerk"], [other_bld["id"]])
    assert (await outsider.get(f"/tenants/{ref.id}/complaints/{cid}")).status_code == 404


async def test_concurrent_grants_for_one_complaint_make_one_credit(office):
    """Two transactions granting the same complaint's credit at once: the
    ledger lock orders them and the second finds the first."""
    import asyncio

    ref, _other, p = office
    await _charge(ref, "100.00", "2026-01-10")

    async def grant():
        async with tenant_tx(ref.schema):
            return await credits.grant_in_tx(ref, method="complaint_discount", reference="TS2026-777777",
                                             fen=5000, principal=p["gm"])

    first, second = await asyncio.gather(grant(), grant())
    assert first == second and len(await _credits(ref)) == 1
    assert (await _money(ref))["outstanding_fen"] == 5000


async def test_complaint_card_names_the_credit(office):
    from tenants.complaints import card

    ref, _other, p = office
    cid, number = await _to_gm(ref, p, DISCOUNT)
    await _gm(ref, cid, p)
    [credit] = await _credits(ref)
    pdf = await card.card_pdf(ref, cid)
    text = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    assert "已记入账目的减免" in text and credit["receipt_no"] in text
