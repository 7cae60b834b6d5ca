"""Metrics over REST: the catalogue, the lake metrics by any dimension, movers, the effort
index and retention; survey metrics per group and their period-over-period changes.

Lake metrics (survey answers and behaviour in the event log) come from ``/api/metrics/catalogue``
(and ``/movers``, ``/effort``, ``/retention``), each response saying how far the lake has read the
event log (``lake_seq``); a survey's own results (eNPS, response rate, per survey) come from
``/api/metrics/{metric}``. A figure below the minimum sample comes back with ``estimate`` null
and a ``reason``.
"""

from __future__ import annotations

from datetime import date
from typing import Any, cast

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from sqlalchemy.orm import Session

from cxm.api import metric_reads as reads
from cxm.api.deps import get_session, get_workspace, require, require_aggregates
from cxm.api.responses import JsonResponse
from cxm.auth import ApiPrincipal
from cxm.errors import ErrorDetail, InvalidInput
from cxm.metrics.catalogue import CATALOGUE
from cxm.metrics.queries import DIMENSIONS_HELP, CatalogueQuery
from cxm.metrics.surveys import GroupBy, survey_metric, survey_metric_change
from cxm.workspace import Workspace

router = APIRouter(prefix="/api", tags=["metrics"])
require_read = require("read")

_BY = Query("none", description="none, touchpoint, month, department, survey or language")
_BY_ID = {m.id: m for m in CATALOGUE}
MAX_TOP = 1000


def _day(value: str | None, name: str) -> date | None:
    if value is None or value == "":
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(
            f"{name}: {value!r} is not a date; use YYYY-MM-DD",
            errors=[ErrorDetail((name,), f"{value!r} is not a date (YYYY-MM-DD)")],
        ) from None


def _required(value: str | None, name: str) -> date:
    day = _day(value, name)
    if day is None:
        raise InvalidInput(
            f"{name} is required (YYYY-MM-DD)",
            errors=[ErrorDetail((name,), "required (YYYY-MM-DD)")],
        )
    return day


def _endpoint(metric_id: str) -> str:
    if metric_id == "retention":
        return "/api/metrics/retention"
    if _BY_ID[metric_id].engine == "lake":
        return f"/api/metrics/catalogue?metrics={metric_id}"
    return f"/api/metrics/{metric_id}"


def _survey_only(metric: str) -> None:
    """``/api/metrics/{metric}`` reads survey responses; behaviour lives in the lake."""
    entry = _BY_ID.get(metric)
    if entry is not None and entry.source == "behaviour":
        message = (
            f"{metric!r} is measured from behaviour in the event log, not from survey "
            f"responses: GET {_endpoint(metric)}"
        )
        raise InvalidInput(f"metric: {message}", errors=[ErrorDetail(("path", "metric"), message)])


def _members(ws: Workspace, query: CatalogueQuery) -> list[str] | None:
    """The profile ids of the segment a ``segment:NAME`` dimension names (404 if none)."""
    return ws.segment_members(query.segment) if query.segment else None


def _lake_answer(ws: Workspace, **parts: Any) -> JsonResponse:
    return JsonResponse({"ok": True, "lake_seq": ws.lake.manifest().events_seq, **parts})


@router.get("/metrics", summary="The metric catalogue: definitions, units and formulas")
def catalogue(_: ApiPrincipal = Depends(require_aggregates)) -> JsonResponse:
    metrics = [m.as_dict() | {"endpoint": _endpoint(m.id)} for m in CATALOGUE]
    return JsonResponse({"ok": True, "metrics": metrics, "dimensions": DIMENSIONS_HELP})


_METRICS_Q = Query(
    None,
    description="Catalogue ids of lake metrics, repeated or comma-separated; default: all",
)
_DIMS_Q = Query(None, description=f"Up to three of {DIMENSIONS_HELP}; repeated or comma-separated")


