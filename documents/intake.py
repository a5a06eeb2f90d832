"""Papers coming in from outside the office's own scanner: the tenant's portal
uploads (reviewed by staff in ``core.review_item``, kind 'document:upload'),
the office's requests for papers, and generated notices filed by other code."""

from __future__ import annotations

import datetime as dt
from typing import Any, Mapping

from documents import keys, pending
from documents.service import (
    CATEGORIES,
    clean_meta,
    insert_document,
    log_change,
    require_write,
)
from documents.storage import Storage, StoredFile, current_storage, store_bytes
from portal.core import audit
from portal.core.roles import Perm, Principal
from portal.core.db import DB
from portal.core.errors import Conflict, FormErrors, Forbidden, NotFound
from tenants.registry.service import TenantRef, refresh_summary
from tenants.registry.visibility import in_scope
from tenants.scope import TenantScopeError, tenant_tx

REVIEW_KIND = "document:upload"


# --- the office asks the tenant for a paper -----------------------------------------------------

async def create_request(ref: TenantRef, principal: Principal, raw: Mapping[str, Any]) -> int:
    require_write(ref, principal)
    errors = {}
    category = str(raw.get("category") or "")
    title = str(raw.get("title") or "").strip()
    if category not in CATEGORIES:
        errors["category"] = "Choose a category."
    if not title:
        errors["title"] = "Say which paper you need."
    if errors:
        raise FormErrors(errors)
    async with tenant_tx(ref.schema) as tx:
        request_id = await tx.connection.fetchval(
            "INSERT INTO document_request (category, title, note, requested_by) VALUES ($1, $2, $3, $4) RETURNING id",
            category, title[:200], str(raw.get("note") or "").strip()[:1000], principal.name)
        await log_change(tx.connection, "staff", principal.name, None, "requested", "", title)
        await audit.record("document.request", principal=principal, tenant_id=ref.id, target=f"request:{request_id}")
    return request_id


async def list_requests(ref: TenantRef, status: str = "open") -> list[dict]:
    async with tenant_tx(ref.schema) as tx:
        rows = await tx.connection.fetch(
            "SELECT * FROM document_request WHERE ($1 = '' OR status = $1) ORDER BY requested_at DESC", status)
    return [dict(r) for r in rows]


# --- the tenant uploads -------------------------------------------------------------------------

async def portal_upload(ref: TenantRef, principal: Principal, storage: Storage, stored: StoredFile,
                        raw: Mapping[str, Any]) -> int:
    """A tenant's upload waits for staff review; it is not in the file until accepted."""
    try:
        if not principal.is_portal or principal.tenant_id != ref.id:
            raise Forbidden()
        request_id = None
        async with tenant_tx(ref.schema) as tx:
            conn = tx.connection
            category, title = str(raw.get("category") or "other"), str(raw.get("title") or "").strip()
            if raw.get("request_id"):
                try:
                    req = await conn.fetchrow("SELECT * FROM document_request WHERE id = $1 AND status = 'open'",
                                              int(raw["request_id"]))
                except ValueError:
                    req = None
                if req is None:
                    raise FormErrors({"request_id": "This request is no longer open."})
                request_id, category, title = req["id"], req["category"], title or req["title"]
            if category not in CATEGORIES:
                category = "other"
            if not title:
                raise FormErrors({"title": "Give the document a title."})
            meta = {"category": category, "title": title[:200], "confidentiality": "internal",
                    "visible_to_tenant": True}
            doc_id = await insert_document(conn, meta, stored, source="portal_upload", status="pending",
                                           by_kind="portal", by_id=principal.user_id, by_name=principal.name,
                                           request_id=request_id)
            await log_change(conn, "portal", principal.name, doc_id, "submitted", "", title)
            await conn.execute(
                "INSERT INTO core.review_item (tenant_id, kind, ref_id, title, subject, submitted_by)"
                " VALUES ($1, $2, $3, $4, $5, $6)", ref.id, REVIEW_KIND, doc_id, "Uploaded document", title[:200],
                principal.name)
            await refresh_summary(conn, ref.id)
            await audit.record("document.portal_upload", principal=principal, tenant_id=ref.id,
                               target=f"document:{doc_id}", detail={"sha256": stored.sha256, "size": stored.size})
    except BaseException:
        await storage.aremove(stored.key, stored.version_id)
        await pending.forget(stored.key)
        raise
    return doc_id


