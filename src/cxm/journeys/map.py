"""The journey map: ordered stages, the touchpoints in each, and who influences each touchpoint.

A CX manager writes the map in YAML (see ``docs/journeys.md``); :func:`parse_journey_map` checks
it and returns a frozen :class:`JourneyMap`. Each touchpoint has an event pattern, so every
event in the log belongs to at most one touchpoint:

>>> journey = default_journey_map()
>>> journey.match("page", "Offer – Fibre", "web").id
'offer-pages'
>>> [s.id for s in journey.stages][:3]
['discover', 'engage', 'purchase']
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any, Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, PrivateAttr

from cxm.errors import NotFound
from cxm.journeys.validation import (
    EVENT_TYPES,
    MapDocument,
    check_map_data,
    read_map_document,
)

EventType = Literal["track", "page", "screen", "identify"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class Department(_Frozen):
    """A part of the company that influences touchpoints; ``lead`` is the default owner."""

    id: str
    name: str
    lead: str
    description: str | None = None
    aliases: tuple[str, ...] = ()


class Stage(_Frozen):
    """A stage of the journey; ``rank`` is its place in the order, from 0."""

    id: str
    name: str
    rank: int
    after: tuple[str, ...]
    description: str | None = None


class TouchpointMatch(_Frozen):
    """Which events belong to a touchpoint. ``None`` means any name or any channel.

    Names are compared exactly (case-sensitive); for page and screen events the name is the
    page or screen name, for track events the event name. Identify events have no name.
    """

    types: tuple[EventType, ...]
    events: tuple[str, ...] | None = None
    channels: tuple[str, ...] | None = None

    def matches(self, type: str, event: str | None, channel: str) -> bool:
        return (
            type in self.types
            and (self.events is None or event in self.events)
            and (self.channels is None or channel in self.channels)
        )


class Touchpoint(_Frozen):
    """A moment where the customer meets the company, its pattern, owner and influence."""

    id: str
    name: str
    stage: str
    match: TouchpointMatch
    owner: str
    owner_name: str
    influence: dict[str, float]
    role: str | None = None  # one of TOUCHPOINT_ROLES: what the behavioural metrics count it as
    description: str | None = None


class InfluenceRow(NamedTuple):
    """One cell of the department influence matrix."""

    touchpoint: str
    department: str
    weight: float
    is_owner: bool


class JourneyMap(_Frozen):
    """A checked journey map. Build it with :func:`parse_journey_map`, not by hand."""

    name: str
    description: str | None = None
    departments: tuple[Department, ...]
    stages: tuple[Stage, ...]  # in journey order
    touchpoints: tuple[Touchpoint, ...]  # as written in the file

    _exact: dict[tuple[str, str | None], list[Touchpoint]] = PrivateAttr(default_factory=dict)
    _any_name: dict[str, list[Touchpoint]] = PrivateAttr(default_factory=dict)

    def model_post_init(self, context: Any) -> None:
        for touchpoint in self.touchpoints:
            for kind in touchpoint.match.types:
                if touchpoint.match.events is None:
                    self._any_name.setdefault(kind, []).append(touchpoint)
                else:
                    for name in touchpoint.match.events:
                        self._exact.setdefault((kind, name), []).append(touchpoint)

    def stage(self, stage_id: str) -> Stage:
        for stage in self.stages:
            if stage.id == stage_id:
                return stage
        known = ", ".join(s.id for s in self.stages)
        raise NotFound(f"the journey map has no stage '{stage_id}'; its stages: {known}")

    def stage_rank(self, stage_id: str) -> int:
        return self.stage(stage_id).rank

    def department(self, department_id: str) -> Department:
        for department in self.departments:
            if department.id == department_id:
                return department
        known = ", ".join(d.id for d in self.departments)
        raise NotFound(f"the journey map has no department '{department_id}'; known: {known}")

    def department_named(self, name: str) -> Department | None:
        """The department whose id, name or alias is ``name`` (case and spaces ignored).

        >>> default_journey_map().department_named("Serwis terenowy").id
        'field-service'
        """
        wanted = " ".join(name.split()).casefold()
        for department in self.departments:
            names = (department.id, department.name, *department.aliases)
            if any(" ".join(n.split()).casefold() == wanted for n in names):
                return department
        return None

    def touchpoint(self, touchpoint_id: str) -> Touchpoint:
        for touchpoint in self.touchpoints:
            if touchpoint.id == touchpoint_id:
                return touchpoint
        raise NotFound(
            f"the journey map has no touchpoint '{touchpoint_id}'; "
            "GET /api/journey or `cxm journey show` lists them"
        )

    def touchpoints_in(self, stage_id: str) -> list[Touchpoint]:
        self.stage(stage_id)
        return [t for t in self.touchpoints if t.stage == stage_id]

    def match(self, type: str, event: str | None, channel: str) -> Touchpoint | None:
        """The touchpoint an event belongs to (exact, case-sensitive names), or None.

        >>> default_journey_map().match("track", "Call Handled", "phone").stage
        'support'
        """
        candidates = self._exact.get((type, event), []) + self._any_name.get(type, [])
        for touchpoint in candidates:
            if touchpoint.match.matches(type, event, channel):
                return touchpoint
        return None

    def with_role(self, role: str) -> list[Touchpoint]:
        """The touchpoints the behavioural metrics count as ``role`` (e.g. ``contact``)."""
        return [t for t in self.touchpoints if t.role == role]

    def influence_rows(self) -> list[InfluenceRow]:
        """The influence matrix, touchpoint by touchpoint, departments in the map's order."""
        order = {d.id: i for i, d in enumerate(self.departments)}
        return [
            InfluenceRow(t.id, department, weight, department == t.owner)
            for t in self.touchpoints
            for department, weight in sorted(t.influence.items(), key=lambda i: order[i[0]])
        ]

    def to_dict(self) -> dict[str, Any]:
        """Plain data for the API: the map with stage ranks and resolved owners."""
        return self.model_dump(mode="json")

    def to_document(self) -> dict[str, Any]:
        """The map in the file's own structure: dump it as YAML and it parses back to this map."""
        default_after: tuple[str, ...] = ()
        stages = []
        for stage in self.stages:
            item: dict[str, Any] = {"id": stage.id, "name": stage.name}
            if stage.after != default_after:
                item["after"] = list(stage.after)
            if stage.description:
                item["description"] = stage.description
            stages.append(item)
            default_after = (stage.id,)
        leads = {d.id: d.lead for d in self.departments}
        touchpoints = []
        for t in self.touchpoints:
            match: dict[str, Any] = {"type": _one_or_list(t.match.types)}
            if t.match.events is not None:
                match["event"] = _one_or_list(t.match.events)
            if t.match.channels is not None:
                match["channel"] = _one_or_list(t.match.channels)
            item = {"id": t.id, "name": t.name, "stage": t.stage, "match": match}
            item["owner"] = t.owner
            if t.owner_name != leads[t.owner]:
                item["owner_name"] = t.owner_name
            item["influence"] = dict(t.influence)
            if t.role:
                item["role"] = t.role
            if t.description:
                item["description"] = t.description
            touchpoints.append(item)
        document: dict[str, Any] = {"journey": self.name}
        if self.description:
            document["description"] = self.description
        document["departments"] = {
            d.id: {"name": d.name, "lead": d.lead}
            | ({"description": d.description} if d.description else {})
            | ({"aliases": list(d.aliases)} if d.aliases else {})
            for d in self.departments
        }
        document["stages"] = stages
        document["touchpoints"] = touchpoints
        return document


