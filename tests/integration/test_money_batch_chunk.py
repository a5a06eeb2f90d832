"""A chunk of a notice batch: each tenant's notice filed in its own archive (the
PDF kept there, not copied into the notice row), e-mailed once over one SMTP
connection; reruns and redelivered tasks never issue or send twice; a batch
cancelled between preparing and filing a notice files nothing more."""

from __future__ import annotations

import datetime as dt
import io

import pdfplumber
import pytest

from portal.core.roles import Principal, Role
from portal.core.db import DB
from tenants.money import batches, ledger, notices, notices_issue, notices_mail, recovery
from tenants.scope import tenant_tx
from tests.integration.money_support import tenants_in_arrears, archive_storage, smtp_sink  # noqa: F401 (fixtures)

FINANCE = Principal(kind="staff", user_id=9401, name="财务丁", roles=frozenset({Role.FINANCE}))


def _arrears(n: int):
    return tenants_in_arrears(n, FINANCE, name="分批催缴测试{}号有限公司", base_amount=100, due_date="2026-01-10")
GM = Principal(kind="staff", user_id=9402, name="总经理乙", roles=frozenset({Role.GENERAL_MANAGER}))


def _text(pdf: bytes) -> str:
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        return "\n".join(page.extract_text() or "" for page in doc.pages)


async def _batch_notices(ref, batch_id: int) -> list:
    async with tenant_tx(ref.schema) as tx:
        return [dict(r) for r in await tx.connection.fetch(
            "SELECT id, number, pdf, document_id, emailed_to, emailed_at FROM notice WHERE batch_id = $1", batch_id)]


async def test_chunk_files_emails_once_per_tenant(database, settings, smtp_sink):
    controller, sink = smtp_sink
    local = settings.with_(smtp_host="127.0.0.1", smtp_port=controller.port)
    refs = await _arrears(3)
    batch_id = await batches.create_batch(
        {"kind": "arrears", "as_of": "2026-03-01", "min_days": "1", "send_email": "1"}, GM)
    ids = [ref.id for ref in refs]

    assert await batches.run_chunk(batch_id, ids, local) == {"done": 3}
    assert len(sink.messages) == 3 and sink.connections == 1  # one SMTP connection for the chunk
    for ref in refs:
        [notice] = await _batch_notices(ref, batch_id)
        assert notice["pdf"] is None and notice["document_id"]  # filed in the archive, not copied
        assert notice["emailed_to"] == "lisi@example.com"
        async with tenant_tx(ref.schema) as tx:
            category = await tx.connection.fetchval(
                "SELECT category FROM document WHERE id = $1", notice["document_id"])
        assert category == "violations"
        number, pdf = await notices.notice_pdf(ref, notice["id"], FINANCE)
        text = _text(pdf)
        assert number == notice["number"] and ref.name in text and "第 1 页，共 1 页" in text
        assert all(other.name not in text for other in refs if other.id != ref.id)
        mailed = [m for m in sink.messages if number.encode() in m.content]
        assert len(mailed) == 1
    rows = await DB.pool.fetch(
        "SELECT status, emailed, notice_id FROM core.notice_batch_item WHERE batch_id = $1 AND tenant_id = ANY($2)",
        batch_id, ids)
    assert {(r["status"], r["emailed"]) for r in rows} == {("done", 1)} and all(r["notice_id"] for r in rows)

    # a rerun of the same chunk issues and sends nothing (whether the batch is finished or not)
    assert (await batches.run_chunk(batch_id, ids, local)) in ({"done": 3}, {"stopped": 1})
    await DB.pool.execute("UPDATE core.notice_batch SET status = 'running' WHERE id = $1", batch_id)
    assert await batches.run_chunk(batch_id, ids, local) == {"done": 3}
    assert len(sink.messages) == 3

    # a task redelivered after a crash between filing and marking: the notice is reused, not re-sent
    await DB.pool.execute("UPDATE core.notice_batch_item SET status = 'pending' WHERE batch_id = $1 AND tenant_id = $2",
                          batch_id, refs[0].id)
    await DB.pool.execute("UPDATE core.notice_batch SET status = 'running' WHERE id = $1", batch_id)
    assert await batches.run_chunk(batch_id, [refs[0].id], local) == {"done": 1}
    assert len(await _batch_notices(refs[0], batch_id)) == 1 and len(sink.messages) == 3
    emailed = await DB.pool.fetchval(
        "SELECT emailed FROM core.notice_batch_item WHERE batch_id = $1 AND tenant_id = $2", batch_id, refs[0].id)
    assert emailed == 1


