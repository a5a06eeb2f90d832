"""Notices and receipts: build the context from the ledger, render the PDF
(WeasyPrint, documents/templates/pdf/money_*.html), file it in the tenant's
archive, and e-mail it to the contacts who receive notices.

Kinds: arrears (催缴通知书), final_demand (最后催告函), statement (对账单),
payment_receipt (收款收据), deposit_receipt (押金收据).
"""

from __future__ import annotations

import asyncio
import atexit
import datetime as dt
import gc
import logging
import os
import smtplib
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from pathlib import Path
from typing import Any

from portal.core import audit, i18n
from portal.core.jobs import on_commit
from portal.core.roles import Perm, Principal
from portal.core.db import DB
from portal.core.errors import Conflict, Forbidden, NotFound
from tenants.money import filing, queries, recovery, summary
from tenants.money.amounts import capitals, fmt, today
from tenants.money.ledger import METHODS, fee_items_map, need, next_number
from tenants.money.fonts import subset_fonts
from tenants.money.seal import seal_path
from tenants.registry.service import TenantRef
from tenants.scope import tenant_tx

N_ = i18n.N_
log = logging.getLogger(__name__)
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
                        as_of: dt.date | None = None, fee_items: dict | None = None) -> dict[str, Any]:
    """Everything a notice shows, from the tenant schema on the path (and core).
    ``fee_items``: ``fee_items_map()`` when the caller already has it (a batch reads it once)."""
    as_of = as_of or today()
    items = fee_items if fee_items is not None else await fee_items_map()
    profile = await conn.fetchrow(
        "SELECT p.name, p.archive_no, p.registered_address,"
        " (SELECT unit_labels FROM core.tenant WHERE id = $1) AS units FROM profile p WHERE p.id = 1", ref.id)
    units = profile["units"]
    ctx: dict[str, Any] = {
        "kind": kind, "office": office(settings, locale), "as_of": as_of, "issue_date": as_of,
        "tenant": {"name": profile["name"], "archive_no": profile["archive_no"], "units": units,
                   "address": profile["registered_address"]},
        "title": i18n.translations(locale).gettext(KINDS[kind]),
    }
    if kind in ARREARS_KINDS or kind == "statement":
        totals = await summary.compute()
        ctx["totals"] = totals
        ctx["credit_fen"] = totals["credit_fen"]
        rows = [dict(r) for r in await conn.fetch(
            f"SELECT * FROM ({queries.CHARGE_NET}) n WHERE open_fen > 0 AND due_date < $1 ORDER BY due_date, id", as_of)]
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
        for r in await conn.fetch(f"{queries.CHARGE_NET} ORDER BY c.due_date, c.id"):
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


_image_cache: dict = {}  # WeasyPrint's image cache, shared by all money renders: the seal is decoded once
_stylesheets: dict = {}  # (template, locale, fonts) -> the templates' static CSS, parsed once per process
# Let go of them before interpreter shutdown, while WeasyPrint can still clean up its font files.
atexit.register(_stylesheets.clear)
atexit.register(_image_cache.clear)
_render_pools: dict[int, ThreadPoolExecutor] = {}  # pid -> this process's render thread (none survives a fork)


def _render_pool() -> ThreadPoolExecutor:
    pool = _render_pools.get(os.getpid())
    if pool is None:
        pool = _render_pools[os.getpid()] = ThreadPoolExecutor(max_workers=1, thread_name_prefix="notice-render")
    return pool


