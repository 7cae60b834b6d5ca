"""Whom a touchpoint event invites, and how: the customer's language, the case it was about,
and from when a survey's trigger is in force. Pure rules, but for reading the language traits.

>>> choose_language(["en", "pl"], ["pl-PL"])
'pl'
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from cxm.profiles.tables import trait_observations

LANGUAGE_TRAITS = ("language", "locale")


def choose_language(languages: Sequence[str], preferences: Iterable[Any]) -> str:
    """The first preference the survey is written in, else the survey's first language.

    >>> choose_language(["en", "pl"], ["pl-PL"]), choose_language(["en", "pl"], ["de", None])
    ('pl', 'en')
    """
    for preference in preferences:
        if not isinstance(preference, str) or not preference.strip():
            continue
        wanted = preference.strip().replace("_", "-").lower()
        for language in languages:
            if language.lower() == wanted:
                return language
        primary = wanted.split("-")[0]
        for language in languages:
            if language.lower().split("-")[0] == primary:
                return language
    return languages[0]


def case_ref_of(payload: dict[str, Any]) -> str | None:
    """The event's ``properties.case_ref`` when it is usable as a case reference."""
    properties = payload.get("properties")
    value = properties.get("case_ref") if isinstance(properties, dict) else None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if isinstance(value, str) and value.strip() and len(value) <= 200:
        return value.strip()
    return None


def trigger_since(history: Sequence[tuple[dict[str, Any], datetime]]) -> datetime:
    """When the newest version's trigger came into force: the save time of the oldest version
    in the newest run of versions that all have it (``history`` is newest first).

    A new version that only rewords a question keeps the trigger's start; one that moves the
    trigger to another touchpoint starts anew.
    """
    trigger = history[0][0].get("trigger")
    since = history[0][1]
    for data, created_at in history[1:]:
        if data.get("trigger") != trigger:
            break
        since = created_at
    return since


def language_traits(session: Session, profile_id: str) -> list[Any]:
    """The profile's newest ``language`` and ``locale`` traits, in that order."""
    obs = trait_observations.c
    newest: dict[str, Any] = {}
    for key, value in session.execute(
        select(obs.key, obs.value)
        .where(obs.profile_id == profile_id, obs.key.in_(LANGUAGE_TRAITS))
        .order_by(obs.observed_at.desc(), obs.seq.desc())
    ):
        newest.setdefault(key, orjson.loads(value))
    return [newest.get(key) for key in LANGUAGE_TRAITS]
