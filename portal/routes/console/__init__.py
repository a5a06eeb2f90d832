"""The staff console (/console)."""

from portal.routes.console import home, reviews, tenants

ROUTES = [*home.ROUTES, *tenants.ROUTES, *reviews.ROUTES]
