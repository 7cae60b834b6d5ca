"""Merging stored profiles by decision, and the questions merges ask of the graph.

The projector merges while it plans a chunk (``cxm.profiles.placement``); what is decided
outside the log (a person's merge, an accepted review item, a model's match, a rebuild
re-applying those) goes through here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Connection, and_, delete, exists, insert, or_, select, update

from cxm.errors import NotFound
from cxm.identity.tables import identifiers, identity_pairs, merges, profiles
from cxm.profiles.summary import update_profile_summaries
from cxm.profiles.tables import profile_changes, profile_events, trait_observations
from cxm.store.metadata import utcnow


@dataclass(frozen=True)
class MergeDone:
    id: int
    winner: str
    loser: str


def root_of(conn: Connection, profile_id: str) -> str:
    """The live profile ``profile_id`` is (or was merged into)."""
    row = conn.execute(
        select(profiles.c.id, profiles.c.merged_into).where(profiles.c.id == profile_id)
    ).first()
    if row is None:
        raise NotFound(f"no profile {profile_id!r}")
    return str(row.merged_into or row.id)


def members_of(conn: Connection, root: str) -> list[str]:
    """``root`` and every profile merged into it."""
    return [
        root,
        *conn.execute(select(profiles.c.id).where(profiles.c.merged_into == root)).scalars(),
    ]


def note_profile_changes(conn: Connection, profile_ids: list[str] | set[str]) -> None:
    """Record that these profiles' events moved ("*": all of them), for copies such as the lake."""
    now = utcnow()
    if profile_ids:
        conn.execute(
            insert(profile_changes), [{"profile_id": p, "at": now} for p in sorted(profile_ids)]
        )


def repoint_profile(conn: Connection, *, loser: str, winner: str) -> None:
    """Move everything stored about ``loser`` (and profiles merged into it) to ``winner``."""
    note_profile_changes(conn, {loser, winner})
    # An identifier both held (a shared one) stays once, on the winner.
    held = identifiers.alias("held")
    conn.execute(
        delete(identifiers).where(
            identifiers.c.profile_id == loser,
            exists().where(
                and_(
                    held.c.profile_id == winner,
                    held.c.kind == identifiers.c.kind,
                    held.c.value == identifiers.c.value,
                )
            ),
        )
    )
    for table in (identifiers, profile_events, trait_observations):
        conn.execute(update(table).where(table.c.profile_id == loser).values(profile_id=winner))
    conn.execute(
        update(profiles)
        .where((profiles.c.id == loser) | (profiles.c.merged_into == loser))
        .values(merged_into=winner)
    )


def exists_profile(conn: Connection, profile_id: str) -> bool:
    return (
        conn.execute(select(profiles.c.id).where(profiles.c.id == profile_id)).first() is not None
    )


def separated(conn: Connection, a: str, b: str) -> bool:
    members_a, members_b = set(members_of(conn, a)), set(members_of(conn, b))
    for x, y in conn.execute(
        select(identity_pairs.c.profile_a, identity_pairs.c.profile_b).where(
            identity_pairs.c.status == "separate",
            or_(
                identity_pairs.c.profile_a.in_(members_a | members_b),
                identity_pairs.c.profile_b.in_(members_a | members_b),
            ),
        )
    ):
        if (x in members_a and y in members_b) or (x in members_b and y in members_a):
            return True
    return False


def merge_now(
    conn: Connection,
    a: str,
    b: str,
    *,
    rule: str,
    reason: str,
    actor: str,
    score: float | None,
    evidence: list[dict[str, Any]] | None,
) -> MergeDone:
    created = dict(
        conn.execute(
            select(profiles.c.id, profiles.c.created_seq).where(profiles.c.id.in_([a, b]))
        ).all()
    )
    winner, loser = sorted((a, b), key=lambda pid: (created[pid], pid))
    loser_ids = [
        {"kind": k, "value": v}
        for k, v in conn.execute(
            select(identifiers.c.kind, identifiers.c.value).where(identifiers.c.profile_id == loser)
        )
    ]
    repoint_profile(conn, loser=loser, winner=winner)
    merge_id = conn.execute(
        insert(merges).values(
            **{
                "winner_id": winner,
                "loser_id": loser,
                "rule": rule,
                "reason": reason,
                "link_kind": None,
                "link_value": None,
                "seq": None,
                "actor": actor,
                "at": utcnow(),
                "loser_identifiers": orjson.dumps(loser_ids).decode(),
                "score": score,
                "evidence": orjson.dumps(evidence).decode() if evidence else None,
            }
        )
    ).inserted_primary_key[0]  # type: ignore[index]
    update_profile_summaries(
        conn, placements=[], observations=[], new_identifiers=[], recount={winner}
    )
    return MergeDone(id=int(merge_id or 0), winner=winner, loser=loser)


def apply_decided_merges(conn: Connection, only: list[str] | None) -> int:
    query = select(identity_pairs).where(identity_pairs.c.status == "merged")
    done = 0
    wanted = set(only) if only is not None else None
    for pair in conn.execute(query.order_by(identity_pairs.c.decided_at)).all():
        if wanted is not None and not {pair.profile_a, pair.profile_b} <= wanted:
            continue
        if not (exists_profile(conn, pair.profile_a) and exists_profile(conn, pair.profile_b)):
            continue
        a, b = root_of(conn, pair.profile_a), root_of(conn, pair.profile_b)
        if a == b or separated(conn, a, b):
            continue
        merge_now(
            conn,
            a,
            b,
            rule="review" if pair.origin == "rules" else pair.origin,
            reason=pair.note or pair.reason,
            actor=pair.decided_by or "system",
            score=pair.probability,
            evidence=orjson.loads(pair.evidence) if pair.evidence else None,
        )
        done += 1
    return done
