"""Loading the demo plan (``portal.demo.plan``) through the product's own services."""

from __future__ import annotations

import asyncpg

from portal.accounts import service as accounts
from portal.accounts.tables import PortalUser, StaffUser
from portal.core import audit
from portal.core.db import DB, connect_kwargs
from portal.core.roles import Principal
from portal.core.settings import Settings, SettingsError
from portal.core.tables import AuditLog
from portal.demo.servicedesk import load_servicedesk
from portal.demo.complaints import load_complaints
from portal.demo import surveys as surveys_demo
from portal.demo import retention as demo_retention
from portal.demo import destruction as destruction_demo
from portal.demo.plan import (DEMO_PASSWORD, LOCK, MARKER_ACTION, STAFF, SYSTEM, Plan, build_plan,
                              business_letter)
from tenants.file import service as file_service
from tenants.file.tables import Contact
from tenants.numbering import parse_business_letters
from tenants.registry import service as registry
from tenants.registry.tables import Building, ReviewItem, Tenant, Unit
from tenants.scope import tenant_tx


async def demo_loaded() -> bool:
    return await AuditLog.exists().where((AuditLog.action == MARKER_ACTION) & (AuditLog.outcome == "ok")).run()


async def load_demo(settings: Settings) -> bool:
    """Load the demo office once. Returns False if it was already loaded.

    Needs an open pool (``portal.core.db.open_pool``); the advisory lock is held on a
    separate connection of its own, which closing releases in any case.
    Refuses to run with ``PORTAL_ENV=production``: the demo password is public.
    """
    if settings.production:
        raise SettingsError("Refusing to load demo accounts (with a published password) in production.")
    if await demo_loaded():
        return False
    lock_conn = await asyncpg.connect(**connect_kwargs(settings))
    try:
        await lock_conn.execute("SELECT pg_advisory_lock($1, $2)", *LOCK)
        if await demo_loaded():  # another loader finished while we waited
            return False
        await _load(settings, build_plan())
        return True
    finally:
        await lock_conn.close()


async def _load(settings: Settings, plan: Plan) -> None:
    building_ids = await _load_buildings(plan)
    unit_ids = {
        (number, r["code"]): r["id"]
        for number, bid in building_ids.items()
        for r in await Unit.select(Unit.id, Unit.code).where(Unit.building_id == bid).run()
    }
    staff = await _load_staff(building_ids)
    letters = parse_business_letters(settings.business_letters)
    tenant_ids = await _load_tenants(plan, unit_ids, letters)
    portal_users = await _load_portal_users(plan, tenant_ids)
    requests = await _load_requests(plan, tenant_ids, portal_users)
    await load_servicedesk(settings, building_ids, tenant_ids, portal_users)
    complaints = await load_complaints(plan, tenant_ids, portal_users)
    await surveys_demo.load(settings, tenant_ids)
    await demo_retention.load(plan, tenant_ids)  # dormant files and the disposition list (retention)
    await destruction_demo.load(settings, plan, tenant_ids, building_ids)  # a hold, a cooling-off, a destroyed file
    await audit.record(MARKER_ACTION, actor_name="system", target=settings.office_name, detail={
        "buildings": len(building_ids), "staff": staff, "tenants": len(tenant_ids),
        "portal_users": len(portal_users), "change_requests": requests, "complaints": complaints,
    })


async def _load_buildings(plan: Plan) -> dict[int, int]:
    """Insert the buildings and units that are not there yet; {building number: id}."""
    ids: dict[int, int] = {}
    async with DB.transaction():
        for number, bld in enumerate(plan.buildings, start=1):
            row = await Building.select(Building.id).where(Building.code == bld.code).first().run()
            if row is None:
                row = (await Building.insert(Building(code=bld.code, name=bld.name, address=bld.address,
                                                      floors=bld.floors)).returning(Building.id).run())[0]
            await Unit.insert(*(Unit(building_id=row["id"], floor=u.floor, code=u.code, area_m2=u.area_m2)
                                for u in bld.units)).on_conflict(target=(Unit.building_id, Unit.code),
                                                                 action="DO NOTHING").run()
            ids[number] = row["id"]
    return ids