async def my_uploads(ref: TenantRef, principal: Principal) -> list[dict]:
    """The tenant's own submissions with their outcome (and the reason if rejected)."""
    if not principal.is_portal or principal.tenant_id != ref.id:
        raise Forbidden()
    async with tenant_tx(ref.schema) as tx:
        rows = await tx.connection.fetch(
            "SELECT d.id, d.title, d.category, d.status, d.reject_reason, d.created_at, d.decided_at,"
            " d.visible_to_tenant, v.size, v.original_name FROM document d JOIN document_version v"
            " ON v.document_id = d.id AND v.version = 1 WHERE d.source = 'portal_upload' ORDER BY d.created_at DESC"
            " LIMIT 200")
    return [dict(r) for r in rows]


async def pending_uploads(principal: Principal) -> list[dict]:
    """Document uploads waiting in the review queue (from core only)."""
    if not principal.can(Perm.REVIEW_DECIDE):
        raise Forbidden()
    args: list = [REVIEW_KIND]
    scoped = in_scope(principal, args)
    extra = f" AND {scoped}" if scoped else ""
    rows = await DB.pool.fetch(
        "SELECT r.*, t.name AS tenant_name, t.archive_no FROM core.review_item r JOIN core.tenant t ON t.id = r.tenant_id"
        f" WHERE r.kind = $1 AND r.status = 'pending'{extra} ORDER BY r.submitted_at", *args)
    return [dict(r) for r in rows]


async def pending_document(ref: TenantRef, principal: Principal, doc_id: int) -> dict:
    if not principal.can(Perm.REVIEW_DECIDE):
        raise Forbidden()
    async with tenant_tx(ref.schema) as tx:
        row = await tx.connection.fetchrow(
            "SELECT d.*, v.size, v.content_type, v.file_kind, v.original_name, v.sha256 FROM document d"
            " JOIN document_version v ON v.document_id = d.id AND v.version = 1 WHERE d.id = $1", doc_id)
        if row is None or row["source"] != "portal_upload":
            raise NotFound("No such document.")
        dups = await tx.connection.fetch(
            "SELECT DISTINCT d.id, d.title FROM document_version v JOIN document d ON d.id = v.document_id"
            " WHERE v.sha256 = $1 AND d.id <> $2 AND d.status = 'filed'", row["sha256"], doc_id)
    return {**dict(row), "duplicates": [dict(d) for d in dups]}


async def decide_upload(ref: TenantRef, principal: Principal, doc_id: int, *, accept: bool,
                        raw: Mapping[str, Any]) -> None:
    """Accept (file it under a category with its visibility) or reject with a reason the tenant sees."""
    if not principal.can(Perm.REVIEW_DECIDE) or ref.via_grant:
        raise Forbidden()
    reason = str(raw.get("reason") or "").strip()
    meta = clean_meta(raw) if accept else None
    if not accept and not reason:
        raise FormErrors({"reason": "Give the tenant a reason for the rejection."})
    async with tenant_tx(ref.schema) as tx:
        conn = tx.connection
        row = await conn.fetchrow("SELECT * FROM document WHERE id = $1 FOR UPDATE", doc_id)
        if row is None or row["source"] != "portal_upload":
            raise NotFound("No such document.")
        if row["status"] != "pending":
            raise Conflict("This upload has already been decided.")
        if accept:
            await conn.execute(
                "UPDATE document SET status = 'filed', category = $2, title = $3, issue_date = $4, received_date ="
                " coalesce($5, created_at::date), pages = coalesce($6, pages), paper_location = $7,"
                " confidentiality = $8, visible_to_tenant = $9, decided_by = $10, decided_at = now(),"
                " updated_at = now() WHERE id = $1",
                doc_id, meta["category"], meta["title"], meta["issue_date"], meta["received_date"], meta["pages"],
                meta["paper_location"], meta["confidentiality"], meta["visible_to_tenant"], principal.name)
            await log_change(conn, "portal", row["uploaded_by"], doc_id, "filed", "", meta["title"],
                             approved_by=principal.name)
            if row["request_id"]:
                await conn.execute("UPDATE document_request SET status = 'fulfilled', document_id = $2 WHERE id = $1",
                                   row["request_id"], doc_id)
        else:
            await conn.execute(
                "UPDATE document SET status = 'rejected', reject_reason = $2, decided_by = $3, decided_at = now(),"
                " updated_at = now() WHERE id = $1", doc_id, reason[:1000], principal.name)
            await log_change(conn, "portal", row["uploaded_by"], doc_id, "rejected", "", reason,
                             approved_by=principal.name)
        status = "accepted" if accept else "rejected"
        await conn.execute(
            "UPDATE core.review_item SET status = $3, decided_at = now() WHERE tenant_id = $1 AND kind = $4"
            " AND ref_id = $2", ref.id, doc_id, status, REVIEW_KIND)
        await refresh_summary(conn, ref.id)
        await audit.record(f"document.upload.{status}", principal=principal, tenant_id=ref.id,
                           target=f"document:{doc_id}", detail={"reason": reason})


