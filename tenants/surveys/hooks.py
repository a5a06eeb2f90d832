"""Surveys' part of a tenant's file: its invitations and answers are kept in
``core`` (see migrations/core/m0010_surveys.py; no tenant-schema table, so no
inventory of its own) and deleted with the file (``purge_core``)."""

from __future__ import annotations

from portal.core.hooks import DomainHooks, delete_for_tenant, register
from tenants.surveys.tables import SurveyAnswer, SurveyInvitation


async def purge_core(conn, tenant_id: int) -> int:
    return await delete_for_tenant(tenant_id, SurveyAnswer, SurveyInvitation)


register(DomainHooks("surveys", purge_core=purge_core))
