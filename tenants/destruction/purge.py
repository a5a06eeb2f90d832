"""The purge: a Celery job of idempotent, resumable steps recorded in
``core.purge_job`` (the step it is at, the steps done, how often each ran).

A step that changes the database marks itself done in the same transaction,
so it happens exactly once; a step that talks to S3 is idempotent (deleting
what is already gone is nothing) and is marked done after it finished. A
worker killed anywhere and redelivered skips the steps marked done. Legal
holds are re-checked, under the tenant's hold lock, inside the steps that
destroy (crypto-erase, object deletion, dropping the schema, deleting rows).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
from typing import Any

import anyio

from documents import keys
from documents.storage import current_storage
from documents.tables import Document, DocumentRequest, DocumentVersion, TenantKey
from portal.core import audit, hooks
from portal.core.db import DB
from tenants.destruction import queries
from tenants.destruction.holds import assert_not_held, now, release_all_s3_holds
from tenants.destruction.tables import DestructionRequest, PurgeJob
from tenants.registry.tables import Tenant
from tenants.scope import check_schema, schema_for, tenant_tx

log = logging.getLogger(__name__)

FILE_STEPS = ("freeze", "inventory", "crypto_erase", "delete_objects", "drop_schema", "purge_core", "tombstone",
              "pseudonymise", "verify", "certificate")
DOCUMENT_STEPS = ("inventory", "delete_objects", "delete_rows", "verify", "certificate")
# Core tables that keep naming a destroyed tenant: the tombstone, the append-only log (pseudonymised)
# and the destruction's own record.
KEPT = {"tenant", "audit_log", "destruction_request", "purge_job", "destruction_certificate"}
# Audit detail keys whose values are codes, never personal data.
CODE_KEYS = {"step", "next_step", "outcome", "scope", "early", "documents", "kind", "status", "category", "version",
             "list_of"}


class PurgeIncomplete(RuntimeError):
    """The verification found something left; the job stays open and says what."""


def prefix_of(tenant_id: int) -> str:
    return f"tenants/{tenant_id:06d}/"


async def _job(request_id: int) -> tuple[dict, dict]:
    job = await PurgeJob.select().where(PurgeJob.request_id == request_id).first().run()
    req = await DestructionRequest.select().where(DestructionRequest.id == request_id).first().run()
    if job is None or req is None:
        raise LookupError(f"no purge job for destruction request {request_id}")
    return job, req


def _scope_ids(req: dict) -> list[int] | None:
    return list(req["document_ids"]) if req["scope"] == "documents" else None


async def run(request_id: int, settings) -> dict:
    """Run (or resume) the purge of one approved request to the end; returns the job row.
    A second delivery while another runs it returns at once (the job lock)."""
    job, req = await _job(request_id)
    steps = FILE_STEPS if req["scope"] == "file" else DOCUMENT_STEPS
    lock_conn = await DB.pool.acquire()
    try:
        if not await queries.try_job_lock(lock_conn, job["id"]):
            return job
        try:
            for step in steps:
                job, req = await _job(request_id)
                if job["status"] == "done":
                    break
                if step in job["done_steps"]:
                    continue
                async with DB.transaction() as tx:
                    await queries.begin_step(tx.connection, job["id"], step)
                try:
                    await STEPS[step](job, req, settings)
                except Exception as exc:
                    async with DB.transaction():
                        await PurgeJob.update({PurgeJob.error: f"{step}: {type(exc).__name__}"}).where(
                            PurgeJob.id == job["id"]).run()
                    raise
        finally:
            await queries.job_unlock(lock_conn, job["id"])
    finally:
        await DB.pool.release(lock_conn)
    return (await _job(request_id))[0]


async def _mark(conn, job: dict, step: str) -> None:
    await queries.mark_done(conn, job["id"], step)


# --- whole file -------------------------------------------------------------------------------

async def freeze(job, req, settings) -> None:
    """The file reads "being destroyed"; its portal users are signed out and disabled."""
    async with DB.transaction() as tx:
        await Tenant.update({Tenant.status: "destroying", Tenant.active: False, Tenant.updated_at: now()}).where(
            Tenant.id == req["tenant_id"]).run()
        await queries.disable_portal_users(tx.connection, req["tenant_id"])
        await _mark(tx.connection, job, "freeze")


def _s3_listing(prefix: str, exact: set[str] | None = None) -> dict:
    storage = current_storage()
    versions = markers = size = 0
    for obj in storage.client.list_objects(storage.bucket, prefix=prefix, recursive=True, include_version=True):
        if exact is not None and obj.object_name not in exact:
            continue
        if obj.is_delete_marker:
            markers += 1
        else:
            versions += 1
            size += obj.size or 0
    return {"versions": versions, "delete_markers": markers, "bytes": size}


async def inventory(job, req, settings) -> None:
    """What is destroyed, recorded before anything is: every domain's inventory hook (rows per
    table, objects, bytes, each document's title, date and SHA-256) and the S3 listing."""
    tenant_id = req["tenant_id"]
    ids = _scope_ids(req)
    schema = schema_for(tenant_id)
    async with tenant_tx(schema) as tx:
        await assert_not_held(tenant_id, ids)
        items: list[dict] = []
        if ids is None:
            domains = {}
            for domain in hooks.load():
                if domain.inventory:
                    found = await domain.inventory(tx.connection, tenant_id)
                    domains[domain.domain] = {"rows": found.rows, "objects": found.objects, "bytes": found.bytes}
                    if domain.domain == "documents":
                        items = found.items
            object_keys: list[str] = []
            s3 = await anyio.to_thread.run_sync(_s3_listing, prefix_of(tenant_id))
        else:
            docs = {d["id"]: d for d in await Document.select(Document.id, Document.title, Document.issue_date).where(
                Document.id.is_in(ids)).run()}
            versions = await DocumentVersion.select().where(DocumentVersion.document_id.is_in(ids)).run()
            items = [{"document_id": v["document_id"], "title": docs.get(v["document_id"], {}).get("title", ""),
                      "issue_date": docs.get(v["document_id"], {}).get("issue_date"), "version": v["version"],
                      "sha256": v["sha256"], "bytes": v["size"]} for v in versions]
            object_keys = sorted({k for v in versions for k in (v["object_key"], v["thumb_key"]) if k})
            domains = {"documents": {"rows": {"document": len(docs), "document_version": len(versions)},
                                     "objects": len(object_keys), "bytes": sum(v["size"] for v in versions)}}
            s3 = await anyio.to_thread.run_sync(_s3_listing, prefix_of(tenant_id), set(object_keys))
        record = {"domains": domains, "documents": items, "object_keys": object_keys, "s3": s3}
        await PurgeJob.update({PurgeJob.inventory: json.dumps(record, default=str, ensure_ascii=False)}).where(
            PurgeJob.id == job["id"]).run()
        await _mark(tx.connection, job, "inventory")


