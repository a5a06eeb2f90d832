"""Work orders in the JSON API: staff under a tenant, and a portal user's own
company. The same services and rules as the pages (portal/routes/*/repairs.py):
a tenant outside the caller's buildings is a 404, bad input a 422 with fields."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from litestar import Request, get, post
from msgspec import Meta, Struct

from portal.core.params import PositiveId
from portal.core.roles import Perm
from portal.routes.api.guards import portal_user, staff_requires
from portal.routes.api.schemas import CONFLICT, INVALID, NOT_FOUND, as_form, build, responses
from portal.web.tenancy import Tenant
from tenants.servicedesk import forms, service

TAGS = ["repairs"]
Category = Literal[forms.CATEGORIES]  # type: ignore[valid-type]


class WorkOrderIn(Struct, forbid_unknown_fields=True):
    """A repair to report. Staff may say how it came in (`channel`); a portal
    report is always `portal`."""

    category: Category
    description: Annotated[str, Meta(max_length=2000)]
    urgency: Literal["normal", "urgent"] = "normal"
    location: Annotated[str, Meta(max_length=200)] = ""
    preferred_window: Annotated[str, Meta(max_length=100)] = ""
    unit_id: PositiveId | None = None
    channel: Literal["phone", "walk_in", "inspection"] = "phone"


class WorkOrderEventOut(Struct):
    kind: str
    actor_name: str
    note: str
    at: dt.datetime


class WorkOrderOut(Struct):
    id: int
    number: str
    category: str
    description: str
    urgency: str
    location: str
    preferred_window: str
    channel: str
    status: str
    assignee_name: str
    reporter_name: str
    response_due_at: dt.datetime
    onsite_due_at: dt.datetime
    completion_due_at: dt.datetime
    completed_at: dt.datetime | None = None
    closed_at: dt.datetime | None = None
    rating: int | None = None
    rating_comment: str = ""
    created_at: dt.datetime | None = None
    events: list[WorkOrderEventOut] | None = None


def _out(row: dict) -> WorkOrderOut:
    events = [build(WorkOrderEventOut, e) for e in row["events"]] if "events" in row else None
    return build(WorkOrderOut, row, events=events)


async def _report(request: Request, ref, data: WorkOrderIn) -> WorkOrderOut:
    raw = as_form({f: getattr(data, f) for f in WorkOrderIn.__struct_fields__})
    row = await service.report(ref, request.state.principal, raw, request.app.state.settings)
    return _out(await service.get_order(ref, request.state.principal, row["id"]))


@get("/tenants/{tenant_id:int}/work-orders", tags=TAGS, guards=[staff_requires(Perm.TENANT_READ)],
     summary="A tenant's work orders, newest first", responses=responses(NOT_FOUND))
async def tenant_orders(request: Request, tenant: Tenant) -> list[WorkOrderOut]:
    return [_out(r) for r in await service.list_orders(tenant, request.state.principal)]


@post("/tenants/{tenant_id:int}/work-orders", tags=TAGS, guards=[staff_requires(Perm.REPAIR_REPORT)],
      summary="Report a repair on the tenant's behalf", responses=responses(NOT_FOUND, INVALID, CONFLICT))
async def tenant_report(request: Request, tenant: Tenant, data: WorkOrderIn) -> WorkOrderOut:
    """Dispatch to a technician follows after commit (a Celery task)."""
    return await _report(request, tenant, data)


@get("/tenants/{tenant_id:int}/work-orders/{order_id:int}", tags=TAGS, guards=[staff_requires(Perm.TENANT_READ)],
     summary="One work order with its timeline", responses=responses(NOT_FOUND))
async def tenant_order(request: Request, tenant: Tenant, order_id: PositiveId) -> WorkOrderOut:
    return _out(await service.get_order(tenant, request.state.principal, order_id))


@get("/portal/work-orders", tags=TAGS, guards=[portal_user], summary="My company's work orders",
     responses=responses())
async def my_orders(request: Request, my_tenant: Tenant) -> list[WorkOrderOut]:
    return [_out(r) for r in await service.list_orders(my_tenant, request.state.principal)]


@post("/portal/work-orders", tags=TAGS, guards=[portal_user], summary="Report a repair",
      responses=responses(INVALID, CONFLICT))
async def my_report(request: Request, my_tenant: Tenant, data: WorkOrderIn) -> WorkOrderOut:
    return await _report(request, my_tenant, data)


@get("/portal/work-orders/{order_id:int}", tags=TAGS, guards=[portal_user],
     summary="One of my company's work orders with its timeline", responses=responses(NOT_FOUND))
async def my_order(request: Request, my_tenant: Tenant, order_id: PositiveId) -> WorkOrderOut:
    return _out(await service.get_order(my_tenant, request.state.principal, order_id))


ROUTES = [tenant_orders, tenant_report, tenant_order, my_orders, my_report, my_order]
