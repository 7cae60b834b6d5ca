"""Survey metrics over REST: the catalogue, a metric per group, and period-over-period changes.

A figure below the minimum sample comes back with ``estimate`` null and a ``reason``.
"""

from __future__ import annotations

from datetime import date
from typing import Any, cast

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from cxm.api.deps import get_session, require
from cxm.api.responses import JsonResponse
from cxm.auth import ApiPrincipal
from cxm.errors import ErrorDetail, InvalidInput
from cxm.metrics.catalogue import CATALOGUE
from cxm.metrics.surveys import GroupBy, survey_metric, survey_metric_change

router = APIRouter(prefix="/api", tags=["metrics"])
require_read = require("read")

_BY = Query("none", description="none, touchpoint, month, department, survey or language")


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


@router.get("/metrics", summary="The metric catalogue: definitions, units and formulas")
def catalogue(_: ApiPrincipal = Depends(require_read)) -> JsonResponse:
    return JsonResponse({"ok": True, "metrics": [m.as_dict() for m in CATALOGUE]})


@router.get("/metrics/{metric}", summary="A survey metric per group, with its interval")
def metric_rows(
    metric: str,
    by: str = _BY,
    start: str | None = Query(None, description="First day, YYYY-MM-DD (UTC)"),
    end: str | None = Query(None, description="Day after the last, YYYY-MM-DD (UTC)"),
    survey: str | None = Query(None, description="Only this survey"),
    session: Session = Depends(get_session),
    _: ApiPrincipal = Depends(require_read),
) -> JsonResponse:
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
    _: ApiPrincipal = Depends(require_read),
) -> JsonResponse:
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
