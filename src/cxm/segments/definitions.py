"""Reading a segment definition (JSON or YAML) and checking it, every problem listed at once.

>>> segment = segment_from_data(
...     {"name": "krakow-fibre", "traits": {"plan": "fibre", "city": {"one_of": ["Kraków"]}}}
... )
>>> [(c.trait, c.op) for c in segment.conditions]
[('plan', 'equals'), ('city', 'one_of')]
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import yaml

from cxm.errors import ErrorDetail
from cxm.segments.models import (
    OPERATORS,
    Condition,
    SegmentDefinition,
    SegmentDefinitionInvalid,
)

SEGMENT_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,99}$")
MAX_CONDITIONS = 50
MAX_OPTIONS = 1000
MAX_TRAIT_KEY = 200
MAX_DESCRIPTION = 2000
_KEYS = {"name", "description", "traits", "active_days"}

Loc = tuple[str | int, ...]


def parse_segment_yaml(text: str) -> SegmentDefinition:
    """A definition written in YAML (the same structure as the JSON form)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SegmentDefinitionInvalid(f"the segment definition is not valid YAML: {exc}") from exc
    return segment_from_data(data)


def segment_from_data(data: Any) -> SegmentDefinition:
    """Check a definition (parsed JSON or YAML) and build it; raises SegmentDefinitionInvalid.

    ``traits`` maps a trait key to its condition: a plain value (equality), ``{equals: v}``,
    ``{one_of: [v, …]}`` or ``{exists: true|false}``. ``active_days``: seen in that many days.
    """
    if not isinstance(data, dict):
        raise SegmentDefinitionInvalid(
            f"a segment definition is an object with name and traits, not {type(data).__name__}"
        )
    problems: list[ErrorDetail] = []

    def add(loc: Loc, message: str) -> None:
        where = ".".join(str(part) for part in loc)
        problems.append(ErrorDetail(loc, f"{where}: {message}" if where else message))

    for key in sorted(set(map(str, data)) - _KEYS):
        add((key,), f"unknown field; the fields are {', '.join(sorted(_KEYS))}")
    name = data.get("name")
    if not isinstance(name, str) or not SEGMENT_NAME.fullmatch(name):
        add(("name",), f"{name!r} is not a segment name: lower-case letters, digits, - or _")
    description = data.get("description")
    if description is not None and (
        not isinstance(description, str) or len(description) > MAX_DESCRIPTION
    ):
        add(("description",), f"the description must be text of at most {MAX_DESCRIPTION} chars")
        description = None

    conditions: list[Condition] = []
    raw_traits = data.get("traits", {})
    if not isinstance(raw_traits, dict):
        add(("traits",), "traits is an object of trait key: condition, e.g. {plan: fibre}")
        raw_traits = {}
    if len(raw_traits) > MAX_CONDITIONS:
        add(("traits",), f"at most {MAX_CONDITIONS} conditions")
    for key, raw in list(raw_traits.items())[:MAX_CONDITIONS]:
        condition = _condition(str(key), raw, add)
        if condition is not None:
            conditions.append(condition)

    active_days = data.get("active_days")
    if active_days is not None and (
        not isinstance(active_days, int)
        or isinstance(active_days, bool)
        or not 1 <= active_days <= 3650
    ):
        add(("active_days",), f"{active_days!r} is not a whole number of days from 1 to 3650")
        active_days = None
    if data.get("traits", {}) == {} and data.get("active_days") is None:
        add(
            ("traits",),
            "a segment without conditions would be every customer; give a trait condition "
            "or active_days",
        )

    if problems:
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        raise SegmentDefinitionInvalid(
            f"the segment definition is not valid: {problems[0].message}{more}", errors=problems
        )
    assert isinstance(name, str)
    return SegmentDefinition(
        name=name,
        description=description.strip() if isinstance(description, str) else None,
        conditions=tuple(conditions),
        active_days=active_days,
    )


def _condition(key: str, raw: Any, add: Callable[[Loc, str], None]) -> Condition | None:
    loc: Loc = ("traits", key)
    if not key.strip() or len(key) > MAX_TRAIT_KEY:
        add(loc, f"a trait key is text of 1 to {MAX_TRAIT_KEY} characters")
        return None
    if raw is None:
        add(
            loc, f"trait '{key}': null matches nothing; for a missing trait write {{exists: false}}"
        )
        return None
    if isinstance(raw, list):
        add(loc, f"trait '{key}': a list is ambiguous; write {{one_of: [...]}} for any of them")
        return None
    if not isinstance(raw, dict):
        return Condition(trait=key, op="equals", value=raw)
    if len(raw) != 1 or next(iter(raw)) not in OPERATORS:
        add(
            loc,
            f"trait '{key}': a condition is a value, {{equals: v}}, {{one_of: [v, ...]}} or "
            f"{{exists: true|false}}, not {raw!r}",
        )
        return None
    ((op, value),) = raw.items()
    if op == "exists":
        if not isinstance(value, bool):
            add((*loc, op), f"trait '{key}': exists is true or false, not {value!r}")
            return None
        return Condition(trait=key, op="exists", value=value)
    if op == "one_of":
        if not isinstance(value, list) or not value or len(value) > MAX_OPTIONS:
            add((*loc, op), f"trait '{key}': one_of is a list of 1 to {MAX_OPTIONS} values")
            return None
        if any(v is None or isinstance(v, dict | list) for v in value):
            add((*loc, op), f"trait '{key}': one_of lists plain values (text, numbers, true)")
            return None
        return Condition(trait=key, op="one_of", value=tuple(value))
    if value is None:
        add((*loc, op), f"trait '{key}': equals null matches nothing; write {{exists: false}}")
        return None
    return Condition(trait=key, op="equals", value=value)
