"""Legal holds and destruction (archive, leadership): the hold register, placing
and releasing holds, destruction requests with their approvals and cooling-off
countdown, the destruction register and its certificates. Every rule is in
``tenants/destruction``; these handlers parse, call, render."""

from __future__ import annotations

import csv
import datetime as dt
import io
from zoneinfo import ZoneInfo

from litestar import Request, get, post
from litestar.connection import ASGIConnection
from litestar.exceptions import PermissionDeniedException
from litestar.handlers import BaseRouteHandler
from litestar.response import Redirect, Response, Template

from portal.core.errors import FormErrors
from portal.core.i18n import gettext
from portal.core.roles import Perm
from portal.routes.forms import form_dict, int_or_none
from portal.web.render import form_errors, principal_of, render, requires, staff_guard
from documents.service import CATEGORIES
from tenants.destruction import certificate, holds, service
from tenants.file.forms import LEVEL_LABELS
from tenants.retention import disposition

SHANGHAI = ZoneInfo("Asia/Shanghai")
READ = [requires(Perm.DESTRUCTION_READ)]
HOLD = [requires(Perm.HOLD_MANAGE)]
REQUEST = [requires(Perm.DESTRUCTION_REQUEST)]


def any_of(*perms: Perm):
    async def guard(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
        await staff_guard(connection, handler)
        if not any(principal_of(connection).can(p) for p in perms):
            raise PermissionDeniedException()

    return guard


DECIDE = [any_of(Perm.DESTRUCTION_REVIEW, Perm.DESTRUCTION_APPROVE)]
CANCEL = [any_of(Perm.DESTRUCTION_REQUEST, Perm.DESTRUCTION_REVIEW, Perm.DESTRUCTION_APPROVE)]
FLOW_READ = [any_of(Perm.DESTRUCTION_READ, Perm.DESTRUCTION_REQUEST)]


def _cell(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _when(value) -> str:
    return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") if value else ""


def _csv(name: str, header: list[str], rows: list[list]) -> Response:
    buffer = io.StringIO()
    buffer.write("\ufeff")  # Excel reads UTF-8 with a BOM
    writer = csv.writer(buffer)
    writer.writerow([gettext(h) for h in header])
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    return Response(buffer.getvalue().encode("utf-8"), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="{name}.csv"', "Cache-Control": "no-store"})


# --- legal holds -----------------------------------------------------------------------------------

HOLD_FILTERS = {"active": "Active holds", "released": "Released holds", "all": "All holds"}


def _status(value: str | None) -> str:
    return value if value in HOLD_FILTERS else "active"


@get("/console/holds", guards=READ)
async def holds_page(request: Request, status: str | None = None, q: str = "") -> Template:
    principal = request.state.principal
    rows = await holds.register(principal, status=_status(status), q=q[:100])
    return render("console/destruction/holds.html", principal=principal, rows=rows, status=_status(status), q=q[:100],
                  filters=HOLD_FILTERS, may_manage=principal.can(Perm.HOLD_MANAGE))


@get("/console/holds.csv", guards=READ)
async def holds_csv(request: Request, status: str | None = None, q: str = "") -> Response:
    rows = await holds.register(request.state.principal, status=_status(status), q=q[:100])
    header = ["Archive number", "Tenant", "Scope", "Case reference", "Reason", "Placed by", "Placed at",
              "Released by", "Released at", "Reason for release"]
    return _csv("legal-holds", header, [[
        r["archive_no"], r["tenant_name"], "; ".join(r["document_titles"]) or gettext("Whole file"), r["case_ref"],
        r["reason"], r["placed_by"], _when(r["placed_at"]), r["released_by"], _when(r["released_at"]),
        r["release_reason"]] for r in rows])


@get("/console/holds/new", guards=HOLD)
async def hold_form(request: Request, tenant_id: str | None = None) -> Template:
    return render("console/destruction/hold_new.html", principal=request.state.principal,
                  values={"tenant_id": int_or_none(tenant_id) or "", "scope": "file"}, errors={})


@post("/console/holds/new", guards=HOLD)
async def hold_place(request: Request) -> Response:
    data = await form_dict(request)
    tenant_id = int_or_none(data.get("tenant_id"), "tenant_id")
    try:
        if tenant_id is None or tenant_id < 1:
            raise FormErrors({"tenant_id": "Choose the tenant file."})
        await holds.place_hold(tenant_id, data, request.state.principal)
    except FormErrors as exc:
        return render("console/destruction/hold_new.html", status_code=422, principal=request.state.principal,
                      values=data, errors=form_errors(exc))
    return Redirect("/console/holds?placed=1")


@post("/console/holds/{hold_id:int}/release", guards=HOLD)
async def hold_release(request: Request, hold_id: int) -> Response:
    data = await form_dict(request)
    await holds.release_hold(hold_id, data, request.state.principal)
    return Redirect("/console/holds?released=1")


# --- destruction -----------------------------------------------------------------------------------

@get("/console/destruction", guards=FLOW_READ)
async def register_page(request: Request, status: str | None = None, q: str = "") -> Template:
    principal = request.state.principal
    rows = await service.register(principal, status=status or "", q=q[:100])
    return render("console/destruction/register.html", principal=principal, rows=rows, q=q[:100],
                  status=status if status in service.STATUSES else "", statuses=service.STATUSES,
                  may_request=principal.can(Perm.DESTRUCTION_REQUEST))


@get("/console/destruction.csv", guards=FLOW_READ)
async def register_csv(request: Request, status: str | None = None, q: str = "") -> Response:
    rows = await service.register(request.state.principal, status=status or "", q=q[:100])
    header = ["Certificate No.", "Archive number", "Tenant", "Scope", "Status", "Reason", "Requested by",
              "Archive department review", "First leadership approval", "Second leadership approval", "Destroyed at"]
    return _csv("destruction-register", header, [[
        r["certificate_no"] or "", r["archive_no"], r["tenant_name"],
        gettext("Whole file") if r["scope"] == "file" else "; ".join(r["document_titles"]),
        gettext(service.STATUSES[r["status"]]), r["reason"], r["requested_by"], r["reviewer"], r["approver_1"],
        r["approver_2"], _when(r["destroyed_at"])] for r in rows])


def _list_reason(item: dict) -> str:
    """The disposition list's reason for a line, in the reader's language (the request's reason field)."""
    key = item["class_key"]
    kind, _, value = key.partition(":")
    if kind == "level" and value.isdigit():
        what = gettext("Tenant level: %(level)s") % {"level": gettext(LEVEL_LABELS.get(int(value), key))}
    else:
        what = gettext("Document category: %(category)s") % {"category": gettext(CATEGORIES.get(value, value))}
    return gettext("On the disposition list of %(list)s: %(what)s, %(years)s years after the last business date of"
                   " %(day)s; retention ended on %(end)s.") % {
        "list": item["as_of"].isoformat(), "what": what, "years": item["years"],
        "day": item["last_business_on"].isoformat(), "end": item["ends_on"].isoformat()}


@get("/console/destruction/new", guards=REQUEST)
async def request_form(request: Request, tenant_id: str | None = None, item: str | None = None) -> Template:
    """The request form; from a disposition-list line (``?item=``) prefilled with its file or documents and reason."""
    values = {"tenant_id": int_or_none(tenant_id) or "", "scope": "file"}
    line = None
    item_id = int_or_none(item, "item")
    if item_id is not None:
        line = await disposition.item(item_id, request.state.principal)
        values = {"tenant_id": line["tenant_id"], "disposition_item": line["id"], "reason": _list_reason(line),
                  "scope": "documents" if line["category"] else "file",
                  "document_ids": ", ".join(str(i) for i in line["document_ids"])}
    return render("console/destruction/request_new.html", principal=request.state.principal, values=values,
                  errors={}, line=line)


@post("/console/destruction/new", guards=REQUEST)
async def request_create(request: Request) -> Response:
    data = await form_dict(request)
    tenant_id = int_or_none(data.get("tenant_id"), "tenant_id")
    try:
        if tenant_id is None or tenant_id < 1:
            raise FormErrors({"tenant_id": "Choose the tenant file."})
        request_id = await service.create_request(tenant_id, data, request.state.principal)
    except FormErrors as exc:
        return render("console/destruction/request_new.html", status_code=422, principal=request.state.principal,
                      values=data, errors=form_errors(exc), line=None)
    return Redirect(f"/console/destruction/{request_id}")


def _countdown(until: dt.datetime | None) -> dict | None:
    if until is None:
        return None
    left = until - dt.datetime.now(dt.timezone.utc)
    seconds = max(int(left.total_seconds()), 0)
    return {"days": seconds // 86400, "hours": seconds % 86400 // 3600, "minutes": seconds % 3600 // 60,
            "over": seconds == 0}


@get("/console/destruction/{request_id:int}", guards=FLOW_READ)
async def request_page(request: Request, request_id: int) -> Template:
    principal = request.state.principal
    row = await service.get_request(request_id, principal)
    return render("console/destruction/request.html", principal=principal, r=row, statuses=service.STATUSES,
                  may_decide=service.may_decide(principal, row), countdown=_countdown(row["cooling_until"]),
                  step_label=service.FLOW.step(row["status"]).label if row["status"] in service.WAITING else "",
                  may_cancel=row["status"] in service.WAITING + ("cooling",), errors={},
                  origin=await service.origin(request_id))


@post("/console/destruction/{request_id:int}/decide", guards=DECIDE)
async def request_decide(request: Request, request_id: int) -> Response:
    data = await form_dict(request)
    await service.decide(request_id, data, request.state.principal,
                         cooling_days=request.app.state.settings.destruction_cooling_days)
    return Redirect(f"/console/destruction/{request_id}")


@post("/console/destruction/{request_id:int}/cancel", guards=CANCEL)
async def request_cancel(request: Request, request_id: int) -> Response:
    data = await form_dict(request)
    await service.cancel(request_id, data, request.state.principal)
    return Redirect(f"/console/destruction/{request_id}")


@get("/console/destruction/certificates/{number:str}", guards=READ)
async def certificate_download(request: Request, number: str) -> Response:
    name, pdf = await certificate.certificate_pdf(number[:40], request.state.principal)
    return Response(pdf, media_type="application/pdf", headers={
        "Content-Disposition": f'inline; filename="{name}.pdf"', "Cache-Control": "no-store"})


ROUTES = [holds_page, holds_csv, hold_form, hold_place, hold_release, register_page, register_csv, request_form,
          request_create, request_page, request_decide, request_cancel, certificate_download]
