"""Retention: the last business date, retention classes, dormancy and reactivation.

``touch(tenant_id, day)`` is the one way to say "business happened": every
domain calls it inside its own transaction when something that counts as
business happens (money: a payment, a charge; the registry: a new file, a lease
unit change; the service desk: a repair, a complaint, a visit). It only moves
the date forward and never changes the status: a dormant file comes back by
``reactivate`` (a person, a reason), which also counts as business.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Mapping

from portal.core import audit
from portal.core.db import DB
from portal.core.errors import Conflict, Forbidden, NotFound
from portal.core.forms import Form
from portal.core.roles import Perm, Principal
from portal.core.workdays import now, today
from tenants.file import changelog
from tenants.file.changelog import Actor
from tenants.file.forms import LEVEL_LABELS
from tenants.file.tables import Profile
from tenants.registry.service import TenantRef, get_ref, refresh_summary
from tenants.registry.tables import Tenant
from tenants.registry.visibility import scope_ids
from tenants.retention import queries, rules
from tenants.retention.activity import touch  # noqa: F401  (the domains' entry: retention.touch)
from tenants.retention.tables import RetentionClass
from tenants.scope import tenant_tx

# Statuses that turn dormant after a year without business (not 'lost', not already dormant).
WAKEFUL = ("active", "potential")
SYSTEM = Actor(kind="system", name="retention")


# --- the last business date ----------------------------------------------------------------------

async def last_business_on(tenant_id: int) -> dt.date:
    row = await Tenant.select(Tenant.last_business_on).where(Tenant.id == tenant_id).first().run()
    if row is None:
        raise NotFound("No such tenant.")
    return row["last_business_on"]


# --- retention classes ---------------------------------------------------------------------------

def need(principal: Principal, perm: Perm) -> None:
    if not principal.can(perm):
        raise Forbidden()


async def class_years() -> dict[str, int]:
    return {r["key"]: r["years"] for r in await RetentionClass.select(RetentionClass.key, RetentionClass.years).run()}


async def classes() -> list[dict]:
    """Every class, levels first, for the console page."""
    rows = await RetentionClass.select().run()
    return sorted(rows, key=lambda r: (not r["key"].startswith("level:"), r["key"]))


def class_label(key: str, categories: Mapping[str, str]) -> str:
    """The English label (a message id) of a class key."""
    kind, _, value = key.partition(":")
    if kind == "level" and value.isdigit():
        return LEVEL_LABELS.get(int(value), key)
    return categories.get(value, value)


def clean_class(raw: Mapping[str, Any], categories: Mapping[str, str]) -> tuple[str, int, str]:
    form = Form(raw)
    key = form.text("key", limit=60)
    valid = set(rules.LEVEL_KEYS) | {rules.category_key(c) for c in categories}
    if key not in valid:
        form.fail("key", "key.choice", "Choose a tenant level or a document category.")
    years_text = form.text("years", limit=4)
    years = 0
    if not years_text.isdigit() or not 1 <= int(years_text) <= 100:
        form.fail("years", "years.range", "Enter a whole number of years from 1 to 100.")
    else:
        years = int(years_text)
    basis = form.text("basis", limit=200, required="Say which law or office rule sets this period.")
    form.check()
    return key, years, basis


async def save_class(raw: Mapping[str, Any], principal: Principal, categories: Mapping[str, str]) -> str:
    """Set (or add) one class's period, audited with the old and new years."""
    need(principal, Perm.RETENTION_MANAGE)
    key, years, basis = clean_class(raw, categories)
    async with DB.transaction():
        old = await RetentionClass.select(RetentionClass.years).where(RetentionClass.key == key).first().run()
        await RetentionClass.insert(RetentionClass(
            key=key, years=years, basis=basis, updated_by=principal.name, updated_at=now())).on_conflict(
            target=RetentionClass.key, action="DO UPDATE",
            values=[RetentionClass.years, RetentionClass.basis, RetentionClass.updated_by,
                    RetentionClass.updated_at]).run()
        await audit.record("retention.class.save", principal=principal, target=key,
                           detail={"years_before": old["years"] if old else None, "years": years, "reason": basis})
    return key


