"""The repair slip (维修单): a PDF of the closed order, filed once in the
tenant's archive under repair records (category 'repairs')."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from portal.core import i18n
from tenants.registry.service import TenantRef
from tenants.scope import tenant_tx
from tenants.servicedesk import labels, queries
from tenants.servicedesk.tables import WorkOrder, WorkOrderEvent, WorkOrderPart

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _stamp(value: dt.datetime | None) -> str:
    return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") if value else "—"


def render(ref: TenantRef, order: dict, events: list[dict], settings, locale: str = "zh") -> bytes:
    from documents.pdf import render_pdf

    previous = i18n.get_locale()
    i18n.set_locale(locale)
    try:
        timeline = [{"at": _stamp(e["at"]), "text": labels.event_text(e)} for e in events]
        category, urgency = i18n.gettext(labels.CATEGORIES[order["category"]]), i18n.gettext(
            labels.URGENCIES[order["urgency"]])
    finally:
        i18n.set_locale(previous)
    office = settings.office_name if locale == "zh" else settings.office_name_en
    return render_pdf("repair_slip.html", locale=locale, order=order, tenant_name=ref.name,
                      archive_no=ref.archive_no, office_name=office, category=category, urgency=urgency,
                      timeline=timeline, stamp=_stamp)


async def file_slip(ref: TenantRef, order_id: int, settings, storage=None) -> int | None:
    """Render and file the slip of a closed order, in the transaction that
    records its document id (a second delivery finds it filed and stops)."""
    import anyio

    from documents.intake import file_generated_document

    async with tenant_tx(ref.schema):
        order = await WorkOrder.select().where(WorkOrder.id == order_id).first().run()
        if order is None or order["status"] != "closed" or order["slip_document_id"] is not None:
            return None
        order["parts"] = await WorkOrderPart.select().where(WorkOrderPart.order_id == order_id).run()
        events = await WorkOrderEvent.select().where(WorkOrderEvent.order_id == order_id).order_by(
            WorkOrderEvent.id).run()
    pdf = await anyio.to_thread.run_sync(lambda: render(ref, order, events, settings))
    async with tenant_tx(ref.schema) as tx:
        row = await queries.lock_order(tx.connection, order_id)
        if row is None or row["slip_document_id"] is not None:
            return None
        title = f"{i18n.translations('zh').gettext('Repair slip')} {order['number']}"
        doc_id = await file_generated_document(ref, "repairs", title, dt.datetime.now(SHANGHAI).date(), pdf,
                                               True, order["number"], actor_name="repairs",
                                               storage=storage)
        await WorkOrder.update({WorkOrder.slip_document_id: doc_id}).where(WorkOrder.id == order_id).run()
    return doc_id
