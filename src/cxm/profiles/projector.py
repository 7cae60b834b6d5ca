"""The profile projector: reads the event log in sequence order and keeps the customer memory.

For each new event it applies the deterministic identity rules (``cxm.identity.rules``): the
identifiers the event carries are joined into one profile; when they belonged to different
profiles, those are merged into the oldest and the merge is recorded with its evidence. The
event is placed on the profile's timeline and the traits it states are kept with provenance.

Everything here is derived from the log: ``rebuild_profiles`` drops it and replays the log.
Work is done in chunks, each one transaction that also advances the cursor, so a crash
mid-way repeats at most one chunk and never applies an event twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from cxm.audit import record_action, record_actions
from cxm.domain_events import dispatch
from cxm.identity.models import ProfilesMerged
from cxm.identity.policy import IdentityPolicy
from cxm.identity.tables import identifiers, identity_pairs, merges, noisy_identifiers, profiles
from cxm.ingest.tables import events
from cxm.profiles.activity import add_channel_activity
from cxm.profiles.chunk_state import Chunk
from cxm.profiles.merging import apply_decided_merges, note_profile_changes, repoint_profile
from cxm.profiles.placement import ACTOR, PLANNED_COLUMNS, plan_chunk
from cxm.profiles.summary import update_profile_summaries
from cxm.profiles.tables import channel_activity, profile_events, trait_observations
from cxm.store.bulk import insert_rows
from cxm.store.engine import write_turn
from cxm.store.metadata import utcnow
from cxm.store.tables import cursors

log = logging.getLogger(__name__)

CURSOR = "profiles"


@dataclass
class ProjectionResult:
    events: int = 0
    profiles_created: int = 0
    merges: int = 0
    position: int = 0


def project_pending(
    engine: Engine,
    *,
    region: str,
    policy: IdentityPolicy | None = None,
    chunk_events: int = 5000,
    max_events: int | None = None,
    on_progress: Callable[[int], None] | None = None,
    replaying: bool = False,
) -> ProjectionResult:
    """Apply every event after the cursor; returns what was done. Safe to run concurrently.

    An event that cannot be applied (the store refuses a value, or a bug) does not stop the
    log: its chunk is retried one event at a time and that one event is set aside with an
    audit entry (``projection.skipped``) naming it and the error.
    """
    result = ProjectionResult()
    careful_until = 0  # after a failed chunk, go one event at a time up to this seq
    while max_events is None or result.events < max_events:
        limit = (
            chunk_events if max_events is None else min(chunk_events, max_events - result.events)
        )
        with engine.connect() as conn:
            position = _cursor_position(conn)
        if position < careful_until:
            limit = 1
        try:
            done = _project_chunk(
                engine, position, limit, region=region, policy=policy, replaying=replaying
            )
        except Exception as exc:
            if limit > 1:
                careful_until = position + limit
                log.warning("projecting after seq %d failed; retrying event by event", position)
                continue
            done = _skip_event(engine, position, exc)
        if done is None:
            result.position = position
            break
        count, last, chunk, merged = done
        if not replaying:
            dispatch(merged)
        result.events += count
        result.profiles_created += chunk.created if chunk else 0
        result.merges += len(merged)
        result.position = last
        if on_progress and count:
            on_progress(count)
    return result


def _project_chunk(
    engine: Engine,
    position: int,
    limit: int,
    *,
    region: str,
    policy: IdentityPolicy | None,
    replaying: bool,
) -> tuple[int, int, Chunk | None, list[ProfilesMerged]] | None:
    """Project up to ``limit`` events after ``position``: (events, new position, plan, merges).

    None when there are no events after ``position``.
    """
    # Plan without the write lock (ingestion keeps committing meanwhile), then write the plan
    # in a short transaction, provided no other projector moved the cursor since.
    with engine.connect() as conn:
        stamp = conn.execute(select(cursors.c.updated_at).where(cursors.c.name == CURSOR)).scalar()
        rows = conn.execute(
            select(*PLANNED_COLUMNS)
            .where(events.c.seq > position)
            .order_by(events.c.seq)
            .limit(limit)
        ).all()
        if not rows:
            return None
        chunk = plan_chunk(conn, rows, region=region, policy=policy or IdentityPolicy())
    with write_turn(engine), engine.begin() as conn:
        if not _claim_unchanged(conn, position, stamp):
            # Another projector got there first, or a person merged or unmerged profiles
            # since the plan was made: plan again.
            return 0, position, None, []
        merged = write_chunk(conn, chunk, audit=not replaying)
        _move_cursor(conn, rows[-1].seq)
    return len(rows), rows[-1].seq, chunk, merged


def _skip_event(
    engine: Engine, position: int, error: Exception
) -> tuple[int, int, None, list[ProfilesMerged]] | None:
    log.exception("event after seq %d cannot be projected; setting it aside", position)
    with write_turn(engine), engine.begin() as conn:
        if _claim_cursor(conn) != position:
            return 0, position, None, []
        seq = conn.execute(select(func.min(events.c.seq)).where(events.c.seq > position)).scalar()
        if seq is None:
            return None
        record_action(
            conn,
            actor=ACTOR,
            action="projection.skipped",
            subject=str(seq),
            details={"error": f"{type(error).__name__}: {error}"[:1000]},
        )
        _move_cursor(conn, seq)
    return 1, seq, None, []


def _move_cursor(conn: Connection, seq: int) -> None:
    conn.execute(update(cursors).where(cursors.c.name == CURSOR).values(position=seq))


def pending_events(conn: Connection) -> int:
    """Events in the log not yet reflected in profiles."""
    position = _cursor_position(conn)
    return int(conn.execute(select(func.count()).where(events.c.seq > position)).scalar() or 0)


def rebuild_profiles(engine: Engine, *, region: str, **kwargs: Any) -> ProjectionResult:
    """Forget every derived profile and replay the whole event log."""
    with engine.begin() as conn:
        _claim_cursor(conn)
        for table in (
            channel_activity,
            trait_observations,
            profile_events,
            merges,
            noisy_identifiers,
            identifiers,
            profiles,
        ):
            conn.execute(delete(table))
        _move_cursor(conn, 0)
        note_profile_changes(conn, {"*"})
        record_action(conn, actor=ACTOR, action="profiles.rebuilt", subject=None)
    # The merges re-derived now were audited and announced when first made.
    result = project_pending(engine, region=region, replaying=True, **kwargs)
    with write_turn(engine), engine.begin() as conn:
        result.merges += apply_decided_merges(conn, None)
    return result


def _claim_cursor(conn: Connection) -> int:
    # Writing first takes the write lock (SQLite) or the row lock (PostgreSQL) before reading,
    # so two projectors never apply the same events.
    claimed = conn.execute(
        update(cursors).where(cursors.c.name == CURSOR).values(updated_at=utcnow())
    )
    if claimed.rowcount == 0:
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        conn.execute(
            dialect.insert(cursors)
            .values(name=CURSOR, position=0, updated_at=utcnow())
            .on_conflict_do_nothing(index_elements=["name"])
        )
    return int(
        conn.execute(select(cursors.c.position).where(cursors.c.name == CURSOR)).scalar_one()
    )


def _claim_unchanged(conn: Connection, position: int, stamp: Any) -> bool:
    if stamp is None:
        return _claim_cursor(conn) == position
    claimed = conn.execute(
        update(cursors)
        .where(
            cursors.c.name == CURSOR,
            cursors.c.position == position,
            cursors.c.updated_at == stamp,
        )
        .values(updated_at=utcnow())
    )
    return claimed.rowcount == 1


def projected_position(conn: Connection) -> int:
    """The last event sequence number profiles reflect."""
    return _cursor_position(conn)


def touch_cursor(conn: Connection) -> None:
    """Tell projectors planning now that profiles changed under them (they plan again)."""
    _claim_cursor(conn)


def _cursor_position(conn: Connection) -> int:
    position = conn.execute(select(cursors.c.position).where(cursors.c.name == CURSOR)).scalar()
    return int(position or 0)


def write_chunk(
    conn: Connection, chunk: Chunk, *, audit: bool, count_activity: bool = True
) -> list[ProfilesMerged]:
    """Write a planned chunk: re-point merged profiles' stored rows, then insert the rest.

    ``count_activity`` False when the events were counted before (an unmerge replays them).
    """
    for loser, winner in chunk.merge_ops:
        repoint_profile(conn, loser=loser, winner=winner)
    _flush(conn, chunk, audit=audit, count_activity=count_activity)
    return [
        ProfilesMerged(winner=m["winner_id"], loser=m["loser_id"], rule=m["rule"], seq=m["seq"])
        for m in chunk.new_merges
    ]


def _flush(conn: Connection, chunk: Chunk, *, audit: bool, count_activity: bool) -> None:
    for row in chunk.new_profiles.values():
        root = chunk.resolve(row["id"])
        row["merged_into"] = None if root == row["id"] else root
    insert_rows(conn, profiles, list(chunk.new_profiles.values()))
    for rows, table in (
        (chunk.placements, profile_events),
        (chunk.observations, trait_observations),
    ):
        for r in rows:
            r["profile_id"] = chunk.resolve(r["profile_id"])
        insert_rows(conn, table, rows)
    # Two holders of a shared identifier that merged in this chunk keep one row.
    kept: dict[tuple[str, str, str], dict[str, Any]] = {}
    for r in chunk.new_identifiers:
        r["profile_id"] = chunk.resolve(r["profile_id"])
        kept.setdefault((r["kind"], r["value"], r["profile_id"]), r)
    insert_rows(conn, identifiers, list(kept.values()))
    insert_rows(conn, noisy_identifiers, chunk.new_noisy)
    insert_rows(conn, merges, chunk.new_merges)
    _ask_for_review(conn, chunk)
    if audit:
        record_actions(
            conn,
            [
                (
                    ACTOR,
                    "profiles.merged",
                    m["winner_id"],
                    {
                        "loser": m["loser_id"],
                        "rule": m["rule"],
                        "reason": m["reason"],
                        "seq": m["seq"],
                    },
                )
                for m in chunk.new_merges
            ],
        )
    if count_activity:
        add_channel_activity(conn, chunk.placements)
    update_profile_summaries(
        conn,
        placements=chunk.placements,
        observations=chunk.observations,
        new_identifiers=list(kept.values()),
        recount={chunk.resolve(pid) for pid in chunk.merge_winners},
    )


def _ask_for_review(conn: Connection, chunk: Chunk) -> None:
    """Queue the pairs a guardrail kept apart, once per pair, unless already decided."""
    fresh: dict[tuple[str, str], dict[str, Any]] = {}
    for pair in chunk.new_pairs:
        fresh.setdefault((pair["profile_a"], pair["profile_b"]), pair)
    if not fresh:
        return
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    conn.execute(
        dialect.insert(identity_pairs).on_conflict_do_nothing(
            index_elements=["profile_a", "profile_b"]
        ),
        list(fresh.values()),
    )
