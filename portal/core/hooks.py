"""Domain hooks: what each domain contributes to a tenant's file as a whole.

Every domain says, in its own ``hooks.py``, how to

- **check its summary** in ``core`` against the tenant schema (``drift``; the
  reconcile command and its nightly task call every domain's),
- **list what it holds** for a tenant (``inventory``: rows per table, objects and
  bytes in S3; the destruction certificate is made of these), and
- **delete its rows in core** that name the tenant (``purge_core``; the purge of
  a whole file calls every domain's, after the schema itself is dropped).

The kernel names no domain: callers pass the packages to search, and
``load`` imports each ``<package>/**/hooks.py`` once (modelled on pretix's
per-domain data shredders).
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

# drift(conn, tenant_id, fix) -> {field: {"core": ..., "schema": ...}}; conn is
# inside the tenant's transaction (tenant_tx).
Drift = Callable[[Any, int, bool], Awaitable[dict[str, Any]]]
# inventory(conn, tenant_id) -> Inventory; conn is inside tenant_tx.
InventoryHook = Callable[[Any, int], Awaitable["Inventory"]]
# purge_core(conn, tenant_id) -> rows deleted; conn is in a core transaction.
PurgeCore = Callable[[Any, int], Awaitable[int]]


@dataclass
class Inventory:
    """What one domain holds for one tenant."""

    rows: dict[str, int] = field(default_factory=dict)  # table -> row count
    objects: int = 0  # S3 object versions
    bytes: int = 0
    items: list[dict[str, Any]] = field(default_factory=list)  # e.g. documents: title, date, sha256

    def merge(self, other: "Inventory") -> "Inventory":
        return Inventory(rows={**self.rows, **other.rows}, objects=self.objects + other.objects,
                         bytes=self.bytes + other.bytes, items=self.items + other.items)


@dataclass(frozen=True)
class DomainHooks:
    domain: str
    drift: Drift | None = None
    inventory: InventoryHook | None = None
    purge_core: PurgeCore | None = None


# Where the domains live (the product card's layout); searched for hooks.py.
DOMAIN_PACKAGES = ("tenants", "documents", "portal.accounts")

_registered: dict[str, DomainHooks] = {}
_loaded: set[str] = set()


def register(hooks: DomainHooks) -> DomainHooks:
    if hooks.domain in _registered and _registered[hooks.domain] is not hooks:
        raise ValueError(f"domain hooks registered twice: {hooks.domain}")
    _registered[hooks.domain] = hooks
    return hooks


def load(packages: tuple[str, ...] = DOMAIN_PACKAGES) -> list[DomainHooks]:
    """Import every ``hooks`` module below ``packages`` (once) and return all
    registered hooks, in domain-name order."""
    for package in packages:
        if package in _loaded:
            continue
        root = importlib.import_module(package)
        for info in pkgutil.walk_packages(root.__path__, prefix=package + "."):
            if info.name.rsplit(".", 1)[-1] == "hooks":
                importlib.import_module(info.name)
        _loaded.add(package)
    return [_registered[name] for name in sorted(_registered)]


async def count_rows(*tables) -> dict[str, int]:
    """Rows per Piccolo table, in the caller's transaction (tenant tables need
    ``tenant_tx``)."""
    return {table._meta.tablename: await table.count().run() for table in tables}


async def delete_for_tenant(tenant_id: int, *tables) -> int:
    """Delete the rows of core tables that name ``tenant_id``; returns how many."""
    deleted = 0
    for table in tables:
        gone = await table.delete().where(table.tenant_id == tenant_id).returning(table.tenant_id).run()
        deleted += len(gone)
    return deleted
