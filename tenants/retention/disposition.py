"""The disposition list (处置清单): files and document categories whose
retention ended, each with its reason (class, years, last business date, end).

The monthly task builds it: one scan over ``core`` picks the candidates
(``queries.scan``: files where any period could have ended; the legal-hold
predicate ``queries.not_held`` applies there), then each candidate's document
categories are counted in its own schema and ``rules.assess`` decides. The
items are stored as a run so archivists page, filter and export one list;
destruction requests (``tenants/destruction``) are chosen from it.
"""

from __future__ import annotations

import csv
import datetime as dt
import io

import asyncpg

from piccolo.query.functions.aggregate import Count

from documents.tables import Document
from portal.core import audit
from portal.core.db import DB
from portal.core.errors import NotFound
from portal.core.roles import Perm, Principal
from portal.core.workdays import now, today
from tenants.registry.visibility import scope_ids
from tenants.retention import queries, rules
from tenants.retention.service import class_years, need
from tenants.retention.tables import DispositionItem, DispositionRun
from tenants.scope import check_schema, tenant_tx

KINDS = {"": "Everything", "file": "Whole files", "documents": "Document groups"}
PER_PAGE = 50


async def held_categories(schema: str) -> dict[str, int] | None:
    """Document category -> documents the file holds; None when the schema is
    gone (a destroyed file's tombstone has nothing left to dispose of)."""
    try:
        async with tenant_tx(check_schema(schema)):
            rows = await Document.select(Document.category, Count(Document.id, alias="n")).group_by(
                Document.category).run()
    except asyncpg.exceptions.UndefinedTableError:
        return None
    return {r["category"]: r["n"] for r in rows}


async def categories_of(schema: str, document_ids: set[int]) -> set[str]:
    """The categories of the file's documents under legal hold (kept off the list with their groups)."""
    async with tenant_tx(check_schema(schema)):
        rows = await Document.select(Document.category).where(Document.id.is_in(sorted(document_ids))).distinct().run()
    return {r["category"] for r in rows}


async def build(as_of: dt.date | None = None, built_by: str = "beat") -> int:
    """Build a new run of the list; returns its id. Re-running the same month
    builds a fresh run (the list is a snapshot; the newest one is shown)."""
    as_of = as_of or today()
    years = await class_years()
    items: list[tuple[int, rules.Item]] = []
    candidates = await queries.scan(as_of)
    document_holds = await queries.document_holds([r["id"] for r in candidates])
    for row in candidates:
        held = await held_categories(row["schema_name"])
        if held is None:
            continue
        found = rules.assess(row["last_business_on"], row["level"], held, years, as_of)
        if found and row["id"] in document_holds:
            held_cats = await categories_of(row["schema_name"], document_holds[row["id"]])
            found = rules.without_held(found, row["level"], held, years, held_cats)
        for item in found:
            items.append((row["id"], item))
    files = sum(1 for _, item in items if item.category is None)
    async with DB.transaction():
        [run] = await DispositionRun.insert(DispositionRun(
            as_of=as_of, built_at=now(), built_by=built_by, files=files,
            document_groups=len(items) - files)).returning(DispositionRun.id).run()
        if items:
            await DispositionItem.insert(*(DispositionItem(
                run_id=run["id"], tenant_id=tenant_id, category=item.category, class_key=item.class_key,
                years=item.years, last_business_on=item.last_business_on, ends_on=item.ends_on,
                documents=item.documents) for tenant_id, item in items)).run()
        requested_by = "" if built_by in ("beat", "system") else built_by
        await audit.record("retention.disposition.build", actor_name="retention", target=f"run:{run['id']}",
                           detail={"files": files, "document_groups": len(items) - files,
                                   "requested_by": requested_by})
    return run["id"]


async def latest_run() -> dict | None:
    return await DispositionRun.select().order_by(DispositionRun.id, ascending=False).first().run()


async def page(principal: Principal, *, kind: str = "", level: int | None = None, q: str = "",
               page_no: int = 1, per_page: int = PER_PAGE) -> dict:
    """One page of the newest list, in the reader's buildings."""
    need(principal, Perm.RETENTION_MANAGE)
    run = await latest_run()
    if run is None:
        return {"run": None, "rows": [], "total": 0, "held": []}
    rows, total = await queries.items(run["id"], kind=kind if kind in KINDS else "", level=level, q=q.strip(),
                                      scope=scope_ids(principal), limit=per_page,
                                      offset=(max(page_no, 1) - 1) * per_page)
    held = await queries.held_due(run["as_of"], scope_ids(principal))
    return {"run": run, "rows": rows, "total": total, "held": held}


async def item_row(item_id: int) -> dict | None:
    """One line of a list with its run's date (None when there is no such line)."""
    if not 0 < item_id < 2**63:
        return None
    row = await DispositionItem.select().where(DispositionItem.id == item_id).first().run()
    if row is None:
        return None
    run = await DispositionRun.select(DispositionRun.as_of).where(DispositionRun.id == row["run_id"]).first().run()
    return {**row, "as_of": run["as_of"]}


async def group_documents(schema: str, category: str) -> list[int]:
    """The numbers of a document group's documents, as the file holds them now."""
    async with tenant_tx(check_schema(schema)):
        docs = await Document.select(Document.id).where(Document.category == category).order_by(Document.id).run()
    return [d["id"] for d in docs]


async def item(item_id: int, principal: Principal) -> dict:
    """One line of a list, for a destruction request chosen from it (404 outside one's buildings),
    with the document numbers of a document group."""
    from tenants.registry.service import ref_for_staff

    need(principal, Perm.RETENTION_MANAGE)
    row = await item_row(item_id)
    if row is None:
        raise NotFound("This line is no longer on the disposition list.")
    ref = await ref_for_staff(principal, row["tenant_id"])
    row.update(archive_no=ref.archive_no, name=ref.name, document_ids=[])
    if row["category"] is not None:
        row["document_ids"] = await group_documents(ref.schema, row["category"])
    return row


async def csv_text(principal: Principal, labels, *, kind: str = "", level: int | None = None, q: str = "") -> str:
    """The whole filtered list as CSV (UTF-8 with BOM for spreadsheets).
    ``labels(row)`` gives the localized (what, class) texts of a row."""
    need(principal, Perm.RETENTION_MANAGE)
    run = await latest_run()
    out = io.StringIO()
    writer = csv.writer(out)
    header, rows = labels(None), []
    if run is not None:
        rows, _ = await queries.items(run["id"], kind=kind if kind in KINDS else "", level=level, q=q.strip(),
                                      scope=scope_ids(principal), limit=None, offset=0)
    writer.writerow(header)
    for row in rows:
        writer.writerow(labels(row))
    await audit.record("retention.disposition.export", principal=principal, target=f"run:{run['id']}" if run else "",
                       detail={"rows": len(rows)})
    return "\ufeff" + out.getvalue()
