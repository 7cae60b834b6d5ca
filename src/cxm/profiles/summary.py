"""The denormalised columns of ``profiles`` (name, contact, counts) kept for lists and search."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator, Sequence
from typing import Any

import orjson
from sqlalchemy import Connection, bindparam, func, select, update

from cxm.identity.normalize import normalize_email
from cxm.identity.tables import identifiers, profiles
from cxm.profiles.tables import profile_events, trait_observations

NAME_KEYS = ("name", "firstName", "first_name", "lastName", "last_name")
SUMMARY_KEYS = (*NAME_KEYS, "email", "phone")
SEARCHED_KINDS = ("user_id", "email", "phone")
_IN_CHUNK = 500


def display_name(traits: dict[str, Any]) -> str | None:
    """``name``, else first and last name joined; None when neither is known."""
    name = traits.get("name")
    if isinstance(name, str) and name.strip():
        return name.strip()
    first = traits.get("firstName") or traits.get("first_name")
    last = traits.get("lastName") or traits.get("last_name")
    parts = [str(p).strip() for p in (first, last) if isinstance(p, str) and p.strip()]
    return " ".join(parts) or None


def update_profile_summaries(
    conn: Connection,
    *,
    placements: list[dict[str, Any]],
    observations: list[dict[str, Any]],
    new_identifiers: list[dict[str, Any]],
    recount: set[str],
) -> None:
    """Bring the denormalised columns up to date after a projector chunk.

    Counts and first/last seen grow from the chunk's placements; profiles that absorbed others
    (``recount``) are counted again from the timeline. Name, e-mail, phone and search text are
    recomputed only where the chunk brought a relevant trait or identifier.
    """
    grown: dict[str, list[Any]] = {}
    for p in placements:
        pid = p["profile_id"]
        if pid in recount:
            continue
        entry = grown.get(pid)
        if entry is None:
            grown[pid] = [1, p["at"], p["at"]]
        else:
            entry[0] += 1
            entry[1] = min(entry[1], p["at"])
            entry[2] = max(entry[2], p["at"])
    _apply_growth(conn, grown)
    _recount(conn, sorted(recount))
    relevant = {i["profile_id"] for i in new_identifiers if i["kind"] in SEARCHED_KINDS}
    relevant |= recount
    relevant |= _display_changed(conn, observations, skip=relevant)
    _refresh_display(conn, sorted(relevant))


def _display_changed(
    conn: Connection, observations: list[dict[str, Any]], *, skip: set[str]
) -> set[str]:
    """Profiles whose newest name or e-mail in this chunk differs from what they show.

    Customers restate the same name and e-mail in event after event; only a change warrants
    recomputing the display columns from the whole history.
    """
    newest: dict[str, dict[str, tuple[Any, int, str]]] = {}
    for o in observations:
        if o["key"] in SUMMARY_KEYS and o["profile_id"] not in skip:
            seen = newest.setdefault(o["profile_id"], {})
            stamp = (o["observed_at"], o["seq"])
            if o["key"] not in seen or stamp > seen[o["key"]][:2]:
                seen[o["key"]] = (*stamp, o["value"])
    changed = set()
    for part in _in_parts(sorted(newest)):
        for pid, shown_name, shown_email in conn.execute(
            select(profiles.c.id, profiles.c.display_name, profiles.c.email).where(
                profiles.c.id.in_(part)
            )
        ):
            traits = {key: orjson.loads(v[2]) for key, v in newest[pid].items()}
            if (
                any(key in traits for key in NAME_KEYS)
                and display_name(traits) != shown_name
                or "email" in traits
                and normalize_email(traits["email"]) != shown_email
            ):
                changed.add(pid)
    return changed


def _in_parts(ids: Sequence[str]) -> Iterator[list[str]]:
    for start in range(0, len(ids), _IN_CHUNK):
        yield list(ids[start : start + _IN_CHUNK])


def _apply_growth(conn: Connection, grown: dict[str, list[Any]]) -> None:
    updates = []
    for part in _in_parts(sorted(grown)):
        for pid, count, first, last in conn.execute(
            select(
                profiles.c.id, profiles.c.event_count, profiles.c.first_seen, profiles.c.last_seen
            ).where(profiles.c.id.in_(part))
        ):
            n, lo, hi = grown[pid]
            updates.append(
                {
                    "pid": pid,
                    "event_count": (count or 0) + n,
                    "first_seen": lo if first is None else min(first, lo),
                    "last_seen": hi if last is None else max(last, hi),
                }
            )
    _write_counts(conn, updates)


def _recount(conn: Connection, ids: list[str]) -> None:
    updates: list[dict[str, Any]] = []
    for part in _in_parts(ids):
        updates.extend(
            {"pid": pid, "event_count": n, "first_seen": first, "last_seen": last}
            for pid, n, first, last in conn.execute(
                select(
                    profile_events.c.profile_id,
                    func.count(),
                    func.min(profile_events.c.at),
                    func.max(profile_events.c.at),
                )
                .where(profile_events.c.profile_id.in_(part))
                .group_by(profile_events.c.profile_id)
            )
        )
    _write_counts(conn, updates)


def _write_counts(conn: Connection, updates: list[dict[str, Any]]) -> None:
    if updates:
        conn.execute(
            update(profiles)
            .where(profiles.c.id == bindparam("pid"))
            .values(
                event_count=bindparam("event_count"),
                first_seen=bindparam("first_seen"),
                last_seen=bindparam("last_seen"),
            ),
            updates,
        )


def _refresh_display(conn: Connection, ids: list[str]) -> None:
    updates = []
    for part in _in_parts(ids):
        latest: dict[str, dict[str, Any]] = {pid: {} for pid in part}
        ranked = (
            select(
                trait_observations.c.profile_id,
                trait_observations.c.key,
                trait_observations.c.value,
                func.row_number()
                .over(
                    partition_by=(trait_observations.c.profile_id, trait_observations.c.key),
                    order_by=(
                        trait_observations.c.observed_at.desc(),
                        trait_observations.c.seq.desc(),
                    ),
                )
                .label("rank"),
            )
            .where(
                trait_observations.c.profile_id.in_(part),
                trait_observations.c.key.in_(SUMMARY_KEYS),
            )
            .subquery()
        )
        for pid, key, value in conn.execute(
            select(ranked.c.profile_id, ranked.c.key, ranked.c.value).where(ranked.c.rank == 1)
        ):
            latest[pid][key] = orjson.loads(value)
        known: dict[str, dict[str, list[str]]] = {pid: {} for pid in part}
        for pid, kind, value in conn.execute(
            select(identifiers.c.profile_id, identifiers.c.kind, identifiers.c.value).where(
                identifiers.c.profile_id.in_(part),
                identifiers.c.kind.in_(SEARCHED_KINDS),
            )
        ):
            known[pid].setdefault(kind, []).append(value)
        for pid in part:
            traits, ids_of = latest[pid], known[pid]
            name = display_name(traits)
            words = [
                name,
                *ids_of.get("email", []),
                *ids_of.get("phone", []),
                *ids_of.get("user_id", []),
            ]
            updates.append(
                {
                    "pid": pid,
                    "display_name": name[:300] if name else None,
                    "email": normalize_email(traits.get("email")) or _first(ids_of.get("email")),
                    "phone": _first(ids_of.get("phone")),
                    "search_text": search_text(words),
                }
            )
    if updates:
        conn.execute(
            update(profiles)
            .where(profiles.c.id == bindparam("pid"))
            .values(
                display_name=bindparam("display_name"),
                email=bindparam("email"),
                phone=bindparam("phone"),
                search_text=bindparam("search_text"),
            ),
            updates,
        )


def fold(text: str) -> str:
    """Lower-case without diacritics, so "Łukasz Wójcik" is found by "lukasz wojcik"."""
    decomposed = unicodedata.normalize("NFKD", text.lower().replace("ł", "l"))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def search_text(words: list[str | None]) -> str:
    plain = " ".join(w for w in words if w).lower()
    folded = fold(plain)
    return plain if folded == plain else f"{plain} {folded}"


def _first(values: list[str] | None) -> str | None:
    return sorted(values)[0] if values else None
