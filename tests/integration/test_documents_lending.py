"""Lending chain, paper out/in, reminders, exports that expire, master-key rotation."""

from __future__ import annotations

import datetime as dt
import io

import pytest

from documents import exports, keys, lending
from documents.storage import get_storage
from portal.core.roles import Principal, Role
from portal.core.db import DB
from portal.core.errors import Conflict, FormErrors, Forbidden
from tests import factories
from tests.integration.docs_support import (  # noqa: F401 (fixtures)
    client_of, doc_id_of, pdf_bytes, upload, world,
)


def person(staff: dict, *roles: str, buildings=()) -> Principal:
    return Principal(kind="staff", user_id=staff["id"], name=staff["username"],
                     roles=frozenset(Role(r) for r in roles), building_ids=frozenset(buildings))


def due(days: int = 5) -> str:
    return (dt.date.today() + dt.timedelta(days=days)).isoformat()


@pytest.fixture
def people(world):
    """Lending people of world's building (approvers and the archive see the borrower's files)."""
    async def make():
        bld = [world["bld"]["id"]]
        borrower = await factories.staff(["clerk"], bld)
        head = await factories.staff(["dept_head"], bld)
        head2 = await factories.staff(["dept_head", "supervisor"], bld)
        supervisor = await factories.staff(["supervisor"])
        archivist = await factories.staff(["archivist"])
        return {"borrower": person(borrower, "clerk", buildings=bld), "head": person(head, "dept_head", buildings=bld),
                "head_sup": person(head2, "dept_head", "supervisor", buildings=bld),
                "supervisor": person(supervisor, "supervisor"), "archivist": person(archivist, "archivist")}
    return make


async def test_approval_chain_rules(world, people):
    p = await people()
    request = {"tenant_ids": str(world["a"]), "mode": "paper", "due_date": due(), "purpose": "法律顾问审阅"}
    with pytest.raises(FormErrors):
        await lending.create_loan(p["borrower"], {**request, "purpose": ""})
    loan_id = await lending.create_loan(p["borrower"], request)
    # Wrong approver for the step, and nobody approves their own request.
    with pytest.raises(Forbidden):
        await lending.approve(p["supervisor"], loan_id)
    own = await lending.create_loan(p["head"], request)
    with pytest.raises(Forbidden):
        await lending.approve(p["head"], own)
    await lending.approve(p["head_sup"], loan_id)
    # The same person cannot give both approvals.
    with pytest.raises(Forbidden):
        await lending.approve(p["head_sup"], loan_id)
    with pytest.raises(Forbidden):
        await lending.approve(p["head"], loan_id)
    assert await lending.approve(p["supervisor"], loan_id) == "approved"
    with pytest.raises(Conflict):
        await lending.approve(p["supervisor"], loan_id)

    # Paper: out, then the return check records damage against the borrower.
    with pytest.raises(Forbidden):
        await lending.hand_out(p["borrower"], loan_id)
    await lending.hand_out(p["archivist"], loan_id)
    with pytest.raises(FormErrors):
        await lending.record_return(p["archivist"], loan_id, "damaged", "")
    await lending.record_return(p["archivist"], loan_id, "damaged", "第3页有水渍")
    loan = await DB.pool.fetchrow("SELECT * FROM core.loan WHERE id = $1", loan_id)
    assert loan["status"] == "returned" and loan["return_condition"] == "damaged" and loan["damage_note"]
    audit_row = await DB.pool.fetchrow("SELECT * FROM core.audit_log WHERE action = 'loan.return' AND target = $1",
                                       f"loan:{loan_id}")
    assert audit_row["outcome"] == "damaged" and str(p["borrower"].user_id) in audit_row["detail"]

    # Refusal needs a reason and ends the request.
    refused = await lending.create_loan(p["borrower"], request)
    with pytest.raises(FormErrors):
        await lending.refuse(p["head"], refused, "")
    await lending.refuse(p["head"], refused, "用途不明确")
    row = await DB.pool.fetchrow("SELECT status, refused_reason FROM core.loan WHERE id = $1", refused)
    assert row["status"] == "refused" and row["refused_reason"] == "用途不明确"
    with pytest.raises(Conflict):
        await lending.approve(p["head"], refused)


async def test_reminders_before_and_after_due(world, people, client_of):
    p = await people()
    loan_id = await lending.create_loan(p["borrower"], {"tenant_ids": str(world["a"]), "mode": "paper",
                                                        "due_date": due(2), "purpose": "审计"})
    await lending.approve(p["head"], loan_id)
    await lending.approve(p["supervisor"], loan_id)
    await lending.hand_out(p["archivist"], loan_id)
    due_at = await DB.pool.fetchval("SELECT due_at FROM core.loan WHERE id = $1", loan_id)
    assert await lending.send_reminders(now=due_at - dt.timedelta(days=2)) == 0
    assert await lending.send_reminders(now=due_at - dt.timedelta(hours=3)) >= 1
    assert await lending.send_reminders(now=due_at - dt.timedelta(hours=2)) == 0  # once a day
    assert await lending.send_reminders(now=due_at + dt.timedelta(days=1)) >= 1
    kinds = {r["kind"] for r in await DB.pool.fetch("SELECT kind FROM core.loan_reminder WHERE loan_id = $1", loan_id)}
    assert kinds == {"due_soon", "overdue"}
    reminders = await lending.reminders_for(p["borrower"])
    assert {r["kind"] for r in reminders} == {"due_soon", "overdue"}


