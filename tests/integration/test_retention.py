"""Retention (issue 10 §1): the last business date moved by business, dormancy
after a year without business (fixed dates), the restricted archive view per
role, reactivation with a reason, retention classes, and the disposition list
with its page and CSV. The database is shared by the session: every check
names its own tenants, and classes changed here are put back."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest

from portal.core.db import DB
from portal.core.roles import Principal, Role
from portal.core.workdays import today
from tenants.money import charges, payments
from tenants.registry import service as registry
from tenants.retention import disposition, service as retention
from tenants.scope import tenant_tx
from tests import factories

FINANCE = Principal(kind="staff", user_id=9101, name="财务甲", roles=frozenset({Role.FINANCE}))
D = dt.date


async def _set_last_business(tenant_id: int, day: dt.date) -> None:
    await DB.pool.execute("UPDATE core.tenant SET last_business_on = $2 WHERE id = $1", tenant_id, day)


async def _core(tenant_id: int) -> dict:
    return dict(await DB.pool.fetchrow(
        "SELECT status, last_business_on, dormant_since FROM core.tenant WHERE id = $1", tenant_id))


async def _audit(action: str, tenant_id: int) -> list[dict]:
    rows = await DB.pool.fetch("SELECT * FROM core.audit_log WHERE action = $1 AND tenant_id = $2 ORDER BY id",
                               action, tenant_id)
    return [dict(r) for r in rows]


async def _signed_in(client_factory, roles: list[str], buildings: list[int] | None = None):
    person = await factories.staff(roles, buildings)
    client = await client_factory()
    response = await factories.sign_in(client, person["username"], person["password"])
    assert response.status_code in (302, 303), response.text[:300]
    return client


async def _post(client, page: str, path: str, data: dict):
    token = await factories.form_token(client, page)
    return await client.post(path, data={**data, "_csrf_token": token}, follow_redirects=False)


async def _add_documents(ref, category: str, n: int) -> None:
    async with tenant_tx(ref.schema) as tx:
        for i in range(n):
            await tx.connection.execute(
                "INSERT INTO document (uid, category, title, source, uploaded_by_kind, uploaded_by)"
                " VALUES ($1, $2, $3, 'staff_upload', 'staff', 'test')", uuid.uuid4(), category, f"{category} {i}")


# --- the last business date ----------------------------------------------------------------------

async def test_payments_and_charges_move_the_last_business_date_forward_only(database):
    bld = await factories.building()
    ref = await registry.get_ref(await factories.tenant(bld))
    assert (await _core(ref.id))["last_business_on"] == today()  # a new lease is business
    await _set_last_business(ref.id, D(2020, 1, 1))
    await payments.record_payment(ref, {"amount": "100", "paid_on": "2021-03-04", "method": "cash"}, FINANCE)
    assert (await _core(ref.id))["last_business_on"] == D(2021, 3, 4)
    await payments.record_payment(ref, {"amount": "100", "paid_on": "2020-05-06", "method": "cash"}, FINANCE)
    assert (await _core(ref.id))["last_business_on"] == D(2021, 3, 4)  # never backwards
    await charges.add_manual_charge(ref, {"fee_item": await _fee_item(), "amount": "50",
                                          "due_date": "2021-04-01", "reason": "抄表"}, FINANCE)
    assert (await _core(ref.id))["last_business_on"] == today()


async def _fee_item() -> str:
    return await DB.pool.fetchval("SELECT code FROM core.fee_item ORDER BY code LIMIT 1")


async def test_touch_refuses_to_run_outside_the_domains_transaction(database):
    with pytest.raises(RuntimeError):
        await retention.touch(1, today())


# --- dormancy ------------------------------------------------------------------------------------

async def test_a_year_without_business_makes_a_file_dormant_once(database):
    bld = await factories.building()
    quiet = await registry.get_ref(await factories.tenant(bld))
    busy = await registry.get_ref(await factories.tenant(bld))
    as_of = D(2031, 7, 15)
    await _set_last_business(quiet.id, D(2030, 7, 15))  # exactly a year
    await _set_last_business(busy.id, D(2030, 7, 16))  # a day short of it

    changed = await retention.run_dormancy(as_of)
    assert quiet.id in changed and busy.id not in changed
    assert await _core(quiet.id) == {"status": "dormant", "last_business_on": D(2030, 7, 15), "dormant_since": as_of}
    assert (await _core(busy.id))["status"] == "active"
    async with tenant_tx(quiet.schema) as tx:
        assert await tx.connection.fetchval("SELECT status FROM profile") == "dormant"
        log = await tx.connection.fetchrow("SELECT * FROM change_log WHERE field = 'status' ORDER BY id DESC LIMIT 1")
    assert (log["actor_kind"], log["old_value"], log["new_value"]) == ("system", "active", "dormant")
    assert len(await _audit("tenant.dormant", quiet.id)) == 1

    # Idempotent: a second run (or a redelivered task) changes nothing more.
    assert quiet.id not in await retention.run_dormancy(as_of)
    assert len(await _audit("tenant.dormant", quiet.id)) == 1
    # The core summary still agrees with the schema (reconcile finds no drift).
    from tenants.registry.hooks import drift
    async with tenant_tx(quiet.schema) as tx:
        assert await drift(tx.connection, quiet.id, False) == {}


async def test_dormancy_task_runs_in_a_real_worker(database, celery_worker, celery_app):
    # A generous timeout: the session's worker may still be busy with earlier tests' batches.
    bld = await factories.building()
    ref = await registry.get_ref(await factories.tenant(bld))
    await _set_last_business(ref.id, today() - dt.timedelta(days=800))
    assert celery_app.send_task("retention.dormancy").get(timeout=300) >= 1
    assert (await _core(ref.id))["status"] == "dormant"
    assert celery_app.send_task("retention.dormancy").get(timeout=300) == 0  # a repeat changes nothing
    assert len(await _audit("tenant.dormant", ref.id)) == 1


# --- the restricted archive view and reactivation ------------------------------------------------

async def _dormant_tenant(bld) -> registry.TenantRef:
    ref = await registry.get_ref(await factories.tenant(bld))
    await _set_last_business(ref.id, D(2001, 1, 1))
    assert await retention.make_dormant(ref, D(2002, 1, 1))
    return await registry.get_ref(ref.id)


async def test_only_archivists_and_leadership_open_a_dormant_file_and_each_open_is_audited(database, client_factory):
    bld = await factories.building()
    ref = await _dormant_tenant(bld)
    assert ref.dormant
    clerk = await _signed_in(client_factory, ["clerk"], [bld["id"]])
    head = await _signed_in(client_factory, ["dept_head"], [bld["id"]])
    for client in (clerk, head):
        assert (await client.get(f"/console/tenants/{ref.id}")).status_code == 404
        assert (await client.get(f"/console/tenants/{ref.id}/documents")).status_code == 404
        listing = await client.get(f"/console/tenants?q={ref.archive_no}")
        assert listing.status_code == 200 and f'href="/console/tenants/{ref.id}"' not in listing.text
        assert (await client.get("/console/retention/dormant")).status_code == 403
    assert await _audit("tenant.dormant.open", ref.id) == []

    for role in ("archivist", "general_manager"):
        client = await _signed_in(client_factory, [role])
        page = await client.get(f"/console/tenants/{ref.id}")
        assert page.status_code == 200 and "休眠档案" in page.text
        dormant = await client.get("/console/retention/dormant")
        assert dormant.status_code == 200 and ref.archive_no in dormant.text
    opens = await _audit("tenant.dormant.open", ref.id)
    assert len(opens) == 2 and {o["actor_kind"] for o in opens} == {"staff"}


async def test_reactivation_needs_a_reason_and_counts_as_business(database, client_factory):
    bld = await factories.building()
    other = await factories.building()
    ref = await _dormant_tenant(bld)
    path = f"/console/tenants/{ref.id}/reactivate"
    clerk = await _signed_in(client_factory, ["clerk"], [bld["id"]])
    token = await factories.form_token(clerk, "/console/tenants")
    refused = await clerk.post(path, data={"reason": "恢复合作", "_csrf_token": token}, follow_redirects=False)
    assert refused.status_code == 403
    outsider = await _signed_in(client_factory, ["supervisor"], [other["id"]])  # leadership sees every building
    archivist = await _signed_in(client_factory, ["archivist"])

    blank = await _post(archivist, path, path, {"reason": "  "})
    assert blank.status_code == 422 and "请填写激活该档案的原因" in blank.text
    assert (await _core(ref.id))["status"] == "dormant"

    done = await _post(archivist, path, path, {"reason": "租户续租，恢复合作"})
    assert done.status_code in (302, 303) and done.headers["location"] == f"/console/tenants/{ref.id}?reactivated=1"
    assert await _core(ref.id) == {"status": "active", "last_business_on": today(), "dormant_since": None}
    [entry] = await _audit("tenant.reactivate", ref.id)
    detail = entry["detail"] if isinstance(entry["detail"], dict) else json.loads(entry["detail"])
    assert detail["reason"] == "租户续租，恢复合作"
    # Not dormant any more: the form is gone and a second reactivation is a conflict.
    assert (await archivist.get(path)).status_code == 404
    assert (await outsider.get(f"/console/tenants/{ref.id}")).status_code == 200
    # Once active again, the clerk of the building opens it as before.
    assert (await clerk.get(f"/console/tenants/{ref.id}")).status_code == 200


# --- retention classes ---------------------------------------------------------------------------

async def test_archivist_sets_a_period_audited_and_bad_input_saves_nothing(database, client_factory):
    archivist = await _signed_in(client_factory, ["archivist"])
    clerk = await _signed_in(client_factory, ["clerk"])
    assert (await clerk.get("/console/retention")).status_code == 403
    page = await archivist.get("/console/retention")
    assert page.status_code == 200 and "公司对普通客户档案的规定" in page.text
    try:
        bad = await _post(archivist, "/console/retention", "/console/retention/classes",
                          {"key": "level:0", "years": "0", "basis": "x"})
        assert bad.status_code == 422 and "1 到 100" in bad.text
        assert (await retention.class_years())["level:0"] == 5
        bad_key = await _post(archivist, "/console/retention", "/console/retention/classes",
                              {"key": "level:9", "years": "5", "basis": "x"})
        assert bad_key.status_code == 422
        ok = await _post(archivist, "/console/retention", "/console/retention/classes",
                         {"key": "category:fit_out", "years": "20", "basis": "公司规定"})
        assert ok.status_code in (302, 303)
        assert (await retention.class_years())["category:fit_out"] == 20
        entry = await DB.pool.fetchrow("SELECT * FROM core.audit_log WHERE action = 'retention.class.save'"
                                       " AND target = 'category:fit_out' ORDER BY id DESC LIMIT 1")
        assert entry["actor_kind"] == "staff"
        level = await _post(archivist, "/console/retention", "/console/retention/classes/remove", {"key": "level:0"})
        assert level.status_code == 409 and (await retention.class_years())["level:0"] == 5
    finally:
        removed = await _post(archivist, "/console/retention", "/console/retention/classes/remove",
                              {"key": "category:fit_out"})
        assert removed.status_code in (302, 303)
    assert "category:fit_out" not in await retention.class_years()


# --- the disposition list ------------------------------------------------------------------------

async def test_disposition_list_gives_each_file_and_document_group_its_reason(database, client_factory):
    bld = await factories.building()
    old = await registry.get_ref(await factories.tenant(bld, level="0"))  # normal: 5 years
    ids = await registry.get_ref(await factories.tenant(bld, level="2"))  # gold: 10 years, ID copies 3
    kept = await registry.get_ref(await factories.tenant(bld, level="2"))
    paying = await registry.get_ref(await factories.tenant(bld, level="0"))  # holds payments: 10 years
    as_of = D(2040, 3, 1)
    await _set_last_business(old.id, D(2034, 1, 10))
    await _set_last_business(ids.id, D(2036, 2, 1))
    await _set_last_business(kept.id, D(2036, 2, 1))
    await _set_last_business(paying.id, D(2034, 1, 10))
    await _add_documents(old, "correspondence", 2)
    await _add_documents(ids, "id_copies", 3)
    await _add_documents(paying, "payments", 1)

    candidates = {r["id"] for r in await disposition.queries.scan(as_of)}
    assert {old.id, ids.id, kept.id, paying.id} <= candidates  # kept: ID copies could have ended
    run_id = await disposition.build(as_of, built_by="test")
    rows = {(r["tenant_id"], r["category"]): dict(r) for r in await DB.pool.fetch(
        "SELECT * FROM core.disposition_item WHERE run_id = $1 AND tenant_id = ANY($2::int[])", run_id,
        [old.id, ids.id, kept.id, paying.id])}
    assert set(rows) == {(old.id, None), (ids.id, "id_copies")}
    assert (rows[(old.id, None)]["class_key"], rows[(old.id, None)]["ends_on"],
            rows[(old.id, None)]["documents"]) == ("level:0", D(2039, 1, 10), 2)
    assert (rows[(ids.id, "id_copies")]["ends_on"], rows[(ids.id, "id_copies")]["documents"]) == (D(2039, 2, 1), 3)

    archivist = await _signed_in(client_factory, ["archivist"])
    page = await archivist.get(f"/console/retention/disposition?q={old.archive_no}")
    assert page.status_code == 200 and f'href="/console/tenants/{old.id}"' in page.text and "整份档案" in page.text
    assert "客户等级：普通，最后业务日期" in page.text
    groups = await archivist.get(f"/console/retention/disposition?kind=documents&q={ids.archive_no}")
    assert f'href="/console/tenants/{ids.id}"' in groups.text and "身份证" in groups.text
    assert f'href="/console/tenants/{old.id}"' not in (await archivist.get(
        f"/console/retention/disposition?kind=documents&q={old.archive_no}")).text
    empty = await archivist.get("/console/retention/disposition?q=no-such-file-zz")
    assert "清单中没有符合筛选条件的项目" in empty.text
    export = await archivist.get(f"/console/retention/disposition.csv?q={old.archive_no}")
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    lines = export.text.lstrip("\ufeff").splitlines()
    assert len(lines) == 2 and old.archive_no in lines[1] and "2039-01-10" in lines[1] and "2034-01-10" in lines[1]

    clerk = await _signed_in(client_factory, ["clerk"], [bld["id"]])
    assert (await clerk.get("/console/retention/disposition")).status_code == 403
    assert (await clerk.get("/console/retention/disposition.csv")).status_code == 403


async def test_a_file_under_no_hold_is_listed_and_only_its_own_reader_pages_it(database):
    bld = await factories.building()
    ref = await registry.get_ref(await factories.tenant(bld, level="0"))
    await _set_last_business(ref.id, D(2001, 1, 1))
    await disposition.build(D(2030, 1, 1), built_by="test")
    archivist = Principal(kind="staff", user_id=9102, name="甲", roles=frozenset({Role.ARCHIVIST}))
    data = await disposition.page(archivist, q=ref.archive_no)
    assert [(r["tenant_id"], r["category"], r["ends_on"]) for r in data["rows"]] == [(ref.id, None, D(2006, 1, 1))]
    clerk = Principal(kind="staff", user_id=9103, name="乙", roles=frozenset({Role.CLERK}),
                      building_ids=frozenset({bld["id"]}))
    from portal.core.errors import Forbidden
    with pytest.raises(Forbidden):
        await disposition.page(clerk)


async def test_migration_backfills_the_last_business_date_from_payments_and_creation(database):
    from migrations.core import m0011_retention

    bld = await factories.building()
    paid = await registry.get_ref(await factories.tenant(bld))
    idle = await registry.get_ref(await factories.tenant(bld))
    await DB.pool.execute("UPDATE core.tenant SET created_at = '2019-01-02T10:00:00+08' WHERE id = ANY($1::int[])",
                          [paid.id, idle.id])
    await payments.record_payment(paid, {"amount": "100", "paid_on": "2020-02-02", "method": "cash"}, FINANCE)
    async with DB.transaction() as tx:
        await m0011_retention.forwards(tx.connection)
    assert (await _core(paid.id))["last_business_on"] == D(2020, 2, 2)
    assert (await _core(idle.id))["last_business_on"] == D(2019, 1, 2)


async def test_bench_hook_times_the_scan_and_leaves_nothing_behind(database):
    from tests.benchmarks.bench_retention import FIRST_ID, disposition_scan

    result = await disposition_scan(200)
    assert result["disposition_scan_tenants"] == 200 and 0 < result["disposition_candidates"] <= 200 + 10_000
    assert result["disposition_scan_s"] >= 0
    assert await DB.pool.fetchval("SELECT count(*) FROM core.tenant WHERE id > $1", FIRST_ID) == 0


async def test_a_file_whose_schema_is_gone_is_left_off_the_list(database):
    bld = await factories.building()
    ref = await registry.get_ref(await factories.tenant(bld, level="0"))
    await _set_last_business(ref.id, D(2001, 1, 1))
    async with DB.transaction() as tx:  # what a finished purge leaves: the registry row, no schema
        await tx.connection.execute(f'ALTER SCHEMA "{ref.schema}" RENAME TO "gone_{ref.id}"')
    try:
        run_id = await disposition.build(D(2030, 1, 1), built_by="test")
        assert await DB.pool.fetchval("SELECT count(*) FROM core.disposition_item WHERE run_id = $1"
                                      " AND tenant_id = $2", run_id, ref.id) == 0
    finally:
        async with DB.transaction() as tx:
            await tx.connection.execute(f'ALTER SCHEMA "gone_{ref.id}" RENAME TO "{ref.schema}"')


async def test_build_now_runs_in_the_worker(database, client_factory, celery_worker):
    bld = await factories.building()
    ref = await registry.get_ref(await factories.tenant(bld, level="0"))
    await _set_last_business(ref.id, D(2001, 1, 1))
    before = await DB.pool.fetchval("SELECT coalesce(max(id), 0) FROM core.disposition_run")
    archivist = await _signed_in(client_factory, ["archivist"])
    page = "/console/retention/disposition"
    response = await _post(archivist, page, page, {})
    assert response.status_code in (302, 303) and response.headers["location"].endswith("?queued=1")
    import asyncio
    for _ in range(600):  # the shared worker may still be busy with earlier tests' batches
        run = await DB.pool.fetchrow("SELECT * FROM core.disposition_run WHERE id > $1 ORDER BY id DESC LIMIT 1",
                                     before)
        if run:
            break
        await asyncio.sleep(0.5)
    assert run is not None and run["built_by"] != "beat"
    assert await DB.pool.fetchval("SELECT count(*) FROM core.disposition_item WHERE run_id = $1 AND tenant_id = $2",
                                  run["id"], ref.id) == 1


async def test_a_dormant_files_pending_request_leaves_the_clerks_review_queue(database):
    from portal.accounts import service as accounts
    from tenants import review
    from tenants.file import service as file_service

    bld = await factories.building()
    ref = await registry.get_ref(await factories.tenant(bld))
    user = await factories.portal_user(ref.id)
    portal = await accounts.load_principal("portal", user["id"], 0)
    await file_service.submit_request(ref, portal, "profile", {"industry": "电子商务"})
    clerk = Principal(kind="staff", user_id=9104, name="丙", roles=frozenset({Role.CLERK}),
                      building_ids=frozenset({bld["id"]}))
    archivist = Principal(kind="staff", user_id=9105, name="丁", roles=frozenset({Role.ARCHIVIST}))

    async def queued(who) -> bool:
        rows, _ = await review.list_items(who, per_page=500)
        return any(r["tenant_id"] == ref.id for r in rows)

    assert await queued(clerk)
    await _set_last_business(ref.id, D(2001, 1, 1))
    assert await retention.make_dormant(ref, D(2002, 1, 1))
    assert not await queued(clerk) and await queued(archivist)


async def test_business_on_a_dormant_file_is_flagged_on_the_dormant_list(database, client_factory):
    # A payment on a dormant file moves its last business date; a person
    # reactivates it with a reason, and the list tells them which ones to look at.
    bld = await factories.building()
    quiet, paying = await _dormant_tenant(bld), await _dormant_tenant(bld)
    await payments.record_payment(paying, {"amount": "100", "paid_on": today().isoformat(), "method": "cash"},
                                  FINANCE)
    assert await _core(paying.id) == {"status": "dormant", "last_business_on": today(), "dormant_since": D(2002, 1, 1)}
    archivist = await _signed_in(client_factory, ["archivist"])
    rows: dict[str, str] = {}
    for page in range(1, 50):  # the session's other tests leave dormant files too
        listing = await archivist.get(f"/console/retention/dormant?page={page}")
        assert listing.status_code == 200
        for ref in (quiet, paying):
            if ref.archive_no in listing.text:
                rows[ref.archive_no] = listing.text.split(ref.archive_no, 1)[1].split("</tr>", 1)[0]
        if len(rows) == 2 or "<tr" not in listing.text.split("<tbody>", 1)[-1]:
            break
    assert "休眠后又有业务往来" in rows[paying.archive_no] and "休眠后又有业务往来" not in rows[quiet.archive_no]
