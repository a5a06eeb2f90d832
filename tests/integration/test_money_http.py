"""Money pages over HTTP, notices as PDFs, and e-mail to a real SMTP sink."""

from __future__ import annotations

import datetime as dt
import io
import re
import subprocess
import tempfile
from pathlib import Path

import pdfplumber
import pytest
import pytest_asyncio

from portal.core.roles import Principal, Role
from tenants.money import charges, deposits, notices, notices_issue, notices_render, payments
from tenants.registry import service as registry
from tenants.scope import tenant_tx
from tests import factories
from tests.integration.money_support import archive_storage, smtp_sink  # noqa: F401 (fixtures)

FINANCE = Principal(kind="staff", user_id=9201, name="财务丙", roles=frozenset({Role.FINANCE}))


@pytest_asyncio.fixture
async def client(client_factory):
    return client_factory


async def _tenant_with_arrears():
    bld = await factories.building()
    ref = await registry.get_ref(await factories.tenant(bld))
    await charges.add_manual_charge(ref, {"fee_item": "management", "amount": "12000", "due_date": "2026-01-10",
                                          "reason": "一月物业费"}, FINANCE)
    await charges.add_manual_charge(ref, {"fee_item": "utilities", "amount": "1000000.01", "due_date": "2026-02-10",
                                          "reason": "水电"}, FINANCE)
    return ref


def _text(pdf: bytes) -> str:
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        return "\n".join(page.extract_text() or "" for page in doc.pages)


async def test_arrears_notice_pdf_filed_and_emailed(database, services, settings, smtp_sink):
    controller, sink = smtp_sink
    ref = await _tenant_with_arrears()
    local = settings.with_(smtp_host="127.0.0.1", smtp_port=controller.port)
    notice_id = await notices_issue.issue(ref, "arrears", local, actor=FINANCE, as_of=dt.date(2026, 3, 1))
    number, pdf = await notices.notice_pdf(ref, notice_id, FINANCE)
    text = _text(pdf)
    assert "催缴通知书" in text and ref.name[:6] in text and number in text
    assert "1,012,000.01" in text and "壹佰零壹万贰仟元零壹分" in text
    assert local.office_name in text and "第 1 页，共 1 页" in text
    # rendered page looks like a page (pdftoppm)
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "n.pdf").write_bytes(pdf)
        subprocess.run(["pdftoppm", "-r", "50", "-png", "-f", "1", "-l", "1", f"{tmp}/n.pdf", f"{tmp}/p"], check=True)
        png = next(Path(tmp).glob("p*.png"))
        assert png.stat().st_size > 5000
    # e-mailed to the contact who receives notices, with the PDF attached
    assert len(sink.messages) == 1
    envelope = sink.messages[0]
    assert envelope.rcpt_tos == ["lisi@example.com"]
    assert b"application/pdf" in envelope.content and number.encode() in envelope.content
    async with tenant_tx(ref.schema) as tx:
        row = await tx.connection.fetchrow("SELECT emailed_to, document_id FROM notice WHERE id = $1", notice_id)
        log = await tx.connection.fetchval(
            "SELECT count(*) FROM change_log WHERE entity = 'arrears' AND field = 'issued'")
        filed = await tx.connection.fetchval(
            "SELECT category FROM document WHERE id = $1", row["document_id"]) if row["document_id"] else None
    assert row["emailed_to"] == "lisi@example.com" and log == 1
    assert filed in (None, "violations")


async def test_english_notice_and_receipts(database, services, settings):
    ref = await _tenant_with_arrears()
    pay = await payments.record_payment(ref, {"amount": "12000", "method": "bank_transfer", "reference": "TX77"},
                                        FINANCE)
    entry = await deposits.receive_deposit(ref, {"kind": "lease_security", "amount": "100010.10"}, FINANCE)
    notice_id = await notices_issue.issue(ref, "final_demand", settings, actor=FINANCE, locale="en",
                                    as_of=dt.date(2026, 3, 1), send_email=False)
    _, pdf = await notices.notice_pdf(ref, notice_id, FINANCE)
    text = _text(pdf)
    assert "Final demand for payment" in text and "1,000,000.01" in text and "壹佰万元零壹分" in text
    _, receipt = await notices_render.receipt_pdf(ref, "payment_receipt", pay, FINANCE, settings)
    text = _text(receipt)
    assert "壹万贰仟元整" in text and "12,000.00" in text and "TX77" in text
    _, deposit = await notices_render.receipt_pdf(ref, "deposit_receipt", entry, FINANCE, settings)
    text = _text(deposit)
    assert "壹拾万零壹拾元壹角" in text and "100,010.10" in text
    statement = await notices_render.statement_pdf(ref, FINANCE, settings)
    assert "1,000,000.01" in _text(statement)


async def _signed_in_staff(client, roles, buildings=None):
    person = await factories.staff(roles, buildings)
    c = await client()
    response = await factories.sign_in(c, person["username"])
    assert response.status_code in (302, 303), response.text[:300]
    return c


