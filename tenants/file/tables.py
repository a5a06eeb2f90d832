"""Tenant-schema tables: unqualified, so they resolve only inside ``tenant_tx``."""

from piccolo.columns import JSONB, BigSerial, Boolean, Date, Integer, Numeric, SmallInt, Text, Timestamptz, Varchar
from piccolo.table import Table

from portal.core.db import DB


class Profile(Table, tablename="profile", db=DB):
    id = Integer(primary_key=True, default=1)
    archive_no = Text()
    name = Text()
    kind = Varchar(length=1)
    credit_code = Text()
    resident_id = Text()
    legal_rep = Text()
    registered_capital = Numeric(digits=(18, 2), null=True, default=None)
    industry = Text()
    business_scope = Text()
    registered_address = Text()
    level = SmallInt()
    source_channel = Text()
    status = Text(default="potential")
    move_in_date = Date(null=True, default=None)
    special_needs = Text()
    notes = Text()
    created_at = Timestamptz()
    updated_at = Timestamptz()


class Contact(Table, tablename="contact", db=DB):
    name = Text()
    position = Text()
    mobile = Text()
    landline = Text()
    email = Text()
    is_primary = Boolean(default=False)
    is_emergency = Boolean(default=False)
    receives_notices = Boolean(default=False)
    active = Boolean(default=True)
    created_at = Timestamptz()
    deactivated_at = Timestamptz(null=True, default=None)


class ChangeLog(Table, tablename="change_log", db=DB):
    id = BigSerial(primary_key=True)
    at = Timestamptz()
    actor_kind = Text()
    actor_name = Text()
    approved_by = Text()
    entity = Text()
    entity_id = Integer(null=True)
    field = Text()
    old_value = Text(null=True)
    new_value = Text(null=True)
    request_id = Integer(null=True)


class ChangeRequest(Table, tablename="change_request", db=DB):
    kind = Text()
    target_id = Integer(null=True)
    payload = JSONB()
    submitted_by_id = Integer()
    submitted_by = Text()
    submitted_at = Timestamptz()
    status = Text(default="pending")
    decided_by = Text(null=True)
    decided_at = Timestamptz(null=True, default=None)
    reason = Text()


TENANT_TABLES = (Profile, Contact, ChangeLog, ChangeRequest)
