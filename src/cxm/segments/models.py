"""Segment types: a named filter over customers' traits and recent activity.

A segment is deliberately small for now (the automation issue grows it): every condition must
hold, each on one trait key, and optionally the customer must have been active lately.

>>> plan = Condition(trait="plan", op="equals", value="fibre")
>>> plan.holds({"plan": "fibre"}), plan.holds({"plan": "Fibre"}), plan.holds({})
(True, False, False)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar, Literal

from cxm.domain_events import DomainEvent
from cxm.errors import InvalidInput

Operator = Literal["equals", "one_of", "exists"]
OPERATORS: tuple[Operator, ...] = ("equals", "one_of", "exists")


class SegmentDefinitionInvalid(InvalidInput):
    """A segment definition broke one or more rules; ``errors`` lists every problem."""

    code = "invalid_segment"


def same_value(a: Any, b: Any) -> bool:
    """Equal as JSON values: ``true`` is not ``1`` and ``"1"`` is not ``1``; 1 and 1.0 are."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    return type(a) is type(b) and a == b


@dataclass(frozen=True)
class Condition:
    """One condition on the current value of a trait.

    ``equals``: the value is exactly ``value`` (strings case-sensitive); ``one_of``: it is one
    of ``value`` (a tuple); ``exists``: the trait is known (``value`` True) or not (False).
    """

    trait: str
    op: Operator
    value: Any

    def holds(self, traits: Mapping[str, Any]) -> bool:
        if self.op == "exists":
            return (self.trait in traits) is self.value
        if self.trait not in traits:
            return False
        current = traits[self.trait]
        if self.op == "equals":
            return same_value(current, self.value)
        return any(same_value(current, option) for option in self.value)

    def to_data(self) -> Any:
        value = list(self.value) if self.op == "one_of" else self.value
        return {self.op: value}


@dataclass(frozen=True)
class SegmentDefinition:
    """Customers whose current traits meet every condition (and, with ``active_days``, who
    were seen in that many days)."""

    name: str
    description: str | None
    conditions: tuple[Condition, ...]
    active_days: int | None = None

    @property
    def trait_keys(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c.trait for c in self.conditions))

    def includes(
        self, traits: Mapping[str, Any], *, last_seen: datetime | None, now: datetime
    ) -> bool:
        """Whether a customer with these current traits, last seen then, is a member now."""
        if self.active_days is not None and (
            last_seen is None or last_seen < now - timedelta(days=self.active_days)
        ):
            return False
        return all(c.holds(traits) for c in self.conditions)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name}
        if self.description:
            data["description"] = self.description
        data["traits"] = {c.trait: c.to_data() for c in self.conditions}
        data["active_days"] = self.active_days
        return data


@dataclass(frozen=True)
class Segment:
    definition: SegmentDefinition
    created_at: datetime
    updated_at: datetime
    actor: str

    @property
    def name(self) -> str:
        return self.definition.name


@dataclass(frozen=True)
class SegmentSaved(DomainEvent):
    name: ClassVar[str] = "segment-saved"
    segment: str
    created: bool
