"""Which tenant files a lending request may name, and who may see them.

A request names only files the requester may see (their buildings); anything
else is 404 as everywhere. The one exception is the explicit kind 'outside'
(access to a file outside my buildings, seed 001 §九 3): it names files by
archive number only, is approved by the leadership and read in the archive's
company; the names of those files are shown only to people who may see them
anyway or who approve such requests.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from documents.lending_queries import filed_documents_matching, tenants_named
from documents.tables import Document, LoanItem
from portal.core.errors import FormErrors, NotFound
from portal.core.roles import LEADERSHIP, Perm, Principal
from tenants.registry.service import ref_for_staff
from tenants.registry.tables import Tenant
from tenants.registry.visibility import scope_ids
from tenants.scope import tenant_tx

OUTSIDE = "outside"
MAX_INT = 2**31 - 1
PICK_LIMIT = 20


def _parts(raw) -> list[str]:
    """Values from checkboxes (a list) and/or comma-separated text."""
    text = ",".join(map(str, raw)) if isinstance(raw, (list, tuple)) else str(raw or "")
    return [p.strip() for p in text.replace("，", ",").replace(" ", ",").split(",") if p.strip()]


def split_ids(raw) -> list[int]:
    """Ids as integers; ValueError on anything that is not one."""
    out = set()
    for part in _parts(raw):
        if not (part.isascii() and part.isdigit()) or int(part) > MAX_INT:
            raise ValueError(part)
        out.add(int(part))
    return sorted(out)


def split_archive_nos(raw) -> list[str]:
    return sorted({p.upper()[:40] for p in _parts(raw)})


def clean_query(q: str) -> str:
    """Search text without control characters (PostgreSQL refuses NUL) and LIKE wildcards escaped."""
    text = "".join(c for c in str(q or "") if c.isprintable()).strip()[:60]
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def is_approver_of_outside(principal: Principal) -> bool:
    return principal.is_staff and bool(principal.roles & LEADERSHIP)


def may_see_name(principal: Principal, item: Mapping, mode: str) -> bool:
    return principal.may_see_tenant(item["building_ids"]) or (mode == OUTSIDE and is_approver_of_outside(principal))


def masked(principal: Principal, items: Iterable[Mapping], mode: str) -> list[dict]:
    """Items with the tenant name and document titles blanked where this person may not read them."""
    out = []
    for item in items:
        row = dict(item)
        row["name_hidden"] = not may_see_name(principal, row, mode)
        if row["name_hidden"]:
            row["name"] = ""
            row["document_titles"] = []
        out.append(row)
    return out


def require_scope(principal: Principal, loan: Mapping, items: Iterable[Mapping]) -> None:
    """Every workflow step: the person acting must see every file the loan names
    (404 otherwise). For the 'outside' kind the borrower and the leadership act
    without it; the archive people who accompany see every building anyway."""
    if loan["mode"] == OUTSIDE and (loan["borrower_id"] == principal.user_id or is_approver_of_outside(principal)):
        return
    if not all(principal.may_see_tenant(i["building_ids"]) for i in items):
        raise NotFound("No such loan.")


async def loan_items(loan_ids: list[int]) -> list[dict]:
    """The files of these loans, each with its tenant's name, archive number and buildings."""
    if not loan_ids:
        return []
    items = await LoanItem.select(LoanItem.loan_id, LoanItem.tenant_id, LoanItem.document_ids,
                                  LoanItem.document_titles).where(LoanItem.loan_id.is_in(loan_ids)).run()
    if not items:
        return []
    tenants = {t["id"]: t for t in await Tenant.select(Tenant.id, Tenant.name, Tenant.archive_no,
                                                       Tenant.building_ids).where(
        Tenant.id.is_in(sorted({i["tenant_id"] for i in items}))).run()}
    rows = [{**i, **{k: v for k, v in tenants[i["tenant_id"]].items() if k != "id"}} for i in items]
    return sorted(rows, key=lambda r: (r["loan_id"], r["archive_no"]))