def render_sync(kind: str, ctx: dict[str, Any], settings, locale: str = "zh") -> bytes:
    """Render one notice to PDF bytes (CPU-bound; call via ``render``)."""
    from documents.pdf import render_pdf, shared_stylesheet

    _install_filters()
    seal = seal_path(settings.data_path, settings.office_name, "财务专用章" if "receipt" in kind else "")
    fonts = subset_fonts(settings.data_path)
    font_urls = {k: p.as_uri() for k, p in fonts.items()} if fonts else None
    template = TEMPLATES[kind]
    with _render_lock:
        key = (template, locale, tuple(sorted(font_urls.items())) if font_urls else None)
        sheet = _stylesheets.get(key)
        if sheet is None:
            sheet = _stylesheets[key] = shared_stylesheet(template, locale=locale, seal_url=seal.as_uri(),
                                                          fonts=font_urls, **ctx)
        # WeasyPrint allocates hundreds of thousands of objects per page; the cyclic GC would walk
        # them again and again while they are alive. Collect the young generations once afterwards.
        gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            return render_pdf(template, locale=locale, seal_url=seal.as_uri(), fonts=font_urls,
                              image_cache=_image_cache, stylesheets=[sheet], shared_style=True, **ctx)
        finally:
            if gc_was_enabled:
                gc.enable()
                gc.collect(1)


def warm_up(settings) -> None:
    """Load WeasyPrint and register the notice fonts in this process ahead of its
    first render (a worker process about to take batch chunks). Does nothing
    if the fonts have not been made yet: making them takes a while."""
    from tenants.money.fonts import SOURCES, VERSION

    paths = [Path(settings.data_path) / "fonts" / f"money-sans-{k}-v{VERSION}.otf" for k in SOURCES]
    if not all(p.exists() for p in paths):
        return
    from weasyprint import CSS

    from documents.pdf import font_config

    with _render_lock:
        CSS(string="".join(f'@font-face {{ font-family: "Money Sans"; src: url({p.as_uri()}); font-weight: {w}; }}'
                           for p, w in zip(paths, (400, 700))), font_config=font_config())


def render_started(kind: str, ctx: dict[str, Any], settings, locale: str = "zh") -> asyncio.Future:
    """Start rendering on the process's render thread and return the future
    (a batch prepares and files other notices meanwhile)."""
    return asyncio.get_running_loop().run_in_executor(_render_pool(), render_sync, kind, ctx, settings, locale)


async def render(kind: str, ctx: dict[str, Any], settings, locale: str = "zh") -> bytes:
    return await render_started(kind, ctx, settings, locale)


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
#
# Issuing a notice: ``prepare`` (context and number from the ledger; one short transaction), the
# render (outside any transaction), ``store`` (archive document, ``notice`` row, change log and
# audit, committed together in a second one), then the e-mail and ``record_email`` (a third).
# ``issue`` does one notice; ``tenants.money.batches`` runs the same steps for a chunk of tenants,
# renders overlapping the database work, all e-mails over one SMTP connection.


@dataclass
class Prepared:
    kind: str
    locale: str
    ctx: dict[str, Any]
    subject_id: int | None = None
    existing: int | None = None  # a receipt already issued under this number
    numbered: bool = False  # took a fresh number from core.notice_seq (in the register)

    @property
    def number(self) -> str:
        return self.ctx["number"]

    @property
    def title(self) -> str:
        return f"{self.ctx['title']} {self.ctx['number']}"

    @property
    def amount(self) -> int | None:
        ctx = self.ctx
        if self.kind in ARREARS_KINDS:
            return ctx.get("overdue_fen")
        if self.kind == "statement":
            return ctx["totals"]["outstanding_fen"]
        return (ctx.get("payment") or ctx.get("entry") or {}).get("amount_fen")


async def prepare(conn, ref: TenantRef, kind: str, settings, *, locale: str = "zh", subject_id: int | None = None,
                  as_of: dt.date | None = None, fee_items: dict | None = None,
                  batch_id: int | None = None) -> Prepared:
    """The notice's context and number (in the caller's ``tenant_tx``). Raises
    Conflict for an arrears notice to a tenant with nothing overdue. A fresh
    number is reserved in the register (``recovery``) in the same transaction."""
    ctx = await build_context(conn, ref, kind, settings, locale=locale, subject_id=subject_id, as_of=as_of,
                              fee_items=fee_items)
    if kind in ARREARS_KINDS and ctx["overdue_fen"] <= 0:
        raise Conflict("This tenant has nothing overdue.")
    existing, numbered = None, False
    if "number" in ctx:  # receipts carry their own number: issued once, issuing again returns it
        existing = await conn.fetchval("SELECT id FROM notice WHERE number = $1", ctx["number"])
    else:  # a fresh number from the office-wide sequence: nobody has it yet
        ctx["number"] = await next_number(PREFIX[kind], "core.notice_seq", ctx["issue_date"])
        await recovery.reserve(ctx["number"], ref.id, batch_id)
        numbered = True
    return Prepared(kind, locale, ctx, subject_id, existing, numbered)


