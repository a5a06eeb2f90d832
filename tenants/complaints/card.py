"""The complaint card (投诉管理卡): a PDF with the whole history, rendered by
WeasyPrint with the CJK fonts of the other PDFs (``documents.pdf``), and filed
in the tenant's archive (category 'complaints') when the case closes."""

from __future__ import annotations

import anyio

from portal.core import audit
from portal.core.settings import load_settings
from tenants.complaints import flow
from tenants.complaints.tables import Complaint, ComplaintStep
from tenants.money import credits
from tenants.registry.service import TenantRef
from tenants.scope import tenant_tx

DECISIONS = {"record": "Lodged the complaint", "approve": "Done", "reject": "Does not stand", "send_back": "Sent back",
             "escalate": "Escalated"}


async def _data(ref: TenantRef, complaint_id: int) -> tuple[dict | None, list[dict]]:
    async with tenant_tx(ref.schema):
        row = await Complaint.select().where(Complaint.id == complaint_id).first().run()
        steps = await ComplaintStep.select().where(ComplaintStep.complaint_id == complaint_id).order_by(
            ComplaintStep.id).run()
        if row is not None and row["remedy_fen"]:  # the ledger credit of an approved money remedy
            row = {**row, "credit": await credits.for_complaint(row["number"])}
    return row, steps


def render(ref: TenantRef, row: dict, steps: list[dict], *, office_name: str, locale: str = "zh") -> bytes:
    from documents.pdf import render_pdf

    return render_pdf("complaint_card.html", locale=locale, ref=ref, c=row, steps=steps, office_name=office_name,
                      labels=flow.STEP_LABELS, numbers=flow.STEP_NUMBERS, grades=flow.GRADES,
                      channels=flow.CHANNELS, remedies=flow.REMEDY_KINDS, decisions=DECISIONS)


async def card_pdf(ref: TenantRef, complaint_id: int, locale: str = "zh") -> bytes | None:
    """The card as it stands now (None: no such complaint)."""
    row, steps = await _data(ref, complaint_id)
    if row is None:
        return None
    settings = load_settings()
    name = settings.office_name if locale == "zh" else settings.office_name_en
    return await anyio.to_thread.run_sync(lambda: render(ref, row, steps, office_name=name, locale=locale))


async def file_card(ref: TenantRef, complaint_id: int) -> int | None:
    """File the closed case's card once; returns the document id (None when
    the case is not closed or there is no archive). A second call finds the
    card filed and does nothing."""
    row, _ = await _data(ref, complaint_id)
    if row is None or row["status"] == "open" or row["card_document_id"] is not None:
        return row["card_document_id"] if row else None
    pdf = await card_pdf(ref, complaint_id)
    try:
        from documents.intake import file_generated_document
    except ImportError:  # no archive in this deployment
        return None
    async with tenant_tx(ref.schema):
        locked = await Complaint.select(Complaint.card_document_id).where(
            Complaint.id == complaint_id).lock_rows("UPDATE").first().run()
        if locked["card_document_id"] is not None:
            return locked["card_document_id"]
        closed = row["closed_at"]
        doc_id = await file_generated_document(ref, "complaints", f"投诉管理卡 {row['number']}",
                                               closed.date(), pdf, False, row["number"])
        await Complaint.update({Complaint.card_document_id: doc_id}).where(Complaint.id == complaint_id)
        await audit.record("complaint.card", actor_name="system", tenant_id=ref.id,
                           target=f"complaint:{row['number']}", detail={"number": row["number"]})
    return doc_id
