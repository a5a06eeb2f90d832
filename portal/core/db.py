"""The one database engine, configured from ``Settings`` at start-up.

Piccolo tables name their engine when the class is defined, but our settings
arrive later (``create_app(settings)``), so tables point at ``DB`` and
``open_pool`` fills in its connection settings.
"""

from __future__ import annotations

import contextvars
import re
from urllib.parse import urlparse

from piccolo.engine.postgres import PostgresEngine, PostgresTransaction
from piccolo.querystring import QueryString

from portal.core.settings import Settings

# Outside tenant_tx a connection sees only pg_catalog: an unqualified tenant
# table name raises instead of silently reaching some schema (fail closed).
DEFAULT_SEARCH_PATH = "pg_catalog"


class PortalEngine(PostgresEngine):
    """PostgresEngine without the synchronous version probe in ``__init__``."""

    def __init__(self) -> None:  # noqa: D401 - deliberately not calling super()
        self.config: dict = {}
        self.extensions = ()
        self.log_queries = False
        self.log_responses = False
        self.extra_nodes: dict = {}
        self.pool = None
        self.current_transaction = contextvars.ContextVar("portal_current_transaction", default=None)
        self.engine_type = "postgres"
        self.min_version_number = 10
        self.query_id = 0


DB = PortalEngine()


class OpeningTransaction(PostgresTransaction):
    """A Piccolo transaction (builder queries inside it use its connection)
    whose BEGIN carries a first statement in the same simple-protocol message:
    one round trip instead of two for every tenant transaction. ``opening`` must
    be a fixed, checked text (no parameters can ride a simple query)."""

    __slots__ = ("opening",)

    def __init__(self, engine: PostgresEngine, opening: str) -> None:
        super().__init__(engine, allow_nested=False)
        self.opening = opening

    async def begin(self) -> None:
        try:
            await self.connection.execute(f"BEGIN; {self.opening}")
        except BaseException:
            # __aexit__ will not run: hand the connection back (the pool rolls back
            # whatever was opened).
            await self.engine.pool.release(self.connection)
            raise

    async def commit(self) -> None:
        await self.connection.execute("COMMIT")
        self._committed = True

    async def rollback(self) -> None:
        await self.connection.execute("ROLLBACK")
        self._rolled_back = True


def db_now() -> QueryString:
    """The database's ``now()`` (the transaction's time, the clock of the column
    defaults) as a value for a Piccolo insert or update."""
    return QueryString("now()")


def connect_kwargs(settings: Settings) -> dict:
    return {
        "dsn": settings.database_url,
        # No client-side statement cache: the same query text runs against many
        # schemas, and a schema left at an older shape (mid-rollout, or a failed
        # migration) would otherwise break cached statements for everyone
        # ("cached plan must not change result type").
        "statement_cache_size": 0,
        # PgBouncer ignores this startup parameter (``ignore_startup_parameters``);
        # the database default set by ``portal migrate`` (``set_fail_closed_default``)
        # then gives every server connection the same fail-closed path.
        "server_settings": {"search_path": DEFAULT_SEARCH_PATH, "application_name": "tenant-archive"},
    }


async def reset_connection(conn) -> None:
    """What the pool runs when a connection is given back, after asyncpg has
    rolled back any open transaction: nothing on the server.

    asyncpg's default (``pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *;
    RESET ALL``) is unsafe behind PgBouncer in transaction mode: it runs on
    whatever server connection PgBouncer picks and releases the session
    advisory locks of another client sharing it. The application keeps no
    session state to reset: the tenant path is ``SET LOCAL`` (ends with the
    transaction), there is no statement cache, LISTEN, cursor outside a
    transaction or session ``SET``; the only session advisory lock
    (``portal demo``) is held on a connection of its own. It also saves a round
    trip per release.
    """


async def set_fail_closed_default(conn) -> None:
    """Make ``pg_catalog`` the database's default search_path (once).

    Connections ask for it as a startup parameter, but a transaction pooler
    (PgBouncer) drops that parameter; the database default holds for every
    server connection, however it was opened."""
    current = await conn.fetchval(
        "SELECT s.setconfig FROM pg_catalog.pg_db_role_setting s JOIN pg_catalog.pg_database d ON d.oid = s.setdatabase"
        " WHERE d.datname = pg_catalog.current_database() AND s.setrole = 0"
    )
    if f"search_path={DEFAULT_SEARCH_PATH}" not in (current or []):
        await conn.execute(
            "DO $$ BEGIN EXECUTE pg_catalog.format('ALTER DATABASE %I SET search_path = "
            + DEFAULT_SEARCH_PATH + "', pg_catalog.current_database()); END $$"
        )


_users = 0  # open_pool/close_pool pairs sharing the one pool (app + tests + CLI)


async def open_pool(settings: Settings, max_size: int | None = None) -> PortalEngine:
    """Open the connection pool, or share the open one. Connections are
    recycled so no backend keeps the catalog caches of thousands of tenant
    schemas for long."""
    global _users
    _users += 1
    if DB.pool is not None:
        return DB
    DB.config = connect_kwargs(settings)
    await DB.start_connection_pool(**pool_options(max_size or settings.db_pool_size))
    return DB


def pool_options(max_size: int) -> dict:
    return {
        "min_size": 1,
        "max_size": max_size,
        "max_queries": 5000,
        "max_inactive_connection_lifetime": 60.0,
        "reset": reset_connection,
    }


async def close_pool() -> None:
    global _users
    _users = max(0, _users - 1)
    if _users == 0 and DB.pool is not None:
        await DB.close_connection_pool()


def database_name(url: str) -> str:
    return urlparse(url).path.lstrip("/") or "postgres"


def admin_url(url: str, database: str = "postgres") -> str:
    parsed = urlparse(url)
    return parsed._replace(path="/" + database).geturl()


async def ensure_database(settings: Settings) -> bool:
    """Create the configured database if it does not exist. Returns True if created."""
    import asyncpg

    name = database_name(settings.database_url)
    if not re.fullmatch(r"[A-Za-z0-9_]{1,63}", name):
        raise ValueError(f"unsupported database name {name!r}")
    # Try the database itself first: behind PgBouncer (or with a role that may
    # not reach it) the ``postgres`` maintenance database is often unreachable.
    try:
        conn = await asyncpg.connect(settings.database_url)
    except asyncpg.InvalidCatalogNameError:
        pass
    else:
        await conn.close()
        return False
    conn = await asyncpg.connect(admin_url(settings.database_url))
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            await conn.execute(f'CREATE DATABASE "{name}"')
            return True
        return False
    finally:
        await conn.close()


def _runner():
    """The open transaction's connection when there is one (so a fixed SQL text
    sees that transaction's writes and takes part in it), else the pool."""
    tx = DB.current_transaction.get()
    return tx.connection if tx is not None else DB.pool


async def fetchrow(sql: str, *args):
    """One row of a fixed SQL text (see ``_runner``)."""
    return await _runner().fetchrow(sql, *args)


async def fetch(sql: str, *args) -> list:
    """The rows of a fixed SQL text (see ``_runner``)."""
    return await _runner().fetch(sql, *args)


async def fetchval(sql: str, *args):
    """One value of a fixed SQL text (see ``_runner``)."""
    return await _runner().fetchval(sql, *args)


async def execute(sql: str, *args) -> str:
    """Run a fixed SQL text that returns no rows (see ``_runner``)."""
    return await _runner().execute(sql, *args)
