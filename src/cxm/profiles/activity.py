"""Interactions per day and channel, counted as the projector places events."""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.dialects import postgresql, sqlite

from cxm.profiles.tables import channel_activity


def add_channel_activity(conn: Connection, placements: list[dict[str, Any]]) -> None:
    """Add a chunk's placed events to the per-day, per-channel counts (UTC days)."""
    counts: Counter[tuple[date, str]] = Counter((p["at"].date(), p["channel"]) for p in placements)
    if not counts:
        return
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(channel_activity)
    stmt = stmt.on_conflict_do_update(
        index_elements=["day", "channel"],
        set_={"events": channel_activity.c.events + stmt.excluded.events},
    )
    conn.execute(
        stmt, [{"day": d, "channel": ch, "events": n} for (d, ch), n in sorted(counts.items())]
    )
