"""The denormalised columns of ``profiles`` (name, contact, counts) kept for lists and search."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import Connection, bindparam, func, select, update

from cxm.identity.normalize import normalize_email
from cxm.identity.tables import identifiers, profiles
from cxm.profiles.tables import profile_events, trait_observations

NAME_KEYS = ("name", "firstName", "first_name", "lastName", "last_name")
SUMMARY_KEYS = (*NAME_KEYS, "email", "phone")
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


def refresh_profile_summaries(conn: Connection, profile_ids: Sequence[str]) -> None:
    for start in range(0, len(profile_ids), _IN_CHUNK):
        _refresh(conn, list(profile_ids[start : start + _IN_CHUNK]))


def _refresh(conn: Connection, ids: list[str]) -> None:
    if not ids:
        return
    counts = {
        pid: (n, first, last)
        for pid, n, first, last in conn.execute(
            select(
                profile_events.c.profile_id,
                func.count(),
                func.min(profile_events.c.at),
                func.max(profile_events.c.at),
            )
            .where(profile_events.c.profile_id.in_(ids))
            .group_by(profile_events.c.profile_id)
        )
    }
    latest: dict[str, dict[str, Any]] = {pid: {} for pid in ids}
    for pid, key, value in conn.execute(
        select(
            trait_observations.c.profile_id, trait_observations.c.key, trait_observations.c.value
        )
        .where(
            trait_observations.c.profile_id.in_(ids),
            trait_observations.c.key.in_(SUMMARY_KEYS),
        )
        .order_by(trait_observations.c.observed_at, trait_observations.c.seq)
    ):
        latest[pid][key] = orjson.loads(value)
    known: dict[str, dict[str, list[str]]] = {pid: {} for pid in ids}
    for pid, kind, value in conn.execute(
        select(identifiers.c.profile_id, identifiers.c.kind, identifiers.c.value).where(
            identifiers.c.profile_id.in_(ids), identifiers.c.kind.in_(("user_id", "email", "phone"))
        )
    ):
        known[pid].setdefault(kind, []).append(value)

    updates = []
    for pid in ids:
        n, first, last = counts.get(pid, (0, None, None))
        traits = latest[pid]
        name = display_name(traits)
        email = normalize_email(traits.get("email")) or _first(known[pid].get("email"))
        phone = _first(known[pid].get("phone"))
        words = [
            name,
            *known[pid].get("email", []),
            *known[pid].get("phone", []),
            *known[pid].get("user_id", []),
        ]
        updates.append(
            {
                "pid": pid,
                "display_name": name,
                "email": email,
                "phone": phone,
                "event_count": n,
                "first_seen": first,
                "last_seen": last,
                "search_text": search_text(words),
            }
        )
    conn.execute(
        update(profiles)
        .where(profiles.c.id == bindparam("pid"))
        .values(
            display_name=bindparam("display_name"),
            email=bindparam("email"),
            phone=bindparam("phone"),
            event_count=bindparam("event_count"),
            first_seen=bindparam("first_seen"),
            last_seen=bindparam("last_seen"),
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
