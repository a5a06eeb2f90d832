"""Console: a tenant's money tab (deposits, charges, payments, allocation,
reversal, notices) — thin handlers over ``tenants.money``."""

from __future__ import annotations

from litestar import Request, get, post
from litestar.response import Redirect, Response, Template

from portal.core.roles import Perm
from portal.core.errors import FormErrors
from portal.routes.forms import form_dict
from portal.web.render import form_errors, render, requires
from portal.web.tenancy import Tenant
from tenants.money import (arrears, charges, deposits, ledger, notices, notices_issue, notices_mail, notices_render,
                           payments, recovery)
from tenants.money.amounts import fmt, today

BASE = "/console/tenants/{tenant_id:int}/money"


def install_filters(request: Request) -> None:
    """The ``fen`` filter (integer fen -> '1,234.50') on the app's template environment."""
    env = request.app.template_engine.engine
    if "fen" not in env.filters:
        env.filters["fen"] = lambda value: "" if value is None else fmt(value)
        env.filters["pct"] = lambda value: "—" if value is None else f"{value * 100:.1f}%"
        env.globals["email_status"] = notices_mail.email_status
        env.globals["void_reasons"] = recovery.VOID_LABELS


def _pdf(body: bytes, filename: str) -> Response:
    return Response(body, media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{filename}"',
                             "X-Content-Type-Options": "nosniff"})


async def _page(request: Request, ref, *, status_code: int = 200, errors: dict | None = None,
                values: dict | None = None, form: str = "", audit_view: bool = True) -> Template:
    principal = request.state.principal
    install_filters(request)
    data = await ledger.overview(ref, principal, audit_view=audit_view)
    return render(
        "console/money/tenant.html", status_code=status_code, principal=principal, ref=ref,
        ageing=await arrears.tenant_arrears(ref.id), deposit_kinds=await ledger.deposit_kinds(active_only=False),
        fee_items=await ledger.fee_items_map(), methods=ledger.METHODS, kinds=notices.KINDS,
        errors=errors or {}, values=values or {}, form=form, today=today(), **data)


async def _act(request: Request, tenant: Tenant, form: str, action, *, anchor: str = "") -> Response:
    """Run a form action; on invalid input re-render the tab with inline errors (422)."""
    principal = request.state.principal
    data = await form_dict(request)
    try:
        await action(tenant, data, principal)
    except FormErrors as exc:
        return await _page(request, tenant, status_code=422, errors=form_errors(exc), values=data, form=form,
                           audit_view=False)
    return Redirect(f"/console/tenants/{tenant.id}/money?saved=1{anchor}")


@get(BASE, guards=[requires(Perm.MONEY_READ)])
async def money_tab(request: Request, tenant: Tenant) -> Template:
    return await _page(request, tenant)


@post(BASE + "/deposits", guards=[requires(Perm.MONEY_WRITE)])
async def deposit_receive(request: Request, tenant: Tenant) -> Response:
    return await _act(request, tenant, "deposit", deposits.receive_deposit, anchor="#deposits")


@post(BASE + "/deposits/{deposit_id:int}/release", guards=[requires(Perm.MONEY_WRITE)])
async def deposit_release(request: Request, tenant: Tenant, deposit_id: int) -> Response:
    async def action(ref, data, principal):
        await deposits.request_deposit_release(ref, deposit_id, str(data.get("kind") or ""), data, principal)
    return await _act(request, tenant, f"release-{deposit_id}", action, anchor="#deposits")


@post(BASE + "/deposit-entries/{entry_id:int}/decide", guards=[requires(Perm.MONEY_APPROVE)])
async def deposit_decide(request: Request, tenant: Tenant, entry_id: int) -> Response:
    async def action(ref, data, principal):
        await deposits.decide_deposit_entry(ref, entry_id, data.get("approve") == "1", principal,
                                            str(data.get("note") or ""))
    return await _act(request, tenant, f"decide-{entry_id}", action, anchor="#deposits")


@post(BASE + "/charges", guards=[requires(Perm.MONEY_WRITE)])
async def charge_add(request: Request, tenant: Tenant) -> Response:
    return await _act(request, tenant, "charge", charges.add_manual_charge, anchor="#charges")


@post(BASE + "/charges/{charge_id:int}/adjust", guards=[requires(Perm.MONEY_WRITE)])
async def charge_adjust(request: Request, tenant: Tenant, charge_id: int) -> Response:
    async def action(ref, data, principal):
        await charges.adjust_charge(ref, charge_id, data, principal)
    return await _act(request, tenant, f"adjust-{charge_id}", action, anchor="#charges")


