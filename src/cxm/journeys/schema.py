"""The shape of a journey map file: the pydantic models each part of the document must fit.

Every model forbids unknown keys and strips whitespace around text. The rules between the parts
(ids, references, the stage order, patterns that overlap) are in :mod:`cxm.journeys.validation`,
which checks a document against these models and reports every problem with its line.
:func:`overlap_example` tells whether two match patterns could claim the same event:

>>> overlap_example(MatchSpec(type="track", event=["signed-up", "paid"]), MatchSpec(type="track"))
"a track event named 'signed-up' on any channel"
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from cxm.journeys.yaml_source import Path


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


Text = Field(min_length=1, max_length=200)


class DocumentSpec(_Spec):
    journey: str = Text
    description: str | None = Field(default=None, max_length=5000)
    departments: dict[str, Any]
    stages: list[Any]
    touchpoints: list[Any]


class DepartmentSpec(_Spec):
    name: str = Text
    lead: str = Text
    description: str | None = Field(default=None, max_length=5000)
    # Other names the department goes by in source systems ("Serwis terenowy" in a call
    # centre's transfer log), so cases can tell which department a free-text name means.
    aliases: list[str] = Field(default_factory=list, max_length=50)


class IdentifiedSpec(_Spec):
    """An item of a list section, told apart from the others by its ``id``."""

    id: str


class StageSpec(IdentifiedSpec):
    name: str = Text
    after: list[str] | None = None
    description: str | None = Field(default=None, max_length=5000)


class MatchSpec(_Spec):
    type: str | list[str]
    event: str | list[str] | None = None
    channel: str | list[str] | None = None

    @property
    def types(self) -> tuple[str, ...]:
        return _as_tuple(self.type) or ()

    @property
    def events(self) -> tuple[str, ...] | None:
        return _as_tuple(self.event)

    @property
    def channels(self) -> tuple[str, ...] | None:
        return _as_tuple(self.channel)


# What a touchpoint is for the behavioural metrics (docs/metrics.md#behavioural-metrics): a
# customer contact, a request for data the customer must give, a resolution, a reopening, a
# self-service moment or a churn (cancellation). Touchpoints without a role are still on the map.
TouchpointRole = Literal["contact", "data_request", "resolution", "reopen", "self_service", "churn"]
TOUCHPOINT_ROLES: tuple[str, ...] = (
    "contact", "data_request", "resolution", "reopen", "self_service", "churn",
)  # fmt: skip


class TouchpointSpec(IdentifiedSpec):
    name: str = Text
    stage: str
    match: MatchSpec
    owner: str
    owner_name: str | None = Field(default=None, min_length=1, max_length=200)
    influence: dict[str, Any]
    role: TouchpointRole | None = None
    description: str | None = Field(default=None, max_length=5000)


def _as_tuple(value: str | list[str] | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    return (value,) if isinstance(value, str) else tuple(dict.fromkeys(value))


def overlap_example(a: MatchSpec, b: MatchSpec) -> str | None:
    """An event both patterns match, described for a person; None when they are disjoint."""
    types = [t for t in a.types if t in b.types]
    events = _intersect(a.events, b.events)
    channels = _intersect(a.channels, b.channels)
    if not types or events == () or channels == ():
        return None
    named = f" named '{events[0]}'" if events else " with any name"
    where = f"on channel {channels[0]}" if channels else "on any channel"
    return f"a {types[0]} event{named if types[0] != 'identify' else ''} {where}"


def _intersect(a: tuple[str, ...] | None, b: tuple[str, ...] | None) -> tuple[str, ...] | None:
    """Intersection where None means 'any'; () means the two share nothing."""
    if a is None:
        return b
    if b is None:
        return a
    return tuple(x for x in a if x in b)


def fields_at(model: type[BaseModel], loc: Path) -> list[str]:
    """The keys allowed at ``loc`` inside ``model`` (the pattern's keys inside a touchpoint)."""
    if loc and loc[0] == "match" and model is TouchpointSpec:
        return list(MatchSpec.model_fields)
    return list(model.model_fields)


@dataclass(frozen=True)
class MapDocument:
    """A journey map file that obeys every rule, with the stages in their resolved order."""

    journey: str
    description: str | None
    departments: dict[str, DepartmentSpec]
    stages: list[StageSpec]  # in order: the topological order of `after`
    stage_after: dict[str, tuple[str, ...]]
    touchpoints: list[TouchpointSpec]
