"""The audit log's keyset export: rows of one transaction share their time, and
paging through them in small batches neither skips nor repeats a row."""

from __future__ import annotations

import uuid

from portal.core import audit
from portal.core.db import DB


async def test_iter_rows_pages_through_rows_with_the_same_time(database):
    action = f"test.keyset{uuid.uuid4().hex[:8]}"
    async with DB.transaction():  # one transaction: now() is the same for every row
        for n in range(5):
            await audit.record(action, actor_name="system", target=f"row:{n}")
    rows = [row async for row in audit.iter_rows(batch=2, action=action)]
    assert [r["target"] for r in rows] == [f"row:{n}" for n in range(4, -1, -1)]
    assert len({r["at"] for r in rows}) == 1
    page, total = await audit.search(action=action, page=2, per_page=2)
    assert total == 5 and [r["target"] for r in page] == ["row:2", "row:1"]