async def store(conn, ref: TenantRef, prepared: Prepared, pdf: bytes, *, actor: Principal,
                batch_id: int | None = None, visible_to_tenant: bool = True, emailing: bool = False) -> int:
    """File the rendered notice in the tenant's archive and record it (in the
    caller's ``tenant_tx``: the archive rows, the notice, its change-log and
    audit rows commit together). Returns the notice id.

    The ``notice`` row keeps its own copy of the PDF only when the archive is not
    available; otherwise downloads and e-mails read the archived document.
    ``emailing``: it is about to be handed to the mail server (``email_state``
    'sending' from this commit on, so a crash never sends it twice)."""
    kind, ctx, title, amount = prepared.kind, prepared.ctx, prepared.title, prepared.amount
    if prepared.numbered:
        await recovery.issue(prepared.number)
    document_id = await filing.file_notice(
        ref, category=CATEGORY[kind], title=title, issue_date=ctx["issue_date"], pdf_bytes=pdf,
        visible_to_tenant=visible_to_tenant, number=prepared.number, actor_name=actor.name)
    notice_id = await conn.fetchval(
        "INSERT INTO notice (kind, number, title, issue_date, locale, amount_fen, subject_id, pdf, document_id,"
        " visible_to_tenant, batch_id, created_by, email_state)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
        kind, prepared.number, title, ctx["issue_date"], prepared.locale, amount, prepared.subject_id,
        None if document_id else pdf, document_id, visible_to_tenant, batch_id, actor.name,
        "sending" if emailing else "")
    entity = "arrears" if kind in ARREARS_KINDS else "notice"
    await conn.execute(
        "INSERT INTO change_log (actor_kind, actor_name, entity, entity_id, field, old_value, new_value)"
        " VALUES ($1, $2, $3, $4, 'issued', '', $5)",
        actor.kind, actor.name, entity, notice_id, f"{title} {fmt(amount) if amount is not None else ''}".strip())
    await audit.record("money.notice.issue", principal=actor if actor.kind != "system" else None,
                       actor_name=actor.name, tenant_id=ref.id, target=f"notice:{notice_id}",
                       detail={"kind": kind, "number": prepared.number, "batch_id": batch_id})
    return notice_id


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
        prepared = await prepare(tx.connection, ref, kind, settings, locale=locale, subject_id=subject_id,
                                 as_of=as_of, batch_id=batch_id)
    if prepared.existing:  # a receipt is issued once; issuing it again returns it
        return prepared.existing
    try:
        pdf = await render(kind, prepared.ctx, settings, locale)
        async with tenant_tx(ref.schema) as tx:
            to = await recipients_in(tx.connection) if send_email else []
            notice_id = await store(tx.connection, ref, prepared, pdf, actor=actor, batch_id=batch_id,
                                    visible_to_tenant=visible_to_tenant, emailing=bool(to))
    except Exception:
        if prepared.numbered:
            await recovery.void([prepared.number], "failed")
        raise
    if to:
        mailer = Mailer(settings)
        try:
            error = await mailer.asend(mail_for(settings, to, prepared.number, prepared.title, locale, pdf))
        finally:
            await asyncio.to_thread(mailer.close)
        async with tenant_tx(ref.schema) as tx:
            await record_email(tx.connection, notice_id, to, error)
            if error:
                retry_after_commit(ref.id, notice_id, 1)
    return notice_id