async def test_lending_pages_and_slip(world, client_of):
    borrower = await factories.staff(["clerk"], [world["bld"]["id"]])
    head = await factories.staff(["dept_head"], [world["bld"]["id"]])
    client = await client_of(borrower["username"])
    token = await factories.form_token(client, "/console/lending/new")
    bad = await client.post("/console/lending/new", data={"tenant_ids": "abc", "mode": "paper", "due_date": "x",
                                                          "purpose": "", "_csrf_token": token})
    assert bad.status_code == 422
    response = await client.post("/console/lending/new", data={"tenant_ids": str(world["a"]), "mode": "paper",
                                                               "due_date": due(), "purpose": "复印合同",
                                                               "_csrf_token": token})
    loan_id = int(response.headers["location"].split("/")[-1].split("?")[0])
    # Self-approval through the web is refused as well.
    assert (await client.post(f"/console/lending/{loan_id}/approve", data={"_csrf_token": token})).status_code == 403
    head_client = await client_of(head["username"])
    listing = await head_client.get("/console/lending?view=approve")
    assert f"/console/lending/{loan_id}" in listing.text
    token = await factories.form_token(head_client, f"/console/lending/{loan_id}")
    refuse = await head_client.post(f"/console/lending/{loan_id}/refuse", data={"reason": "", "_csrf_token": token})
    assert refuse.status_code == 422
    slip = await client.get(f"/console/lending/{loan_id}/slip.pdf")
    assert slip.status_code == 200
    from pypdf import PdfReader

    text = PdfReader(io.BytesIO(slip.content)).pages[0].extract_text()
    assert "借阅单" in text and "复印合同" in text


async def test_export_is_encrypted_and_expires(settings, world, people, client_of):
    import pyzipper

    clerk = await client_of(world["clerk"]["username"])
    first = doc_id_of(await upload(clerk, world["a"], pdf_bytes("export-1")))
    doc_id_of(await upload(clerk, world["a"], pdf_bytes("export-2")))
    p = await people()
    loan_id = await lending.create_loan(p["borrower"], {"tenant_ids": str(world["a"]), "document_ids": str(first),
                                                        "mode": "export", "due_date": due(), "purpose": "律师函附件"})
    await lending.approve(p["head"], loan_id)
    assert await lending.approve(p["supervisor"], loan_id) == "approved"
    storage = get_storage(settings)
    with pytest.raises(Forbidden):
        await exports.carry_out(p["borrower"], storage, loan_id)
    uid, password = await exports.carry_out(p["archivist"], storage, loan_id)
    row, path = await exports.open_export(p["borrower"], storage, uid)
    assert row["purpose"] == "律师函附件" and row["created_by"] == p["archivist"].name
    raw = path.read_bytes()
    assert b"export-1" not in raw
    with pyzipper.AESZipFile(path) as zf:
        zf.setpassword(password.encode())
        names = zf.namelist()
        assert len(names) == 1 and zf.read(names[0]) == pdf_bytes("export-1")
        assert zf.infolist()[0].flag_bits & 0x1  # encrypted entry
    assert await DB.pool.fetchval("SELECT count(*) FROM core.audit_log WHERE action = 'export.create'"
                                  " AND target = $1", f"export:{uid}") == 1
    # Not for someone else; gone after expiry.
    stranger = person(await factories.staff(["clerk"]), "clerk")
    with pytest.raises(exports.NotFound):
        await exports.open_export(stranger, storage, uid)
    # A handler of another building neither lists nor opens it (issue 7: every step scoped).
    other_head = person(await factories.staff(["dept_head"], [world["other_bld"]["id"]]), "dept_head",
                        buildings=[world["other_bld"]["id"]])
    assert uid not in {str(r["uid"]) for r in await exports.list_exports(other_head)}
    assert uid in {str(r["uid"]) for r in await exports.list_exports(p["archivist"])}
    with pytest.raises(exports.NotFound):
        await exports.open_export(other_head, storage, uid)
    expires_at = await DB.pool.fetchval("SELECT expires_at FROM core.export WHERE uid = $1::uuid", uid)
    assert await exports.delete_expired(storage, now=expires_at - dt.timedelta(hours=1)) == 0
    assert await exports.delete_expired(storage, now=expires_at + dt.timedelta(seconds=1)) >= 1
    assert not path.exists()
    with pytest.raises(exports.ExportGone):
        await exports.open_export(p["borrower"], storage, uid)
    assert await DB.pool.fetchval("SELECT status FROM core.loan WHERE id = $1", loan_id) == "expired"


async def test_master_key_rotation_rewraps_without_touching_objects(settings, world, client_of):
    import base64
    import os

    clerk = await client_of(world["clerk"]["username"])
    doc_id = doc_id_of(await upload(clerk, world["a"], pdf_bytes("rotate")))
    new_master = base64.b64encode(os.urandom(32)).decode()
    before = await DB.pool.fetchrow("SELECT * FROM core.tenant_key WHERE tenant_id = $1", world["a"])
    report = await keys.rotate_master(settings.master_key, new_master)
    assert report["rewrapped"] >= 1
    after = await DB.pool.fetchrow("SELECT * FROM core.tenant_key WHERE tenant_id = $1", world["a"])
    assert after["wrapped_key"] != before["wrapped_key"]
    assert await keys.data_key(world["a"], new_master) == await _unwrap(before, settings.master_key)
    # Rotate back so the rest of the suite keeps its master key; objects were never rewritten.
    await keys.rotate_master(new_master, settings.master_key)
    download = await clerk.get(f"/console/tenants/{world['a']}/documents/{doc_id}/download")
    assert download.content == pdf_bytes("rotate")


async def _unwrap(row, master):
    from documents import crypto

    return crypto.unwrap_key(master, row["wrapped_key"])