async def crypto_erase(job, req, settings) -> None:
    """NIST SP 800-88 cryptographic erase: the tenant's data key is destroyed; from here on
    no object of the tenant can be decrypted, wherever a copy of it is."""
    async with DB.transaction() as tx:
        await assert_not_held(req["tenant_id"])
        await keys.destroy_tenant_key(req["tenant_id"])
        await audit.record("destruction.crypto_erase", actor_name="purge", tenant_id=req["tenant_id"],
                           target=f"destruction:{req['id']}")
        await _mark(tx.connection, job, "crypto_erase")


def _delete_versions(prefix: str, exact: set[str] | None) -> int:
    """Every version and delete marker under ``prefix`` (or of the ``exact`` keys), with the
    governance bypass (only this job uses it). Raises if S3 refused any."""
    from minio.deleteobjects import DeleteObject

    storage = current_storage()
    batch, deleted = [], 0

    def flush() -> int:
        errors = list(storage.client.remove_objects(storage.bucket, batch, bypass_governance_mode=True))
        if errors:
            raise RuntimeError(f"S3 refused to delete {len(errors)} object versions ({errors[0].code})")
        return len(batch)

    for obj in storage.client.list_objects(storage.bucket, prefix=prefix, recursive=True, include_version=True):
        if exact is not None and obj.object_name not in exact:
            continue
        batch.append(DeleteObject(obj.object_name, obj.version_id))
        if len(batch) == 1000:
            deleted += flush()
            batch = []
    if batch:
        deleted += flush()
    return deleted


