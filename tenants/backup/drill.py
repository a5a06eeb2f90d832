"""The restore drill's checks: a backup restored into a scratch cluster is
compared with the live system, tenant by tenant.

- **rows**: every table of every tenant schema in the backup, counted in the
  restored copy and in the live database;
- **objects**: every document version the backup names is read from S3 by its
  version id, decrypted with the tenant key *from the backup* and its SHA-256
  compared with the one recorded in the backup (and in the live row).

A tenant created after the backup is listed, not a failure; a registry row
without a schema (a destroyed file's tombstone) is counted, not compared; a count that
differs, a tenant missing from the live system, an object that is missing or
fails its checksum is a mismatch (the command then exits non-zero). Run it after
a fresh backup (``portal backup drill --backup``) so the live side has not moved on.

It talks to two databases at once (the scratch copy and the live one) over plain
asyncpg connections, outside the application's pool and its ``tenant_tx``: the
SQL here is catalog reads and counts of tables named at run time, which the
query builder cannot say, always schema-qualified with checked schema names.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass, field

import asyncpg

from documents import crypto
from documents.storage import Storage, context_for
from tenants.scope import check_schema

# Tables that only exist to record migrations are not business data.
SKIP_TABLES = {"_migration"}


@dataclass
class TenantCheck:
    tenant_id: int
    archive_no: str
    tables: dict[str, dict] = field(default_factory=dict)  # table -> {"backup": n, "live": n}
    objects_ok: int = 0
    objects_bad: list[dict] = field(default_factory=list)
    live_missing: bool = False

    @property
    def row_mismatches(self) -> dict[str, dict]:
        return {t: c for t, c in self.tables.items() if c["backup"] != c["live"]}

    @property
    def ok(self) -> bool:
        return not self.live_missing and not self.row_mismatches and not self.objects_bad

    def as_dict(self) -> dict:
        return {"tenant_id": self.tenant_id, "archive_no": self.archive_no, "ok": self.ok,
                "rows": sum(c["backup"] for c in self.tables.values()), "tables": len(self.tables),
                "row_mismatches": self.row_mismatches, "objects_ok": self.objects_ok,
                "objects_bad": self.objects_bad, "missing_live": self.live_missing}


async def _tenants(conn) -> list[asyncpg.Record]:
    return await conn.fetch("SELECT id, archive_no, schema_name FROM core.tenant ORDER BY id")


async def _counts(conn, schema: str) -> dict[str, int]:
    tables = await conn.fetch("SELECT tablename FROM pg_catalog.pg_tables WHERE schemaname = $1 ORDER BY tablename",
                              check_schema(schema))
    counts = {}
    for row in tables:
        name = row["tablename"]
        if name in SKIP_TABLES:
            continue
        counts[name] = await conn.fetchval(f'SELECT count(*) FROM "{schema}"."{name}"')
    return counts


def _object_sha256(storage: Storage, key: str, version_id: str, data_key: bytes) -> str:
    digest = hashlib.sha256()
    for block in storage.plaintext_blocks(key, data_key, version_id):
        digest.update(block)
    return digest.hexdigest()


async def _check_objects(check: TenantCheck, backup, live, schema: str, storage: Storage, master_key: str) -> None:
    if await backup.fetchval("SELECT to_regclass($1) IS NULL", f"{schema}.document_version"):
        return
    rows = await backup.fetch(f'SELECT id, object_key, s3_version_id, sha256 FROM "{schema}".document_version'
                              " ORDER BY id")
    if not rows:
        return
    key_row = await backup.fetchrow("SELECT wrapped_key, destroyed_at FROM core.tenant_key WHERE tenant_id = $1",
                                    check.tenant_id)
    if key_row is None or key_row["wrapped_key"] is None:
        check.objects_bad += [{"object_key": r["object_key"], "problem": "no data key in the backup"} for r in rows]
        return
    data_key = crypto.unwrap_key(master_key, key_row["wrapped_key"])
    live_sha = {}
    if not check.live_missing:
        live_sha = {r["id"]: r["sha256"] for r in await live.fetch(
            f'SELECT id, sha256 FROM "{schema}".document_version')}
    for row in rows:
        problem = None
        try:
            found = await asyncio.to_thread(_object_sha256, storage, row["object_key"], row["s3_version_id"],
                                            data_key)
            if found != row["sha256"]:
                problem = "checksum differs"
        except crypto.DecryptionError:
            problem = "does not decrypt"
        except Exception as exc:  # noqa: BLE001 - minio's S3Error and transport errors alike
            problem = f"unreadable: {getattr(exc, 'code', type(exc).__name__)}"
        if problem is None and row["id"] in live_sha and live_sha[row["id"]] != row["sha256"]:
            problem = "live row has another checksum"
        if problem:
            check.objects_bad.append({"object_key": row["object_key"], "version_id": row["s3_version_id"],
                                      "problem": problem})
        else:
            check.objects_ok += 1


async def compare(backup_dsn: str, live_dsn: str, settings, *, objects: bool = True) -> dict:
    """Compare the restored copy (``backup_dsn``) with the live database."""
    backup = await asyncpg.connect(backup_dsn, statement_cache_size=0)
    live = await asyncpg.connect(live_dsn, statement_cache_size=0)
    storage = Storage(settings)
    try:
        backup_tenants = await _tenants(backup)
        live_tenants = {r["id"]: r for r in await _tenants(live)}
        checks = []
        tombstones = 0
        for row in backup_tenants:
            schema = check_schema(row["schema_name"])
            if not await backup.fetchval("SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $1)",
                                         schema):
                tombstones += 1  # a destroyed file keeps only its registry row
                continue
            check = TenantCheck(row["id"], row["archive_no"])
            check.live_missing = row["id"] not in live_tenants or await live.fetchval(
                "SELECT NOT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $1)", schema)
            restored = await _counts(backup, schema)
            current = {} if check.live_missing else await _counts(live, schema)
            check.tables = {t: {"backup": n, "live": current.get(t)} for t, n in restored.items()}
            if objects:
                await _check_objects(check, backup, live, schema, storage, settings.master_key)
            checks.append(check)
    finally:
        await backup.close()
        await live.close()
    backed_up = {r["id"] for r in backup_tenants}
    failed = [c.as_dict() for c in checks if not c.ok]
    return {
        "ok": not failed,
        "tenants": len(checks),
        "tombstones": tombstones,
        "tables": sum(len(c.tables) for c in checks),
        "rows": sum(sum(t["backup"] for t in c.tables.values()) for c in checks),
        "objects_checked": sum(c.objects_ok + len(c.objects_bad) for c in checks),
        "objects_ok": sum(c.objects_ok for c in checks),
        "mismatches": failed,
        "new_since_backup": sorted(r["archive_no"] for i, r in live_tenants.items() if i not in backed_up),
    }
