"""The upload corpus through the real upload paths (console and portal): every
generated hostile file is refused with its message and leaves no S3 object and
no row; every valid file is accepted. Then the clamd hook (a fake clamd speaking
the real protocol) and the text download's Content-Type."""

from __future__ import annotations

import random

import httpx
import pytest
import pytest_asyncio

from portal.core.db import DB
from tests import factories
from tests.fake_clamd import FakeClamd
from tests.integration.docs_support import doc_id_of, row_count
from tests.upload_corpus import CORPUS, EICAR_IN_DOCX, EICAR_TEXT, TEXT

VIAS = ["console", "portal"]


@pytest_asyncio.fixture(scope="module")
async def people(app, database):
    """One tenant, a clerk of its building and its portal user, each with a signed-in client (English)."""
    bld = await factories.building()
    tenant_id = await factories.tenant(bld, name="语料公司" + factories.uuid.uuid4().hex[:4])
    clerk = await factories.staff(["clerk"], [bld["id"]])
    portal_user = await factories.portal_user(tenant_id)
    clients = {}
    for via, login in (("console", clerk["username"]), ("portal", portal_user["email"])):
        transport = httpx.ASGITransport(app=app, client=(f"127.9.{random.randrange(256)}.{len(clients) + 1}", 50000))
        client = httpx.AsyncClient(transport=transport, base_url="http://testserver.local")
        response = await factories.sign_in(client, login, kind=via)
        assert response.status_code in (302, 303), response.text[:300]
        clients[via] = client
    yield {"tenant": tenant_id, "clients": clients}
    for client in clients.values():
        await client.aclose()


async def send(people, via: str, filename: str, data: bytes, lang: str = "en") -> httpx.Response:
    client, tenant_id = people["clients"][via], people["tenant"]
    client.cookies.set("lang", lang)
    if via == "console":
        page = f"/console/tenants/{tenant_id}/documents"
        target = page + "/upload"
        fields = {"category": "correspondence", "title": filename, "issue_date": "2024-05-01"}
    else:
        page, target, fields = "/portal/documents", "/portal/documents/upload", {"title": filename}
    token = await factories.form_token(client, page)
    return await client.post(target, data={"_csrf_token": token, **fields},
                             files={"file": (filename, data, "application/octet-stream")})


async def footprint(settings, tenant_id: int) -> tuple[int, int, int]:
    """(document objects in S3 incl. versions, document rows, review-queue rows) of the tenant.
    Thumbnails (``<uid>.thumb``, made later by the worker for accepted files) are not counted."""
    from portal.core.s3 import s3_client

    objects = sum(1 for obj in s3_client(settings).list_objects(
        settings.s3_bucket, prefix=f"tenants/{tenant_id:06d}/", recursive=True, include_version=True)
        if "." not in obj.object_name.rsplit("/", 1)[-1])
    reviews = await DB.pool.fetchval("SELECT count(*) FROM core.review_item WHERE tenant_id = $1", tenant_id)
    return objects, await row_count(tenant_id), reviews


@pytest.mark.parametrize("via", VIAS)
@pytest.mark.parametrize("case,filename,build,expected", CORPUS, ids=[c[0] for c in CORPUS])
async def test_corpus(settings, people, via, case, filename, build, expected):
    data = build()
    before = await footprint(settings, people["tenant"])
    response = await send(people, via, filename, data)
    after = await footprint(settings, people["tenant"])
    if expected == "ok":
        assert response.status_code in (302, 303), (case, response.status_code, response.text[:400])
        assert after[0] == before[0] + 1 and after[1] == before[1] + 1
    else:
        assert response.status_code == 422, (case, response.status_code, response.text[:400])
        assert expected in response.text, (case, response.text[:600])
        assert after == before, case


