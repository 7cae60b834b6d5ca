"""Saving and reading journey maps. Every accepted map is a new version, kept as written.

A map is checked before it is stored, so the store never holds an invalid version; the newest
version is the current map. Edits made through the API (an influence weight) rewrite the YAML
in place, keeping the author's comments and layout, and are saved as a new version too.

>>> with ws.session() as session:                                        # doctest: +SKIP
...     version = do_save_journey_map(session=session, source=text, actor="user:ania")
...     do_set_influence(session=session, actor="user:ania", touchpoint="calls",
...                      department="hr", weight=0.6)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, ClassVar

import yaml
from sqlalchemy import Connection, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cxm.audit import record_action
from cxm.domain_events import DomainEvent, publish
from cxm.errors import Conflict, InvalidInput, NotFound
from cxm.journeys.map import JourneyMap, parse_journey_map
from cxm.journeys.tables import journey_maps
from cxm.store.metadata import utcnow

STORED_FILENAME = "journey.yaml"


@dataclass(frozen=True)
class JourneyMapSaved(DomainEvent):
    """A new version of the journey map is the current one."""

    name: ClassVar[str] = "journey-map-saved"
    version: int
    actor: str


@dataclass(frozen=True)
class JourneyMapVersion:
    """One stored version: who saved it, when and why (the map itself is read on demand)."""

    version: int
    name: str
    created_at: datetime
    actor: str
    note: str | None


@dataclass(frozen=True)
class StoredJourneyMap:
    """A stored version with its map and the YAML it was written in."""

    info: JourneyMapVersion
    journey: JourneyMap
    source: str


def do_save_journey_map(
    *,
    session: Session,
    source: str,
    actor: str,
    note: str | None = None,
    filename: str = "journey.yaml",
) -> int:
    """Check ``source`` (YAML) and store it as the next version; returns that version.

    An invalid map raises JourneyMapInvalid (every problem, with ``filename`` and line) and
    nothing is stored.
    """
    journey = parse_journey_map(source, filename=filename)
    conn = session.connection()
    version = (
        int(conn.execute(select(func.coalesce(func.max(journey_maps.c.version), 0))).scalar_one())
        + 1
    )
    row = {
        "version": version,
        "name": journey.name,
        "source": source,
        "created_at": utcnow(),
        "actor": actor,
        "note": note.strip() if note and note.strip() else None,
    }
    try:
        with session.begin_nested():
            session.execute(insert(journey_maps).values(**row))
    except IntegrityError as exc:
        raise Conflict(
            f"another journey map version {version} was saved at the same time; send it again"
        ) from exc
    record_action(
        session,
        actor=actor,
        action="journey_map.saved",
        subject=str(version),
        details={
            "version": version,
            "name": journey.name,
            "note": row["note"],
            "stages": len(journey.stages),
            "touchpoints": len(journey.touchpoints),
        },
    )
    publish(session, JourneyMapSaved(version=version, actor=actor))
    return version


def do_set_influence(
    *,
    session: Session,
    actor: str,
    touchpoint: str,
    department: str,
    weight: float | None,
    note: str | None = None,
) -> int:
    """Set (or, with ``weight=None``, remove) one cell of the influence matrix as a new version.

    The current YAML is edited in place, so comments and layout survive; returns the version.
    """
    current = latest_journey_map(session)
    if current is None:
        raise NotFound(_NO_MAP)
    current.journey.touchpoint(touchpoint)
    current.journey.department(department)
    if weight is not None and not 0 <= weight <= 1:
        raise InvalidInput(f"weight {weight} is outside 0–1; send a number from 0 to 1")
    source = set_influence_in_yaml(
        current.source, touchpoint=touchpoint, department=department, weight=weight
    )
    what = "removed" if weight is None else f"set to {_number(weight)}"
    return do_save_journey_map(
        session=session,
        source=source,
        actor=actor,
        note=note or f"influence of '{department}' on '{touchpoint}' {what}",
        filename=STORED_FILENAME,
    )


_NO_MAP = (
    "no journey map is saved yet: PUT /api/journey with a map in YAML, or run "
    "`cxm journey load FILE` (`cxm journey show --example` prints the demo company's map)"
)


# --- reading ------------------------------------------------------------------------------------


def latest_journey_map(db: Session | Connection) -> StoredJourneyMap | None:
    """The current (newest) version, or None when no map was saved."""
    conn = db.connection() if isinstance(db, Session) else db
    row = conn.execute(
        select(journey_maps).order_by(journey_maps.c.version.desc()).limit(1)
    ).first()
    return None if row is None else _stored(row._mapping)


def current_journey_map(db: Session | Connection) -> JourneyMap | None:
    """The current journey map, or None when no map was saved."""
    stored = latest_journey_map(db)
    return None if stored is None else stored.journey


def stored_journey_map(db: Session | Connection, version: int) -> StoredJourneyMap:
    conn = db.connection() if isinstance(db, Session) else db
    row = conn.execute(select(journey_maps).where(journey_maps.c.version == version)).first()
    if row is None:
        latest = conn.execute(select(func.max(journey_maps.c.version))).scalar()
        hint = f"versions are 1 to {latest}" if latest else "no map was saved yet"
        raise NotFound(f"there is no journey map version {version}; {hint}")
    return _stored(row._mapping)


def journey_map_version(db: Session | Connection, version: int) -> tuple[JourneyMap, str]:
    """One version: the map and the YAML it was written in."""
    stored = stored_journey_map(db, version)
    return stored.journey, stored.source


def list_journey_map_versions(db: Session | Connection) -> list[JourneyMapVersion]:
    """Every version, newest first."""
    conn = db.connection() if isinstance(db, Session) else db
    columns = [c for c in journey_maps.c if c.name != "source"]
    rows = conn.execute(select(*columns).order_by(journey_maps.c.version.desc()))
    return [_info(row._mapping) for row in rows]


def _info(row: Any) -> JourneyMapVersion:
    return JourneyMapVersion(
        version=row["version"],
        name=row["name"],
        created_at=row["created_at"],
        actor=row["actor"],
        note=row["note"],
    )


def _stored(row: Any) -> StoredJourneyMap:
    return StoredJourneyMap(
        info=_info(row), journey=_parse_stored(row["source"]), source=row["source"]
    )


@lru_cache(maxsize=16)
def _parse_stored(source: str) -> JourneyMap:
    return parse_journey_map(source, filename=STORED_FILENAME)


# --- editing the YAML in place ------------------------------------------------------------------


def set_influence_in_yaml(
    source: str, *, touchpoint: str, department: str, weight: float | None
) -> str:
    """``source`` with one influence weight set or removed, comments and layout kept.

    Falls back to writing the whole document again (comments lost) when the influence is not a
    plain mapping in the touchpoint (an alias, say).
    """
    expected = _expected(source, touchpoint, department, weight)
    edited = _edit_in_place(source, touchpoint, department, weight)
    if edited is not None and _influence_of(yaml.safe_load(edited), touchpoint) == expected:
        return edited
    data = yaml.safe_load(source)
    influence = _influence_of(data, touchpoint)
    influence.clear()
    influence.update(expected)
    return str(yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100))


def _influence_of(data: Any, touchpoint: str) -> dict[str, Any]:
    for item in data["touchpoints"]:
        if item.get("id") == touchpoint:
            influence: dict[str, Any] = item["influence"]
            return influence
    raise NotFound(f"the journey map has no touchpoint '{touchpoint}'")


def _expected(
    source: str, touchpoint: str, department: str, weight: float | None
) -> dict[str, Any]:
    influence = dict(_influence_of(yaml.safe_load(source), touchpoint))
    if weight is None:
        influence.pop(department, None)
    else:
        influence[department] = weight
    return influence


def _number(weight: float) -> str:
    short = f"{weight:g}"
    return short if float(short) == weight else repr(weight)


def _edit_in_place(
    source: str, touchpoint: str, department: str, weight: float | None
) -> str | None:
    root = yaml.compose(source, Loader=yaml.SafeLoader)
    node = _influence_node(root, touchpoint)
    if node is None:
        return None
    pairs = node.value
    for index, (key, value) in enumerate(pairs):
        if not isinstance(key, yaml.ScalarNode) or key.value != department:
            continue
        if not isinstance(value, yaml.ScalarNode):
            return None
        if weight is not None:
            return _splice(source, value.start_mark.index, value.end_mark.index, _number(weight))
        if node.flow_style:
            if index + 1 < len(pairs):  # "a: 1, b: 2" -> "b: 2"
                return _splice(
                    source, key.start_mark.index, pairs[index + 1][0].start_mark.index, ""
                )
            start = pairs[index - 1][1].end_mark.index if index else key.start_mark.index
            return _splice(source, start, value.end_mark.index, "")
        line_start = source.rfind("\n", 0, key.start_mark.index) + 1
        line_end = source.find("\n", value.end_mark.index)
        return _splice(source, line_start, len(source) if line_end < 0 else line_end + 1, "")
    if weight is None:
        return source
    entry = f"{department}: {_number(weight)}"
    if node.flow_style:
        if not pairs:
            return _splice(source, node.end_mark.index - 1, node.end_mark.index - 1, entry)
        end = pairs[-1][1].end_mark.index
        return _splice(source, end, end, f", {entry}")
    indent = " " * pairs[0][0].start_mark.column
    line_end = source.find("\n", pairs[-1][1].end_mark.index)
    at = len(source) if line_end < 0 else line_end
    return _splice(source, at, at, f"\n{indent}{entry}")


def _influence_node(root: yaml.Node | None, touchpoint: str) -> yaml.MappingNode | None:
    touchpoints = _child(root, "touchpoints")
    if not isinstance(touchpoints, yaml.SequenceNode):
        return None
    for item in touchpoints.value:
        ident = _child(item, "id")
        if isinstance(ident, yaml.ScalarNode) and ident.value == touchpoint:
            influence = _child(item, "influence")
            return influence if isinstance(influence, yaml.MappingNode) else None
    return None


def _child(node: yaml.Node | None, key: str) -> yaml.Node | None:
    if not isinstance(node, yaml.MappingNode):
        return None
    for key_node, value in node.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
            return value
    return None


def _splice(source: str, start: int, end: int, text: str) -> str:
    return source[:start] + text + source[end:]
