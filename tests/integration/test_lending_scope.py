"""Lending names only files the requester may see (issue 7 item 1); the explicit
'outside my buildings' kind: leadership approval, accompanied reading, names
shown only to approvers; the picker and home page (item 13)."""

from __future__ import annotations

import datetime as dt
import io

from portal.core.db import DB
from tests import factories
from tests.integration.docs_support import (  # noqa: F401 (fixtures)
    META, client_of, doc_id_of, pdf_bytes, upload, world,
)


def due(days: int = 3) -> str:
    return (dt.date.today() + dt.timedelta(days=days)).isoformat()


async def loan_count() -> int:
    return await DB.pool.fetchval("SELECT count(*) FROM core.loan")


async def archive_no(tenant_id: int) -> str:
    return await DB.pool.fetchval("SELECT archive_no FROM core.tenant WHERE id = $1", tenant_id)


async def tenant_name(tenant_id: int) -> str:
    return await DB.pool.fetchval("SELECT name FROM core.tenant WHERE id = $1", tenant_id)


async def submit(client, **data):
    token = await factories.form_token(client, "/console/lending/new")
    return await client.post("/console/lending/new", data={"due_date": due(), "purpose": "核对", **data,
                                                           "_csrf_token": token})


def loan_id_of(response) -> int:
    assert response.status_code in (302, 303), response.text[:500]
    return int(response.headers["location"].split("/")[-1].split("?")[0])


async def post_step(client, loan_id: int, step: str, **data):
    token = await factories.form_token(client, "/console/")
    return await client.post(f"/console/lending/{loan_id}/{step}", data={**data, "_csrf_token": token})


async def test_request_for_files_outside_ones_buildings_is_404_and_saves_nothing(world, client_of):
    # The demo reproduction: a clerk of one building names tenants of others.
    outsider = await client_of(world["outsider"]["username"])
    before = await loan_count()
    for mode in ("export", "paper", "electronic"):
        response = await submit(outsider, mode=mode, tenant_ids=f"{world['b']},{world['a']}")
        assert response.status_code == 404
    # A typed archive number outside one's buildings is refused like an unknown one (422, no leak).
    typed = await submit(outsider, mode="paper", archive_nos=await archive_no(world["a"]))
    unknown = await submit(outsider, mode="paper", archive_nos="ZZ-NOPE-1")
    assert typed.status_code == unknown.status_code == 422
    assert await tenant_name(world["a"]) not in typed.text
    # Out-of-range and junk ids are a 422, never a 500.
    for junk in ("99999999999", "1;2", "²"):
        assert (await submit(outsider, mode="paper", tenant_ids=junk)).status_code == 422
    assert await loan_count() == before
    # The auditor reads but never asks to borrow.
    auditor = await factories.staff(["auditor"])
    auditor_client = await client_of(auditor["username"])
    assert (await auditor_client.get("/console/lending/new")).status_code == 403
    token = await factories.form_token(auditor_client, "/console/")
    response = await auditor_client.post("/console/lending/new", data={
        "mode": "paper", "tenant_ids": str(world["a"]), "due_date": due(), "purpose": "x", "_csrf_token": token})
    assert response.status_code == 403 and await loan_count() == before


async def test_grant_of_an_ordinary_loan_does_not_open_a_file_outside_ones_buildings(world, client_of):
    """Grants made before this fix (an electronic loan across buildings) no longer open the file."""
    outsider = world["outsider"]
    loan_id = await DB.pool.fetchval(
        "INSERT INTO core.loan (mode, status, borrower_id, borrower_name, purpose, due_at)"
        " VALUES ('electronic', 'lent', $1, 'x', 'x', now() + interval '1 day') RETURNING id", outsider["id"])
    await DB.pool.execute("INSERT INTO core.loan_item (loan_id, tenant_id) VALUES ($1, $2)", loan_id, world["a"])
    await DB.pool.execute("INSERT INTO core.access_grant (staff_id, tenant_id, loan_id, expires_at)"
                          " VALUES ($1, $2, $3, now() + interval '1 day')", outsider["id"], world["a"], loan_id)
    client = await client_of(outsider["username"])
    assert (await client.get(f"/console/tenants/{world['a']}/documents")).status_code == 404
    # Nor can the borrower open the loan page or slip that would show the other building's file.
    assert (await client.get(f"/console/lending/{loan_id}")).status_code == 404
    assert (await client.get(f"/console/lending/{loan_id}/slip.pdf")).status_code == 404


async def test_every_workflow_step_is_scoped_to_the_person_acting(world, client_of):
    bld = [world["bld"]["id"]]
    borrower = await client_of((await factories.staff(["clerk"], bld))["username"])
    loan_id = loan_id_of(await submit(borrower, mode="paper", tenant_ids=str(world["a"])))
    name = await tenant_name(world["a"])
    # A department head of another building neither sees nor decides it.
    other_head = await client_of((await factories.staff(["dept_head"], [world["other_bld"]["id"]]))["username"])
    assert (await other_head.get(f"/console/lending/{loan_id}")).status_code == 404
    assert (await other_head.get(f"/console/lending/{loan_id}/slip.pdf")).status_code == 404
    for step, data in (("approve", {}), ("refuse", {"reason": "no"}), ("out", {}), ("return", {"condition": "intact"})):
        assert (await post_step(other_head, loan_id, step, **data)).status_code == 404
    for view in ("approve", "all"):
        listing = await other_head.get(f"/console/lending?view={view}")
        assert listing.status_code == 200 and f"/console/lending/{loan_id}\"" not in listing.text
    assert await DB.pool.fetchval("SELECT status FROM core.loan WHERE id = $1", loan_id) == "requested"
    # The head of the file's building sees it on the home page and approves it.
    head = await client_of((await factories.staff(["dept_head"], bld))["username"])
    home = await head.get("/console/")
    assert f"/console/lending/{loan_id}\"" in home.text and name in home.text
    assert (await post_step(head, loan_id, "approve")).status_code in (302, 303)
    home = await head.get("/console/")
    assert f"/console/lending/{loan_id}\"" not in home.text


