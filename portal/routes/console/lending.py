"""Console: the lending register (借阅登记), requests, approvals, paper out/in,
return checks, lending slips, and approved exports."""

from __future__ import annotations

from litestar import Request, get, post
from litestar.response import File, Redirect, Response, Template

from documents import exports, lending, lending_flow, lending_scope
from portal.core.roles import Perm
from portal.core.errors import NotFound
from portal.core.errors import FormErrors
from portal.routes.forms import form_dict, page_number
from portal.web.files import SAFE_HEADERS, storage_of
from portal.web.render import form_errors, render, requires

PER_PAGE = 50


def _choices() -> dict:
    return {"modes": lending.MODES, "statuses": lending.STATUSES, "conditions": lending.CONDITIONS,
            "status_key": lending.status_key}


FORM_FIELDS = ("mode", "archive_nos", "due_date", "department", "purpose", "q", "dq")


async def _picks(request: Request, values: dict) -> dict:
    """What the tenant/document picker shows: the ticked files and documents kept
    ticked, search hits for ``q`` (files) and ``dq`` (documents of the one ticked file)."""
    principal = request.state.principal
    try:
        chosen_ids = lending_scope.split_ids(values.get("tenant_ids"))
        chosen_docs = lending_scope.split_ids(values.get("document_ids"))
    except ValueError:
        chosen_ids, chosen_docs = [], []
    chosen = await lending_scope.tenants_by_ids(principal, chosen_ids)
    found = [t for t in await lending_scope.search_tenants(principal, values.get("q", "")) if t["id"] not in chosen_ids]
    documents = None
    if len(chosen) == 1 and values.get("mode") != lending_scope.OUTSIDE:
        try:
            documents = await lending_scope.search_documents(principal, chosen[0]["id"], values.get("dq", ""),
                                                             chosen_docs)
        except NotFound:
            documents = []
    return {"chosen": chosen, "found": found, "documents": documents, "chosen_docs": chosen_docs}


def _query_values(request: Request) -> dict:
    values = {k: request.query_params.get(k, "") for k in FORM_FIELDS}
    values["tenant_ids"] = request.query_params.getall("tenant_ids", []) or request.query_params.get("tenant", "")
    values["document_ids"] = request.query_params.getall("document_ids", [])
    values["mode"] = values["mode"] or "electronic"
    return values


