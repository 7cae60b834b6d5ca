"""Where each event goes: the deterministic identity rules with their guardrails.

The projector plans a chunk of events here, reading the store only, and writes the plan in one
short transaction. For each event, its identifiers are taken strongest first
(``cxm.identity.rules``):

- an identifier nobody holds joins the event's profile (a new one, named after the strongest
  identifier, when no held identifier points anywhere);
- an identifier held by one other profile merges that profile in, unless the merge would break
  a guardrail (``cxm.identity.policy``: two user ids in one profile, say) or a person decided
  the two are different people; then the identifier becomes *shared* by both and, unless it
  was decided already, the pair goes to the review queue;
- an identifier shared by several profiles links nobody: an event that carries nothing else
  goes to the profile that held it first;
- a noisy identifier (more holders than its kind allows) is ignored.

Holders count only from the event that gave them the identifier (``first_seq``), so replaying
any profile's own events reproduces the same decisions (unmerge relies on it).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson
from sqlalchemy import Connection, select

from cxm.identity.policy import IdentityPolicy
from cxm.identity.rules import event_identifiers, event_traits
from cxm.identity.tables import identifiers
from cxm.ingest.tables import events, sources
from cxm.profiles.chunk_state import (
    PERSON_KEYS,
    Chunk,
    Ident,
    load_chunk_state,
    person_keys,
    profile_id_for,
)
from cxm.store.metadata import utcnow

ACTOR = "system:deterministic-rules"


# The columns of the log that placement reads.
PLANNED_COLUMNS = (
    events.c.seq,
    events.c.type,
    events.c.user_id,
    events.c.anonymous_id,
    events.c.channel,
    events.c.timestamp,
    events.c.source_id,
    events.c.payload,
)


def plan_chunk(
    conn: Connection, rows: Iterable[Any], *, region: str, policy: IdentityPolicy
) -> Chunk:
    """Decide where each event goes and which profiles merge, reading the store only."""
    parsed = []
    wanted: set[Ident] = set()
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

    chunk = load_chunk_state(conn, wanted, policy)
    source_names = dict(conn.execute(select(sources.c.id, sources.c.name)).all())
    for row, traits, ids in parsed:
        ids = [_previous_id_kind(chunk, kind, value) for kind, value in ids]
        if ids:
            place_event(conn, chunk, row, ids, traits, source_names)
    return chunk


def _previous_id_kind(chunk: Chunk, kind: str, value: str) -> Ident:
    if kind != "previous_id":
        return kind, value
    if ("user_id", value) in chunk.holders:
        return "user_id", value
    return "anonymous_id", value


def place_event(
    conn: Connection,
    chunk: Chunk,
    row: Any,
    ids: list[Ident],
    traits: dict[str, Any],
    source_names: dict[int, str],
) -> None:
    target: str | None = None
    anchor: Ident | None = None  # the identifier that tied the event to ``target``
    unheld: list[Ident] = []  # identifiers nobody holds yet, strongest first
    to_attach: list[Ident] = []
    shared: list[tuple[Ident, list[str]]] = []
    contradicted: list[str] = []  # holders of identifiers the event says are someone else
    source = source_names.get(row.source_id, "?")
    explicit = row.type == "alias"  # the sending system states the two are one person
    said = person_keys(traits)  # who the event says the person is
    for ident in ids:
        if ident in chunk.noisy:
            continue
        held = chunk.holders_at(ident, row.seq)
        if not held:
            if target is None:
                unheld.append(ident)
            else:
                _attach(chunk, target, ident, row)
            continue
        if target in held:
            continue
        if len(held) > 1:
            shared.append((ident, held))
            to_attach.append(ident)
            continue
        other = held[0]
        if target is None:
            born_apart = _born_apart(said, _said_before(chunk, other, row.seq))
            if born_apart and not unheld:
                # The event names someone else than who holds ``ident`` (a call id the first
                # holder of a family phone got): let the other identifiers decide.
                contradicted.append(other)
                continue
            # Stronger identifiers nobody holds yet either join ``other`` or, when that would
            # break a guardrail (a second user id), make a new person who shares ``ident``.
            broken = _limits_broken(chunk, _kinds_of(chunk, unheld), other) or born_apart
            if not unheld or broken is None:
                target, anchor = other, ident
            else:
                target, anchor = _new_profile(chunk, unheld[0], row), unheld[0]
                _remember(chunk, target, said, row.seq)
            for new in unheld:
                _attach(chunk, target, new, row)
            unheld = []
            if target == other:
                continue
        assert anchor is not None
        blocked = _merge_blocked(chunk, target, other, explicit=explicit, seq=row.seq, said=said)
        if blocked is None:
            target = _merge(
                conn, chunk, target, other, link=ident, anchor=anchor, row=row, source=source
            )
            continue
        if blocked != "separate":
            _ask_review(
                chunk,
                target,
                other,
                ident=ident,
                anchor=anchor,
                why=blocked,
                row=row,
                source=source,
            )
        to_attach.append(ident)
    sure = True
    if target is None:
        if shared and (not unheld or ids.index(unheld[0]) > ids.index(shared[0][0])):
            # Only weaker new identifiers (a call's id) beside a shared one: whoever of the
            # people sharing it the event names, else its first holder.
            target, sure = _who_said_so(chunk, shared[0][1], said, row.seq)
        elif unheld:
            target = _new_profile(chunk, unheld[0], row)
        elif contradicted:
            target, sure = contradicted[0], False
        else:
            return  # only noisy identifiers: nobody to place the event on
        if sure:
            # A guess places the event but gives its new identifiers to nobody, so the next
            # event of the same call, if it names the caller, can still go to the right person.
            for new in unheld:
                _attach(chunk, target, new, row)
    for ident in to_attach:
        _attach(chunk, target, ident, row)
    chunk.placements.append(
        {"seq": row.seq, "profile_id": target, "at": row.timestamp, "channel": row.channel}
    )
    if sure:
        _remember(chunk, target, said, row.seq)
    for key, value in traits.items():
        if value is None or not isinstance(key, str) or len(key) > 200:
            continue
        if not sure and key in PERSON_KEYS:
            continue  # who the caller says they are may not be who the event was placed on
        chunk.observations.append(
            {
                "profile_id": target,
                "key": key,
                "value": orjson.dumps(value).decode(),
                "source_id": row.source_id,
                "channel": row.channel,
                "seq": row.seq,
                "observed_at": row.timestamp,
            }
        )


def _remember(chunk: Chunk, target: str, said: set[str], seq: int) -> None:
    known = chunk.said.setdefault(target, {})
    for key in said:
        known.setdefault(key, seq)


def _said_before(chunk: Chunk, pid: str, seq: int) -> set[str]:
    return {k for k, at in chunk.said.get(pid, {}).items() if at < seq}


def _born_apart(mine: set[str], theirs: set[str]) -> str | None:
    """Why two people stating ``mine`` and ``theirs`` are two: different birth dates, or None."""
    born_a = {k.split(":", 1)[1] for k in mine if k.startswith("birthday:")}
    born_b = {k.split(":", 1)[1] for k in theirs if k.startswith("birthday:")}
    if born_a and born_b and not born_a & born_b:
        return f"they give different birth dates ({min(born_a)} and {min(born_b)})"
    return None


def _who_said_so(chunk: Chunk, holders: list[str], said: set[str], seq: int) -> tuple[str, bool]:
    """Of the people sharing an identifier, the one the event's name or birthday points at.

    A call from a family phone where the caller gives her name goes to her; with nothing to
    tell them apart (or several fit), to the identifier's first holder, as a guess (False).
    """
    if said:
        fits = [pid for pid in holders if said & _said_before(chunk, pid, seq)]
        if len(fits) == 1:
            return fits[0], True
    return holders[0], False


def _kinds_of(chunk: Chunk, idents: list[Ident]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for kind, value in idents:
        if chunk.policy.of(kind).per_profile is not None:
            found.setdefault(kind, set()).add(value)
    return found


def _limits_broken(chunk: Chunk, held_a: dict[str, set[str]], b: str) -> str | None:
    return chunk.policy.broken_by_joining(held_a, chunk.kinds.get(b, {}))


def _merge_blocked(
    chunk: Chunk, a: str, b: str, *, explicit: bool, seq: int, said: set[str]
) -> str | None:
    """Why ``a`` and ``b`` may not merge: "separate", a guardrail's words, or None."""
    for x, y in chunk.separate:
        if {chunk.resolve(x), chunk.resolve(y)} == {a, b}:
            return "separate"
    if explicit:
        return None
    return _limits_broken(chunk, chunk.kinds.get(a, {}), b) or _born_apart(
        said | _said_before(chunk, a, seq), _said_before(chunk, b, seq)
    )


