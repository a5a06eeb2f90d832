"""The demo office: loaded once through the real services, valid data, and
every advertised sign-in works with the advertised password."""

from __future__ import annotations


import pytest

from portal import demo
from portal.accounts import service as accounts
from portal.core.roles import Role
from portal.core.db import DB
from tenants import validators
from tenants.numbering import ARCHIVE_NO
from tenants.registry import service as registry
from tenants.scope import tenant_tx

PLAN = demo.build_plan()
BUILDING_CODES = [b.code for b in PLAN.buildings]
TENANT_NAMES = [t.name for t in PLAN.tenants]
USERNAMES = [s.username for s in demo.STAFF]
PORTAL_EMAILS = [t.portal_email for t in PLAN.tenants]


async def _counts() -> dict[str, int]:
    """Counts of the demo's rows only: other tests share this database."""
    row = await DB.pool.fetchrow(
        """
        SELECT
          (SELECT count(*) FROM core.building WHERE code = ANY($1::text[])) AS buildings,
          (SELECT count(*) FROM core.unit u JOIN core.building b ON b.id = u.building_id
             WHERE b.code = ANY($1::text[])) AS units,
          (SELECT count(*) FROM core.tenant WHERE name = ANY($2::text[])) AS tenants,
          (SELECT count(*) FROM core.tenant_unit tu JOIN core.tenant t ON t.id = tu.tenant_id
             WHERE t.name = ANY($2::text[])) AS leases,
          (SELECT count(*) FROM core.staff_user WHERE username = ANY($3::text[])) AS staff,
          (SELECT count(*) FROM core.portal_user WHERE email = ANY($4::text[])) AS portal_users,
          (SELECT count(*) FROM core.review_item r JOIN core.tenant t ON t.id = r.tenant_id
             WHERE t.name = ANY($2::text[]) AND r.status = 'pending') AS pending_reviews,
          (SELECT count(*) FROM core.audit_log WHERE action = $5) AS markers
        """,
        BUILDING_CODES, TENANT_NAMES, USERNAMES, PORTAL_EMAILS, demo.MARKER_ACTION,
    )
    return dict(row)


@pytest.fixture(scope="module")
async def loaded(database, settings):
    return await demo.load_demo(settings)


async def test_demo_loads_once(loaded, settings):
    # How long it takes is a benchmark's business, not a test's (it varies with
    # the machine's load).
    assert loaded is True
    counts = await _counts()
    assert counts["buildings"] == 3
    assert counts["tenants"] == 60
    assert counts["staff"] == 10
    assert counts["portal_users"] == 60
    assert counts["pending_reviews"] == 3
    assert counts["markers"] == 1
    assert 20 * 3 <= counts["units"] <= 30 * 3
    assert 60 <= counts["leases"] <= 120

    assert await demo.load_demo(settings) is False
    assert await _counts() == counts
    # The service desk: technicians on the roster, open (one overdue) and closed orders.
    from portal.demo.plan import build_plan
    from portal.demo.servicedesk import TECHNICIANS

    desk = await DB.pool.fetchrow(
        "SELECT (SELECT count(*) FROM core.technician t JOIN core.staff_user u ON u.id = t.user_id"
        "        WHERE u.username = ANY($1::text[])) AS technicians,"
        " (SELECT count(*) FROM core.work_order_summary s JOIN core.tenant t ON t.id = s.tenant_id"
        "        WHERE t.name = ANY($2::text[])) AS open_orders,"
        " (SELECT count(*) FROM core.work_order_summary s JOIN core.tenant t ON t.id = s.tenant_id"
        "        WHERE t.name = ANY($2::text[]) AND s.breached) AS overdue",
        [t[0] for t in TECHNICIANS], [t.name for t in build_plan().tenants])
    assert dict(desk) == {"technicians": 3, "open_orders": 5, "overdue": 1}


async def test_no_unit_is_leased_twice_and_every_tenant_has_one_or_two(loaded):
    rows = await DB.pool.fetch(
        "SELECT t.id, count(tu.unit_id) AS units FROM core.tenant t"
        " LEFT JOIN core.tenant_unit tu ON tu.tenant_id = t.id WHERE t.name = ANY($1::text[]) GROUP BY t.id",
        TENANT_NAMES,
    )
    assert len(rows) == 60 and all(1 <= r["units"] <= 2 for r in rows)
    doubles = await DB.pool.fetchval(
        "SELECT count(*) FROM (SELECT unit_id FROM core.tenant_unit WHERE tenant_id = ANY($1::int[])"
        " GROUP BY unit_id HAVING count(*) > 1) d",
        [r["id"] for r in rows],
    )
    assert doubles == 0


