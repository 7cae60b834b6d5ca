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

import hashlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from cxm.audit import record_action, record_actions
from cxm.domain_events import dispatch
from cxm.identity.models import ProfilesMerged
from cxm.identity.rules import event_identifiers, event_traits
from cxm.identity.tables import identifiers, merges, profiles
from cxm.ingest.tables import events, sources
from cxm.profiles.activity import add_channel_activity
from cxm.profiles.summary import update_profile_summaries
from cxm.profiles.tables import channel_activity, profile_events, trait_observations
from cxm.store.bulk import insert_rows
from cxm.store.engine import write_turn
from cxm.store.metadata import utcnow
from cxm.store.tables import cursors

log = logging.getLogger(__name__)

CURSOR = "profiles"
ACTOR = "system:deterministic-rules"
_IN_CHUNK = 500


@dataclass
class ProjectionResult:
    events: int = 0
    profiles_created: int = 0
    merges: int = 0
    position: int = 0


@dataclass
class _Chunk:
    """Everything one chunk decides, written in one go at its end."""

    owner: dict[tuple[str, str], str]  # identifier → profile (as first loaded or created)
    created_seq: dict[str, int]
    merged_into: dict[str, str] = field(default_factory=dict)
    new_profiles: dict[str, dict[str, Any]] = field(default_factory=dict)
    new_identifiers: list[dict[str, Any]] = field(default_factory=list)
    # Identifiers each profile gained in this chunk (for the merge's undo record).
    gained: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    placements: list[dict[str, Any]] = field(default_factory=list)
    observations: list[dict[str, Any]] = field(default_factory=list)
    new_merges: list[dict[str, Any]] = field(default_factory=list)
    merge_winners: set[str] = field(default_factory=set)
    # (loser, winner) for losers already stored: their rows are re-pointed when written.
    merge_ops: list[tuple[str, str]] = field(default_factory=list)
    created: int = 0

    def resolve(self, profile_id: str) -> str:
        while profile_id in self.merged_into:
            profile_id = self.merged_into[profile_id]
        return profile_id


def project_pending(
    engine: Engine,
    *,
    region: str,
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
            done = _project_chunk(engine, position, limit, region=region, replaying=replaying)
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
    engine: Engine, position: int, limit: int, *, region: str, replaying: bool
) -> tuple[int, int, _Chunk | None, list[ProfilesMerged]] | None:
    """Project up to ``limit`` events after ``position``: (events, new position, plan, merges).

    None when there are no events after ``position``.
    """
    # Plan without the write lock (ingestion keeps committing meanwhile), then write the plan
    # in a short transaction, provided no other projector moved the cursor since.
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                events.c.seq,
                events.c.type,
                events.c.user_id,
                events.c.anonymous_id,
                events.c.channel,
                events.c.timestamp,
                events.c.source_id,
                events.c.payload,
            )
            .where(events.c.seq > position)
            .order_by(events.c.seq)
            .limit(limit)
        ).all()
        if not rows:
            return None
        chunk = _plan_chunk(conn, rows, region=region)
    with write_turn(engine), engine.begin() as conn:
        if _claim_cursor(conn) != position:
            return 0, position, None, []  # another projector got there first: plan again
        merged = _write_chunk(conn, chunk, audit=not replaying)
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
            identifiers,
            profiles,
        ):
            conn.execute(delete(table))
        _move_cursor(conn, 0)
        record_action(conn, actor=ACTOR, action="profiles.rebuilt", subject=None)
    # The merges re-derived now were audited and announced when first made.
    return project_pending(engine, region=region, replaying=True, **kwargs)


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


def _cursor_position(conn: Connection) -> int:
    position = conn.execute(select(cursors.c.position).where(cursors.c.name == CURSOR)).scalar()
    return int(position or 0)


