"""``portal bench purge --objects N --json``: the purge of one tenant with N object
versions (half the keys written twice) and its tables, then its verification.
Prints purge_s, verify_s and objects_left (must be 0). Not a test."""

from __future__ import annotations

import asyncio
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _put_versions(settings, tenant_id: int, n: int) -> None:
    from documents.storage import get_storage

    storage = get_storage(settings)
    keys = [f"tenants/{tenant_id:06d}/{uuid.uuid4().hex}" for _ in range((n + 1) // 2)]
    writes = (keys + keys)[:n]  # the second write of a key is a second version
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda key: storage.put_object_bytes(key, b"x" * 256), writes))


async def _run(settings, objects: int, progress) -> dict:
    from documents import keys
    from portal.core import db
    from portal.core.roles import Principal, Role
    from tenants.destruction import purge, service
    from tests import factories

    def person(staff: dict, role: str) -> Principal:
        return Principal(kind="staff", user_id=staff["id"], name=staff["username"], roles=frozenset({Role(role)}))

    await db.open_pool(settings)
    try:
        say = progress or (lambda _m: None)
        bld = await factories.building()
        tenant_id = await factories.tenant(bld)
        await keys.data_key(tenant_id, settings.master_key)
        say(f"writing {objects} object versions…")
        await asyncio.to_thread(_put_versions, settings, tenant_id, objects)
        archivist, archivist2 = await factories.staff(["archivist"]), await factories.staff(["archivist"])
        gm, supervisor = await factories.staff(["general_manager"]), await factories.staff(["supervisor"])
        request_id = await service.create_request(tenant_id, {"scope": "file", "reason": "bench", "signer_1": "a",
                                                              "signer_2": "b"}, person(archivist, "archivist"))
        for staff, role in ((archivist2, "archivist"), (gm, "general_manager"), (supervisor, "supervisor")):
            await service.decide(request_id, {"decision": "approve"}, person(staff, role), cooling_days=0)
        await service.start_due(send=False)
        say("purging…")
        started = time.perf_counter()
        job = await purge.run(request_id, settings)
        purge_s = time.perf_counter() - started
        started = time.perf_counter()
        left = await purge.what_is_left(tenant_id)
        verify_s = time.perf_counter() - started
        say("disposition scan over 5000 tenants…")
        from tests.benchmarks.bench_retention import disposition_scan

        scan = await disposition_scan(5000)
        return {"objects": objects, "purge_s": round(purge_s, 3), "verify_s": round(verify_s, 3),
                "objects_left": left.get("s3", {}).get("versions", 0) + left.get("s3", {}).get("delete_markers", 0),
                "status": job["status"], **scan}
    finally:
        await db.close_pool()


def main(settings, *, objects: int = 10000, progress=None) -> dict:
    """Runs against a scratch database ``<name>_bench_purge`` (created and migrated)."""
    from documents.storage import get_storage
    from portal.cli import prepare_database
    from portal.core.s3 import ensure_bucket

    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    name = settings.database_url.rsplit("/", 1)[-1]
    settings = settings.with_(database_url=settings.database_url.rsplit("/", 1)[0] + f"/{name}_bench_purge",
                              s3_bucket=settings.s3_bucket + "-bench")
    ensure_bucket(settings)
    get_storage(settings)
    asyncio.run(prepare_database(settings, echo=progress or (lambda _m: None)))
    return asyncio.run(_run(settings, objects, progress))
