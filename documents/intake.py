"""Papers coming in from outside the office's own scanner: the tenant's portal
uploads (reviewed by staff in ``core.review_item``, kind 'document:upload'),
the office's requests for papers, and generated notices filed by other code."""

from __future__ import annotations

import datetime as dt
from typing import Any, Mapping

from piccolo.columns import Date
from piccolo.query.functions.type_conversion import Cast

from documents import keys, pending, queries
from documents.service import CATEGORIES, clean_meta, insert_document, locked_document, now, require_write
from documents.storage import Storage, current_storage
from documents.tables import Document, DocumentRequest
from documents.upload_stream import StoredFile, store_bytes
from portal.core import audit
from portal.core.db import DB
from portal.core.errors import Conflict, FormErrors, Forbidden, NotFound
from portal.core.roles import Perm, Principal
from tenants.file import changelog
from tenants.file.changelog import Actor
from tenants.registry.service import TenantRef, refresh_summary
from tenants.registry.tables import ReviewItem
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
    async with tenant_tx(ref.schema):
        rows = await DocumentRequest.insert(DocumentRequest(
            category=category, title=title[:200], note=str(raw.get("note") or "").strip()[:1000],
            requested_by=principal.name)).returning(DocumentRequest.id).run()
        request_id = rows[0]["id"]
        await changelog.record(Actor("staff", principal.name), "document", "requested", "", title)
        await audit.record("document.request", principal=principal, tenant_id=ref.id, target=f"request:{request_id}")
    return request_id


async def list_requests(ref: TenantRef, status: str = "open") -> list[dict]:
    query = DocumentRequest.select().order_by(DocumentRequest.requested_at, ascending=False)
    if status:
        query = query.where(DocumentRequest.status == status)
    async with tenant_tx(ref.schema):
        return await query.run()


# --- the tenant uploads -------------------------------------------------------------------------

async def portal_upload(ref: TenantRef, principal: Principal, storage: Storage, stored: StoredFile,
                        raw: Mapping[str, Any]) -> int:
    """A tenant's upload waits for staff review; it is not in the file until accepted."""
    try:
        if not principal.is_portal or principal.tenant_id != ref.id:
            raise Forbidden()
        request_id = None
        async with tenant_tx(ref.schema) as tx:
            category, title = str(raw.get("category") or "other"), str(raw.get("title") or "").strip()
            if raw.get("request_id"):
                try:
                    req = await DocumentRequest.select().where(
                        (DocumentRequest.id == int(raw["request_id"])) & (DocumentRequest.status == "open")
                    ).first().run()
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
            doc_id, _ = await insert_document(meta, stored, source="portal_upload", status="pending",
                                              by_kind="portal", by_id=principal.user_id, by_name=principal.name,
                                              request_id=request_id)
            await changelog.record(Actor("portal", principal.name), "document", "submitted", "", title,
                                   entity_id=doc_id)
            await ReviewItem.insert(ReviewItem(
                tenant_id=ref.id, kind=REVIEW_KIND, ref_id=doc_id, title="Uploaded document", subject=title[:200],
                submitted_by=principal.name)).run()
            await refresh_summary(tx.connection, ref.id)
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
    async with tenant_tx(ref.schema):
        return await queries.portal_uploads()


async def pending_uploads(principal: Principal) -> list[dict]:
    """Document uploads waiting in the review queue (from core only)."""
    if not principal.can(Perm.REVIEW_DECIDE):
        raise Forbidden()
    return await queries.pending_reviews(REVIEW_KIND, principal)


async def pending_document(ref: TenantRef, principal: Principal, doc_id: int) -> dict:
    if not principal.can(Perm.REVIEW_DECIDE):
        raise Forbidden()
    async with tenant_tx(ref.schema):
        row = await queries.with_first_version(doc_id)
        if row is None or row["source"] != "portal_upload":
            raise NotFound("No such document.")
        dups = await queries.duplicates(row["sha256"], doc_id, filed_only=True)
    return {**row, "duplicates": dups}


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
        row = await locked_document(doc_id)
        if row is None or row["source"] != "portal_upload":
            raise NotFound("No such document.")
        if row["status"] != "pending":
            raise Conflict("This upload has already been decided.")
        decided = {Document.decided_by: principal.name, Document.decided_at: now(), Document.updated_at: now()}
        uploader = Actor("portal", row["uploaded_by"], approved_by=principal.name)
        if accept:
            await Document.update({
                **decided, Document.status: "filed", Document.category: meta["category"],
                Document.title: meta["title"], Document.issue_date: meta["issue_date"],
                Document.received_date: meta["received_date"] or await _created_on(doc_id),
                Document.pages: meta["pages"] if meta["pages"] is not None else row["pages"],
                Document.paper_location: meta["paper_location"], Document.confidentiality: meta["confidentiality"],
                Document.visible_to_tenant: meta["visible_to_tenant"],
            }).where(Document.id == doc_id).run()
            await changelog.record(uploader, "document", "filed", "", meta["title"], entity_id=doc_id)
            if row["request_id"]:
                await DocumentRequest.update({DocumentRequest.status: "fulfilled",
                                              DocumentRequest.document_id: doc_id}).where(
                    DocumentRequest.id == row["request_id"]).run()
        else:
            await Document.update({**decided, Document.status: "rejected", Document.reject_reason: reason[:1000]}
                                  ).where(Document.id == doc_id).run()
            await changelog.record(uploader, "document", "rejected", "", reason, entity_id=doc_id)
        status = "accepted" if accept else "rejected"
        await ReviewItem.update({ReviewItem.status: status, ReviewItem.decided_at: now()}).where(
            (ReviewItem.tenant_id == ref.id) & (ReviewItem.kind == REVIEW_KIND) & (ReviewItem.ref_id == doc_id)).run()
        await refresh_summary(tx.connection, ref.id)
        await audit.record(f"document.upload.{status}", principal=principal, tenant_id=ref.id,
                           target=f"document:{doc_id}", detail={"reason": reason})


async def _created_on(doc_id: int) -> dt.date:
    """The upload's date in the database's time zone (the office's)."""
    row = await Document.select(Cast(Document.created_at, Date(), alias="day")).where(
        Document.id == doc_id).first().run()
    return row["day"]


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
        path = await queries.search_path()
        if path != ref.schema:
            raise TenantScopeError(f"file_generated_document for {ref.schema} inside a transaction on {path!r}")
    data_key = await keys.data_key(ref.id, storage.master_key)
    stored = await store_bytes(storage, ref.id, data_key, pdf_bytes, f"{number or title}.pdf")
    if stored.kind.kind != "pdf":
        await storage.aremove(stored.key, stored.version_id)
        await pending.forget(stored.key)
        raise ValueError("file_generated_document takes PDF bytes")

    async def write() -> int:
        doc_id, _ = await insert_document(meta, stored, source="generated", status="filed", by_kind="system",
                                          by_id=None, by_name=actor_name, number=number)
        await changelog.record(Actor("system", actor_name), "document", "filed", "", title, entity_id=doc_id)
        await audit.record("document.generated", actor_name=actor_name, tenant_id=ref.id,
                           target=f"document:{doc_id}", detail={"number": number, "sha256": stored.sha256})
        return doc_id

    try:
        if outer is not None:
            return await write()  # Piccolo joins the caller's transaction
        async with tenant_tx(ref.schema):
            return await write()
    except BaseException:
        await storage.aremove(stored.key, stored.version_id)
        await pending.forget(stored.key)
        raise
