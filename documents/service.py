"""Document records of a tenant file: filing, versions, catalog, viewing.

Bytes go to S3 first (``documents.storage``), then the rows are written in one
``tenant_tx`` with their change-log rows and audit record; if that transaction
fails the object is removed again. Reads check the caller's right to the file
(building or lending grant for staff; acceptance + visibility for the tenant)
and are audited.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any, AsyncIterator, Mapping

from piccolo.query.functions.aggregate import Count, Max, Min

from documents import keys, pending, queries
from documents.storage import Storage
from documents.tables import Document, DocumentVersion
from documents.upload_stream import StoredFile
from portal.core import audit
from portal.core.jobs import on_commit
from portal.core.roles import Perm, Principal, Role
from portal.core.errors import FormErrors, Forbidden, NotFound
from portal.core import params
from tasks.documents import thumbnail as make_thumbnail
from tenants.registry.service import TenantRef
from tenants.file import changelog
from tenants.file.changelog import Actor
from tenants.file.tables import ChangeLog
from tenants.scope import tenant_tx

CATEGORIES = {
    "company_papers": "Company papers",
    "business_licence": "Business licence",
    "id_copies": "ID copies",
    "payments": "Deposits and payment records",
    "move_in": "Move-in forms",
    "fit_out": "Fit-out files",
    "contacts": "Contacts",
    "emergency_contacts": "Emergency contacts",
    "correspondence": "Correspondence",
    "violations": "Violations and arrears",
    "repairs": "Repair records",
    "complaints": "Complaint records",
    "visits": "Visit records",
    "engineering": "Engineering files",
    "other": "Other",
}
CONFIDENTIALITY = {"public": "Public", "internal": "Internal", "confidential": "Confidential", "secret": "Secret"}
SOURCES = {"staff_upload": "Staff upload", "portal_upload": "Portal upload", "generated": "Generated notice"}
SECRET_ROLES = frozenset({Role.ARCHIVIST, Role.DEPT_HEAD, Role.SUPERVISOR, Role.GENERAL_MANAGER})
PER_PAGE = 50
META_FIELDS = ("category", "title", "issue_date", "received_date", "pages", "paper_location", "confidentiality",
               "visible_to_tenant")


# --- validation ---------------------------------------------------------------------------------

def _date(raw, field: str, errors: dict) -> dt.date | None:
    raw = (raw or "").strip() if isinstance(raw, str) else raw
    if not raw:
        return None
    if isinstance(raw, dt.date):
        return raw
    try:
        value = dt.date.fromisoformat(raw)
    except ValueError:
        errors[field] = "Enter a date as YYYY-MM-DD."
        return None
    if value.year < 1900 or value > dt.date.today() + dt.timedelta(days=366):
        errors[field] = "Enter a plausible date."
    return value


def _truthy(value) -> bool:
    return value in (True, "1", "on", "true", "yes")


def clean_meta(raw: Mapping[str, Any], *, need_issue_date: bool = True) -> dict[str, Any]:
    params.refuse_control_chars(dict(raw))  # upload forms are streamed, not read by form_dict
    errors: dict[str, str] = {}
    category = str(raw.get("category") or "").strip()
    if category not in CATEGORIES:
        errors["category"] = "Choose a category."
    title = str(raw.get("title") or "").strip()
    if not title:
        errors["title"] = "Give the document a title."
    elif len(title) > 200:
        errors["title"] = "At most 200 characters."
    issue_date = _date(raw.get("issue_date"), "issue_date", errors)
    if need_issue_date and issue_date is None and "issue_date" not in errors:
        errors["issue_date"] = "Enter the issue date."
    received_date = _date(raw.get("received_date"), "received_date", errors)
    pages = None
    if str(raw.get("pages") or "").strip():
        try:
            pages = int(str(raw["pages"]).strip())
            if not 0 < pages < 100_000:
                raise ValueError
        except ValueError:
            errors["pages"] = "Enter a whole number of pages."
    confidentiality = str(raw.get("confidentiality") or "internal")
    if confidentiality not in CONFIDENTIALITY:
        errors["confidentiality"] = "Choose a confidentiality level."
    location = str(raw.get("paper_location") or "").strip()
    if len(location) > 100:
        errors["paper_location"] = "At most 100 characters."
    if errors:
        raise FormErrors(errors)
    return {"category": category, "title": title, "issue_date": issue_date, "received_date": received_date,
            "pages": pages, "paper_location": location, "confidentiality": confidentiality,
            "visible_to_tenant": _truthy(raw.get("visible_to_tenant"))}


# --- who may do what ----------------------------------------------------------------------------

def require_write(ref: TenantRef, principal: Principal) -> None:
    if not principal.can(Perm.TENANT_WRITE) or ref.via_grant:
        raise Forbidden()


def _may_read_row(ref: TenantRef, principal: Principal, row: Mapping) -> bool:
    if principal.is_portal:
        return principal.tenant_id == ref.id and row["status"] == "filed" and row["visible_to_tenant"]
    if not principal.can(Perm.TENANT_READ):
        return False
    if ref.via_grant and ref.grant_document_ids and row["id"] not in ref.grant_document_ids:
        return False
    if row["confidentiality"] == "secret" and not (principal.roles & SECRET_ROLES):
        return False
    return True


def _actor(kind: str, name: str, approved_by: str = "") -> Actor:
    return Actor(kind, name, approved_by=approved_by)


async def insert_version(doc_id: int, version: int, stored: StoredFile, by: str) -> int:
    await pending.settle(stored.key)  # commits with the row, or the sweep removes the object
    rows = await DocumentVersion.insert(DocumentVersion(
        document_id=doc_id, version=version, object_uid=stored.object_uid, object_key=stored.key,
        s3_version_id=stored.version_id, sha256=stored.sha256, size=stored.size,
        content_type=stored.kind.content_type, file_kind=stored.kind.kind, original_name=stored.original_name,
        uploaded_by=by)).returning(DocumentVersion.id).run()
    return rows[0]["id"]


async def insert_document(meta: Mapping[str, Any], stored: StoredFile, *, source: str, status: str,
                          by_kind: str, by_id: int | None, by_name: str, number: str = "",
                          request_id: int | None = None) -> tuple[int, int]:
    """The document row and its first version; returns (document id, version row id)."""
    rows = await Document.insert(Document(
        uid=uuid.uuid4(), category=meta["category"], title=meta["title"], issue_date=meta.get("issue_date"),
        received_date=meta.get("received_date"), source=source, number=number,
        pages=meta.get("pages") or stored.kind.pages, paper_location=meta.get("paper_location", ""),
        confidentiality=meta.get("confidentiality", "internal"),
        visible_to_tenant=bool(meta.get("visible_to_tenant")), status=status, request_id=request_id,
        uploaded_by_kind=by_kind, uploaded_by_id=by_id, uploaded_by=by_name)).returning(Document.id).run()
    doc_id = rows[0]["id"]
    return doc_id, await insert_version(doc_id, 1, stored, by_name)


async def locked_document(doc_id: int) -> dict | None:
    """The document row, locked until the transaction ends."""
    return await Document.select().where(Document.id == doc_id).lock_rows("UPDATE").first().run()


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def make_thumbnail_later(tenant_id: int, version_id: int) -> None:
    """After the filing commits, the worker makes the preview (``tasks.documents.thumbnail``)."""
    from tasks.documents import thumbnail

    on_commit(thumbnail, tenant_id, version_id)


@dataclass
class Filed:
    document_id: int
    version: int
    version_id: int
    duplicates: list[dict]


async def _undo_object(storage: Storage, stored: StoredFile) -> None:
    await storage.aremove(stored.key, stored.version_id)
    await pending.forget(stored.key)


async def file_upload(ref: TenantRef, principal: Principal, storage: Storage, stored: StoredFile,
                      raw: Mapping[str, Any]) -> Filed:
    """A staff upload: validate, then record the already stored object."""
    try:
        require_write(ref, principal)
        meta = clean_meta(raw)
        async with tenant_tx(ref.schema):
            doc_id, version_id = await insert_document(meta, stored, source="staff_upload", status="filed",
                                                       by_kind="staff", by_id=principal.user_id,
                                                       by_name=principal.name)
            await changelog.record(_actor("staff", principal.name), "document", "filed", "", meta["title"],
                                   entity_id=doc_id)
            dups = await queries.duplicates(stored.sha256, doc_id, filed_only=False)
            await audit.record("document.upload", principal=principal, tenant_id=ref.id, target=f"document:{doc_id}",
                               detail={"sha256": stored.sha256, "size": stored.size, "type": stored.kind.kind,
                                       "duplicate_of": [d["id"] for d in dups]})
            make_thumbnail_later(ref.id, version_id)
    except BaseException:
        await _undo_object(storage, stored)
        raise
    return Filed(doc_id, 1, version_id, dups)


async def add_version(ref: TenantRef, principal: Principal, storage: Storage, doc_id: int,
                      stored: StoredFile) -> Filed:
    """A re-upload: a new version; the older ones stay readable."""
    try:
        require_write(ref, principal)
        async with tenant_tx(ref.schema):
            row = await locked_document(doc_id)
            if row is None or row["status"] != "filed":
                raise NotFound("No such document.")
            version = row["current_version"] + 1
            version_id = await insert_version(doc_id, version, stored, principal.name)
            await Document.update({Document.current_version: version, Document.updated_at: now()}).where(
                Document.id == doc_id).run()
            await changelog.record(_actor("staff", principal.name), "document", "version", row["current_version"],
                                   version, entity_id=doc_id)
            dups = await queries.duplicates(stored.sha256, doc_id, filed_only=False)
            await audit.record("document.version", principal=principal, tenant_id=ref.id,
                               target=f"document:{doc_id}/v{version}",
                               detail={"sha256": stored.sha256, "size": stored.size})
            make_thumbnail_later(ref.id, version_id)
    except BaseException:
        await _undo_object(storage, stored)
        raise
    return Filed(doc_id, version, version_id, dups)


async def update_meta(ref: TenantRef, principal: Principal, doc_id: int, raw: Mapping[str, Any]) -> list[str]:
    require_write(ref, principal)
    meta = clean_meta(raw)
    async with tenant_tx(ref.schema):
        row = await locked_document(doc_id)
        if row is None or row["status"] != "filed":
            raise NotFound("No such document.")
        changed = [k for k in META_FIELDS if row[k] != meta[k]]
        for key in changed:
            await changelog.record(_actor("staff", principal.name), "document", key, row[key], meta[key],
                                   entity_id=doc_id)
        if changed:
            values = {Document._meta.get_column_by_name(k): meta[k] for k in changed}
            await Document.update({**values, Document.updated_at: now()}).where(Document.id == doc_id).run()
            await audit.record("document.update", principal=principal, tenant_id=ref.id,
                               target=f"document:{doc_id}", detail={"fields": changed})
    return changed


# --- catalog ------------------------------------------------------------------------------------

async def catalog(ref: TenantRef, principal: Principal, *, category: str = "", year: int | None = None,
                  page: int = 1, per_page: int = PER_PAGE, audit_view: bool = True) -> dict:
    """The numbered catalog (档案目录) in issue-date order, with filters and counts."""
    portal = principal.is_portal
    if portal and principal.tenant_id != ref.id:
        raise Forbidden()
    filed = Document.status == "filed"
    if portal:
        filed &= Document.visible_to_tenant == True  # noqa: E712 - a Piccolo condition, not a comparison
    async with tenant_tx(ref.schema):
        rows, total = await queries.catalog_page(
            visible_only=portal, category=category if category in CATEGORIES else "", year=year,
            grant_ids=ref.grant_document_ids if ref.via_grant else (), limit=per_page or None,
            offset=(max(page, 1) - 1) * per_page)
        stats = await Document.select(
            Document.category, Count(alias="n"), Min(Document.issue_date, alias="first"),
            Max(Document.issue_date, alias="last")).where(filed).group_by(Document.category).run()
        years = await queries.catalog_years(visible_only=portal)
        if audit_view and principal.is_staff:
            await audit.record("document.catalog", principal=principal, tenant_id=ref.id, target=ref.archive_no,
                               detail={"via_grant": ref.via_grant})
    counts = {r["category"]: r["n"] for r in stats}
    firsts = [r["first"] for r in stats if r["first"]]
    lasts = [r["last"] for r in stats if r["last"]]
    return {"rows": rows, "total": total, "years": years, "counts": counts,
            "date_range": (min(firsts) if firsts else None, max(lasts) if lasts else None)}


# --- one document -------------------------------------------------------------------------------

async def _document(doc_id: int) -> dict | None:
    return await Document.select().where(Document.id == doc_id).first().run()


async def get_document(ref: TenantRef, principal: Principal, doc_id: int, *, audit_view: bool = True) -> dict:
    async with tenant_tx(ref.schema):
        row = await _document(doc_id)
        if row is None or row["status"] == "rejected" and principal.is_staff:
            raise NotFound("No such document.")
        refused = not _may_read_row(ref, principal, row)
    if refused:  # audited outside the rolled-back transaction
        await audit.record("document.view", principal=principal, tenant_id=ref.id, target=f"document:{doc_id}",
                           outcome="refused")
        raise NotFound("No such document.")
    V = DocumentVersion
    async with tenant_tx(ref.schema):
        versions = await V.select(
            V.id, V.version, V.sha256, V.size, V.content_type, V.file_kind, V.original_name, V.thumb_key,
            V.uploaded_by, V.uploaded_at).where(V.document_id == doc_id).order_by(V.version, ascending=False).run()
        changes = []
        if principal.is_staff:
            changes = await ChangeLog.select().where(
                (ChangeLog.entity == "document") & (ChangeLog.entity_id == doc_id)).order_by(
                ChangeLog.at, ChangeLog.id, ascending=False).limit(100).run()
        if audit_view:
            await audit.record("document.view", principal=principal, tenant_id=ref.id, target=f"document:{doc_id}")
    if principal.is_portal:  # the tenant sees the current version only
        versions = versions[:1]
    return {"document": row, "versions": versions, "changes": changes}


@dataclass
class Content:
    document_id: int
    version: int
    title: str
    content_type: str
    file_kind: str
    size: int | None
    extension: str
    body: AsyncIterator[bytes]


EXTENSIONS = {"pdf": "pdf", "jpeg": "jpg", "png": "png", "tiff": "tif", "docx": "docx", "xlsx": "xlsx",
              "pptx": "pptx", "doc": "doc", "xls": "xls", "text": "txt"}


async def _version(doc_id: int, version: int) -> dict | None:
    return await DocumentVersion.select().where(
        (DocumentVersion.document_id == doc_id) & (DocumentVersion.version == version)).first().run()


async def open_content(ref: TenantRef, principal: Principal, storage: Storage, doc_id: int,
                       version: int | None = None, *, thumbnail: bool = False) -> Content:
    """Permission check, audit, then a decrypting stream of the bytes."""
    async with tenant_tx(ref.schema):
        row = await _document(doc_id)
        action = "document.preview" if thumbnail else "document.download"
        refused = row is None or not _may_read_row(ref, principal, row) or (
            principal.is_portal and version is not None and version != row["current_version"])
    if refused:  # audited outside the rolled-back transaction
        await audit.record(action, principal=principal, tenant_id=ref.id, target=f"document:{doc_id}",
                           outcome="refused")
        raise NotFound("No such document.")
    async with tenant_tx(ref.schema):
        v = await _version(doc_id, version or row["current_version"])
        if v is None or (thumbnail and not v["thumb_key"]):
            raise NotFound("No such document.")
        data_key = await keys.data_key(ref.id, storage.master_key, create=False)
        await audit.record(action, principal=principal, tenant_id=ref.id,
                           target=f"document:{doc_id}/v{v['version']}", detail={"via_grant": ref.via_grant})
    if thumbnail:
        body = await storage.stream_plaintext(v["thumb_key"], data_key)
        return Content(doc_id, v["version"], row["title"], "image/png", "png", None, "png", body)
    body = await storage.stream_plaintext(v["object_key"], data_key, v["s3_version_id"])
    return Content(doc_id, v["version"], row["title"], v["content_type"], v["file_kind"], v["size"],
                   EXTENSIONS.get(v["file_kind"], "bin"), body)


async def request_thumbnail(ref: TenantRef, principal: Principal, doc_id: int) -> bool:
    """No preview yet (or its task failed): ask the worker for one, if the caller
    may read the document. Returns whether one was asked for."""
    async with tenant_tx(ref.schema):
        row = await _document(doc_id)
        if row is None or not _may_read_row(ref, principal, row):
            return False
        version = await DocumentVersion.select(DocumentVersion.id).where(
            (DocumentVersion.document_id == doc_id) & (DocumentVersion.version == row["current_version"])).first().run()
        if version is None:
            return False
        make_thumbnail_later(ref.id, version["id"])
    return True
