"""ECharts options of the metric pages: a tile's monthly sparkline with its interval band, and
retention by cohort as a heatmap. The templates put them in ``data-chart`` attributes.

A month below the minimum sample has no value: its place on the line and on the band is null,
so ECharts draws a gap there rather than a point that would look as certain as the others.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd

Translate = Callable[..., str]

_FONT = "Inter, system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"
_ACCENT = "#4f46e5"
_BAND = "rgba(79, 70, 229, 0.16)"
_HEAT = ["#eef2ff", "#c7d2fe", "#818cf8", "#4f46e5", "#312e81"]


def _shown(value: float, percent: bool) -> float:
    return round(100 * value if percent else value, 2)


def sparkline_option(
    name: str,
    months: Sequence[str],
    points: Sequence[tuple[float, float, float] | None],
    *,
    percent: bool = False,
) -> dict[str, Any]:
    """A tile's small chart: the estimate per month over its 95% band, gaps where withheld.

    ``points`` holds ``(estimate, low, high)`` per month in the metric's own unit (shares
    are drawn in per cent with ``percent``). The band is two stacked series: an invisible one
    at ``low`` and a shaded one ``high - low`` above it.
    """
    low: list[float | None] = []
    width: list[float | None] = []
    estimate: list[float | None] = []
    for point in points:
        if point is None:
            low.append(None)
            width.append(None)
            estimate.append(None)
            continue
        value, bottom, top = (_shown(x, percent) for x in point)
        low.append(bottom)
        width.append(round(top - bottom, 2))
        estimate.append(value)
    hidden = {"opacity": 0}
    return {
        "textStyle": {"fontFamily": _FONT},
        "animation": False,
        "grid": {"left": 2, "right": 2, "top": 4, "bottom": 2},
        "tooltip": {"trigger": "item", "confine": True},
        "xAxis": {"type": "category", "data": list(months), "show": False, "boundaryGap": False},
        "yAxis": {"type": "value", "show": False, "scale": True},
        "series": [
            {
                "name": "low",
                "type": "line",
                "stack": "interval",
                "stackStrategy": "all",  # the band sits on low even where low is negative
                "data": low,
                "lineStyle": hidden,
                "symbol": "none",
                "silent": True,
                "tooltip": {"show": False},
                "connectNulls": False,
            },
            {
                "name": "band",
                "type": "line",
                "stack": "interval",
                "stackStrategy": "all",
                "data": width,
                "lineStyle": hidden,
                "symbol": "none",
                "silent": True,
                "tooltip": {"show": False},
                "areaStyle": {"color": _BAND},
                "connectNulls": False,
            },
            {
                "name": name,
                "type": "line",
                "data": estimate,
                "connectNulls": False,
                "showSymbol": True,
                "symbol": "circle",
                "symbolSize": 4,
                "z": 3,
                "itemStyle": {"color": _ACCENT},
                "lineStyle": {"color": _ACCENT, "width": 1.5},
            },
        ],
    }


def retention_option(frame: pd.DataFrame, t: Translate, lang: str) -> dict[str, Any]:
    """Cohorts (rows, oldest on top) by months since their first month (columns): the share
    still active, in per cent. Month 0 is 100% by definition and left out of the colour scale."""
    cohorts = sorted(frame["cohort"].unique())
    sizes = frame.drop_duplicates("cohort").set_index("cohort")["cohort_size"]
    horizon = int(frame["months_since"].max())
    data = []
    later: list[float] = []
    for r in frame.to_dict("records"):
        value = round(100 * float(r["retention"]), 1)
        data.append([int(r["months_since"]), cohorts.index(r["cohort"]), value])
        if r["months_since"] > 0:
            later.append(value)
    lowest = math.floor(min(later)) if later else 0
    label = [f"{c} · {int(sizes[c]):,}".replace(",", "\u00a0" if lang == "pl" else ",")
             for c in cohorts]  # fmt: skip
    return {
        "textStyle": {"fontFamily": _FONT, "color": "#475569"},
        "animation": False,
        "tooltip": {"trigger": "item"},
        "grid": {"left": 16, "right": 72, "top": 8, "bottom": 36, "containLabel": True},
        "xAxis": {
            "type": "category",
            "data": [str(k) for k in range(horizon + 1)],
            "name": t("metrics.retention.since"),
            "nameLocation": "middle",
            "nameGap": 28,
            "splitArea": {"show": True},
        },
        "yAxis": {"type": "category", "data": label, "inverse": True, "splitArea": {"show": True}},
        "visualMap": {
            "min": lowest,
            "max": 100,
            "calculable": False,
            "orient": "vertical",
            "right": 0,
            "top": "middle",
            "itemHeight": 160,
            "inRange": {"color": _HEAT},
            "text": ["100%", f"{lowest}%"],
        },
        "series": [
            {
                "name": t("metrics.retention.series"),
                "type": "heatmap",
                "data": data,
                "label": {"show": len(data) <= 200, "fontSize": 10},
                "emphasis": {"itemStyle": {"borderColor": "#0f172a", "borderWidth": 1}},
            }
        ],
    }
