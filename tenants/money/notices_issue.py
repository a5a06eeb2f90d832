"""Issuing a notice: its number, filing it in the tenant's archive, and the
transactions around the render.

``prepare`` (context and number from the ledger; one short transaction), the
render (outside any transaction), ``store`` (archive document, ``notice`` row,
change log and audit, committed together in a second one), then the e-mail and
its record (a third). ``issue`` does one notice; ``tenants.money.batches`` runs
the same steps for a chunk of tenants, renders overlapping the database work,
all e-mails over one SMTP connection.

Every fresh number is in the register (``recovery``): reserved with the
context, issued with the notice, or void when the notice is never filed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from portal.core import audit, i18n, mail
from portal.core.errors import Conflict, NotFound
from portal.core.roles import Perm, Principal
from tenants.file import changelog
from tenants.money import filing, notices_mail, recovery
from tenants.money.amounts import fmt
from tenants.money.ledger import need, next_number
from tenants.money.notices import ARREARS_KINDS, CATEGORY, KINDS, PREFIX, build_context
from tenants.money.notices_render import render
from tenants.money.tables import Notice
from tenants.registry.service import TenantRef
from tenants.scope import tenant_tx


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


async def prepare(ref: TenantRef, kind: str, settings, *, locale: str = "zh", subject_id: int | None = None,
                  as_of: dt.date | None = None, fee_items: dict | None = None,
                  batch_id: int | None = None) -> Prepared:
    """The notice's context and number (in the caller's ``tenant_tx``). Raises
    Conflict for an arrears notice to a tenant with nothing overdue. A fresh
    number is reserved in the register (``recovery``) in the same transaction."""
    ctx = await build_context(ref, kind, settings, locale=locale, subject_id=subject_id, as_of=as_of,
                              fee_items=fee_items)
    if kind in ARREARS_KINDS and ctx["overdue_fen"] <= 0:
        raise Conflict("This tenant has nothing overdue.")
    existing, numbered = None, False
    if "number" in ctx:  # receipts carry their own number: issued once, issuing again returns it
        row = await Notice.select(Notice.id).where(Notice.number == ctx["number"]).first()
        existing = row["id"] if row else None
    else:  # a fresh number from the office-wide sequence: nobody has it yet
        ctx["number"] = await next_number(PREFIX[kind], "core.notice_seq", ctx["issue_date"])
        await recovery.reserve(ctx["number"], ref.id, batch_id)
        numbered = True
    return Prepared(kind, locale, ctx, subject_id, existing, numbered)


async def store(ref: TenantRef, prepared: Prepared, pdf: bytes, *, actor: Principal,
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
    [row] = await Notice.insert(Notice(
        kind=kind, number=prepared.number, title=title, issue_date=ctx["issue_date"], locale=prepared.locale,
        amount_fen=amount, subject_id=prepared.subject_id, pdf=None if document_id else pdf, document_id=document_id,
        visible_to_tenant=visible_to_tenant, batch_id=batch_id, created_by=actor.name,
        email_state="sending" if emailing else "",
    )).returning(Notice.id)
    notice_id = row["id"]
    entity = "arrears" if kind in ARREARS_KINDS else "notice"
    await changelog.record(changelog.Actor(actor.kind, actor.name), entity, "issued", "",
                           f"{title} {fmt(amount) if amount is not None else ''}".strip(), entity_id=notice_id)
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
    async with tenant_tx(ref.schema):
        prepared = await prepare(ref, kind, settings, locale=locale, subject_id=subject_id, as_of=as_of,
                                 batch_id=batch_id)
    if prepared.existing:  # a receipt is issued once; issuing it again returns it
        return prepared.existing
    try:
        pdf = await render(kind, prepared.ctx, settings, locale)
        async with tenant_tx(ref.schema):
            to = await notices_mail.recipients() if send_email else []
            notice_id = await store(ref, prepared, pdf, actor=actor, batch_id=batch_id,
                                    visible_to_tenant=visible_to_tenant, emailing=bool(to))
    except Exception:
        if prepared.numbered:
            await recovery.void([prepared.number], "failed")
        raise
    if to:
        mailer = mail.Mailer(settings)
        try:
            error = await mailer.asend(notices_mail.mail_for(settings, to, prepared.number, prepared.title, locale,
                                                             pdf))
        finally:
            await mailer.aclose()
        async with tenant_tx(ref.schema):
            await notices_mail.record_email(notice_id, to, error)
            if error:
                notices_mail.retry_after_commit(ref.id, notice_id, 1)
    return notice_id
