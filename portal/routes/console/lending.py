"""Console: the lending register (借阅登记), requests, approvals, paper out/in,
return checks, lending slips, and approved exports."""

from __future__ import annotations

from litestar import Request, get, post
from litestar.response import File, Redirect, Response, Template

from documents import exports, lending
from portal.core.roles import Perm, Role
from portal.core.errors import FormErrors
from portal.routes.forms import form_dict, page_number
from portal.web.files import SAFE_HEADERS, storage_of
from portal.web.render import form_errors, render, requires

PER_PAGE = 50


def _choices() -> dict:
    return {"modes": lending.MODES, "statuses": lending.STATUSES, "conditions": lending.CONDITIONS}


@get("/console/lending", guards=[requires(Perm.TENANT_READ)])
async def register(request: Request, view: str = "mine", page: str = "1") -> Template:
    principal = request.state.principal
    current = page_number(page)
    rows, total = await lending.list_loans(principal, view=view, page=current, per_page=PER_PAGE)
    reminders = await lending.reminders_for(principal)
    return render("console/lending/register.html", principal=principal, rows=rows, total=total, page=current,
                  pages=max(1, (total + PER_PAGE - 1) // PER_PAGE), view=view, reminders=reminders,
                  overseer=bool(principal.roles & lending.OVERSEER_ROLES), **_choices())


@get("/console/lending/reminders", guards=[requires(Perm.TENANT_READ)])
async def reminders(request: Request) -> Template:
    """Fragment for the console home page (hx-get): the borrower's due/overdue reminders."""
    principal = request.state.principal
    return render("console/lending/_reminders.html", principal=principal,
                  reminders=await lending.reminders_for(principal))


@get("/console/lending/new", guards=[requires(Perm.TENANT_READ)])
async def new_form(request: Request, tenant: str = "", mode: str = "electronic") -> Template:
    return render("console/lending/new.html", principal=request.state.principal,
                  values={"tenant_ids": tenant, "mode": mode}, errors={}, **_choices())


@post("/console/lending/new", guards=[requires(Perm.TENANT_READ)])
async def new_submit(request: Request) -> Response:
    principal = request.state.principal
    raw = await form_dict(request)
    try:
        loan_id = await lending.create_loan(principal, raw)
    except FormErrors as exc:
        return render("console/lending/new.html", status_code=422, principal=principal, values=raw,
                      errors=form_errors(exc), **_choices())
    return Redirect(f"/console/lending/{loan_id}?submitted=1")


async def _loan_page(request: Request, loan_id: int, *, status_code: int = 200, errors: dict | None = None,
                     password: str = "", export_uid: str = "") -> Template:
    principal = request.state.principal
    data = await lending.get_loan(principal, loan_id)
    loan = data["loan"]
    mine = loan["borrower_id"] == principal.user_id
    step_role = {"requested": Role.DEPT_HEAD, "head_approved": Role.SUPERVISOR}.get(loan["status"])
    may_decide = bool(step_role and step_role in principal.roles and not mine
                      and not (loan["status"] == "head_approved" and loan["head_id"] == principal.user_id))
    return render("console/lending/loan.html", status_code=status_code, principal=principal, errors=errors or {},
                  may_decide=may_decide, handler=lending.is_handler(principal), password=password,
                  export_uid=export_uid, **data, **_choices())


@get("/console/lending/{loan_id:int}", guards=[requires(Perm.TENANT_READ)])
async def loan_page(request: Request, loan_id: int) -> Template:
    return await _loan_page(request, loan_id)


@post("/console/lending/{loan_id:int}/approve", guards=[requires(Perm.TENANT_READ)])
async def approve(request: Request, loan_id: int) -> Response:
    await lending.approve(request.state.principal, loan_id)
    return Redirect(f"/console/lending/{loan_id}?decided=1")


@post("/console/lending/{loan_id:int}/refuse", guards=[requires(Perm.TENANT_READ)])
async def refuse(request: Request, loan_id: int) -> Response:
    raw = await form_dict(request)
    try:
        await lending.refuse(request.state.principal, loan_id, raw.get("reason", ""))
    except FormErrors as exc:
        return await _loan_page(request, loan_id, status_code=422, errors=form_errors(exc))
    return Redirect(f"/console/lending/{loan_id}?decided=1")


@post("/console/lending/{loan_id:int}/out", guards=[requires(Perm.TENANT_READ)])
async def hand_out(request: Request, loan_id: int) -> Response:
    await lending.hand_out(request.state.principal, loan_id)
    return Redirect(f"/console/lending/{loan_id}?saved=1")


@post("/console/lending/{loan_id:int}/return", guards=[requires(Perm.TENANT_READ)])
async def record_return(request: Request, loan_id: int) -> Response:
    raw = await form_dict(request)
    try:
        await lending.record_return(request.state.principal, loan_id, raw.get("condition", ""), raw.get("note", ""))
    except FormErrors as exc:
        return await _loan_page(request, loan_id, status_code=422, errors=form_errors(exc))
    return Redirect(f"/console/lending/{loan_id}?saved=1")


@post("/console/lending/{loan_id:int}/export", guards=[requires(Perm.TENANT_READ)])
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


ROUTES = [register, reminders, new_form, new_submit, loan_page, approve, refuse, hand_out, record_return,
          carry_out_export, slip, export_list, export_download]
