"""Insights over REST: association rules between reported problems and purchases."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from fastapi import APIRouter, Depends, Query

from cxm.api.deps import get_workspace, require
from cxm.api.responses import JsonResponse
from cxm.auth import ApiPrincipal
from cxm.errors import InvalidInput
from cxm.insights import association_report
from cxm.store.metadata import utcnow
from cxm.workspace import Workspace

router = APIRouter(prefix="/api/insights", tags=["insights"])
require_read = require("read")


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
    _: ApiPrincipal = Depends(require_read),
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
