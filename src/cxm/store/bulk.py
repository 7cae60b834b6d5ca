"""Bulk inserts for derived tables, at driver speed.

SQLAlchemy's per-row parameter processing costs more than SQLite's insert itself when the
projector writes hundreds of thousands of rows, so on SQLite rows go to the driver's
``executemany`` as plain tuples (the statement compiled once from the Core construct, UTC
timestamps formatted as SQLAlchemy stores them). PostgreSQL keeps SQLAlchemy's batched
multi-row inserts.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from functools import cache
from typing import Any

from sqlalchemy import Connection, Dialect, Table, insert

from cxm.store.metadata import UTCDateTime

# SQLAlchemy's storage format for DateTime on SQLite (naive UTC, always with microseconds).
SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"


def sqlite_time(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).strftime(SQLITE_TIME)


@cache
def _compiled(
    table: Table, columns: tuple[str, ...], dialect: Dialect
) -> tuple[str, tuple[bool, ...]]:
    sql = str(insert(table).compile(dialect=dialect, column_keys=list(columns)))
    is_time = tuple(isinstance(table.c[name].type, UTCDateTime) for name in columns)
    return sql, is_time


def insert_rows(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` (dicts with the same keys) into ``table`` in the caller's transaction."""
    if not rows:
        return
    if conn.dialect.name != "sqlite":
        conn.execute(insert(table), list(rows))
        return
    columns = tuple(rows[0])
    sql, is_time = _compiled(table, columns, conn.dialect)
    params = [
        tuple(
            sqlite_time(row[name]) if time else row[name]
            for name, time in zip(columns, is_time, strict=True)
        )
        for row in rows
    ]
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.executemany(sql, params)
    finally:
        cursor.close()
