"""The demo office's retention: dormant files with dates that agree, one file
made dormant by the daily sweep's own service, and a disposition list.

The plan draws some files as 'dormant' already; their last business date is
set back 14 to 30 months (and ``dormant_since`` a year after it) so the
restricted archive view reads true. One active normal-level file, the last of
its kind in plan order and not an example portal tenant, has had no business
for six years: the sweep's service makes it dormant (audited, in its change
log), and as a normal file (five years) it is on the disposition list, which
is built last.
"""

from __future__ import annotations

import datetime as dt

from portal.core.db import DB
from portal.core.workdays import today
from portal.demo.plan import Plan, _example_portal_tenants
from tenants.registry.service import get_ref
from tenants.retention import disposition, rules
from tenants.retention import service as retention

QUIET_YEARS = 6


async def load(plan: Plan, tenant_ids: dict[int, int]) -> dict:
    now = today()
    dormant = [t for t in plan.tenants if t.profile["status"] == "dormant"]
    for index, tenant in enumerate(dormant):
        last = now - dt.timedelta(days=420 + 37 * index % 480)
        await DB.pool.execute(
            "UPDATE core.tenant SET last_business_on = $2, dormant_since = $3 WHERE id = $1 AND status = 'dormant'",
            tenant_ids[tenant.number], last, rules.add_years(last, 1))
    examples = {t.number for t in _example_portal_tenants(plan)}
    quiet = [t for t in plan.tenants if t.profile["status"] == "active" and int(t.profile["level"]) == 0
             and t.number not in examples]
    made = False
    if quiet:
        ref = await get_ref(tenant_ids[quiet[-1].number])
        await DB.pool.execute("UPDATE core.tenant SET last_business_on = $2 WHERE id = $1", ref.id,
                              rules.add_years(now, -QUIET_YEARS))
        made = await retention.make_dormant(ref, now)
    run_id = await disposition.build(now, built_by="system")
    return {"dormant": len(dormant) + int(made), "disposition_run": run_id}
