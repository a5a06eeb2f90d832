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


async def _columns(conn, schema: str) -> dict[str, list[str]]:
    rows = await conn.fetch(
        "SELECT c.table_name, c.column_name FROM information_schema.columns c JOIN pg_catalog.pg_tables t"
        " ON t.schemaname = c.table_schema AND t.tablename = c.table_name"
        " WHERE c.table_schema = $1 ORDER BY c.table_name, c.ordinal_position", schema)
    found: dict[str, list[str]] = {}
    for row in rows:
        found.setdefault(row["table_name"], []).append(row["column_name"])
    return found


async def _core_tables_naming_tenants(conn) -> list[str]:
    rows = await conn.fetch("SELECT table_name FROM information_schema.columns WHERE table_schema = 'core'"
                            " AND column_name = 'tenant_id' ORDER BY table_name")
    return [r["table_name"] for r in rows]


async def _parents_first(conn, schema: str, tables: dict[str, list[str]]) -> dict[str, list[str]]:
    """The tables in foreign-key order (a referenced table before the tables
    that reference it), so a restore can COPY them one after the other."""
    # pg_constraint: the builder has no catalog of foreign keys.
    rows = await conn.fetch(
        "SELECT c.conrelid::regclass::text AS child, c.confrelid::regclass::text AS parent"
        " FROM pg_catalog.pg_constraint c JOIN pg_catalog.pg_namespace n ON n.oid = c.connamespace"
        " WHERE c.contype = 'f' AND n.nspname = $1", schema)
    needs = {t: set() for t in tables}
    for r in rows:
        child, parent = r["child"].rsplit(".", 1)[-1].strip('"'), r["parent"].rsplit(".", 1)[-1].strip('"')
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
            columns = await _parents_first(conn, schema, await _columns(conn, schema))
            listed = ", ".join(f'"{schema}"."{t}"' for t in columns)
            await conn.execute(f"LOCK TABLE {listed} IN SHARE MODE")
            core_tables = await _core_tables_naming_tenants(conn)
            core_columns = {t: c for t, c in (await _columns(conn, "core")).items() if t in core_tables}
            header = {"format": FORMAT, "registry": {k: row[k] for k in REGISTRY},
                      "tenant_migration": migrations.latest("tenant"), "exported_at": _now().isoformat(),
                      "tables": columns, "core_tables": core_columns}
            _member(tar, "header.json", json.dumps(header, ensure_ascii=False, default=str).encode())
            for table in columns:
                buf = io.BytesIO()
                await conn.copy_from_table(table, schema_name=schema, output=buf, format="binary")
                manifest["tables"][table] = await conn.fetchval(f'SELECT count(*) FROM "{schema}"."{table}"')
                _member(tar, f"tenant/{table}.copy", buf.getvalue())
            for table in core_tables:
                buf = io.BytesIO()
                await conn.copy_from_query(f'SELECT * FROM core."{table}" WHERE tenant_id = {int(row["id"])}',
                                           output=buf, format="binary")
                manifest["core"][table] = await conn.fetchval(
                    f'SELECT count(*) FROM core."{table}" WHERE tenant_id = $1', row["id"])
                _member(tar, f"core/{table}.copy", buf.getvalue())
            versions = []
            if "document_version" in columns:
                versions = await conn.fetch("SELECT id, document_id, version, object_key, s3_version_id, sha256, size"
                                            " FROM document_version ORDER BY id")
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


