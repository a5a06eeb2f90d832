"""Request and response types of the JSON API (msgspec Structs, so the OpenAPI
schema documents them).

Conventions: datetimes are ISO 8601 with the Asia/Shanghai offset, dates
``YYYY-MM-DD``, money and other decimals are strings (``"5000000.00"``).
Input is checked for *types* by Litestar (a wrong type or an unknown field
is a 400); the business rules are checked by the same services as the HTML
forms (a broken rule is a 422 with ``fields`` and ``field_codes``).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal, Mapping, TypeVar
from zoneinfo import ZoneInfo

import msgspec
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Parameter
from msgspec import UNSET, Meta, Struct, UnsetType

from portal.core.roles import Principal
from portal.core.params import PositiveId
from tenants.file import forms
from tenants.registry import identity

SHANGHAI = ZoneInfo("Asia/Shanghai")
MAX_PER_PAGE = 200

# --- errors -----------------------------------------------------------------------------------------


class ErrorBody(Struct, omit_defaults=True):
    """Every error answer of the API."""

    code: Annotated[str, Meta(description="Machine-readable error code, e.g. `validation_failed`, `not_found`.")]
    message: Annotated[str, Meta(description="Localized message (Chinese by default; `?lang=en` or "
                                             "`Accept-Language: en` for English).")]
    fields: Annotated[dict[str, str] | UnsetType, Meta(description="Field -> localized message.")] = UNSET
    field_codes: Annotated[dict[str, str] | UnsetType, Meta(description="Field -> machine code.")] = UNSET


def error_response(description: str) -> ResponseSpec:
    return ResponseSpec(data_container=ErrorBody, description=description, generate_examples=False)


ERRORS = {
    400: error_response("Malformed JSON or a value of the wrong type (`bad_request`)."),
    401: error_response("Not signed in (`not_authenticated`)."),
    403: error_response("Signed in without the right to do this (`forbidden`), or the CSRF header is missing "
                "(`csrf_failed`)."),
    # The input guard (portal/web/input_guard.py) answers these on every route.
    422: error_response("A number out of range (`number.range`) or a text with control characters "
                        "(`text.control_characters`); see `fields` and `field_codes`."),
}
NOT_FOUND = {404: error_response("Unknown, or not visible to you (`not_found`).")}
INVALID = {422: error_response("Some fields are not valid (`validation_failed`); see `fields` and `field_codes`.")}
CONFLICT = {409: error_response("The object is not in a state that allows this (`conflict`).")}


# Documents the CSRF header (so "Try it out" on /api/docs can send it); the check
# itself is SecurityMiddleware's, before routing.
CSRF_HEADER = {
    "x_csrftoken": Parameter(
        str, header="x-csrftoken", required=False,
        description="Required on POST, PUT, PATCH and DELETE (not on GET): the CSRF token from "
                    "`GET /api/v1/auth/csrf` or from the sign-in answer.",
    )
}


def responses(*extra: Mapping[int, ResponseSpec]) -> dict[int, ResponseSpec]:
    out = dict(ERRORS)
    for more in extra:
        out.update(more)
    return out


# --- conversion helpers -----------------------------------------------------------------------------

S = TypeVar("S", bound=Struct)


def _out(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(SHANGHAI)
    return value


def build(cls: type[S], row: Mapping[str, Any], **overrides: Any) -> S:
    """A response struct from a database row: its fields picked by name,
    decimals as strings, datetimes in Asia/Shanghai."""
    values = {}
    for name in cls.__struct_fields__:
        if name in overrides:
            values[name] = overrides[name]
        elif name in row:
            values[name] = _out(row[name])
    return cls(**values)


def as_form(values: Mapping[str, Any]) -> dict[str, Any]:
    """API values in the text form the shared cleaning functions read."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        if value is UNSET:
            continue
        if value is None:
            out[key] = ""
        elif isinstance(value, bool):
            out[key] = value
        elif isinstance(value, (dt.date, dt.datetime)):
            out[key] = value.isoformat()
        else:
            out[key] = str(value)
    return out


# --- auth -------------------------------------------------------------------------------------------


class LoginIn(Struct, forbid_unknown_fields=True):
    kind: Annotated[Literal["staff", "portal"], Meta(description="`staff` (console) or `portal` (tenant user).")]
    login: Annotated[str, Meta(description="Staff user name, or the portal user's e-mail address.")]
    password: str


