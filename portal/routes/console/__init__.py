"""The staff console (/console)."""

from portal.routes.console import (
    account, audit, billing, calendar, complaints, documents, home, lending, money, repairs, reviews, staff,
    tenants,
)
from portal.routes.console import surveys
from portal.routes.console import retention
from portal.routes.console import destruction

# Everything behind the gate that sends a person with a temporary password to
# the account page first.
ROUTES = [
    account.password_gate(
        *home.ROUTES, *tenants.ROUTES, *reviews.ROUTES, *staff.ROUTES, *audit.ROUTES, *account.ROUTES,
        *documents.ROUTES, *lending.ROUTES, *money.ROUTES, *billing.ROUTES, *calendar.ROUTES,
        *repairs.ROUTES,
        *complaints.ROUTES,
        *surveys.ROUTES,
        *retention.ROUTES,
        *destruction.ROUTES,
    )
]
