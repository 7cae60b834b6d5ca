"""ECharts options for the Surveys page: a monthly trend with its interval band, and the score
distribution. The templates put them in ``data-chart`` attributes.

A month below the minimum sample has no value: its place on the line and the band is null, so
ECharts draws a gap there instead of a point that would look as certain as the others.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

Translate = Callable[..., str]

_BASE: dict[str, Any] = {
    "textStyle": {"fontFamily": "Inter, system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
                  "color": "#475569"},
    "animationDuration": 400,
}  # fmt: skip
_GRID_LINE = "#e2e8f0"
_ACCENT = "#4f46e5"
_BAND = "rgba(79, 70, 229, 0.16)"
_WHISKER = "rgba(79, 70, 229, 0.55)"

# The axis of each metric, in the unit the chart shows (proportions in per cent).
AXIS_RANGE: dict[str, tuple[float, float]] = {
    "nps": (-100, 100),
    "enps": (-100, 100),
    "csat": (1, 5),
    "ces": (1, 7),
    "csat_top_box": (0, 100),
    "ces_agree": (0, 100),
    "response_rate": (0, 100),
}
PERCENT_METRICS = frozenset({"csat_top_box", "ces_agree", "response_rate"})
NPS_CLASS_COLORS = {"detractor": "#dc2626", "passive": "#d97706", "promoter": "#16a34a"}


def chart_value(metric: str, value: float | None) -> float | None:
    """``value`` in the chart's unit, rounded for the tooltip (None stays None).

    >>> chart_value("response_rate", 0.4567), chart_value("nps", 31.25)
    (45.7, 31.2)
    """
    if value is None:
        return None
    return round(
        100 * value if metric in PERCENT_METRICS else value, 2 if metric in ("csat", "ces") else 1
    )


def trend_option(
    metric: str,
    months: Sequence[str],
    points: Sequence[tuple[float, float, float] | None],
    t: Translate,
) -> dict[str, Any]:
    """A line of the metric per month over its confidence band; ``None`` months are gaps.

    ``points`` holds ``(estimate, low, high)`` per month in the metric's own unit. The band is
    two stacked series: an invisible one at ``low`` and a shaded one ``high - low`` above it.
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
        value, bottom, top = (chart_value(metric, x) for x in point)
        assert value is not None and bottom is not None and top is not None
        low.append(bottom)
        width.append(round(top - bottom, 2))
        estimate.append(value)
    lowest, highest = AXIS_RANGE.get(metric, (None, None))
    hidden_line = {"opacity": 0}
    # Whiskers from low to high for every month with a value: the band alone cannot show the
    # interval of a month whose neighbours are gaps.
    whiskers: list[Any] = [
        "-" if bottom is None or step is None or value is None
        else [bottom, bottom, value, round(bottom + step, 2), round(bottom + step, 2)]
        for bottom, step, value in zip(low, width, estimate, strict=True)
    ]  # fmt: skip
    band_name = t("surveys.trend.band")
    return {
        **_BASE,
        "tooltip": {"trigger": "item"},
        "legend": {"bottom": 0, "data": [t("surveys.trend.estimate"), band_name]},
        "grid": {"left": 8, "right": 16, "top": 16, "bottom": 40, "containLabel": True},
        "xAxis": {
            "type": "category",
            "data": list(months),
            "axisLine": {"lineStyle": {"color": _GRID_LINE}},
        },
        "yAxis": {
            "type": "value",
            "min": lowest,
            "max": highest,
            "name": t("surveys.trend.percent") if metric in PERCENT_METRICS else None,
            "splitLine": {"lineStyle": {"color": _GRID_LINE}},
        },
        "series": [
            {
                "name": "low",
                "type": "line",
                "stack": "interval",
                "stackStrategy": "all",  # the band sits on low even where low is negative
                "data": low,
                "lineStyle": hidden_line,
                "symbol": "none",
                "silent": True,
                "tooltip": {"show": False},
                "connectNulls": False,
            },
            {
                "name": band_name,
                "type": "line",
                "stack": "interval",
                "stackStrategy": "all",
                "data": width,
                "lineStyle": hidden_line,
                "symbol": "none",
                "silent": True,
                "tooltip": {"show": False},
                "areaStyle": {"color": _BAND},
                "itemStyle": {"color": _BAND},
                "connectNulls": False,
            },
            {
                "name": band_name,
                "type": "boxplot",
                "data": whiskers,
                "boxWidth": [2, 6],
                "itemStyle": {"color": _BAND, "borderColor": _WHISKER, "borderWidth": 1},
                "silent": True,
                "tooltip": {"show": False},
            },
            {
                "name": t("surveys.trend.estimate"),
                "type": "line",
                "data": estimate,
                "connectNulls": False,
                "showSymbol": True,
                "symbolSize": 7,
                "z": 3,
                "itemStyle": {"color": _ACCENT},
                "lineStyle": {"color": _ACCENT, "width": 2},
            },
        ],
    }


def nps_class(score: int) -> str:
    return "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"


def distribution_option(
    kind: str, scale: Sequence[int], counts: Mapping[int, int], t: Translate
) -> dict[str, Any]:
    """Answers per score as bars; NPS bars take the colour of their class."""
    data = []
    for score in scale:
        color = NPS_CLASS_COLORS[nps_class(score)] if kind == "nps" else _ACCENT
        data.append({"value": counts.get(score, 0), "itemStyle": {"color": color}})
    return {
        **_BASE,
        "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow"}},
        "grid": {"left": 8, "right": 16, "top": 24, "bottom": 8, "containLabel": True},
        "xAxis": {"type": "category", "data": [str(s) for s in scale], "axisTick": {"show": False}},
        "yAxis": {
            "type": "value",
            "minInterval": 1,
            "name": t("surveys.distribution.answers"),
            "splitLine": {"lineStyle": {"color": _GRID_LINE}},
        },
        "series": [
            {
                "type": "bar",
                "name": t("surveys.distribution.answers"),
                "barMaxWidth": 40,
                "label": {"show": True, "position": "top"},
                "data": data,
            }
        ],
    }
