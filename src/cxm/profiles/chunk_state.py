"""What a projector chunk knows while it plans: identifiers' holders, guardrail state, and
what people said about themselves. Loaded from the store once per chunk, then kept in memory.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import orjson
from sqlalchemy import Connection, func, select

from cxm.identity.policy import IdentityPolicy
from cxm.identity.tables import identifiers, identity_pairs, noisy_identifiers, profiles
from cxm.profiles.summary import fold
from cxm.profiles.tables import trait_observations

BIRTH_KEYS = ("birthday", "date_of_birth")
PERSON_KEYS = (
    "name",
    "firstName",
    "first_name",
    "lastName",
    "last_name",
    "birthday",
    "date_of_birth",
)
IN_CHUNK = 500

Ident = tuple[str, str]


@dataclass
class Chunk:
    """Everything one chunk decides, written in one go at its end."""

    policy: IdentityPolicy
    # identifier → [(profile, first_seq)] as stored or added, earliest first
    holders: dict[Ident, list[tuple[str, int]]]
    created_seq: dict[str, int]
    # values of the limited kinds each profile holds: profile → kind → values
    kinds: dict[str, dict[str, set[str]]]
    noisy: set[Ident]
    # pairs a person decided are different people, and where those profiles were merged
    separate: list[tuple[str, str]]
    stored_root: dict[str, str]
    # What people said about themselves: profile → {"name:…" or "birthday:…": first seq}
    said: dict[str, dict[str, int]] = field(default_factory=dict)
    merged_into: dict[str, str] = field(default_factory=dict)
    new_profiles: dict[str, dict[str, Any]] = field(default_factory=dict)
    new_identifiers: list[dict[str, Any]] = field(default_factory=list)
    new_noisy: list[dict[str, Any]] = field(default_factory=list)
    new_pairs: list[dict[str, Any]] = field(default_factory=list)
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
        profile_id = self.stored_root.get(profile_id, profile_id)
        while profile_id in self.merged_into:
            profile_id = self.merged_into[profile_id]
        return profile_id

    def holders_at(self, ident: Ident, seq: int) -> list[str]:
        """Profiles holding ``ident`` before event ``seq``, earliest holder first."""
        found: list[str] = []
        for pid, first in self.holders.get(ident, ()):
            root = self.resolve(pid)
            if first < seq and root not in found:
                found.append(root)
        return found


def profile_id_for(kind: str, value: str) -> str:
    """Profiles are named after the identifier that created them, so a rebuild names them alike."""
    return "p_" + hashlib.sha256(f"{kind}\x00{value}".encode()).hexdigest()[:20]


def load_chunk_state(conn: Connection, wanted: set[Ident], policy: IdentityPolicy) -> Chunk:
    """What the store knows about ``wanted`` identifiers and the profiles holding them."""
    by_kind: dict[str, list[str]] = {}
    for kind, value in wanted:
        by_kind.setdefault(kind, []).append(value)
    holders: dict[Ident, list[tuple[str, int]]] = {}
    noisy: set[Ident] = set()
    for kind, values in by_kind.items():
        for part in _parts(values):
            for value, profile_id, first in conn.execute(
                select(identifiers.c.value, identifiers.c.profile_id, identifiers.c.first_seq)
                .where(identifiers.c.kind == kind, identifiers.c.value.in_(part))
                .order_by(identifiers.c.first_seq)
            ):
                holders.setdefault((kind, value), []).append((profile_id, first))
            noisy.update(
                (kind, v)
                for (v,) in conn.execute(
                    select(noisy_identifiers.c.value).where(
                        noisy_identifiers.c.kind == kind, noisy_identifiers.c.value.in_(part)
                    )
                )
            )
    involved = sorted({pid for held in holders.values() for pid, _ in held})
    created: dict[str, int] = {}
    kinds: dict[str, dict[str, set[str]]] = {}
    unlimited = [k for k, limit in policy.limits.items() if limit.per_profile is None]
    for part in _parts(involved):
        created.update(
            conn.execute(
                select(profiles.c.id, profiles.c.created_seq).where(profiles.c.id.in_(part))
            ).all()
        )
        for pid, kind, value in conn.execute(
            select(identifiers.c.profile_id, identifiers.c.kind, identifiers.c.value).where(
                identifiers.c.profile_id.in_(part), identifiers.c.kind.not_in(unlimited)
            )
        ):
            kinds.setdefault(pid, {}).setdefault(kind, set()).add(value)
    separate = [
        (a, b)
        for a, b in conn.execute(
            select(identity_pairs.c.profile_a, identity_pairs.c.profile_b).where(
                identity_pairs.c.status == "separate"
            )
        )
    ]
    stored_root: dict[str, str] = {}
    ends = sorted({p for pair in separate for p in pair})
    for part in _parts(ends):
        stored_root.update(
            (pid, root)
            for pid, root in conn.execute(
                select(profiles.c.id, profiles.c.merged_into).where(
                    profiles.c.id.in_(part), profiles.c.merged_into.is_not(None)
                )
            )
        )
    # What the people involved said about themselves: names of those sharing an identifier
    # (to tell them apart), birth dates of all (two birth dates are two people).
    said: dict[str, dict[str, int]] = {}
    sharing = {pid for held in holders.values() if len(held) > 1 for pid, _ in held}
    # Everyone's birth dates; names only of those sharing an identifier (names are on nearly
    # every event, so loading them for all would cost more than the rest of the chunk).
    for ids, keys in ((involved, BIRTH_KEYS), (sorted(sharing), PERSON_KEYS)):
        for part in _parts(ids):
            for pid, key, value, seq in conn.execute(
                select(
                    trait_observations.c.profile_id,
                    trait_observations.c.key,
                    trait_observations.c.value,
                    func.min(trait_observations.c.seq),
                )
                .where(
                    trait_observations.c.profile_id.in_(part),
                    trait_observations.c.key.in_(keys),
                )
                .group_by(
                    trait_observations.c.profile_id,
                    trait_observations.c.key,
                    trait_observations.c.value,
                )
            ):
                known = said.setdefault(pid, {})
                for k in person_keys({key: orjson.loads(value)}):
                    known[k] = min(seq, known.get(k, seq))
    return Chunk(
        said=said,
        policy=policy,
        holders=holders,
        created_seq=created,
        kinds=kinds,
        noisy=noisy,
        separate=separate,
        stored_root=stored_root,
    )


def _parts(values: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(values), IN_CHUNK):
        yield values[start : start + IN_CHUNK]


@lru_cache(maxsize=65536)
def _name_key(name: str) -> str:
    return "name:" + " ".join(fold(name).split())


def person_keys(traits: dict[str, Any]) -> set[str]:
    """How an event says who the person is: folded full name, birthday."""
    found = set()
    name = traits.get("name")
    if not isinstance(name, str):
        first = traits.get("firstName") or traits.get("first_name")
        last = traits.get("lastName") or traits.get("last_name")
        name = f"{first} {last}" if isinstance(first, str) and isinstance(last, str) else None
    if isinstance(name, str) and name.strip():
        found.add(_name_key(name))
    for key in ("birthday", "date_of_birth"):
        if isinstance(traits.get(key), str) and traits[key].strip():
            found.add("birthday:" + traits[key].strip()[:10])
    return found
