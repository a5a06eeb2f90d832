"""Console: fee items, monthly billing runs, the arrears report across
tenants, and notice batches. Progress pages poll a fragment with HTMX every
two seconds and, without JavaScript, refresh themselves."""

from __future__ import annotations

from litestar import Request, get, post
from litestar.response import Redirect, Response, Template

from portal.core import jobs
from portal.core.roles import Perm
from portal.core.errors import FormErrors
from portal.routes.console.money import install_filters
from portal.routes.forms import form_dict, int_or_none, page_number
from portal.web.render import form_errors, render, requires
from tasks import money as money_tasks
from tenants.money import arrears, batches, billing, ledger, recovery
from tenants.money.amounts import AmountError, next_month_label, parse_date, today


def _ctx(request: Request, **extra) -> dict:
    install_filters(request)
    return {"principal": request.state.principal, **extra}


# --- fee items ----------------------------------------------------------------------------------

@get("/console/money/fee-items", guards=[requires(Perm.MONEY_READ)])
async def fee_items(request: Request) -> Template:
    return render("console/money/fee_items.html", **_ctx(request, items=await ledger.fee_items_map(),
                  bases=billing.BASES, errors={}, values={}, editing=""))


@post("/console/money/fee-items", guards=[requires(Perm.BILLING_RUN)])
async def fee_item_save(request: Request) -> Response:
    data = await form_dict(request)
    code = str(data.get("code") or "")
    try:
        await billing.save_fee_item(code, data, request.state.principal, create=data.get("new") == "1")
    except FormErrors as exc:
        return render("console/money/fee_items.html", status_code=422, **_ctx(
            request, items=await ledger.fee_items_map(), bases=billing.BASES, errors=form_errors(exc), values=data,
            editing=code or "new"))
    return Redirect("/console/money/fee-items?saved=1")


# --- billing runs -------------------------------------------------------------------------------

@get("/console/money/billing", guards=[requires(Perm.MONEY_READ)])
async def billing_runs(request: Request) -> Template:
    return render("console/money/billing.html", **_ctx(request, runs=await billing.list_runs(), errors={},
                  values={"period": next_month_label()}))


@post("/console/money/billing", guards=[requires(Perm.BILLING_RUN)])
async def billing_start(request: Request) -> Response:
    data = await form_dict(request)
    try:
        run_id = await billing.start_run(data.get("period"), request.state.principal)
    except FormErrors as exc:
        return render("console/money/billing.html", status_code=422, **_ctx(
            request, runs=await billing.list_runs(), errors=form_errors(exc), values=data))
    await jobs.send_now(money_tasks.billing_run, run_id)  # start_run has committed
    return Redirect(f"/console/money/billing/{run_id}")


@get("/console/money/billing/{run_id:int}", guards=[requires(Perm.MONEY_READ)])
async def billing_run_page(request: Request, run_id: int) -> Template:
    run = await billing.run_progress(run_id)
    template = "console/money/_run_progress.html" if request.headers.get("hx-request") \
        else "console/money/billing_run.html"
    return render(template, **_ctx(request, run=run, failures=await billing.failures(run_id, request.state.principal)))


@post("/console/money/billing/{run_id:int}/resume", guards=[requires(Perm.BILLING_RUN)])
async def billing_resume(request: Request, run_id: int) -> Response:
    run = await billing.run_progress(run_id)
    await billing.start_run(run["period"], request.state.principal)
    await jobs.send_now(money_tasks.billing_run, run_id)
    return Redirect(f"/console/money/billing/{run_id}")


# --- arrears ------------------------------------------------------------------------------------

