"""Retention in the console: the retention classes, the disposition list (with
its CSV), the restricted archive view of dormant files and their reactivation.

Archivists and the leadership only (``Perm.RETENTION_MANAGE`` /
``Perm.ARCHIVE_OPEN``); every change is audited by ``tenants.retention``.
"""

from __future__ import annotations

from litestar import Request, get, post
from litestar.response import Redirect, Response, Template

from documents.service import CATEGORIES
from portal import events
from portal.core import jobs
from portal.core.errors import Conflict, FormErrors, NotFound
from portal.core.i18n import gettext
from portal.core.roles import Perm
from portal.core.workdays import today
from portal.routes.forms import form_dict, int_or_none, page_number
from portal.web.render import form_errors, render, requires
from portal.web.tenancy import Tenant
from tasks import retention as retention_tasks
from tenants.file.forms import LEVEL_LABELS
from tenants.retention import disposition, service

MANAGE = [requires(Perm.RETENTION_MANAGE)]
ARCHIVE = [requires(Perm.ARCHIVE_OPEN)]
PER_PAGE = disposition.PER_PAGE


def _class_choices() -> dict[str, str]:
    out = {f"level:{n}": label for n, label in LEVEL_LABELS.items()}
    out.update({f"category:{c}": label for c, label in CATEGORIES.items()})
    return out


def _label(key: str) -> str:
    return service.class_label(key, CATEGORIES)


def _class_text(key: str) -> str:
    """A class as the reader's language says it: 'Tenant level: Normal', 'Document category: ID copies'."""
    if key.startswith("level:"):
        return gettext("Tenant level: %(level)s") % {"level": gettext(_label(key))}
    return gettext("Document category: %(category)s") % {"category": gettext(_label(key))}


async def _classes_page(request: Request, *, values: dict, errors: dict, status_code: int = 200) -> Template:
    return render("console/retention/classes.html", status_code=status_code, principal=request.state.principal,
                  rows=await service.classes(), class_text=_class_text, choices=_class_choices(), values=values,
                  errors=errors)


@get("/console/retention", guards=MANAGE)
async def classes_page(request: Request) -> Template:
    return await _classes_page(request, values={}, errors={})


@post("/console/retention/classes", guards=MANAGE)
async def class_save(request: Request) -> Response:
    data = await form_dict(request)
    try:
        key = await service.save_class(data, request.state.principal, CATEGORIES)
    except FormErrors as exc:
        values = {k: str(data.get(k) or "") for k in ("key", "years", "basis")}
        return await _classes_page(request, values=values, errors=form_errors(exc), status_code=422)
    return Redirect(f"/console/retention?saved={key}")


@post("/console/retention/classes/remove", guards=MANAGE)
async def class_remove(request: Request) -> Response:
    data = await form_dict(request)
    key = str(data.get("key") or "")
    try:
        await service.remove_class(key, request.state.principal)
    except Conflict as exc:
        return await _classes_page(request, values={}, errors={"remove": gettext(exc.message)}, status_code=409)
    return Redirect(f"/console/retention?removed={key}")


def _filters(kind: str, level: str | None, q: str) -> dict:
    level_value = int_or_none(level, "level")
    return {"kind": kind if kind in disposition.KINDS else "",
            "level": level_value if level_value in LEVEL_LABELS else None, "q": q.strip()[:100]}


@get("/console/retention/disposition", guards=MANAGE)
async def disposition_page(request: Request, kind: str = "", level: str | None = None, q: str = "",
                           page: str = "1") -> Template:
    principal = request.state.principal
    filters = _filters(kind, level, q)
    current = page_number(page)
    data = await disposition.page(principal, kind=filters["kind"], level=filters["level"], q=filters["q"],
                                  page_no=current, per_page=PER_PAGE)
    return render("console/retention/disposition.html", principal=principal, filters=filters, page=current,
                  pages=max(1, (data["total"] + PER_PAGE - 1) // PER_PAGE), kinds=disposition.KINDS,
                  levels=LEVEL_LABELS, class_text=_class_text, categories=CATEGORIES, day=events.date,
                  may_request=principal.can(Perm.DESTRUCTION_REQUEST), **data)


def _csv_row(row: dict | None) -> list[str]:
    if row is None:
        return [gettext(c) for c in ("Archive number", "Name", "Level", "What", "Documents", "Retention class",
                                     "Years", "Last business date", "Retention ended")]
    what = gettext(CATEGORIES.get(row["category"], row["category"])) if row["category"] else gettext("Whole file")
    return [row["archive_no"], row["name"], gettext(LEVEL_LABELS[row["level"]]), what, str(row["documents"]),
            _class_text(row["class_key"]), str(row["years"]), row["last_business_on"].isoformat(),
            row["ends_on"].isoformat()]


@get("/console/retention/disposition.csv", guards=MANAGE)
async def disposition_csv(request: Request, kind: str = "", level: str | None = None, q: str = "") -> Response:
    filters = _filters(kind, level, q)
    text = await disposition.csv_text(request.state.principal, _csv_row, **filters)
    return Response(text.encode("utf-8"), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="disposition-{today().isoformat()}.csv"',
        "Cache-Control": "no-store"})


@post("/console/retention/disposition", guards=MANAGE)
async def disposition_build(request: Request) -> Response:
    """Build the list now, in the worker (the beat task does it on the first of every month)."""
    sent = await jobs.send_now(retention_tasks.disposition, request.state.principal.name)
    return Redirect(f"/console/retention/disposition?queued={int(sent)}")


@get("/console/retention/dormant", guards=ARCHIVE)
async def dormant_page(request: Request, page: str = "1") -> Template:
    principal = request.state.principal
    current = page_number(page)
    rows, total = await service.dormant_files(principal, page=current, per_page=PER_PAGE)
    return render("console/retention/dormant.html", principal=principal, rows=rows, total=total, page=current,
                  pages=max(1, (total + PER_PAGE - 1) // PER_PAGE), levels=LEVEL_LABELS, day=events.date)


def _reactivate_page(request: Request, tenant, *, values: dict, errors: dict, status_code: int = 200) -> Template:
    return render("console/retention/reactivate.html", status_code=status_code, principal=request.state.principal,
                  ref=tenant, values=values, errors=errors)


@get("/console/tenants/{tenant_id:int}/reactivate", guards=ARCHIVE)
async def reactivate_form(request: Request, tenant: Tenant) -> Template:
    if not tenant.dormant:
        raise NotFound("This file is not dormant.")
    return _reactivate_page(request, tenant, values={}, errors={})


@post("/console/tenants/{tenant_id:int}/reactivate", guards=ARCHIVE)
async def reactivate(request: Request, tenant: Tenant) -> Response:
    data = await form_dict(request)
    try:
        await service.reactivate(tenant, data, request.state.principal)
    except FormErrors as exc:
        return _reactivate_page(request, tenant, values={"reason": str(data.get("reason") or "")},
                                errors=form_errors(exc), status_code=422)
    return Redirect(f"/console/tenants/{tenant.id}?reactivated=1")


ROUTES = [classes_page, class_save, class_remove, disposition_page, disposition_csv, disposition_build,
          dormant_page, reactivate_form, reactivate]
