"""Retention, legal holds, destruction and the service desk working together
(issues 10 and 9): holds keep files and document groups off the disposition
list, a destruction request is started from a line of the list and records
it, a major complaint holds the file in its own transaction, service-desk
events move the last business date, files being destroyed leave the scan."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from portal.core.db import DB
from portal.core.errors import Forbidden, FormErrors, NotFound
from portal.core.roles import Principal, Role
from portal.core.workdays import today
from tenants.complaints import service as complaints
from tenants.destruction import holds, service as destruction
from tenants.registry import service as registry
from tenants.retention import disposition
from tenants.scope import tenant_tx
from tests import factories
from tests.integration.destruction_support import bench  # noqa: F401 (fixture)
from tests.integration.repairs_support import order_row, portal_principal, sent_tasks

D = dt.date
AS_OF = D(2040, 3, 1)
REQUEST = {"scope": "file", "reason": "保管期满", "signer_1": "档案员甲", "signer_2": "监销人乙"}


def person(staff: dict, *roles: str, buildings=()) -> Principal:
    return Principal(kind="staff", user_id=staff["id"], name=staff["username"],
                     roles=frozenset(Role(r) for r in roles), building_ids=frozenset(buildings))


async def _last_business(tenant_id: int, day: dt.date | None = None) -> dt.date:
    if day is not None:
        await DB.pool.execute("UPDATE core.tenant SET last_business_on = $2 WHERE id = $1", tenant_id, day)
    return await DB.pool.fetchval("SELECT last_business_on FROM core.tenant WHERE id = $1", tenant_id)


async def _documents(ref, category: str, n: int) -> list[int]:
    ids = []
    async with tenant_tx(ref.schema) as tx:
        for i in range(n):
            ids.append(await tx.connection.fetchval(
                "INSERT INTO document (uid, category, title, source, uploaded_by_kind, uploaded_by)"
                " VALUES ($1, $2, $3, 'staff_upload', 'staff', 'test') RETURNING id", uuid.uuid4(), category,
                f"{category} {i}"))
    return ids


async def _listed(run_id: int, tenant_id: int) -> dict:
    rows = await DB.pool.fetch("SELECT * FROM core.disposition_item WHERE run_id = $1 AND tenant_id = $2",
                               run_id, tenant_id)
    return {r["category"]: dict(r) for r in rows}


@pytest.fixture
async def archive(database):
    bld = await factories.building()
    b = [bld["id"]]
    made = {"bld": bld}
    for key, roles in (("archivist", ["archivist"]), ("archivist2", ["archivist"]), ("supervisor", ["supervisor"]),
                       ("clerk", ["clerk"])):
        staff = await factories.staff(roles, b)
        made[key] = person(staff, *roles, buildings=b)
        made[key + "_login"] = staff["username"]
    return made


async def _past_retention(bld) -> registry.TenantRef:
    ref = await registry.get_ref(await factories.tenant(bld, level="0"))  # normal: 5 years
    await _last_business(ref.id, D(2030, 1, 1))
    return ref


async def _client(client_factory, login: str):
    client = await client_factory()
    response = await factories.sign_in(client, login)
    assert response.status_code in (302, 303), response.text[:300]
    return client


# --- 1. holds keep things off the list --------------------------------------------------------------

async def test_a_held_file_past_retention_is_left_off_until_the_hold_is_released(archive, client_factory):
    ref = await _past_retention(archive["bld"])
    free = await _past_retention(archive["bld"])
    hold_id = await holds.place_hold(ref.id, {"scope": "file", "reason": "租赁纠纷", "case_ref": "(2040)沪01民初7号"},
                                     archive["archivist"])
    scanned = {r["id"] for r in await disposition.queries.scan(AS_OF)}
    assert ref.id not in scanned and free.id in scanned
    run_id = await disposition.build(AS_OF, built_by="test")
    assert await _listed(run_id, ref.id) == {} and None in await _listed(run_id, free.id)
    # The page says why it is missing: the hold and its case reference, in the reader's buildings.
    page = await disposition.page(archive["archivist"], q=ref.archive_no)
    assert page["rows"] == [] and [(h["tenant_id"], h["case_ref"], h["whole_file"]) for h in page["held"]
                                   if h["tenant_id"] == ref.id] == [(ref.id, "(2040)沪01民初7号", True)]

    client = await _client(client_factory, archive["archivist_login"])
    shown = await client.get(f"/console/retention/disposition?q={ref.archive_no}")
    assert "未列入清单：诉讼保全中" in shown.text and "(2040)沪01民初7号" in shown.text

    await holds.release_hold(hold_id, {"release_reason": "已结案"}, archive["archivist2"])
    run_id = await disposition.build(AS_OF, built_by="test")
    assert (await _listed(run_id, ref.id))[None]["class_key"] == "level:0"


async def test_a_document_hold_keeps_its_group_and_the_whole_file_off_but_not_the_other_groups(archive):
    ref = await _past_retention(archive["bld"])
    held_ids = await _documents(ref, "contracts", 2)
    await _documents(ref, "correspondence", 3)
    await holds.place_hold(ref.id, {"scope": "documents", "document_ids": str(held_ids[0]), "reason": "合同纠纷",
                                    "case_ref": "仲裁-12"}, archive["archivist"])
    run_id = await disposition.build(AS_OF, built_by="test")
    listed = await _listed(run_id, ref.id)
    assert set(listed) == {"correspondence"} and listed["correspondence"]["documents"] == 3
    assert listed["correspondence"]["ends_on"] <= AS_OF
    page = await disposition.page(archive["archivist"], q=ref.archive_no)
    assert [h["document_titles"] for h in page["held"] if h["tenant_id"] == ref.id] == [["contracts 0"]]


# --- 5. files being destroyed or destroyed leave the scan; dormant files stay -----------------------

async def test_the_scan_skips_files_being_destroyed_and_destroyed_but_keeps_dormant_ones(archive):
    dormant, destroying, destroyed = [await _past_retention(archive["bld"]) for _ in range(3)]
    await DB.pool.execute("UPDATE core.tenant SET status = 'dormant', dormant_since = '2031-01-02' WHERE id = $1",
                          dormant.id)
    await DB.pool.execute("UPDATE core.tenant SET status = 'destroying' WHERE id = $1", destroying.id)
    await DB.pool.execute("UPDATE core.tenant SET status = 'destroyed' WHERE id = $1", destroyed.id)
    scanned = {r["id"] for r in await disposition.queries.scan(AS_OF)}
    assert dormant.id in scanned and destroying.id not in scanned and destroyed.id not in scanned
    run_id = await disposition.build(AS_OF, built_by="test")
    assert None in await _listed(run_id, dormant.id)
    assert await _listed(run_id, destroying.id) == {} and await _listed(run_id, destroyed.id) == {}


# --- 2. a destruction request from a line of the list -----------------------------------------------

async def test_the_list_prefills_the_request_and_the_request_records_its_line(archive, client_factory):
    whole = await _past_retention(archive["bld"])
    grouped = await registry.get_ref(await factories.tenant(archive["bld"], level="2"))  # gold: ID copies 3 years
    await _last_business(grouped.id, D(2036, 2, 1))
    ids = await _documents(grouped, "id_copies", 2)
    run_id = await disposition.build(AS_OF, built_by="test")
    file_line = (await _listed(run_id, whole.id))[None]
    group_line = (await _listed(run_id, grouped.id))["id_copies"]

    client = await _client(client_factory, archive["archivist_login"])
    listing = await client.get(f"/console/retention/disposition?q={whole.archive_no}")
    assert f'href="/console/destruction/new?item={file_line["id"]}"' in listing.text and "申请销毁" in listing.text
    form = await client.get(f"/console/destruction/new?item={file_line['id']}")
    assert form.status_code == 200
    assert f'name="disposition_item" value="{file_line["id"]}"' in form.text
    assert f'value="{whole.id}"' in form.text and "2035-01-01" in form.text and "2030-01-01" in form.text
    assert 'name="early"' not in form.text  # from the list: not an early destruction
    assert "列入 2040-03-01 的处置清单：客户等级：普通" in form.text and "选自处置清单" in form.text
    group_form = await client.get(f"/console/destruction/new?item={group_line['id']}")
    assert f"{ids[0]}, {ids[1]}" in group_form.text and 'value="documents" selected' in group_form.text

    token = await factories.form_token(client, f"/console/destruction/new?item={file_line['id']}")
    response = await client.post("/console/destruction/new", data={
        **REQUEST, "tenant_id": str(whole.id), "disposition_item": str(file_line["id"]), "early": "1",
        "_csrf_token": token}, follow_redirects=False)
    assert response.status_code in (302, 303), response.text[:500]
    request_id = int(response.headers["location"].rsplit("/", 1)[1])
    assert await destruction.origin(request_id) == {"item": file_line["id"], "run": run_id, "list_of": AS_OF}
    row = await DB.pool.fetchrow("SELECT early, early_reason FROM core.destruction_request WHERE id = $1", request_id)
    assert (row["early"], row["early_reason"]) == (False, "")
    listing = await client.get(f"/console/retention/disposition?q={whole.archive_no}")
    assert f'href="/console/destruction/{request_id}"' in listing.text and "已申请销毁" in listing.text
    assert f"new?item={file_line['id']}" not in listing.text  # one open request per file
    page = await client.get(f"/console/destruction/{request_id}")
    assert f"2040-03-01 的处置清单，第 {file_line['id']} 项" in page.text

    # The group's request names its documents only; a line of another file, or the wrong scope, is refused.
    group_request = await destruction.create_request(grouped.id, {
        **REQUEST, "scope": "documents", "document_ids": str(ids[0]), "disposition_item": str(group_line["id"])},
        archive["archivist"])
    assert (await destruction.origin(group_request))["item"] == group_line["id"]
    other = await _past_retention(archive["bld"])
    for raw, field in (({**REQUEST, "disposition_item": str(group_line["id"])}, "disposition_item"),
                       ({**REQUEST, "disposition_item": "99999999999999999999"}, "disposition_item"),
                       ({**REQUEST, "disposition_item": "x1"}, "disposition_item")):
        with pytest.raises(FormErrors) as refused:
            await destruction.create_request(other.id, raw, archive["archivist"])
        assert field in refused.value.fields
    with pytest.raises(FormErrors) as refused:
        await destruction.create_request(whole.id, {**REQUEST, "scope": "documents", "document_ids": "1",
                                                    "disposition_item": str(file_line["id"])}, archive["archivist"])
    assert "scope" in refused.value.fields
    # Early destruction (no line of the list) still needs the special reason.
    with pytest.raises(FormErrors) as refused:
        await destruction.create_request(other.id, {**REQUEST, "early": "1"}, archive["archivist"])
    assert "early_reason" in refused.value.fields
    assert await destruction.origin(await destruction.create_request(
        other.id, {**REQUEST, "early": "1", "early_reason": "合同约定提前销毁"}, archive["archivist"])) is None


async def test_the_prefilled_form_needs_the_right_to_read_the_list(archive, client_factory):
    ref = await _past_retention(archive["bld"])
    run_id = await disposition.build(AS_OF, built_by="test")
    line = (await _listed(run_id, ref.id))[None]
    elsewhere = await factories.staff(["dept_head"], [(await factories.building())["id"]])
    head = await _client(client_factory, elsewhere["username"])  # may request, may not read the list
    assert (await head.get(f"/console/destruction/new?item={line['id']}")).status_code == 403
    clerk = await _client(client_factory, archive["clerk_login"])
    assert (await clerk.get(f"/console/destruction/new?item={line['id']}")).status_code == 403
    with pytest.raises(Forbidden):
        await disposition.item(line["id"], person(elsewhere, "dept_head", buildings=[-1]))
    with pytest.raises(NotFound):
        await disposition.item(10**15, archive["archivist"])
    archivist = await _client(client_factory, archive["archivist_login"])
    assert (await archivist.get("/console/destruction/new?item=999999999")).status_code == 404
    assert (await archivist.get("/console/destruction/new?item=99999999999999999999999")).status_code == 422


# --- 3. a major complaint holds the file ---------------------------------------------------------

NEW = {"channel": "phone", "complainant": "王先生", "contact": "wang@example.com", "against": "保安",
       "description": "保安与访客冲突造成人身伤害", "request": "赔偿医药费", "grade": "general"}


async def test_grading_a_complaint_major_holds_the_file_and_destruction_is_refused(archive):
    bld = archive["bld"]
    ref = await registry.get_ref(await factories.tenant(bld))
    user = await factories.portal_user(ref.id)
    tenant = portal_principal(user, ref.id)
    with sent_tasks():
        cid = await complaints.lodge(ref, {k: v for k, v in NEW.items() if k not in ("channel", "grade")}, tenant)
    assert await holds.active_holds(ref.id) == []
    with sent_tasks() as sent:
        await complaints.decide(ref, cid, {"decision": "approve", "expected_step": "record", "grade": "major"},
                                archive["supervisor"])
    async with tenant_tx(ref.schema) as tx:
        number = await tx.connection.fetchval("SELECT number FROM complaint WHERE id = $1", cid)
    [hold] = await holds.active_holds(ref.id)
    assert (hold["case_ref"], hold["reason"], hold["document_ids"]) == (number, number, None)
    assert (hold["placed_by_id"], hold["placed_by"]) == (archive["supervisor"].user_id, archive["supervisor"].name)
    assert ("destruction.s3_hold", [ref.id, hold["id"]]) in [(s[0], s[1]) for s in sent]
    assert await holds.apply_s3_hold(ref.id, hold["id"]) == 0  # no documents: nothing to lock, and no error
    audit = await DB.pool.fetchrow("SELECT actor_id, detail FROM core.audit_log WHERE action = 'legal_hold.place'"
                                   " AND target = $1", f"legal_hold:{hold['id']}")
    assert audit["actor_id"] == archive["supervisor"].user_id

    with pytest.raises(holds.Held):
        await destruction.create_request(ref.id, REQUEST, archive["archivist"])
    # Releasing stays a person's act: not the one who graded it, and with a reason.
    with pytest.raises(Forbidden):
        await holds.release_hold(hold["id"], {"release_reason": "已处理"}, archive["supervisor"])
    with pytest.raises(FormErrors):
        await holds.release_hold(hold["id"], {}, archive["archivist"])
    await holds.release_hold(hold["id"], {"release_reason": "已结案"}, archive["archivist"])
    assert await destruction.create_request(ref.id, REQUEST, archive["archivist"]) > 0


async def test_staff_recording_a_major_complaint_hold_once_and_a_rollback_holds_nothing(archive):
    ref = await registry.get_ref(await factories.tenant(archive["bld"]))
    with sent_tasks():
        cid = await complaints.lodge(ref, {**NEW, "grade": "major"}, archive["supervisor"])
    [hold] = await holds.active_holds(ref.id)
    assert hold["placed_by_id"] == archive["supervisor"].user_id
    # Sent back to step 1 and graded major again: still one hold for this complaint.
    with sent_tasks():
        await complaints.decide(ref, cid, {"decision": "send_back", "to_step": "record", "note": "重新登记",
                                           "expected_step": "stands"}, archive["supervisor"])
        await complaints.decide(ref, cid, {"decision": "approve", "expected_step": "record", "grade": "major"},
                                archive["supervisor"])
    assert len(await holds.active_holds(ref.id)) == 1
    # A refused lodging (bad input) places no hold.
    other = await registry.get_ref(await factories.tenant(archive["bld"]))
    with pytest.raises(FormErrors):
        await complaints.lodge(other, {**NEW, "grade": "major", "description": ""}, archive["supervisor"])
    assert await holds.active_holds(other.id) == []


# --- 4. service-desk events are business ----------------------------------------------------------

async def test_a_complaint_lodged_moves_the_last_business_date(archive):
    ref = await registry.get_ref(await factories.tenant(archive["bld"]))
    await _last_business(ref.id, D(2020, 1, 1))
    with sent_tasks():
        await complaints.lodge(ref, NEW, archive["clerk"])
    assert await _last_business(ref.id) == today()


async def test_reporting_and_closing_a_repair_move_the_last_business_date(archive):
    from tenants.servicedesk import service as repairs

    ref = await registry.get_ref(await factories.tenant(archive["bld"]))
    tenant = portal_principal(await factories.portal_user(ref.id), ref.id)
    await _last_business(ref.id, D(2020, 1, 1))
    with sent_tasks():
        order = await repairs.report(ref, tenant, {"category": "water", "description": "水管漏水", "location": "3F"})
    assert await _last_business(ref.id) == today()
    await _last_business(ref.id, D(2020, 1, 1))
    async with tenant_tx(ref.schema) as tx:
        await tx.connection.execute("UPDATE work_order SET status = 'completed', completed_at = now() WHERE id = $1",
                                    order["id"])
    with sent_tasks():
        await repairs.confirm(ref, tenant, order["id"], {"rating": "5"})
    assert (await order_row(ref, order["id"]))["status"] == "closed"
    assert await _last_business(ref.id) == today()
    # A refused report (bad input) moves nothing.
    await _last_business(ref.id, D(2020, 1, 1))
    with pytest.raises(FormErrors):
        await repairs.report(ref, tenant, {"category": "water", "description": ""})
    assert await _last_business(ref.id) == D(2020, 1, 1)


async def test_a_major_complaints_hold_locks_the_files_s3_versions_after_commit(settings, bench):
    from documents.storage import get_storage
    from tests.integration.destruction_support import tenant_with_everything

    t = await tenant_with_everything(bench["client"], bench["bld"], marker="major")
    with sent_tasks() as sent:
        await complaints.lodge(t["ref"], {**NEW, "grade": "major"}, bench["p"]["gm"])
    [hold] = await holds.active_holds(t["id"])
    [args] = [s[1] for s in sent if s[0] == "destruction.s3_hold"]
    assert args == [t["id"], hold["id"]]
    other = await registry.get_ref(await factories.tenant(bench["bld"]))
    assert await holds.apply_s3_hold(other.id, hold["id"]) == 0  # the task never acts on another tenant's hold
    assert await holds.apply_s3_hold(*args) >= 3  # every version of both documents (and thumbnails, if any)
    storage = get_storage(settings)
    key, version = await DB.pool.fetchrow(
        f'SELECT object_key, s3_version_id FROM "{t["ref"].schema}".document_version ORDER BY id LIMIT 1')
    assert storage.client.is_object_legal_hold_enabled(storage.bucket, key, version_id=version)
    await holds.release_hold(hold["id"], {"release_reason": "投诉已结案"}, bench["p"]["archivist"])
    assert not storage.client.is_object_legal_hold_enabled(storage.bucket, key, version_id=version)