async def _load_staff(building_ids: dict[int, int]) -> int:
    created = 0
    for number, person in enumerate(STAFF):
        if await StaffUser.exists().where(StaffUser.username == person.username).run():
            continue
        await accounts.create_staff({
            "username": person.username, "display_name": person.display_name, "roles": [person.role.value],
            "department": person.department, "email": f"{person.username}@office.example",
            "mobile": f"13800010{number:03d}",
            "building_ids": [building_ids[n] for n in person.buildings],
        }, DEMO_PASSWORD, None)
        created += 1
    return created


async def _load_tenants(plan: Plan, unit_ids: dict[tuple[int, str], int], letters: dict[str, str]) -> dict[int, int]:
    """Create the tenant files in plan order (so archive numbers follow it); {plan number: tenant id}."""
    existing = {r["name"]: r["id"] for r in await Tenant.select(Tenant.id, Tenant.name).where(
        Tenant.name.is_in([t.name for t in plan.tenants])).run()}
    ids: dict[int, int] = {}
    for tenant in plan.tenants:
        if tenant.name in existing:
            ids[tenant.number] = existing[tenant.name]
            continue
        profile = {**tenant.profile, "business_letter": business_letter(letters, tenant.use)}
        ids[tenant.number] = await registry.create_tenant(
            profile, [c.form() for c in tenant.contacts], [unit_ids[u] for u in tenant.units], SYSTEM,
            business_letters=letters, actor_label="系统（演示数据）",
        )
    return ids


async def _load_portal_users(plan: Plan, tenant_ids: dict[int, int]) -> dict[int, Principal]:
    """One portal user per tenant: its primary contact. {plan number: principal}."""
    existing = {r["email"]: r for r in await PortalUser.select(PortalUser.id, PortalUser.email).where(
        PortalUser.email.is_in([t.portal_email for t in plan.tenants])).run()}
    out: dict[int, Principal] = {}
    for tenant in plan.tenants:
        tenant_id = tenant_ids[tenant.number]
        row = existing.get(tenant.portal_email)
        user_id = row["id"] if row else await accounts.create_portal_user(
            tenant_id, tenant.portal_email, tenant.portal_name, DEMO_PASSWORD)
        out[tenant.number] = Principal(kind="portal", user_id=user_id, name=tenant.portal_name, tenant_id=tenant_id)
    return out


async def _load_requests(plan: Plan, tenant_ids: dict[int, int], users: dict[int, Principal]) -> int:
    """A few change requests from tenants, so the review queue has work in it."""
    made = 0
    for tenant in plan.tenants:
        if not tenant.request:
            continue
        tenant_id = tenant_ids[tenant.number]
        if await ReviewItem.exists().where((ReviewItem.tenant_id == tenant_id)
                                           & ReviewItem.kind.like("change:%")).run():
            continue
        ref = await registry.get_ref(tenant_id)
        principal = users[tenant.number]
        domain = tenant.portal_email.split("@")[1]
        if tenant.request == "profile":
            bld = plan.buildings[tenant.building - 1]
            await file_service.submit_request(ref, principal, "profile", {
                "registered_address": f"{bld.address}{bld.name} {tenant.units[0][1]} 室",
                "business_scope": tenant.profile["business_scope"] + "；会议及展览服务",
            })
        elif tenant.request == "contact_add":
            await file_service.submit_request(ref, principal, "contact_add", {
                "name": "陆佳怡", "position": "行政专员", "mobile": "13917202615",
                "email": f"lu.jiayi@{domain}", "receives_notices": True,
            })
        else:
            async with tenant_tx(ref.schema):
                contact = await Contact.select().where(Contact.is_primary.eq(True) & Contact.active.eq(True)).order_by(
                    Contact.id).first().run()
            changed = {k: contact[k] for k in ("name", "position", "mobile", "landline", "email", "is_primary",
                                               "is_emergency", "receives_notices")}
            changed.update(mobile="18621095537", position="行政总监")
            await file_service.submit_request(ref, principal, "contact_update", changed, target_id=contact["id"])
        made += 1
    return made
