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

from documents import keys, pending
from documents.storage import Storage, StoredFile, object_key
from portal.core import audit
from portal.core.jobs import on_commit
from portal.core.roles import Perm, Principal, Role
from portal.core.errors import FormErrors, Forbidden, NotFound
from portal.core import params
from tasks.documents import thumbnail as make_thumbnail
from tenants.registry.service import TenantRef
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


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


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


async def log_change(conn, principal_kind: str, actor: str, doc_id: int | None, field: str, old, new,
                     approved_by: str = "") -> None:
    await conn.execute(
        "INSERT INTO change_log (actor_kind, actor_name, approved_by, entity, entity_id, field, old_value, new_value)"
        " VALUES ($1, $2, $3, 'document', $4, $5, $6, $7)",
        principal_kind, actor, approved_by, doc_id, field, _text(old), _text(new))


async def _duplicates(conn, sha256: str, exclude_doc: int) -> list[dict]:
    rows = await conn.fetch(
        "SELECT DISTINCT d.id, d.title, d.status FROM document_version v JOIN document d ON d.id = v.document_id"
        " WHERE v.sha256 = $1 AND d.id <> $2 AND d.status <> 'rejected' ORDER BY d.id", sha256, exclude_doc)
    return [dict(r) for r in rows]


async def insert_version(conn, doc_id: int, version: int, stored: StoredFile, by: str) -> int:
    await pending.settle(conn, stored.key)  # commits with the row, or the sweep removes the object
    return await conn.fetchval(
        "INSERT INTO document_version (document_id, version, object_uid, object_key, s3_version_id, sha256, size,"
        " content_type, file_kind, original_name, uploaded_by) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)"
        " RETURNING id",
        doc_id, version, stored.object_uid, stored.key, stored.version_id, stored.sha256, stored.size,
        stored.kind.content_type, stored.kind.kind, stored.original_name, by)


async def insert_document(conn, meta: Mapping[str, Any], stored: StoredFile, *, source: str, status: str,
                          by_kind: str, by_id: int | None, by_name: str, number: str = "",
                          request_id: int | None = None) -> int:
    pages = meta.get("pages") or stored.kind.pages
    doc_id = await conn.fetchval(
        "INSERT INTO document (uid, category, title, issue_date, received_date, source, number, pages,"
        " paper_location, confidentiality, visible_to_tenant, status, request_id, uploaded_by_kind,"
        " uploaded_by_id, uploaded_by) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16)"
        " RETURNING id",
        uuid.uuid4(), meta["category"], meta["title"], meta.get("issue_date"), meta.get("received_date"), source,
        number, pages, meta.get("paper_location", ""), meta.get("confidentiality", "internal"),
        bool(meta.get("visible_to_tenant")), status, request_id, by_kind, by_id, by_name)
    await insert_version(conn, doc_id, 1, stored, by_name)
    return doc_id


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
        async with tenant_tx(ref.schema) as tx:
            conn = tx.connection
            doc_id = await insert_document(conn, meta, stored, source="staff_upload", status="filed",
                                           by_kind="staff", by_id=principal.user_id, by_name=principal.name)
            await log_change(conn, "staff", principal.name, doc_id, "filed", "", meta["title"])
            dups = await _duplicates(conn, stored.sha256, doc_id)
            version_id = await conn.fetchval("SELECT id FROM document_version WHERE document_id = $1", doc_id)
            on_commit(make_thumbnail, ref.id, version_id)
            await audit.record("document.upload", principal=principal, tenant_id=ref.id, target=f"document:{doc_id}",
                               detail={"sha256": stored.sha256, "size": stored.size, "type": stored.kind.kind,
                                       "duplicate_of": [d["id"] for d in dups]})
    except BaseException:
        await _undo_object(storage, stored)
        raise
    return Filed(doc_id, 1, version_id, dups)


async def add_version(ref: TenantRef, principal: Principal, storage: Storage, doc_id: int,
                      stored: StoredFile) -> Filed:
    """A re-upload: a new version; the older ones stay readable."""
    try:
        require_write(ref, principal)
        async with tenant_tx(ref.schema) as tx:
            conn = tx.connection
            row = await conn.fetchrow("SELECT * FROM document WHERE id = $1 FOR UPDATE", doc_id)
            if row is None or row["status"] != "filed":
                raise NotFound("No such document.")
            version = row["current_version"] + 1
            version_id = await insert_version(conn, doc_id, version, stored, principal.name)
            on_commit(make_thumbnail, ref.id, version_id)
            await conn.execute("UPDATE document SET current_version = $2, updated_at = now() WHERE id = $1",
                               doc_id, version)
            await log_change(conn, "staff", principal.name, doc_id, "version", row["current_version"], version)
            dups = await _duplicates(conn, stored.sha256, doc_id)
            await audit.record("document.version", principal=principal, tenant_id=ref.id,
                               target=f"document:{doc_id}/v{version}",
                               detail={"sha256": stored.sha256, "size": stored.size})
    except BaseException:
        await _undo_object(storage, stored)
        raise
    return Filed(doc_id, version, version_id, dups)