async def recipients_in(conn) -> list[tuple[str, str]]:
    """The notice contacts of the tenant schema on the path."""
    rows = await conn.fetch(
        "SELECT name, email FROM contact WHERE active AND receives_notices AND email <> '' ORDER BY id")
    return [(r["name"], r["email"]) for r in rows]


async def recipients(ref: TenantRef) -> list[tuple[str, str]]:
    async with tenant_tx(ref.schema) as tx:
        return await recipients_in(tx.connection)


def mail_for(settings, to: list[tuple[str, str]], number: str, title: str, locale: str, pdf: bytes) -> EmailMessage:
    """The e-mail carrying a notice to the tenant's notice contacts."""
    tr = i18n.translations(locale)
    body = tr.gettext("Dear %(name)s,\n\nplease find attached %(title)s from %(office)s.\n\n%(office)s\n%(phone)s") % {
        "name": to[0][0], "title": title,
        "office": settings.office_name if locale == "zh" else settings.office_name_en,
        "phone": settings.office_phone}
    return _message(settings, to, f"{title} — {settings.office_name}", body, f"{number}.pdf", pdf)


def _message(settings, to: list[tuple[str, str]], subject: str, body: str, filename: str, pdf: bytes) -> EmailMessage:
    message = EmailMessage()
    message["From"] = formataddr((settings.office_name, settings.mail_from))
    message["To"] = ", ".join(formataddr(pair) for pair in to)
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain=settings.mail_from.split("@")[-1])
    message.set_content(body)
    message.add_attachment(pdf, maintype="application", subtype="pdf", filename=filename)
    return message


def failure_reason(exc: BaseException) -> str:
    """The stored (and shown, localized) reason of a failed delivery; the
    exception itself only goes to the log."""
    refused = (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError)
    return "rejected" if isinstance(exc, refused) else "unreachable"


class Mailer:
    """Sends messages over one SMTP connection (a batch chunk's notices), opened
    on first use. ``send`` returns '' or a reason code (``failure_reason``); it
    never raises for SMTP or network trouble, and the next message starts a new
    connection."""

    def __init__(self, settings):
        self.settings = settings
        self._smtp: smtplib.SMTP | None = None

    def send(self, message: EmailMessage) -> str:
        for attempt in (1, 2):
            reused = self._smtp is not None
            try:
                if self._smtp is None:
                    self._smtp = smtplib.SMTP(self.settings.smtp_host, self.settings.smtp_port, timeout=15)
                self._smtp.send_message(message)
                return ""
            except smtplib.SMTPServerDisconnected as exc:
                self.close()
                if reused and attempt == 1:
                    continue  # an idle connection the server dropped: once more, on a fresh one
                log.warning("e-mail not delivered: %s", exc)
                return failure_reason(exc)
            except (OSError, smtplib.SMTPException) as exc:
                self.close()
                log.warning("e-mail not delivered: %s", exc)
                return failure_reason(exc)
        return "unreachable"

    async def asend(self, message: EmailMessage) -> str:
        return await asyncio.to_thread(self.send, message)

    def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()


def send_mail_sync(settings, to: list[tuple[str, str]], subject: str, body: str, filename: str, pdf: bytes) -> None:
    message = _message(settings, to, subject, body, filename, pdf)
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=15) as smtp:
        smtp.send_message(message)


# A delivery attempt's outcome: $1 the notice, $2 to whom ('' on failure), $3 '' or the reason,
# $4 the state after a failure ('retrying', or 'failed' once the retries are spent).
EMAILED = ("UPDATE notice SET emailed_to = $2, emailed_at = CASE WHEN $3 = '' THEN now() ELSE emailed_at END,"
           " email_error = $3, email_state = CASE WHEN $3 = '' THEN 'sent' ELSE $4 END,"
           " email_attempts = email_attempts + 1 WHERE id = $1")
# Delivery retries (tasks/money.py email_notice): seconds before attempts 2, 3, 4; then 'failed'.
RETRY_BACKOFF = (60, 300, 1800)
MAX_ATTEMPTS = len(RETRY_BACKOFF) + 1
EMAIL_STATES = {
    "sent": N_("Sent"),
    "sending": N_("Delivery not confirmed"),
    "retrying": N_("Not delivered yet, retrying"),
}
EMAIL_FAILURES = {"unreachable": N_("Failed: mail server unreachable"),
                  "rejected": N_("Failed: refused by the mail server")}
