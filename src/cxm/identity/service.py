"""Changing the identity graph by decision: merge, unmerge, and answers to the review queue.

Profiles, identifiers and merges are derived from the event log; the decisions people (and the
matching model) take about pairs of profiles live in ``identity_pairs`` and survive a rebuild,
which applies them again. Each ``do_*`` function writes its audit entry and publishes a domain
event in the caller's transaction.

>>> with ws.session() as session:                                   # doctest: +SKIP
...     merge = do_merge_profiles(session, actor="user:ania", a="p_1", b="p_2", reason="same DOB")
...     do_unmerge(session, actor="user:ania", merge_id=merge.id, reason="different people")
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import orjson
from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.orm import Session

from cxm.audit import record_action
from cxm.domain_events import publish
from cxm.errors import Conflict, InvalidInput, NotFound
from cxm.identity.models import PairDecided, ProfilesMerged, ProfilesUnmerged
from cxm.identity.policy import IdentityPolicy
from cxm.identity.tables import identifiers, identity_pairs, merges, profiles
from cxm.ingest.tables import events
from cxm.profiles.merging import (
    MergeDone,
    apply_decided_merges,
    exists_profile,
    members_of,
    merge_now,
    note_profile_changes,
    root_of,
    separated,
)
from cxm.profiles.placement import PLANNED_COLUMNS, plan_chunk
from cxm.profiles.projector import touch_cursor, write_chunk
from cxm.profiles.queries import resolve_profile_id
from cxm.profiles.tables import profile_events, trait_observations
from cxm.store.metadata import utcnow

Decision = Literal["merge", "separate"]
_IN_CHUNK = 500


@dataclass(frozen=True)
class UnmergeDone:
    merge_id: int
    profiles: list[str]
    events_replayed: int


def do_merge_profiles(
    session: Session,
    *,
    actor: str,
    a: str,
    b: str,
    reason: str,
    origin: str = "manual",
    probability: float | None = None,
    evidence: list[dict[str, Any]] | None = None,
    policy: IdentityPolicy | None = None,
) -> MergeDone:
    """Decide that ``a`` and ``b`` (profile ids or any identifier) are one person; merge now.

    A person may merge across guardrails (two user ids: one customer with two accounts); the
    matching model may not (``policy`` given): such a pair goes to review instead.
    """
    if not reason.strip():
        raise InvalidInput("say why the two profiles are one person (reason is empty)")
    conn = session.connection()
    root_a = root_of(conn, resolve_profile_id(session, a))
    root_b = root_of(conn, resolve_profile_id(session, b))
    if root_a == root_b:
        raise Conflict(f"{a} and {b} are already one profile ({root_a})")
    if separated(conn, root_a, root_b):
        raise Conflict(
            f"{a} and {b} were decided to be different people; reopen that decision first "
            "(cxm review reopen, or POST /api/identity/review/{id}/reopen)"
        )
    if policy is not None:
        broken = _limits_broken(conn, root_a, root_b, policy)
        if broken:
            raise Conflict(f"{a} and {b} cannot be merged automatically: {broken}")
    _record_pair(
        conn,
        a=root_a,
        b=root_b,
        status="merged",
        origin=origin,
        actor=actor,
        reason=reason,
        probability=probability,
        evidence=evidence,
    )
    done = merge_now(
        conn,
        root_a,
        root_b,
        rule=origin if origin in {"manual", "review"} else "probabilistic",
        reason=reason,
        actor=actor,
        score=probability,
        evidence=evidence,
    )
    touch_cursor(conn)
    record_action(
        session,
        actor=actor,
        action="profiles.merged",
        subject=done.winner,
        details={"loser": done.loser, "rule": origin, "reason": reason, "score": probability},
    )
    publish(session, ProfilesMerged(winner=done.winner, loser=done.loser, rule=origin, seq=None))
    return done


def do_unmerge(
    session: Session,
    *,
    actor: str,
    merge_id: int,
    reason: str,
    policy: IdentityPolicy | None = None,
    region: str = "PL",
) -> UnmergeDone:
    """Split a profile back along merge ``merge_id`` and keep the two sides apart from now on.

    The profile's own events are replayed through the identity rules with the new decision in
    force, so each event, identifier and trait goes back to the side it came from, and merges
    within each side (by rules or decisions) are made again.
    """
    if not reason.strip():
        raise InvalidInput("say why the merge was wrong (reason is empty)")
    conn = session.connection()
    edge = conn.execute(select(merges).where(merges.c.id == merge_id)).first()
    if edge is None:
        raise NotFound(f"no merge #{merge_id}; see the profile's identity for its merges")
    root = root_of(conn, edge.winner_id)
    members = members_of(conn, root)
    _record_pair(
        conn,
        a=edge.winner_id,
        b=edge.loser_id,
        status="separate",
        origin="manual",
        actor=actor,
        reason=reason,
    )
    seqs = list(
        conn.execute(
            select(profile_events.c.seq)
            .where(profile_events.c.profile_id == root)
            .order_by(profile_events.c.seq)
        ).scalars()
    )
    _forget(conn, root, members)
    replayed = _replay(conn, seqs, policy=policy or IdentityPolicy(), region=region)
    apply_decided_merges(conn, members)
    roots = sorted({root_of(conn, m) for m in members if exists_profile(conn, m)})
    note_profile_changes(conn, {*members, *roots})
    touch_cursor(conn)
    record_action(
        session,
        actor=actor,
        action="profiles.unmerged",
        subject=root,
        details={
            "merge": merge_id,
            "winner": edge.winner_id,
            "loser": edge.loser_id,
            "rule": edge.rule,
            "reason": reason,
            "profiles": roots,
        },
    )
    publish(session, ProfilesUnmerged(merge_id=merge_id, profiles=tuple(roots), actor=actor))
    return UnmergeDone(merge_id=merge_id, profiles=roots, events_replayed=replayed)


def do_decide_pair(
    session: Session,
    *,
    actor: str,
    pair_id: int,
    decision: Decision,
    note: str | None = None,
) -> dict[str, Any]:
    """Answer a review-queue item: ``merge`` the two profiles or keep them ``separate``.

    The answer is kept, so the pair is never asked again, and a rebuild honours it.
    """
    if decision not in ("merge", "separate"):
        raise InvalidInput(f"decision must be 'merge' or 'separate', not {decision!r}")
    conn = session.connection()
    pair = conn.execute(select(identity_pairs).where(identity_pairs.c.id == pair_id)).first()
    if pair is None:
        raise NotFound(f"no review item #{pair_id}")
    if pair.status != "review":
        raise Conflict(
            f"review item #{pair_id} was already decided ({pair.status}) by {pair.decided_by}"
        )
    root_a, root_b = root_of(conn, pair.profile_a), root_of(conn, pair.profile_b)
    now = utcnow()
    status = "merged" if decision == "merge" else "separate"
    conn.execute(
        update(identity_pairs)
        .where(identity_pairs.c.id == pair_id)
        .values(status=status, decided_by=actor, decided_at=now, note=note)
    )
    merged_into = None
    if decision == "merge" and root_a != root_b:
        done = merge_now(
            conn,
            root_a,
            root_b,
            rule="review",
            reason=f"accepted in review by {actor}" + (f": {note}" if note else ""),
            actor=actor,
            score=pair.probability,
            evidence=orjson.loads(pair.evidence) if pair.evidence else None,
        )
        merged_into = done.winner
        touch_cursor(conn)
        publish(
            session, ProfilesMerged(winner=done.winner, loser=done.loser, rule="review", seq=None)
        )
    record_action(
        session,
        actor=actor,
        action=f"identity.review.{status}",
        subject=str(pair_id),
        details={"a": pair.profile_a, "b": pair.profile_b, "note": note},
    )
    publish(session, PairDecided(pair_id=pair_id, decision=status, actor=actor))
    return {"id": pair_id, "status": status, "merged_into": merged_into}


def do_reopen_pair(session: Session, *, actor: str, pair_id: int, note: str) -> dict[str, Any]:
    """Take back "different people": the pair goes back to the review queue.

    A merged pair is taken back by unmerging it instead (``do_unmerge``).
    """
    if not note.strip():
        raise InvalidInput("say why the decision is taken back (note is empty)")
    conn = session.connection()
    pair = conn.execute(select(identity_pairs).where(identity_pairs.c.id == pair_id)).first()
    if pair is None:
        raise NotFound(f"no review item #{pair_id}")
    if pair.status != "separate":
        raise Conflict(
            f"review item #{pair_id} is {pair.status}; only a 'separate' decision can be "
            "reopened (undo a merge with unmerge)"
        )
    conn.execute(
        update(identity_pairs)
        .where(identity_pairs.c.id == pair_id)
        .values(status="review", decided_by=actor, decided_at=utcnow(), note=note)
    )
    touch_cursor(conn)
    record_action(
        session,
        actor=actor,
        action="identity.review.reopened",
        subject=str(pair_id),
        details={"a": pair.profile_a, "b": pair.profile_b, "note": note},
    )
    publish(session, PairDecided(pair_id=pair_id, decision="review", actor=actor))
    return {"id": pair_id, "status": "review"}


# internals ---------------------------------------------------------------------------------


def _limits_broken(conn: Connection, a: str, b: str, policy: IdentityPolicy) -> str | None:
    held: dict[str, dict[str, set[str]]] = {a: {}, b: {}}
    for pid, kind, value in conn.execute(
        select(identifiers.c.profile_id, identifiers.c.kind, identifiers.c.value).where(
            identifiers.c.profile_id.in_([a, b])
        )
    ):
        held[pid].setdefault(kind, set()).add(value)
    return policy.broken_by_joining(held[a], held[b])


def _record_pair(
    conn: Connection,
    *,
    a: str,
    b: str,
    status: str,
    origin: str,
    actor: str,
    reason: str,
    probability: float | None = None,
    evidence: list[dict[str, Any]] | None = None,
) -> None:
    first, second = sorted((a, b))
    now = utcnow()
    values = {
        "status": status,
        "decided_by": actor,
        "decided_at": now,
        "note": reason,
    }
    found = conn.execute(
        update(identity_pairs)
        .where(identity_pairs.c.profile_a == first, identity_pairs.c.profile_b == second)
        .values(**values)
    )
    if found.rowcount == 0:
        conn.execute(
            insert(identity_pairs).values(
                **{
                    "profile_a": first,
                    "profile_b": second,
                    "origin": origin,
                    "probability": probability,
                    "evidence": orjson.dumps(evidence).decode() if evidence else None,
                    "reason": reason,
                    "created_at": now,
                    **values,
                }
            )
        )


def _forget(conn: Connection, root: str, members: list[str]) -> None:
    """Delete what was derived for ``root`` (its events stay in the log)."""
    for table in (identifiers, profile_events, trait_observations):
        conn.execute(delete(table).where(table.c.profile_id == root))
    for start in range(0, len(members), _IN_CHUNK):
        part = members[start : start + _IN_CHUNK]
        conn.execute(delete(merges).where(merges.c.winner_id.in_(part)))
        conn.execute(delete(profiles).where(profiles.c.id.in_(part)))


def _replay(conn: Connection, seqs: list[int], *, policy: IdentityPolicy, region: str) -> int:
    if not seqs:
        return 0
    rows: list[Any] = []
    for start in range(0, len(seqs), _IN_CHUNK):
        rows.extend(
            conn.execute(
                select(*PLANNED_COLUMNS).where(events.c.seq.in_(seqs[start : start + _IN_CHUNK]))
            ).all()
        )
    rows.sort(key=lambda r: r.seq)
    chunk = plan_chunk(conn, rows, region=region, policy=policy)
    write_chunk(conn, chunk, audit=False, count_activity=False)
    return len(rows)
