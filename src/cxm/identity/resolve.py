"""Probabilistic resolution of profiles that share no identifier (``cxm resolve``).

Each live profile becomes one or more person records (one per name it is known by: a Polish
customer's e-mail signed "Łukasz Wójcik", the contract's "Lukasz Wojcik", a Russian customer's
"Юлия Смирнова" and "Yulia Smirnova"; one per phone), with its address and date of birth.
The Fellegi–Sunter model (``cxm.identity.matching``) is fitted on them without labels, and
every candidate pair is scored:

- at or above ``CXM_MATCH_MERGE_PROBABILITY``: merged, with the evidence per field, unless a
  guardrail forbids it (two user ids) or one profile matches several people equally well: then
  the pair is queued for review;
- from ``CXM_MATCH_REVIEW_PROBABILITY``: queued for review;
- below: kept apart.

A pair decided before (merged, kept apart, or waiting) is never asked again. A full pass fits
the model and saves it in ``<workspace>/models/identity/``; an incremental pass scores only
profiles created since the last pass, with the saved model, without refitting.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection, select, update
from sqlalchemy.dialects import postgresql, sqlite

from cxm.audit import record_action
from cxm.errors import Conflict
from cxm.identity.matching import MatchModel, RecordTable
from cxm.identity.policy import IdentityPolicy
from cxm.identity.service import do_merge_profiles
from cxm.identity.tables import identifiers, identity_pairs, profiles
from cxm.profiles.merging import root_of
from cxm.profiles.tables import trait_observations
from cxm.store.metadata import utcnow
from cxm.store.tables import cursors

ACTOR = "system:matcher"
CURSOR = "identity-resolve"
MODEL_FILE = "matcher.json"
NAME_KEYS = ("name", "firstName", "first_name", "lastName", "last_name")
ADDRESS_KEYS = {
    "street": "street",
    "address": "street",
    "city": "city",
    "postal_code": "postcode",
    "postalCode": "postcode",
    "postcode": "postcode",
    "birthday": "birth_date",
    "date_of_birth": "birth_date",
    "dob": "birth_date",
    "birth_date": "birth_date",
}
COLUMNS = (
    "given_name",
    "family_name",
    "birth_date",
    "street",
    "city",
    "postcode",
    "phone",
)
# E-mail is not compared: profiles sharing an address are one already (by the rules), and two
# addresses alike ("anna.nowak@" at two providers) say the names are alike, which the name
# comparisons already count; counted twice, namesakes would look like one person.
MAX_ROWS_PER_PROFILE = 8


@dataclass
class ResolveReport:
    profiles: int = 0
    records: int = 0
    candidates: int = 0
    merged: int = 0
    queued: int = 0
    already_decided: int = 0
    kept_apart: int = 0  # scored in the review band but another first name and birth date
    incremental: bool = False
    seconds: float = 0.0
    model_path: str | None = None


def profile_records(conn: Connection) -> tuple[RecordTable, dict[str, int]]:
    """Person records of every live profile, and each profile's created_seq."""
    live = dict(
        conn.execute(
            select(profiles.c.id, profiles.c.created_seq).where(profiles.c.merged_into.is_(None))
        ).all()
    )
    names: dict[str, dict[int, dict[str, str]]] = defaultdict(dict)
    other: dict[str, dict[str, str]] = defaultdict(dict)
    keys = (*NAME_KEYS, *ADDRESS_KEYS)
    for pid, key, value, seq in conn.execute(
        select(
            trait_observations.c.profile_id,
            trait_observations.c.key,
            trait_observations.c.value,
            trait_observations.c.seq,
        )
        .where(trait_observations.c.key.in_(keys))
        .order_by(trait_observations.c.seq)
    ):
        if pid not in live:
            continue
        text = _text(value)
        if not text:
            continue
        if key in NAME_KEYS:
            names[pid].setdefault(seq, {})[key] = text
        else:
            other[pid][ADDRESS_KEYS[key]] = text
    phones: dict[str, list[str]] = defaultdict(list)
    for pid, value in conn.execute(
        select(identifiers.c.profile_id, identifiers.c.value)
        .where(identifiers.c.kind == "phone")
        .order_by(identifiers.c.first_seq)
    ):
        if pid in live:
            phones[pid].append(value)

    columns: dict[str, list[str | None]] = {c: [] for c in COLUMNS}
    entity: list[str] = []
    for pid in live:
        # One record per name the profile is known by, then one per further phone.
        names_known = _name_variants(names.get(pid, {})) or [(None, None)]
        held: list[str | None] = list(phones.get(pid, [])) or [None]
        rows = [(given, family, held[0]) for given, family in names_known]
        rows += [(*names_known[0], phone) for phone in held[1:]]
        for given, family, phone in rows[:MAX_ROWS_PER_PROFILE]:
            entity.append(pid)
            columns["given_name"].append(given)
            columns["family_name"].append(family)
            columns["phone"].append(phone)
            for column in ("birth_date", "street", "city", "postcode"):
                columns[column].append(other.get(pid, {}).get(column))
    used = {c: v for c, v in columns.items() if any(x for x in v)}
    return RecordTable.from_columns(used, entity=entity), live


