"""The tenant file's reads the query builder cannot say; each says why."""

from __future__ import annotations

from portal.core import rows
from portal.core.db import execute, fetchrow
from tenants.file.tables import ChangeLog, ChangeRequest, Contact, Profile
from tenants.registry.queries import LEASED_UNITS_JSON


# The file as its pages show it (profile, contacts, one page of the change log
# and its total, the latest requests, the leased units) in one statement of JSON
# aggregates, which the builder cannot say: one round trip instead of five on the
# busiest page. json, not jsonb: no detour through the binary form.
_FILE = """
SELECT (SELECT row_to_json(p) FROM profile p WHERE p.id = 1) AS profile,
  (SELECT json_agg(c ORDER BY c.active DESC, c.is_primary DESC, c.id) FROM contact c) AS contacts,
  (SELECT json_agg(l ORDER BY l.at DESC, l.id DESC)
     FROM (SELECT * FROM change_log ORDER BY at DESC, id DESC LIMIT $1 OFFSET $2) l) AS changes,
  (SELECT count(*) FROM change_log) AS changes_total,
  (SELECT json_agg(r ORDER BY r.submitted_at DESC, r.id DESC)
     FROM (SELECT * FROM change_request ORDER BY submitted_at DESC, id DESC LIMIT $3) r) AS requests,
  """ + LEASED_UNITS_JSON.format(tenant="$4") + """ AS units
"""


async def file_page(tenant_id: int, page: int, per_page: int, requests: int) -> dict:
    """Profile, contacts, the change log's page ``page`` and total, the latest
    ``requests`` change requests of the tenant on the path, and its leased units."""
    row = await fetchrow(_FILE, per_page, (max(page, 1) - 1) * per_page, requests, tenant_id)
    return {
        "profile": rows.typed(Profile, rows.loads(row["profile"])),
        "contacts": rows.typed_rows(Contact, rows.loads(row["contacts"]) or []),
        "changes": rows.typed_rows(ChangeLog, rows.loads(row["changes"]) or []),
        "changes_total": row["changes_total"],
        "requests": rows.typed_rows(ChangeRequest, rows.loads(row["requests"]) or []),
        "units": rows.loads(row["units"]) or [],
    }


async def insert_change(actor_kind: str, actor_name: str, approved_by: str, entity: str, entity_id: int | None,
                        field: str, old_value: str | None, new_value: str | None, request_id: int | None) -> None:
    """One change-log row: a fixed text, because every ledger change and every
    billed tenant writes one (the builder's insert cost ~0.15 ms of CPU each)."""
    await execute(
        "INSERT INTO change_log (actor_kind, actor_name, approved_by, entity, entity_id, field, old_value,"
        " new_value, request_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        actor_kind, actor_name, approved_by, entity, entity_id, field, old_value, new_value, request_id)
