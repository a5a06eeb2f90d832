"""Staff API for the review queue (portal/routes/console/reviews.py)."""

from __future__ import annotations

from typing import Annotated, Literal

from litestar import Request, get, post
from litestar.params import Parameter

from portal.core.roles import Perm
from portal.core.errors import NotFound
from portal.routes.api.guards import staff_requires
from portal.routes.api.schemas import (
    CONFLICT,
    INVALID,
    MAX_PER_PAGE,
    NOT_FOUND,
    ChangeRequestOut,
    DecisionIn,
    DecisionOut,
    ReviewDetail,
    ReviewItemOut,
    ReviewPage,
    build,
    responses,
)
from portal.web.tenancy import Tenant
from tenants import review
from tenants.file import forms, service as file_service

TAGS = ["reviews"]
ReviewStatus = Literal[review.STATUSES]  # type: ignore[valid-type]


@get("/reviews", tags=TAGS, guards=[staff_requires(Perm.REVIEW_DECIDE)], summary="The review queue",
     responses=responses())
async def list_reviews(
    request: Request,
    status: ReviewStatus = "pending",
    kind: Annotated[str, Parameter(max_length=40, description="Kind prefix, e.g. `change:`.")] = "",
    page: Annotated[int, Parameter(ge=1, le=100_000)] = 1,
    per_page: Annotated[int, Parameter(ge=1, le=MAX_PER_PAGE)] = 50,
) -> ReviewPage:
    """What tenants submitted, oldest first, for the caller's buildings."""
    rows, total = await review.list_items(request.state.principal, status=status, kind=kind, page=page,
                                          per_page=per_page)
    return ReviewPage(items=[build(ReviewItemOut, r) for r in rows], total=total, page=page, per_page=per_page)


@get("/reviews/{tenant_id:int}/{request_id:int}", tags=TAGS, guards=[staff_requires(Perm.REVIEW_DECIDE)],
     summary="One change request with the values it would replace", responses=responses(NOT_FOUND))
async def get_review(request: Request, tenant: Tenant, request_id: int) -> ReviewDetail:
    principal = request.state.principal
    data = await file_service.read_file(tenant, principal, audit_view=False)
    change = next((r for r in data["requests"] if r["id"] == request_id), None)
    if change is None:
        raise NotFound("No such request.")
    current: dict[str, str] = {}
    if change["kind"] == "profile":
        current = {k: forms.as_text(data["profile"][k]) for k in change["payload"] if k in data["profile"]}
    elif change["target_id"]:
        contact = next((c for c in data["contacts"] if c["id"] == change["target_id"]), {})
        current = {k: forms.as_text(contact.get(k)) for k in forms.CONTACT_FIELDS}
    return ReviewDetail(tenant_id=tenant.id, archive_no=tenant.archive_no, tenant_name=tenant.name,
                        request=build(ChangeRequestOut, change), current=current)


@post("/reviews/{tenant_id:int}/{request_id:int}", tags=TAGS, status_code=200,
      guards=[staff_requires(Perm.REVIEW_DECIDE)], summary="Approve or reject a change request",
      responses=responses(NOT_FOUND, INVALID, CONFLICT))
async def decide(request: Request, tenant: Tenant, request_id: int, data: DecisionIn) -> DecisionOut:
    """Approving applies the change (logged with the submitter and the
    approver); rejecting needs a reason, which the tenant sees."""
    principal = request.state.principal
    approve = data.decision == "approve"
    await file_service.decide_request(tenant, request_id, principal, approve=approve, reason=data.reason)
    return DecisionOut(tenant_id=tenant.id, request_id=request_id, status="approved" if approve else "rejected")


ROUTES = [list_reviews, get_review, decide]
