"""Appending to the event log: the one write path for API, importers and the demo.

This is the hottest path in cxm, so each backend gets the cheapest correct bulk insert:

- SQLite: one ``executemany`` of plain tuples on the driver cursor (statement compiled once
  from the Core construct; timestamps pre-formatted as SQLAlchemy stores them). SQLite sums
  the rows really inserted into ``rowcount``.
- PostgreSQL: ``COPY`` into a temporary table, then ``INSERT … SELECT … ON CONFLICT DO
  NOTHING RETURNING`` the keys inserted, which are credited back to each request.

Duplicates (same source and messageId as a stored event, or repeated in the same write) are
skipped, so a retried batch is never stored twice.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import BigInteger, Column, Connection, Dialect, MetaData, Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.schema import CreateTable

from cxm.ingest.tables import events
from cxm.store.bulk import sqlite_time
from cxm.store.engine import lock_event_log

COLUMNS = (
    "source_id",
    "message_id",
    "type",
    "event",
    "user_id",
    "anonymous_id",
    "channel",
    "timestamp",
    "received_at",
    "payload",
)
_KEY = ["source_id", "message_id"]

# The staging table COPY fills; it lives per connection and empties at commit.
_incoming = Table(
    "cxm_events_incoming",
    MetaData(),
    Column("ord", BigInteger),  # the arrival order, which sequence numbers must keep
    *(Column(name, events.c[name].type) for name in COLUMNS),
    prefixes=["TEMPORARY"],
    postgresql_on_commit="DELETE ROWS",
)


def append_events(conn: Connection, groups: list[list[dict[str, Any]]]) -> list[int]:
    """Append rows to the log inside the caller's transaction; return rows inserted per group.

    Each group is typically one request's events.
    """
    if conn.dialect.name == "postgresql":
        return _append_postgresql(conn, groups)
    lock_event_log(conn)
    return _append_sqlite(conn, groups)


@cache
def _sqlite_insert_sql(dialect: Dialect) -> str:
    stmt = sqlite.insert(events).on_conflict_do_nothing(index_elements=_KEY)
    return str(stmt.compile(dialect=dialect, column_keys=list(COLUMNS)))


def _append_sqlite(conn: Connection, groups: list[list[dict[str, Any]]]) -> list[int]:
    sql = _sqlite_insert_sql(conn.dialect)
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    inserted = []
    try:
        for rows in groups:
            if not rows:
                inserted.append(0)
                continue
            cursor.executemany(
                sql,
                [
                    (
                        r["source_id"],
                        r["message_id"],
                        r["type"],
                        r["event"],
                        r["user_id"],
                        r["anonymous_id"],
                        r["channel"],
                        sqlite_time(r["timestamp"]),
                        sqlite_time(r["received_at"]),
                        r["payload"],
                    )
                    for r in rows
                ],
            )
            inserted.append(max(cursor.rowcount, 0))
    finally:
        cursor.close()
    return inserted


@cache
def _postgresql_statements(dialect: Dialect) -> tuple[str, str, str]:
    create = str(CreateTable(_incoming, if_not_exists=True).compile(dialect=dialect))
    copy = f"COPY {_incoming.name} (ord, {', '.join(COLUMNS)}) FROM STDIN"
    ordered = select(*(_incoming.c[name] for name in COLUMNS)).order_by(_incoming.c.ord)
    move = (
        postgresql.insert(events)
        .from_select(list(COLUMNS), ordered)
        .on_conflict_do_nothing(index_elements=_KEY)
        .returning(events.c.source_id, events.c.message_id)
    )
    return create, copy, str(move.compile(dialect=dialect))


def _append_postgresql(conn: Connection, groups: list[list[dict[str, Any]]]) -> list[int]:
    create, copy, move = _postgresql_statements(conn.dialect)
    driver = conn.connection.dbapi_connection
    with driver.cursor() as cursor:  # type: ignore[union-attr]
        cursor.execute(create)
        with cursor.copy(copy) as loader:
            order = 0
            for rows in groups:
                for r in rows:
                    order += 1
                    loader.write_row((order, *(r[name] for name in COLUMNS)))
        # Staging needs no lock, so concurrent writers overlap their COPY with each other's
        # commit; only the move into the log is serialised (keeping seq in commit order).
        lock_event_log(conn)
        cursor.execute(move)
        stored = {(source_id, message_id) for source_id, message_id in cursor.fetchall()}
    # Credit each inserted key to the first request that carried it.
    inserted = []
    for rows in groups:
        count = 0
        for r in rows:
            key = (r["source_id"], r["message_id"])
            if key in stored:
                stored.discard(key)
                count += 1
        inserted.append(count)
    return inserted
