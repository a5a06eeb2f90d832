"""The SQL of lending that Piccolo's query builder cannot say (or may not, by the layers)."""

from __future__ import annotations

from piccolo.columns.combination import WhereRaw

from documents.tables import Document
from portal.core.db import DB
from tenants.registry.tables import Tenant


async def staff_department(staff_id: int) -> str:
    """The requester's department. Raw: core.staff_user's table class lives in
    portal.accounts, which a domain may not import."""
    return await DB.pool.fetchval("SELECT department FROM core.staff_user WHERE id = $1", staff_id) or ""


async def filed_documents_matching(pattern: str, chosen: list[int], limit: int) -> list[dict]:
    """Filed documents whose title matches (ILIKE ``pattern``), the ``chosen`` ones
    always and first, then the newest; inside the caller's tenant_tx. Raw: the
    builder cannot order by an expression (chosen first) nor put NULLs last."""
    return await Document.raw(
        "SELECT id, title, issue_date FROM document WHERE status = 'filed' AND (title ILIKE {} OR id = ANY({}))"
        " ORDER BY id = ANY({}) DESC, issue_date DESC NULLS LAST, id DESC LIMIT {}",
        pattern, chosen, chosen, limit).run()


async def tenants_named(ids: list[int], archive_nos: list[str]) -> list[dict]:
    """Tenant files by id or by archive number in any case. Raw condition: the
    builder cannot compare upper(column) with a list."""
    by_number = WhereRaw("upper(archive_no) = ANY({})", archive_nos)
    return await Tenant.select(Tenant.id, Tenant.name, Tenant.archive_no, Tenant.building_ids).where(
        (Tenant.id.is_in(ids) | by_number) if ids else by_number).run()
