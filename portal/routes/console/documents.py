"""Console: a tenant's documents (catalog, upload, versions, preview, download,
printable catalog, paper requests) and the review of tenants' uploads."""

from __future__ import annotations

from litestar import Request, get, post
from litestar.response import Redirect, Response, Template

from documents import intake, service
from documents.catalog_pdf import catalog_pdf
from portal.core.roles import Perm
from portal.core.errors import FormErrors, NotFound
from portal.routes.forms import form_dict, int_or_none, page_number
from portal.web.files import download_response, receive_upload, storage_of, thumbnail_response
from portal.web.render import form_errors, render, requires
from portal.web.tenancy import Tenant
from tasks.documents import thumbnail as make_thumbnail

BASE = "/console/tenants/{tenant_id:int}/documents"


def _choices() -> dict:
    return {"categories": service.CATEGORIES, "levels": service.CONFIDENTIALITY, "sources": service.SOURCES}


async def _catalog_page(request: Request, ref, *, category: str = "", year: str = "", page: str = "1",
                        status_code: int = 200, values: dict | None = None, errors: dict | None = None,
                        audit_view: bool = True) -> Template:
    principal = request.state.principal
    year_value = int_or_none(year, "year")
    data = await service.catalog(ref, principal, category=category, year=year_value, page=page_number(page),
                                 audit_view=audit_view)
    requests = await intake.list_requests(ref) if not ref.via_grant else []
    per = service.PER_PAGE
    return render("console/documents/catalog.html", status_code=status_code, principal=principal, ref=ref,
                  filters={"category": category, "year": year_value}, page=page_number(page),
                  pages=max(1, (data["total"] + per - 1) // per), values=values or {"confidentiality": "internal"},
                  errors=errors or {}, doc_requests=requests, can_write=principal.can(Perm.TENANT_WRITE)
                  and not ref.via_grant, **data, **_choices())


@get(BASE, guards=[requires(Perm.TENANT_READ)])
async def catalog_page(request: Request, readable_tenant: Tenant, category: str = "", year: str = "",
                       page: str = "1") -> Template:
    return await _catalog_page(request, readable_tenant, category=category, year=year, page=page)


@post(BASE + "/upload", guards=[requires(Perm.TENANT_WRITE)], request_max_body_size=None)
async def upload(request: Request, tenant: Tenant) -> Response:
    principal = request.state.principal
    form = await receive_upload(request, tenant.id)
    try:
        if form.file is None:
            raise FormErrors({"file": "Choose a file to upload."})
        filed = await service.file_upload(tenant, principal, storage_of(request), form.file, form.fields)
    except FormErrors as exc:
        return await _catalog_page(request, tenant, status_code=422, values=form.fields, errors=form_errors(exc),
                                   audit_view=False)
    dup = ",".join(str(d["id"]) for d in filed.duplicates)
    return Redirect(f"/console/tenants/{tenant.id}/documents/{filed.document_id}?uploaded=1" + (f"&dup={dup}" if dup else ""))


@get(BASE + "/{doc_id:int}", guards=[requires(Perm.TENANT_READ)])
async def document_page(request: Request, readable_tenant: Tenant, doc_id: int, dup: str = "") -> Template:
    principal = request.state.principal
    data = await service.get_document(readable_tenant, principal, doc_id)
    duplicates = [int(x) for x in dup.split(",") if x.isdigit()][:20]
    doc = data["document"]
    values = {k: ("" if doc[k] is None else doc[k]) for k in service.META_FIELDS}
    return render("console/documents/document.html", principal=principal, ref=readable_tenant, duplicates=duplicates,
                  values=values, errors={}, can_write=principal.can(Perm.TENANT_WRITE) and not readable_tenant.via_grant,
                  **data, **_choices())


@post(BASE + "/{doc_id:int}/edit", guards=[requires(Perm.TENANT_WRITE)])
async def edit(request: Request, tenant: Tenant, doc_id: int) -> Response:
    principal = request.state.principal
    raw = await form_dict(request)
    try:
        await service.update_meta(tenant, principal, doc_id, raw)
    except FormErrors as exc:
        data = await service.get_document(tenant, principal, doc_id, audit_view=False)
        return render("console/documents/document.html", status_code=422, principal=principal, ref=tenant,
                      duplicates=[], values=raw, errors=form_errors(exc), can_write=True, **data, **_choices())
    return Redirect(f"/console/tenants/{tenant.id}/documents/{doc_id}?saved=1")


@post(BASE + "/{doc_id:int}/versions", guards=[requires(Perm.TENANT_WRITE)], request_max_body_size=None)
async def new_version(request: Request, tenant: Tenant, doc_id: int) -> Response:
    principal = request.state.principal
    form = await receive_upload(request, tenant.id)
    if form.file is None:
        raise FormErrors({"file": "Choose a file to upload."})
    filed = await service.add_version(tenant, principal, storage_of(request), doc_id, form.file)
    dup = ",".join(str(d["id"]) for d in filed.duplicates)
    return Redirect(f"/console/tenants/{tenant.id}/documents/{doc_id}?uploaded=1" + (f"&dup={dup}" if dup else ""))


@get(BASE + "/{doc_id:int}/download", guards=[requires(Perm.TENANT_READ)])
async def download(request: Request, readable_tenant: Tenant, doc_id: int, v: str = "", inline: str = "") -> Response:
    principal = request.state.principal
    content = await service.open_content(readable_tenant, principal, storage_of(request), doc_id, int_or_none(v, "v"))
    return download_response(content, inline=inline == "1")


async def thumbnail_or_request(request: Request, ref, principal, doc_id: int) -> Response:
    try:
        content = await service.open_content(ref, principal, storage_of(request), doc_id, thumbnail=True)
    except NotFound:
        # No preview yet (or the task failed): ask for one; the page shows a placeholder.
        await service.request_thumbnail(ref, principal, doc_id)
        raise
    return thumbnail_response(content)


@get(BASE + "/{doc_id:int}/thumbnail", guards=[requires(Perm.TENANT_READ)])
async def thumbnail(request: Request, readable_tenant: Tenant, doc_id: int) -> Response:
    principal = request.state.principal
    return await thumbnail_or_request(request, readable_tenant, principal, doc_id)


@get(BASE + "/catalog.pdf", guards=[requires(Perm.TENANT_READ)])
async def catalog_print(request: Request, readable_tenant: Tenant) -> Response:
    principal = request.state.principal
    settings = request.app.state.settings
    pdf = await catalog_pdf(readable_tenant, principal, office_name=settings.office_name, locale=request.state.locale)
    return Response(pdf, media_type="application/pdf", headers={
        "Content-Disposition": f'inline; filename="catalog-{readable_tenant.archive_no}.pdf"',
        "X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"})


@post(BASE + "/requests", guards=[requires(Perm.TENANT_WRITE)])
async def request_paper(request: Request, tenant: Tenant) -> Response:
    principal = request.state.principal
    raw = await form_dict(request)
    try:
        await intake.create_request(tenant, principal, raw)
    except FormErrors as exc:
        return await _catalog_page(request, tenant, status_code=422, errors={f"request_{k}": v for k, v in
                                   form_errors(exc).items()}, audit_view=False)
    return Redirect(f"/console/tenants/{tenant.id}/documents?saved=1#requests")


# --- review of the tenants' uploads -------------------------------------------------------------

@get("/console/documents/reviews", guards=[requires(Perm.REVIEW_DECIDE)])
async def review_queue(request: Request) -> Template:
    principal = request.state.principal
    rows = await intake.pending_uploads(principal)
    return render("console/documents/reviews.html", principal=principal, rows=rows)


async def _review_page(request: Request, ref, doc_id: int, *, values=None, errors=None, status_code=200) -> Template:
    principal = request.state.principal
    upload_row = await intake.pending_document(ref, principal, doc_id)
    values = values or {"category": upload_row["category"], "title": upload_row["title"], "visible_to_tenant": "1",
                        "confidentiality": "internal", "issue_date": ""}
    return render("console/documents/review.html", status_code=status_code, principal=principal, ref=ref,
                  upload=upload_row, values=values, errors=errors or {}, **_choices())


@get(BASE + "/{doc_id:int}/review", guards=[requires(Perm.REVIEW_DECIDE)])
async def review_page(request: Request, tenant: Tenant, doc_id: int) -> Template:
    return await _review_page(request, tenant, doc_id)


@get(BASE + "/{doc_id:int}/review/file", guards=[requires(Perm.REVIEW_DECIDE)])
async def review_file(request: Request, tenant: Tenant, doc_id: int) -> Response:
    """The pending upload itself, always as an attachment."""
    principal = request.state.principal
    content = await service.open_content(tenant, principal, storage_of(request), doc_id)
    return download_response(content, inline=False)


@post(BASE + "/{doc_id:int}/review", guards=[requires(Perm.REVIEW_DECIDE)])
async def review_decide(request: Request, tenant: Tenant, doc_id: int) -> Response:
    principal = request.state.principal
    raw = await form_dict(request)
    try:
        await intake.decide_upload(tenant, principal, doc_id, accept=raw.get("decision") == "accept", raw=raw)
    except FormErrors as exc:
        return await _review_page(request, tenant, doc_id, values=raw, errors=form_errors(exc), status_code=422)
    return Redirect("/console/documents/reviews?decided=1")


ROUTES = [
    catalog_page, upload, document_page, edit, new_version, download, thumbnail, catalog_print, request_paper,
    review_queue, review_page, review_file, review_decide,
]
