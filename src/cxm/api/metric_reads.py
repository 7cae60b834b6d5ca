"""The lake metrics as the REST API and the pages read them: validated queries, cached answers,
JSON-ready rows and CSV.

The catalogue runner caches its answers per lake generation itself; movers, the effort index
and retention are cached here the same way (``engine.remember``), so the overview and the
metrics page, reloaded between two lake syncs, read every figure from memory. Bad parameters
become :class:`~cxm.errors.InvalidInput` naming the field (``loc``), never a server error.

>>> query = catalogue_query({"by": ["touchpoint"]})
>>> query.by
('touchpoint',)
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd
from pydantic import BaseModel, ValidationError

from cxm.analytics import Engine
from cxm.errors import ErrorDetail, InvalidInput
from cxm.journeys.map import JourneyMap
from cxm.metrics.catalogue import CATALOGUE
from cxm.metrics.effort import effort_validation
from cxm.metrics.queries import CatalogueQuery
from cxm.metrics.runner import LAKE_METRICS, run_catalogue
from cxm.metrics.trends import MoversQuery, run_movers, run_retention

_BY_ID = {m.id: m for m in CATALOGUE}


def invalid(exc: ValidationError, where: str, model: type[BaseModel]) -> InvalidInput:
    """A pydantic error as the API's ``invalid_input``, each problem at ``(where, field)``.

    A check across fields (the period) has no location of its own; it is put at the field its
    message starts with (``start (…) must be before end (…)``).
    """
    details = []
    for error in exc.errors():
        message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        loc: tuple[str | int, ...] = tuple(error.get("loc", ()))
        if not loc:
            word = message.split(" ", 1)[0].strip("(:,")
            loc = (word,) if word in model.model_fields else ()
        details.append(ErrorDetail((where, *loc), message))
    first = details[0]
    field = ".".join(str(part) for part in first.loc[1:]) or where
    said = first.message if first.message.startswith(f"{field} ") else f"{field}: {first.message}"
    return InvalidInput(said, errors=details)


def check_lake_metrics(ids: Iterable[str] | None, where: str) -> None:
    """Every id must be a lake metric; a store metric is pointed to its own endpoint."""
    for metric_id in ids or ():
        entry = _BY_ID.get(metric_id)
        if entry is None or metric_id not in LAKE_METRICS:
            if entry is not None and entry.engine == "store":
                hint = (
                    f"{metric_id!r} is computed from a survey's own answers, not the event log: "
                    f"GET /api/metrics/{metric_id}"
                )
            elif metric_id == "retention":
                hint = "retention is by cohort: GET /api/metrics/retention"
            else:
                hint = f"no lake metric {metric_id!r}; known: {', '.join(LAKE_METRICS)}"
            raise InvalidInput(f"metrics: {hint}", errors=[ErrorDetail((where, "metrics"), hint)])


def split_list(values: Iterable[str] | None) -> list[str] | None:
    """Repeated and comma-separated query values as one list (None when none were given).

    >>> split_list(["nps,ces", "csat"])
    ['nps', 'ces', 'csat']
    """
    if values is None:
        return None
    items = [part.strip() for value in values for part in value.split(",") if part.strip()]
    return items or None


def catalogue_query(values: Mapping[str, Any], where: str = "query") -> CatalogueQuery:
    """A :class:`CatalogueQuery` from request values (unset ones left out)."""
    given = {k: v for k, v in values.items() if v is not None and v != ""}
    try:
        query = CatalogueQuery(**given)
    except ValidationError as exc:
        raise invalid(exc, where, CatalogueQuery) from None
    check_lake_metrics(query.metrics, where)
    return query


def movers_query(values: Mapping[str, Any], where: str = "query") -> MoversQuery:
    """A :class:`MoversQuery` whose dimension, metrics and periods are all usable."""
    given = {k: v for k, v in values.items() if v is not None and v != ""}
    try:
        query = MoversQuery(**given)
    except ValidationError as exc:
        raise invalid(exc, where, MoversQuery) from None
    check_lake_metrics(query.metrics, where)
    for first, after in (("a_start", "a_end"), ("b_start", "b_end")):
        start, end = getattr(query, first), getattr(query, after)
        if start is not None and end is not None and start >= end:
            message = f"{start} is not before {after} {end}; a period is [start, end)"
            raise InvalidInput(f"{first}: {message}", errors=[ErrorDetail((where, first), message)])
    return query


Members = list[str] | None  # the profile ids of the segment a segment:NAME dimension names


def _key(journey: JourneyMap, query: BaseModel, members: Members = None) -> tuple[Any, ...]:
    group = hash(tuple(sorted(members))) if members is not None else None
    return journey.model_dump_json(), query.model_dump_json(), group


def catalogue(
    engine: Engine, journey: JourneyMap, query: CatalogueQuery, *, members: Members = None
) -> pd.DataFrame:
    """The catalogue's rows (cached by the runner until the lake changes)."""
    return run_catalogue(engine, journey, query, members=members)


def movers(
    engine: Engine, journey: JourneyMap, query: MoversQuery, *, members: Members = None
) -> pd.DataFrame:
    """Every comparison of the two periods, the BH-flagged movers first (cached)."""
    key = ("api-movers", *_key(journey, query, members))
    return engine.remember(key, lambda: run_movers(engine, journey, query, members=members))


def retention(engine: Engine, *, confidence: float = 0.95) -> pd.DataFrame:
    """Retention by cohort (cached)."""
    return engine.remember(
        ("api-retention", confidence), lambda: run_retention(engine, confidence=confidence)
    )


@dataclass(frozen=True)
class EffortAnswer:
    """The effort index's validation figures and its rankings, as cached together."""

    figures: dict[str, Any]  # EffortValidation.as_dict(): Spearman correlations and their n
    summary: str
    customers: pd.DataFrame  # hardest first; customer_id is the profile id
    touchpoints: pd.DataFrame  # worst first, reportable ones before the others


def effort(engine: Engine, journey: JourneyMap, query: CatalogueQuery) -> EffortAnswer:
    """The effort index per customer and touchpoint with its agreement with CES and NPS."""
    key = ("api-effort", *_key(journey, query))
    computed: dict[str, Any] = {}

    def part(name: str) -> pd.DataFrame:
        if not computed:
            report = effort_validation(engine, journey, query)
            computed["figures"] = pd.DataFrame([{**report.as_dict(), "summary": report.summary()}])
            computed["customers"] = report.customer_effort
            computed["touchpoints"] = report.touchpoint_effort
        frame: pd.DataFrame = computed[name]
        return frame

    figures = engine.remember((*key, "figures"), lambda: part("figures"))
    row = records(figures)[0]
    summary = str(row.pop("summary"))
    return EffortAnswer(
        figures=row,
        summary=summary,
        customers=engine.remember((*key, "customers"), lambda: part("customers")),
        touchpoints=engine.remember((*key, "touchpoints"), lambda: part("touchpoints")),
    )


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as plain JSON values: NaN as null, numpy scalars as Python ones."""
    return [{str(k): plain(v) for k, v in row.items()} for row in frame.to_dict("records")]


def plain(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, date):  # datetimes and pandas timestamps too
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalars
        return plain(value.item())
    return value


def csv_text(frame: pd.DataFrame) -> str:
    """The frame as CSV (UTF-8, a header row, empty cells for missing values)."""
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False)
    return buffer.getvalue()


__all__ = [
    "EffortAnswer",
    "catalogue",
    "catalogue_query",
    "check_lake_metrics",
    "csv_text",
    "effort",
    "movers",
    "movers_query",
    "records",
    "retention",
    "split_list",
]
