"""The JSON API (/api/v1): thin handlers over the same services, guards and
rules as the console and portal pages.

Sessions are the same cookie sessions as the HTML faces; unsafe methods need
the ``x-csrftoken`` header (see ``auth.py``). Errors are always JSON
``{"code", "message", "fields"?, "field_codes"?}`` with a localized message
(portal/web/render.py). Schema: /api/docs/openapi.json; docs page: /api/docs.
"""

from litestar import Router

from portal.routes.api import auth, complaints, portal_self, repairs, reviews, tenants
from portal.routes.api import surveys as survey_api
from portal.routes.api.openapi import complete_app_schema
from portal.routes.api.schemas import CSRF_HEADER


__all__ = ["complete_app_schema", "router"]


def router() -> Router:
    return Router(
        path="/api/v1",
        route_handlers=[*auth.ROUTES, *tenants.ROUTES, *reviews.ROUTES, *portal_self.ROUTES, *repairs.ROUTES,
                        *complaints.ROUTES, *survey_api.ROUTES],
        parameters=CSRF_HEADER,
    )
