"""Notices and receipts: build the context from the ledger, render the PDF
(WeasyPrint, documents/templates/pdf/money_*.html), file it in the tenant's
archive, and e-mail it to the contacts who receive notices.

Kinds: arrears (催缴通知书), final_demand (最后催告函), statement (对账单),
payment_receipt (收款收据), deposit_receipt (押金收据).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import smtplib
import threading
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from typing import Any

from portal import audit, i18n
from portal.accounts.roles import Perm, Principal
from portal.db import DB
from portal.errors import Conflict, Forbidden, NotFound
from tenants.money import filing, summary
from tenants.money.amounts import capitals, fmt, today
from tenants.money.ledger import METHODS, fee_items_map, need, next_number
from tenants.money.fonts import subset_fonts
from tenants.money.seal import seal_path
from tenants.registry.service import TenantRef
from tenants.scope import tenant_tx

N_ = i18n.N_
KINDS = {
    "arrears": N_("Notice of arrears"),
    "final_demand": N_("Final demand for payment"),
    "statement": N_("Statement of account"),
    "payment_receipt": N_("Payment receipt"),
    "deposit_receipt": N_("Deposit receipt"),
}
PREFIX = {"arrears": "CJ", "final_demand": "ZC", "statement": "DZ"}
TEMPLATES = {"arrears": "money_arrears.html", "final_demand": "money_arrears.html",
             "statement": "money_statement.html", "payment_receipt": "money_payment_receipt.html",
             "deposit_receipt": "money_deposit_receipt.html"}
CATEGORY = {"arrears": "violations", "final_demand": "violations", "statement": "payments",
            "payment_receipt": "payments", "deposit_receipt": "payments"}
ARREARS_KINDS = ("arrears", "final_demand")
_render_lock = threading.Lock()  # WeasyPrint/Pango: one render at a time per process


def office(settings, locale: str) -> dict[str, str]:
    return {
        "name": settings.office_name if locale == "zh" else settings.office_name_en,
        "address": settings.office_address,
        "phone": settings.office_phone,
        "bank_name": settings.office_bank_name,
        "bank_account": settings.office_bank_account,
    }


def _label(item_names: dict, row: dict, locale: str) -> str:
    """A charge's name in the notice's language: the fee item and the month."""
    item = item_names.get(row["fee_item"])
    if item is None:
        return row["description"]
    name = item["name"] if locale == "zh" else item["name_en"]
    if row.get("kind") == "manual" and row.get("description") and row["description"] != item["name"]:
        return f"{name} · {row['description']}"
    return f"{name} {row['period']:%Y-%m}"


async def build_context(conn, ref: TenantRef, kind: str, settings, *, locale: str = "zh", subject_id: int | None = None,
                        as_of: dt.date | None = None) -> dict[str, Any]:
    """Everything a notice shows, from the tenant schema on the path (and core)."""
    as_of = as_of or today()
    items = await fee_items_map()
    profile = await conn.fetchrow("SELECT name, archive_no, registered_address FROM profile WHERE id = 1")
    units = await conn.fetchval("SELECT unit_labels FROM core.tenant WHERE id = $1", ref.id)
    ctx: dict[str, Any] = {
        "kind": kind, "office": office(settings, locale), "as_of": as_of, "issue_date": as_of,
        "tenant": {"name": profile["name"], "archive_no": profile["archive_no"], "units": units,
                   "address": profile["registered_address"]},
        "title": i18n.translations(locale).gettext(KINDS[kind]),
    }
    if kind in ARREARS_KINDS or kind == "statement":
        totals = await summary.compute(conn)
        ctx["totals"] = totals
        ctx["credit_fen"] = totals["credit_fen"]
        rows = [dict(r) for r in await conn.fetch(
            f"SELECT * FROM ({summary.CHARGE_NET}) n WHERE open_fen > 0 AND due_date < $1 ORDER BY due_date, id", as_of)]
        for r in rows:
            r["label"] = _label(items, r, locale)
            r["days"] = (as_of - r["due_date"]).days
        ctx["overdue"] = rows
        ctx["overdue_fen"] = sum(r["open_fen"] for r in rows)
        days = settings.final_demand_days if kind == "final_demand" else settings.notice_pay_within_days
        ctx["pay_by"] = as_of + dt.timedelta(days=days)
        ctx["final"] = kind == "final_demand"
    if kind == "statement":
        lines = []
        for r in await conn.fetch(f"{summary.CHARGE_NET} ORDER BY c.due_date, c.id"):
            lines.append({"date": r["due_date"], "label": _label(items, dict(r), locale), "debit": r["net_fen"],
                          "credit": 0, "order": (r["due_date"], 0, r["id"])})
        for p in await conn.fetch("SELECT * FROM payment ORDER BY paid_on, id"):
            tr = i18n.translations(locale)
            word = tr.gettext("Payment") if p["kind"] == "payment" else tr.gettext("Reversal")
            lines.append({"date": p["paid_on"], "label": f"{word} {p['receipt_no']}", "debit": 0,
                          "credit": p["amount_fen"], "order": (p["paid_on"], 1, p["id"])})
        lines.sort(key=lambda line: line["order"])
        balance = 0
        for line in lines:
            balance += line["debit"] - line["credit"]
            line["balance"] = balance
        ctx["lines"] = lines
    elif kind == "payment_receipt":
        payment = await conn.fetchrow("SELECT * FROM payment WHERE id = $1 AND kind = 'payment'", subject_id)
        if payment is None:
            raise NotFound("No such payment.")
        allocs = [dict(r) for r in await conn.fetch(
            "SELECT c.fee_item, c.kind, c.period, c.description, c.due_date, a.amount_fen FROM allocation a"
            " JOIN charge c ON c.id = a.charge_id WHERE a.payment_id = $1 AND a.amount_fen > 0 ORDER BY a.id",
            subject_id)]
        for a in allocs:
            a["label"] = _label(items, a, locale)
        ctx.update(payment=dict(payment), allocations=allocs, method_label=METHODS.get(payment["method"], ""),
                   unallocated_fen=payment["amount_fen"] - sum(a["amount_fen"] for a in allocs),
                   reversed=bool(await conn.fetchval("SELECT 1 FROM payment WHERE reverses_id = $1", subject_id)),
                   issue_date=payment["paid_on"])
        ctx["number"] = payment["receipt_no"]
    elif kind == "deposit_receipt":
        entry = await conn.fetchrow("SELECT * FROM deposit_entry WHERE id = $1 AND kind = 'receipt'", subject_id)
        if entry is None:
            raise NotFound("No such deposit receipt.")
        deposit = await conn.fetchrow("SELECT * FROM deposit WHERE id = $1", entry["deposit_id"])
        kind_row = await conn.fetchrow("SELECT name, name_en FROM core.deposit_kind WHERE code = $1", deposit["kind"])
        ctx.update(entry=dict(entry), deposit=dict(deposit), method_label=METHODS.get(entry["method"], ""),
                   kind_label=(kind_row["name"] if locale == "zh" else kind_row["name_en"]) if kind_row
                   else deposit["kind"], issue_date=entry["entry_date"])
        ctx["number"] = entry["receipt_no"]
    return ctx


def _install_filters() -> None:
    from documents.pdf import environment

    env = environment()
    if "fen" not in env.filters:
        env.filters["fen"] = fmt
        env.filters["capitals"] = capitals


def render_sync(kind: str, ctx: dict[str, Any], settings, locale: str = "zh") -> bytes:
    """Render one notice to PDF bytes (CPU-bound; call via ``render``)."""
    from documents.pdf import render_pdf

    _install_filters()
    seal = seal_path(settings.data_path, settings.office_name, "财务专用章" if "receipt" in kind else "")
    fonts = subset_fonts(settings.data_path)
    font_urls = {k: p.as_uri() for k, p in fonts.items()} if fonts else None
    with _render_lock:
        return render_pdf(TEMPLATES[kind], locale=locale, seal_url=seal.as_uri(), fonts=font_urls, **ctx)


async def render(kind: str, ctx: dict[str, Any], settings, locale: str = "zh") -> bytes:
    return await asyncio.to_thread(render_sync, kind, ctx, settings, locale)


async def receipt_pdf(ref: TenantRef, kind: str, subject_id: int, principal: Principal, settings,
                      locale: str = "zh") -> tuple[str, bytes]:
    """A payment or deposit receipt rendered on demand from the ledger."""
    if kind not in ("payment_receipt", "deposit_receipt"):
        raise NotFound()
    _may_read(ref, principal)
    async with tenant_tx(ref.schema) as tx:
        ctx = await build_context(tx.connection, ref, kind, settings, locale=locale, subject_id=subject_id)
    return ctx["number"], await render(kind, ctx, settings, locale)


def _may_read(ref: TenantRef, principal: Principal) -> None:
    if principal.is_staff:
        need(principal, Perm.MONEY_READ)
    elif not (principal.is_portal and principal.tenant_id == ref.id):
        raise Forbidden()


# --- issuing ------------------------------------------------------------------------------------

async def issue(ref: TenantRef, kind: str, settings, *, actor: Principal, locale: str = "zh",
                subject_id: int | None = None, as_of: dt.date | None = None, send_email: bool = True,
                batch_id: int | None = None, visible_to_tenant: bool = True) -> int:
    """Generate a notice, file it in the tenant's archive, e-mail it. Returns the notice id."""
    if kind not in KINDS:
        raise NotFound("No such kind of notice.")
    if actor.kind != "system":
        need(actor, Perm.MONEY_WRITE)
    locale = locale if locale in i18n.LOCALES else "zh"
    async with tenant_tx(ref.schema) as tx:
        conn = tx.connection
        ctx = await build_context(conn, ref, kind, settings, locale=locale, subject_id=subject_id, as_of=as_of)
        if kind in ARREARS_KINDS and ctx["overdue_fen"] <= 0:
            raise Conflict("This tenant has nothing overdue.")
        if "number" not in ctx:
            ctx["number"] = await next_number(conn, PREFIX[kind], "core.notice_seq", ctx["issue_date"])
        existing = await conn.fetchval("SELECT id FROM notice WHERE number = $1", ctx["number"])
    if existing:  # a receipt is issued once; issuing it again returns it
        return existing
    pdf = await render(kind, ctx, settings, locale)
    amount = ctx.get("overdue_fen") if kind in ARREARS_KINDS else (
        ctx["totals"]["outstanding_fen"] if kind == "statement" else
        (ctx.get("payment") or ctx.get("entry") or {}).get("amount_fen"))
    title = f"{ctx['title']} {ctx['number']}"
    async with tenant_tx(ref.schema) as tx:
        conn = tx.connection
        notice_id = await conn.fetchval(
            "INSERT INTO notice (kind, number, title, issue_date, locale, amount_fen, subject_id, pdf,"
            " visible_to_tenant, batch_id, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
            " RETURNING id",
            kind, ctx["number"], title, ctx["issue_date"], locale, amount, subject_id, pdf, visible_to_tenant,
            batch_id, actor.name)
        document_id = await filing.file_notice(
            ref, category=CATEGORY[kind], title=title, issue_date=ctx["issue_date"], pdf_bytes=pdf,
            visible_to_tenant=visible_to_tenant, number=ctx["number"], actor_name=actor.name)
        if document_id:
            await conn.execute("UPDATE notice SET document_id = $2 WHERE id = $1", notice_id, document_id)
        entity = "arrears" if kind in ARREARS_KINDS else "notice"
        await conn.execute(
            "INSERT INTO change_log (actor_kind, actor_name, entity, entity_id, field, old_value, new_value)"
            " VALUES ($1, $2, $3, $4, 'issued', '', $5)",
            actor.kind, actor.name, entity, notice_id, f"{title} {fmt(amount) if amount is not None else ''}".strip())
        await audit.record("money.notice.issue", principal=actor if actor.kind != "system" else None,
                           actor_name=actor.name, tenant_id=ref.id, target=f"notice:{notice_id}",
                           detail={"kind": kind, "number": ctx["number"], "batch_id": batch_id})
    if send_email:
        await email_notice(ref, notice_id, settings)
    return notice_id