async def delete_objects(job, req, settings) -> None:
    ids = _scope_ids(req)
    async with DB.transaction():
        await assert_not_held(req["tenant_id"], ids)
    exact = None if ids is None else set(json.loads(job["inventory"])["object_keys"]) if isinstance(
        job["inventory"], str) else set(job["inventory"]["object_keys"])
    if ids is None:
        await release_all_s3_holds(prefix_of(req["tenant_id"]))
    await anyio.to_thread.run_sync(_delete_versions, prefix_of(req["tenant_id"]), exact)
    async with DB.transaction() as tx:
        await _mark(tx.connection, job, "delete_objects")


async def drop_schema(job, req, settings) -> None:
    schema = check_schema(schema_for(req["tenant_id"]))
    async with DB.transaction() as tx:
        await assert_not_held(req["tenant_id"])
        await queries.drop_schema(tx.connection, schema)
        await _mark(tx.connection, job, "drop_schema")


async def purge_core(job, req, settings) -> None:
    """Every domain's core rows naming the tenant, in one transaction with the marker."""
    async with DB.transaction() as tx:
        for domain in hooks.load():
            if domain.purge_core:
                await domain.purge_core(tx.connection, req["tenant_id"])
        await _mark(tx.connection, job, "purge_core")


async def tombstone(job, req, settings) -> None:
    """The registry row keeps the archive number, the name, its dates and the certificate
    number (on the request); every other personal column is emptied."""
    async with DB.transaction() as tx:
        number = await queries.next_certificate_no(tx.connection)
        await Tenant.update({Tenant.status: "destroyed", Tenant.active: False, Tenant.unit_labels: "",
                             Tenant.primary_contact: "", Tenant.contact_phones: "", Tenant.contact_count: 0,
                             Tenant.pending_reviews: 0, Tenant.building_ids: [], Tenant.identity_code: None,
                             Tenant.migration_error: None, Tenant.updated_at: now()}).where(
            Tenant.id == req["tenant_id"]).run()
        await DestructionRequest.update({DestructionRequest.certificate_no: number}).where(
            (DestructionRequest.id == req["id"]) & DestructionRequest.certificate_no.is_null()).run()
        await _mark(tx.connection, job, "tombstone")


def _pseudonym(salt: bytes, value: str) -> str:
    return "⟨" + hmac.new(salt, value.encode(), hashlib.sha256).hexdigest()[:10] + "⟩"


def pseudonymise_detail(detail: Any, salt: bytes, key: str = "") -> Any:
    """Strings become keyed pseudonyms (the same value, the same pseudonym, within this purge
    only: the key is random and never stored); codes, numbers and structure stay."""
    if isinstance(detail, dict):
        return {k: pseudonymise_detail(v, salt, k) for k, v in detail.items()}
    if isinstance(detail, list):
        return [pseudonymise_detail(v, salt, key) for v in detail]
    if isinstance(detail, str) and detail and key not in CODE_KEYS:
        return _pseudonym(salt, detail)
    return detail


async def pseudonymise(job, req, settings) -> None:
    salt = secrets.token_bytes(32)
    async with DB.transaction() as tx:
        rows = await queries.audit_rows(tx.connection, req["tenant_id"])
        updates = []
        for row in rows:
            detail = json.loads(row["detail"]) if isinstance(row["detail"], str) else dict(row["detail"] or {})
            new = pseudonymise_detail(detail, salt)
            new["pseudonymised"] = True
            updates.append((row["id"], json.dumps(new, ensure_ascii=False)))
        await queries.pseudonymise_audit(tx.connection, req["tenant_id"], updates)
        await _mark(tx.connection, job, "pseudonymise")


