"""Notices and receipts: what each kind is, what it shows (its context, read
from the ledger), and reading an issued one back.

Kinds: arrears (催缴通知书), final_demand (最后催告函), statement (对账单),
payment_receipt (收款收据), deposit_receipt (押金收据).

The other parts: ``notices_render`` (the PDF, WeasyPrint), ``notices_issue``
(numbering, filing, the issuing transactions) and ``notices_mail`` (e-mail to
the tenant's notice contacts, delivery retries and resends).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from portal.core import audit, i18n
from portal.core.errors import Forbidden, NotFound
from portal.core.roles import Perm, Principal
from tenants.file.tables import Profile
from tenants.money import filing, queries, summary
from tenants.money.amounts import today
from tenants.money.credits import credit_label
from tenants.money.ledger import METHODS, fee_items_map, need
from tenants.money.tables import Allocation, Charge, Deposit, DepositEntry, DepositKind, Notice, Payment
from tenants.registry.service import TenantRef
from tenants.registry.tables import Tenant
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


async def build_context(ref: TenantRef, kind: str, settings, *, locale: str = "zh", subject_id: int | None = None,
                        as_of: dt.date | None = None, fee_items: dict | None = None) -> dict[str, Any]:
    """Everything a notice shows, from the tenant schema on the path (and core),
    in the caller's ``tenant_tx``. ``fee_items``: ``fee_items_map()`` when the
    caller already has it (a batch reads it once)."""
    as_of = as_of or today()
    items = fee_items if fee_items is not None else await fee_items_map()
    profile = await Profile.select(Profile.name, Profile.archive_no, Profile.registered_address).where(
        Profile.id == 1).first()
    registry = await Tenant.select(Tenant.unit_labels).where(Tenant.id == ref.id).first()
    ctx: dict[str, Any] = {
        "kind": kind, "office": office(settings, locale), "as_of": as_of, "issue_date": as_of,
        "tenant": {"name": profile["name"], "archive_no": profile["archive_no"],
                   "units": registry["unit_labels"] if registry else None, "address": profile["registered_address"]},
        "title": i18n.translations(locale).gettext(KINDS[kind]),
    }
    tr = i18n.translations(locale)
    if kind in ARREARS_KINDS or kind == "statement":
        totals = await summary.compute()
        ctx["totals"] = totals
        ctx["credit_fen"] = totals["credit_fen"]
        rows = [dict(r) for r in await queries.charge_nets(open_only=True) if r["due_date"] < as_of]
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
        for r in await queries.charge_nets():
            lines.append({"date": r["due_date"], "label": _label(items, r, locale), "debit": r["net_fen"],
                          "credit": 0, "order": (r["due_date"], 0, r["id"])})
        for p in await Payment.select().order_by(Payment.paid_on, Payment.id):
            word = tr.gettext("Payment") if p["kind"] == "payment" else tr.gettext("Reversal")
            if credit_label(p["method"], p["reference"], tr.gettext):  # an office credit: "Discount (complaint …)"
                word = credit_label(p["method"], p["reference"], tr.gettext) + (
                    "" if p["kind"] == "payment" else f" {tr.gettext('Reversal')}")
            lines.append({"date": p["paid_on"], "label": f"{word} {p['receipt_no']}", "debit": 0,
                          "credit": p["amount_fen"], "order": (p["paid_on"], 1, p["id"])})
        lines.sort(key=lambda line: line["order"])
        balance = 0
        for line in lines:
            balance += line["debit"] - line["credit"]
            line["balance"] = balance
        ctx["lines"] = lines
    elif kind == "payment_receipt":
        payment = await Payment.select().where((Payment.id == subject_id) & (Payment.kind == "payment")).first()
        if payment is None:
            raise NotFound("No such payment.")
        allocs = await _receipt_allocations(subject_id)
        for a in allocs:
            a["label"] = _label(items, a, locale)
        ctx.update(payment=payment, allocations=allocs, method_label=METHODS.get(payment["method"], "")
                   or credit_label(payment["method"], payment["reference"], tr.gettext),
                   unallocated_fen=payment["amount_fen"] - sum(a["amount_fen"] for a in allocs),
                   reversed=await Payment.exists().where(Payment.reverses_id == subject_id),
                   issue_date=payment["paid_on"])
        ctx["number"] = payment["receipt_no"]
    elif kind == "deposit_receipt":
        entry = await DepositEntry.select().where(
            (DepositEntry.id == subject_id) & (DepositEntry.kind == "receipt")).first()
        if entry is None:
            raise NotFound("No such deposit receipt.")
        deposit = await Deposit.select().where(Deposit.id == entry["deposit_id"]).first()
        kind_row = await DepositKind.select(DepositKind.name, DepositKind.name_en).where(
            DepositKind.code == deposit["kind"]).first()
        ctx.update(entry=entry, deposit=deposit, method_label=METHODS.get(entry["method"], ""),
                   kind_label=(kind_row["name"] if locale == "zh" else kind_row["name_en"]) if kind_row
                   else deposit["kind"], issue_date=entry["entry_date"])
        ctx["number"] = entry["receipt_no"]
    return ctx


async def _receipt_allocations(payment_id: int) -> list[dict[str, Any]]:
    """What a payment settled (positive allocations, in order), with each charge's naming fields."""
    allocs = await Allocation.select(Allocation.charge_id, Allocation.amount_fen).where(
        (Allocation.payment_id == payment_id) & (Allocation.amount_fen > 0)).order_by(Allocation.id)
    if not allocs:
        return []
    charges = {c["id"]: c for c in await Charge.select(
        Charge.id, Charge.fee_item, Charge.kind, Charge.period, Charge.description, Charge.due_date).where(
        Charge.id.is_in([a["charge_id"] for a in allocs]))}
    out = []
    for a in allocs:
        c = charges[a["charge_id"]]
        out.append({"fee_item": c["fee_item"], "kind": c["kind"], "period": c["period"],
                    "description": c["description"], "due_date": c["due_date"], "amount_fen": a["amount_fen"]})
    return out


def may_read(ref: TenantRef, principal: Principal) -> None:
    """Staff with MONEY_READ, or the tenant's own portal users."""
    if principal.is_staff:
        need(principal, Perm.MONEY_READ)
    elif not (principal.is_portal and principal.tenant_id == ref.id):
        raise Forbidden()


async def stored_pdf(ref: TenantRef, row) -> bytes | None:
    """A notice's PDF: the row's own copy, else the archived document (version 1, as issued)."""
    if row["pdf"] is not None:
        return bytes(row["pdf"])
    if row["document_id"] is None:
        return None
    return await filing.read_notice(ref, row["document_id"])


async def notice_pdf(ref: TenantRef, notice_id: int, principal: Principal) -> tuple[str, bytes]:
    """A stored notice's PDF; a portal user gets only its own tenant's visible ones."""
    may_read(ref, principal)
    async with tenant_tx(ref.schema):
        row = await Notice.select(Notice.number, Notice.pdf, Notice.document_id, Notice.visible_to_tenant).where(
            Notice.id == notice_id).first()
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
