"""Rows that come back as JSON (``row_to_json`` / ``json_agg``), typed again.

A page that needs several small reads can take them in one statement as JSON
aggregates (one round trip instead of one per read). JSON has no dates or
decimals, so each row is rebuilt from its Piccolo table class: the same keys in
the class's column order and the same Python types as a builder query returns.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

from piccolo.columns import Date, Numeric, Timestamp, Timestamptz
from piccolo.table import Table


def loads(text: str | None) -> Any:
    """JSON from PostgreSQL, numbers with a fraction as Decimal (never float)."""
    return None if text is None else json.loads(text, parse_float=Decimal)


def _converter(column):
    if isinstance(column, (Timestamptz, Timestamp)):
        return dt.datetime.fromisoformat
    if isinstance(column, Date):
        return dt.date.fromisoformat
    if isinstance(column, Numeric):
        return Decimal
    return None


def _plan(table: type[Table]) -> list[tuple[str, Any]]:
    plan = getattr(table, "_json_row_plan", None)
    if plan is None:
        plan = [(c._meta.db_column_name, _converter(c)) for c in table._meta.columns]
        table._json_row_plan = plan
    return plan


def typed(table: type[Table], row: dict[str, Any] | None) -> dict[str, Any] | None:
    """One ``row_to_json`` row of ``table`` as the builder would return it."""
    if row is None:
        return None
    out = {}
    for name, convert in _plan(table):
        value = row.get(name)
        out[name] = convert(value) if convert is not None and value is not None else value
    return out


def typed_rows(table: type[Table], rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [typed(table, row) for row in rows]
