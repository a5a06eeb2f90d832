"""The tenant self-service portal (/portal).

Every page derives the tenant from the signed-in portal user
(the ``my_tenant`` dependency, portal/web/tenancy.py), never from the URL.
"""

from portal.routes.portal import access, account, changes, complaints, documents, home, money, repairs, surveys

ROUTES = [*access.ROUTES, *home.ROUTES, *changes.ROUTES, *account.ROUTES, *documents.ROUTES, *money.ROUTES,
          *repairs.ROUTES, *complaints.ROUTES, *surveys.ROUTES]
