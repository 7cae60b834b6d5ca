"""Journey analytics over REST: each analysis takes its query object as a JSON body.

Answers come from the lake, which the worker keeps in step with the store (every
``CXM_LAKE_SYNC_INTERVAL_S``); each response says how far the lake has read the event log
(``lake_seq``), and ``POST /api/lake/sync`` brings it up to date at once.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
from fastapi import APIRouter, Depends

from cxm.api.deps import get_workspace, require, require_aggregates
from cxm.api.responses import JsonResponse
from cxm.auth import ApiPrincipal
from cxm.journeys.analytics import (
    DepartmentQuery,
    FunnelQuery,
    PathQuery,
    ProgressionQuery,
    ScorecardQuery,
    run_department,
    run_funnel,
    run_paths,
    run_progression,
    run_sankey,
    run_scorecard,
    run_transitions,
)
from cxm.workspace import Workspace

router = APIRouter(prefix="/api", tags=["journey analytics"])
require_read = require("read")
require_write = require("write")


@router.post("/journeys/funnel", summary="Funnel: customers through ordered steps in a window")
def funnel(
    query: FunnelQuery,
    ws: Workspace = Depends(get_workspace),
    _: ApiPrincipal = Depends(require_aggregates),
) -> JsonResponse:
    frame = run_funnel(ws.query_engine(), ws.journey_map(), query)
    return _answer(ws, rows=_records(frame))


@router.post("/journeys/paths", summary="Top paths out of (or into) a touchpoint, with Sankey data")
def paths(
    query: PathQuery,
    ws: Workspace = Depends(get_workspace),
    _: ApiPrincipal = Depends(require_aggregates),
) -> JsonResponse:
    engine, journey = ws.query_engine(), ws.journey_map()
    return _answer(
        ws,
        rows=_records(run_paths(engine, journey, query)),
        sankey=run_sankey(engine, journey, query),
    )


@router.post("/journeys/stages", summary="Stage progression: time in stage, stalls, regressions")
def stages(
    query: ProgressionQuery,
    ws: Workspace = Depends(get_workspace),
    _: ApiPrincipal = Depends(require_aggregates),
) -> JsonResponse:
    engine, journey = ws.query_engine(), ws.journey_map()
    return _answer(
        ws,
        rows=_records(run_progression(engine, journey, query)),
        transitions=_records(run_transitions(engine, journey, query)),
    )


@router.post("/journeys/scorecard", summary="Touchpoint scorecard: volume, customers, rates")
def scorecard(
    query: ScorecardQuery,
    ws: Workspace = Depends(get_workspace),
    _: ApiPrincipal = Depends(require_aggregates),
) -> JsonResponse:
    frame = run_scorecard(ws.query_engine(), ws.journey_map(), query)
    return _answer(ws, rows=_records(frame))


@router.post("/journeys/department", summary="Touchpoints a department influences, weighted")
def department(
    query: DepartmentQuery,
    ws: Workspace = Depends(get_workspace),
    _: ApiPrincipal = Depends(require_aggregates),
) -> JsonResponse:
    frame = run_department(ws.query_engine(), ws.journey_map(), query)
    return _answer(ws, rows=_records(frame))


@router.get("/lake", summary="What the lake holds and how far it has read the event log")
def lake_status(
    ws: Workspace = Depends(get_workspace), _: ApiPrincipal = Depends(require_aggregates)
) -> JsonResponse:
    s = ws.lake.status()
    return JsonResponse(
        {
            "ok": True,
            "lake_seq": s.events_seq,
            "events": s.events,
            "files": s.files,
            "bytes": s.bytes,
            "buckets": s.buckets,
        }
    )


@router.post("/lake/sync", summary="Copy what is new in the store to the lake now")
def lake_sync(
    ws: Workspace = Depends(get_workspace), _: ApiPrincipal = Depends(require_write)
) -> JsonResponse:
    report = ws.sync_lake()
    return JsonResponse(
        {
            "ok": True,
            "lake_seq": report.events_seq,
            "events": report.events,
            "moved_customers": report.moved_customers,
            "seconds": round(report.seconds, 3),
        }
    )


def _answer(ws: Workspace, **parts: Any) -> JsonResponse:
    return JsonResponse({"ok": True, "lake_seq": ws.lake.manifest().events_seq, **parts})


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{k: _plain(v) for k, v in row.items()} for row in frame.to_dict("records")]


def _plain(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item"):  # numpy scalars
        return _plain(value.item())
    return value
