"""Staff API for tenants: list, create, read, edit, change log, contacts,
portal invitations. Same guards, services and rules as the console pages
(portal/routes/console/tenants.py); a tenant outside the caller's buildings
is a 404, exactly like one that does not exist."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from litestar import Request, get, patch, post, put
from litestar.datastructures import CacheControlHeader
from litestar.params import Parameter

from portal.accounts import service as accounts
from portal.core.roles import Perm
from portal.core.errors import NotFound
from portal.routes.api.guards import staff_requires
from portal.routes.api.schemas import (
    INVALID,
    MAX_PER_PAGE,
    NOT_FOUND,
    ChangeOut,
    ChangePage,
    ContactIn,
    ContactOut,
    InvitationIn,
    InvitationOut,
    ProfileOut,
    ProfilePatch,
    TenantCreate,
    TenantDetail,
    TenantPage,
    TenantSummary,
    UnitOut,
    as_form,
    build,
    responses,
)
from portal.web.tenancy import Tenant
from tenants.file import forms, service as file_service
from tenants.numbering import parse_business_letters
from tenants.registry import service as registry

TAGS = ["tenants"]
Page = Annotated[int, Parameter(ge=1, le=100_000, description="1-based page number.")]
PerPage = Annotated[int, Parameter(ge=1, le=MAX_PER_PAGE, description=f"Rows per page (at most {MAX_PER_PAGE}).")]
Sort = Literal[tuple(registry.SORTS)]  # type: ignore[valid-type]
Status = Literal[forms.STATUSES]  # type: ignore[valid-type]


async def tenant_units(tenant_id: int) -> list[UnitOut]:
    return [build(UnitOut, r) for r in await registry.leased_units(tenant_id)]


async def _detail(request: Request, ref: Tenant, *, audit_view: bool) -> TenantDetail:
    data = await file_service.read_file(ref, request.state.principal, audit_view=audit_view)
    ref = await registry.get_ref(ref.id)  # the name or active flag may just have changed
    return TenantDetail(
        id=ref.id, archive_no=ref.archive_no, active=ref.active, building_ids=list(ref.building_ids),
        profile=build(ProfileOut, data["profile"]),
        contacts=[build(ContactOut, c) for c in data["contacts"]],
        units=await tenant_units(ref.id),
    )


async def _contact(request: Request, ref: Tenant, contact_id: int) -> ContactOut:
    data = await file_service.read_file(ref, request.state.principal, audit_view=False)
    contact = next((c for c in data["contacts"] if c["id"] == contact_id), None)
    if contact is None:
        raise NotFound("No such contact.")
    return build(ContactOut, contact)


@get("/tenants", tags=TAGS, guards=[staff_requires(Perm.TENANT_READ)], summary="List tenants",
     responses=responses())
async def list_tenants(
    request: Request,
    q: Annotated[str, Parameter(description="Part of the name, archive number or a contact phone.")] = "",
    building: Annotated[int | None, Parameter(description="Building id.")] = None,
    level: Annotated[int | None, Parameter(ge=0, le=3, description="Customer level 0-3.",
                                                     schema_extra={"minimum": 0})] = None,
    status: Status | None = None,
    inactive: Annotated[bool, Parameter(description="Include deactivated tenants.")] = False,
    sort: Sort = "name",
    page: Page = 1,
    per_page: PerPage = 50,
) -> TenantPage:
    """Only the tenants of the buildings the caller covers; read from the
    `core` summary, never from the tenant schemas."""
    rows, total = await registry.list_tenants(
        request.state.principal, q=q.strip()[:100], building_id=building, level=level, status=status or "",
        include_inactive=inactive, sort=sort, page=page, per_page=per_page,
    )
    return TenantPage(items=[build(TenantSummary, r) for r in rows], total=total, page=page, per_page=per_page)


@post("/tenants", tags=TAGS, guards=[staff_requires(Perm.TENANT_CREATE)],
      summary="Register a tenant", responses=responses(INVALID))
async def create_tenant(request: Request, data: TenantCreate) -> TenantDetail:
    """Creates the registry row and the tenant's schema with its profile,
    contacts and units in one transaction: on any error nothing is created."""
    principal = request.state.principal
    raw = as_form({k: getattr(data, k) for k in (*forms.PROFILE_FIELDS, "business_letter", "confirm_same_company")})
    contacts = [as_form(msgspec.structs.asdict(c)) for c in data.contacts]
    tenant_id = await registry.create_tenant(
        raw, contacts, data.unit_ids, principal,
        business_letters=parse_business_letters(request.app.state.settings.business_letters),
    )
    # The creator gets the file back even if it lies outside their buildings
    # (a tenant registered without units): they have just written it.
    return await _detail(request, await registry.get_ref(tenant_id), audit_view=False)


@get("/tenants/{tenant_id:int}", tags=TAGS, guards=[staff_requires(Perm.TENANT_READ)],
     summary="A tenant's file: profile, contacts, units", responses=responses(NOT_FOUND))
async def get_tenant(request: Request, tenant: Tenant) -> TenantDetail:
    return await _detail(request, tenant, audit_view=True)


@patch("/tenants/{tenant_id:int}", tags=TAGS,
       guards=[staff_requires(Perm.TENANT_WRITE)], summary="Change some profile fields",
       responses=responses(NOT_FOUND, INVALID))
async def update_tenant(request: Request, tenant: Tenant, data: ProfilePatch) -> TenantDetail:
    """Only the fields sent change; each change is written to the change log."""
    principal = request.state.principal
    await file_service.update_profile(tenant, as_form(data.present()), principal)
    return await _detail(request, tenant, audit_view=False)


@get("/tenants/{tenant_id:int}/changes", tags=TAGS, guards=[staff_requires(Perm.TENANT_READ)],
     summary="The file's change log, newest first", responses=responses(NOT_FOUND))
async def list_changes(request: Request, tenant: Tenant, page: Page = 1) -> ChangePage:
    data = await file_service.read_file(tenant, request.state.principal, changes_page=page)
    return ChangePage(items=[build(ChangeOut, c) for c in data["changes"]], total=data["changes_total"],
                      page=page, per_page=file_service.CHANGES_PER_PAGE)


@post("/tenants/{tenant_id:int}/contacts", tags=TAGS,
      guards=[staff_requires(Perm.TENANT_WRITE)], summary="Add a contact", responses=responses(NOT_FOUND, INVALID))
async def add_contact(request: Request, tenant: Tenant, data: ContactIn) -> ContactOut:
    principal = request.state.principal
    contact_id = await file_service.save_contact(tenant, None, as_form(msgspec.structs.asdict(data)), principal)
    return await _contact(request, tenant, contact_id)


@put("/tenants/{tenant_id:int}/contacts/{contact_id:int}", tags=TAGS,
     guards=[staff_requires(Perm.TENANT_WRITE)], summary="Replace a contact's details",
     responses=responses(NOT_FOUND, INVALID))
async def update_contact(request: Request, tenant: Tenant, contact_id: int, data: ContactIn) -> ContactOut:
    principal = request.state.principal
    await file_service.save_contact(tenant, contact_id, as_form(msgspec.structs.asdict(data)), principal)
    return await _contact(request, tenant, contact_id)


@post("/tenants/{tenant_id:int}/contacts/{contact_id:int}/deactivate", tags=TAGS,
      status_code=200, guards=[staff_requires(Perm.TENANT_WRITE)], summary="Deactivate a contact (kept in the file)",
      responses=responses(NOT_FOUND))
async def deactivate_contact(request: Request, tenant: Tenant, contact_id: int) -> ContactOut:
    principal = request.state.principal
    await file_service.set_contact_active(tenant, contact_id, False, principal)
    return await _contact(request, tenant, contact_id)


@post("/tenants/{tenant_id:int}/invitations", tags=TAGS,
      guards=[staff_requires(Perm.PORTAL_INVITE)], cache_control=CacheControlHeader(no_store=True),
      summary="Invite a person of the tenant to the portal", responses=responses(NOT_FOUND, INVALID))
async def invite(request: Request, tenant: Tenant, data: InvitationIn) -> InvitationOut:
    """Returns the one-time sign-up link; only a hash of it is stored, so it
    cannot be shown again."""
    principal = request.state.principal
    settings = request.app.state.settings
    invite_id, token = await accounts.invite_portal_user(
        tenant.id, {"email": data.email, "display_name": data.display_name}, principal, settings.invite_valid_hours
    )
    return build(InvitationOut, await accounts.invitation(invite_id), link=f"{settings.base_url}/portal/invite/{token}")


ROUTES = [list_tenants, create_tenant, get_tenant, update_tenant, list_changes, add_contact, update_contact,
          deactivate_contact, invite]
