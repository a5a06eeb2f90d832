"""Demo of legal holds and destruction: a tenant file under legal hold, a
pending destruction in its cooling-off period, and one destroyed file with
its certificate in the register. Through the product's own services."""

from __future__ import annotations

from portal.accounts.tables import StaffUser
from portal.core.db import DB
from portal.core.roles import Principal, Role
from portal.core.settings import Settings
from portal.demo.plan import SYSTEM, Plan
from tenants.registry import service as registry
from tenants import validators

DESTROYED_NAME = "上海示范已销毁贸易有限公司"


async def _principal(username: str) -> Principal:
    row = await StaffUser.select().where(StaffUser.username == username).first().run()
    return Principal(kind="staff", user_id=row["id"], name=row["display_name"],
                     roles=frozenset(Role(r) for r in row["roles"]), building_ids=frozenset(row["building_ids"]))


async def load(settings: Settings, plan: Plan, tenant_ids: dict[int, int], building_ids: dict[int, int]) -> None:
    from documents.storage import get_storage
    from tenants.destruction import holds, purge, service

    get_storage(settings)
    archivist, head = await _principal("archivist"), await _principal("depthead")
    supervisor, manager = await _principal("supervisor"), await _principal("manager")
    in_scope = [t for t in plan.tenants if t.building in (1, 2)]
    held, cooling = tenant_ids[in_scope[0].number], tenant_ids[in_scope[1].number]
    await holds.place_hold(held, {"scope": "file", "reason": "租金纠纷诉讼中，档案须完整保存",
                                  "case_ref": "（2026）沪0115民初12345号"}, archivist)
    signers = {"signer_1": "刘静", "signer_2": "李国平"}
    request_id = await service.create_request(cooling, {"scope": "file", "reason": "已退租，保管期满", **signers}, head)
    for person in (archivist, manager, supervisor):
        await service.decide(request_id, {"decision": "approve"}, person, cooling_days=settings.destruction_cooling_days)

    # A file that was destroyed: its own tenant (not one of the plan's), through the whole flow.
    unit_id = await DB.pool.fetchval(
        "INSERT INTO core.unit (building_id, floor, code, area_m2) VALUES ($1, 1, 'X-01', 60) RETURNING id",
        building_ids[1])
    gone = await registry.create_tenant(
        {"name": DESTROYED_NAME, "kind": "E", "level": "0", "status": "active", "business_letter": "A",
         "credit_code": validators.make_valid_credit_code("91310115MA1K4R8X0"), "legal_rep": "钱某", "industry": "贸易"},
        [{"name": "钱某", "position": "经理", "mobile": "13900000000", "email": "qian@example.com",
          "is_primary": True, "receives_notices": True}], [unit_id], SYSTEM,
        business_letters={"A": "写字楼租赁"}, actor_label="系统（演示数据）")
    request_id = await service.create_request(gone, {"scope": "file", "reason": "退租满十年，保管期满", **signers}, head)
    for person in (archivist, manager, supervisor):
        await service.decide(request_id, {"decision": "approve"}, person, cooling_days=0)
    await service.start_due(send=False)
    await purge.run(request_id, settings)
    await DB.pool.execute("DELETE FROM core.unit WHERE id = $1", unit_id)  # the unit was the tombstone's only lease