class UserOut(Struct):
    kind: Literal["staff", "portal"]
    id: int
    name: str
    roles: list[str]
    permissions: list[str]
    building_ids: Annotated[list[int], Meta(description="Buildings a staff member covers (see `all_buildings`).")]
    all_buildings: bool
    tenant_id: Annotated[int | None, Meta(description="The company of a portal user.")] = None

    @classmethod
    def of(cls, principal: Principal) -> "UserOut":
        return cls(
            kind=principal.kind,  # type: ignore[arg-type]
            id=principal.user_id,
            name=principal.name,
            roles=sorted(str(r) for r in principal.roles),
            permissions=sorted(str(p) for p in principal.perms) if principal.is_staff else [],
            building_ids=sorted(principal.building_ids),
            all_buildings=principal.is_staff and principal.sees_all_buildings,
            tenant_id=principal.tenant_id,
        )


class LoginOut(Struct):
    user: UserOut
    csrf_token: Annotated[str, Meta(description="Send it as the `x-csrftoken` header on every POST/PUT/PATCH/DELETE.")]


class CsrfOut(Struct):
    csrf_token: Annotated[str, Meta(description="Send it as the `x-csrftoken` header on every POST/PUT/PATCH/DELETE.")]


# --- tenants ----------------------------------------------------------------------------------------

CONFIRM_DESCRIPTION = ("The credit code or resident ID is on another tenant's file (422 `credit_code.duplicate` / "
                       "`resident_id.duplicate`) and it is the same company moving: save and link the two files.")
Level = Annotated[int, Meta(ge=0, le=3, description="0 normal, 1 silver, 2 gold, 3 diamond.")]
Money = Annotated[str, Meta(description="Amount in yuan as a string, e.g. `\"5000000.00\"`.", examples=["5000000.00"])]


class TenantSummary(Struct):
    id: int
    archive_no: str
    name: str
    kind: str
    level: int
    status: str
    building_ids: list[int]
    unit_labels: str
    primary_contact: str
    contact_phones: str
    contact_count: int
    pending_reviews: int
    active: bool
    created_at: dt.datetime


class TenantPage(Struct):
    items: list[TenantSummary]
    total: int
    page: int
    per_page: int


class ProfileOut(Struct):
    archive_no: str
    name: str
    kind: Annotated[str, Meta(description="`E` enterprise or `P` individual.")]
    credit_code: str
    resident_id: str
    legal_rep: str
    registered_capital: Money | None
    industry: str
    business_scope: str
    registered_address: str
    level: int
    source_channel: str
    status: str
    move_in_date: dt.date | None
    special_needs: str
    notes: str
    created_at: dt.datetime
    updated_at: dt.datetime


class ContactOut(Struct):
    id: int
    name: str
    position: str
    mobile: str
    landline: str
    email: str
    is_primary: bool
    is_emergency: bool
    receives_notices: bool
    active: bool
    created_at: dt.datetime
    deactivated_at: dt.datetime | None


class UnitOut(Struct):
    id: int
    building_id: int
    building_name: str
    code: str
    floor: int
    area_m2: Annotated[str, Meta(description="Area in square metres, as a decimal string.")]


class TenantDetail(Struct):
    id: int
    archive_no: str
    active: bool
    building_ids: list[int]
    profile: ProfileOut
    contacts: list[ContactOut]
    units: list[UnitOut]


class ContactIn(Struct, forbid_unknown_fields=True):
    """A contact; at least one of mobile, landline or e-mail is needed, and an
    e-mail address for one who receives notices."""

    name: str
    position: str = ""
    mobile: str = ""
    landline: str = ""
    email: str = ""
    is_primary: bool = False
    is_emergency: bool = False
    receives_notices: bool = False


class TenantCreate(Struct, forbid_unknown_fields=True):
    """A new tenant: its profile, business type letter, units and contacts.
    `name`, `kind`, `business_letter` and (by kind) `credit_code` or
    `resident_id` are required; the rules are checked as in the console."""

    name: str
    kind: Annotated[str, Meta(description="`E` enterprise or `P` individual.")]
    business_letter: Annotated[str, Meta(description="Business type letter, e.g. `A` (office lease).")]
    credit_code: Annotated[str, Meta(description="Unified social credit code (18 characters), for `E`.")] = ""
    resident_id: Annotated[str, Meta(description="Resident ID number, for `P`.")] = ""
    legal_rep: str = ""
    registered_capital: Money | None = None
    industry: str = ""
    business_scope: str = ""
    registered_address: str = ""
    level: Level = 0
    source_channel: str = ""
    status: Annotated[str, Meta(description="potential | active | dormant | lost")] = "potential"
    move_in_date: dt.date | None = None
    special_needs: str = ""
    notes: str = ""
    unit_ids: list[PositiveId] = msgspec.field(default_factory=list)
    contacts: list[ContactIn] = msgspec.field(default_factory=list)
    confirm_same_company: Annotated[bool, Meta(description=CONFIRM_DESCRIPTION)] = False


