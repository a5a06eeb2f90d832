"""Charges raised by hand, their adjustments, and the recurring 'fixed' items
(subscriptions such as parking) that billing runs charge every month."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Mapping

from portal.core import audit
from portal.core.errors import FormErrors, NotFound
from portal.core.forms import Form
from portal.core.roles import Perm, Principal
from tenants.file import changelog
from tenants.money import queries
from tenants.money.amounts import month_start, parse_fen, today
from tenants.money.ledger import actor, clip, date_field, fee_items_map, ledger_tx, need, required_text
from tenants.money.payments import settle_from_credit
from tenants.money.tables import Charge, FeeSubscription
from tenants.registry.service import TenantRef
from tenants.retention import service as retention
from tenants.scope import tenant_tx


async def add_manual_charge(ref: TenantRef, raw: Mapping[str, Any], principal: Principal) -> int:
    """A charge raised by hand (utilities reading, repair at the tenant's cost, ...)."""
    need(principal, Perm.MONEY_WRITE)
    items = await fee_items_map()
    form = Form(raw)
    fee_item = form.choice("fee_item", items)
    amount = form.run("amount", parse_fen, raw.get("amount"), default=0)
    due_date = date_field(form, "due_date")
    description = clip(raw, "description", 200) or (items.get(fee_item) or {}).get("name", "")
    reason = required_text(form, "reason", "Give the reason for this charge.")
    form.check()
    async with ledger_tx(ref):
        [row] = await Charge.insert(Charge(
            kind="manual", fee_item=fee_item, period=month_start(due_date), description=description,
            amount_fen=amount, due_date=due_date, reason=reason, created_by=principal.name,
        )).returning(Charge.id).run()
        charge_id = row["id"]
        await retention.touch(ref.id, today())  # a charge is business (last business date)
        await changelog.record(actor(principal), "charge", "created", "",
                               f"{description} {amount / 100:.2f} ({reason})", entity_id=charge_id)
        await settle_from_credit(principal)
        await audit.record("money.charge.manual", principal=principal, tenant_id=ref.id, target=f"charge:{charge_id}",
                           detail={"fen": amount, "reason": reason})
    return charge_id


async def adjust_charge(ref: TenantRef, charge_id: int, raw: Mapping[str, Any], principal: Principal) -> int:
    """A signed adjustment of a charge, with a reason. A reduction cannot go
    below what has been paid on the charge (reverse the payment first)."""
    need(principal, Perm.MONEY_WRITE)
    form = Form(raw)
    amount = form.run("amount", parse_fen, raw.get("amount"), allow_negative=True, default=0)
    reason = required_text(form, "reason", "Give the reason for the adjustment.")
    form.check()
    async with ledger_tx(ref):
        charge = await queries.charge_net(charge_id)
        if charge is None:
            raise NotFound("No such charge.")
        await Charge.select(Charge.id).where(Charge.id == charge_id).lock_rows("UPDATE")
        if amount < 0 and -amount > charge["open_fen"]:
            raise FormErrors({"amount": "The reduction is more than the open amount of the charge."})
        [row] = await Charge.insert(Charge(
            kind="adjustment", fee_item=charge["fee_item"], period=charge["period"],
            description=charge["description"], amount_fen=amount, due_date=charge["due_date"], adjusts_id=charge_id,
            reason=reason, created_by=principal.name,
        )).returning(Charge.id).run()
        await changelog.record(actor(principal), "charge", "adjusted", f"{charge['net_fen'] / 100:.2f}",
                               f"{(charge['net_fen'] + amount) / 100:.2f} ({reason})", entity_id=charge_id)
        if amount > 0:
            await settle_from_credit(principal)
        await audit.record("money.charge.adjust", principal=principal, tenant_id=ref.id, target=f"charge:{charge_id}",
                           detail={"fen": amount, "reason": reason})
    return row["id"]


async def add_subscription(ref: TenantRef, raw: Mapping[str, Any], principal: Principal) -> int:
    """A recurring 'fixed' fee item (parking, ...) for this tenant."""
    need(principal, Perm.MONEY_WRITE)
    items = {k: v for k, v in (await fee_items_map(active_only=True)).items() if v["basis"] == "fixed"}
    form = Form(raw)
    fee_item = form.choice("fee_item", items)
    # The quantity is parsed like an amount: at most two decimals, positive.
    quantity = Decimal(form.run("quantity", parse_fen, clip(raw, "quantity") or "1", default=100)) / 100
    form.check()
    async with tenant_tx(ref.schema):
        [row] = await FeeSubscription.insert(FeeSubscription(
            fee_item=fee_item, quantity=quantity, description=clip(raw, "description", 200),
            created_by=principal.name,
        )).returning(FeeSubscription.id).run()
        await changelog.record(actor(principal), "fee_subscription", "created", "", f"{fee_item} x {quantity}",
                               entity_id=row["id"])
    return row["id"]
