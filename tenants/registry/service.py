"""Creating tenants (registry row + schema, atomically), the summary rows staff
lists read, and the staff tenant list."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Any, Mapping

from portal.core import audit
from portal.core.roles import Perm, Principal
from portal.core.db import DB
from portal.core.errors import FormErrors, Forbidden, NotFound
from tenants import numbering
from tenants.registry import identity, queries
from tenants.registry.tables import Building, Tenant
from tenants.file import changelog, forms
from tenants.file.changelog import Actor
from tenants.file.tables import Contact
from tenants.registry.visibility import in_scope, scope_ids
from tenants.migrate import build_latest_schema
from tenants.scope import TenantScopeError, check_schema, enter_schema, schema_for, tenant_tx

import migrations

SORTS = {
    "name": "name",
    "-name": "name DESC",
    "archive_no": "archive_no",
    "-archive_no": "archive_no DESC",
    "created": "created_at",
    "-created": "created_at DESC",
    "level": "level, name",
    "-level": "level DESC, name",
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
        read_only=row["read_only"],
    )


_REF_COLUMNS = (Tenant.id, Tenant.schema_name, Tenant.name, Tenant.archive_no, Tenant.building_ids, Tenant.active,
                Tenant.read_only)


async def get_ref(tenant_id: int) -> TenantRef:
    row = await Tenant.select(*_REF_COLUMNS).where(Tenant.id == tenant_id).first().run()
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
        tenant_id = await conn.fetchval("SELECT nextval('core.tenant_id_seq')")
        schema = schema_for(tenant_id)
        sequence = await conn.fetchval("SELECT nextval('core.archive_seq')")
        archive_no = numbering.format_archive_no(profile["kind"], profile["level"], letter, sequence)
        await conn.execute(
            "INSERT INTO core.tenant (id, archive_no, schema_name, schema_version, name, kind, level,"
            " business_letter, status, building_ids, unit_labels)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            tenant_id, archive_no, schema, migrations.latest("tenant"), profile["name"], profile["kind"],
            profile["level"], letter, profile["status"], building_ids, ", ".join(_unit_label(u) for u in units),
        )
        if units:
            await conn.executemany(
                "INSERT INTO core.tenant_unit (tenant_id, unit_id) VALUES ($1, $2)",
                [(tenant_id, u["id"]) for u in units],
            )
        await conn.execute(f'CREATE SCHEMA "{check_schema(schema)}"')
        await enter_schema(tx, schema)
        await build_latest_schema(conn)
        columns = ["archive_no", *profile.keys()]
        await conn.execute(
            f"INSERT INTO profile ({', '.join(columns)}) VALUES ({', '.join(f'${i + 1}' for i in range(len(columns)))})",
            archive_no, *profile.values(),
        )
        for contact in cleaned_contacts:
            await insert_contact(contact)
        await changelog.record(Actor(kind="staff", name=label), "file", "created", "", archive_no)
        await refresh_summary(conn, tenant_id)
        await identity.link(conn, tenant_id, holders, identity.identity_of(profile)[1], actor)
        await audit.record("tenant.create", principal=actor, tenant_id=tenant_id, target=archive_no)
    return tenant_id


async def insert_contact(contact: Mapping[str, Any]) -> int:
    """A cleaned contact into the tenant schema of the caller's ``tenant_tx``."""
    rows = await Contact.insert(Contact(**contact)).returning(Contact.id).run()
    return rows[0]["id"]


SUMMARY_SQL = """
SELECT p.name, p.kind, p.level, p.status,
       coalesce((SELECT c.name FROM contact c WHERE c.active ORDER BY c.is_primary DESC, c.id LIMIT 1), '')
           AS primary_contact,
       coalesce((SELECT string_agg(x, ' ' ORDER BY x) FROM (
           SELECT c.mobile AS x FROM contact c WHERE c.active AND c.mobile <> ''
           UNION SELECT c.landline FROM contact c WHERE c.active AND c.landline <> '') phones), '')
           AS contact_phones,
       (SELECT count(*) FROM contact c WHERE c.active)::int AS contact_count,
       ((SELECT count(*) FROM change_request r WHERE r.status = 'pending')
        + (SELECT count(*) FROM document d WHERE d.status = 'pending'))::int AS pending_reviews,
       nullif(CASE p.kind WHEN 'E' THEN p.credit_code ELSE p.resident_id END, '') AS identity_code
FROM profile p WHERE p.id = 1
"""
SUMMARY_COLUMNS = ("name", "kind", "level", "status", "primary_contact", "contact_phones", "contact_count",
                   "pending_reviews", "identity_code")


async def compute_summary(conn) -> dict[str, Any]:
    """Summary values from the tenant schema currently on the path."""
    row = await conn.fetchrow(SUMMARY_SQL)
    return {k: row[k] for k in SUMMARY_COLUMNS}


async def write_summary(conn, tenant_id: int, values: Mapping[str, Any]) -> None:
    sets = ", ".join(f"{k} = ${i + 2}" for i, k in enumerate(values))
    await conn.execute(
        f"UPDATE core.tenant SET {sets}, updated_at = now() WHERE id = $1", tenant_id, *values.values()
    )


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
    where, args = [], []

    def add(clause: str, value) -> None:
        args.append(value)
        where.append(clause.format(n=len(args)))

    scoped = in_scope(principal, args, "building_ids")
    if scoped:
        where.append(scoped)
    if not include_inactive:
        where.append("active")
    if q:
        q = q.strip()
        args.append(f"%{q}%")
        n = len(args)
        where.append(f"(name ILIKE ${n} OR archive_no ILIKE ${n} OR contact_phones LIKE ${n})")
    if building_id:
        add("${n} = ANY(building_ids)", building_id)
    if level is not None:
        add("level = ${n}", level)
    if status:
        add("status = ${n}", status)
    sql_where = ("WHERE " + " AND ".join(where)) if where else ""
    order = SORTS.get(sort, "name")
    total = await DB.pool.fetchval(f"SELECT count(*) FROM core.tenant {sql_where}", *args)
    args.extend([per_page, (max(page, 1) - 1) * per_page])
    rows = await DB.pool.fetch(
        "SELECT id, archive_no, name, kind, level, status, building_ids, unit_labels, primary_contact,"
        f" contact_phones, contact_count, pending_reviews, active, created_at FROM core.tenant {sql_where}"
        f" ORDER BY {order}, id LIMIT ${len(args) - 1} OFFSET ${len(args)}",
        *args,
    )
    return [dict(r) for r in rows], total


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

