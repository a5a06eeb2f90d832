"""Backups (issue 10 §4): the per-tenant encrypted export and its read-only
restore under a new id (the pgBackRest side and the restore drill:
test_backup_drill.py)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import pytest

from documents import keys
from documents.storage import Storage
from portal.core.roles import Principal, Role
from tenants.backup.archive import ArchiveError
from tenants.backup.transfer import export_tenant, restore_tenant
from tenants.money import charges, payments
from tenants.registry import service as registry
from tenants.registry.tables import Tenant
from tenants.scope import tenant_tx
from tests import factories
from tests.integration.docs_support import client_of, doc_id_of, pdf_bytes, png_bytes, upload, world  # noqa: F401

PASSPHRASE = "correct horse battery staple"
FINANCE = Principal(kind="staff", user_id=9102, name="财务", roles=frozenset({Role.FINANCE}))


async def _counts(schema: str) -> dict[str, int]:
    async with tenant_tx(schema) as tx:
        tables = await tx.connection.fetch(
            "SELECT tablename FROM pg_catalog.pg_tables WHERE schemaname = $1 AND tablename <> '_migration'", schema)
        return {t["tablename"]: await tx.connection.fetchval(f'SELECT count(*) FROM "{t["tablename"]}"')
                for t in tables}


async def _object_checksums(settings, tenant_id: int) -> dict[tuple[int, int], tuple[str, str]]:
    """(document, version) -> (sha256 of the object's plaintext as read back from S3, its key)."""
    ref = await registry.get_ref(tenant_id)
    async with tenant_tx(ref.schema) as tx:
        rows = await tx.connection.fetch("SELECT document_id, version, object_key, s3_version_id FROM document_version")
    data_key = await keys.data_key(tenant_id, settings.master_key, create=False)
    storage = Storage(settings)
    return {(r["document_id"], r["version"]): (
        hashlib.sha256(storage.read_plaintext(r["object_key"], data_key, r["s3_version_id"])).hexdigest(),
        r["object_key"]) for r in rows}


async def file_with_business(client, tenant_id: int) -> None:
    doc_id = doc_id_of(await upload(client, tenant_id, pdf_bytes("backup-v1")))
    token = await factories.form_token(client, f"/console/tenants/{tenant_id}/documents/{doc_id}")
    response = await client.post(f"/console/tenants/{tenant_id}/documents/{doc_id}/versions",
                                 data={"_csrf_token": token},
                                 files={"file": ("v2.pdf", pdf_bytes("backup-v2", pages=2), "application/pdf")})
    assert response.status_code in (302, 303), response.text[:300]
    doc_id_of(await upload(client, tenant_id, png_bytes(), filename="photo.png"))
    ref = await registry.get_ref(tenant_id)
    await charges.add_manual_charge(ref, {"fee_item": "utilities", "amount": "120.00", "due_date": "2026-03-10",
                                          "reason": "水电抄表"}, FINANCE)
    await payments.record_payment(ref, {"amount": "20", "paid_on": "2026-03-11", "method": "cash"}, FINANCE)


async def test_export_restore_round_trip_read_only_and_isolated(settings, world, client_of, tmp_path):  # noqa: F811
    clerk = await client_of(world["clerk"]["username"])
    await file_with_business(clerk, world["a"])
    doc_b = doc_id_of(await upload(await client_of(world["outsider"]["username"]), world["b"], pdf_bytes("other")))
    source = await registry.get_ref(world["a"])
    other = await registry.get_ref(world["b"])
    other_before = (await _counts(other.schema), await _object_checksums(settings, other.id))

    archive = tmp_path / "a.ptex"
    exported = await export_tenant(source.archive_no, archive, PASSPHRASE, settings)
    assert exported["objects"] == 3 and exported["tables"]["document_version"] == 3
    assert b"backup-v1" not in archive.read_bytes() and source.name.encode() not in archive.read_bytes()

    restored = await restore_tenant(archive, PASSPHRASE, settings)
    copy = await registry.get_ref(restored["tenant_id"])
    assert copy.id != source.id and copy.archive_no != source.archive_no and copy.read_only and not copy.active
    assert copy.building_ids == source.building_ids
    # Every table has the same rows; every object reads back with the same SHA-256, under the copy's own keys.
    assert await _counts(copy.schema) == await _counts(source.schema)
    assert sum((await _counts(copy.schema)).values()) == exported["rows"] - exported["tables"]["_migration"]
    mine, theirs = await _object_checksums(settings, source.id), await _object_checksums(settings, copy.id)
    assert {k: sha for k, (sha, _) in mine.items()} == {k: sha for k, (sha, _) in theirs.items()}
    assert all(key.startswith(f"tenants/{copy.id:06d}/") for _, key in theirs.values())
    # Another tenant is untouched.
    assert (await _counts(other.schema), await _object_checksums(settings, other.id)) == other_before

    # Read-only: the building's clerk reads the copy, every write is refused with a localized 409;
    # the original still takes writes; staff of another building do not see the copy at all.
    page = await clerk.get(f"/console/tenants/{copy.id}")
    assert page.status_code == 200 and source.name in page.text
    assert "恢复副本（只读）" in page.text and f"/console/tenants/{copy.id}/edit" not in page.text
    token = await factories.form_token(clerk, f"/console/tenants/{copy.id}")
    refused = await clerk.post(f"/console/tenants/{copy.id}/contacts/new",
                               data={"_csrf_token": token, "name": "王五", "mobile": "13900139000"})
    assert refused.status_code == 409 and "恢复副本" in refused.text
    refused = await upload(clerk, copy.id, pdf_bytes("into-the-copy"))
    assert refused.status_code == 409
    assert (await _counts(copy.schema))["document"] == (await _counts(source.schema))["document"]
    allowed = await clerk.post(f"/console/tenants/{source.id}/contacts/new",
                               data={"_csrf_token": token, "name": "王五", "mobile": "13900139000"})
    assert allowed.status_code != 409
    outsider = await client_of(world["outsider"]["username"])
    assert (await outsider.get(f"/console/tenants/{copy.id}")).status_code == 404
    assert (await outsider.get(f"/console/tenants/{world['b']}/documents/{doc_b}")).status_code == 200


async def test_wrong_passphrase_or_damage_restores_nothing(settings, world, client_of, tmp_path):  # noqa: F811
    clerk = await client_of(world["clerk"]["username"])
    doc_id_of(await upload(clerk, world["a"], pdf_bytes("damage")))
    archive = tmp_path / "a.ptex"
    await export_tenant((await registry.get_ref(world["a"])).archive_no, archive, PASSPHRASE, settings)
    tenants_before = await Tenant.count().run()
    first_id = await Tenant.raw("SELECT last_value AS n FROM core.tenant_id_seq").run()
    started = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=2)
    with pytest.raises(ArchiveError):
        await restore_tenant(archive, "not the passphrase at all", settings)
    damaged = bytearray(archive.read_bytes())
    damaged[len(damaged) // 2] ^= 0x01
    broken = tmp_path / "broken.ptex"
    broken.write_bytes(bytes(damaged))
    with pytest.raises(ArchiveError):
        await restore_tenant(broken, PASSPHRASE, settings)
    truncated = tmp_path / "short.ptex"
    truncated.write_bytes(archive.read_bytes()[:-100])
    with pytest.raises(ArchiveError):
        await restore_tenant(truncated, PASSPHRASE, settings)
    assert await Tenant.count().run() == tenants_before
    # No schema or object was left behind by the refused restores.
    leftover = await Tenant.raw("SELECT count(*) AS n FROM pg_catalog.pg_namespace n WHERE n.nspname ~ '^t_[0-9]{6}$'"
                                " AND NOT EXISTS (SELECT 1 FROM core.tenant t WHERE t.schema_name = n.nspname)").run()
    assert leftover[0]["n"] == 0
    # Nor any object under the ids the refused restores took (the bucket outlives test runs: by time).
    from portal.core.s3 import s3_client

    last_id = await Tenant.raw("SELECT last_value AS n FROM core.tenant_id_seq").run()
    client = s3_client(settings)
    for tenant_id in range(first_id[0]["n"] + 1, last_id[0]["n"] + 1):
        assert not [o for o in client.list_objects(settings.s3_bucket, prefix=f"tenants/{tenant_id:06d}/",
                                                   recursive=True, include_version=True)
                    if o.last_modified >= started], tenant_id


async def test_export_and_restore_commands(settings, world, client_of, tmp_path):  # noqa: F811
    import subprocess
    import sys

    from portal.cli import _env_for

    clerk = await client_of(world["clerk"]["username"])
    doc_id_of(await upload(clerk, world["a"], pdf_bytes("command")))
    ref = await registry.get_ref(world["a"])
    env = {**_env_for(settings), "PORTAL_EXPORT_PASSPHRASE": PASSPHRASE}
    archive = tmp_path / "cmd.ptex"

    def portal(*args, **extra):
        return subprocess.run([sys.executable, "-m", "portal.cli", *args], capture_output=True, text=True,
                              env={**env, **extra}, timeout=120)

    exported = portal("tenants", "export", ref.archive_no, "--out", str(archive))
    assert exported.returncode == 0, exported.stderr
    assert json.loads(exported.stdout)["objects"] == 1 and archive.exists()
    refused = portal("tenants", "restore", str(archive), PORTAL_EXPORT_PASSPHRASE="")
    assert refused.returncode == 1 and "PORTAL_EXPORT_PASSPHRASE is not set" in refused.stderr
    restored = portal("tenants", "restore", str(archive))
    assert restored.returncode == 0, restored.stderr
    copy = await registry.get_ref(json.loads(restored.stdout)["tenant_id"])
    assert copy.read_only and copy.name == ref.name
    unknown = portal("tenants", "export", "E9Z9999", "--out", str(tmp_path / "none.ptex"))
    assert unknown.returncode == 1 and "no tenant with archive number E9Z9999" in unknown.stderr
    assert not (tmp_path / "none.ptex").exists() and not (tmp_path / "none.ptex.part").exists()
