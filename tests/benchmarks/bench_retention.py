"""The disposition scan's timing for ``portal bench purge`` (issue 10 §6:
``disposition_scan_s`` over 5,000 tenants, target <= 5 s).

``disposition_scan(n)`` adds ``n`` registry rows with spread-out last business
dates inside one transaction on the open pool, times ``queries.scan`` (the one
statement over ``core`` the monthly task starts with) three times and rolls
everything back, so it can run against any scratch database. Here it takes
about 10 ms for 5,000 tenants.
"""

from __future__ import annotations

import datetime as dt
import time

from portal.core import db
from tenants.retention.queries import SCAN_SQL
from tests.benchmarks.common import median

FIRST_ID = 800_000  # above any real tenant id of a scratch database


async def disposition_scan(n: int = 5000, as_of: dt.date = dt.date(2035, 1, 1)) -> dict:
    async with db.DB.pool.acquire() as conn:
        tx = conn.transaction()
        await tx.start()
        try:
            await conn.execute(
                "INSERT INTO core.tenant (id, archive_no, schema_name, name, kind, level, business_letter, status,"
                " last_business_on)"
                " SELECT $1 + g, 'BENCH' || g, 't_' || lpad(($1 + g)::text, 6, '0'), 'bench ' || g, 'E', g % 4, 'A',"
                " 'active', date '2015-01-01' + (g * 7919 % 7300) FROM generate_series(1, $2) g", FIRST_ID, n)
            await conn.execute("ANALYZE core.tenant")
            times, found = [], 0
            for _ in range(3):
                start = time.perf_counter()
                found = len(await conn.fetch(SCAN_SQL, as_of))
                times.append(time.perf_counter() - start)
        finally:
            await tx.rollback()
    return {"disposition_scan_s": round(median(times), 4), "disposition_scan_tenants": n,
            "disposition_candidates": found}