def _attach(chunk: Chunk, target: str, ident: Ident, row: Any) -> None:
    kind, value = ident
    limit = chunk.policy.of(kind)
    held = chunk.holders_at(ident, row.seq + 1)
    if target in held:
        return
    values = chunk.kinds.get(target, {}).get(kind, set())
    if limit.per_profile is not None and len(values) >= limit.per_profile:
        return  # the profile has as many of this kind as it may hold
    if len(held) >= limit.max_holders:
        if limit.max_holders > 1 and ident not in chunk.noisy:
            # One more person with a value already shared as widely as allowed: noisy.
            chunk.noisy.add(ident)
            chunk.new_noisy.append(
                {
                    "kind": kind,
                    "value": value,
                    "seq": row.seq,
                    "holders": len(held) + 1,
                    "at": utcnow(),
                }
            )
        return
    chunk.holders.setdefault(ident, []).append((target, row.seq))
    if limit.per_profile is not None:
        chunk.kinds.setdefault(target, {}).setdefault(kind, set()).add(value)
    chunk.gained.setdefault(target, []).append({"kind": kind, "value": value})
    chunk.new_identifiers.append(
        {
            "kind": kind,
            "value": value,
            "profile_id": target,
            "source_id": row.source_id,
            "first_seq": row.seq,
            "first_seen": row.timestamp,
        }
    )