async def test_cancel_between_prepare_and_file_files_nothing(database, settings):
    [ref] = await _arrears(1)
    batch_id = await batches.create_batch({"kind": "arrears", "as_of": "2026-03-01", "min_days": "1"}, GM)
    info = await batches.batch(batch_id)
    job = batches._Job(ref.id, ref)
    job = await batches._prepare(batch_id, info, job, settings, await ledger.fee_items_map())
    assert job.status == "pending" and job.render is not None
    await batches.cancel(batch_id, GM)
    assert await batches._file(batch_id, info, job, settings, None) == "stopped"
    assert await _batch_notices(ref, batch_id) == []
    # the number it took is not silently skipped: it is in the register as void, with the reason
    [void] = await recovery.void_numbers(GM, batch_id=batch_id)
    assert void["number"] == job.prepared.number and void["reason"] == "cancelled"
    async with tenant_tx(ref.schema) as tx:
        assert await tx.connection.fetchval("SELECT count(*) FROM document WHERE source = 'generated'") == 0
    assert ref.id in await batches.pending_tenants(batch_id)
    # resumed: issued once
    await batches.resume(batch_id, GM)
    assert (await batches.run_chunk(batch_id, [ref.id], settings)).get("done") == 1
    assert len(await _batch_notices(ref, batch_id)) == 1


async def test_single_notice_email_reads_archived_pdf(database, settings, smtp_sink):
    controller, sink = smtp_sink
    local = settings.with_(smtp_host="127.0.0.1", smtp_port=controller.port)
    [ref] = await _arrears(1)
    notice_id = await notices_issue.issue(ref, "arrears", local, actor=FINANCE, as_of=dt.date(2026, 3, 1), send_email=False)
    assert sink.messages == []
    assert await notices_mail.email_notice(ref, notice_id, local) == 1  # sent again later, from the archive copy
    [envelope] = sink.messages
    number, pdf = await notices.notice_pdf(ref, notice_id, FINANCE)
    assert number.encode() in envelope.content and pdf.startswith(b"%PDF")


def test_notice_fonts_keep_cids_equal_to_glyph_ids(settings):
    """The reordered notice fonts: frequent glyphs first, and each glyph's CID is
    its glyph id (PDF viewers look glyphs up by CID; WeasyPrint writes glyph ids)."""
    from fontTools.ttLib import TTFont

    from tenants.money.fonts import subset_fonts

    fonts = subset_fonts(settings.data_path)
    if fonts is None:
        pytest.skip("Noto Sans CJK is not installed")
    for path in fonts.values():
        font = TTFont(path)
        order = font.getGlyphOrder()
        assert order[0] == ".notdef" and all(name == f"cid{i:05d}" for i, name in enumerate(order) if i)
        assert font["CFF "].cff.topDictIndex[0].charset == order
        gid = {name: i for i, name in enumerate(order)}
        cmap = font.getBestCmap()
        assert gid[cmap[ord("A")]] < 100 and gid[cmap[ord("，")]] < 400
        assert all(gid[cmap[ord(ch)]] < 1200 for ch in "催缴通知书壹贰叁元整有限公司")
        assert ord("鑫") in cmap and ord("龘") not in cmap  # GB2312 level 2 kept; beyond it, system fallback
