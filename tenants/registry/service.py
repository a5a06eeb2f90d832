"""Creating tenants (registry row + schema, atomically), the summary rows staff
lists read, and the staff tenant list."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Any, Mapping

from portal.core import audit, workdays
from portal.core.roles import Perm, Principal
from portal.core.db import DB, db_now
from portal.core.errors import FormErrors, Forbidden, NotFound
from tenants import numbering
from tenants.registry import identity, queries
from tenants.retention.activity import touch as touch_business
from tenants.registry.tables import Building, Tenant, TenantUnit
from tenants.file import changelog, forms
from tenants.file.changelog import Actor
from tenants.file.tables import Contact, Profile
from tenants.registry.visibility import scope_ids, scope_where
from tenants.migrate import build_latest_schema, create_schema
from tenants.scope import TenantScopeError, check_schema, enter_schema, schema_for, tenant_tx

import migrations

# sort key -> ((column, ascending), ...); every order ends with the id.
SORTS = {
    "name": ((Tenant.name, True),),
    "-name": ((Tenant.name, False),),
    "archive_no": ((Tenant.archive_no, True),),
    "-archive_no": ((Tenant.archive_no, False),),
    "created": ((Tenant.created_at, True),),
    "-created": ((Tenant.created_at, False),),
    "level": ((Tenant.level, True), (Tenant.name, True)),
    "-level": ((Tenant.level, False), (Tenant.name, True)),
}


@dataclass(frozen=True)
class TenantRef:
    id: int
    schema: str
    name: str
    archive_no: str
    building_ids: tuple[int, ...]
    active: bool
    # Set when the staff member reads this file only through a lending grant
    # (core.access_grant): read-only; a non-empty tuple limits it to those documents.
    via_grant: bool = False
    grant_document_ids: tuple[int, ...] = ()
    # A dormant file (seed 002) sits in the restricted archive view: only
    # Perm.ARCHIVE_OPEN opens it, and every open is audited (ref_for_staff).
    dormant: bool = False
    # A file restored from an export for inspection: every write refuses it.
    read_only: bool = False


def _ref(row) -> TenantRef:
    return TenantRef(
        id=row["id"],
        schema=check_schema(row["schema_name"]),
        name=row["name"],
        archive_no=row["archive_no"],
        building_ids=tuple(row["building_ids"]),
        active=row["active"],
        dormant=row["status"] == "dormant",
        read_only=row["read_only"],
    )


_REF_COLUMNS = (Tenant.id, Tenant.schema_name, Tenant.name, Tenant.archive_no, Tenant.building_ids, Tenant.active,
                Tenant.status, Tenant.read_only)


async def get_ref(tenant_id: int) -> TenantRef:
    row = await queries.ref_row(tenant_id)
    if row is None:
        raise NotFound("No such tenant.")
    return _ref(row)


async def get_refs(tenant_ids: list[int]) -> dict[int, TenantRef]:
    """``get_ref`` for many tenants in one query (jobs over a chunk of tenants);
    ids without a tenant are left out."""
    if not tenant_ids:
        return {}
    rows = await Tenant.select(*_REF_COLUMNS).where(Tenant.id.is_in(list(tenant_ids))).run()
    return {row["id"]: _ref(row) for row in rows}


async def ref_for_staff(principal: Principal, tenant_id: int, *, allow_grant: bool = False) -> TenantRef:
    """The tenant if this staff member may read its file; 404 otherwise (an
    unseen tenant's existence is not revealed).

    ``allow_grant=True`` (read-only callers only) also admits staff outside the
    tenant's buildings who hold an unexpired, unwithdrawn ``core.access_grant``
    of an approved, accompanied 'outside' loan; the ref then has ``via_grant=True``. Writes never pass
    it, so they still need the building."""
    try:
        ref = await get_ref(tenant_id)
    except (NotFound, TenantScopeError):
        raise NotFound("No such tenant.")
    if ref.dormant:
        # The restricted archive view: archivists and the leadership only, each open audited.
        if not (principal.may_see_tenant(ref.building_ids) and principal.can(Perm.ARCHIVE_OPEN)):
            raise NotFound("No such tenant.")
        await audit.record("tenant.dormant.open", principal=principal, tenant_id=ref.id, target=ref.archive_no)
        return ref
    if not principal.may_see_tenant(ref.building_ids):
        if allow_grant and principal.is_staff and principal.can(Perm.TENANT_READ):
            # Only the accompanied kind reaches outside one's buildings (lending_scope).
            grants = await queries.access_grant_documents(principal.user_id, ref.id)
            if grants:
                whole = any(not documents for documents in grants)
                docs = () if whole else tuple(sorted({d for documents in grants for d in documents}))
                return replace(ref, via_grant=True, grant_document_ids=docs)
        raise NotFound("No such tenant.")
    return ref


async def ref_for_portal(principal: Principal) -> TenantRef:
    if not principal.is_portal or principal.tenant_id is None:
        raise Forbidden()
    if principal.tenant_row is not None and principal.tenant_row["id"] == principal.tenant_id:
        return _ref(principal.tenant_row)  # read with the principal in this request
    return await get_ref(principal.tenant_id)


async def units_by_ids(unit_ids: list[int]) -> list[dict]:
    return await queries.units_by_ids(unit_ids) if unit_ids else []


async def buildings() -> list[dict]:
    """Every building (id, code, name), by code: the pickers' choices."""
    return await Building.select(Building.id, Building.code, Building.name).order_by(Building.code).run()


async def leased_units(tenant_id: int) -> list[dict]:
    return await queries.leased_units(tenant_id)


async def units_for(principal: Principal) -> list[dict]:
    """The units this person may lease out, with how many active tenants hold each."""
    scope = principal.building_scope()
    return [u for u in await queries.units_with_occupancy() if scope is None or u["building_id"] in scope]


async def file_counts(principal: Principal) -> dict:
    """The console home's counts of the files this person may read."""
    return await queries.file_counts(scope_ids(principal))


async def tenant_id_by_archive_no(archive_no: str) -> int | None:
    row = await Tenant.select(Tenant.id).where(Tenant.archive_no == archive_no).first().run()
    return row["id"] if row else None


async def archive_numbers(tenant_ids: list[int]) -> dict[int, str]:
    """tenant id -> archive number, for the ids that exist."""
    if not tenant_ids:
        return {}
    rows = await Tenant.select(Tenant.id, Tenant.archive_no).where(Tenant.id.is_in(list(tenant_ids))).run()
    return {r["id"]: r["archive_no"] for r in rows}


def _unit_label(unit: Mapping) -> str:
    return f"{unit['building_name']} {unit['code']}"


async def create_tenant(
    raw: Mapping[str, Any],
    contacts: list[Mapping[str, Any]],
    unit_ids: list[int],
    actor: Principal,
    *,
    business_letters: Mapping[str, str],
    actor_label: str | None = None,
) -> int:
    """Provision a tenant: registry row, schema at the latest version, profile,
    contacts and units in one transaction. Nothing remains if any step fails."""
    if not actor.can(Perm.TENANT_CREATE):
        raise Forbidden()
    errors: dict[str, str] = {}
    codes: dict[str, str] = {}  # field -> machine code (the API's field_codes)
    profile: dict[str, Any] = {}
    try:
        profile = forms.clean_profile(raw)
    except FormErrors as exc:  # keep going so every field's error is shown at once
        errors.update(exc.fields)
        codes.update(exc.codes)
    letter = str(raw.get("business_letter") or "").strip().upper()
    if letter not in business_letters:
        errors["business_letter"] = "Choose a business type."
        codes["business_letter"] = "business_letter.choice"
    cleaned_contacts = []
    for index, contact in enumerate(contacts):
        try:
            cleaned_contacts.append(forms.clean_contact(contact))
        except FormErrors as exc:
            errors.update({f"contacts.{index}.{k}": m for k, m in exc.fields.items()})
            codes.update({f"contacts.{index}.{k}": c for k, c in exc.codes.items()})
    units = await units_by_ids(sorted(set(unit_ids)))
    if len(units) != len(set(unit_ids)):
        errors["unit_ids"] = "One of the chosen units does not exist."
        codes["unit_ids"] = "unit_ids.unknown"
    if units and await queries.taken_units([u["id"] for u in units]):
        errors["unit_ids"] = "One of the chosen units is already leased to another tenant."
        codes["unit_ids"] = "unit_ids.taken"
    building_ids = sorted({u["building_id"] for u in units})
    scope = actor.building_scope()
    if scope is not None and not set(building_ids) <= scope:
        errors["unit_ids"] = "You can only register tenants in your own buildings."
        codes["unit_ids"] = "unit_ids.out_of_scope"
    if errors:
        raise FormErrors(errors, codes)
    label = actor_label or actor.name
    async with DB.transaction(allow_nested=False) as tx:
        conn = tx.connection
        holders = await identity.holders_to_link(conn, profile, raw)
        tenant_id, sequence = await queries.next_tenant_numbers(conn)
        schema = schema_for(tenant_id)
        archive_no = numbering.format_archive_no(profile["kind"], profile["level"], letter, sequence)
        await Tenant.insert(Tenant(
            id=tenant_id, archive_no=archive_no, schema_name=schema, schema_version=migrations.latest("tenant"),
            name=profile["name"], kind=profile["kind"], level=profile["level"], business_letter=letter,
            status=profile["status"], building_ids=building_ids,
            unit_labels=", ".join(_unit_label(u) for u in units),
        )).run()
        if units:
            await TenantUnit.insert(*(TenantUnit(tenant_id=tenant_id, unit_id=u["id"]) for u in units)).run()
        await create_schema(conn, schema)
        await enter_schema(tx, schema)
        await build_latest_schema(conn)
        await Profile.insert(Profile(archive_no=archive_no, **profile)).run()
        for contact in cleaned_contacts:
            await insert_contact(contact)
        await changelog.record(Actor(kind="staff", name=label), "file", "created", "", archive_no)
        await refresh_summary(conn, tenant_id)
        await touch_business(tenant_id, workdays.today())  # leasing units is business (retention)
        await identity.link(conn, tenant_id, holders, identity.identity_of(profile)[1], actor)
        await audit.record("tenant.create", principal=actor, tenant_id=tenant_id, target=archive_no)
    return tenant_id


async def insert_contact(contact: Mapping[str, Any]) -> int:
    """A cleaned contact into the tenant schema of the caller's ``tenant_tx``."""
    rows = await Contact.insert(Contact(**contact)).returning(Contact.id).run()
    return rows[0]["id"]


SUMMARY_COLUMNS = queries.SUMMARY_COLUMNS


async def compute_summary(conn) -> dict[str, Any]:
    """Summary values from the tenant schema currently on the path."""
    return await queries.tenant_summary(conn)


async def write_summary(conn, tenant_id: int, values: Mapping[str, Any]) -> None:
    """Store summary values on the registry row, in the caller's transaction
    (``conn`` is its connection; the Piccolo query joins that transaction)."""
    await Tenant.update({**{getattr(Tenant, k): v for k, v in values.items()}, Tenant.updated_at: db_now()}).where(
        Tenant.id == tenant_id).run()


async def refresh_summary(conn, tenant_id: int) -> None:
    """Rewrite the tenant's core summary in the caller's (tenant) transaction."""
    await write_summary(conn, tenant_id, await compute_summary(conn))


async def list_tenants(
    principal: Principal,
    *,
    q: str = "",
    building_id: int | None = None,
    level: int | None = None,
    status: str = "",
    include_inactive: bool = False,
    sort: str = "name",
    page: int = 1,
    per_page: int = 50,
) -> tuple[list[dict], int]:
    """The staff tenant list, read from ``core`` only. Returns (rows, total)."""
    if not principal.can(Perm.TENANT_READ):
        raise Forbidden()
    T = Tenant
    where: list = []
    scoped = scope_where(principal)
    if scoped is not None:
        where.append(scoped)
    if not include_inactive:
        where.append(T.active.eq(True))
    if not principal.can(Perm.ARCHIVE_OPEN):
        where.append(T.status != "dormant")  # dormant files are in the restricted archive view
    if q:
        pattern = f"%{q.strip()}%"
        where.append(T.name.ilike(pattern) | T.archive_no.ilike(pattern) | T.contact_phones.like(pattern))
    if building_id:
        where.append(T.building_ids.any(building_id))
    if level is not None:
        where.append(T.level == level)
    if status:
        where.append(T.status == status)
    total = await T.count().where(*where).run()
    query = T.select(T.id, T.archive_no, T.name, T.kind, T.level, T.status, T.building_ids, T.unit_labels,
                     T.primary_contact, T.contact_phones, T.contact_count, T.pending_reviews, T.active,
                     T.created_at).where(*where)
    for column, ascending in (*SORTS.get(sort, SORTS["name"]), (T.id, True)):
        query = query.order_by(column, ascending=ascending)
    rows = await query.limit(per_page).offset((max(page, 1) - 1) * per_page).run()
    return rows, total


async def set_active(ref: TenantRef, active: bool, actor: Principal, reason: str = "") -> None:
    if not actor.can(Perm.TENANT_DEACTIVATE):
        raise Forbidden()
    if not active and not reason.strip():
        raise FormErrors({"reason": "Give a reason."})
    async with tenant_tx(ref.schema):
        await Tenant.update({Tenant.active: active, Tenant.updated_at: dt.datetime.now(dt.timezone.utc)}).where(
            Tenant.id == ref.id).run()
        await changelog.record(Actor(kind="staff", name=actor.name), "file", "active", not active,
                               forms.as_text(active) + (f" ({reason.strip()})" if reason else ""))
        await audit.record(
            "tenant.activate" if active else "tenant.deactivate",
            principal=actor, tenant_id=ref.id, target=ref.archive_no, detail={"reason": reason},
        )

