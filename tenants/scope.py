"""The one way into a tenant's schema.

``async with tenant_tx(schema):`` opens a transaction and sets the search_path
for that transaction only (``set_config(..., true)`` = ``SET LOCAL``), so a
pooled connection never carries one tenant's path into another request.
"""

from __future__ import annotations

import re
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import AsyncIterator

from piccolo.engine.postgres import PostgresTransaction

from portal.core import jobs
from portal.core.db import DB, OpeningTransaction

SCHEMA_PATTERN = re.compile(r"^t_[0-9]{6}$")
# Piccolo's transaction objects use __slots__, so the scoped schema is kept
# beside the transaction it belongs to rather than as an attribute on it.
_scoped: ContextVar[tuple[PostgresTransaction, str] | None] = ContextVar("tenant_scope", default=None)


class TenantScopeError(RuntimeError):
    """A schema name failed the pattern check, or scopes were nested."""


def schema_for(tenant_id: int) -> str:
    """Schema names are generated from the registry id, never from user input."""
    if not isinstance(tenant_id, int) or isinstance(tenant_id, bool) or not 0 < tenant_id < 1_000_000:
        raise TenantScopeError(f"invalid tenant id {tenant_id!r}")
    return f"t_{tenant_id:06d}"


def check_schema(schema: str) -> str:
    if not isinstance(schema, str) or not SCHEMA_PATTERN.fullmatch(schema):
        raise TenantScopeError(f"refusing schema name {schema!r}")
    return schema


@asynccontextmanager
async def tenant_tx(schema: str) -> AsyncIterator[PostgresTransaction]:
    """Run the block in one transaction scoped to ``schema``.

    Nesting is refused: a second tenant inside the first would silently share
    the outer transaction's search_path. Tasks given to ``on_commit`` in the
    block are sent after the commit, and not at all on a rollback.
    """
    check_schema(schema)
    if DB.current_transaction.get() is not None:
        raise TenantScopeError("tenant_tx cannot be nested inside another transaction")
    with jobs.collecting() as pending:
        async with OpeningTransaction(DB, _scope_statement(schema)) as tx:
            yield tx
    # Reached only once the transaction has committed.
    await jobs.send(pending)


def _scope_statement(schema: str) -> str:
    # The name has passed the strict pattern check, so it may be spelled in the
    # text: a query without parameters rides a simple-protocol message (with the
    # BEGIN, in tenant_tx), where a bound parameter costs a parse/describe round trip.
    return f"SELECT pg_catalog.set_config('search_path', '{check_schema(schema)}', true)"


async def enter_schema(tx: PostgresTransaction, schema: str) -> None:
    """Scope an open transaction to ``schema`` until it ends (SET LOCAL)."""
    await tx.connection.execute(_scope_statement(schema))
