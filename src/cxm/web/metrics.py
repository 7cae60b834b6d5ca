"""The CX metrics in the dashboard: the overview's metrics panel and the Metrics page.

``/overview`` renders at once and asks ``/overview/metrics`` for its CX panel (htmx, on load):
tiles for the headline metrics of the last whole month with their intervals and monthly
trends, the biggest movers by touchpoint and effort by touchpoint. ``/metrics`` is the whole
catalogue as a table (metric × group) for a chosen dimension and period, with a CSV download
(``/metrics/catalogue.csv``), and retention by cohort as a heatmap.

Every figure comes from the lake through :mod:`cxm.api.metric_reads`, cached until the lake
changes, so reloading either page between two syncs computes nothing. A workspace without a
journey map or without events gets a hint, never an error page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from cxm.analytics import Engine
from cxm.api import metric_reads as reads
from cxm.errors import NotFound
from cxm.journeys.map import JourneyMap
from cxm.metrics.queries import CatalogueQuery
from cxm.metrics.trends import MoversQuery, last_whole_months
from cxm.web.i18n import translator
from cxm.web.metric_charts import retention_option
from cxm.web.metric_views import (
    TABLE_DIMENSIONS,
    Translate,
    catalogue_table,
    effort_card,
    movers_card,
    tiles,
)
from cxm.web.viewer import SECURITY_HEADERS, SignedIn, is_partial, render_page, workspace_of

router = APIRouter(include_in_schema=False)


def _journey_or_none(request: Request) -> JourneyMap | None:
    try:
        return workspace_of(request).journey_map()
    except NotFound:
        return None


def overview_metrics(
    engine: Engine, journey: JourneyMap | None, t: Translate, lang: str
) -> dict[str, Any]:
    """The overview's CX panel: ``state`` is ``no_map``, ``empty`` or ``ready``."""
    if journey is None:
        return {"state": "no_map"}
    months = last_whole_months(engine)
    if months is None:
        return {"state": "empty"}
    _, last, _ = months
    monthly = reads.catalogue(engine, journey, CatalogueQuery(by=("month",)))
    overall = reads.movers(engine, journey, MoversQuery())
    by_touchpoint = reads.movers(engine, journey, MoversQuery(by="touchpoint"))
    effort = reads.effort(engine, journey, CatalogueQuery())
    return {
        "state": "ready",
        "last_month": f"{last:%Y-%m}",
        "tiles": tiles(monthly, overall, f"{last:%Y-%m}", t, lang),
        "movers": movers_card(by_touchpoint, journey, t, lang),
        "q": f"{MoversQuery().q:g}".replace(".", "," if lang == "pl" else "."),
        "effort": effort_card(effort.figures, effort.touchpoints, journey, t, lang),
        "min_sample": CatalogueQuery().min_sample,
    }


@router.get("/overview/metrics", response_class=HTMLResponse)
def overview_metrics_panel(request: Request, viewer: SignedIn) -> Response:
    t = translator(viewer.lang)
    engine = workspace_of(request).query_engine()
    context = overview_metrics(engine, _journey_or_none(request), t, viewer.lang)
    return render_page(request, "_overview_metrics.html", context, viewer=viewer)


@dataclass
class TableParams:
    """The Metrics page's choices, as typed (to refill the form) and as checked."""

    by: str = "month"
    start: str = ""
    end: str = ""
    problems: list[str] = field(default_factory=list)
    query: CatalogueQuery | None = None

    @property
    def query_string(self) -> str:
        given = {"by": self.by, "start": self.start, "end": self.end}
        return urlencode({k: v for k, v in given.items() if v})


def table_params(by: str | None, start: str | None, end: str | None, t: Translate) -> TableParams:
    """The dimension must be one of the page's, the days real days, start before end."""
    params = TableParams(by=(by or "month")[:40], start=(start or "")[:20], end=(end or "")[:20])
    if params.by not in TABLE_DIMENSIONS:
        params.problems.append(t("metrics.error.by", by=params.by))
    days: dict[str, date | None] = {}
    for name in ("start", "end"):
        text = getattr(params, name)
        try:
            days[name] = date.fromisoformat(text) if text else None
        except ValueError:
            params.problems.append(t("metrics.error.day", field=t(f"metrics.{name}"), value=text))
    if not params.problems:
        try:
            params.query = CatalogueQuery(by=(params.by,), start=days["start"], end=days["end"])
        except ValidationError:
            params.problems.append(t("metrics.error.period"))
    return params


def _table_context(
    request: Request, journey: JourneyMap | None, params: TableParams, t: Translate, lang: str
) -> dict[str, Any]:
    table = None
    if journey is not None and params.query is not None:
        frame = reads.catalogue(workspace_of(request).query_engine(), journey, params.query)
        table = catalogue_table(frame, params.by, journey, t, lang)
    return {
        "params": params,
        "dimensions": TABLE_DIMENSIONS,
        "table": table,
        "has_map": journey is not None,
        "min_sample": CatalogueQuery().min_sample,
    }


@router.get("/metrics", response_class=HTMLResponse)
def metrics_page(
    request: Request,
    viewer: SignedIn,
    by: str | None = None,
    start: str | None = None,
    end: str | None = None,
) -> Response:
    t = translator(viewer.lang)
    params = table_params(by, start, end, t)
    journey = _journey_or_none(request)
    context = _table_context(request, journey, params, t, viewer.lang)
    status = 400 if params.problems else 200
    if is_partial(request):
        return render_page(
            request, "_metrics_table.html", context, viewer=viewer, status_code=status
        )
    retention = reads.retention(workspace_of(request).query_engine())
    chart = retention_option(retention, t, viewer.lang) if len(retention) else None
    context["retention_chart"] = chart
    context["retention_height"] = max(240, 90 + 26 * retention["cohort"].nunique())
    return render_page(
        request, "metrics.html", context, viewer=viewer, active="metrics", status_code=status
    )


@router.get("/metrics/catalogue.csv")
def metrics_csv(
    request: Request,
    viewer: SignedIn,
    by: str | None = None,
    start: str | None = None,
    end: str | None = None,
) -> Response:
    """The table of the Metrics page as the API gives it (``GET /api/metrics/catalogue``)."""
    t = translator(viewer.lang)
    params = table_params(by, start, end, t)
    journey = _journey_or_none(request)
    if params.query is None or journey is None:
        problem = "; ".join(params.problems) or t("cx.no_map.title")
        status = 400 if params.problems else 404
        return Response(problem, status, SECURITY_HEADERS, media_type="text/plain")
    frame = reads.catalogue(workspace_of(request).query_engine(), journey, params.query)
    download = {"Content-Disposition": f'attachment; filename="cxm-metrics-{params.by}.csv"'}
    return Response(
        reads.csv_text(frame),
        headers={**SECURITY_HEADERS, **download},
        media_type="text/csv; charset=utf-8",
    )
