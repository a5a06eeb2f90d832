"""Schema migrations, written as SQL so that one text is both the upgrade path
and the provisioning script (no drift between a new and a migrated tenant).

``migrations/core``: the shared ``core`` schema, applied once per database.
``migrations/tenant``: every tenant schema; applied by ``tenants.migrate``.
Each module defines ``NAME`` and ``SQL`` (and may define ``async def
forwards(conn)`` for data steps). The version is the number in the file name.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Awaitable, Callable

_MODULE = re.compile(r"^m(\d{4})_\w+$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str
    forwards: Callable[[object], Awaitable[None]] | None = None

    async def apply(self, conn) -> None:
        if self.sql.strip():
            await conn.execute(self.sql)
        if self.forwards is not None:
            await self.forwards(conn)


@lru_cache(maxsize=None)
def load(kind: str) -> tuple[Migration, ...]:
    """All migrations of ``kind`` ('core' or 'tenant'), ordered by version."""
    package = importlib.import_module(f"migrations.{kind}")
    found = []
    for info in pkgutil.iter_modules(package.__path__):
        match = _MODULE.match(info.name)
        if not match:
            continue
        module = importlib.import_module(f"migrations.{kind}.{info.name}")
        found.append(
            Migration(
                version=int(match.group(1)),
                name=getattr(module, "NAME", info.name),
                sql=getattr(module, "SQL", ""),
                forwards=getattr(module, "forwards", None),
            )
        )
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    # Unique and increasing; a gap is allowed (a number reserved by work on another branch).
    if len(set(versions)) != len(versions) or (versions and versions[0] < 1):
        raise RuntimeError(f"{kind} migrations must have distinct numbers from 1 up, got {versions}")
    return tuple(found)


def latest(kind: str) -> int:
    migrations = load(kind)
    return migrations[-1].version if migrations else 0