async def _reset_sequences(conn, schema: str) -> None:
    rows = await conn.fetch("SELECT table_name, column_name FROM information_schema.columns"
                            " WHERE table_schema = $1 AND column_default LIKE 'nextval(%'", schema)
    for r in rows:
        table, column = r["table_name"], r["column_name"]
        await conn.execute(
            f"SELECT pg_catalog.setval(pg_catalog.pg_get_serial_sequence('\"{schema}\".\"{table}\"', '{column}'),"
            f' coalesce(max("{column}"), 1), max("{column}") IS NOT NULL) FROM "{schema}"."{table}"')


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
    except (tarfile.TarError, EOFError) as exc:
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
        tenant_id = await conn.fetchval("SELECT nextval('core.tenant_id_seq')")
        schema = schema_for(tenant_id)
        sequence = await conn.fetchval("SELECT nextval('core.archive_seq')")
        archive_no = numbering.format_archive_no(source["kind"], source["level"], source["business_letter"], sequence)
        await conn.execute(
            "INSERT INTO core.tenant (id, archive_no, schema_name, schema_version, name, kind, level,"
            " business_letter, status, building_ids, active, read_only)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, false, true)",
            tenant_id, archive_no, schema, migrations.latest("tenant"), source["name"], source["kind"],
            source["level"], source["business_letter"], source["status"], list(source["building_ids"]))
        await conn.execute(f'CREATE SCHEMA "{check_schema(schema)}"')
        await enter_schema(tx, schema)
        from tenants.migrate import build_latest_schema

        await build_latest_schema(conn)
        here = await _columns(conn, schema)
        if set(here) != set(tables) or any(here[t] != tables[t] for t in tables):
            raise TransferError("the archive's tables differ from this installation's tenant schema")
        data = [t for t in here if t != "_migration"]
        await conn.execute("TRUNCATE " + ", ".join(f'"{schema}"."{t}"' for t in data))
        data_key = None
        for member in members:
            name = member.name
            if name.startswith("tenant/") and name.endswith(".copy"):
                table = name[len("tenant/"):-len(".copy")]
                if table not in tables:
                    raise ArchiveError("the archive is damaged")
                if table == "_migration":
                    continue
                await conn.copy_to_table(table, schema_name=schema, source=io.BytesIO(_read(tar, member)),
                                         columns=tables[table], format="binary")
            elif name.startswith("objects/"):
                version_id = int(name.split("/", 1)[1])
                row = await conn.fetchrow("SELECT object_uid, sha256, size FROM document_version WHERE id = $1",
                                          version_id)
                plain = _read(tar, member)
                if row is None or _sha(plain) != row["sha256"] or len(plain) != row["size"]:
                    raise TransferError(f"object of document version {version_id} fails its SHA-256 check")
                if data_key is None:
                    data_key = await keys.data_key(tenant_id, settings.master_key, create=True)
                key = object_key(tenant_id, row["object_uid"])
                uploaded.append(key)
                s3_version = await asyncio.to_thread(storage.put_encrypted_bytes, key, data_key, plain)
                await conn.execute("UPDATE document_version SET object_key = $1, s3_version_id = $2, thumb_key = ''"
                                   " WHERE id = $3", key, s3_version, version_id)
                restored_objects[version_id] = row["sha256"]
            elif name == "manifest.json":
                manifest = json.loads(_read(tar, member))
            elif not name.startswith("core/"):
                raise ArchiveError("the archive is damaged")
        if manifest is None:
            raise ArchiveError("the archive is incomplete (no manifest)")
        counts = {t: await conn.fetchval(f'SELECT count(*) FROM "{schema}"."{t}"') for t in data}
        expected = {t: n for t, n in manifest["tables"].items() if t != "_migration"}
        if counts != expected:
            raise TransferError("restored row counts differ from the archive's manifest")
        wanted = {o["document_version_id"]: o["sha256"] for o in manifest["objects"]}
        if wanted != restored_objects:
            raise TransferError("restored objects differ from the archive's manifest")
        await _reset_sequences(conn, schema)
        await refresh_summary(conn, tenant_id)
        await TenantRestore.insert(TenantRestore(
            tenant_id=tenant_id, source_archive_no=source["archive_no"], source_tenant_id=source["id"],
            exported_at=dt.datetime.fromisoformat(header["exported_at"]), archive_sha256=archive_sha,
            restored_by=actor, restored_at=_now())).run()
        await audit.record("tenant.restore", actor_name=actor, tenant_id=tenant_id, target=archive_no,
                           detail={"source_archive_no": source["archive_no"], "archive_sha256": archive_sha})
    return {"tenant_id": tenant_id, "archive_no": archive_no, "source_archive_no": source["archive_no"],
            "read_only": True, "rows": sum(counts.values()), "tables": counts, "objects": len(restored_objects)}