async def what_is_left(tenant_id: int, *, document_ids: list[int] | None = None,
                       object_keys: list[str] | None = None) -> dict:
    """What of a destroyed tenant (or of destroyed documents) is still there: S3 versions and
    delete markers, the schema, a live key, core rows. Empty when nothing."""
    left: dict[str, Any] = {}
    exact = None if document_ids is None else set(object_keys or [])
    s3 = await anyio.to_thread.run_sync(_s3_listing, prefix_of(tenant_id), exact)
    if s3["versions"] or s3["delete_markers"]:
        left["s3"] = s3
    async with DB.transaction() as tx:
        if document_ids is None:
            if await queries.schema_exists(tx.connection, schema_for(tenant_id)):
                left["schema"] = schema_for(tenant_id)
            if await TenantKey.exists().where((TenantKey.tenant_id == tenant_id) & TenantKey.wrapped_key.is_not_null()).run():
                left["key"] = "live"
            rows = await queries.core_rows_naming(tx.connection, tenant_id, KEPT)
            if rows:
                left["core_rows"] = rows
    if document_ids is not None:
        async with tenant_tx(schema_for(tenant_id)):
            n = await Document.count().where(Document.id.is_in(document_ids)).run()
            v = await DocumentVersion.count().where(DocumentVersion.document_id.is_in(document_ids)).run()
        if n or v:
            left["rows"] = {"document": n, "document_version": v}
    return left


async def verify(job, req, settings) -> None:
    inventory_record = job["inventory"] if isinstance(job["inventory"], dict) else json.loads(job["inventory"])
    left = await what_is_left(req["tenant_id"], document_ids=_scope_ids(req),
                              object_keys=inventory_record.get("object_keys"))
    async with DB.transaction() as tx:
        await PurgeJob.update({PurgeJob.verification: json.dumps({"left": left, "at": now().isoformat()})}).where(
            PurgeJob.id == job["id"]).run()
        if left:
            raise PurgeIncomplete(f"left after the purge: {sorted(left)}")
        await _mark(tx.connection, job, "verify")


async def delete_rows(job, req, settings) -> None:
    """Single documents: their rows (versions, thumbnails' references, the documents), under
    the hold lock, in the tenant's transaction."""
    ids = _scope_ids(req)
    async with tenant_tx(schema_for(req["tenant_id"])) as tx:
        await assert_not_held(req["tenant_id"], ids)
        await DocumentVersion.delete().where(DocumentVersion.document_id.is_in(ids)).run()
        await Document.delete().where(Document.id.is_in(ids)).run()
        await DocumentRequest.update({DocumentRequest.document_id: None}).where(
            DocumentRequest.document_id.is_in(ids)).run()
        await _mark(tx.connection, job, "delete_rows")


async def certificate(job, req, settings) -> None:
    from tenants.destruction import certificate as cert

    await cert.issue(job, req, settings)


STEPS = {"freeze": freeze, "inventory": inventory, "crypto_erase": crypto_erase, "delete_objects": delete_objects,
         "drop_schema": drop_schema, "purge_core": purge_core, "tombstone": tombstone, "pseudonymise": pseudonymise,
         "verify": verify, "delete_rows": delete_rows, "certificate": certificate}


async def verify_archive_no(archive_no: str) -> dict:
    """``portal purge verify``: what is left of a destroyed file (or of its destroyed documents)."""
    tenant = await Tenant.select(Tenant.id, Tenant.status, Tenant.name).where(Tenant.archive_no == archive_no).first().run()
    if tenant is None:
        return {"archive_no": archive_no, "found": False, "left": {}}
    requests = await DestructionRequest.select().where(
        (DestructionRequest.tenant_id == tenant["id"]) & (DestructionRequest.status == "destroyed")).run()
    left: dict[str, Any] = {}
    if tenant["status"] == "destroyed":
        left = await what_is_left(tenant["id"])
    else:
        for req in requests:
            job = await PurgeJob.select(PurgeJob.inventory).where(PurgeJob.request_id == req["id"]).first().run()
            record = job["inventory"] if isinstance(job["inventory"], dict) else json.loads(job["inventory"] or "{}")
            found = await what_is_left(tenant["id"], document_ids=list(req["document_ids"]),
                                       object_keys=record.get("object_keys", []))
            if found:
                left[f"request {req['id']}"] = found
    return {"archive_no": archive_no, "found": True, "status": tenant["status"],
            "destroyed": tenant["status"] == "destroyed" or bool(requests),
            "certificates": [r["certificate_no"] for r in requests], "left": left}
