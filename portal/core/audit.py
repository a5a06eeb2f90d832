"""The append-only audit log in ``core`` (the table refuses UPDATE/DELETE).

``record`` joins the caller's transaction when there is one, so an audited
change and its audit row commit or roll back together.
"""

from __future__ import annotations

import json
from typing import Any, AsyncIterator

from portal.core.roles import Principal
from portal.core.db import DB

INSERT = (
    "INSERT INTO core.audit_log (actor_kind, actor_id, actor_name, action, outcome, tenant_id, target, detail, ip)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9)"
)


async def record(
    action: str,
    *,
    principal: Principal | None = None,
    actor_name: str = "",
    tenant_id: int | None = None,
    target: str = "",
    outcome: str = "ok",
    ip: str = "",
    detail: dict[str, Any] | None = None,
) -> None:
    args = (
        principal.kind if principal else "anonymous",
        principal.user_id if principal else None,
        principal.name if principal else actor_name,
        action,
        outcome,
        tenant_id,
        target,
        json.dumps(detail or {}, ensure_ascii=False, default=str),
        ip,
    )
    tx = DB.current_transaction.get()
    if tx is not None:
        await tx.connection.execute(INSERT, *args)
    else:
        await DB.pool.execute(INSERT, *args)


def _where(
    *, action: str = "", actor: str = "", tenant_id: int | None = None, outcome: str = "", since=None, until=None,
) -> tuple[list[str], list]:
    """The WHERE clauses and their arguments shared by ``search`` and ``iter_rows``."""
    where: list[str] = []
    args: list = []

    def add(clause: str, value) -> None:
        args.append(value)
        where.append(clause.format(n=len(args)))

    if action:
        add("action LIKE ${n}", action.rstrip("*") + "%")
    if actor:
        add("actor_name ILIKE ${n}", f"%{actor}%")
    if tenant_id:
        add("tenant_id = ${n}", tenant_id)
    if outcome:
        add("outcome = ${n}", outcome)
    if since:
        add("at >= ${n}", since)
    if until:
        add("at < ${n}", until)
    return where, args


async def search(
    *,
    action: str = "",
    actor: str = "",
    tenant_id: int | None = None,
    outcome: str = "",
    since=None,
    until=None,
    page: int = 1,
    per_page: int = 50,
) -> tuple[list[dict], int]:
    """Filtered, newest first. Returns (rows, total)."""
    where, args = _where(action=action, actor=actor, tenant_id=tenant_id, outcome=outcome, since=since, until=until)
    sql_where = ("WHERE " + " AND ".join(where)) if where else ""
    total = await DB.pool.fetchval(f"SELECT count(*) FROM core.audit_log {sql_where}", *args)
    args.extend([per_page, (page - 1) * per_page])
    rows = await DB.pool.fetch(
        f"SELECT * FROM core.audit_log {sql_where} ORDER BY at DESC, id DESC"
        f" LIMIT ${len(args) - 1} OFFSET ${len(args)}",
        *args,
    )
    return [dict(r) for r in rows], total


async def iter_rows(*, batch: int = 1000, **filters) -> AsyncIterator[dict]:
    """Every row matching ``filters`` (as for ``search``), newest first, fetched
    in keyset-paged batches so an export holds no connection between batches
    and rows written meanwhile neither shift nor repeat."""
    last: tuple | None = None
    while True:
        where, args = _where(**filters)
        if last is not None:
            args.extend(last)
            where.append(f"(at, id) < (${len(args) - 1}, ${len(args)})")
        sql_where = ("WHERE " + " AND ".join(where)) if where else ""
        args.append(batch)
        rows = await DB.pool.fetch(
            f"SELECT * FROM core.audit_log {sql_where} ORDER BY at DESC, id DESC LIMIT ${len(args)}", *args
        )
        for row in rows:
            yield dict(row)
        if len(rows) < batch:
            return
        last = (rows[-1]["at"], rows[-1]["id"])


async def sign_in_problems(since) -> dict[str, dict[str, int]]:
    """Failed and locked-out sign-ins since ``since``, per face:
    ``{"staff": {"failed": n, "locked": m}, "portal": {...}}`` (for the weekly login-log review)."""
    rows = await DB.pool.fetch(
        "SELECT split_part(action, '.', 1) AS face, outcome, count(*) AS n FROM core.audit_log"
        " WHERE action IN ('staff.login', 'portal.login') AND outcome IN ('failed', 'locked') AND at >= $1"
        " GROUP BY 1, 2",
        since,
    )
    out = {face: {"failed": 0, "locked": 0} for face in ("staff", "portal")}
    for row in rows:
        out[row["face"]][row["outcome"]] = row["n"]
    return out
