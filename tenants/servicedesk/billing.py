"""A billable repair (parts and paid labour) becomes a charge in the tenant's
ledger once finance approves it, through money's own charges service."""

from __future__ import annotations

import datetime as dt

from portal.core import audit
from portal.core.errors import Conflict, Forbidden, NotFound
from portal.core.roles import Perm, Principal
from portal.core.workdays import today
from tenants.registry.service import TenantRef
from tenants.scope import tenant_tx
from tenants.servicedesk.service import event, locked
from tenants.servicedesk.tables import WorkOrder, WorkOrderPart

PAY_WITHIN_DAYS = 7


def reason_for(number: str) -> str:
    return f"维修单 {number}"


async def approve_charge(ref: TenantRef, principal: Principal, order_id: int) -> int:
    """Finance approves the repair's parts and labour as a charge; returns the
    charge id. Twice is once: a charge already raised for the order (even one
    whose link was lost in a crash) is found by its reason and reused."""
    from tenants.money import charges
    from tenants.money.tables import Charge

    if not (principal.can(Perm.MONEY_APPROVE) and principal.can(Perm.MONEY_WRITE)):
        raise Forbidden()
    async with tenant_tx(ref.schema):
        order = await WorkOrder.select().where(WorkOrder.id == order_id).first().run()
        if order is None:
            raise NotFound("This repair order does not exist.")
        if order["charge_id"] is not None:
            return order["charge_id"]
        if order["status"] not in ("completed", "closed") or not order["billable"]:
            raise Conflict("This step does not fit the order's current state.")
        parts = await WorkOrderPart.select().where(WorkOrderPart.order_id == order_id).run()
        existing = await Charge.select(Charge.id).where(Charge.reason == reason_for(order["number"])).first().run()
    total = sum(int(p["quantity"] * p["unit_price_fen"]) for p in parts)
    if total <= 0:
        raise Conflict("This repair has nothing to charge.")
    charge_id = existing["id"] if existing else await charges.add_manual_charge(ref, {
        "fee_item": "other", "amount": f"{total / 100:.2f}",
        "due_date": (today() + dt.timedelta(days=PAY_WITHIN_DAYS)).isoformat(),
        "description": f"维修费 {order['number']}", "reason": reason_for(order["number"])}, principal)
    async with tenant_tx(ref.schema) as tx:
        row = await locked(tx, order_id)
        if row["charge_id"] is None:
            await WorkOrder.update({WorkOrder.charge_id: charge_id}).where(WorkOrder.id == order_id).run()
            await event(order_id, "billed", principal, f"{total / 100:.2f}")
            await audit.record("repair.bill", principal=principal, tenant_id=ref.id, target=f"work_order:{order_id}",
                               detail={"fen": total})
    return charge_id
