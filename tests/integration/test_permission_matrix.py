"""Permission matrix (issue 7 item 2): every unsafe route of the console, the
portal and the API, called by every role, a portal user and an anonymous
visitor; the set of identities let through must equal the role table below.

The routes come from the app's own route table, so a new route that is not in
EXPECTED fails this test until someone decides who may call it.

How a refusal is told apart: every path id points at nothing, and the body is
empty. A caller the permission check lets through therefore gets a validation
422/400, a 404 (nothing there) or 409 — never 401/403. A refused caller gets
401/403, or (HTML pages) the redirect to the sign-in page with ``next=``.
So a route whose only protection is a later lookup (404 for everyone) shows up
as "allowed" for roles that must not write, and fails here.
"""

from __future__ import annotations

import re

import pytest

from portal.core.roles import ROLE_PERMS, Perm, Role
from tests import factories

STAFF = frozenset(r.value for r in Role)
PORTAL = frozenset({"portal"})
ANONYMOUS = frozenset({"anonymous"})
EVERYONE = STAFF | PORTAL | ANONYMOUS
IDENTITIES = sorted(EVERYONE)


def holders(perm: Perm) -> frozenset[str]:
    """Staff roles holding ``perm`` (portal/accounts/roles.py is the source of truth)."""
    return frozenset(role.value for role, perms in ROLE_PERMS.items() if perm in perms)