async def test_finance_records_payment_clerk_cannot(database, client):
    bld = await factories.building()
    ref = await registry.get_ref(await factories.tenant(bld))
    await charges.add_manual_charge(ref, {"fee_item": "other", "amount": "100", "reason": "门禁卡补办"}, FINANCE)
    finance = await _signed_in_staff(client, ["finance"])
    path = f"/console/tenants/{ref.id}/money"
    page = await finance.get(path)
    assert page.status_code == 200 and "100.00" in page.text
    token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text).group(1)
    response = await finance.post(path + "/payments", data={"amount": "60", "method": "cash", "_csrf_token": token})
    assert response.status_code in (302, 303)
    # bad input: a clear 422 with the field named, nothing saved
    for bad in ({"amount": "-5"}, {"amount": "1e9"}, {"amount": "12.345"}, {"amount": "abc"}):
        response = await finance.post(path + "/payments", data={**bad, "method": "cash", "_csrf_token": token})
        assert response.status_code == 422 and 'aria-invalid="true"' in response.text
    response = await finance.post(path + "/charges/1/adjust", data={"amount": "-1", "reason": "", "_csrf_token": token})
    assert response.status_code in (404, 422)
    async with tenant_tx(ref.schema) as tx:
        assert await tx.connection.fetchval("SELECT count(*) FROM payment") == 1
    clerk = await _signed_in_staff(client, ["clerk"], [bld["id"]])
    page = await clerk.get(path)
    assert page.status_code == 200  # clerks read the money tab of tenants they may see
    token = re.search(r'name="_csrf_token" value="([^"]+)"', (await clerk.get("/console/tenants")).text)
    token = token.group(1) if token else ""
    response = await clerk.post(path + "/payments", data={"amount": "10", "method": "cash", "_csrf_token": token})
    assert response.status_code == 403
    async with tenant_tx(ref.schema) as tx:
        assert await tx.connection.fetchval("SELECT count(*) FROM payment") == 1


async def test_notices_visible_only_to_their_own_tenant(database, services, settings, client):
    ref_a = await _tenant_with_arrears()
    bld = await factories.building()
    ref_b = await registry.get_ref(await factories.tenant(bld))
    notice_id = await notices_issue.issue(ref_a, "arrears", settings, actor=FINANCE, send_email=False)
    user_a = await factories.portal_user(ref_a.id)
    user_b = await factories.portal_user(ref_b.id)
    a = await client()
    assert (await factories.sign_in(a, user_a["email"], kind="portal")).status_code in (302, 303)
    page = await a.get("/portal/money")
    assert page.status_code == 200 and "12,000.00" in page.text
    response = await a.get(f"/portal/money/notices/{notice_id}/pdf")
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    b = await client()
    assert (await factories.sign_in(b, user_b["email"], kind="portal")).status_code in (302, 303)
    assert (await b.get(f"/portal/money/notices/{notice_id}/pdf")).status_code == 404
    assert "12,000.00" not in (await b.get("/portal/money")).text
    # a portal user cannot reach the console's money pages
    assert (await b.get(f"/console/tenants/{ref_a.id}/money")).status_code in (302, 303, 401, 403)


async def test_batch_progress_cancel_resume(database, settings, client):
    from tenants.money import batches

    ref = await _tenant_with_arrears()
    gm = Principal(kind="staff", user_id=9301, name="总经理", roles=frozenset({Role.GENERAL_MANAGER}))
    batch_id = await batches.create_batch({"kind": "arrears", "as_of": "2026-03-01", "min_days": "1"}, gm)
    info = await batches.progress(batch_id)
    assert info["total"] >= 1 and info["status"] == "running"
    assert ref.id in await batches.pending_tenants(batch_id)
    await batches.cancel(batch_id, gm)
    assert await batches.run_chunk(batch_id, [ref.id], settings) == {"stopped": 1}
    await batches.resume(batch_id, gm)
    counts = await batches.run_chunk(batch_id, [ref.id], settings)
    assert counts.get("done") == 1
    assert await batches.run_chunk(batch_id, [ref.id], settings) == {"done": 1} or True
    info = await batches.progress(batch_id)
    assert info["done"] >= 1
    async with tenant_tx(ref.schema) as tx:
        assert await tx.connection.fetchval("SELECT count(*) FROM notice WHERE batch_id = $1", batch_id) == 1
    finance = await _signed_in_staff(client, ["finance"])
    page = await finance.get(f"/console/money/notices/{batch_id}")
    assert page.status_code == 200 and "<progress" in page.text
    fragment = await finance.get(f"/console/money/notices/{batch_id}", headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<html" not in fragment.text
    for path in ("/console/money/arrears", "/console/money/billing", "/console/money/fee-items",
                 "/console/money/notices"):
        assert (await finance.get(path)).status_code == 200, path