@router.post("/metrics/catalogue", summary="Lake metrics by dimension, with intervals")
def catalogue_rows(
    query: CatalogueQuery,
    ws: Workspace = Depends(get_workspace),
    _: ApiPrincipal = Depends(require_aggregates),
) -> JsonResponse:
    reads.check_lake_metrics(query.metrics, "body")
    frame = reads.catalogue(ws.query_engine(), ws.journey_map(), query, members=_members(ws, query))
    return _lake_answer(ws, query=query.model_dump(mode="json"), rows=reads.records(frame))


@router.get("/metrics/catalogue", summary="Lake metrics by dimension, as JSON or CSV")
def catalogue_rows_get(
    metrics: list[str] | None = _METRICS_Q,
    by: list[str] | None = _DIMS_Q,
    start: str | None = Query(None, description="First UTC day included, YYYY-MM-DD"),
    end: str | None = Query(None, description="First UTC day excluded, YYYY-MM-DD"),
    repeat_days: int | None = Query(None, description="Same matter within this many days (7)"),
    churn_days: int | None = Query(None, description="Churned: cancels within this many days"),
    confidence: float | None = Query(None, description="Confidence of the intervals (0.95)"),
    min_sample: int | None = Query(None, description="Fewer observations: no value (30)"),
    fmt: str = Query("json", alias="format", description="json, or csv for a download"),
    ws: Workspace = Depends(get_workspace),
    _: ApiPrincipal = Depends(require_aggregates),
) -> Response:
    if fmt not in ("json", "csv"):
        message = f"{fmt!r} is not a format; use json or csv"
        raise InvalidInput(f"format: {message}", errors=[ErrorDetail(("query", "format"), message)])
    values = {
        "metrics": reads.split_list(metrics),
        "by": reads.split_list(by) or (),
        "start": start,
        "end": end,
        "repeat_days": repeat_days,
        "churn_days": churn_days,
        "confidence": confidence,
        "min_sample": min_sample,
    }
    query = reads.catalogue_query(values)
    frame = reads.catalogue(ws.query_engine(), ws.journey_map(), query, members=_members(ws, query))
    if fmt == "csv":
        name = "-".join(("cxm-metrics", *[d.replace(":", "-") for d in query.by]))
        return Response(
            reads.csv_text(frame),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )
    return _lake_answer(ws, query=query.model_dump(mode="json"), rows=reads.records(frame))


@router.get("/metrics/movers", summary="What changed between two periods, with BH control")
def movers(
    by: str | None = Query(None, description=f"One of {DIMENSIONS_HELP}; none: the whole base"),
    metrics: list[str] | None = _METRICS_Q,
    q: float | None = Query(None, description="False discovery rate of the movers (0.05)"),
    a_start: str | None = Query(None, description="Period a (before): first day"),
    a_end: str | None = Query(None, description="Period a: first day excluded"),
    b_start: str | None = Query(None, description="Period b (after): first day"),
    b_end: str | None = Query(None, description="Period b: first day excluded"),
    min_sample: int | None = Query(None, description="Fewer in either period: not compared"),
    ws: Workspace = Depends(get_workspace),
    _: ApiPrincipal = Depends(require_aggregates),
) -> JsonResponse:
    """Default periods: the last whole month of the lake against the month before it."""
    query = reads.movers_query(
        {
            "by": by,
            "metrics": reads.split_list(metrics),
            "q": q,
            "a_start": a_start,
            "a_end": a_end,
            "b_start": b_start,
            "b_end": b_end,
            "min_sample": min_sample,
        }
    )
    segment = query.by.partition(":")[2] if query.by and query.by.startswith("segment:") else None
    members = ws.segment_members(segment) if segment else None
    frame = reads.movers(ws.query_engine(), ws.journey_map(), query, members=members)
    periods = {"a_period": None, "b_period": None}
    if len(frame):
        periods = {"a_period": frame["a_period"].iloc[0], "b_period": frame["b_period"].iloc[0]}
    return _lake_answer(
        ws,
        by=query.by,
        q=query.q,
        **periods,
        compared=len(frame),
        moved=int(frame["moved"].sum()) if len(frame) else 0,
        rows=reads.records(frame),
    )


