"""Per-tenant export and restore, for drills and moves.

``export_tenant`` writes one encrypted archive (``archive.py``) holding, in a tar
stream: ``header.json`` (the source registry row, schema version, every table's
columns), ``tenant/<table>.copy`` (binary COPY of each table of the tenant
schema), ``core/<table>.copy`` (the core rows naming the tenant, kept for moves),
``objects/<document_version id>`` (each document version's plaintext, checked
against its SHA-256 on the way out) and ``manifest.json`` (row counts and every
object's SHA-256 and size). The tables are read under SHARE locks in one
transaction, so the copy is consistent (writers wait for the export).

``restore_tenant`` puts an archive back into a fresh schema under a new id and
a new archive number: the registry row is ``read_only`` (every write route
refuses it) and inactive (no billing, no unit taken), the objects are
re-encrypted under the new tenant's own data key and keys, and every row count
and object checksum is checked against the manifest before the one transaction
commits. Nothing is left behind when a check fails. Portal users, grants and
other core rows are not restored (a copy for inspection signs nobody in).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import io
import json
import tarfile
import time
from pathlib import Path

import migrations
from documents import keys
from documents.storage import Storage, object_key
from portal.core import audit
from portal.core.db import DB
from tenants import numbering
from documents.tables import DocumentVersion
from tenants.backup import queries
from tenants.backup.archive import ArchiveError, EncryptedReader, EncryptedWriter
from tenants.backup.tables import TenantRestore
from tenants.registry.service import refresh_summary
from tenants.registry.tables import Tenant
from tenants.scope import check_schema, enter_schema, schema_for, tenant_tx

FORMAT = 1
# The registry columns an archive carries and a restore reads back.
REGISTRY = ("id", "archive_no", "schema_name", "schema_version", "name", "kind", "level", "business_letter",
            "status", "building_ids")


class TransferError(RuntimeError):
    """The tenant cannot be exported, or the archive cannot be restored here."""


def _member(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(time.time())
    info.mode = 0o600
    tar.addfile(info, io.BytesIO(data))


async def _parents_first(conn, schema: str, tables: dict[str, list[str]]) -> dict[str, list[str]]:
    """The tables in foreign-key order (a referenced table before the tables
    that reference it), so a restore can COPY them one after the other."""
    needs = {t: set() for t in tables}
    for child, parent in await queries.foreign_keys(conn, schema):
        if child in needs and parent in needs and child != parent:
            needs[child].add(parent)
    ordered: dict[str, list[str]] = {}
    while needs:
        ready = sorted(t for t, parents in needs.items() if not parents - set(ordered))
        if not ready:
            raise TransferError("the tenant tables' foreign keys form a cycle")
        for t in ready:
            ordered[t] = tables[t]
            del needs[t]
    return ordered


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def export_tenant(archive_no: str, out: Path, passphrase: str, settings, *, actor: str = "cli") -> dict:
    """Write the tenant's encrypted archive to ``out``; returns its manifest summary."""
    row = await Tenant.select(*(getattr(Tenant, c) for c in REGISTRY)).where(
        Tenant.archive_no == archive_no).first().run()
    if row is None:
        raise TransferError(f"no tenant with archive number {archive_no}")
    schema = check_schema(row["schema_name"])
    storage = Storage(settings)
    manifest: dict = {"tables": {}, "core": {}, "objects": []}
    tmp = out.with_name(out.name + ".part")
    try:
        await _write(tmp, passphrase, row, schema, storage, manifest, settings, actor)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    tmp.replace(out)
    return {"archive_no": archive_no, "file": str(out), "rows": sum(manifest["tables"].values()),
            "tables": manifest["tables"], "objects": len(manifest["objects"]),
            "object_bytes": sum(o["size"] for o in manifest["objects"]), "sha256": file_sha256(out)}