RESENDABLE = ("sending", "retrying", "failed")


def email_status(state: str, reason: str) -> str:
    """The message id of a notice's delivery state, as shown ('' when not e-mailed)."""
    if state == "failed":
        return EMAIL_FAILURES.get(reason, EMAIL_FAILURES["unreachable"])
    return EMAIL_STATES.get(state, "")


async def record_email(conn, notice_id: int, to: list[tuple[str, str]], error: str, *, final: bool = False) -> int:
    """Note on the notice whom it went to (or why not). Returns how many addresses."""
    await conn.execute(EMAILED, notice_id, "" if error else ", ".join(e for _, e in to), error,
                       "failed" if final else "retrying")
    return 0 if error else len(to)


def retry_after_commit(tenant_id: int, notice_id: int, attempt: int) -> None:
    """Queue the next delivery attempt after a failed one (``attempt`` failed so
    far), once the transaction that recorded the failure commits."""
    from tasks.money import email_notice

    on_commit(email_notice, tenant_id, notice_id, countdown=retry_delay(attempt))


def retry_delay(attempts: int) -> int:
    return RETRY_BACKOFF[min(max(attempts, 1), len(RETRY_BACKOFF)) - 1]


async def deliver(ref: TenantRef, notice_id: int, settings) -> tuple[str, int]:
    """One delivery attempt of a notice whose e-mail is due (state 'retrying');
    returns the state after it and the attempts so far. After ``MAX_ATTEMPTS``
    failures the state is 'failed'."""
    async with tenant_tx(ref.schema) as tx:
        conn = tx.connection
        row = await conn.fetchrow("SELECT number, title, locale, pdf, document_id, batch_id, email_state,"
                                  " email_attempts FROM notice WHERE id = $1 FOR UPDATE", notice_id)
        if row is None or row["email_state"] != "retrying":
            return (row["email_state"], row["email_attempts"]) if row else ("", 0)
        final = row["email_attempts"] + 1 >= MAX_ATTEMPTS
        to = await recipients_in(conn)
        state = "sending" if to else ""
        await conn.execute("UPDATE notice SET email_state = $2 WHERE id = $1", notice_id, state)
        await _sync_item(conn, row["batch_id"], ref.id, state, 0)
    if not to:
        return "", row["email_attempts"]
    pdf = await stored_pdf(ref, row)
    mailer = Mailer(settings)
    try:
        error = await mailer.asend(mail_for(settings, to, row["number"], row["title"], row["locale"], pdf)) \
            if pdf is not None else "unreachable"
    finally:
        await asyncio.to_thread(mailer.close)
    state = "sent" if not error else "failed" if final else "retrying"
    async with tenant_tx(ref.schema) as tx:
        sent = await record_email(tx.connection, notice_id, to, error, final=final)
        await _sync_item(tx.connection, row["batch_id"], ref.id, state, sent)
    return state, row["email_attempts"] + 1


async def _sync_item(conn, batch_id: int | None, tenant_id: int, state: str, emailed: int) -> None:
    """Copy a batch notice's e-mail state to its batch item (the batch page counts them)."""
    if batch_id is not None:
        await conn.execute("UPDATE core.notice_batch_item SET email_state = $3, emailed = $4"
                           " WHERE batch_id = $1 AND tenant_id = $2", batch_id, tenant_id, state, emailed)


async def request_resend(conn, notice_ids: list[int], tenant_id: int) -> list[int]:
    """Make undelivered notices due again (a person's resend); returns those to queue."""
    rows = await conn.fetch(
        "UPDATE notice SET email_state = 'retrying', email_attempts = 0 WHERE id = ANY($1::int[])"
        " AND email_state = ANY($2::text[]) RETURNING id, batch_id", notice_ids, list(RESENDABLE))
    for r in rows:
        await _sync_item(conn, r["batch_id"], tenant_id, "retrying", 0)
    return [r["id"] for r in rows]


