"""The tenant file's reads the query builder cannot say; each says why."""

from __future__ import annotations

from portal.core.db import execute


async def change_page(conn, page: int, per_page: int) -> tuple[list[dict], int]:
    """One page of the change log and the total count in one query: the count
    rides along as a window function; a second query only past the last page."""
    offset = (max(page, 1) - 1) * per_page
    rows = await conn.fetch(
        "SELECT *, count(*) OVER () AS _total FROM change_log ORDER BY at DESC, id DESC LIMIT $1 OFFSET $2",
        per_page, offset,
    )
    changes = [dict(r) for r in rows]
    total = 0
    for change in changes:
        total = change.pop("_total")
    if not changes and offset:
        total = await conn.fetchval("SELECT count(*) FROM change_log")
    return changes, total


async def insert_change(actor_kind: str, actor_name: str, approved_by: str, entity: str, entity_id: int | None,
                        field: str, old_value: str | None, new_value: str | None, request_id: int | None) -> None:
    """One change-log row: a fixed text, because every ledger change and every
    billed tenant writes one (the builder's insert cost ~0.15 ms of CPU each)."""
    await execute(
        "INSERT INTO change_log (actor_kind, actor_name, approved_by, entity, entity_id, field, old_value,"
        " new_value, request_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        actor_kind, actor_name, approved_by, entity, entity_id, field, old_value, new_value, request_id)
