"""Legal holds and approved destruction (issue 10 §2, §3): holds block every path,
the flow needs two different leaders and never the requester, the cooling-off
period can be cancelled, and the purge leaves nothing of the file but its
tombstone, spares other tenants, and its certificate lists what it destroyed."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess

import pytest

from documents.storage import get_storage
from portal.core.db import DB
from portal.core.errors import Conflict, Forbidden, FormErrors, NotFound
from tenants.destruction import holds, purge, service
from tests import factories
from tests.integration.destruction_support import REQUEST, approved, bench, start, tenant_with_everything  # noqa: F401
from tests.integration.docs_support import object_count


async def _versions(settings, tenant_id: int) -> list[tuple[str, str]]:
    storage = get_storage(settings)
    return sorted((o.object_name, o.version_id) for o in storage.client.list_objects(
        storage.bucket, prefix=f"tenants/{tenant_id:06d}/", recursive=True, include_version=True))


async def _checksum(settings, tenant_id: int) -> dict:
    """Everything of a tenant, hashed: every object version's bytes and every table's rows."""
    storage = get_storage(settings)
    out = {}
    for key, version in await _versions(settings, tenant_id):
        response = storage.client.get_object(storage.bucket, key, version_id=version)
        out[f"{key}@{version}"] = hashlib.sha256(response.read()).hexdigest()
        response.close()
        response.release_conn()
    schema = f"t_{tenant_id:06d}"
    for table in await DB.pool.fetch("SELECT tablename FROM pg_tables WHERE schemaname = $1", schema):
        rows = await DB.pool.fetch(f'SELECT * FROM "{schema}"."{table["tablename"]}" ORDER BY 1')
        out[table["tablename"]] = hashlib.sha256(repr([tuple(r) for r in rows]).encode()).hexdigest()
    out["key"] = await DB.pool.fetchval("SELECT encode(wrapped_key, 'hex') FROM core.tenant_key WHERE tenant_id = $1",
                                        tenant_id)
    return out


async def test_hold_blocks_request_approval_and_purge_and_s3(settings, bench):
    p = bench["p"]
    t = await tenant_with_everything(bench["client"], bench["bld"], marker="hold")
    # Whole-file hold: a request is refused.
    hold_id = await holds.place_hold(t["id"], {"scope": "file", "reason": "租金纠纷诉讼", "case_ref": "(2026)沪0115民初1号"},
                                     p["archivist"])
    with pytest.raises(holds.Held):
        await service.create_request(t["id"], REQUEST, p["archivist2"])
    # The S3 legal hold is on, and SeaweedFS refuses to delete a held version (even with the governance bypass).
    storage = get_storage(settings)
    key, version = await DB.pool.fetchrow(
        f'SELECT object_key, s3_version_id FROM "{t["ref"].schema}".document_version ORDER BY id LIMIT 1')
    assert storage.client.is_object_legal_hold_enabled(storage.bucket, key, version_id=version)
    with pytest.raises(Exception):
        storage.client.remove_object(storage.bucket, key, version_id=version)
    assert (key, version) in await _versions(settings, t["id"])
    # Release needs a reason and a different person.
    with pytest.raises(Forbidden):
        await holds.release_hold(hold_id, {"release_reason": "结案"}, p["archivist"])
    with pytest.raises(FormErrors):
        await holds.release_hold(hold_id, {"release_reason": ""}, p["gm"])
    await holds.release_hold(hold_id, {"release_reason": "判决生效，结案"}, p["gm"])
    assert not storage.client.is_object_legal_hold_enabled(storage.bucket, key, version_id=version)

    # A hold placed during the approvals stops the next approval ...
    request_id = await service.create_request(t["id"], REQUEST, p["archivist2"])
    await service.decide(request_id, {"decision": "approve"}, p["archivist"], cooling_days=7)
    doc_hold = await holds.place_hold(t["id"], {"scope": "documents", "document_ids": str(t["docs"][1]),
                                                "reason": "重大投诉", "case_ref": "TS-2026-9"}, p["supervisor"])
    with pytest.raises(holds.Held):
        await service.decide(request_id, {"decision": "approve"}, p["gm"], cooling_days=7)
    await holds.release_hold(doc_hold, {"release_reason": "投诉已解决"}, p["archivist"])
    await service.decide(request_id, {"decision": "approve"}, p["gm"], cooling_days=7)
    await service.decide(request_id, {"decision": "approve"}, p["supervisor"], cooling_days=7)
    # ... and one placed in the cooling-off period stops the purge, inside its own transaction.
    await start(request_id)
    assert request_id in await service.start_due(send=False)
    late = await holds.place_hold(t["id"], {"scope": "documents", "document_ids": str(t["docs"][0]),
                                            "reason": "新诉讼", "case_ref": "(2026)沪0115民初2号"}, p["gm"])
    with pytest.raises(holds.Held):
        await purge.run(request_id, settings)
    job = await DB.pool.fetchrow("SELECT done_steps, error FROM core.purge_job WHERE request_id = $1", request_id)
    assert "crypto_erase" not in job["done_steps"] and job["error"].startswith("inventory")
    assert await DB.pool.fetchval("SELECT wrapped_key IS NOT NULL FROM core.tenant_key WHERE tenant_id = $1", t["id"])
    assert await object_count(settings, t["id"]) >= 3
    await holds.release_hold(late, {"release_reason": "撤诉"}, p["supervisor"])
    assert (await purge.run(request_id, settings))["status"] == "done"


async def test_flow_two_different_leaders_never_the_requester_and_cancel(settings, bench):
    p = bench["p"]
    t = await tenant_with_everything(bench["client"], bench["bld"], marker="flow")
    with pytest.raises(Forbidden):
        await service.create_request(t["id"], REQUEST, p["clerk"])
    with pytest.raises(FormErrors) as err:
        await service.create_request(t["id"], {**REQUEST, "early": "1", "signer_2": REQUEST["signer_1"]}, p["archivist"])
    assert set(err.value.fields) == {"early_reason", "signer_2"}
    request_id = await service.create_request(t["id"], REQUEST, p["archivist"])
    with pytest.raises(Conflict):
        await service.create_request(t["id"], REQUEST, p["archivist2"])
    with pytest.raises(Forbidden):  # the requester reviews his own request
        await service.decide(request_id, {"decision": "approve"}, p["archivist"], cooling_days=7)
    with pytest.raises(Forbidden):  # the leadership does not do the archive's review
        await service.decide(request_id, {"decision": "approve"}, p["gm"], cooling_days=7)
    await service.decide(request_id, {"decision": "approve"}, p["archivist2"], cooling_days=7)
    with pytest.raises(Forbidden):  # an archivist is not the leadership
        await service.decide(request_id, {"decision": "approve"}, p["archivist2"], cooling_days=7)
    await service.decide(request_id, {"decision": "approve"}, p["gm"], cooling_days=7)
    with pytest.raises(Forbidden):  # the same leader twice
        await service.decide(request_id, {"decision": "approve"}, p["gm"], cooling_days=7)
    assert await service.decide(request_id, {"decision": "approve"}, p["supervisor"], cooling_days=7) == "cooling"
    row = await DB.pool.fetchrow("SELECT * FROM core.destruction_request WHERE id = $1", request_id)
    assert (row["cooling_until"] - row["approved_2_at"]).days == 7
    actions = [r["action"] for r in await DB.pool.fetch(
        "SELECT action FROM core.audit_log WHERE target = $1 ORDER BY id", f"destruction:{request_id}")]
    assert actions == ["destruction.request"] + ["destruction.approve"] * 3
    # Not yet due: nothing starts. Cancelled in the cooling-off period: nothing ever starts.
    assert request_id not in await service.start_due(send=False)
    with pytest.raises(FormErrors):
        await service.cancel(request_id, {"reason": ""}, p["gm"])
    await service.cancel(request_id, {"reason": "客户回归，继续保存"}, p["gm"])
    await start(request_id)
    assert request_id not in await service.start_due(send=False)
    assert await DB.pool.fetchval("SELECT status FROM core.destruction_request WHERE id = $1", request_id) == "cancelled"
    assert not await DB.pool.fetchval("SELECT 1 FROM core.purge_job WHERE request_id = $1", request_id)
    # A rejection needs a reason and ends the request.
    again = await service.create_request(t["id"], REQUEST, p["archivist"])
    with pytest.raises(FormErrors):
        await service.decide(again, {"decision": "reject"}, p["archivist2"], cooling_days=7)
    assert await service.decide(again, {"decision": "reject", "reason": "仍有欠费"}, p["archivist2"], cooling_days=7) \
        == "rejected"


async def test_purge_of_a_file_leaves_only_the_tombstone_and_spares_the_other(settings, bench):
    p = bench["p"]
    t = await tenant_with_everything(bench["client"], bench["bld"], marker="victim")
    other = await tenant_with_everything(bench["client"], bench["bld"], marker="bystander")
    before_other = await _checksum(settings, other["id"])
    versions = await _versions(settings, t["id"])
    assert len(versions) >= 3
    request_id = await approved(t["id"], p)
    await start(request_id)
    assert request_id in await service.start_due(send=False)
    job = await purge.run(request_id, settings)
    assert job["status"] == "done" and list(job["done_steps"]) == list(purge.FILE_STEPS)
    assert set(json.loads(job["runs"]).values()) == {1}

    # Nothing left: no version, no schema, no key, no core rows but the tombstone and the record.
    assert await _versions(settings, t["id"]) == []
    assert await purge.what_is_left(t["id"]) == {}
    assert not await DB.pool.fetchval("SELECT 1 FROM pg_namespace WHERE nspname = $1", t["ref"].schema)
    assert not await DB.pool.fetchval("SELECT 1 FROM core.tenant_key WHERE tenant_id = $1", t["id"])
    for table in ("portal_user", "loan_item", "tenant_unit", "review_item", "legal_hold"):
        assert not await DB.pool.fetchval(f"SELECT count(*) FROM core.{table} WHERE tenant_id = $1", t["id"]), table
    tomb = await DB.pool.fetchrow("SELECT * FROM core.tenant WHERE id = $1", t["id"])
    assert tomb["status"] == "destroyed" and tomb["archive_no"] == t["ref"].archive_no and tomb["name"] == t["ref"].name
    assert (tomb["primary_contact"], tomb["contact_phones"], tomb["identity_code"]) == ("", "", None)
    # The audit entries stay, their personal detail pseudonymised; the log still refuses other changes.
    details = {r["action"] + str(r["id"]): json.loads(r["detail"]) for r in await DB.pool.fetch(
        "SELECT id, action, detail FROM core.audit_log WHERE tenant_id = $1 AND action <> 'destruction.done'", t["id"])}
    assert details and all(d.get("pseudonymised") for d in details.values()), details
    assert "李四" not in json.dumps(details, ensure_ascii=False)
    import asyncpg
    with pytest.raises(asyncpg.RaiseError, match="append-only"):
        await DB.pool.execute("UPDATE core.audit_log SET detail = '{\"pseudonymised\": true}' WHERE tenant_id = $1",
                              t["id"])
    # The other tenant: every object version and row byte for byte as before.
    assert await _checksum(settings, other["id"]) == before_other

    # The certificate lists what the inventory listed, and lives under core's prefix.
    cert = await DB.pool.fetchrow("SELECT * FROM core.destruction_certificate WHERE request_id = $1", request_id)
    assert cert["object_key"].startswith("core/destruction/") and cert["tenant_id"] == t["id"]
    storage = get_storage(settings)
    pdf = storage.client.get_object(storage.bucket, cert["object_key"]).read()
    assert hashlib.sha256(pdf).hexdigest() == cert["sha256"]
    text = subprocess.run(["pdftotext", "-raw", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    (settings.data_path / "destruction-certificate.pdf").write_bytes(pdf)
    inventory = json.loads(job["inventory"])
    assert len(inventory["documents"]) == 3
    for item in inventory["documents"]:
        flat = text.replace("\n", "").replace(" ", "")
        assert item["sha256"] in flat and item["title"] in flat and str(item["bytes"]) in flat
    assert cert["number"] in text and t["ref"].archive_no in text and "NIST SP 800-88" in text
    assert "档案员甲" in text and "监销人乙" in text and p["gm"].name in text and p["supervisor"].name in text
    assert str(inventory["s3"]["versions"]) in text and inventory["s3"]["versions"] == len(versions)
    # The tenant list still answers; the file's pages are out of reach (404), even for the archive.
    archivist = await bench["client_factory"]()
    assert (await factories.sign_in(archivist, p["archivist_login"])).status_code in (302, 303)
    listing = await archivist.get("/console/tenants", params={"q": t["ref"].name})
    assert listing.status_code == 200
    assert (await archivist.get(f"/console/tenants/{t['id']}")).status_code == 404
    assert (await archivist.get(f"/console/tenants/{t['id']}/documents")).status_code == 404
    with pytest.raises(NotFound):
        await holds.place_hold(t["id"], {"scope": "file", "reason": "迟到的诉讼", "case_ref": "X-1"}, p["gm"])
    with pytest.raises(NotFound):
        await service.create_request(t["id"], REQUEST, p["archivist"])
    # Rerunning the finished job does nothing.
    assert (await purge.run(request_id, settings))["runs"] == job["runs"]


async def test_purge_of_single_documents(settings, bench):
    p = bench["p"]
    t = await tenant_with_everything(bench["client"], bench["bld"], marker="single")
    keep = await _versions(settings, t["id"])
    request_id = await approved(t["id"], p, {**REQUEST, "scope": "documents", "document_ids": str(t["docs"][0]),
                                             "early": "1", "early_reason": "租户书面申请提前销毁"})
    await start(request_id)
    await service.start_due(send=False)
    # While another delivery holds the job, a second one returns without running a step.
    job_id = await DB.pool.fetchval("SELECT id FROM core.purge_job WHERE request_id = $1", request_id)
    async with DB.pool.acquire() as other:
        from tenants.destruction import queries
        assert await queries.try_job_lock(other, job_id)
        assert list((await purge.run(request_id, settings))["done_steps"]) == []
        await queries.job_unlock(other, job_id)
    job = await purge.run(request_id, settings)
    assert job["status"] == "done" and list(job["done_steps"]) == list(purge.DOCUMENT_STEPS)
    gone = set(json.loads(job["inventory"])["object_keys"])
    assert gone and all(k not in gone for k, _ in await _versions(settings, t["id"]))
    assert len(await _versions(settings, t["id"])) == len([k for k, _ in keep if k not in gone]) > 0
    async with __import__("tenants.scope", fromlist=["tenant_tx"]).tenant_tx(t["ref"].schema) as tx:
        ids = [r["id"] for r in await tx.connection.fetch("SELECT id FROM document ORDER BY id")]
    assert ids == [t["docs"][1]]
    assert await DB.pool.fetchval("SELECT wrapped_key IS NOT NULL FROM core.tenant_key WHERE tenant_id = $1", t["id"])


async def test_pages_registers_and_isolation(settings, bench):
    p = bench["p"]
    t = await tenant_with_everything(bench["client"], bench["bld"], marker="pages")
    archivist = await bench["client_factory"]()
    assert (await factories.sign_in(archivist, p["archivist_login"])).status_code in (302, 303)
    token = await factories.form_token(archivist, f"/console/holds/new?tenant_id={t['id']}")
    response = await archivist.post("/console/holds/new", data={"_csrf_token": token, "tenant_id": str(t["id"]),
                                                                "scope": "file", "reason": "诉讼", "case_ref": "CASE-77"})
    assert response.status_code in (302, 303), response.text[:400]
    page = await archivist.get("/console/holds")
    assert page.status_code == 200 and "CASE-77" in page.text
    csv = await archivist.get("/console/holds.csv")
    assert csv.status_code == 200 and "CASE-77" in csv.text
    # A clerk cannot see the register; an archivist-level outsider cannot reach another tenant by id.
    clerk = await bench["client_factory"]()
    assert (await factories.sign_in(clerk, p["clerk_login"])).status_code in (302, 303)
    assert (await clerk.get("/console/holds")).status_code in (403, 302, 303)
    with pytest.raises(Forbidden):
        await holds.place_hold(t["id"], {"scope": "file", "reason": "x", "case_ref": "y"},
                               __import__("tests.integration.destruction_support", fromlist=["person"]).person(
                                   await factories.staff(["clerk"]), "clerk"))
    register = await archivist.get("/console/destruction")
    assert register.status_code == 200
    assert (await archivist.get("/console/destruction.csv")).status_code == 200
