"""Departments over REST: each department's view of the experience it shapes (its
touchpoints' CX, its employees' eNPS, the two month by month), for managers and for a
department's own viewers (``cxm.metrics.departments``)."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, Query

from cxm.api.deps import get_workspace, require_aggregates, require_department
from cxm.api.responses import JsonResponse
from cxm.auth import ApiPrincipal
from cxm.auth.reach import check_aggregates
from cxm.metrics.departments import LINK_METRICS, department_summaries, department_view
from cxm.workspace import Workspace

router = APIRouter(prefix="/api/departments", tags=["departments"])


@router.get("", summary="Every department: its touchpoints, CSAT, NPS, eNPS and open cases")
def departments(
    end: date | None = Query(
        None, description="First UTC day after the period (default: the month after the last event)"
    ),
    months: int = Query(12, ge=3, le=36, description="Whole months in the period"),
    ws: Workspace = Depends(get_workspace),
    _: ApiPrincipal = Depends(require_aggregates),
) -> JsonResponse:
    with ws.session() as s:
        rows = department_summaries(ws.query_engine(), ws.journey_map(), s, end=end,
                                    months=months)  # fmt: skip
    return JsonResponse({"ok": True, "departments": rows})


@router.get(
    "/{department}",
    summary="One department: its touchpoints' CX, its eNPS, and the two month by month",
)
def department(
    department: str,
    end: date | None = Query(None, description="First UTC day after the period"),
    months: int = Query(12, ge=3, le=36, description="Whole months in the period"),
    cx_metric: str | None = Query(
        None,
        description=f"The monthly CX measure set beside eNPS: {', '.join(LINK_METRICS)} "
        "(default: the first with enough months)",
    ),
    ws: Workspace = Depends(get_workspace),
    principal: ApiPrincipal = Depends(require_department),
) -> JsonResponse:
    check_aggregates(principal, department)
    with ws.session() as s:
        view = department_view(ws.query_engine(), ws.journey_map(), s, department, end=end,
                               months=months, cx_metric=cx_metric)  # fmt: skip
    return JsonResponse({"ok": True, "department": view.to_dict()})