T = "/console/tenants/{tenant_id:int}"
M = T + "/money"
EXPECTED: dict[str, frozenset[str]] = {
    # Console: signing in and out, one's own account.
    "POST /console/login": EVERYONE,
    "POST /console/logout": STAFF,
    "POST /console/logout-everywhere": STAFF,
    "POST /console/account": STAFF,
    # Tenant files.
    "POST /console/tenants/new": holders(Perm.TENANT_CREATE),
    f"POST {T}/edit": holders(Perm.TENANT_WRITE),
    f"POST {T}/contacts/new": holders(Perm.TENANT_WRITE),
    f"POST {T}/contacts/{{contact_id:int}}/edit": holders(Perm.TENANT_WRITE),
    f"POST {T}/contacts/{{contact_id:int}}/active": holders(Perm.TENANT_WRITE),
    f"POST {T}/invite": holders(Perm.PORTAL_INVITE),
    f"POST {T}/active": holders(Perm.TENANT_DEACTIVATE),
    "POST /console/reviews/{tenant_id:int}/{request_id:int}": holders(Perm.REVIEW_DECIDE),
    # Documents.
    f"POST {T}/documents/upload": holders(Perm.TENANT_WRITE),
    f"POST {T}/documents/{{doc_id:int}}/edit": holders(Perm.TENANT_WRITE),
    f"POST {T}/documents/{{doc_id:int}}/versions": holders(Perm.TENANT_WRITE),
    f"POST {T}/documents/requests": holders(Perm.TENANT_WRITE),
    f"POST {T}/documents/{{doc_id:int}}/review": holders(Perm.REVIEW_DECIDE),
    # Lending.
    "POST /console/lending/new": holders(Perm.LOAN_REQUEST),
    "POST /console/lending/{loan_id:int}/approve": holders(Perm.LOAN_APPROVE),
    "POST /console/lending/{loan_id:int}/refuse": holders(Perm.LOAN_APPROVE),
    "POST /console/lending/{loan_id:int}/out": holders(Perm.LOAN_HANDLE),
    "POST /console/lending/{loan_id:int}/return": holders(Perm.LOAN_HANDLE),
    "POST /console/lending/{loan_id:int}/export": holders(Perm.LOAN_HANDLE),
    # Money.
    f"POST {M}/deposits": holders(Perm.MONEY_WRITE),
    f"POST {M}/deposits/{{deposit_id:int}}/release": holders(Perm.MONEY_WRITE),
    f"POST {M}/deposit-entries/{{entry_id:int}}/decide": holders(Perm.MONEY_APPROVE),
    f"POST {M}/charges": holders(Perm.MONEY_WRITE),
    f"POST {M}/charges/{{charge_id:int}}/adjust": holders(Perm.MONEY_WRITE),
    f"POST {M}/payments": holders(Perm.MONEY_WRITE),
    f"POST {M}/credit": holders(Perm.MONEY_WRITE),
    f"POST {M}/payments/{{payment_id:int}}/reverse": holders(Perm.MONEY_WRITE),
    f"POST {M}/subscriptions": holders(Perm.MONEY_WRITE),
    f"POST {M}/notices": holders(Perm.MONEY_WRITE),
    f"POST {M}/receipts/{{kind:str}}/{{subject_id:int}}": holders(Perm.MONEY_WRITE),
    "POST /console/money/fee-items": holders(Perm.BILLING_RUN),
    "POST /console/money/billing": holders(Perm.BILLING_RUN),
    "POST /console/money/billing/{run_id:int}/resume": holders(Perm.BILLING_RUN),
    "POST /console/money/notices": holders(Perm.BILLING_RUN),
    "POST /console/money/notices/{batch_id:int}/cancel": holders(Perm.BILLING_RUN),
    "POST /console/money/notices/{batch_id:int}/resume": holders(Perm.BILLING_RUN),
    "POST /console/money/notices/{batch_id:int}/resend": holders(Perm.BILLING_RUN),
    "POST /console/tenants/{tenant_id:int}/money/notices/{notice_id:int}/resend": holders(Perm.MONEY_WRITE),
    "POST /console/calendar": holders(Perm.CALENDAR_MANAGE),
    "POST /console/calendar/{day:str}/remove": holders(Perm.CALENDAR_MANAGE),
    # Retention (periods, the disposition list, reactivating dormant files).
    "POST /console/retention/classes": holders(Perm.RETENTION_MANAGE),
    "POST /console/retention/classes/remove": holders(Perm.RETENTION_MANAGE),
    "POST /console/retention/disposition": holders(Perm.RETENTION_MANAGE),
    f"POST {T}/reactivate": holders(Perm.ARCHIVE_OPEN),
    # Legal holds and destruction (issue 10).
    "POST /console/holds/new": holders(Perm.HOLD_MANAGE),
    "POST /console/holds/{hold_id:int}/release": holders(Perm.HOLD_MANAGE),
    "POST /console/destruction/new": holders(Perm.DESTRUCTION_REQUEST),
    "POST /console/destruction/{request_id:int}/decide": holders(Perm.DESTRUCTION_REVIEW) | holders(
        Perm.DESTRUCTION_APPROVE),
    "POST /console/destruction/{request_id:int}/cancel": holders(Perm.DESTRUCTION_REQUEST) | holders(
        Perm.DESTRUCTION_REVIEW) | holders(Perm.DESTRUCTION_APPROVE),
    # Staff accounts.
    "POST /console/staff/new": holders(Perm.STAFF_MANAGE),
    "POST /console/staff/{staff_id:int}/edit": holders(Perm.STAFF_MANAGE),
    "POST /console/staff/{staff_id:int}/reset-password": holders(Perm.STAFF_MANAGE),
    "POST /console/staff/{staff_id:int}/active": holders(Perm.STAFF_MANAGE),
    # Tenant portal.
    "POST /portal/login": EVERYONE,
    "POST /portal/logout": PORTAL,
    "POST /portal/logout-everywhere": PORTAL,
    "POST /portal/invite/{token:str}": EVERYONE,  # the invitation token is the permission
    "POST /portal/requests/profile": PORTAL,
    "POST /portal/requests/contacts/new": PORTAL,
    "POST /portal/requests/contacts/{contact_id:int}/edit": PORTAL,
    "POST /portal/requests/contacts/{contact_id:int}/remove": PORTAL,
    "POST /portal/requests/{request_id:int}/withdraw": PORTAL,
    "POST /portal/account": PORTAL,
    "POST /portal/documents/upload": PORTAL,
    # API.
    "POST /api/v1/auth/login": EVERYONE,
    "POST /api/v1/auth/logout": EVERYONE,  # signing out without a session is a no-op
    "POST /api/v1/tenants": holders(Perm.TENANT_CREATE),
    "PATCH /api/v1/tenants/{tenant_id:int}": holders(Perm.TENANT_WRITE),
    "POST /api/v1/tenants/{tenant_id:int}/contacts": holders(Perm.TENANT_WRITE),
    "PUT /api/v1/tenants/{tenant_id:int}/contacts/{contact_id:int}": holders(Perm.TENANT_WRITE),
    "POST /api/v1/tenants/{tenant_id:int}/contacts/{contact_id:int}/deactivate": holders(Perm.TENANT_WRITE),
    "POST /api/v1/tenants/{tenant_id:int}/invitations": holders(Perm.PORTAL_INVITE),
    "POST /api/v1/reviews/{tenant_id:int}/{request_id:int}": holders(Perm.REVIEW_DECIDE),
    "POST /api/v1/portal/requests": PORTAL,
    # Repairs.
    "POST /console/repairs/roster/{user_id:int}": holders(Perm.REPAIR_DISPATCH),
    "POST /console/repairs/roster/{user_id:int}/shifts": holders(Perm.REPAIR_DISPATCH),
    "POST /console/repairs/roster/{user_id:int}/leave": holders(Perm.REPAIR_DISPATCH),
    f"POST {T}/repairs": holders(Perm.REPAIR_REPORT),
    **{f"POST {T}/repairs/{{order_id:int}}/{step}": holders(Perm.REPAIR_WORK)
       for step in ("accept", "decline", "on-site", "pause", "resume", "notes", "parts", "complete", "photos")},
    f"POST {T}/repairs/{{order_id:int}}/assign": holders(Perm.REPAIR_DISPATCH),
    f"POST {T}/repairs/{{order_id:int}}/bill": holders(Perm.MONEY_APPROVE) & holders(Perm.MONEY_WRITE),
    f"POST {T}/repairs/{{order_id:int}}/cancel": holders(Perm.REPAIR_DISPATCH),
    "POST /portal/repairs": PORTAL,
    **{f"POST /portal/repairs/{{order_id:int}}/{step}": PORTAL for step in ("confirm", "rate", "reopen", "cancel", "photos")},
    "POST /api/v1/tenants/{tenant_id:int}/work-orders": holders(Perm.REPAIR_REPORT),
    "POST /api/v1/portal/work-orders": PORTAL,
    # Complaints.
    f"POST {T}/complaints": holders(Perm.COMPLAINT_HANDLE),
    f"POST {T}/complaints/{{complaint_id:int}}/decide": holders(Perm.COMPLAINT_HANDLE),
    "POST /portal/complaints": PORTAL,
    "POST /api/v1/tenants/{tenant_id:int}/complaints": holders(Perm.COMPLAINT_HANDLE),
    "POST /api/v1/tenants/{tenant_id:int}/complaints/{complaint_id:int}/decide": holders(Perm.COMPLAINT_HANDLE),
    # Satisfaction surveys (tenants/surveys): prepared by SURVEY_MANAGE, the report approved by SURVEY_APPROVE.
    "POST /console/surveys/new": holders(Perm.SURVEY_MANAGE),
    "POST /console/surveys/{survey_id:int}/open": holders(Perm.SURVEY_MANAGE),
    "POST /console/surveys/{survey_id:int}/remind": holders(Perm.SURVEY_MANAGE),
    "POST /console/surveys/{survey_id:int}/close": holders(Perm.SURVEY_MANAGE),
    "POST /console/surveys/{survey_id:int}/report/submit": holders(Perm.SURVEY_MANAGE),
    "POST /console/surveys/{survey_id:int}/report/decide": holders(Perm.SURVEY_APPROVE),
    "POST /console/surveys/{survey_id:int}/actions": holders(Perm.SURVEY_MANAGE),
    "POST /console/surveys/{survey_id:int}/actions/{action_id:int}/done": holders(Perm.SURVEY_MANAGE),
    "POST /portal/surveys/{survey_id:int}": PORTAL,
    "POST /api/v1/portal/surveys/{survey_id:int}/answer": PORTAL,
}

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
MISSING_ID = "2147480000"  # an int4 that no row has