async def remove_class(key: str, principal: Principal) -> None:
    """Drop a category's own period (its documents follow the level again). Level classes stay."""
    need(principal, Perm.RETENTION_MANAGE)
    if not key.startswith("category:"):
        raise Conflict("A tenant level always has a retention period.")
    async with DB.transaction():
        gone = await RetentionClass.delete().where(RetentionClass.key == key).returning(
            RetentionClass.years).run()
        if not gone:
            raise NotFound("No such retention class.")
        await audit.record("retention.class.remove", principal=principal, target=key,
                           detail={"years_before": gone[0]["years"]})


# --- dormancy ------------------------------------------------------------------------------------

async def dormancy_candidates(as_of: dt.date) -> list[int]:
    """Active files with no business for a full year by ``as_of`` (core only)."""
    cutoff = rules.dormant_cutoff(as_of)
    rows = await Tenant.select(Tenant.id).where(
        (Tenant.active == True) & Tenant.status.is_in(list(WAKEFUL))  # noqa: E712
        & (Tenant.last_business_on <= cutoff)).order_by(Tenant.id).run()
    return [r["id"] for r in rows]


async def make_dormant(ref: TenantRef, as_of: dt.date) -> bool:
    """Mark one file dormant if it still qualifies (re-checked under lock, so a
    redelivered or repeated run changes nothing). True when it changed."""
    async with tenant_tx(ref.schema) as tx:
        conn = tx.connection
        row = await conn.fetchrow(
            "SELECT status, active, last_business_on FROM core.tenant WHERE id = $1 FOR UPDATE", ref.id)
        if (row is None or not row["active"] or row["status"] not in WAKEFUL
                or not rules.dormant_due(row["last_business_on"], as_of)):
            return False
        profile = await Profile.select(Profile.status).where(Profile.id == 1).lock_rows("UPDATE").first().run()
        await Profile.update({Profile.status: "dormant", Profile.updated_at: now()}).where(Profile.id == 1).run()
        await changelog.record(SYSTEM, "profile", "status", profile["status"], "dormant")
        await refresh_summary(conn, ref.id)
        await Tenant.update({Tenant.dormant_since: as_of}).where(Tenant.id == ref.id).run()
        await audit.record("tenant.dormant", actor_name=SYSTEM.name, tenant_id=ref.id, target=ref.archive_no,
                           detail={"last_business_on": row["last_business_on"]})
    return True


async def run_dormancy(as_of: dt.date | None = None) -> list[int]:
    """The daily sweep: every file that qualifies becomes dormant. Idempotent."""
    as_of = as_of or today()
    changed = []
    for tenant_id in await dormancy_candidates(as_of):
        try:
            ref = await get_ref(tenant_id)
        except NotFound:
            continue
        if await make_dormant(ref, as_of):
            changed.append(tenant_id)
    return changed


async def reactivate(ref: TenantRef, raw: Mapping[str, Any], principal: Principal) -> None:
    """Bring a dormant file back to the active files, with a reason. Counts as
    business (today), so the next sweep does not put it back."""
    need(principal, Perm.ARCHIVE_OPEN)
    form = Form(raw)
    reason = form.text("reason", limit=500, required="Give the reason for reactivating this file.")
    form.check()
    async with tenant_tx(ref.schema) as tx:
        conn = tx.connection
        profile = await Profile.select(Profile.status).where(Profile.id == 1).lock_rows("UPDATE").first().run()
        if profile["status"] != "dormant":
            raise Conflict("This file is not dormant.")
        await Profile.update({Profile.status: "active", Profile.updated_at: now()}).where(Profile.id == 1).run()
        await changelog.record(Actor(kind="staff", name=principal.name), "profile", "status", "dormant", "active")
        await refresh_summary(conn, ref.id)
        await Tenant.update({Tenant.dormant_since: None}).where(Tenant.id == ref.id).run()
        await touch(ref.id, today())
        await audit.record("tenant.reactivate", principal=principal, tenant_id=ref.id, target=ref.archive_no,
                           detail={"reason": reason})


async def dormant_files(principal: Principal, *, page: int = 1, per_page: int = 50) -> tuple[list[dict], int]:
    """The restricted archive view: dormant files, longest dormant first."""
    need(principal, Perm.ARCHIVE_OPEN)
    return await queries.dormant_files(scope_ids(principal), limit=per_page, offset=(max(page, 1) - 1) * per_page)

