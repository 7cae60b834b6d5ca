"""ECharts options built from read models; templates put them in ``data-chart`` attributes."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from cxm.config import CHANNELS
from cxm.profiles.models import ChannelUse

# Kept equal to the --ch-* custom properties in static/cxm.css (a unit test compares them).
CHANNEL_COLORS: dict[str, str] = {
    "web": "#2563eb",
    "app": "#7c3aed",
    "email": "#0891b2",
    "sms": "#0d9488",
    "phone": "#16a34a",
    "ivr": "#65a30d",
    "chat": "#db2777",
    "social": "#dc2626",
    "branch": "#ea580c",
    "field_service": "#92400e",
    "survey": "#ca8a04",
    "other": "#64748b",
}

Label = Callable[[str], str]

_TEXT = "#475569"
_GRID_LINE = "#e2e8f0"
_FONT = "Inter, system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"


def channel_color(channel: str) -> str:
    return CHANNEL_COLORS.get(channel, CHANNEL_COLORS["other"])


def _base() -> dict[str, Any]:
    return {
        "textStyle": {"fontFamily": _FONT, "color": _TEXT},
        "animationDuration": 400,
    }


def weekly_channels_option(
    weekly: Iterable[dict[str, Any]], channel_order: Sequence[str], label: Label
) -> dict[str, Any]:
    """A stacked bar chart of interactions per channel per week.

    ``weekly`` holds rows ``{"week": "2026-10-05", "channel": "web", "events": 123}``;
    channels stack in ``channel_order`` (largest first, so the biggest sits at the bottom).
    """
    counts: dict[tuple[str, str], int] = {}
    weeks: set[str] = set()
    seen: set[str] = set()
    for row in weekly:
        week, channel = str(row["week"]), str(row["channel"])
        counts[(week, channel)] = counts.get((week, channel), 0) + int(row["events"])
        weeks.add(week)
        seen.add(channel)
    ordered = [c for c in channel_order if c in seen]
    ordered += sorted(seen - set(ordered), key=lambda c: (c not in CHANNELS, c))
    axis = sorted(weeks)
    series = [
        {
            "name": label(channel),
            "type": "bar",
            "stack": "interactions",
            "barMaxWidth": 36,
            "emphasis": {"focus": "series"},
            "itemStyle": {"color": channel_color(channel)},
            "data": [counts.get((week, channel), 0) for week in axis],
        }
        for channel in ordered
    ]
    return {
        **_base(),
        "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow"}},
        "legend": {"bottom": 0, "icon": "circle", "itemWidth": 10, "itemGap": 14},
        "grid": {"left": 8, "right": 16, "top": 16, "bottom": 64, "containLabel": True},
        "xAxis": {
            "type": "category",
            "data": axis,
            "axisTick": {"show": False},
            "axisLine": {"lineStyle": {"color": _GRID_LINE}},
        },
        "yAxis": {
            "type": "value",
            "minInterval": 1,
            "splitLine": {"lineStyle": {"color": _GRID_LINE}},
        },
        "series": series,
    }


def channel_use_option(channels: Sequence[ChannelUse], label: Label) -> dict[str, Any]:
    """A horizontal bar chart of one customer's interactions per channel, largest on top."""
    ordered = sorted(channels, key=lambda c: c.count)
    return {
        **_base(),
        "tooltip": {"trigger": "item"},
        "grid": {"left": 8, "right": 24, "top": 8, "bottom": 8, "containLabel": True},
        "xAxis": {
            "type": "value",
            "minInterval": 1,
            "splitLine": {"lineStyle": {"color": _GRID_LINE}},
        },
        "yAxis": {
            "type": "category",
            "data": [label(c.channel) for c in ordered],
            "axisTick": {"show": False},
            "axisLine": {"show": False},
        },
        "series": [
            {
                "type": "bar",
                "barMaxWidth": 18,
                "label": {"show": True, "position": "right", "color": _TEXT},
                "data": [
                    {
                        "value": c.count,
                        "itemStyle": {"color": channel_color(c.channel), "borderRadius": 4},
                    }
                    for c in ordered
                ],
            }
        ],
    }