async def update_meta(ref: TenantRef, principal: Principal, doc_id: int, raw: Mapping[str, Any]) -> list[str]:
    require_write(ref, principal)
    meta = clean_meta(raw)
    async with tenant_tx(ref.schema) as tx:
        conn = tx.connection
        row = await conn.fetchrow("SELECT * FROM document WHERE id = $1 FOR UPDATE", doc_id)
        if row is None or row["status"] != "filed":
            raise NotFound("No such document.")
        changed = [k for k in META_FIELDS if row[k] != meta[k]]
        for key in changed:
            await log_change(conn, "staff", principal.name, doc_id, key, row[key], meta[key])
        if changed:
            sets = ", ".join(f"{k} = ${i + 2}" for i, k in enumerate(changed))
            await conn.execute(f"UPDATE document SET {sets}, updated_at = now() WHERE id = $1",
                               doc_id, *(meta[k] for k in changed))
            await audit.record("document.update", principal=principal, tenant_id=ref.id,
                               target=f"document:{doc_id}", detail={"fields": changed})
    return changed


# --- catalog ------------------------------------------------------------------------------------

CATALOG_SQL = """
WITH numbered AS (
    SELECT d.*, row_number() OVER (ORDER BY d.issue_date NULLS LAST, d.id) AS no
    FROM document d WHERE d.status = 'filed' {visible}
)
SELECT n.*, v.size, v.content_type, v.file_kind, v.thumb_key, v.sha256
FROM numbered n JOIN document_version v ON v.document_id = n.id AND v.version = n.current_version
{where} ORDER BY n.no {limit}
"""


async def catalog(ref: TenantRef, principal: Principal, *, category: str = "", year: int | None = None,
                  page: int = 1, per_page: int = PER_PAGE, audit_view: bool = True) -> dict:
    """The numbered catalog (档案目录) in issue-date order, with filters and counts."""
    portal = principal.is_portal
    if portal and principal.tenant_id != ref.id:
        raise Forbidden()
    visible = "AND d.visible_to_tenant" if portal else ""
    where, args = [], []
    if category in CATEGORIES:
        args.append(category)
        where.append(f"n.category = ${len(args)}")
    if year:
        args.append(year)
        where.append(f"extract(year FROM n.issue_date)::int = ${len(args)}")
    if ref.via_grant and ref.grant_document_ids:
        args.append(list(ref.grant_document_ids))
        where.append(f"n.id = ANY(${len(args)}::int[])")
    sql_where = ("WHERE " + " AND ".join(where)) if where else ""
    limit = ""
    if per_page:
        args.extend([per_page, (max(page, 1) - 1) * per_page])
        limit = f"LIMIT ${len(args) - 1} OFFSET ${len(args)}"
    async with tenant_tx(ref.schema) as tx:
        conn = tx.connection
        rows = await conn.fetch(CATALOG_SQL.format(visible=visible, where=sql_where, limit=limit), *args)
        count_sql = CATALOG_SQL.split("SELECT n.*")[0] + "SELECT count(*) FROM numbered n {where}"
        total = await conn.fetchval(count_sql.format(visible=visible, where=sql_where),
                                    *args[: len(args) - (2 if per_page else 0)])
        stats = await conn.fetch(
            f"SELECT category, count(*) AS n, min(issue_date) AS first, max(issue_date) AS last FROM document d"
            f" WHERE status = 'filed' {visible} GROUP BY category")
        years = [r["y"] for r in await conn.fetch(
            f"SELECT DISTINCT extract(year FROM issue_date)::int AS y FROM document d WHERE status = 'filed'"
            f" AND issue_date IS NOT NULL {visible} ORDER BY 1 DESC")]
        if audit_view and principal.is_staff:
            await audit.record("document.catalog", principal=principal, tenant_id=ref.id, target=ref.archive_no,
                               detail={"via_grant": ref.via_grant})
    counts = {r["category"]: r["n"] for r in stats}
    firsts = [r["first"] for r in stats if r["first"]]
    lasts = [r["last"] for r in stats if r["last"]]
    return {"rows": [dict(r) for r in rows], "total": total, "years": years, "counts": counts,
            "date_range": (min(firsts) if firsts else None, max(lasts) if lasts else None)}


