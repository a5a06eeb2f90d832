"""Core-schema tables of the registry. Pinned to ``core``; never in a tenant schema."""

from piccolo.columns import (
    Array,
    BigSerial,
    Boolean,
    ForeignKey,
    Date,
    Integer,
    Numeric,
    SmallInt,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.table import Table

from portal.core.db import DB


class Building(Table, tablename="building", schema="core", db=DB):
    code = Text()
    name = Text()
    address = Text()
    floors = Integer(default=1)


class Unit(Table, tablename="unit", schema="core", db=DB):
    building_id = Integer()
    floor = Integer()
    code = Text()
    area_m2 = Numeric(digits=(10, 2))


class Tenant(Table, tablename="tenant", schema="core", db=DB):
    id = Integer(primary_key=True)
    archive_no = Text()
    schema_name = Text()
    schema_version = Integer(default=0)
    migration_error = Text(null=True, default=None)
    name = Text()
    kind = Varchar(length=1)
    level = SmallInt()
    business_letter = Varchar(length=1)
    status = Text()
    building_ids = Array(base_column=Integer())
    unit_labels = Text()
    primary_contact = Text()
    contact_phones = Text()
    contact_count = Integer()
    pending_reviews = Integer()
    active = Boolean(default=True)
    created_at = Timestamptz()
    updated_at = Timestamptz()
    identity_code = Text(null=True, default=None)
    # Retention (migration core 0011, tenants/retention): moved by every business event.
    last_business_on = Date()
    dormant_since = Date(null=True, default=None)
    read_only = Boolean(default=False)  # a restored copy for inspection (tenants/backup)


class TenantUnit(Table, tablename="tenant_unit", schema="core", db=DB):
    tenant_id = Integer(primary_key=True)
    unit_id = Integer()


class ReviewItem(Table, tablename="review_item", schema="core", db=DB):
    id = BigSerial(primary_key=True)
    tenant_id = ForeignKey(Tenant, null=False)  # a ForeignKey so the review queue joins the tenant's name
    kind = Text()
    ref_id = Integer()
    title = Text()
    subject = Text()  # what the item is about, e.g. the uploaded document's title
    submitted_by = Text()
    submitted_at = Timestamptz()
    status = Text(default="pending")
    decided_at = Timestamptz(null=True, default=None)


class TenantLink(Table, tablename="tenant_link", schema="core", db=DB):
    """Staff confirmed that two files belong to one company (it moved)."""

    tenant_id = Integer()
    linked_tenant_id = Integer()
    identity_code = Text()
    created_by = Text()
    created_at = Timestamptz()