def _one_or_list(values: tuple[str, ...]) -> str | list[str]:
    return values[0] if len(values) == 1 else list(values)


def parse_journey_map(text: str, *, filename: str = "journey.yaml") -> JourneyMap:
    """Check a journey map written in YAML and build it; raises JourneyMapInvalid listing every
    problem with ``filename`` and its line.

    >>> parse_journey_map(telecom_yaml(), filename="telecom.yaml").name
    'Vistula Telecom customer journey'
    """
    return _build(read_map_document(text, filename=filename))


def journey_map_from_data(data: Any, *, filename: str = "request body") -> JourneyMap:
    """Check a journey map given as data in the file's structure (a JSON body) and build it."""
    return _build(check_map_data(data, filename=filename))


def _build(document: MapDocument) -> JourneyMap:
    departments = tuple(
        Department(
            id=key,
            name=spec.name,
            lead=spec.lead,
            description=spec.description,
            aliases=tuple(spec.aliases),
        )
        for key, spec in document.departments.items()
    )
    stages = tuple(
        Stage(
            id=spec.id,
            name=spec.name,
            rank=rank,
            after=document.stage_after[spec.id],
            description=spec.description,
        )
        for rank, spec in enumerate(document.stages)
    )
    touchpoints = tuple(
        Touchpoint(
            id=spec.id,
            name=spec.name,
            stage=spec.stage,
            match=TouchpointMatch(
                types=tuple(t for t in spec.match.types if t in EVENT_TYPES),
                events=spec.match.events,
                channels=spec.match.channels,
            ),
            owner=spec.owner,
            owner_name=spec.owner_name or document.departments[spec.owner].lead,
            influence={name: float(weight) for name, weight in spec.influence.items()},
            role=spec.role,
            description=spec.description,
        )
        for spec in document.touchpoints
    )
    return JourneyMap(
        name=document.journey,
        description=document.description,
        departments=departments,
        stages=stages,
        touchpoints=touchpoints,
    )


def telecom_yaml() -> str:
    """The YAML of the demo company's journey map (Vistula Telecom), shipped with cxm."""
    return resources.files("cxm.journeys").joinpath("telecom.yaml").read_text(encoding="utf-8")


@cache
def default_journey_map() -> JourneyMap:
    """The demo company's journey map: every stage, and a touchpoint for each demo event."""
    return parse_journey_map(telecom_yaml(), filename="telecom.yaml")