@post(BASE + "/payments", guards=[requires(Perm.MONEY_WRITE)])
async def payment_record(request: Request, tenant: Tenant) -> Response:
    return await _act(request, tenant, "payment", payments.record_payment, anchor="#payments")


@post(BASE + "/credit", guards=[requires(Perm.MONEY_WRITE)])
async def credit_apply(request: Request, tenant: Tenant) -> Response:
    return await _act(request, tenant, "credit", payments.apply_credit, anchor="#payments")


@post(BASE + "/payments/{payment_id:int}/reverse", guards=[requires(Perm.MONEY_WRITE)])
async def payment_reverse(request: Request, tenant: Tenant, payment_id: int) -> Response:
    async def action(ref, data, principal):
        await payments.reverse_payment(ref, payment_id, str(data.get("reason") or ""), principal)
    return await _act(request, tenant, f"reverse-{payment_id}", action, anchor="#payments")


@post(BASE + "/subscriptions", guards=[requires(Perm.MONEY_WRITE)])
async def subscription_add(request: Request, tenant: Tenant) -> Response:
    return await _act(request, tenant, "subscription", charges.add_subscription, anchor="#charges")


@post(BASE + "/notices", guards=[requires(Perm.MONEY_WRITE)])
async def notice_issue(request: Request, tenant: Tenant) -> Response:
    """A single notice on demand: rendered, filed, e-mailed now."""
    settings = request.app.state.settings

    async def action(ref, data, principal):
        kind = str(data.get("kind") or "")
        if kind not in ("arrears", "final_demand", "statement"):
            raise FormErrors({"kind": "Choose one of the options."})
        await notices_issue.issue(ref, kind, settings, actor=principal, locale=str(data.get("locale") or "zh"),
                            send_email=data.get("send_email") in ("1", "on"))
    return await _act(request, tenant, "notice", action, anchor="#notices")


@post(BASE + "/receipts/{kind:str}/{subject_id:int}", guards=[requires(Perm.MONEY_WRITE)])
async def receipt_issue(request: Request, tenant: Tenant, kind: str, subject_id: int) -> Response:
    """File (and e-mail) a payment or deposit receipt."""
    settings = request.app.state.settings

    async def action(ref, data, principal):
        if kind not in ("payment_receipt", "deposit_receipt"):
            raise FormErrors({"kind": "Choose one of the options."})
        await notices_issue.issue(ref, kind, settings, actor=principal, locale=str(data.get("locale") or "zh"),
                            subject_id=subject_id, send_email=data.get("send_email") in ("1", "on"))
    return await _act(request, tenant, "receipt", action, anchor="#notices")


@post(BASE + "/notices/{notice_id:int}/resend", guards=[requires(Perm.MONEY_WRITE)])
async def notice_resend(request: Request, tenant: Tenant, notice_id: int) -> Response:
    """Send again a notice whose e-mail was not delivered (or not confirmed)."""
    async def action(ref, data, principal):
        await notices_mail.resend(ref, notice_id, principal)
    return await _act(request, tenant, "notice", action, anchor="#notices")


@get(BASE + "/notices/{notice_id:int}/pdf", guards=[requires(Perm.MONEY_READ)])
async def notice_download(request: Request, tenant: Tenant, notice_id: int) -> Response:
    number, body = await notices.notice_pdf(tenant, notice_id, request.state.principal)
    return _pdf(body, f"{number}.pdf")


@get(BASE + "/receipts/{kind:str}/{subject_id:int}/pdf", guards=[requires(Perm.MONEY_READ)])
async def receipt_download(request: Request, tenant: Tenant, kind: str, subject_id: int) -> Response:
    locale = request.query_params.get("locale") or request.state.locale
    number, body = await notices_render.receipt_pdf(tenant, kind, subject_id, request.state.principal,
                                             request.app.state.settings, locale)
    return _pdf(body, f"{number}.pdf")


@get(BASE + "/statement.pdf", guards=[requires(Perm.MONEY_READ)])
async def statement_download(request: Request, tenant: Tenant) -> Response:
    locale = request.query_params.get("locale") or request.state.locale
    body = await notices_render.statement_pdf(tenant, request.state.principal, request.app.state.settings, locale)
    return _pdf(body, f"statement-{tenant.archive_no}.pdf")


ROUTES = [
    money_tab, deposit_receive, deposit_release, deposit_decide, charge_add, charge_adjust, payment_record,
    credit_apply, payment_reverse, subscription_add, notice_issue, receipt_issue, notice_resend, notice_download,
    receipt_download, statement_download,
]