# --- one document -------------------------------------------------------------------------------

async def get_document(ref: TenantRef, principal: Principal, doc_id: int, *, audit_view: bool = True) -> dict:
    async with tenant_tx(ref.schema) as tx:
        conn = tx.connection
        row = await conn.fetchrow("SELECT * FROM document WHERE id = $1", doc_id)
        if row is None or row["status"] == "rejected" and principal.is_staff:
            raise NotFound("No such document.")
        if not _may_read_row(ref, principal, row):
            refused = True
        else:
            refused = False
    if refused:  # audited outside the rolled-back transaction
        await audit.record("document.view", principal=principal, tenant_id=ref.id, target=f"document:{doc_id}",
                           outcome="refused")
        raise NotFound("No such document.")
    async with tenant_tx(ref.schema) as tx:
        conn = tx.connection
        versions = await conn.fetch(
            "SELECT id, version, sha256, size, content_type, file_kind, original_name, thumb_key, uploaded_by,"
            " uploaded_at FROM document_version WHERE document_id = $1 ORDER BY version DESC", doc_id)
        changes = []
        if principal.is_staff:
            changes = await conn.fetch(
                "SELECT * FROM change_log WHERE entity = 'document' AND entity_id = $1 ORDER BY at DESC, id DESC"
                " LIMIT 100", doc_id)
        if audit_view:
            await audit.record("document.view", principal=principal, tenant_id=ref.id, target=f"document:{doc_id}")
    versions = [dict(v) for v in versions]
    if principal.is_portal:  # the tenant sees the current version only
        versions = versions[:1]
    return {"document": dict(row), "versions": versions, "changes": [dict(c) for c in changes]}


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


async def open_content(ref: TenantRef, principal: Principal, storage: Storage, doc_id: int,
                       version: int | None = None, *, thumbnail: bool = False) -> Content:
    """Permission check, audit, then a decrypting stream of the bytes."""
    async with tenant_tx(ref.schema) as tx:
        conn = tx.connection
        row = await conn.fetchrow("SELECT * FROM document WHERE id = $1", doc_id)
        action = "document.preview" if thumbnail else "document.download"
        refused = row is None or not _may_read_row(ref, principal, row) or (
            principal.is_portal and version is not None and version != row["current_version"])
    if refused:  # audited outside the rolled-back transaction
        await audit.record(action, principal=principal, tenant_id=ref.id, target=f"document:{doc_id}",
                           outcome="refused")
        raise NotFound("No such document.")
    async with tenant_tx(ref.schema) as tx:
        conn = tx.connection
        v = await conn.fetchrow("SELECT * FROM document_version WHERE document_id = $1 AND version = $2",
                                doc_id, version or row["current_version"])
        if v is None or (thumbnail and not v["thumb_key"]):
            raise NotFound("No such document.")
        data_key = await keys.data_key(ref.id, storage.master_key, create=False, conn=conn)
        await audit.record(action, principal=principal, tenant_id=ref.id,
                           target=f"document:{doc_id}/v{v['version']}", detail={"via_grant": ref.via_grant})
    if thumbnail:
        body = await storage.stream_plaintext(v["thumb_key"], data_key)
        return Content(doc_id, v["version"], row["title"], "image/png", "png", None, "png", body)
    body = await storage.stream_plaintext(v["object_key"], data_key, v["s3_version_id"])
    return Content(doc_id, v["version"], row["title"], v["content_type"], v["file_kind"], v["size"],
                   EXTENSIONS.get(v["file_kind"], "bin"), body)


def new_object_key(tenant_id: int) -> tuple[uuid.UUID, str]:
    uid = uuid.uuid4()
    return uid, object_key(tenant_id, uid)


async def current_version_id(ref: TenantRef, principal: Principal, doc_id: int) -> int | None:
    """Row id of the current version, if the caller may read the document."""
    async with tenant_tx(ref.schema) as tx:
        row = await tx.connection.fetchrow(
            "SELECT d.*, v.id AS version_row FROM document d JOIN document_version v ON v.document_id = d.id"
            " AND v.version = d.current_version WHERE d.id = $1", doc_id)
    if row is None or not _may_read_row(ref, principal, row):
        return None
    return row["version_row"]