def _ask_review(
    chunk: Chunk, a: str, b: str, *, ident: Ident, anchor: Ident, why: str, row: Any, source: str
) -> None:
    first, second = sorted((a, b))
    # Evidence reads left for profile_a, right for profile_b.
    anchor_sides = (anchor[1], None) if a == first else (None, anchor[1])
    chunk.new_pairs.append(
        {
            "profile_a": first,
            "profile_b": second,
            "status": "review",
            "origin": "rules",
            "probability": None,
            "evidence": orjson.dumps(
                [
                    {
                        "field": anchor[0],
                        "left": anchor_sides[0],
                        "right": anchor_sides[1],
                        "level": "held by one",
                    },
                    {"field": ident[0], "left": ident[1], "right": ident[1], "level": "shared"},
                ]
            ).decode(),
            "reason": (
                f"{row.type} event #{row.seq} from source '{source}' carried {anchor[0]} "
                f"{anchor[1]!r} (held by {a}) and {ident[0]} {ident[1]!r} (held by {b}); "
                f"not merged because {why}"
            ),
            "created_at": utcnow(),
        }
    )


def _new_profile(chunk: Chunk, first: Ident, row: Any) -> str:
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
    chunk: Chunk,
    a: str,
    b: str,
    *,
    link: Ident,
    anchor: Ident,
    row: Any,
    source: str,
) -> str:
    """Merge ``a`` and ``b`` into the older of the two; returns the survivor."""
    winner, loser = sorted((a, b), key=lambda pid: (chunk.created_seq[pid], pid))
    if winner != a:
        link, anchor = anchor, link
    # Rows of this chunk (new profiles included) are re-pointed when they are written, through
    # chunk.resolve(), and stored rows by the merge_ops. A loser born in this chunk has none
    # stored.
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
    loser_ids.extend(chunk.gained.pop(loser, []))
    chunk.gained.setdefault(winner, []).extend(loser_ids)
    for key, at in chunk.said.pop(loser, {}).items():
        known = chunk.said.setdefault(winner, {})
        known[key] = min(at, known.get(key, at))
    for kind, values in chunk.kinds.pop(loser, {}).items():
        chunk.kinds.setdefault(winner, {}).setdefault(kind, set()).update(values)
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
            "score": None,
            "evidence": None,
        }
    )
    chunk.merged_into[loser] = winner
    chunk.merge_winners.add(winner)
    return winner