async def test_demo_identities_and_contacts_validate(loaded):
    ids = await DB.pool.fetch(
        "SELECT id, archive_no, kind, level, status FROM core.tenant WHERE name = ANY($1::text[]) ORDER BY id",
        TENANT_NAMES,
    )
    kinds, levels, statuses, codes = set(), set(), set(), set()
    for row in ids:
        assert ARCHIVE_NO.fullmatch(row["archive_no"])
        kinds.add(row["kind"])
        levels.add(row["level"])
        statuses.add(row["status"])
        ref = await registry.get_ref(row["id"])
        async with tenant_tx(ref.schema) as tx:
            profile = await tx.connection.fetchrow("SELECT * FROM profile WHERE id = 1")
            contacts = await tx.connection.fetch("SELECT * FROM contact WHERE active")
        if profile["kind"] == "E":
            assert validators.validate_credit_code(profile["credit_code"]) == profile["credit_code"]
            codes.add(profile["credit_code"])
        else:
            assert validators.validate_resident_id(profile["resident_id"]) == profile["resident_id"]
            codes.add(profile["resident_id"])
        assert 1 <= len(contacts) <= 3
        assert sum(c["is_primary"] for c in contacts) == 1
        for contact in contacts:
            assert validators.validate_mobile(contact["mobile"])[:2] in {"13", "15", "18"}
            if contact["email"]:
                validators.validate_email(contact["email"])
    assert len(codes) == 60
    assert kinds == {"E", "P"}
    assert levels == {0, 1, 2, 3}
    assert {"active", "dormant"} <= statuses
    # Every credit code the plan holds validates, too (no database needed).
    for tenant in PLAN.tenants:
        if tenant.profile["kind"] == "E":
            validators.validate_credit_code(tenant.profile["credit_code"])


async def test_every_demo_login_signs_in_with_the_demo_password(loaded):
    logins = demo.demo_logins()
    assert {login for _, login in logins} >= set(USERNAMES)
    assert sum("@" in login for _, login in logins) >= 2
    for _, login in logins:
        kind = "portal" if "@" in login else "staff"
        found = await accounts.authenticate(kind, login, demo.DEMO_PASSWORD)
        assert found is not None, login
        assert await accounts.authenticate(kind, login, demo.DEMO_PASSWORD + "x") is None


async def test_staff_see_the_buildings_their_roles_give_them(loaded):
    buildings = {r["code"]: r["id"] for r in await DB.pool.fetch(
        "SELECT id, code FROM core.building WHERE code = ANY($1::text[])", BUILDING_CODES)}
    first = buildings[BUILDING_CODES[0]]
    rows = await DB.pool.fetch("SELECT id, username, roles, building_ids, must_change_password FROM core.staff_user"
                               " WHERE username = ANY($1::text[])", USERNAMES)
    staff = {r["username"]: r for r in rows}
    assert {r for row in rows for r in row["roles"]} == {role.value for role in Role}
    assert list(staff["clerk"]["building_ids"]) == [first]
    assert list(staff["technician"]["building_ids"]) == [first]
    assert len(staff["depthead"]["building_ids"]) == 2
    assert not any(r["must_change_password"] for r in rows)

    clerk = await accounts.load_principal("staff", staff["clerk"]["id"], 0)
    listed, total = await registry.list_tenants(clerk, per_page=200)
    demo_names = set(TENANT_NAMES)
    mine = [t for t in listed if t["name"] in demo_names]
    assert mine and all(first in t["building_ids"] for t in mine)
    # Dormant files are in the restricted archive view (retention): not on the clerk's list.
    dormant = {r["name"] for r in await DB.pool.fetch("SELECT name FROM core.tenant WHERE status = 'dormant'")}
    assert dormant and not any(t["name"] in dormant for t in mine)
    assert len(mine) == sum(1 for t in PLAN.tenants if (t.building == 1 or any(b == 1 for b, _ in t.units))
                            and t.name not in dormant)
    assert sum(t["pending_reviews"] for t in mine) == 3  # the change requests wait in the clerk's buildings


async def test_demo_has_a_finished_survey_with_its_approved_report(loaded):
    from tenants.surveys import report
    from tenants.surveys.tables import Survey

    row = await Survey.select().where(Survey.title == "2026 年度租户满意度调查").first().run()
    assert row["status"] == "closed" and row["report_status"] == "approved"
    data = await report.analysis(row["id"])
    assert data["counts"]["answered"] >= 30 and data["trend"] and data["actions"]
    assert not data["uncovered"]
async def test_demo_has_dormant_files_and_a_disposition_list(loaded):
    """Retention in the demo: every dormant file has dates that agree, one was made
    dormant by the sweep's service (audited), and it is on the disposition list."""
    rows = await DB.pool.fetch("SELECT id, last_business_on, dormant_since FROM core.tenant"
                               " WHERE status = 'dormant' AND name = ANY($1::text[])", TENANT_NAMES)
    assert rows and all(r["dormant_since"] and r["dormant_since"] > r["last_business_on"] for r in rows)
    swept = await DB.pool.fetchval(
        "SELECT tenant_id FROM core.audit_log WHERE action = 'tenant.dormant' AND tenant_id = ANY($1::int[])",
        [r["id"] for r in rows])
    assert swept is not None
    listed = await DB.pool.fetchval(
        "SELECT count(*) FROM core.disposition_item WHERE tenant_id = $1 AND category IS NULL"
        " AND run_id = (SELECT max(id) FROM core.disposition_run WHERE built_by = 'system')", swept)
    assert listed == 1
async def test_demo_shows_a_hold_a_cooling_off_and_a_destroyed_file(loaded):
    from portal.demo.destruction import DESTROYED_NAME

    assert await DB.pool.fetchval("SELECT count(*) FROM core.legal_hold WHERE released_at IS NULL"
                                  " AND case_ref LIKE '%民初12345号'") == 1
    assert await DB.pool.fetchval("SELECT count(*) FROM core.destruction_request WHERE status = 'cooling'"
                                  " AND cooling_until > now()") >= 1
    destroyed = await DB.pool.fetchrow("SELECT t.status, c.number FROM core.tenant t JOIN core.destruction_certificate c"
                                       " ON c.tenant_id = t.id WHERE t.name = $1", DESTROYED_NAME)
    assert destroyed["status"] == "destroyed" and destroyed["number"].startswith("XH-")
