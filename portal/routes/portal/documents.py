"""Portal: the documents of my company's file the office shares with us, the
papers the office asked for, and our uploads with their outcome."""

from __future__ import annotations

from litestar import Request, get, post
from litestar.response import Redirect, Response, Template

from documents import intake, service
from portal.core.errors import FormErrors
from portal.routes.forms import int_or_none, page_number
from portal.web.files import download_response, receive_upload, storage_of, thumbnail_response
from portal.web.render import form_errors, portal_guard, render
from portal.web.tenancy import Tenant


async def _page(request: Request, my_tenant: Tenant, *, category: str = "", page: str = "1", status_code: int = 200,
                values: dict | None = None, errors: dict | None = None) -> Template:
    principal = request.state.principal
    data = await service.catalog(my_tenant, principal, category=category, page=page_number(page))
    per = service.PER_PAGE
    return render("portal/documents.html", status_code=status_code, principal=principal, ref=my_tenant,
                  uploads=await intake.my_uploads(my_tenant, principal), doc_requests=await intake.list_requests(my_tenant),
                  categories=service.CATEGORIES, filters={"category": category}, page=page_number(page),
                  pages=max(1, (data["total"] + per - 1) // per), values=values or {}, errors=errors or {}, **data)


@get("/portal/documents", guards=[portal_guard])
async def documents_page(request: Request, my_tenant: Tenant, category: str = "", page: str = "1") -> Template:
    return await _page(request, my_tenant, category=category, page=page)


@post("/portal/documents/upload", guards=[portal_guard], request_max_body_size=None)
async def upload(request: Request, my_tenant: Tenant) -> Response:
    principal = request.state.principal
    form = await receive_upload(request, my_tenant.id)
    try:
        if form.file is None:
            raise FormErrors({"file": "Choose a file to upload."})
        await intake.portal_upload(my_tenant, principal, storage_of(request), form.file, form.fields)
    except FormErrors as exc:
        return await _page(request, my_tenant, status_code=422, values=form.fields, errors=form_errors(exc))
    return Redirect("/portal/documents?submitted=1")


@get("/portal/documents/{doc_id:int}/download", guards=[portal_guard])
async def download(request: Request, my_tenant: Tenant, doc_id: int, inline: str = "") -> Response:
    principal = request.state.principal
    content = await service.open_content(my_tenant, principal, storage_of(request), doc_id)
    return download_response(content, inline=inline == "1")


@get("/portal/documents/{doc_id:int}/thumbnail", guards=[portal_guard])
async def thumbnail(request: Request, my_tenant: Tenant, doc_id: int) -> Response:
    from portal.routes.console.documents import thumbnail_or_request

    principal = request.state.principal
    return await thumbnail_or_request(request, my_tenant, principal, doc_id)


ROUTES = [documents_page, upload, download, thumbnail]
