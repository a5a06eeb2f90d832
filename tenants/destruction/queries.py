"""SQL of the destruction domain that the query builder cannot say."""

from __future__ import annotations

import hashlib


def _lock_key(tenant_id: int) -> int:
    return int.from_bytes(hashlib.sha256(b"legal-hold:%d" % tenant_id).digest()[:8], "big", signed=True)


async def lock_holds(conn, tenant_id: int) -> None:
    # An advisory transaction lock: placing a hold and the purge's re-check of holds serialize per tenant
    # (a row lock cannot lock a hold row that does not exist yet).
    await conn.execute("SELECT pg_advisory_xact_lock($1)", _lock_key(tenant_id))


async def schema_exists(conn, schema: str) -> bool:
    # The catalog, not a Piccolo table.
    return bool(await conn.fetchval("SELECT 1 FROM pg_namespace WHERE nspname = $1", schema))


async def drop_schema(conn, schema: str) -> None:
    # DDL; the name is checked against ^t_[0-9]{6}$ by the caller (tenants.scope.check_schema).
    await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


async def core_rows_naming(conn, tenant_id: int, kept: set[str]) -> dict[str, int]:
    # Every core table with a tenant_id column, found in the catalog (the verification must not trust the hooks).
    tables = await conn.fetch("SELECT table_name FROM information_schema.columns"
                              " WHERE table_schema = 'core' AND column_name = 'tenant_id'")
    left = {}
    for row in tables:
        name = row["table_name"]
        if name in kept:
            continue
        count = await conn.fetchval(f'SELECT count(*) FROM core."{name}" WHERE tenant_id = $1', tenant_id)
        if count:
            left[name] = count
    return left


async def audit_rows(conn, tenant_id: int) -> list:
    # jsonb detail of the tenant's audit entries, to pseudonymise (read and updated in one transaction).
    return await conn.fetch("SELECT id, detail FROM core.audit_log WHERE tenant_id = $1 AND NOT detail ? 'pseudonymised'"
                            " ORDER BY id", tenant_id)


async def pseudonymise_audit(conn, tenant_id: int, rows: list[tuple[int, str]]) -> None:
    # The trigger allows this UPDATE only with this transaction-local setting, and only of `detail`.
    await conn.execute("SELECT set_config('portal.pseudonymise_tenant', $1, true)", str(tenant_id))
    await conn.executemany("UPDATE core.audit_log SET detail = $2::jsonb WHERE id = $1 AND tenant_id = $3",
                           [(i, d, tenant_id) for i, d in rows])
    await conn.execute("SELECT set_config('portal.pseudonymise_tenant', '', true)")


async def mark_done(conn, job_id: int, step: str) -> None:
    # array_append guarded by ANY: marking a step twice (a redelivered step) leaves one marker.
    await conn.execute("UPDATE core.purge_job SET done_steps = array_append(done_steps, $2), heartbeat_at = now()"
                       " WHERE id = $1 AND NOT ($2 = ANY(done_steps))", job_id, step)


async def begin_step(conn, job_id: int, step: str) -> None:
    # jsonb counter increment (runs per step: a finished step is never run again, the tests read this).
    await conn.execute("UPDATE core.purge_job SET step = $2, heartbeat_at = now(),"
                       " runs = jsonb_set(runs, ARRAY[$2], to_jsonb(coalesce((runs->>$2)::int, 0) + 1)) WHERE id = $1",
                       job_id, step)


async def next_certificate_no(conn) -> str:
    # A sequence: certificate numbers are never reused, even after a rolled-back purge step.
    n = await conn.fetchval("SELECT nextval('core.destruction_certificate_seq')")
    year = await conn.fetchval("SELECT extract(year FROM now() AT TIME ZONE 'Asia/Shanghai')::int")
    return f"XH-{year}-{n:05d}"


async def disable_portal_users(conn, tenant_id: int) -> None:
    # core.portal_user belongs to portal.accounts, which a domain may not import: its users are
    # disabled and their sessions ended (a new epoch) by this one statement.
    await conn.execute("UPDATE core.portal_user SET active = false, session_epoch = session_epoch + 1"
                       " WHERE tenant_id = $1", tenant_id)


async def try_job_lock(conn, job_id: int) -> bool:
    # A session-level advisory lock on a connection held for the whole run: two deliveries of one purge
    # (a redelivery while the first still runs) never run steps at once; a dead worker's lock goes with its session.
    return bool(await conn.fetchval("SELECT pg_try_advisory_lock($1, $2)", 0x50524745, job_id))


async def job_unlock(conn, job_id: int) -> None:
    await conn.execute("SELECT pg_advisory_unlock($1, $2)", 0x50524745, job_id)
