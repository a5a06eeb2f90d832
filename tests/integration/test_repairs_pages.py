"""Repair pages: a tenant reports from the portal and follows the order; the
technician works it from the console; the dispatcher's board and roster; and
nobody reaches another tenant's order or a page without the right (404/403)."""

from __future__ import annotations

from tenants.servicedesk import dispatch
from tenants.scope import tenant_tx
from tests import factories
from tests.integration.docs_support import pdf_bytes, png_bytes
from tests.integration.repairs_support import (  # noqa: F401 (fixture)
    desk, order_row, run_body, sent_tasks, technician,
)


async def _client(client_factory, login: str, kind: str = "console"):
    client = await client_factory()
    await factories.sign_in(client, login, kind=kind)
    return client


async def test_portal_report_and_console_steps(desk, client_factory):
    a = desk["a"]
    tech = await technician(desk["b1"]["id"])
    tenant = await _client(client_factory, desk["user_a"]["email"], "portal")
    page = await tenant.get("/portal/repairs")
    assert page.status_code == 200 and "description" in page.text
    token = await factories.form_token(tenant, "/portal/repairs")
    bad = await tenant.post("/portal/repairs", data={"category": "water", "description": "", "_csrf_token": token})
    assert bad.status_code == 422
    with sent_tasks():
        made = await tenant.post("/portal/repairs", data={"category": "water", "description": "漏水",
                                                          "_csrf_token": token})
    assert made.status_code in (302, 303)
    order_id = int(made.headers["location"].split("/")[3].split("?")[0])
    with sent_tasks():
        await run_body(dispatch.dispatch, a, order_id, 0)

    other = await _client(client_factory, desk["user_b"]["email"], "portal")
    assert (await other.get(f"/portal/repairs/{order_id}")).status_code == 404

    # Photos go through the document intake: an image is filed, anything else refused and not kept.
    token = await factories.form_token(tenant, f"/portal/repairs/{order_id}")
    with sent_tasks():
        shot = await tenant.post(f"/portal/repairs/{order_id}/photos", data={"_csrf_token": token},
                                 files={"file": ("leak.png", png_bytes(), "image/png")})
    assert shot.status_code in (302, 303), shot.text[:300]
    refused = await tenant.post(f"/portal/repairs/{order_id}/photos", data={"_csrf_token": token},
                                files={"file": ("leak.pdf", pdf_bytes("not a photo"), "application/pdf")})
    assert refused.status_code == 422
    stranger = await other.post(f"/portal/repairs/{order_id}/photos", data={"_csrf_token": await factories.form_token(
        other, "/portal/repairs")}, files={"file": ("x.png", png_bytes(), "image/png")})
    assert stranger.status_code == 404  # another tenant's order does not exist for them
    async with tenant_tx(a.schema) as tx:
        photos = await tx.connection.fetch("SELECT d.category FROM work_order_photo p JOIN document d"
                                           " ON d.id = p.document_id WHERE p.order_id = $1", order_id)
    assert [p["category"] for p in photos] == ["repairs"]

    worker = await _client(client_factory, tech["username"])
    mine = await worker.get("/console/repairs/mine")
    assert mine.status_code == 200 and (await order_row(a, order_id))["number"] in mine.text
    base = f"/console/tenants/{a.id}/repairs/{order_id}"
    token = await factories.form_token(worker, base)
    assert (await worker.post(base + "/complete", data={"_csrf_token": token})).status_code == 409
    for step in ("accept", "on-site", "complete"):
        response = await worker.post(f"{base}/{step}", data={"_csrf_token": token})
        assert response.status_code in (302, 303), (step, response.text[:300])
    assert (await order_row(a, order_id))["status"] == "completed"
    # A technician of another building cannot reach the tenant at all.
    far = await technician(desk["b2"]["id"])
    stranger = await _client(client_factory, far["username"])
    assert (await stranger.get(base)).status_code == 404

    detail = await tenant.get(f"/portal/repairs/{order_id}")
    token = await factories.form_token(tenant, f"/portal/repairs/{order_id}")
    assert (await tenant.post(f"/portal/repairs/{order_id}/confirm",
                              data={"rating": "7", "_csrf_token": token})).status_code == 422
    with sent_tasks():
        done = await tenant.post(f"/portal/repairs/{order_id}/confirm", data={"rating": "4", "_csrf_token": token})
    assert done.status_code in (302, 303) and detail.status_code == 200
    assert (await order_row(a, order_id))["rating"] == 4


async def test_board_and_roster_for_dispatchers_only(desk, client_factory):
    a = desk["a"]
    await technician(desk["b1"]["id"])
    with sent_tasks():
        from tenants.servicedesk import service
        order = await service.report(a, desk["pa"], {"category": "lift", "description": "电梯停运"})
        await run_body(dispatch.dispatch, a, order["id"], 0)  # no lift technician: unassigned
    dispatcher = await factories.staff(["dispatcher"], [desk["b1"]["id"]])
    blind = await factories.staff(["dispatcher"], [desk["b2"]["id"]])
    clerk = await factories.staff(["clerk"], [desk["b1"]["id"]])
    d = await _client(client_factory, dispatcher["username"])
    board = await d.get("/console/repairs?view=unassigned")
    assert board.status_code == 200 and order["number"] in board.text
    assert "应完成时间" in board.text and "应还时间" not in board.text  # a repair's due time, not a loan's
    assert order["number"] in (await d.get("/console/repairs/board?view=unassigned")).text
    assert order["number"] not in (await (await _client(client_factory, blind["username"])).get(
        "/console/repairs")).text
    clerk_client = await _client(client_factory, clerk["username"])
    assert (await clerk_client.get("/console/repairs")).status_code == 403
    assert order["number"] in (await clerk_client.get(f"/console/tenants/{a.id}")).text  # the tenant page lists it
    roster = await d.get("/console/repairs/roster")
    assert roster.status_code == 200 and "开始时间" in roster.text and "结束时间" in roster.text  # shift times, not dates
    assert (await d.get("/console/repairs?page=99999999999")).status_code in (200, 422)