class ProfilePatch(Struct, forbid_unknown_fields=True):
    """A partial profile: only the fields sent are changed (and logged)."""

    name: str | UnsetType = UNSET
    kind: str | UnsetType = UNSET
    credit_code: str | UnsetType = UNSET
    resident_id: str | UnsetType = UNSET
    legal_rep: str | UnsetType = UNSET
    registered_capital: Money | None | UnsetType = UNSET
    industry: str | UnsetType = UNSET
    business_scope: str | UnsetType = UNSET
    registered_address: str | UnsetType = UNSET
    level: Level | UnsetType = UNSET
    source_channel: str | UnsetType = UNSET
    status: str | UnsetType = UNSET
    move_in_date: dt.date | None | UnsetType = UNSET
    special_needs: str | UnsetType = UNSET
    notes: str | UnsetType = UNSET
    confirm_same_company: Annotated[bool, Meta(description=CONFIRM_DESCRIPTION)] | UnsetType = UNSET

    def present(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__struct_fields__ if getattr(self, k) is not UNSET}


assert set(ProfilePatch.__struct_fields__) == {*forms.PROFILE_FIELDS, identity.CONFIRM_FIELD}


class ChangeOut(Struct):
    id: int
    at: dt.datetime
    actor_kind: str
    actor_name: str
    approved_by: str
    entity: str
    entity_id: int | None
    field: str
    old_value: str | None
    new_value: str | None
    request_id: int | None


class ChangePage(Struct):
    items: list[ChangeOut]
    total: int
    page: int
    per_page: int


class InvitationIn(Struct, forbid_unknown_fields=True):
    email: str
    display_name: str


class InvitationOut(Struct):
    id: int
    email: str
    display_name: str
    expires_at: dt.datetime
    link: Annotated[str, Meta(description="The one-time sign-up link; shown only in this answer.")]


# --- reviews and change requests --------------------------------------------------------------------


class ReviewItemOut(Struct):
    id: int
    tenant_id: int
    tenant_name: str
    archive_no: str
    kind: str
    ref_id: int
    title: str
    submitted_by: str
    submitted_at: dt.datetime
    status: str
    decided_at: dt.datetime | None


class ReviewPage(Struct):
    items: list[ReviewItemOut]
    total: int
    page: int
    per_page: int


class ChangeRequestOut(Struct):
    id: int
    kind: str
    target_id: int | None
    payload: dict[str, Any]
    submitted_by: str
    submitted_at: dt.datetime
    status: str
    decided_by: str | None
    decided_at: dt.datetime | None
    reason: str


class ReviewDetail(Struct):
    tenant_id: int
    archive_no: str
    tenant_name: str
    request: ChangeRequestOut
    current: Annotated[dict[str, str], Meta(description="The current values of the fields the request changes.")]


class DecisionIn(Struct, forbid_unknown_fields=True):
    decision: Literal["approve", "reject"]
    reason: Annotated[str, Meta(description="Required when rejecting; the tenant sees it.")] = ""


class DecisionOut(Struct):
    tenant_id: int
    request_id: int
    status: Literal["approved", "rejected"]


# --- the tenant's own portal ------------------------------------------------------------------------


class CompanyProfileOut(Struct):
    """What a tenant's own people see of their file (not the office's notes,
    level or source channel)."""

    archive_no: str
    name: str
    kind: str
    credit_code: str
    resident_id: str
    legal_rep: str
    registered_capital: Money | None
    industry: str
    business_scope: str
    registered_address: str
    status: str
    move_in_date: dt.date | None
    special_needs: str
    updated_at: dt.datetime


class CompanyOut(Struct):
    profile: CompanyProfileOut
    contacts: list[ContactOut]
    units: list[UnitOut]


class ChangeRequestList(Struct):
    items: list[ChangeRequestOut]


FormValue = str | int | bool | None


class ChangeRequestIn(Struct, forbid_unknown_fields=True):
    """A proposed change, reviewed by the office before it applies.
    `profile`: `data` holds some of name, legal_rep, registered_capital,
    industry, business_scope, registered_address, special_needs.
    `contact_add` / `contact_update`: `data` is a whole contact.
    `contact_update` / `contact_deactivate` need `target_id` (the contact)."""

    kind: Literal["profile", "contact_add", "contact_update", "contact_deactivate"]
    target_id: PositiveId | None = None
    data: dict[str, FormValue] = msgspec.field(default_factory=dict)
