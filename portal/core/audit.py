"""The append-only audit log in ``core`` (the table refuses UPDATE/DELETE).

``record`` joins the caller's transaction when there is one, so an audited
change and its audit row commit or roll back together.
"""

from __future__ import annotations

import json
from typing import Any, AsyncIterator

from piccolo.query.functions.aggregate import Count

from portal.core.db import db_now
from portal.core.roles import Principal
from portal.core.tables import AuditLog


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
    # Piccolo runs the insert on the caller's transaction when there is one, on the pool otherwise.
    await AuditLog.insert(AuditLog(
        at=db_now(),
        actor_kind=principal.kind if principal else "anonymous",
        actor_id=principal.user_id if principal else None,
        actor_name=principal.name if principal else actor_name,
        action=action,
        outcome=outcome,
        tenant_id=tenant_id,
        target=target,
        detail=json.dumps(detail or {}, ensure_ascii=False, default=str),
        ip=ip,
    )).run()


def _where(
    *, action: str = "", actor: str = "", tenant_id: int | None = None, outcome: str = "", since=None, until=None,
) -> list:
    """The conditions shared by ``search`` and ``iter_rows``."""
    A = AuditLog
    where: list = []
    if action:
        where.append(A.action.like(action.rstrip("*") + "%"))
    if actor:
        where.append(A.actor_name.ilike(f"%{actor}%"))
    if tenant_id:
        where.append(A.tenant_id == tenant_id)
    if outcome:
        where.append(A.outcome == outcome)
    if since:
        where.append(A.at >= since)
    if until:
        where.append(A.at < until)
    return where


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
    A = AuditLog
    where = _where(action=action, actor=actor, tenant_id=tenant_id, outcome=outcome, since=since, until=until)
    total = await A.count().where(*where).run()
    rows = await A.select().where(*where).order_by(A.at, A.id, ascending=False).limit(per_page).offset(
        (page - 1) * per_page).run()
    return rows, total


async def iter_rows(*, batch: int = 1000, **filters) -> AsyncIterator[dict]:
    """Every row matching ``filters`` (as for ``search``), newest first, fetched
    in keyset-paged batches so an export holds no connection between batches
    and rows written meanwhile neither shift nor repeat."""
    A = AuditLog
    last: tuple | None = None
    while True:
        where = _where(**filters)
        if last is not None:
            at, row_id = last
            # (at, id) < (last at, last id), spelled so that ``at <= ...`` can use the index on ``at``.
            where.append((A.at <= at) & ((A.at < at) | (A.id < row_id)))
        rows = await A.select().where(*where).order_by(A.at, A.id, ascending=False).limit(batch).run()
        for row in rows:
            yield row
        if len(rows) < batch:
            return
        last = (rows[-1]["at"], rows[-1]["id"])


async def sign_in_problems(since) -> dict[str, dict[str, int]]:
    """Failed and locked-out sign-ins since ``since``, per face:
    ``{"staff": {"failed": n, "locked": m}, "portal": {...}}`` (for the weekly login-log review)."""
    A = AuditLog
    rows = await A.select(A.action, A.outcome, Count()).where(
        A.action.is_in(["staff.login", "portal.login"]), A.outcome.is_in(["failed", "locked"]), A.at >= since,
    ).group_by(A.action, A.outcome).run()
    out = {face: {"failed": 0, "locked": 0} for face in ("staff", "portal")}
    for row in rows:
        out[row["action"].split(".", 1)[0]][row["outcome"]] = row["count"]
    return out
