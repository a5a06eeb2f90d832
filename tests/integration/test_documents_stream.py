"""Streaming through a real server (uvicorn) with bounded memory, and the
thumbnail task run by a real Celery worker."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.benchmarks.bench_documents import BLOCK, Server, signed_in_client, stream_upload
from portal.core.db import DB
from tenants.registry import service as registry
from tenants.scope import tenant_tx
from tests import factories
from tests.integration.docs_support import (  # noqa: F401 (fixtures)
    client_of, doc_id_of, pdf_bytes, png_bytes, upload, world,
)

SIZE_MB = 100


@pytest.fixture(scope="module")
def server(settings, database):
    srv = Server(settings.with_(upload_max_mb=SIZE_MB + 10), settings.data_path / "test-uvicorn.log").wait()
    yield srv
    srv.stop()


async def test_100_mb_upload_streams_with_bounded_memory(settings, world, server):
    client = await signed_in_client(server.base, world["clerk"]["username"], factories.PASSWORD)
    try:
        warm = await stream_upload(client, world["a"], 2 * BLOCK, "warm-up")
        assert warm.status_code in (302, 303), warm.text[:300]
        await asyncio.sleep(0.3)
        base = server.rss()
        server.reset_peak()
        size = SIZE_MB * 1024 * 1024
        response = await stream_upload(client, world["a"], size, "一亿字节")
        assert response.status_code in (302, 303), response.text[:300]
        growth_mb = (server.peak_rss() - base) / 1024 / 1024
        assert growth_mb < 32, f"server RSS grew by {growth_mb:.1f} MB during a {SIZE_MB} MB upload"

        location = response.headers["location"].split("?")[0]
        received = 0
        async with client.stream("GET", location + "/download") as stream:
            assert stream.headers["content-length"] == str(size)
            async for chunk in stream.aiter_bytes():
                received += len(chunk)
        assert received == size
        doc_id = int(location.rsplit("/", 1)[1])
        ref = await registry.get_ref(world["a"])
        async with tenant_tx(ref.schema) as tx:
            assert await tx.connection.fetchval(
                "SELECT size FROM document_version WHERE document_id = $1", doc_id) == size

        # Over the limit while streaming: a clear 413 and nothing kept.
        before = await DB.pool.fetchval("SELECT count(*) FROM core.audit_log WHERE action = 'document.upload'")
        too_big = await stream_upload(client, world["a"], (SIZE_MB + 11) * 1024 * 1024, "too big")
        assert too_big.status_code == 413 and str(SIZE_MB + 10) in too_big.text
        assert await DB.pool.fetchval("SELECT count(*) FROM core.audit_log WHERE action = 'document.upload'") == before
    finally:
        await client.aclose()


async def test_thumbnail_made_by_a_real_worker(settings, world, client_of, celery_worker):
    clerk = await client_of(world["clerk"]["username"])
    pdf_doc = doc_id_of(await upload(clerk, world["a"], pdf_bytes("thumb")))
    png_doc = doc_id_of(await upload(clerk, world["a"], png_bytes(), filename="p.png",
                                     meta={"category": "other", "title": "照片", "issue_date": "2024-01-01"}))
    ref = await registry.get_ref(world["a"])
    deadline = time.time() + 60
    while time.time() < deadline:
        async with tenant_tx(ref.schema) as tx:
            keys = await tx.connection.fetch(
                "SELECT thumb_key FROM document_version WHERE document_id = ANY($1::int[])", [pdf_doc, png_doc])
        if all(k["thumb_key"] for k in keys):
            break
        await asyncio.sleep(0.5)
    assert all(k["thumb_key"] for k in keys), "the worker did not make the thumbnails"
    for doc_id in (pdf_doc, png_doc):
        response = await clerk.get(f"/console/tenants/{ref.id}/documents/{doc_id}/thumbnail")
        assert response.status_code == 200 and response.content.startswith(b"\x89PNG")
        from PIL import Image
        import io

        with Image.open(io.BytesIO(response.content)) as image:
            assert max(image.size) <= 400
    # Stored encrypted too.
    from documents.storage import get_storage

    raw = b"".join(get_storage(settings).raw_blocks(keys[0]["thumb_key"]))
    assert not raw.startswith(b"\x89PNG")
    assert await DB.pool.fetchval("SELECT count(*) FROM core.audit_log WHERE action = 'document.preview'"
                                  " AND tenant_id = $1", ref.id) >= 2