async def recipients(ref: TenantRef) -> list[tuple[str, str]]:
    async with tenant_tx(ref.schema) as tx:
        rows = await tx.connection.fetch(
            "SELECT name, email FROM contact WHERE active AND receives_notices AND email <> '' ORDER BY id")
    return [(r["name"], r["email"]) for r in rows]


def send_mail_sync(settings, to: list[tuple[str, str]], subject: str, body: str, filename: str, pdf: bytes) -> None:
    message = EmailMessage()
    message["From"] = formataddr((settings.office_name, settings.mail_from))
    message["To"] = ", ".join(formataddr(pair) for pair in to)
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain=settings.mail_from.split("@")[-1])
    message.set_content(body)
    message.add_attachment(pdf, maintype="application", subtype="pdf", filename=filename)
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=15) as smtp:
        smtp.send_message(message)


async def email_notice(ref: TenantRef, notice_id: int, settings) -> int:
    """Send a stored notice to the tenant's notice contacts. Returns how many
    addresses it went to; a failure is recorded on the notice (not raised)."""
    to = await recipients(ref)
    async with tenant_tx(ref.schema) as tx:
        row = await tx.connection.fetchrow("SELECT number, title, locale, pdf FROM notice WHERE id = $1", notice_id)
    if row is None:
        raise NotFound("No such notice.")
    if not to:
        return 0
    tr = i18n.translations(row["locale"])
    body = tr.gettext("Dear %(name)s,\n\nplease find attached %(title)s from %(office)s.\n\n%(office)s\n%(phone)s") % {
        "name": to[0][0], "title": row["title"],
        "office": settings.office_name if row["locale"] == "zh" else settings.office_name_en,
        "phone": settings.office_phone}
    error = ""
    try:
        await asyncio.to_thread(send_mail_sync, settings, to, f"{row['title']} — {settings.office_name}", body,
                                f"{row['number']}.pdf", bytes(row["pdf"]))
    except (OSError, smtplib.SMTPException) as exc:
        error = f"{type(exc).__name__}: {exc}"[:500]
    async with tenant_tx(ref.schema) as tx:
        await tx.connection.execute(
            "UPDATE notice SET emailed_to = $2, emailed_at = CASE WHEN $3 = '' THEN now() ELSE emailed_at END,"
            " email_error = $3 WHERE id = $1", notice_id, "" if error else ", ".join(e for _, e in to), error)
    return 0 if error else len(to)