async def test_outside_kind_end_to_end(world, client_of):
    from pypdf import PdfReader

    clerk = await client_of(world["clerk"]["username"])
    doc_id = doc_id_of(await upload(clerk, world["a"], pdf_bytes("outside-read")))
    number, name = await archive_no(world["a"]), await tenant_name(world["a"])
    base = f"/console/tenants/{world['a']}/documents"
    borrower = await client_of(world["outsider"]["username"])
    assert (await borrower.get(base)).status_code == 404

    # The kind takes only files outside one's buildings, by archive number.
    assert (await submit(borrower, mode="outside", archive_nos="ZZ-NOPE-1")).status_code == 422
    assert (await submit(borrower, mode="outside", tenant_ids=str(world["b"]))).status_code == 422
    loan_id = loan_id_of(await submit(borrower, mode="outside", archive_nos=number.lower()))

    # The borrower sees the archive number only, never the name (page, register, slip).
    page = await borrower.get(f"/console/lending/{loan_id}")
    assert page.status_code == 200 and number in page.text and name not in page.text
    assert f'href="{base}"' not in page.text  # no link that would answer 404 before the reading
    assert name not in (await borrower.get("/console/lending")).text
    slip = await borrower.get(f"/console/lending/{loan_id}/slip.pdf")
    slip_text = PdfReader(io.BytesIO(slip.content)).pages[0].extract_text()
    assert number in slip_text and name not in slip_text

    # A department head cannot approve it (not even of the file's building); the leadership can.
    head = await client_of((await factories.staff(["dept_head"], [world["bld"]["id"]]))["username"])
    assert (await post_step(head, loan_id, "approve")).status_code == 403
    supervisor = await client_of((await factories.staff(["supervisor"]))["username"])
    home = await supervisor.get("/console/")
    assert f"/console/lending/{loan_id}\"" in home.text and name in home.text  # names shown to approvers
    assert (await post_step(supervisor, loan_id, "approve")).status_code in (302, 303)
    assert await DB.pool.fetchval("SELECT status FROM core.loan WHERE id = $1", loan_id) == "approved"
    assert (await borrower.get(base)).status_code == 404  # approved, but not yet accompanied

    # The archive opens the accompanied reading; the borrower reads (read-only) until it ends.
    archivist = await client_of((await factories.staff(["archivist"]))["username"])
    assert (await post_step(archivist, loan_id, "out")).status_code in (302, 303)
    loan = await DB.pool.fetchrow("SELECT * FROM core.loan WHERE id = $1", loan_id)
    assert loan["status"] == "lent" and loan["accompanied_by"]
    assert (await borrower.get(f"{base}/{doc_id}/download")).content == pdf_bytes("outside-read")
    assert (await upload(borrower, world["a"], pdf_bytes("x"))).status_code in (403, 404)
    assert (await post_step(archivist, loan_id, "return", condition="intact")).status_code in (302, 303)
    assert (await borrower.get(f"{base}/{doc_id}/download")).status_code == 404


async def test_picker_searches_only_visible_files_and_their_document_titles(world, client_of):
    clerk = await client_of(world["clerk"]["username"])
    upload_response = await upload(clerk, world["a"], pdf_bytes("pick"), meta={**META, "title": "租赁合同正本"})
    doc_id = doc_id_of(upload_response)
    name_a, name_b = await tenant_name(world["a"]), await tenant_name(world["b"])
    # By name and by archive number; the other building's file is not found.
    for q in (name_a[:3], (await archive_no(world["a"]))[:4]):
        fragment = await clerk.get("/console/lending/pick", params={"q": q})
        assert fragment.status_code == 200 and f'value="{world["a"]}"' in fragment.text
    fragment = await clerk.get("/console/lending/pick", params={"q": name_b})
    assert name_b not in fragment.text and f'value="{world["b"]}"' not in fragment.text
    # One ticked file: its documents by title; the request shows titles, not numbers.
    fragment = await clerk.get("/console/lending/pick", params={"tenant_ids": world["a"], "dq": "租赁合同"})
    assert "租赁合同正本" in fragment.text and f'name="document_ids" value="{doc_id}"' in fragment.text
    # Without JavaScript: the search button posts the form back (the CSRF token never goes
    # into a URL) and it returns with the results and what was typed; nothing is saved.
    before = await loan_count()
    token = await factories.form_token(clerk, "/console/lending/new")
    page = await clerk.post("/console/lending/new", data={"find": "1", "q": name_a[:3], "purpose": "留下",
                                                          "mode": "paper", "_csrf_token": token})
    assert page.status_code == 200 and f'value="{world["a"]}"' in page.text and "留下" in page.text
    assert await loan_count() == before
    loan_id = loan_id_of(await submit(clerk, mode="paper", tenant_ids=str(world["a"]), document_ids=str(doc_id)))
    assert "租赁合同正本" in (await clerk.get(f"/console/lending/{loan_id}")).text
    assert "租赁合同正本" in (await clerk.get("/console/lending")).text
    # Wildcards in the search are plain text; a NUL byte is refused by the input guard.
    assert (await clerk.get("/console/lending/pick", params={"q": "%_"})).status_code == 200
    assert (await clerk.get("/console/lending/pick", params={"q": "%\x00_"})).status_code == 422
