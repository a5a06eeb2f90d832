"""The archive's SQL that Piccolo's query builder cannot say.

Everything else goes through the table classes in ``documents.tables``. These
run on the open transaction's connection (``tenant_tx`` / ``DB.transaction``),
or on the pool where noted. ``document_version.document_id`` is declared as a
plain integer (the tables have no ForeignKey columns), so the builder cannot
join the two document tables: joins between them live here.
"""

from __future__ import annotations

from typing import Sequence

from portal.core.db import DB
from portal.core.roles import Principal
from tenants.registry.visibility import in_scope


def _conn():
    tx = DB.current_transaction.get()
    if tx is None:
        raise RuntimeError("documents.queries needs an open transaction")
    return tx.connection


async def rewrap_keys(updates: Sequence[tuple[int, bytes, str]]) -> None:
    # executemany: one round trip per batch, where the builder would send one UPDATE per key.
    await _conn().executemany(
        "UPDATE core.tenant_key SET wrapped_key = $2, master_key_id = $3, rotated_at = now()"
        " WHERE tenant_id = $1", updates)


async def search_path() -> str:
    # A session setting, not a table: the builder has no form for current_setting().
    return await _conn().fetchval("SELECT current_setting('search_path')")


async def duplicates(sha256: str, exclude_doc: int, *, filed_only: bool) -> list[dict]:
    # Join document_version -> document (no ForeignKey for the builder).
    status = "d.status = 'filed'" if filed_only else "d.status <> 'rejected'"
    rows = await _conn().fetch(
        "SELECT DISTINCT d.id, d.title, d.status FROM document_version v JOIN document d ON d.id = v.document_id"
        f" WHERE v.sha256 = $1 AND d.id <> $2 AND {status} ORDER BY d.id", sha256, exclude_doc)
    return [dict(r) for r in rows]


_NUMBERED = """
WITH numbered AS (
    SELECT d.*, row_number() OVER (ORDER BY d.issue_date NULLS LAST, d.id) AS no
    FROM document d WHERE d.status = 'filed' {visible}
)
"""


def _catalog_filters(category: str, year: int | None, grant_ids: Sequence[int]) -> tuple[str, list]:
    where, args = [], []
    if category:
        args.append(category)
        where.append(f"n.category = ${len(args)}")
    if year:
        args.append(year)
        where.append(f"extract(year FROM n.issue_date)::int = ${len(args)}")
    if grant_ids:
        args.append(list(grant_ids))
        where.append(f"n.id = ANY(${len(args)}::int[])")
    return ("WHERE " + " AND ".join(where)) if where else "", args


async def catalog_page(*, visible_only: bool, category: str, year: int | None, grant_ids: Sequence[int],
                       limit: int | None, offset: int) -> tuple[list[dict], int]:
    # row_number() window numbers the catalog over all filed documents before filtering;
    # the count shares the same CTE.
    cte = _NUMBERED.format(visible="AND d.visible_to_tenant" if visible_only else "")
    where, args = _catalog_filters(category, year, grant_ids)
    page = ""
    if limit:
        page = f"LIMIT ${len(args) + 1} OFFSET ${len(args) + 2}"
    conn = _conn()
    rows = await conn.fetch(
        cte + "SELECT n.*, v.size, v.content_type, v.file_kind, v.thumb_key, v.sha256 FROM numbered n"
        f" JOIN document_version v ON v.document_id = n.id AND v.version = n.current_version {where}"
        f" ORDER BY n.no {page}", *args, *((limit, offset) if limit else ()))
    total = await conn.fetchval(cte + f"SELECT count(*) FROM numbered n {where}", *args)
    return [dict(r) for r in rows], total


async def catalog_years(*, visible_only: bool) -> list[int]:
    # DISTINCT extract(year)::int ordered by it: the builder cannot order by a function expression.
    visible = "AND visible_to_tenant" if visible_only else ""
    rows = await _conn().fetch(
        "SELECT DISTINCT extract(year FROM issue_date)::int AS y FROM document WHERE status = 'filed'"
        f" AND issue_date IS NOT NULL {visible} ORDER BY 1 DESC")
    return [r["y"] for r in rows]


async def portal_uploads(limit: int = 200) -> list[dict]:
    # Join document -> its first version (no ForeignKey for the builder).
    rows = await _conn().fetch(
        "SELECT d.id, d.title, d.category, d.status, d.reject_reason, d.created_at, d.decided_at,"
        " d.visible_to_tenant, v.size, v.original_name FROM document d JOIN document_version v"
        " ON v.document_id = d.id AND v.version = 1 WHERE d.source = 'portal_upload' ORDER BY d.created_at DESC"
        " LIMIT $1", limit)
    return [dict(r) for r in rows]


async def with_first_version(doc_id: int) -> dict | None:
    # Join document -> its first version (no ForeignKey for the builder).
    row = await _conn().fetchrow(
        "SELECT d.*, v.size, v.content_type, v.file_kind, v.original_name, v.sha256 FROM document d"
        " JOIN document_version v ON v.document_id = d.id AND v.version = 1 WHERE d.id = $1", doc_id)
    return dict(row) if row is not None else None


async def current_files(document_ids: Sequence[int]) -> list[dict]:
    # Join document -> its current version (no ForeignKey for the builder); empty ids = all.
    rows = await _conn().fetch(
        "SELECT d.id, d.title, d.issue_date, v.object_key, v.s3_version_id, v.file_kind FROM document d"
        " JOIN document_version v ON v.document_id = d.id AND v.version = d.current_version"
        " WHERE d.status = 'filed' AND (cardinality($1::int[]) = 0 OR d.id = ANY($1::int[]))"
        " ORDER BY d.issue_date NULLS LAST, d.id", list(document_ids))
    return [dict(r) for r in rows]


async def pending_reviews(kind: str, principal: Principal) -> list[dict]:
    # On the pool. Join review_item -> tenant and array overlap (&&): neither has a builder form.
    args: list = [kind]
    scoped = in_scope(principal, args)
    extra = f" AND {scoped}" if scoped else ""
    rows = await DB.pool.fetch(
        "SELECT r.*, t.name AS tenant_name, t.archive_no FROM core.review_item r JOIN core.tenant t ON t.id = r.tenant_id"
        f" WHERE r.kind = $1 AND r.status = 'pending'{extra} ORDER BY r.submitted_at", *args)
    return [dict(r) for r in rows]


async def export_with_borrower(uid) -> dict | None:
    # On the pool. Join export -> loan (no ForeignKey for the builder).
    row = await DB.pool.fetchrow(
        "SELECT e.*, l.borrower_id FROM core.export e JOIN core.loan l ON l.id = e.loan_id WHERE e.uid = $1", uid)
    return dict(row) if row is not None else None


async def exports(borrower_id: int | None, limit: int = 200) -> list[dict]:
    # On the pool. Join export -> loan (no ForeignKey for the builder); None = everyone's.
    where, args = ("WHERE l.borrower_id = $2", [borrower_id]) if borrower_id is not None else ("", [])
    rows = await DB.pool.fetch(
        "SELECT e.*, l.borrower_name, l.status AS loan_status FROM core.export e JOIN core.loan l ON l.id = e.loan_id"
        f" {where} ORDER BY e.created_at DESC LIMIT $1", limit, *args)
    return [dict(r) for r in rows]