def _plan_chunk(conn: Connection, rows: Iterable[Any], *, region: str) -> _Chunk:
    """Decide where each event goes and which profiles merge, reading the store only."""
    parsed = []
    wanted: set[tuple[str, str]] = set()
    for row in rows:
        payload = orjson.loads(row.payload)
        traits = event_traits(payload)
        ids = event_identifiers(
            payload,
            user_id=row.user_id,
            anonymous_id=row.anonymous_id,
            traits=traits,
            region=region,
        )
        for kind, value in ids:
            if kind == "previous_id":
                wanted.update({("user_id", value), ("anonymous_id", value)})
            else:
                wanted.add((kind, value))
        parsed.append((row, traits, ids))

    chunk = _load_owners(conn, wanted)
    source_names = dict(conn.execute(select(sources.c.id, sources.c.name)).all())
    for row, traits, ids in parsed:
        ids = [_previous_id_kind(chunk, kind, value) for kind, value in ids]
        if ids:
            _place_event(conn, chunk, row, ids, traits, source_names)
    return chunk


def _write_chunk(conn: Connection, chunk: _Chunk, *, audit: bool) -> list[ProfilesMerged]:
    """Write a planned chunk: re-point merged profiles' stored rows, then insert the rest."""
    for loser, winner in chunk.merge_ops:
        for table in (identifiers, profile_events, trait_observations):
            conn.execute(update(table).where(table.c.profile_id == loser).values(profile_id=winner))
        conn.execute(
            update(profiles)
            .where((profiles.c.id == loser) | (profiles.c.merged_into == loser))
            .values(merged_into=winner)
        )
    _flush(conn, chunk, audit=audit)
    return [
        ProfilesMerged(winner=m["winner_id"], loser=m["loser_id"], rule=m["rule"], seq=m["seq"])
        for m in chunk.new_merges
    ]


def _previous_id_kind(chunk: _Chunk, kind: str, value: str) -> tuple[str, str]:
    if kind != "previous_id":
        return kind, value
    if ("user_id", value) in chunk.owner:
        return "user_id", value
    return "anonymous_id", value


def _load_owners(conn: Connection, wanted: set[tuple[str, str]]) -> _Chunk:
    by_kind: dict[str, list[str]] = {}
    for kind, value in wanted:
        by_kind.setdefault(kind, []).append(value)
    owner: dict[tuple[str, str], str] = {}
    for kind, values in by_kind.items():
        for start in range(0, len(values), _IN_CHUNK):
            part = values[start : start + _IN_CHUNK]
            for value, profile_id in conn.execute(
                select(identifiers.c.value, identifiers.c.profile_id).where(
                    identifiers.c.kind == kind, identifiers.c.value.in_(part)
                )
            ):
                owner[(kind, value)] = profile_id
    created: dict[str, int] = {}
    ids = sorted(set(owner.values()))
    for start in range(0, len(ids), _IN_CHUNK):
        part = ids[start : start + _IN_CHUNK]
        created.update(
            conn.execute(
                select(profiles.c.id, profiles.c.created_seq).where(profiles.c.id.in_(part))
            ).all()
        )
    return _Chunk(owner=owner, created_seq=created)


def _place_event(
    conn: Connection,
    chunk: _Chunk,
    row: Any,
    ids: list[tuple[str, str]],
    traits: dict[str, Any],
    source_names: dict[int, str],
) -> None:
    held = [(ident, chunk.resolve(chunk.owner[ident])) for ident in ids if ident in chunk.owner]
    owners = {pid for _, pid in held}
    if not owners:
        profile_id = _new_profile(chunk, ids[0], row)
    else:
        profile_id = min(owners, key=lambda pid: (chunk.created_seq[pid], pid))
        for loser in sorted(owners - {profile_id}):
            link = next(ident for ident, pid in held if pid == loser)
            anchor = next(ident for ident, pid in held if pid == profile_id)
            _merge(
                conn,
                chunk,
                winner=profile_id,
                loser=loser,
                link=link,
                anchor=anchor,
                row=row,
                source=source_names.get(row.source_id, "?"),
            )
    for ident in ids:
        if ident not in chunk.owner:
            chunk.owner[ident] = profile_id
            chunk.gained.setdefault(profile_id, []).append({"kind": ident[0], "value": ident[1]})
            chunk.new_identifiers.append(
                {
                    "kind": ident[0],
                    "value": ident[1],
                    "profile_id": profile_id,
                    "source_id": row.source_id,
                    "first_seq": row.seq,
                    "first_seen": row.timestamp,
                }
            )
    chunk.placements.append(
        {"seq": row.seq, "profile_id": profile_id, "at": row.timestamp, "channel": row.channel}
    )
    for key, value in traits.items():
        if value is None or not isinstance(key, str) or len(key) > 200:
            continue
        chunk.observations.append(
            {
                "profile_id": profile_id,
                "key": key,
                "value": orjson.dumps(value).decode(),
                "source_id": row.source_id,
                "channel": row.channel,
                "seq": row.seq,
                "observed_at": row.timestamp,
            }
        )