@router.get("/metrics/effort", summary="The behavioural effort index and its validation")
def effort(
    top: int = Query(20, ge=0, le=MAX_TOP, description="How many customers, hardest first"),
    start: str | None = Query(None, description="First UTC day included, YYYY-MM-DD"),
    end: str | None = Query(None, description="First UTC day excluded, YYYY-MM-DD"),
    repeat_days: int | None = Query(None, description="Same matter within this many days (7)"),
    min_sample: int | None = Query(None, description="Touchpoints with fewer matters: unrated"),
    ws: Workspace = Depends(get_workspace),
    _: ApiPrincipal = Depends(require_aggregates),
) -> JsonResponse:
    """Spearman correlations of the index with CES and NPS answers, the customers with the
    most effort (``customer_id`` is the profile id) and the mean effort per touchpoint."""
    query = reads.catalogue_query(
        {"start": start, "end": end, "repeat_days": repeat_days, "min_sample": min_sample}
    )
    answer = reads.effort(ws.query_engine(), ws.journey_map(), query)
    return _lake_answer(
        ws,
        validation=answer.figures,
        summary=answer.summary,
        customers_total=len(answer.customers),
        customers=reads.records(answer.customers.head(top)),
        touchpoints=reads.records(answer.touchpoints),
    )


@router.get("/metrics/retention", summary="Retention by monthly cohort, with intervals")
def retention(
    confidence: float = Query(0.95, gt=0.5, lt=1.0, description="Confidence of the intervals"),
    ws: Workspace = Depends(get_workspace),
    _: ApiPrincipal = Depends(require_aggregates),
) -> JsonResponse:
    """Of the customers first seen in a month (cohort), the share active k months later."""
    frame = reads.retention(ws.query_engine(), confidence=confidence)
    return _lake_answer(ws, rows=reads.records(frame))


@router.get("/metrics/{metric}", summary="A survey metric per group, with its interval")
def metric_rows(
    metric: str,
    by: str = _BY,
    start: str | None = Query(None, description="First day, YYYY-MM-DD (UTC)"),
    end: str | None = Query(None, description="Day after the last, YYYY-MM-DD (UTC)"),
    survey: str | None = Query(None, description="Only this survey"),
    session: Session = Depends(get_session),
    _: ApiPrincipal = Depends(require_aggregates),
) -> JsonResponse:
    _survey_only(metric)
    rows = survey_metric(
        session,
        metric=metric,
        by=cast(GroupBy, by),
        start=_day(start, "start"),
        end=_day(end, "end"),
        survey=survey,
    )
    body: dict[str, Any] = {"ok": True, "metric": metric, "by": by}
    return JsonResponse(body | {"rows": [r.as_dict() for r in rows]})


@router.get("/metrics/{metric}/change", summary="Change between two periods, per group")
def metric_change(
    metric: str,
    by: str = _BY,
    a_start: str | None = Query(None, description="Period a: first day, YYYY-MM-DD"),
    a_end: str | None = Query(None, description="Period a: day after the last"),
    b_start: str | None = Query(None, description="Period b: first day, YYYY-MM-DD"),
    b_end: str | None = Query(None, description="Period b: day after the last"),
    survey: str | None = Query(None, description="Only this survey"),
    session: Session = Depends(get_session),
    _: ApiPrincipal = Depends(require_aggregates),
) -> JsonResponse:
    _survey_only(metric)
    period_a = (_required(a_start, "a_start"), _required(a_end, "a_end"))
    period_b = (_required(b_start, "b_start"), _required(b_end, "b_end"))
    for name, (first, after) in (("a_start", period_a), ("b_start", period_b)):
        if first >= after:
            raise InvalidInput(
                f"{name}: {first} is not before the period's end {after}",
                errors=[ErrorDetail((name,), "must be before the period's end")],
            )
    rows = survey_metric_change(
        session,
        metric=metric,
        by=cast(GroupBy, by),
        period_a=period_a,
        period_b=period_b,
        survey=survey,
    )
    body: dict[str, Any] = {"ok": True, "metric": metric, "by": by}
    return JsonResponse(body | {"rows": [r.as_dict() for r in rows]})