async def test_polyglot_image_is_served_only_as_an_image(settings, people):
    from tests.upload_corpus import image

    response = await send(people, "console", "photo.jpg", image("JPEG", b"<script>alert(1)</script>"))
    download = await people["clients"]["console"].get(
        f"/console/tenants/{people['tenant']}/documents/{doc_id_of(response)}/download")
    assert download.headers["content-type"] == "image/jpeg"
    assert download.headers["x-content-type-options"] == "nosniff"
    assert download.headers["content-disposition"].startswith("attachment")


async def test_zip_bomb_refusal_is_localized(people):
    from tests.upload_corpus import bomb

    response = await send(people, "portal", "report.docx", bomb("word/document.xml", 8 * 1024 * 1024), lang="zh")
    assert response.status_code == 422 and "解压后的数据量远超正常文档" in response.text


@pytest.mark.parametrize("encoding,content_type", [("utf-8", "text/plain; charset=utf-8"),
                                                   ("gb18030", "text/plain; charset=gb18030")])
async def test_text_download_names_one_charset(people, encoding, content_type):
    data = (TEXT * 3).encode(encoding)
    response = await send(people, "console", "letter.txt", data)
    download = await people["clients"]["console"].get(
        f"/console/tenants/{people['tenant']}/documents/{doc_id_of(response)}/download")
    assert download.headers["content-type"] == content_type
    assert download.headers.get_list("content-type") == [content_type]
    assert download.content == data


# --- the clamd hook ---------------------------------------------------------------------------

@pytest.fixture
def clamd(app, monkeypatch, tmp_path):
    """The app configured with PORTAL_CLAMD_SOCKET pointing at a fake clamd."""
    server = FakeClamd(tmp_path / "clamd.sock", max_stream=2 * 1024 * 1024)
    monkeypatch.setattr(app.state, "settings", app.state.settings.with_(clamd_socket=server.address))
    yield server
    server.close()


@pytest.mark.parametrize("via", VIAS)
async def test_clean_upload_is_scanned_whole_then_accepted(settings, people, clamd, via):
    data = (TEXT * 5000).encode()  # over one S3 part and one upload batch
    before = await footprint(settings, people["tenant"])
    response = await send(people, via, "letter.txt", data)
    assert response.status_code in (302, 303), response.text[:400]
    assert clamd.streams[-1] == data and not clamd.protocol_errors
    assert (await footprint(settings, people["tenant"]))[:2] == (before[0] + 1, before[1] + 1)


@pytest.mark.parametrize("via", VIAS)
@pytest.mark.parametrize("filename,data", [("eicar.txt", EICAR_TEXT), ("report.docx", EICAR_IN_DOCX)])
async def test_malware_found_is_refused_and_nothing_stored(settings, people, clamd, via, filename, data):
    before = await footprint(settings, people["tenant"])
    response = await send(people, via, filename, data)
    assert response.status_code == 422, response.text[:400]
    assert "The virus scanner found malware in this file" in response.text
    assert await footprint(settings, people["tenant"]) == before
    zh = await send(people, via, filename, data, lang="zh")
    assert zh.status_code == 422 and "病毒扫描发现此文件含有恶意软件" in zh.text


async def test_scanner_error_answer_refuses(settings, people, clamd):
    before = await footprint(settings, people["tenant"])
    response = await send(people, "portal", "letter.txt", (TEXT * 30000).encode())  # over clamd's stream limit
    assert response.status_code == 422 and "The virus scanner could not check this file" in response.text
    assert await footprint(settings, people["tenant"]) == before


@pytest.mark.parametrize("via", VIAS)
async def test_unreachable_scanner_refuses_every_upload(settings, people, clamd, via):
    clamd.close()
    before = await footprint(settings, people["tenant"])
    response = await send(people, via, "letter.txt", TEXT.encode())
    assert response.status_code == 503, response.text[:400]
    assert "The virus scanner cannot be reached" in response.text
    assert await footprint(settings, people["tenant"]) == before
    zh = await send(people, via, "letter.txt", TEXT.encode(), lang="zh")
    assert zh.status_code == 503 and "无法连接病毒扫描服务" in zh.text