# --- generated documents (notices, receipts) ----------------------------------------------------

async def file_generated_document(
    ref: TenantRef,
    category: str,
    title: str,
    issue_date: dt.date,
    pdf_bytes: bytes,
    visible_to_tenant: bool,
    number: str = "",
    *,
    actor_name: str = "system",
    storage: Storage | None = None,
) -> int:
    """File a PDF the system generated (arrears notice, receipt...) into the tenant's archive.

    Contract:
    - Outside any transaction: opens its own ``tenant_tx`` and commits.
    - Inside the caller's ``tenant_tx`` for the SAME tenant: joins it (the rows
      commit or roll back with the caller's work). The object is written to S3
      before the rows, recorded as pending first (``documents.pending``); if the
      caller rolls back or dies, the beat sweep removes it.
    - Inside a transaction scoped to another schema, or an unscoped one: refused
      (TenantScopeError) — it never writes into the wrong tenant.
    Returns the new document id. The thumbnail is made on first preview.
    """
    if category not in CATEGORIES:
        raise ValueError(f"unknown category {category!r}")
    storage = storage or current_storage()
    meta = {"category": category, "title": title[:200], "issue_date": issue_date, "received_date": issue_date,
            "confidentiality": "internal", "visible_to_tenant": bool(visible_to_tenant), "paper_location": ""}
    outer = DB.current_transaction.get()
    if outer is not None:
        path = await outer.connection.fetchval("SELECT current_setting('search_path')")
        if path != ref.schema:
            raise TenantScopeError(f"file_generated_document for {ref.schema} inside a transaction on {path!r}")
        data_key = await keys.data_key(ref.id, storage.master_key, conn=outer.connection)
    else:
        data_key = await keys.data_key(ref.id, storage.master_key)
    stored = await store_bytes(storage, ref.id, data_key, pdf_bytes, f"{number or title}.pdf")
    if stored.kind.kind != "pdf":
        await storage.aremove(stored.key, stored.version_id)
        await pending.forget(stored.key)
        raise ValueError("file_generated_document takes PDF bytes")

    async def write(conn) -> int:
        doc_id = await insert_document(conn, meta, stored, source="generated", status="filed", by_kind="system",
                                       by_id=None, by_name=actor_name, number=number)
        await log_change(conn, "system", actor_name, doc_id, "filed", "", title)
        await audit.record("document.generated", actor_name=actor_name, tenant_id=ref.id,
                           target=f"document:{doc_id}", detail={"number": number, "sha256": stored.sha256})
        return doc_id

    try:
        if outer is not None:
            return await write(outer.connection)
        async with tenant_tx(ref.schema) as tx:
            return await write(tx.connection)
    except BaseException:
        await storage.aremove(stored.key, stored.version_id)
        await pending.forget(stored.key)
        raise