def profile_id_for(kind: str, value: str) -> str:
    """Profiles are named after the identifier that created them, so a rebuild names them alike."""
    return "p_" + hashlib.sha256(f"{kind}\x00{value}".encode()).hexdigest()[:20]


def _new_profile(chunk: _Chunk, first: tuple[str, str], row: Any) -> str:
    profile_id = profile_id_for(*first)
    chunk.created_seq[profile_id] = row.seq
    chunk.created += 1
    chunk.new_profiles[profile_id] = {
        "id": profile_id,
        "created_at": row.timestamp,
        "created_seq": row.seq,
        "merged_into": None,
        "event_count": 0,
    }
    return profile_id


def _merge(
    conn: Connection,
    chunk: _Chunk,
    *,
    winner: str,
    loser: str,
    link: tuple[str, str],
    anchor: tuple[str, str],
    row: Any,
    source: str,
) -> None:
    # Rows of this chunk are re-pointed when they are written (through chunk.resolve()), and
    # stored rows by the merge_ops. A loser born in this chunk has none stored.
    loser_ids: list[dict[str, str]] = []
    if loser not in chunk.new_profiles:
        loser_ids = [
            {"kind": k, "value": v}
            for k, v in conn.execute(
                select(identifiers.c.kind, identifiers.c.value).where(
                    identifiers.c.profile_id == loser
                )
            )
        ]
        chunk.merge_ops.append((loser, winner))
    for pending in chunk.new_profiles.values():
        if pending["id"] == loser or pending["merged_into"] == loser:
            pending["merged_into"] = winner
    loser_ids.extend(chunk.gained.pop(loser, []))
    chunk.gained.setdefault(winner, []).extend(loser_ids)
    chunk.new_merges.append(
        {
            "winner_id": winner,
            "loser_id": loser,
            "rule": f"shared_{link[0]}" if link[0] == anchor[0] else f"{anchor[0]}+{link[0]}",
            "reason": (
                f"{row.type} event #{row.seq} from source '{source}' carried "
                f"{anchor[0]} {anchor[1]!r} (held by {winner}) together with "
                f"{link[0]} {link[1]!r} (held by {loser})"
            ),
            "link_kind": link[0],
            "link_value": link[1],
            "seq": row.seq,
            "actor": ACTOR,
            "at": utcnow(),
            "loser_identifiers": orjson.dumps(loser_ids).decode(),
        }
    )
    chunk.merged_into[loser] = winner
    chunk.merge_winners.add(winner)


def _flush(conn: Connection, chunk: _Chunk, *, audit: bool) -> None:
    insert_rows(conn, profiles, list(chunk.new_profiles.values()))
    for rows, table in (
        (chunk.new_identifiers, identifiers),
        (chunk.placements, profile_events),
        (chunk.observations, trait_observations),
    ):
        for r in rows:
            r["profile_id"] = chunk.resolve(r["profile_id"])
        insert_rows(conn, table, rows)
    insert_rows(conn, merges, chunk.new_merges)
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
    add_channel_activity(conn, chunk.placements)
    update_profile_summaries(
        conn,
        placements=chunk.placements,
        observations=chunk.observations,
        new_identifiers=chunk.new_identifiers,
        recount={chunk.resolve(pid) for pid in chunk.merge_winners},
    )