@get("/console/money/arrears", guards=[requires(Perm.MONEY_READ)])
async def arrears_report(request: Request, as_of: str = "", building: str = "", page: str = "1",
                         min_days: str = "1") -> Template:
    principal = request.state.principal
    try:
        day = parse_date(as_of, default=today())
    except AmountError:
        day = today()
    building_id = int_or_none(building, "building")
    report = await arrears.arrears_by_tenant(principal, as_of=day, building_id=building_id,
                                             min_days=int_or_none(min_days, "min_days") or 1, page=page_number(page))
    rates = await arrears.collection_rates(principal, until=day, building_id=building_id)
    pages = max(1, (report["totals"]["tenants"] + report["per_page"] - 1) // report["per_page"])
    return render("console/money/arrears.html", **_ctx(request, report=report, rates=rates, buckets=arrears.BUCKETS,
                  page=report["page"], pages=pages, building=building, min_days=min_days))


# --- notice batches -----------------------------------------------------------------------------

@get("/console/money/notices", guards=[requires(Perm.MONEY_READ)])
async def batch_list(request: Request) -> Template:
    return render("console/money/batches.html", **_ctx(request, batches=await batches.list_batches(), errors={},
                  values={"as_of": today().isoformat(), "min_days": "1"}))


@post("/console/money/notices", guards=[requires(Perm.BILLING_RUN)])
async def batch_create(request: Request) -> Response:
    data = await form_dict(request)
    try:
        batch_id = await batches.create_batch(data, request.state.principal)
    except FormErrors as exc:
        return render("console/money/batches.html", status_code=422, **_ctx(
            request, batches=await batches.list_batches(), errors=form_errors(exc), values=data))
    await jobs.send_now(money_tasks.notice_batch, batch_id)
    return Redirect(f"/console/money/notices/{batch_id}")


@get("/console/money/notices/{batch_id:int}", guards=[requires(Perm.MONEY_READ)])
async def batch_page(request: Request, batch_id: int) -> Template:
    info = await batches.progress(batch_id)
    template = "console/money/_batch_progress.html" if request.headers.get("hx-request") \
        else "console/money/batch.html"
    return render(template, **_ctx(request, batch=info, voids=await recovery.void_numbers(request.state.principal,
                                                                                   batch_id=batch_id)))


@get("/console/money/notices/{batch_id:int}/progress", guards=[requires(Perm.MONEY_READ)])
async def batch_progress_json(batch_id: int) -> dict:
    info = await batches.progress(batch_id)
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in info.items()}


@post("/console/money/notices/{batch_id:int}/cancel", guards=[requires(Perm.BILLING_RUN)])
async def batch_cancel(request: Request, batch_id: int) -> Response:
    await batches.cancel(batch_id, request.state.principal)
    return Redirect(f"/console/money/notices/{batch_id}")


@post("/console/money/notices/{batch_id:int}/resume", guards=[requires(Perm.BILLING_RUN)])
async def batch_resume(request: Request, batch_id: int) -> Response:
    await batches.resume(batch_id, request.state.principal)
    await jobs.send_now(money_tasks.notice_batch, batch_id)
    return Redirect(f"/console/money/notices/{batch_id}")


@post("/console/money/notices/{batch_id:int}/resend", guards=[requires(Perm.BILLING_RUN)])
async def batch_resend(request: Request, batch_id: int) -> Response:
    """Resend the batch's e-mails that were not delivered (or not confirmed)."""
    await batches.resend_failed(batch_id, request.state.principal)  # queues the deliveries on commit
    return Redirect(f"/console/money/notices/{batch_id}")


@get("/console/money/numbers", guards=[requires(Perm.MONEY_READ)])
async def void_numbers(request: Request) -> Template:
    """The register of notice numbers taken but never issued, with the reason."""
    return render("console/money/void_numbers.html", **_ctx(request, voids=await recovery.void_numbers(request.state.principal)))


ROUTES = [
    fee_items, fee_item_save, billing_runs, billing_start, billing_run_page, billing_resume, arrears_report,
    batch_list, batch_create, batch_page, batch_progress_json, batch_cancel, batch_resume, batch_resend, void_numbers,
]
