"""SQL of the export/restore that the query builder cannot say: catalog reads,
COPY, sequences. Every name spelled into a statement is a checked schema name or
a table/column name read from the catalog of our own database."""

from __future__ import annotations

import io

from tenants.scope import check_schema


async def table_columns(conn, schema: str) -> dict[str, list[str]]:
    """Every table of ``schema`` with its columns in order (information_schema: a catalog read)."""
    rows = await conn.fetch(
        "SELECT c.table_name, c.column_name FROM information_schema.columns c JOIN pg_catalog.pg_tables t"
        " ON t.schemaname = c.table_schema AND t.tablename = c.table_name"
        " WHERE c.table_schema = $1 ORDER BY c.table_name, c.ordinal_position", schema)
    found: dict[str, list[str]] = {}
    for row in rows:
        found.setdefault(row["table_name"], []).append(row["column_name"])
    return found


async def core_tables_naming_tenants(conn) -> list[str]:
    """The core tables with a tenant_id column (a catalog read)."""
    rows = await conn.fetch("SELECT table_name FROM information_schema.columns WHERE table_schema = 'core'"
                            " AND column_name = 'tenant_id' ORDER BY table_name")
    return [r["table_name"] for r in rows]


async def foreign_keys(conn, schema: str) -> list[tuple[str, str]]:
    """(referencing table, referenced table) inside ``schema`` (pg_constraint: no builder for it)."""
    rows = await conn.fetch(
        "SELECT cr.relname AS child, pr.relname AS parent FROM pg_catalog.pg_constraint c"
        " JOIN pg_catalog.pg_class cr ON cr.oid = c.conrelid JOIN pg_catalog.pg_class pr ON pr.oid = c.confrelid"
        " JOIN pg_catalog.pg_namespace n ON n.oid = c.connamespace WHERE c.contype = 'f' AND n.nspname = $1",
        check_schema(schema))
    return [(r["child"], r["parent"]) for r in rows]


async def lock_for_export(conn, schema: str, tables: list[str]) -> None:
    """SHARE locks on every table: one consistent copy, writers wait (LOCK TABLE: no builder)."""
    await conn.execute("LOCK TABLE " + ", ".join(f'"{check_schema(schema)}"."{t}"' for t in tables)
                       + " IN SHARE MODE")


async def copy_out(conn, schema: str, table: str) -> bytes:
    """A table in COPY's binary format (COPY: no builder)."""
    buf = io.BytesIO()
    await conn.copy_from_table(table, schema_name=check_schema(schema), output=buf, format="binary")
    return buf.getvalue()


async def copy_out_core_rows(conn, table: str, tenant_id: int) -> bytes:
    """A core table's rows naming the tenant, in COPY's binary format (COPY of a query: no builder)."""
    buf = io.BytesIO()
    await conn.copy_from_query(f'SELECT * FROM core."{table}" WHERE tenant_id = {int(tenant_id)}', output=buf,
                               format="binary")
    return buf.getvalue()


async def copy_in(conn, schema: str, table: str, columns: list[str], data: bytes) -> None:
    """COPY binary rows into a table (COPY: no builder)."""
    await conn.copy_to_table(table, schema_name=check_schema(schema), source=io.BytesIO(data), columns=columns,
                             format="binary")


async def count(conn, schema: str, table: str, tenant_id: int | None = None) -> int:
    """Rows of a table named at run time (the builder needs a Table class)."""
    if tenant_id is None:
        return await conn.fetchval(f'SELECT count(*) FROM "{check_schema(schema)}"."{table}"')
    return await conn.fetchval(f'SELECT count(*) FROM core."{table}" WHERE tenant_id = $1', tenant_id)


async def empty(conn, schema: str, tables: list[str]) -> None:
    """TRUNCATE the freshly provisioned tables before the COPY (TRUNCATE: no builder)."""
    await conn.execute("TRUNCATE " + ", ".join(f'"{check_schema(schema)}"."{t}"' for t in tables))


async def reset_sequences(conn, schema: str) -> None:
    """Serial sequences past the copied ids (setval over the catalog: no builder)."""
    rows = await conn.fetch("SELECT table_name, column_name FROM information_schema.columns"
                            " WHERE table_schema = $1 AND column_default LIKE 'nextval(%'", check_schema(schema))
    for r in rows:
        table, column = r["table_name"], r["column_name"]
        await conn.execute(
            f"SELECT pg_catalog.setval(pg_catalog.pg_get_serial_sequence('\"{schema}\".\"{table}\"', '{column}'),"
            f' coalesce(max("{column}"), 1), max("{column}") IS NOT NULL) FROM "{schema}"."{table}"')


async def new_tenant_ids(conn) -> tuple[int, int]:
    """(tenant id, archive sequence number) from the registry's sequences (nextval: no builder)."""
    return (await conn.fetchval("SELECT nextval('core.tenant_id_seq')"),
            await conn.fetchval("SELECT nextval('core.archive_seq')"))