@get("/console/lending", guards=[requires(Perm.TENANT_READ)])
async def register(request: Request, view: str = "mine", page: str = "1") -> Template:
    principal = request.state.principal
    current = page_number(page)
    rows, total = await lending.list_loans(principal, view=view, page=current, per_page=PER_PAGE)
    reminders = await lending.reminders_for(principal)
    return render("console/lending/register.html", principal=principal, rows=rows, total=total, page=current,
                  pages=max(1, (total + PER_PAGE - 1) // PER_PAGE), view=view, reminders=reminders,
                  overseer=lending.is_overseer(principal), **_choices())


@get("/console/lending/reminders", guards=[requires(Perm.TENANT_READ)])
async def reminders(request: Request) -> Template:
    """Fragment for the console home page (hx-get): the borrower's due/overdue reminders."""
    principal = request.state.principal
    return render("console/lending/_reminders.html", principal=principal,
                  reminders=await lending.reminders_for(principal))


@get("/console/lending/new", guards=[requires(Perm.LOAN_REQUEST)])
async def new_form(request: Request) -> Template:
    """The request form; its search button (no JavaScript) comes back here with the query."""
    values = _query_values(request)
    return render("console/lending/new.html", principal=request.state.principal, values=values, errors={},
                  **await _picks(request, values), **_choices())


@get("/console/lending/pick", guards=[requires(Perm.LOAN_REQUEST)])
async def pick(request: Request) -> Template:
    """Fragment (hx-get, search-as-you-type): the picker of the request form."""
    values = _query_values(request)
    return render("console/lending/_pick.html", principal=request.state.principal, values=values,
                  **await _picks(request, values))


@post("/console/lending/new", guards=[requires(Perm.LOAN_REQUEST)])
async def new_submit(request: Request) -> Response:
    principal = request.state.principal
    raw = await form_dict(request, multi=("tenant_ids", "document_ids"))
    if raw.get("find"):  # the search button (no JavaScript): show the results, save nothing
        return render("console/lending/new.html", principal=principal, values=raw, errors={},
                      **await _picks(request, raw), **_choices())
    try:
        loan_id = await lending.create_loan(principal, raw)
    except FormErrors as exc:
        return render("console/lending/new.html", status_code=422, principal=principal, values=raw,
                      errors=form_errors(exc), **await _picks(request, raw), **_choices())
    return Redirect(f"/console/lending/{loan_id}?submitted=1")


async def _loan_page(request: Request, loan_id: int, *, status_code: int = 200, errors: dict | None = None,
                     password: str = "", export_uid: str = "") -> Template:
    principal = request.state.principal
    data = await lending.get_loan(principal, loan_id)
    loan = data["loan"]
    return render("console/lending/loan.html", status_code=status_code, principal=principal, errors=errors or {},
                  may_decide=lending_flow.may_decide(principal, loan), handler=lending.is_handler(principal),
                  password=password, export_uid=export_uid, **data, **_choices())


@get("/console/lending/{loan_id:int}", guards=[requires(Perm.TENANT_READ)])
async def loan_page(request: Request, loan_id: int) -> Template:
    return await _loan_page(request, loan_id)


@post("/console/lending/{loan_id:int}/approve", guards=[requires(Perm.LOAN_APPROVE)])
async def approve(request: Request, loan_id: int) -> Response:
    await lending.approve(request.state.principal, loan_id)
    return Redirect(f"/console/lending/{loan_id}?decided=1")


@post("/console/lending/{loan_id:int}/refuse", guards=[requires(Perm.LOAN_APPROVE)])
async def refuse(request: Request, loan_id: int) -> Response:
    raw = await form_dict(request)
    try:
        await lending.refuse(request.state.principal, loan_id, raw.get("reason", ""))
    except FormErrors as exc:
        return await _loan_page(request, loan_id, status_code=422, errors=form_errors(exc))
    return Redirect(f"/console/lending/{loan_id}?decided=1")


@post("/console/lending/{loan_id:int}/out", guards=[requires(Perm.LOAN_HANDLE)])
async def hand_out(request: Request, loan_id: int) -> Response:
    await lending.hand_out(request.state.principal, loan_id)
    return Redirect(f"/console/lending/{loan_id}?saved=1")


@post("/console/lending/{loan_id:int}/return", guards=[requires(Perm.LOAN_HANDLE)])
async def record_return(request: Request, loan_id: int) -> Response:
    raw = await form_dict(request)
    try:
        await lending.record_return(request.state.principal, loan_id, raw.get("condition", ""), raw.get("note", ""))
    except FormErrors as exc:
        return await _loan_page(request, loan_id, status_code=422, errors=form_errors(exc))
    return Redirect(f"/console/lending/{loan_id}?saved=1")


@post("/console/lending/{loan_id:int}/export", guards=[requires(Perm.LOAN_HANDLE)])
async def carry_out_export(request: Request, loan_id: int) -> Template:
    uid, password = await exports.carry_out(request.state.principal, storage_of(request), loan_id)
    response = await _loan_page(request, loan_id, password=password, export_uid=uid)
    response.headers.update({"Cache-Control": "no-store"})
    return response


@get("/console/lending/{loan_id:int}/slip.pdf", guards=[requires(Perm.TENANT_READ)])
async def slip(request: Request, loan_id: int) -> Response:
    import anyio

    data = await lending.get_loan(request.state.principal, loan_id)
    office = request.app.state.settings.office_name
    pdf = await anyio.to_thread.run_sync(lambda: lending.slip_pdf(data, office))
    return Response(pdf, media_type="application/pdf", headers={
        "Content-Disposition": f'inline; filename="lending-slip-{loan_id}.pdf"', "X-Content-Type-Options": "nosniff"})


@get("/console/exports", guards=[requires(Perm.TENANT_READ)])
async def export_list(request: Request) -> Template:
    principal = request.state.principal
    return render("console/lending/exports.html", principal=principal,
                  rows=await exports.list_exports(principal))


@get("/console/exports/{uid:str}/download", guards=[requires(Perm.TENANT_READ)])
async def export_download(request: Request, uid: str) -> File:
    row, path = await exports.open_export(request.state.principal, storage_of(request), uid)
    return File(path=path, filename=f"export-{row['loan_id']}.zip", media_type="application/zip",
                content_disposition_type="attachment", headers=dict(SAFE_HEADERS))


ROUTES = [register, reminders, new_form, pick, new_submit, loan_page, approve, refuse, hand_out, record_return,
          carry_out_export, slip, export_list, export_download]
