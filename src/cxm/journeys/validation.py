"""Every rule a journey map obeys, checked on plain data.

The text is read by :mod:`cxm.journeys.yaml_source`, which keeps the lines to point at, and each
part is fitted to its model in :mod:`cxm.journeys.schema`; a JSON body is checked by the same
rules, with paths instead of lines. All problems are collected and raised together as one
:class:`JourneyMapInvalid`, each with the file name, the line and a reason, so a CX manager can
fix a whole file in one pass:

>>> read_map_document("journey: X\\nstages: []\\n", filename="j.yaml")  # doctest: +SKIP
Traceback (most recent call last):
JourneyMapInvalid: j.yaml is not a valid journey map (3 problems); the first: j.yaml:1: ...
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Mapping
from itertools import combinations
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from cxm.config import CHANNELS
from cxm.errors import ErrorDetail, InvalidInput
from cxm.journeys.schema import (
    DepartmentSpec,
    DocumentSpec,
    IdentifiedSpec,
    MapDocument,
    StageSpec,
    TouchpointSpec,
    fields_at,
    overlap_example,
)
from cxm.journeys.yaml_source import LineLookup, Path, YamlSyntaxError, read_yaml

EVENT_TYPES: tuple[str, ...] = ("track", "page", "screen", "identify")
ID_PATTERN = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
MAX_SOURCE_BYTES = 1_000_000

S = TypeVar("S", bound=BaseModel)
Item = TypeVar("Item", bound=IdentifiedSpec)


class JourneyMapInvalid(InvalidInput):
    """A journey map broke one or more rules; ``errors`` lists every problem with its line."""

    code = "invalid_journey_map"
    http_status = 422


# --- problems, each with where it was written -----------------------------------------------------


class _Problems:
    def __init__(self, filename: str, locator: LineLookup) -> None:
        self.filename, self.locator = filename, locator
        self.found: list[tuple[int, ErrorDetail]] = []

    def add(self, path: Path, reason: str, *, line: int | None = None) -> None:
        line = line if line is not None else self.locator.line(path)
        if line is None:
            where = _path_text(path)
            message = f"{self.filename}: {where + ': ' if where else ''}{reason}"
            loc: Path = (self.filename, *path)
        else:
            message = f"{self.filename}:{line}: {reason}"
            loc = (self.filename, f"line {line}", *path)
        self.found.append((line or 0, ErrorDetail(loc, message)))

    def raise_if_any(self) -> None:
        if not self.found:
            return
        errors = [detail for _, detail in sorted(self.found, key=lambda f: f[0])]
        count = f"{len(errors)} problem{'s' if len(errors) > 1 else ''}"
        raise JourneyMapInvalid(
            f"{self.filename} is not a valid journey map ({count}); the first: {errors[0].message}",
            errors=errors,
        )


def _path_text(path: Path) -> str:
    text = ""
    for step in path:
        text += f"[{step}]" if isinstance(step, int) else f".{step}" if text else str(step)
    return text


# --- reading ----------------------------------------------------------------------------------


def read_map_document(text: str, *, filename: str = "journey.yaml") -> MapDocument:
    """Parse and check a journey map written in YAML; raise JourneyMapInvalid with every problem."""
    if len(text.encode("utf-8", "replace")) > MAX_SOURCE_BYTES:
        raise JourneyMapInvalid(
            f"{filename} is larger than {MAX_SOURCE_BYTES // 1000} kB; a journey map is smaller",
            errors=[ErrorDetail((filename,), "file too large")],
        )
    try:
        source = read_yaml(text)
    except YamlSyntaxError as exc:
        problems = _Problems(filename, LineLookup())
        problems.add((), f"YAML syntax error: {exc.reason}", line=exc.line)
        problems.raise_if_any()
        raise AssertionError("unreachable") from exc
    problems = _Problems(filename, source.lines)
    for duplicate in source.duplicate_keys:
        problems.add(
            duplicate.path,
            f"the key '{duplicate.key}' appears twice (also on line {duplicate.first_line}); "
            "keep one",
            line=duplicate.line,
        )
    return _check(source.data, problems)


def check_map_data(data: Any, *, filename: str = "request body") -> MapDocument:
    """Check a journey map given as data (a JSON body): the same rules, paths instead of lines."""
    return _check(data, _Problems(filename, LineLookup()))


# --- the rules --------------------------------------------------------------------------------


def _validate(model: type[S], value: Any, path: Path, problems: _Problems, what: str) -> S | None:
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        for error in exc.errors():
            _schema_problem(error, path, problems, model, what)
        return None


def _schema_problem(
    error: Mapping[str, Any], path: Path, problems: _Problems, model: type[BaseModel], what: str
) -> None:
    loc: Path = tuple(error["loc"])
    where = _path_text(loc)
    kind = error["type"]
    if kind == "missing":
        reason = f"{what} lacks the required field '{where}'"
        problems.add(path + loc[:-1], reason)
        return
    if kind == "extra_forbidden":
        allowed = ", ".join(fields_at(model, loc[:-1]))
        reason = f"unknown key '{loc[-1]}' in {what}; expected one of: {allowed}"
    elif kind == "model_type" or kind == "model_attributes_type":
        reason = f"{what}{' ' + where if where else ''} must be a mapping of keys to values"
    else:
        shown = repr(error.get("input"))
        shown = shown if len(shown) <= 60 else shown[:57] + "..."
        reason = f"{what}: '{where}' is {shown}: {error['msg'][0].lower()}{error['msg'][1:]}"
    problems.add(path + loc, reason)


def _check(data: Any, problems: _Problems) -> MapDocument:
    if data is None:
        problems.add(
            (),
            "the file is empty; a journey map needs journey, departments, stages and touchpoints",
        )
        problems.raise_if_any()
    if not isinstance(data, dict):
        problems.add((), f"a journey map is a mapping of keys to values, not {type(data).__name__}")
        problems.raise_if_any()
    document = _document(data, problems)

    departments: dict[str, DepartmentSpec] = {}
    for key, value in document.departments.items():
        path: Path = ("departments", key)
        if not isinstance(key, str) or not ID_PATTERN.match(key):
            problems.add(path, _bad_id("department", key))
            continue
        spec = _validate(DepartmentSpec, value, path, problems, f"department '{key}'")
        if spec is not None:
            departments[key] = spec

    stages = _check_stages(document.stages, problems)
    order, after = _stage_order(stages, problems)
    # An item with a problem of its own still counts as defined, so that references to it do
    # not add a second, misleading problem.
    stage_ids = {spec.id for spec, _ in stages} | _ids_written(document.stages)
    department_ids = [key for key in document.departments if isinstance(key, str)]
    touchpoints = _check_touchpoints(document.touchpoints, stage_ids, department_ids, problems)
    if not document.stages and isinstance(data.get("stages"), list):
        problems.add(("stages",), "a journey needs at least one stage")
    problems.raise_if_any()
    return MapDocument(
        journey=document.journey,
        description=document.description,
        departments=departments,
        stages=order,
        stage_after=after,
        touchpoints=[spec for spec, _ in touchpoints],
    )


def _document(data: dict[Any, Any], problems: _Problems) -> DocumentSpec:
    """The top level; a section in error is read as empty so the others are still checked."""
    sections = DocumentSpec.model_fields
    for key in data:
        if key not in sections:
            problems.add(
                (str(key),),
                f"unknown key '{key}' in the journey map; expected one of: {', '.join(sections)}",
            )
    given = {key: value for key, value in data.items() if key in sections}
    try:
        return DocumentSpec.model_validate(given)
    except ValidationError as exc:
        failed = set()
        for error in exc.errors():
            _schema_problem(error, (), problems, DocumentSpec, "the journey map")
            failed.add(error["loc"][0])
    empty = {"journey": "?", "departments": {}, "stages": [], "touchpoints": []}
    kept = {key: value for key, value in given.items() if key not in failed}
    return DocumentSpec.model_validate(empty | kept)


def _ids_written(items: list[Any]) -> set[str]:
    return {i["id"] for i in items if isinstance(i, dict) and isinstance(i.get("id"), str)}


def _bad_id(what: str, value: Any) -> str:
    return (
        f"{what} id {value!r} is not valid: use lowercase letters, digits, '-' and '_', starting "
        "with a letter (at most 64 characters)"
    )


def _items(
    items: list[Any], section: str, model: type[Item], what: str, problems: _Problems
) -> list[tuple[Item, int]]:
    """Each well-formed item with its index; ids checked for form and uniqueness."""
    found: list[tuple[Item, int]] = []
    first: dict[str, int] = {}
    for index, value in enumerate(items):
        ident = value.get("id") if isinstance(value, dict) else None
        label = f"{what} '{ident}'" if isinstance(ident, str) else f"{section}[{index}]"
        spec = _validate(model, value, (section, index), problems, label)
        if spec is None:
            continue
        ident = spec.id
        if not ID_PATTERN.match(ident):
            problems.add((section, index, "id"), _bad_id(what, ident))
        elif ident in first:
            line = problems.locator.line((section, first[ident]))
            also = (
                f" (first on line {line})" if line is not None else f" ({section}[{first[ident]}])"
            )
            problems.add((section, index, "id"), f"duplicate {what} id '{ident}'{also}")
        else:
            first[ident] = index
            found.append((spec, index))
    return found


def _check_stages(items: list[Any], problems: _Problems) -> list[tuple[StageSpec, int]]:
    stages = _items(items, "stages", StageSpec, "stage", problems)
    known = {spec.id for spec, _ in stages}
    for spec, index in stages:
        for position, name in enumerate(spec.after or ()):
            if name not in known:
                problems.add(
                    ("stages", index, "after", position),
                    f"stage '{spec.id}' comes after '{name}', which is not a stage; "
                    f"known stages: {', '.join(sorted(known))}",
                )
    return stages


def _stage_order(
    stages: list[tuple[StageSpec, int]], problems: _Problems
) -> tuple[list[StageSpec], dict[str, tuple[str, ...]]]:
    """Topological order of `after` (default: the stage listed before), ties in listed order."""
    known = {spec.id for spec, _ in stages}
    after: dict[str, tuple[str, ...]] = {}
    for position, (spec, _) in enumerate(stages):
        default = (stages[position - 1][0].id,) if position else ()
        given = spec.after if spec.after is not None else default
        after[spec.id] = tuple(name for name in given if name in known)
    position_of = {spec.id: position for position, (spec, _) in enumerate(stages)}
    waiting = {ident: len(set(before)) for ident, before in after.items()}
    followers: dict[str, list[str]] = {ident: [] for ident in after}
    for ident, before in after.items():
        for name in set(before):
            followers[name].append(ident)
    ready = [(position_of[i], i) for i, count in waiting.items() if count == 0]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        _, ident = heapq.heappop(ready)
        order.append(ident)
        for follower in followers[ident]:
            waiting[follower] -= 1
            if waiting[follower] == 0:
                heapq.heappush(ready, (position_of[follower], follower))
    if len(order) < len(stages):
        cycle = _a_cycle({i: b for i, b in after.items() if i not in order}, position_of)
        first = min(cycle, key=lambda i: position_of[i])
        cycle = cycle[cycle.index(first) :] + cycle[: cycle.index(first)]
        index = stages[position_of[first]][1]
        explicit = stages[position_of[first]][0].after is not None
        path: Path = ("stages", index, "after") if explicit else ("stages", index)
        problems.add(
            path,
            "the stage order has a cycle: "
            + " → ".join([*cycle, cycle[0]])
            + "; each stage must come after stages that do not come after it",
        )
        return [spec for spec, _ in stages], after
    by_id = {spec.id: spec for spec, _ in stages}
    return [by_id[i] for i in order], after


def _a_cycle(after: dict[str, tuple[str, ...]], position_of: dict[str, int]) -> list[str]:
    """One cycle among stages that could not be ordered, written in 'comes before' order."""
    start = min(after, key=lambda i: position_of[i])
    trail: list[str] = []
    current = start
    while current not in trail:
        trail.append(current)
        current = next(b for b in after[current] if b in after)
    cycle = trail[trail.index(current) :]
    return list(reversed(cycle))


def _check_touchpoints(
    items: list[Any],
    stage_ids: set[str],
    departments: list[str],
    problems: _Problems,
) -> list[tuple[TouchpointSpec, int]]:
    touchpoints = _items(items, "touchpoints", TouchpointSpec, "touchpoint", problems)
    known = ", ".join(departments) or "(none defined)"
    for spec, index in touchpoints:
        at: Path = ("touchpoints", index)
        this = f"touchpoint '{spec.id}'"
        if spec.stage not in stage_ids:
            problems.add(
                (*at, "stage"),
                f"{this} is in stage '{spec.stage}', which is not a stage; "
                f"known stages: {', '.join(sorted(stage_ids))}",
            )
        if spec.owner not in departments:
            problems.add(
                (*at, "owner"),
                f"{this} is owned by '{spec.owner}', which is not a department; known: {known}",
            )
        for name, weight in spec.influence.items():
            where = (*at, "influence", name)
            if name not in departments:
                problems.add(
                    where, f"{this} names '{name}', which is not a department; known: {known}"
                )
            if isinstance(weight, bool) or not isinstance(weight, int | float):
                problems.add(
                    where,
                    f"the weight for department '{name}' in {this} is "
                    f"{weight!r}; a weight is a number from 0 to 1",
                )
            elif not 0 <= weight <= 1:
                problems.add(
                    where, f"weight {weight} for department '{name}' in {this} is outside 0–1"
                )
        owner_weight = spec.influence.get(spec.owner)
        if spec.owner in departments and (owner_weight is None or owner_weight in (0, 0.0)):
            problems.add(
                (*at, "influence"),
                f"{this} is owned by '{spec.owner}', so influence must give '{spec.owner}' a "
                "weight above 0",
            )
        _check_match(spec, (*at, "match"), problems)
    _check_overlaps(touchpoints, problems)
    return touchpoints


def _check_match(spec: TouchpointSpec, at: Path, problems: _Problems) -> None:
    match, this = spec.match, f"touchpoint '{spec.id}'"
    for key in ("type", "event", "channel"):
        if getattr(match, key) == []:
            problems.add((*at, key), f"{this}: '{key}' is an empty list; leave it out for 'any'")
    for kind in match.types:
        if kind not in EVENT_TYPES:
            problems.add(
                (*at, "type"),
                f"{this}: unknown event type '{kind}'; expected one of {', '.join(EVENT_TYPES)}",
            )
    for channel in match.channels or ():
        if channel not in CHANNELS:
            problems.add(
                (*at, "channel"),
                f"{this}: unknown channel '{channel}'; expected one of {', '.join(CHANNELS)}",
            )
    if "identify" in match.types and match.events is not None:
        problems.add(
            (*at, "event"),
            f"{this}: identify events have no name, so a pattern with type identify cannot "
            "name events; leave 'event' out or match identify in a touchpoint of its own",
        )


def _check_overlaps(touchpoints: list[tuple[TouchpointSpec, int]], problems: _Problems) -> None:
    for (a, index_a), (b, index_b) in combinations(touchpoints, 2):
        example = overlap_example(a.match, b.match)
        if example is None:
            continue
        line = problems.locator.line(("touchpoints", index_a))
        other = f"line {line}" if line is not None else f"touchpoints[{index_a}]"
        problems.add(
            ("touchpoints", index_b, "match"),
            f"touchpoints '{a.id}' ({other}) and '{b.id}' could match the same event, e.g. "
            f"{example}; each event must belong to one touchpoint: narrow the event names or "
            "channels of one of them",
        )