async def resend(ref: TenantRef, notice_id: int, principal: Principal) -> None:
    """A person resends a notice whose e-mail was not delivered (or not confirmed)."""
    need(principal, Perm.MONEY_WRITE)
    async with tenant_tx(ref.schema) as tx:
        if not await tx.connection.fetchval("SELECT 1 FROM notice WHERE id = $1", notice_id):
            raise NotFound("No such notice.")
        queued = await request_resend(tx.connection, [notice_id], ref.id)
        if not queued:
            raise Conflict("This notice's e-mail was delivered or is not due.")
        await audit.record("money.notice.resend", principal=principal, tenant_id=ref.id, target=f"notice:{notice_id}")
        from tasks.money import email_notice

        on_commit(email_notice, ref.id, notice_id)


async def stored_pdf(ref: TenantRef, row) -> bytes | None:
    """A notice's PDF: the row's own copy, else the archived document (version 1, as issued)."""
    if row["pdf"] is not None:
        return bytes(row["pdf"])
    if row["document_id"] is None:
        return None
    return await filing.read_notice(ref, row["document_id"])


async def email_notice(ref: TenantRef, notice_id: int, settings, mailer: Mailer | None = None) -> int:
    """Send a stored notice to the tenant's notice contacts. Returns how many
    addresses it went to; a failure is recorded on the notice (not raised)."""
    async with tenant_tx(ref.schema) as tx:
        row = await tx.connection.fetchrow(
            "SELECT number, title, locale, pdf, document_id FROM notice WHERE id = $1", notice_id)
        to = await recipients_in(tx.connection)
    if row is None:
        raise NotFound("No such notice.")
    if not to:
        return 0
    pdf = await stored_pdf(ref, row)
    if pdf is None:
        raise NotFound("No such notice.")
    async with tenant_tx(ref.schema) as tx:
        await tx.connection.execute("UPDATE notice SET email_state = 'sending' WHERE id = $1", notice_id)
    own = mailer is None
    mailer = mailer or Mailer(settings)
    try:
        error = await mailer.asend(mail_for(settings, to, row["number"], row["title"], row["locale"], pdf))
    finally:
        if own:
            await asyncio.to_thread(mailer.close)
    async with tenant_tx(ref.schema) as tx:
        return await record_email(tx.connection, notice_id, to, error)


async def notice_pdf(ref: TenantRef, notice_id: int, principal: Principal) -> tuple[str, bytes]:
    """A stored notice's PDF; a portal user gets only its own tenant's visible ones."""
    _may_read(ref, principal)
    async with tenant_tx(ref.schema) as tx:
        row = await tx.connection.fetchrow(
            "SELECT number, pdf, document_id, visible_to_tenant FROM notice WHERE id = $1", notice_id)
        if row is None or (row["pdf"] is None and row["document_id"] is None) or (
                principal.is_portal and not row["visible_to_tenant"]):
            raise NotFound("No such notice.")
    pdf = await stored_pdf(ref, row)
    if pdf is None:
        raise NotFound("No such notice.")
    if principal.is_staff:
        await audit.record("money.notice.download", principal=principal, tenant_id=ref.id,
                           target=f"notice:{notice_id}")
    return row["number"], pdf


async def statement_pdf(ref: TenantRef, principal: Principal, settings, locale: str = "zh") -> bytes:
    """A statement of account rendered on demand (not filed)."""
    _may_read(ref, principal)
    async with tenant_tx(ref.schema) as tx:
        ctx = await build_context(tx.connection, ref, "statement", settings, locale=locale)
    ctx["number"] = f"DZ{ctx['as_of']:%Y%m%d}-{ref.id}"
    return await render("statement", ctx, settings, locale)


async def tenant_of_notice_exists(tenant_id: int) -> bool:
    return bool(await DB.pool.fetchval("SELECT 1 FROM core.tenant WHERE id = $1", tenant_id))