async def notice_pdf(ref: TenantRef, notice_id: int, principal: Principal) -> tuple[str, bytes]:
    """A stored notice's PDF; a portal user gets only its own tenant's visible ones."""
    _may_read(ref, principal)
    async with tenant_tx(ref.schema) as tx:
        row = await tx.connection.fetchrow(
            "SELECT number, pdf, visible_to_tenant FROM notice WHERE id = $1", notice_id)
        if row is None or row["pdf"] is None or (principal.is_portal and not row["visible_to_tenant"]):
            raise NotFound("No such notice.")
        if principal.is_staff:
            await audit.record("money.notice.download", principal=principal, tenant_id=ref.id,
                               target=f"notice:{notice_id}")
    return row["number"], bytes(row["pdf"])


async def statement_pdf(ref: TenantRef, principal: Principal, settings, locale: str = "zh") -> bytes:
    """A statement of account rendered on demand (not filed)."""
    _may_read(ref, principal)
    async with tenant_tx(ref.schema) as tx:
        ctx = await build_context(tx.connection, ref, "statement", settings, locale=locale)
    ctx["number"] = f"DZ{ctx['as_of']:%Y%m%d}-{ref.id}"
    return await render("statement", ctx, settings, locale)


async def tenant_of_notice_exists(tenant_id: int) -> bool:
    return bool(await DB.pool.fetchval("SELECT 1 FROM core.tenant WHERE id = $1", tenant_id))
