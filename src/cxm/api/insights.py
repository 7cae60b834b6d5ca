"""Insights over REST: association rules between reported problems and purchases, churn risk,
the drivers of churn and NPS, and the anomaly watch's alerts."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from fastapi import APIRouter, Depends, Query, Request

from cxm.api.deps import get_workspace, require, require_aggregates, viewed
from cxm.api.responses import JsonResponse
from cxm.auth import ApiPrincipal
from cxm.errors import InvalidInput, NotFound
from cxm.insights import association_report
from cxm.store.metadata import utcnow
from cxm.workspace import Workspace

router = APIRouter(prefix="/api/insights", tags=["insights"])
profiles_router = APIRouter(prefix="/api", tags=["insights"])
require_read = require("read")
require_admin = require("admin")


@router.get(
    "/associations",
    summary="Problems customers report → what they buy after (lift, Fisher test, BH)",
)
def associations(
    start: date | None = Query(None, description="First UTC day included (default: a year ago)"),
    end: date | None = Query(None, description="First UTC day excluded (default: tomorrow)"),
    min_customers: int = Query(10, ge=1, le=100_000, description="Fewest per item"),
    min_both: int = Query(5, ge=1, le=100_000, description="Fewest with both"),
    alpha: float = Query(0.05, gt=0, lt=1, description="False discovery rate"),
    ws: Workspace = Depends(get_workspace),
    _: ApiPrincipal = Depends(require_aggregates),
) -> JsonResponse:
    today = utcnow().date()
    end = end or today + timedelta(days=1)
    start = start or end - timedelta(days=365)
    if end <= start:
        raise InvalidInput(f"end ({end}) must come after start ({start})")
    begin = datetime.combine(start, time(), tzinfo=utcnow().tzinfo)
    finish = datetime.combine(end, time(), tzinfo=utcnow().tzinfo)
    with ws.session() as s:
        report = association_report(s, ws.query_engine(), start=begin, end=finish,
                                    min_customers=min_customers, min_both=min_both,
                                    alpha=alpha)  # fmt: skip
    return JsonResponse(
        {
            "ok": True,
            "start": start.isoformat(),
            "end": end.isoformat(),
            "customers": report.customers,
            "reporters": report.reporters,
            "buyers": report.buyers,
            "tested": report.tested,
            "alpha": report.alpha,
            "rules": [r.to_dict() for r in report.rules],
        }
    )


@router.get("/churn", summary="Churn risk: customers per band and risk bin, the riskiest, versions")
def churn(
    ws: Workspace = Depends(get_workspace), _: ApiPrincipal = Depends(require_read)
) -> JsonResponse:
    from cxm.insights.churn_data import model_versions
    from cxm.insights.scoring import risk_distribution

    with ws.session() as s:
        distribution = risk_distribution(s)
    versions = model_versions(ws.insights.churn_dir)
    return JsonResponse({"ok": True, **distribution, "versions": versions})


@router.get("/drivers", summary="Moments of truth: drivers of churn and NPS, fix-first lists")
def drivers(
    ws: Workspace = Depends(get_workspace), _: ApiPrincipal = Depends(require_aggregates)
) -> JsonResponse:
    kept = ws.insights.drivers()
    if kept is None:
        raise NotFound(
            "no driver analysis yet: the worker makes one every CXM_INSIGHTS_INTERVAL_S, or run "
            "POST /api/insights/refresh (`cxm insights refresh`)"
        )
    return JsonResponse({"ok": True, **kept})


@router.get("/alerts", summary="Alerts the anomaly watch raised, newest first")
def alerts(
    limit: int = Query(100, ge=1, le=1000, description="How many"),
    ws: Workspace = Depends(get_workspace),
    _: ApiPrincipal = Depends(require_aggregates),
) -> JsonResponse:
    from cxm.insights.watch import list_alerts

    with ws.session() as s:
        found = list_alerts(s, limit=limit)
    return JsonResponse({"ok": True, "alerts": [a.to_dict() for a in found]})


@router.post("/refresh", summary="Retrain when stale, score everyone, drivers, anomaly watch")
def refresh(
    retrain: bool = Query(False, description="Train a new churn model version even if fresh"),
    ws: Workspace = Depends(get_workspace),
    _: ApiPrincipal = Depends(require_admin),
) -> JsonResponse:
    report = ws.insights.refresh(retrain=True if retrain else None)
    return JsonResponse({"ok": True, **report.to_dict()})


@profiles_router.get("/profiles/{ref}/churn", summary="A customer's churn risk and its reasons")
def customer_churn(
    request: Request,
    ref: str,
    ws: Workspace = Depends(get_workspace),
    principal: ApiPrincipal = Depends(require_read),
) -> JsonResponse:
    from cxm.insights.scoring import score_of
    from cxm.profiles import resolve_profile_id

    with ws.session() as s:
        profile_id = resolve_profile_id(s, ref)
        score = score_of(s, profile_id)
    viewed(request, principal, profile_id, "churn risk")
    if score is None:
        raise NotFound(
            f"{profile_id} has no churn score: customers are scored once a churn model exists "
            "(`cxm insights churn train`) and the next insights run has passed"
        )
    return JsonResponse({"ok": True, **score.to_dict()})
