"""Reads of the event log for people checking an integration: source activity, newest events.

These back the Sources page and ``GET /api/events``: an engineer points an SDK at cxm and
watches what arrives, which source it came through, and whether the projector has placed it
on a customer yet. They read the operational store, so they stay small: one grouped query for
the activity, and a bounded newest-first page of the log (served by the primary key).

Example::

    with ws.session() as session:
        head = log_head(session)
        newest = recent_events(session, limit=10, source="website")
        later = recent_events(session, source="website", after_seq=head)  # what came since
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cxm.errors import InvalidInput, NotFound
from cxm.ingest.sources import list_sources
from cxm.ingest.tables import events, sources
from cxm.profiles.tables import profile_events

MAX_RECENT_EVENTS = 500
# Unknown-source messages name the sources there are, up to this many.
_NAMES_IN_MESSAGE = 20


@dataclass(frozen=True)
class SourceActivity:
    """A source with how much it has sent: events stored and when the newest was received."""

    id: int
    name: str
    channel: str
    label: str | None
    write_key_prefix: str
    created_at: datetime
    disabled: bool
    events: int
    last_received_at: datetime | None


@dataclass(frozen=True)
class RecentEvent:
    """One stored event as the debugger shows it.

    ``profile_id`` is the customer the projector placed the event on, or None while it has not
    got to it yet (identity resolution runs in the background, shortly after ingestion).
    """

    seq: int
    source: str
    channel: str
    type: str
    event: str | None
    user_id: str | None
    anonymous_id: str | None
    timestamp: datetime
    received_at: datetime
    payload: dict[str, Any]
    profile_id: str | None


def source_activity(session: Session) -> list[SourceActivity]:
    """Every source (in creation order) with its event count and newest received time."""
    stats = {
        source_id: (int(count), last)
        for source_id, count, last in session.execute(
            select(events.c.source_id, func.count(), func.max(events.c.received_at)).group_by(
                events.c.source_id
            )
        )
    }
    activity = []
    for source in list_sources(session):
        count, last = stats.get(source.id, (0, None))
        activity.append(SourceActivity(**asdict(source), events=count, last_received_at=last))
    return activity


def recent_events(
    session: Session,
    *,
    limit: int = 50,
    source: str | None = None,
    after_seq: int | None = None,
) -> list[RecentEvent]:
    """The newest ``limit`` events, newest first, optionally of one source (by name).

    With ``after_seq`` only events stored after that sequence number are returned, which is
    how a live view polls. Sequence numbers follow commit order, so nothing can appear later
    below a seq already seen. When more than ``limit`` events are newer, the newest ``limit``
    are returned: a live view wants what is arriving now, not a backlog.
    """
    if not 1 <= limit <= MAX_RECENT_EVENTS:
        raise InvalidInput(f"limit must be between 1 and {MAX_RECENT_EVENTS}, not {limit}")
    stmt = (
        select(
            events.c.seq,
            sources.c.name.label("source"),
            events.c.channel,
            events.c.type,
            events.c.event,
            events.c.user_id,
            events.c.anonymous_id,
            events.c.timestamp,
            events.c.received_at,
            events.c.payload,
            profile_events.c.profile_id,
        )
        .join(sources, sources.c.id == events.c.source_id)
        .outerjoin(profile_events, profile_events.c.seq == events.c.seq)
    )
    if source is not None:
        stmt = stmt.where(events.c.source_id == _source_id(session, source))
    if after_seq is not None:
        stmt = stmt.where(events.c.seq > after_seq)
    rows = session.execute(stmt.order_by(events.c.seq.desc()).limit(limit))
    return [_recent_event(row._mapping) for row in rows]


def log_head(session: Session) -> int:
    """The newest sequence number in the log (0 while it is empty).

    Read it *before* :func:`recent_events`: every event at or below it is already visible, so a
    poller can continue from it even when its filter matched nothing, without rescanning.
    """
    return int(session.execute(select(func.max(events.c.seq))).scalar() or 0)


def event_profiles(session: Session, seqs: Collection[int]) -> dict[int, str]:
    """The profile each of ``seqs`` is placed on; events not placed yet are left out.

    A live view asks this for the events it shows as waiting for identity resolution.
    """
    if not seqs:
        return {}
    rows = session.execute(
        select(profile_events.c.seq, profile_events.c.profile_id).where(
            profile_events.c.seq.in_(sorted(set(seqs)))
        )
    )
    return {int(seq): profile_id for seq, profile_id in rows}


def _source_id(session: Session, name: str) -> int:
    found = session.execute(select(sources.c.id).where(sources.c.name == name)).scalar()
    if found is not None:
        return int(found)
    names = list(
        session.execute(
            select(sources.c.name).order_by(sources.c.name).limit(_NAMES_IN_MESSAGE + 1)
        ).scalars()
    )
    if not names:
        raise NotFound(
            f"no source named {name!r}: there are no sources yet; create one with "
            "`cxm sources create` or POST /api/sources"
        )
    known = ", ".join(names[:_NAMES_IN_MESSAGE]) + (", …" if len(names) > _NAMES_IN_MESSAGE else "")
    raise NotFound(f"no source named {name!r}; the sources are: {known}")


def _recent_event(m: Any) -> RecentEvent:
    payload = orjson.loads(m["payload"])
    return RecentEvent(
        seq=int(m["seq"]),
        source=m["source"],
        channel=m["channel"],
        type=m["type"],
        event=m["event"],
        user_id=m["user_id"],
        anonymous_id=m["anonymous_id"],
        timestamp=m["timestamp"],
        received_at=m["received_at"],
        payload=payload if isinstance(payload, dict) else {"payload": payload},
        profile_id=m["profile_id"],
    )


def event_properties(payload: str | bytes) -> dict[str, Any]:
    """The ``properties`` of a stored event's payload (an empty dict when it has none).

    >>> event_properties('{"type": "track", "properties": {"plan": "fibre"}}')
    {'plan': 'fibre'}
    """
    try:
        data = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return {}
    props = data.get("properties") if isinstance(data, dict) else None
    return props if isinstance(props, dict) else {}