def resolve_identities(
    conn_factory: Callable[[], Any],
    *,
    models_dir: Path,
    policy: IdentityPolicy,
    merge_probability: float,
    review_probability: float,
    full: bool = True,
    actor: str = ACTOR,
    on_stage: Callable[[str], None] | None = None,
) -> ResolveReport:
    """One pass of probabilistic matching over the live profiles; see the module docstring.

    ``conn_factory`` is ``Workspace.session``: a context manager yielding a session that
    commits at the end of its block.
    """
    started = time.perf_counter()
    report = ResolveReport()
    stage = on_stage or (lambda _: None)
    path = models_dir / MODEL_FILE
    stage("Reading profiles")
    with conn_factory() as session:
        conn = session.connection()
        table, live = profile_records(conn)
        position = conn.execute(select(cursors.c.position).where(cursors.c.name == CURSOR)).scalar()
        # A pair counts as decided (or asked) whatever profiles its two sides were merged into
        # since: the question is about the people, not the profile ids of the day.
        root = dict(
            conn.execute(
                select(profiles.c.id, profiles.c.merged_into).where(
                    profiles.c.merged_into.is_not(None)
                )
            ).all()
        )
        decided = set()
        for a, b in conn.execute(select(identity_pairs.c.profile_a, identity_pairs.c.profile_b)):
            ra, rb = root.get(a, a), root.get(b, b)
            decided |= {(a, b), (min(ra, rb), max(ra, rb))}
    report.profiles, report.records = len(live), table.n_rows
    if len(live) < 2:
        report.seconds = time.perf_counter() - started
        return report
    new: list[str] | None = None
    if not full:
        report.incremental = True
        if position is None or not path.exists():
            raise Conflict("no matching model yet: run a full pass first (cxm resolve)")
        model = MatchModel.load(path)
        new = [pid for pid, created in live.items() if created > position]
        if not new:
            report.seconds = time.perf_counter() - started
            return report
    else:
        stage("Training the matching model (EM, no labels)")
        model = MatchModel().fit(table)
        models_dir.mkdir(parents=True, exist_ok=True)
        model.save(path)
    report.model_path = str(path)
    stage("Scoring candidate pairs")
    pairs = model.predict(table, min_probability=review_probability, new_entities=new)
    report.candidates = len(pairs)
    labels = table.entity_labels
    order = sorted(range(len(pairs)), key=lambda i: -float(pairs.probability[i]))
    ambiguous = _ambiguous(pairs, order, labels, merge_probability)
    stage("Merging and queueing")
    with conn_factory() as session:
        conn = session.connection()
        for i in order:
            a, b = str(labels[pairs.left_entity[i]]), str(labels[pairs.right_entity[i]])
            key = (min(a, b), max(a, b))
            if key in decided:
                report.already_decided += 1
                continue
            decided.add(key)
            probability = float(pairs.probability[i])
            evidence = [
                {
                    "field": e.column,
                    "left": e.left_value,
                    "right": e.right_value,
                    "level": e.level,
                    "weight": round(e.weight, 2),
                }
                for e in model.explain(table, int(pairs.left[i]), int(pairs.right[i])).evidence
            ]
            if root_of(conn, a) == root_of(conn, b):
                continue
            why = "match probability in the review band"
            contradictions = _contradictions(evidence)
            if len(contradictions) == len(VETO_LEVELS):
                report.kept_apart += 1  # another first name and birth date: another person
                continue
            vetoed = "; ".join(contradictions)
            if probability >= merge_probability:
                if vetoed:
                    why = vetoed
                elif key in ambiguous:
                    why = "matches more than one person equally well"
                else:
                    try:
                        do_merge_profiles(
                            session,
                            actor=actor,
                            a=a,
                            b=b,
                            reason=f"match probability {probability:.4f}",
                            origin="model",
                            probability=probability,
                            evidence=evidence,
                            policy=policy,
                        )
                        report.merged += 1
                        continue
                    except Conflict as exc:
                        why = exc.message
            _queue(conn, key, probability, evidence, why)
            report.queued += 1
        _move_cursor(conn, max(live.values()))
        record_action(
            session,
            actor=actor,
            action="identity.resolved",
            subject=None,
            details={
                "incremental": report.incremental,
                "profiles": report.profiles,
                "candidates": report.candidates,
                "merged": report.merged,
                "queued": report.queued,
            },
        )
    report.seconds = time.perf_counter() - started
    return report


