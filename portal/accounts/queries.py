"""SQL the query builder could say but that runs on every request.

The principal lookups run once per request (``portal/web/middleware.py``):
building them with Piccolo on each call cost ~0.3 ms of web CPU per page in
``portal bench web``, so they are fixed texts here (one statement each).
"""

from __future__ import annotations

from portal.core.db import fetchrow

# A staff member's roles, buildings and session state.
_STAFF = ("SELECT id, display_name, roles, building_ids, active, session_epoch, must_change_password"
          " FROM core.staff_user WHERE id = $1")

# A portal user with the registry row of their tenant (the portal's tenant dependency needs no query of its own).
_PORTAL = ("SELECT u.id, u.display_name, u.tenant_id, u.active, u.session_epoch, t.active AS tenant_active,"
           " t.schema_name AS tenant_schema_name, t.name AS tenant_name, t.archive_no AS tenant_archive_no,"
           " t.building_ids AS tenant_building_ids, t.status AS tenant_status, t.read_only AS tenant_read_only"
           " FROM core.portal_user u JOIN core.tenant t ON t.id = u.tenant_id WHERE u.id = $1")


async def staff_principal_row(user_id: int):
    return await fetchrow(_STAFF, user_id)


async def portal_principal_row(user_id: int):
    return await fetchrow(_PORTAL, user_id)
