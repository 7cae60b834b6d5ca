"""The Insights page: churn risk and its drivers, moments of truth per department, the anomaly
watch's alerts, the experience score, and the problem → purchase associations.

Everything shown is read from what the insights run kept (``cxm.insights.runtime``): the page
computes nothing heavy, so it opens at once on a large workspace.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from cxm.insights import association_report
from cxm.insights.churn_data import model_versions
from cxm.insights.labels import feature_label
from cxm.insights.scoring import risk_distribution
from cxm.insights.watch import list_alerts
from cxm.journeys.service import current_journey_map
from cxm.store.metadata import utcnow
from cxm.web.viewer import SignedIn, render_page, workspace_of

router = APIRouter(include_in_schema=False)
TOP_DRIVERS = 10


@router.get("/insights", response_class=HTMLResponse)
def insights_page(request: Request, viewer: SignedIn, all: bool = False) -> Response:  # noqa: A002
    ws = workspace_of(request)
    end = utcnow() + timedelta(days=1)
    with ws.session() as s:
        report = association_report(s, ws.query_engine(), start=end - timedelta(days=365),
                                    end=end)  # fmt: skip
        churn = risk_distribution(s)
        alerts = list_alerts(s, limit=20)
        journey = current_journey_map(s)
    rules = [r for r in report.rules if r.significant or all]
    versions = model_versions(ws.insights.churn_dir)
    kept = ws.insights.drivers() or {"analyses": {}, "refused": {}, "fix_first": {}}
    departments = {d.id: d.name for d in journey.departments} if journey else {}
    context: dict[str, Any] = {
        "report": report,
        "rules": rules,
        "show_all": all,
        "example": rules[0] if rules else None,
        "churn": churn,
        "churn_peak": max((b["customers"] for b in churn["histogram"]), default=0),
        "model": versions[-1] if versions else None,
        "drivers": {
            outcome: {**analysis, "top": analysis["drivers"][:TOP_DRIVERS]}
            for outcome, analysis in kept["analyses"].items()
        },
        "refused": kept["refused"],
        "fix_first": kept["fix_first"],
        "computed_at": kept.get("computed_at"),
        "alerts": alerts,
        "departments": departments,
        "experience": ws.insights.experience(),
        "feature_label": feature_label,
        "last_refresh": ws.insights.last_refresh(),
    }
    return render_page(request, "insights.html", context, viewer=viewer, active="insights")
