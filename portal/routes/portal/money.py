"""Portal: the tenant's own charges, payments, deposits, balance and notices,
with PDF downloads. The tenant comes from the signed-in portal user, never
from the URL; another tenant's notice id answers 404."""

from __future__ import annotations

from litestar import Request, get
from litestar.response import Response, Template

from portal.routes.console.money import install_filters
from portal.web.render import portal_guard, render
from portal.web.tenancy import Tenant
from tenants.money import arrears, ledger, notices, notices_render


def _pdf(body: bytes, filename: str) -> Response:
    return Response(body, media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{filename}"',
                             "X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"})


@get("/portal/money", guards=[portal_guard])
async def money_page(request: Request, my_tenant: Tenant) -> Template:
    principal = request.state.principal
    install_filters(request)
    data = await ledger.overview(my_tenant, principal)
    kinds = await ledger.deposit_kinds(active_only=False)
    return render("portal/money.html", principal=principal, ref=my_tenant, ageing=await arrears.tenant_arrears(my_tenant.id),
                  deposit_kinds=kinds, methods=ledger.METHODS, fee_items=await ledger.fee_items_map(), **data)


@get("/portal/money/notices/{notice_id:int}/pdf", guards=[portal_guard])
async def notice_download(request: Request, my_tenant: Tenant, notice_id: int) -> Response:
    number, body = await notices.notice_pdf(my_tenant, notice_id, request.state.principal)
    return _pdf(body, f"{number}.pdf")


@get("/portal/money/receipts/{kind:str}/{subject_id:int}/pdf", guards=[portal_guard])
async def receipt_download(request: Request, my_tenant: Tenant, kind: str, subject_id: int) -> Response:
    number, body = await notices_render.receipt_pdf(my_tenant, kind, subject_id, request.state.principal,
                                             request.app.state.settings, request.state.locale)
    return _pdf(body, f"{number}.pdf")


@get("/portal/money/statement.pdf", guards=[portal_guard])
async def statement_download(request: Request, my_tenant: Tenant) -> Response:
    body = await notices_render.statement_pdf(my_tenant, request.state.principal, request.app.state.settings,
                                       request.state.locale)
    return _pdf(body, f"statement-{my_tenant.archive_no}.pdf")


ROUTES = [money_page, notice_download, receipt_download, statement_download]
