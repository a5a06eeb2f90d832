"""The demo office: three buildings, 60 tenant files, one staff account per role,
one portal user per tenant and a few change requests waiting for review.

``load_demo(settings)`` goes through the same services as the product
(``registry.create_tenant``, ``accounts.create_staff``,
``accounts.create_portal_user``, ``file.submit_request``), so the demo data obey
every rule real data obeys. Everything is drawn from a seeded random generator:
the same plan on every machine, which is also how ``demo_logins()`` can name the
portal sign-ins without touching the database.

Loading is done once. The finished load leaves a ``demo.load`` row in the
audit log; until that row exists a run resumes where a broken one stopped
(buildings, staff, tenants and portal users that already exist are skipped).
An advisory lock keeps two loaders (two ``portal up`` at once) apart.
"""

from portal.demo.loader import demo_loaded, load_demo
from portal.demo.plan import DEMO_PASSWORD, MARKER_ACTION, STAFF, build_plan, demo_logins

__all__ = ["DEMO_PASSWORD", "MARKER_ACTION", "STAFF", "build_plan", "demo_loaded", "demo_logins", "load_demo"]