async def _write(tmp: Path, passphrase: str, row, schema: str, storage: Storage, manifest: dict, settings,
                 actor: str) -> None:
    with open(tmp, "wb") as fh, EncryptedWriter(fh, passphrase) as raw, tarfile.open(fileobj=raw, mode="w|") as tar:
        async with tenant_tx(schema) as tx:
            conn = tx.connection
            columns = await _parents_first(conn, schema, await queries.table_columns(conn, schema))
            await queries.lock_for_export(conn, schema, list(columns))
            core_tables = await queries.core_tables_naming_tenants(conn)
            core_columns = {t: c for t, c in (await queries.table_columns(conn, "core")).items() if t in core_tables}
            header = {"format": FORMAT, "registry": {k: row[k] for k in REGISTRY},
                      "tenant_migration": migrations.latest("tenant"), "exported_at": _now().isoformat(),
                      "tables": columns, "core_tables": core_columns}
            _member(tar, "header.json", json.dumps(header, ensure_ascii=False, default=str).encode())
            for table in columns:
                manifest["tables"][table] = await queries.count(conn, schema, table)
                _member(tar, f"tenant/{table}.copy", await queries.copy_out(conn, schema, table))
            for table in core_tables:
                manifest["core"][table] = await queries.count(conn, "core", table, row["id"])
                _member(tar, f"core/{table}.copy", await queries.copy_out_core_rows(conn, table, row["id"]))
            versions = []
            if "document_version" in columns:
                versions = await DocumentVersion.select(
                    DocumentVersion.id, DocumentVersion.document_id, DocumentVersion.version,
                    DocumentVersion.object_key, DocumentVersion.s3_version_id, DocumentVersion.sha256,
                    DocumentVersion.size).order_by(DocumentVersion.id).run()
            try:
                data_key = await keys.data_key(row["id"], settings.master_key, create=False) if versions else b""
            except keys.KeyDestroyed:
                raise TransferError("this tenant's documents were destroyed; there is nothing to export") from None
            for v in versions:
                data = await asyncio.to_thread(storage.read_plaintext, v["object_key"], data_key, v["s3_version_id"])
                if _sha(data) != v["sha256"] or len(data) != v["size"]:
                    raise TransferError(f"object {v['object_key']} does not match its recorded SHA-256")
                _member(tar, f"objects/{v['id']}", data)
                manifest["objects"].append({"document_version_id": v["id"], "document_id": v["document_id"],
                                            "version": v["version"], "sha256": v["sha256"], "size": v["size"]})
            _member(tar, "manifest.json", json.dumps(manifest).encode())
            await audit.record("tenant.export", actor_name=actor, tenant_id=row["id"], target=row["archive_no"],
                               detail={"tables": len(columns), "objects": len(versions)})


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


async def restore_tenant(path: Path, passphrase: str, settings, *, actor: str = "cli") -> dict:
    """Restore an archive under a new id, read-only; returns what was restored."""
    archive_sha = file_sha256(path)
    storage = Storage(settings)
    uploaded: list[str] = []
    try:
        with open(path, "rb") as fh:
            reader = EncryptedReader(fh, passphrase)
            with tarfile.open(fileobj=reader, mode="r|") as tar:
                return await _restore(tar, storage, uploaded, settings, archive_sha, actor)
    except (ArchiveError, TransferError):
        await _forget(storage, uploaded)
        raise
    except (tarfile.TarError, EOFError, ValueError, KeyError, TypeError) as exc:  # a malformed member or field
        await _forget(storage, uploaded)
        raise ArchiveError("the archive is damaged") from exc
    except BaseException:
        await _forget(storage, uploaded)
        raise


async def _forget(storage: Storage, keys_: list[str]) -> None:
    for key in keys_:
        await asyncio.to_thread(storage.remove_all_versions, key)


def _read(tar: tarfile.TarFile, member: tarfile.TarInfo) -> bytes:
    fh = tar.extractfile(member)
    if fh is None:
        raise ArchiveError("the archive is damaged")
    return fh.read()


