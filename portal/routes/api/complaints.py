"""Staff API for a tenant's complaints: list, record one, read one (with its
steps) and decide its current step. Same services and rules as the console
(portal/routes/console/complaints.py); a tenant outside the caller's
buildings, or another tenant's complaint, is 404."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from litestar import Request, get, post
from msgspec import Meta, Struct

from portal.core.roles import Perm
from portal.routes.api.guards import staff_requires
from portal.routes.api.schemas import CONFLICT, INVALID, NOT_FOUND, as_form, build, responses
from portal.web.tenancy import Tenant
from tenants.complaints import flow, service

TAGS = ["complaints"]
Short = Annotated[str, Meta(max_length=200)]
Long = Annotated[str, Meta(max_length=2000)]
Step = Literal[flow.STEPS]  # type: ignore[valid-type]


class ComplaintIn(Struct, forbid_unknown_fields=True):
    """A complaint recorded by staff from a call, visit, letter or e-mail. A
    major complaint always places the legal-hold flag on the tenant's file."""

    description: Long
    complainant: Short
    channel: Literal["phone", "visit", "letter", "email"] = "phone"
    contact: Short = ""
    against: Short = ""
    request: Long = ""
    grade: Literal["general", "serious", "major"] = "general"
    legal_hold_requested: bool = False


class StepIn(Struct, forbid_unknown_fields=True):
    """A decision on the current step. ``approve`` carries the step's data
    (assign: department; cause: cause, responsible; remedy: remedy_kind, remedy,
    remedy_amount; carry_out: reply, feedback; review: follow_up, lessons);
    ``send_back`` needs a note and may name an earlier step; ``reject`` (step
    'stands' only) needs the note, which is the polite reply the tenant reads."""

    decision: Literal["approve", "reject", "send_back"]
    expected_step: Step | None = None  # type: ignore[valid-type]
    to_step: Step | None = None  # type: ignore[valid-type]
    note: Long = ""
    grade: Literal["general", "serious", "major"] | None = None
    department: Short = ""
    cause: Long = ""
    responsible: Short = ""
    remedy_kind: Literal["apology", "rework", "discount", "compensation", "other"] | None = None
    remedy: Long = ""
    remedy_amount: Annotated[str, Meta(max_length=20, description="Yuan, e.g. `\"200.00\"`.")] = ""
    reply: Long = ""
    feedback: Long = ""
    follow_up: Long = ""
    lessons: Long = ""


class StepOut(Struct):
    step: str
    decision: str
    to_step: str
    actor_name: str
    at: dt.datetime
    note: str


class ComplaintOut(Struct):
    id: int
    number: str
    lodged_at: dt.datetime
    channel: str
    complainant: str
    against: str
    description: str
    request: str
    grade: str
    status: str
    step: str | None
    public_status: str
    legal_hold_requested: bool
    department: str = ""
    cause: str = ""
    responsible: str = ""
    remedy_kind: str = ""
    remedy: str = ""
    remedy_fen: int = 0
    reply: str = ""
    closed_at: dt.datetime | None = None
    due_at: dt.datetime | None = None
    steps: list[StepOut] = []
    credit_receipt_no: str = ""  # the ledger credit of an approved discount or compensation (step 7)
    credited_fen: int = 0


def _out(row: dict) -> ComplaintOut:
    credit = row.get("credit") or {}
    return build(ComplaintOut, row, steps=[build(StepOut, s) for s in row.get("steps", [])],
                 credit_receipt_no=credit.get("receipt_no", ""), credited_fen=credit.get("amount_fen", 0))


@get("/tenants/{tenant_id:int}/complaints", tags=TAGS, guards=[staff_requires(Perm.TENANT_READ)],
     summary="List a tenant's complaints", responses=responses(NOT_FOUND))
async def list_complaints(request: Request, tenant: Tenant) -> list[ComplaintOut]:
    return [_out(r) for r in await service.list_for(tenant, request.state.principal)]


@post("/tenants/{tenant_id:int}/complaints", tags=TAGS, guards=[staff_requires(Perm.COMPLAINT_HANDLE)],
      summary="Record a complaint", responses=responses(NOT_FOUND, INVALID))
async def create_complaint(request: Request, tenant: Tenant, data: ComplaintIn) -> ComplaintOut:
    principal = request.state.principal
    complaint_id = await service.lodge(tenant, as_form({f: getattr(data, f) for f in data.__struct_fields__}),
                                       principal)
    return _out(await service.read(tenant, complaint_id, principal))


@get("/tenants/{tenant_id:int}/complaints/{complaint_id:int}", tags=TAGS,
     guards=[staff_requires(Perm.TENANT_READ)], summary="Read a complaint with its steps",
     responses=responses(NOT_FOUND))
async def get_complaint(request: Request, tenant: Tenant, complaint_id: int) -> ComplaintOut:
    return _out(await service.read(tenant, complaint_id, request.state.principal))


@post("/tenants/{tenant_id:int}/complaints/{complaint_id:int}/decide", tags=TAGS, status_code=200,
      guards=[staff_requires(Perm.COMPLAINT_HANDLE)], summary="Decide the current step of a complaint",
      responses=responses(NOT_FOUND, INVALID, CONFLICT))
async def decide_step(request: Request, tenant: Tenant, complaint_id: int, data: StepIn) -> ComplaintOut:
    principal = request.state.principal
    raw = {k: v for k, v in as_form({f: getattr(data, f) for f in data.__struct_fields__}).items() if v is not None}
    await service.decide(tenant, complaint_id, raw, principal)
    return _out(await service.read(tenant, complaint_id, principal))


ROUTES = [list_complaints, create_complaint, get_complaint, decide_step]
