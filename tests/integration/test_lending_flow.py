"""Lending on the approval engine: one audit row per decision, named after the flow,
and the engine's rules for refusals too (the head who approved cannot refuse as supervisor)."""

from __future__ import annotations

import json

import pytest

from documents import lending
from portal.core.db import DB
from portal.core.errors import Forbidden
from tests import factories
from tests.integration.docs_support import world  # noqa: F401 (fixture)
from tests.integration.test_documents_lending import due, people, person  # noqa: F401 (fixture)


async def _decisions(loan_id: int) -> list[tuple[str, dict]]:
    rows = await DB.pool.fetch("SELECT action, detail FROM core.audit_log WHERE target = $1"
                               " AND action LIKE 'loan.%' AND action NOT IN ('loan.request') ORDER BY id",
                               f"loan:{loan_id}")
    return [(r["action"], json.loads(r["detail"]) if isinstance(r["detail"], str) else r["detail"]) for r in rows]


async def test_each_decision_writes_one_engine_audit_row(world, people):
    p = await people()
    request = {"tenant_ids": str(world["a"]), "mode": "electronic", "due_date": due(), "purpose": "核对合同"}
    loan_id = await lending.create_loan(p["borrower"], request)
    assert await lending.approve(p["head_sup"], loan_id) == "head_approved"
    # The head who decided the first step may not refuse the second either.
    with pytest.raises(Forbidden):
        await lending.refuse(p["head_sup"], loan_id, "不同意")
    assert await lending.approve(p["supervisor"], loan_id) == "lent"
    decisions = await _decisions(loan_id)
    assert [(a, d["step"], d["status"]) for a, d in decisions] == [
        ("loan.approve", "head", "head_approved"), ("loan.approve", "supervisor", "lent")]
    loan = await DB.pool.fetchrow("SELECT head_id, supervisor_id FROM core.loan WHERE id = $1", loan_id)
    assert (loan["head_id"], loan["supervisor_id"]) == (p["head_sup"].user_id, p["supervisor"].user_id)
    assert await DB.pool.fetchval("SELECT count(*) FROM core.access_grant WHERE loan_id = $1", loan_id) == 1

    refused = await lending.create_loan(p["borrower"], request)
    await lending.refuse(p["head"], refused, "用途不明确")
    assert [(a, d["reason"]) for a, d in await _decisions(refused)] == [("loan.reject", "用途不明确")]


async def test_outside_kind_is_decided_by_the_leadership_flow(world):
    number = await DB.pool.fetchval("SELECT archive_no FROM core.tenant WHERE id = $1", world["a"])
    outsider = world["outsider"]
    borrower = person(outsider, "clerk", buildings=[world["other_bld"]["id"]])
    manager = person(await factories.staff(["general_manager"]), "general_manager")
    head = person(await factories.staff(["dept_head"], [world["bld"]["id"]]), "dept_head",
                  buildings=[world["bld"]["id"]])
    loan_id = await lending.create_loan(borrower, {"mode": "outside", "archive_nos": number, "due_date": due(),
                                                   "purpose": "核对边界"})
    with pytest.raises(Forbidden):
        await lending.approve(head, loan_id)
    assert await lending.approve(manager, loan_id) == "approved"
    assert [(a, d["step"]) for a, d in await _decisions(loan_id)] == [("loan.outside.approve", "leadership")]