async def _restore(tar, storage, uploaded, settings, archive_sha: str, actor: str) -> dict:
    members = iter(tar)
    first = next(members, None)
    if first is None or first.name != "header.json":
        raise ArchiveError("the archive is damaged")
    header = json.loads(_read(tar, first))
    if header.get("format") != FORMAT:
        raise TransferError("this archive was written by another version of the export format")
    if header["tenant_migration"] != migrations.latest("tenant"):
        raise TransferError(f"the archive's tenant schema is version {header['tenant_migration']}, this installation"
                            f" is at {migrations.latest('tenant')}: restore it into an installation at that version")
    source = header["registry"]
    tables: dict[str, list[str]] = header["tables"]
    manifest = None
    restored_objects: dict[int, str] = {}
    async with DB.transaction(allow_nested=False) as tx:
        conn = tx.connection
        tenant_id, sequence = await queries.new_tenant_ids(conn)
        schema = schema_for(tenant_id)
        archive_no = numbering.format_archive_no(source["kind"], source["level"], source["business_letter"], sequence)
        now = _now()
        await Tenant.insert(Tenant(
            id=tenant_id, archive_no=archive_no, schema_name=schema, schema_version=migrations.latest("tenant"),
            name=source["name"], kind=source["kind"], level=source["level"],
            business_letter=source["business_letter"], status=source["status"],
            building_ids=list(source["building_ids"]), unit_labels="", primary_contact="", contact_phones="",
            contact_count=0, pending_reviews=0, active=False, read_only=True, created_at=now, updated_at=now)).run()
        await conn.execute(f'CREATE SCHEMA "{check_schema(schema)}"')
        await enter_schema(tx, schema)
        from tenants.migrate import build_latest_schema

        await build_latest_schema(conn)
        here = await queries.table_columns(conn, schema)
        if set(here) != set(tables) or any(here[t] != tables[t] for t in tables):
            raise TransferError("the archive's tables differ from this installation's tenant schema")
        data = [t for t in here if t != "_migration"]
        await queries.empty(conn, schema, data)
        data_key = None
        for member in members:
            name = member.name
            if name.startswith("tenant/") and name.endswith(".copy"):
                table = name[len("tenant/"):-len(".copy")]
                if table not in tables:
                    raise ArchiveError("the archive is damaged")
                if table == "_migration":
                    continue
                await queries.copy_in(conn, schema, table, tables[table], _read(tar, member))
            elif name.startswith("objects/"):
                version_id = int(name.split("/", 1)[1])
                row = await DocumentVersion.select(DocumentVersion.object_uid, DocumentVersion.sha256,
                                                   DocumentVersion.size).where(
                    DocumentVersion.id == version_id).first().run()
                plain = _read(tar, member)
                if row is None or _sha(plain) != row["sha256"] or len(plain) != row["size"]:
                    raise TransferError(f"object of document version {version_id} fails its SHA-256 check")
                if data_key is None:
                    data_key = await keys.data_key(tenant_id, settings.master_key, create=True)
                key = object_key(tenant_id, row["object_uid"])
                uploaded.append(key)
                s3_version = await asyncio.to_thread(storage.put_encrypted_bytes, key, data_key, plain)
                await DocumentVersion.update({DocumentVersion.object_key: key, DocumentVersion.s3_version_id: s3_version,
                                              DocumentVersion.thumb_key: ""}).where(
                    DocumentVersion.id == version_id).run()
                restored_objects[version_id] = row["sha256"]
            elif name == "manifest.json":
                manifest = json.loads(_read(tar, member))
            elif not name.startswith("core/"):
                raise ArchiveError("the archive is damaged")
        if manifest is None:
            raise ArchiveError("the archive is incomplete (no manifest)")
        counts = {t: await queries.count(conn, schema, t) for t in data}
        expected = {t: n for t, n in manifest["tables"].items() if t != "_migration"}
        if counts != expected:
            raise TransferError("restored row counts differ from the archive's manifest")
        wanted = {o["document_version_id"]: o["sha256"] for o in manifest["objects"]}
        if wanted != restored_objects:
            raise TransferError("restored objects differ from the archive's manifest")
        await queries.reset_sequences(conn, schema)
        await refresh_summary(conn, tenant_id)
        await TenantRestore.insert(TenantRestore(
            tenant_id=tenant_id, source_archive_no=source["archive_no"], source_tenant_id=source["id"],
            exported_at=dt.datetime.fromisoformat(header["exported_at"]), archive_sha256=archive_sha,
            restored_by=actor, restored_at=_now())).run()
        await audit.record("tenant.restore", actor_name=actor, tenant_id=tenant_id, target=archive_no,
                           detail={"source_archive_no": source["archive_no"], "archive_sha256": archive_sha})
    return {"tenant_id": tenant_id, "archive_no": archive_no, "source_archive_no": source["archive_no"],
            "read_only": True, "rows": sum(counts.values()), "tables": counts, "objects": len(restored_objects)}
