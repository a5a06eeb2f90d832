"""The tenant file's reads the query builder cannot say; each says why."""

from __future__ import annotations


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
