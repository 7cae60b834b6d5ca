"""Appending to the event log: the one write path for API, importers and the demo."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Insert
from sqlalchemy.dialects import postgresql, sqlite

from cxm.ingest.tables import events
from cxm.store.engine import lock_event_log


def _insert_ignoring_duplicates(dialect_name: str) -> Insert:
    # A retried batch carries the same messageIds: those rows are skipped, not duplicated.
    if dialect_name == "postgresql":
        return postgresql.insert(events).on_conflict_do_nothing(
            index_elements=["source_id", "message_id"]
        )
    return sqlite.insert(events).on_conflict_do_nothing(index_elements=["source_id", "message_id"])


def append_events(conn: Connection, groups: list[list[dict[str, Any]]]) -> list[int]:
    """Append rows to the log inside the caller's transaction; return rows inserted per group.

    Each group is typically one request's events; duplicates (same source and messageId as a
    stored event) are skipped and not counted.
    """
    lock_event_log(conn)
    stmt = _insert_ignoring_duplicates(conn.dialect.name).returning(events.c.seq)
    inserted: list[int] = []
    for rows in groups:
        if not rows:
            inserted.append(0)
            continue
        # RETURNING counts what was really inserted: executemany's rowcount is not reliable
        # across drivers (psycopg batches the rows into multi-VALUES statements).
        result = conn.execute(stmt, rows)
        inserted.append(len(result.all()))
    return inserted
