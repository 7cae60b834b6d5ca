"""Placing events on the journey map inside a query: touchpoint and stage as Ibis expressions.

The map's touchpoint patterns (type, event names, channels) compile to boolean predicates over
the lake's ``events`` table, so every engine classifies events the same way and nothing about
the map is copied into the lake (editing the map changes answers at once, with no resync).
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, date, datetime, time
from typing import Any, TypeVar

import ibis
import ibis.expr.types as ir
import pandas as pd
from pydantic import BaseModel

from cxm.errors import InvalidInput, NotFound
from cxm.journeys.map import JourneyMap, Touchpoint, TouchpointMatch

Q = TypeVar("Q", bound=BaseModel)
MEMO_SIZE = 64


def memoized(
    builder: Callable[[JourneyMap, Q], ir.Table],
) -> Callable[[JourneyMap, Q], ir.Table]:
    """Reuse the expression built for the same map object and an equal query.

    Building an expression over a map of fifty touchpoints costs tens of milliseconds in Ibis,
    more than answering it from the engine's cache; maps are immutable, and the stored map of
    a version is parsed once, so the same map object comes back for the same version.
    """
    built: OrderedDict[tuple[int, str, str], tuple[JourneyMap, ir.Table]] = OrderedDict()
    lock = threading.Lock()

    @functools.wraps(builder)
    def build(journey: JourneyMap, query: Q) -> ir.Table:
        key = (id(journey), type(query).__name__, query.model_dump_json())
        with lock:
            hit = built.get(key)
            if hit is not None and hit[0] is journey:
                built.move_to_end(key)
                return hit[1]
        expr = builder(journey, query)
        with lock:
            built[key] = (journey, expr)  # the map is kept, so its id is not reused meanwhile
            while len(built) > MEMO_SIZE:
                built.popitem(last=False)
        return expr

    return build


def pattern_predicate(events: ir.Table, match: TouchpointMatch) -> ir.BooleanValue:
    clauses: list[ir.BooleanValue] = [_one_of(events.type, match.types)]
    if match.events is not None:
        clauses.append(_one_of(events.event, match.events))
    if match.channels is not None:
        clauses.append(_one_of(events.channel, match.channels))
    predicate = clauses[0]
    for clause in clauses[1:]:
        predicate = predicate & clause
    return predicate


def _one_of(column: ir.StringValue, values: tuple[str, ...]) -> ir.BooleanValue:
    return column == values[0] if len(values) == 1 else column.isin(values)


def touchpoint_predicate(events: ir.Table, touchpoint: Touchpoint) -> ir.BooleanValue:
    return pattern_predicate(events, touchpoint.match)


def any_touchpoint(events: ir.Table, touchpoints: list[Touchpoint]) -> ir.BooleanValue:
    predicate = touchpoint_predicate(events, touchpoints[0])
    for tp in touchpoints[1:]:
        predicate = predicate | touchpoint_predicate(events, tp)
    return predicate


def touchpoint_column(events: ir.Table, journey: JourneyMap) -> ir.StringValue:
    """The id of the touchpoint each event is placed on (NULL: on none)."""
    # Patterns never overlap (the map is validated), so the order of the cases is irrelevant.
    cases = [(touchpoint_predicate(events, tp), tp.id) for tp in journey.touchpoints]
    if not cases:
        return ibis.null(type="string")
    return ibis.cases(*cases, else_=None)


def stage_rank_of(touchpoint: ir.StringValue, journey: JourneyMap) -> ir.IntegerValue:
    cases = [(touchpoint == tp.id, journey.stage_rank(tp.stage)) for tp in journey.touchpoints]
    return ibis.cases(*cases, else_=None)


def require_touchpoint(journey: JourneyMap, touchpoint_id: str, *, field: str) -> Touchpoint:
    try:
        return journey.touchpoint(touchpoint_id)
    except NotFound:
        known = ", ".join(tp.id for tp in journey.touchpoints[:12])
        raise InvalidInput(
            f"{field}: no touchpoint {touchpoint_id!r} in the journey map "
            f"(known: {known}{', ...' if len(journey.touchpoints) > 12 else ''})"
        ) from None


def in_period(events: ir.Table, start: date | None, end: date | None) -> ir.Table:
    """Events with ``start`` <= day < ``end`` (UTC days; either bound may be open)."""
    if start is not None:
        events = events.filter(events.t >= micros(start))
    if end is not None:
        events = events.filter(events.t < micros(end))
    return events


def micros(day: date) -> int:
    moment = datetime.combine(day, time(), tzinfo=UTC)
    return int(moment.timestamp()) * 1_000_000


DAY_US = 86_400 * 1_000_000


def optional_float(value: Any) -> float | None:
    """A number from an engine's answer, None for SQL NULL / NaN."""
    return None if value is None or pd.isna(value) else float(value)
