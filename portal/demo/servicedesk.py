"""Demo service desk: technicians with skills, buildings and shifts; open,
overdue and closed repair orders with ratings, made through the services."""

from __future__ import annotations

import datetime as dt
import logging

from portal.accounts import service as accounts
from portal.accounts.tables import StaffUser
from portal.core.roles import Principal, Role
from portal.core.workdays import now
from portal.demo.plan import DEMO_PASSWORD
from tenants.registry import service as registry
from tenants.scope import tenant_tx
from tenants.servicedesk import dispatch, queries, roster, scan, service
from tenants.servicedesk.tables import Technician

log = logging.getLogger(__name__)
# (username, name, skills, building numbers, capacity); "technician" is the plan's own account.
TECHNICIANS = (
    ("technician", "赵强", ["water", "doors_locks", "cleaning", "other"], (1,), 5),
    ("electrician", "钱伟", ["electrical", "network", "hvac", "lift"], (1, 2), 4),
    ("plumber", "孙涛", ["water", "hvac", "doors_locks", "other"], (2,), 4),
)
ORDERS = (  # (tenant plan number, category, description, what happens)
    (1, "water", "茶水间水龙头漏水", "closed:5"),
    (2, "electrical", "会议室插座无电", "closed:4"),
    (3, "hvac", "空调不制冷", "on_site"),
    (4, "doors_locks", "办公室门锁卡住", "accepted"),
    (5, "network", "弱电间网络中断", "overdue"),
    (6, "cleaning", "公共走廊需要清洁", "reported"),
    (7, "lift", "货梯异响", "unassigned"),
)


async def load_servicedesk(settings, building_ids: dict[int, int], tenant_ids: dict[int, int],
                           users: dict[int, Principal]) -> int:
    first = await StaffUser.select(StaffUser.id).where(StaffUser.username == TECHNICIANS[0][0]).first().run()
    if first is None or await Technician.exists().where(Technician.user_id == first["id"]).run():
        return 0
    dispatcher = Principal(kind="staff", user_id=0, name="郑海", roles=frozenset({Role.DISPATCHER}),
                           building_ids=frozenset(building_ids.values()))
    techs = {}
    for number, (username, name, skills, buildings, capacity) in enumerate(TECHNICIANS):
        row = await StaffUser.select(StaffUser.id).where(StaffUser.username == username).first().run()
        user_id = row["id"] if row else await accounts.create_staff({
            "username": username, "display_name": name, "roles": [Role.TECHNICIAN.value], "department": "工程部",
            "email": f"{username}@office.example", "mobile": f"13800020{number:03d}", "building_ids": [building_ids[n] for n in buildings]},
            DEMO_PASSWORD, None)
        await roster.save_technician(dispatcher, user_id, {"skills": skills, "capacity": str(capacity), "active": "1"})
        for offset in range(-1, 14):
            day = now().date() + dt.timedelta(days=offset)
            await roster.add_shift(dispatcher, user_id, {"day": day.isoformat(), "starts": "08:30", "ends": "17:30"})
        techs[username] = {"id": user_id, "name": name, "skills": skills,
                           "principal": Principal(kind="staff", user_id=user_id, name=name,
                                                  roles=frozenset({Role.TECHNICIAN}))}
    made = 0
    for number, category, description, outcome in ORDERS:
        if number not in tenant_ids:
            continue
        ref = await registry.get_ref(tenant_ids[number])
        order = await service.report(ref, users[number], {"category": category, "description": description},
                                     settings)
        made += 1
        if outcome == "reported":
            continue
        if outcome == "unassigned":
            async with tenant_tx(ref.schema) as tx:
                row = await service.locked(tx, order["id"])
                await service.save(ref, row, {"status": "unassigned"})
            continue
        tech = next((t for t in techs.values() if category in t["skills"]), None)
        if tech is None:
            continue
        await dispatch.assign(ref, dispatcher, order["id"], tech["id"])
        if outcome == "overdue":
            await _backdate(ref, order["id"], dt.timedelta(hours=30))
            continue
        await service.accept(ref, tech["principal"], order["id"])
        if outcome == "accepted":
            continue
        await service.on_site(ref, tech["principal"], order["id"])
        if outcome == "on_site":
            continue
        await service.add_part(ref, tech["principal"], order["id"], {"description": "更换配件", "quantity": "1",
                                                                   "unit_price": "35.00"})
        await service.complete(ref, tech["principal"], order["id"], {"note": "已修复"})
        rating = outcome.split(":")[1]
        await service.confirm(ref, users[number], order["id"], {"rating": rating, "comment": "处理及时"})
    return made


async def _backdate(ref, order_id: int, by: dt.timedelta) -> None:
    """Move an order's report and due times into the past (an overdue example)."""
    async with tenant_tx(ref.schema) as tx:
        row = await queries.lock_order(tx.connection, order_id)
        await service.save(ref, row, {k: row[k] - by for k in (
            "created_at", "response_due_at", "onsite_due_at", "completion_due_at")})
    await scan.sla_scan()  # marks it overdue and escalates, as the beat task would
