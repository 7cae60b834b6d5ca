"""The Departments pages: every department's headline figures, and one department's view
(its touchpoints' customer experience, its employees' eNPS, the two month by month with their
correlation): Total Experience (``cxm.metrics.departments``).

Managers and analysts open every department; a viewer held to a department opens only its
own (``cxm.web.viewer`` levels ``aggregates`` and ``department``).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from cxm.auth.reach import check_aggregates
from cxm.consistency import find_conflicts
from cxm.errors import CxmError
from cxm.metrics.departments import LINK_METRICS, DepartmentView, department_summaries
from cxm.metrics.departments import department_view as build_view
from cxm.web.charts import _base
from cxm.web.i18n import translator
from cxm.web.viewer import Aggregates, DepartmentPage, error_page, render_page, workspace_of

router = APIRouter(include_in_schema=False)
CX_COLOR = "#2563eb"
EX_COLOR = "#ea580c"


@router.get("/departments", response_class=HTMLResponse)
def departments(request: Request, viewer: Aggregates) -> Response:
    ws = workspace_of(request)
    try:
        with ws.session() as s:
            rows = department_summaries(ws.query_engine(), ws.journey_map(), s)
    except CxmError as exc:
        return error_page(request, exc.http_status, exc.message, viewer, "departments")
    context = {"departments": rows, "shown": reading_text(viewer.lang)}
    return render_page(request, "departments.html", context, viewer=viewer, active="departments")


@router.get("/departments/{department}", response_class=HTMLResponse)
def department_page(
    request: Request, viewer: DepartmentPage, department: str, cx: str = ""
) -> Response:
    ws = workspace_of(request)
    try:
        check_aggregates(viewer.principal, department)
        if cx and cx not in LINK_METRICS:
            message = translator(viewer.lang)("departments.bad_metric", metric=cx)
            return error_page(request, 400, message, viewer, "departments")
        with ws.session() as s:
            view = build_view(ws.query_engine(), ws.journey_map(), s, department,
                              cx_metric=cx or None)  # fmt: skip
        # What the channels say wrong about the facts this department owns (routed here).
        conflicts = [c for c in find_conflicts(ws).conflicts if c.department == department]
    except CxmError as exc:
        return error_page(request, exc.http_status, exc.message, viewer, "departments")
    t = translator(viewer.lang)
    context = {
        "d": view,
        "chart": link_chart(view, t),
        "link_metrics": LINK_METRICS,
        "held": viewer.principal.held_to is not None,
        "shown": reading_text(viewer.lang),
        "conflicts": conflicts,
    }
    return render_page(request, "department.html", context, viewer=viewer, active="departments")


def link_chart(view: DepartmentView, t: Any) -> dict[str, Any]:
    """Monthly CX of the owned touchpoints (left axis) and eNPS (right axis)."""
    months = [m.month for m in view.monthly]
    cx_name = t("metric." + view.link.cx_metric)
    return {
        **_base(),
        "tooltip": {"trigger": "axis"},
        "legend": {"bottom": 0, "icon": "circle", "itemWidth": 10},
        "grid": {"left": 8, "right": 8, "top": 24, "bottom": 48, "containLabel": True},
        "xAxis": {"type": "category", "data": months},
        "yAxis": [
            {"type": "value", "scale": True},
            {"type": "value", "scale": True, "splitLine": {"show": False}},
        ],
        "series": [
            {"name": cx_name, "type": "line", "yAxisIndex": 0, "connectNulls": False,
             "itemStyle": {"color": CX_COLOR},
             "data": [_round(m.cx.estimate) for m in view.monthly]},
            {"name": "eNPS", "type": "line", "yAxisIndex": 1, "connectNulls": False,
             "itemStyle": {"color": EX_COLOR},
             "data": [_round(m.ex.estimate) for m in view.monthly]},
        ],
    }  # fmt: skip


def reading_text(lang: str) -> Any:
    """A template function: a reading (or its dict) as "4.22 (4.15–4.29)", a share as a
    percentage, NPS as whole points; an empty string when it has no value."""
    from cxm.metrics.catalogue import CATALOGUE

    units = {m.id: m.unit for m in CATALOGUE}

    def shown(reading: Any, with_interval: bool = True) -> str:
        get = reading.get if isinstance(reading, dict) else lambda k: getattr(reading, k)
        estimate = get("estimate")
        if estimate is None:
            return ""
        unit = units.get(str(get("metric")), "")
        if unit.startswith("share"):
            scale, digits, suffix = 100.0, 1, " %"
        elif unit.startswith("points"):
            scale, digits, suffix = 1.0, 0, ""
        else:
            scale, digits, suffix = 1.0, 2, ""

        def number(x: float) -> str:
            text = f"{x * scale:.{digits}f}".replace("-", "−")
            return text.replace(".", ",") if lang == "pl" else text

        text = number(estimate) + suffix
        low, high = get("low"), get("high")
        if with_interval and low is not None and high is not None:
            text += f" ({number(low)}–{number(high)})"
        return text

    return shown


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)