async def resolve(principal: Principal, raw: Mapping[str, Any], mode: str, errors: dict) -> list[dict]:
    """The tenant rows a request names (checkbox ids and typed archive numbers).

    Ordinary kinds: an id outside the requester's buildings is 404 and saves
    nothing; a typed archive number that is unknown *or* out of scope is the same
    422 (so typing numbers reveals nothing). The 'outside' kind takes only files
    outside one's buildings."""
    try:
        ids = split_ids(raw.get("tenant_ids"))
    except ValueError:
        errors["tenant_ids"] = "Pick the tenant files from the list."
        return []
    numbers = split_archive_nos(raw.get("archive_nos"))
    rows = await tenants_named(ids, numbers)
    found_ids = {r["id"] for r in rows}
    by_number = {r["archive_no"].upper(): r for r in rows}
    if mode == OUTSIDE:
        if set(ids) - found_ids or set(numbers) - set(by_number):
            errors["archive_nos"] = "No tenant file has one of these archive numbers."
        elif any(principal.may_see_tenant(r["building_ids"]) for r in rows):
            errors["archive_nos"] = "One of these files is in your buildings: ask for an ordinary loan."
    else:
        if any(not principal.may_see_tenant(r["building_ids"]) for r in rows if r["id"] in ids) or set(ids) - found_ids:
            raise NotFound("No such tenant.")
        if any(n not in by_number or not principal.may_see_tenant(by_number[n]["building_ids"]) for n in numbers):
            errors["archive_nos"] = ("No file with this archive number in your buildings. For a file outside them,"
                                     " choose the kind 'Access to a file outside my buildings'.")
    if not rows and "archive_nos" not in errors:
        errors["tenant_ids"] = "Name at least one tenant file."
    return sorted(rows, key=lambda r: r["id"])


async def document_titles(principal: Principal, tenant_id: int, document_ids: list[int]) -> list[str]:
    """Titles of the chosen filed documents of one visible file; 422 if one is not there."""
    ref = await ref_for_staff(principal, tenant_id)
    async with tenant_tx(ref.schema):
        rows = await Document.select(Document.id, Document.title).where(
            (Document.status == "filed") & Document.id.is_in(document_ids)).run()
    if len(rows) != len(document_ids):
        raise FormErrors({"document_ids": "One of these documents is not in the file."})
    titles = {r["id"]: r["title"] for r in rows}
    return [titles[i] for i in document_ids]


async def search_tenants(principal: Principal, q: str) -> list[dict]:
    """Tenant files this person may see whose archive number or name matches (search-as-you-type)."""
    text = clean_query(q)
    if not text or not principal.can(Perm.TENANT_READ):
        return []
    query = Tenant.select(Tenant.id, Tenant.name, Tenant.archive_no).where(
        Tenant.active.eq(True) & (Tenant.archive_no.ilike(text + "%") | Tenant.name.ilike("%" + text + "%")))
    scope = scope_ids(principal)
    if scope is not None:
        query = query.where(Tenant.building_ids.overlap(scope))
    return await query.order_by(Tenant.archive_no).limit(PICK_LIMIT).run()


async def tenants_by_ids(principal: Principal, ids: list[int]) -> list[dict]:
    """The chosen files (to show them ticked again); ones this person may not see are left out."""
    if not ids:
        return []
    rows = await Tenant.select(Tenant.id, Tenant.name, Tenant.archive_no, Tenant.building_ids).where(
        Tenant.id.is_in(ids)).order_by(Tenant.archive_no).run()
    return [r for r in rows if principal.may_see_tenant(r["building_ids"])]


async def search_documents(principal: Principal, tenant_id: int, q: str, chosen: list[int]) -> list[dict]:
    """Filed documents of one file this person may see, by title (the ticked ones always)."""
    ref = await ref_for_staff(principal, tenant_id)
    text = clean_query(q)
    async with tenant_tx(ref.schema):
        return await filed_documents_matching("%" + text + "%", chosen, PICK_LIMIT)