# A family shares a surname, an address and often a phone; counted as independent evidence
# they outweigh a different first name and birth date. So those two disagreeing outright
# stops an automatic merge, as two birth dates stop the deterministic rules: a person decides.
VETO_LEVELS = {"given_name": "else", "birth_date": "else"}


def _contradictions(evidence: list[dict[str, Any]]) -> list[str]:
    """Why the pair may not be merged automatically: the fields that disagree outright."""
    found = []
    for item in evidence:
        if VETO_LEVELS.get(item["field"]) == item["level"]:
            what = item["field"].replace("_", " ")
            found.append(f"their {what}s differ ({item['left']} / {item['right']})")
    return found


def _ambiguous(pairs: Any, order: list[int], labels: Any, threshold: float) -> set[tuple[str, str]]:
    """Pairs above ``threshold`` where one side also matches someone its partner does not."""
    partners: dict[str, set[str]] = defaultdict(set)
    strong: set[tuple[str, str]] = set()
    for i in order:
        if float(pairs.probability[i]) < threshold:
            break
        a, b = str(labels[pairs.left_entity[i]]), str(labels[pairs.right_entity[i]])
        partners[a].add(b)
        partners[b].add(a)
        strong.add((min(a, b), max(a, b)))
    doubtful: set[tuple[str, str]] = set()
    for entity, found in partners.items():
        if len(found) < 2:
            continue
        others = sorted(found)
        consistent = all(
            (min(x, y), max(x, y)) in strong for n, x in enumerate(others) for y in others[n + 1 :]
        )
        if not consistent:
            doubtful.update((min(entity, o), max(entity, o)) for o in others)
    return doubtful


def _queue(
    conn: Connection,
    key: tuple[str, str],
    probability: float,
    evidence: list[dict[str, Any]],
    why: str,
) -> None:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    conn.execute(
        dialect.insert(identity_pairs)
        .values(
            profile_a=key[0],
            profile_b=key[1],
            status="review",
            origin="model",
            probability=probability,
            evidence=orjson.dumps(evidence).decode(),
            reason=f"probable match ({probability:.1%}); not merged because {why}",
            created_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["profile_a", "profile_b"])
    )


def _move_cursor(conn: Connection, position: int) -> None:
    moved = conn.execute(
        update(cursors)
        .where(cursors.c.name == CURSOR)
        .values(position=position, updated_at=utcnow())
    )
    if moved.rowcount == 0:
        conn.execute(cursors.insert().values(name=CURSOR, position=position, updated_at=utcnow()))


def _text(value: str) -> str | None:
    try:
        decoded = orjson.loads(value)
    except orjson.JSONDecodeError:
        return None
    if isinstance(decoded, (int, float)) and not isinstance(decoded, bool):
        decoded = str(decoded)
    if not isinstance(decoded, str):
        return None
    text = " ".join(decoded.split())[:200]
    return text or None


def _name_variants(seen: dict[int, dict[str, str]]) -> list[tuple[str | None, str | None]]:
    """Distinct (given, family) names a profile was known by, oldest first."""
    found: list[tuple[str | None, str | None]] = []
    for traits in seen.values():
        first = traits.get("firstName") or traits.get("first_name")
        last = traits.get("lastName") or traits.get("last_name")
        candidates = []
        if first or last:
            candidates.append((first, last))
        if "name" in traits:
            parts = traits["name"].split(" ")
            candidates.append((parts[0], parts[-1]) if len(parts) > 1 else (parts[0], None))
        for candidate in candidates:
            if candidate not in found:
                found.append(candidate)
    return found[:MAX_ROWS_PER_PROFILE]
