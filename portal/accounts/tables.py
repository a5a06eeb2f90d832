"""Core tables of staff and portal accounts. ``tenant_id`` is a ``ForeignKey``
(as in the migration) so the sign-in and invitation reads join the tenant's row."""

from piccolo.columns import Array, Boolean, ForeignKey, Integer, Text, Timestamptz
from piccolo.table import Table

from portal.core.db import DB
from tenants.registry.tables import Tenant


class StaffUser(Table, tablename="staff_user", schema="core", db=DB):
    username = Text()
    display_name = Text()
    email = Text()
    mobile = Text()  # 11 digits or empty: the notification gateway's SMS address
    department = Text()
    password_hash = Text()
    roles = Array(base_column=Text())
    building_ids = Array(base_column=Integer())
    active = Boolean(default=True)
    must_change_password = Boolean(default=False)
    session_epoch = Integer(default=0)
    created_at = Timestamptz()
    password_changed_at = Timestamptz()
    last_login_at = Timestamptz(null=True, default=None)


class PortalUser(Table, tablename="portal_user", schema="core", db=DB):
    tenant_id = ForeignKey(Tenant, null=False)
    email = Text()
    display_name = Text()
    password_hash = Text()
    active = Boolean(default=True)
    session_epoch = Integer(default=0)
    created_at = Timestamptz()
    last_login_at = Timestamptz(null=True, default=None)


class PortalInvite(Table, tablename="portal_invite", schema="core", db=DB):
    tenant_id = ForeignKey(Tenant, null=False)
    email = Text()
    display_name = Text()
    token_hash = Text()
    expires_at = Timestamptz()
    accepted_at = Timestamptz(null=True, default=None)
    revoked_at = Timestamptz(null=True, default=None)
    created_by = Integer(null=True)
    created_at = Timestamptz()
