"""Reading segments, and who is in one now.

Membership is computed when asked, from the live profiles and the newest value of each trait
the segment looks at (the same value the profile page shows), so it never goes stale.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cxm.errors import NotFound
from cxm.identity.tables import profiles
from cxm.profiles.tables import trait_observations
from cxm.segments.definitions import segment_from_data
from cxm.segments.models import Segment, SegmentDefinition
from cxm.segments.tables import segments


def get_segment(session: Session, name: str) -> Segment:
    """The segment called ``name``; raises NotFound."""
    row = session.execute(select(segments).where(segments.c.name == name)).first()
    if row is None:
        raise NotFound(f"there is no segment '{name}'; GET /api/segments lists the segments")
    return _segment(row._mapping)


def list_segments(session: Session) -> list[Segment]:
    return [
        _segment(r._mapping) for r in session.execute(select(segments).order_by(segments.c.name))
    ]


def segment_names(session: Session) -> list[str]:
    return list(session.execute(select(segments.c.name).order_by(segments.c.name)).scalars())


def segment_members(session: Session, definition: SegmentDefinition, *, now: datetime) -> list[str]:
    """The live profiles in the segment now, by profile id.

    >>> segment_members(session, get_segment(session, "krakow-fibre").definition,
    ...                 now=utcnow())                                       # doctest: +SKIP
    ['p_…', 'p_…']
    """
    live = select(profiles.c.id, profiles.c.last_seen).where(profiles.c.merged_into.is_(None))
    if definition.active_days is not None:
        live = live.where(profiles.c.last_seen >= now - timedelta(days=definition.active_days))
    candidates = session.execute(live.order_by(profiles.c.id)).all()
    current = _current_traits(session, definition.trait_keys)
    return [
        pid
        for pid, last_seen in candidates
        if definition.includes(current.get(pid, {}), last_seen=last_seen, now=now)
    ]


def _current_traits(session: Session, keys: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """The newest value of each of ``keys`` per profile (by the customer's clock, then seq)."""
    if not keys:
        return {}
    obs = trait_observations.c
    ranked = (
        select(
            obs.profile_id,
            obs.key,
            obs.value,
            func.row_number()
            .over(
                partition_by=(obs.profile_id, obs.key),
                order_by=(obs.observed_at.desc(), obs.seq.desc()),
            )
            .label("rank"),
        )
        .where(obs.key.in_(keys))
        .subquery()
    )
    current: dict[str, dict[str, Any]] = defaultdict(dict)
    for pid, key, value in session.execute(
        select(ranked.c.profile_id, ranked.c.key, ranked.c.value).where(ranked.c.rank == 1)
    ):
        current[pid][key] = orjson.loads(value)
    return current


def _segment(row: Any) -> Segment:
    return Segment(
        # Stored definitions were checked when saved.
        definition=segment_from_data(orjson.loads(row["definition"])),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        actor=row["actor"],
    )
