"""The Piccolo table classes and the SQL migrations describe the same tables.

Every ``tables.py`` of the product is imported; each ``Table`` class is
compared with ``information_schema`` of a freshly provisioned tenant schema
(tenant tables) or of ``core`` (core tables): same columns, types,
nullability and server defaults. And every table the migrations create has
exactly one class.
"""

from __future__ import annotations

import datetime
import decimal
import importlib
from pathlib import Path

import pytest
from piccolo.columns import Array, BigSerial, ForeignKey, Serial
from piccolo.columns.defaults.base import Default
from piccolo.table import Table

from portal.core.db import DB
from tests import factories

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("portal", "tenants", "documents")
# Bookkeeping tables of the migration runner (not domain data).
RUNNER_TABLES = {("core", "migration_record"), ("tenant", "_migration")}

PG_TYPES = {
    "VARCHAR": "character varying", "TEXT": "text", "INTEGER": "integer", "SERIAL": "integer",
    "BIGINT": "bigint", "BIGSERIAL": "bigint", "SMALLINT": "smallint", "BOOLEAN": "boolean",
    "TIMESTAMPTZ": "timestamp with time zone", "TIMESTAMP": "timestamp without time zone", "DATE": "date",
    "TIME": "time without time zone", "JSONB": "jsonb", "JSON": "json", "BYTEA": "bytea", "UUID": "uuid",
    "REAL": "real", "DOUBLE PRECISION": "double precision", "INTERVAL": "interval",
}


def table_classes() -> list[type[Table]]:
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("tables.py")):
            importlib.import_module(".".join(path.relative_to(ROOT).with_suffix("").parts))
    found, todo = [], list(Table.__subclasses__())
    while todo:
        cls = todo.pop()
        todo += cls.__subclasses__()
        if cls.__module__.split(".")[0] in PACKAGES:
            found.append(cls)
    return sorted(found, key=lambda c: (c._meta.schema or "", c._meta.tablename))


def _pg_type(column) -> str:
    if isinstance(column, ForeignKey):
        return _pg_type(column._foreign_key_meta.resolved_references._meta.primary_key)
    if isinstance(column, Array):
        return "ARRAY"
    base = column.column_type.split("(")[0].strip()
    return PG_TYPES.get(base, base.lower())


def _server_default(db_default: str | None, data_type: str = "text") -> object:
    """The database default as a Python value, or a marker."""
    if db_default is None:
        return None
    text = db_default.split("::")[0].strip()
    if text.startswith("nextval("):
        return "serial"
    if text in ("now()", "CURRENT_TIMESTAMP"):
        return "now"
    if text == "CURRENT_DATE":
        return "today"
    if text in ("true", "false"):
        return text == "true"
    if data_type == "ARRAY" and text in ("'{}'", "ARRAY[]"):
        return []
    if text.startswith("'") and text.endswith("'"):
        return text[1:-1].replace("''", "'")
    try:
        return decimal.Decimal(text.strip("()"))
    except decimal.InvalidOperation:
        return "expr:" + text


def _piccolo_default(column) -> object:
    if isinstance(column, (Serial, BigSerial)):
        return "serial"
    default = column.default
    if isinstance(default, Default):
        name = type(default).__name__
        if name in ("TimestamptzNow", "TimestampNow"):
            return "now"
        if name == "DateNow":
            return "today"
        return "expr:" + name
    if callable(default):
        default = default()
    if isinstance(default, bool):
        return default
    if isinstance(default, (int, float, decimal.Decimal)):
        return decimal.Decimal(str(default))
    if isinstance(default, (datetime.date, datetime.datetime)):
        return "expr:" + repr(default)
    return default


async def _columns(schema: str, table: str) -> dict[str, dict]:
    rows = await DB.pool.fetch(
        "SELECT column_name, data_type, is_nullable, column_default, character_maximum_length,"
        " numeric_precision, numeric_scale FROM information_schema.columns"
        " WHERE table_schema = $1 AND table_name = $2", schema, table)
    return {r["column_name"]: dict(r) for r in rows}


async def _tables(schema: str) -> set[str]:
    rows = await DB.pool.fetch(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = $1 AND table_type = 'BASE TABLE'",
        schema)
    return {r["table_name"] for r in rows}


def _differences(cls, columns: dict[str, dict]) -> list[str]:
    where = f"{cls._meta.schema or 'tenant'}.{cls._meta.tablename}"
    if not columns:
        return [f"{where}: no such table in the database"]
    problems = []
    declared = {c._meta.db_column_name: c for c in cls._meta.columns}
    for name in sorted(set(columns) - set(declared)):
        problems.append(f"{where}.{name}: in the database, not in {cls.__name__}")
    for name in sorted(set(declared) - set(columns)):
        problems.append(f"{where}.{name}: in {cls.__name__}, not in the database")
    for name in sorted(set(declared) & set(columns)):
        column, db = declared[name], columns[name]
        # Piccolo has no CHAR column: a Varchar of the same length stands for character(n).
        db_type = "character varying" if db["data_type"] == "character" else db["data_type"]
        if _pg_type(column) != db_type:
            problems.append(f"{where}.{name}: type {_pg_type(column)} in the class, {db['data_type']} in the database")
        if db["character_maximum_length"] and getattr(column, "length", None) != db["character_maximum_length"]:
            problems.append(f"{where}.{name}: length {getattr(column, 'length', None)} vs {db['character_maximum_length']}")
        if db["data_type"] == "numeric" and db["numeric_precision"]:
            digits = getattr(column, "digits", None)
            if digits != (db["numeric_precision"], db["numeric_scale"]):
                problems.append(f"{where}.{name}: digits {digits} vs ({db['numeric_precision']}, {db['numeric_scale']})")
        nullable = db["is_nullable"] == "YES"
        if column._meta.null != nullable and not column._meta.primary_key:
            problems.append(f"{where}.{name}: null={column._meta.null} in the class, nullable={nullable} in the database")
        server = _server_default(db["column_default"], db["data_type"])
        if server is not None and _piccolo_default(column) != server:
            problems.append(f"{where}.{name}: default {_piccolo_default(column)!r} in the class, {server!r} in the database")
    return problems


async def test_every_table_class_matches_the_database(database):
    bld = await factories.building()
    tenant_id = await factories.tenant(bld)
    schema = f"t_{tenant_id:06d}"
    problems = []
    for cls in table_classes():
        problems += _differences(cls, await _columns(cls._meta.schema or schema, cls._meta.tablename))
    assert not problems, "\n".join(problems)


async def test_every_table_has_one_class(database):
    bld = await factories.building()
    schema = f"t_{await factories.tenant(bld):06d}"
    classes = table_classes()
    named = [(c._meta.schema or "tenant", c._meta.tablename) for c in classes]
    assert len(named) == len(set(named)), "two classes for one table"
    in_database = {("core", t) for t in await _tables("core")} | {("tenant", t) for t in await _tables(schema)}
    assert in_database - RUNNER_TABLES - set(named) == set()
    assert set(named) - in_database == set()


@pytest.mark.parametrize("db_default, value", [
    ("nextval('x_id_seq'::regclass)", "serial"), ("now()", "now"), ("true", True),
    ("'pending'::text", "pending"), ("0", decimal.Decimal(0)), ("''::text", ""),
])
def test_server_defaults_are_read(db_default, value):
    assert _server_default(db_default) == value


def test_empty_array_and_empty_json_defaults_differ():
    assert _server_default("'{}'::integer[]", "ARRAY") == []
    assert _server_default("'{}'::jsonb", "jsonb") == "{}"