def unsafe_routes(app) -> list[str]:
    found = set()
    for route in app.routes:
        for method in getattr(route, "route_handler_map", {}):
            if method in UNSAFE:
                found.add(f"{method} {route.path}")
    return sorted(found)


def concrete(path: str) -> str:
    """The path with every parameter pointing at nothing."""
    return re.sub(r"\{(\w+):(\w+)\}", lambda m: MISSING_ID if m.group(2) == "int" else "missing-" + m.group(1), path)


def refused(response, path: str) -> bool:
    if response.status_code in (401, 403):
        return True
    location = response.headers.get("location", "")
    return response.status_code in (302, 303) and "/login?next=" in location


def test_every_unsafe_route_is_in_the_table(app):
    routes = unsafe_routes(app)
    assert set(routes) - set(EXPECTED) == set(), "new unsafe routes: say who may call them in EXPECTED"
    assert set(EXPECTED) - set(routes) == set(), "EXPECTED names routes the app no longer has"


class Identity:
    """A client signed in as one role (or a portal user, or nobody), with its CSRF token."""

    def __init__(self, client_factory, login: str | None, kind: str):
        self.client_factory, self.login, self.kind = client_factory, login, kind
        self.client, self.token = None, ""

    async def sign_in(self) -> None:
        """A fresh client and session (also after a route signed this one out)."""
        self.client = await self.client_factory()
        if self.login:
            response = await factories.sign_in(self.client, self.login, kind=self.kind)
            assert response.status_code in (302, 303), (self.login, response.text[:300])
        self.token = (await self.client.get("/api/v1/auth/csrf")).json()["csrf_token"]


@pytest.fixture
async def identities(client_factory):
    bld = await factories.building()
    tenant_id = await factories.tenant(bld)
    out = {}
    for name in IDENTITIES:
        if name in STAFF:
            login, kind = (await factories.staff([name], [bld["id"]]))["username"], "console"
        elif name == "portal":
            login, kind = (await factories.portal_user(tenant_id))["email"], "portal"
        else:
            login, kind = None, "console"
        out[name] = Identity(client_factory, login, kind)
        await out[name].sign_in()
    return out


async def test_allowed_set_equals_the_role_table(app, identities):
    mismatches = []
    for route in unsafe_routes(app):
        method, path = route.split(" ", 1)
        url = concrete(path)
        allowed = set()
        for name, who in identities.items():
            kwargs = {"json": {}} if path.startswith("/api/") else {"data": {}}
            response = await who.client.request(method, url, headers={"x-csrftoken": who.token}, **kwargs)
            assert response.status_code < 500, (route, name, response.status_code, response.text[:300])
            assert "csrf_failed" not in response.text, (route, name)
            if not refused(response, url):
                allowed.add(name)
            if path.endswith(("/logout", "/logout-everywhere")) and name in allowed and who.login:
                await who.sign_in()  # signed out: the next route needs a session again
        if allowed != EXPECTED.get(route):
            mismatches.append(f"{route}: let through {sorted(allowed)}, table says {sorted(EXPECTED.get(route, ()))}")
    assert not mismatches, "\n".join(mismatches)
