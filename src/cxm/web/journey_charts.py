"""ECharts options for the Journey page: a Sankey of the paths out of a touchpoint and the
funnel's bars. The page's templates put them in ``data-chart`` attributes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

SANKEY_NODES_PER_STEP = 7
OTHER = "__other__"  # the Sankey node of the quieter touchpoints at a position

_CHART_BASE: dict[str, Any] = {
    "textStyle": {"fontFamily": "Inter, system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
                  "color": "#475569"},
    "animationDuration": 400,
}  # fmt: skip


def busiest_links(links: Sequence[dict[str, Any]], per_step: int) -> list[dict[str, Any]]:
    """The links among the ``per_step`` busiest nodes at each position; flows into the others
    end in one ``OTHER`` node per position (a readable Sankey, not one of every path).

    >>> links = [{"source": "0:a", "target": f"1:{n}", "value": v}
    ...          for n, v in zip("bcd", (5, 3, 1))]
    >>> [(k["target"], k["value"]) for k in busiest_links(links, 2)]
    [('1:b', 5), ('1:c', 3), ('1:__other__', 1)]
    """
    inflow: Counter[str] = Counter()
    for link in links:
        inflow[link["target"]] += int(link["value"])
    by_position: dict[str, list[str]] = {}
    for node, _ in inflow.most_common():
        by_position.setdefault(node.split(":", 1)[0], []).append(node)
    keep = {node for nodes in by_position.values() for node in nodes[:per_step]}
    kept: Counter[tuple[str, str]] = Counter()
    for link in links:
        source, target = link["source"], link["target"]
        if source.startswith("0:") or source in keep:
            if target not in keep:
                target = target.split(":", 1)[0] + ":" + OTHER
            kept[(source, target)] += int(link["value"])
    return [
        {"source": s, "target": t, "value": v}
        for (s, t), v in sorted(kept.items(), key=lambda i: (-i[1], i[0]))
    ]


def sankey_option(sankey: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    """An ECharts Sankey of the paths out; a node is a touchpoint at a position.

    Node names must be unique, so a touchpoint at position *i* carries *i* zero-width spaces:
    tooltips and labels show just the name.
    """
    links = busiest_links(sankey["links"], SANKEY_NODES_PER_STEP)
    nodes = sorted({n for k in links for n in (k["source"], k["target"])},
                   key=lambda n: (int(n.split(":", 1)[0]), n))  # fmt: skip

    def label(node: str) -> str:
        position, touchpoint = node.split(":", 1)
        return names.get(touchpoint, touchpoint) + "\u200b" * int(position)

    return {
        **_CHART_BASE,
        "tooltip": {"trigger": "item"},
        "series": [
            {
                "type": "sankey",
                "left": 8,
                "right": 140,
                "top": 8,
                "bottom": 8,
                "nodeGap": 10,
                "nodeAlign": "left",
                "emphasis": {"focus": "adjacency"},
                "lineStyle": {"color": "gradient", "opacity": 0.35},
                "label": {"fontSize": 11},
                "data": [{"name": label(n)} for n in nodes],
                "links": [
                    {
                        "source": label(k["source"]),
                        "target": label(k["target"]),
                        "value": k["value"],
                    }
                    for k in links
                ],
            }
        ],
    }


def funnel_option(rows: Sequence[dict[str, Any]], t: Callable[..., str]) -> dict[str, Any]:
    """Customers at each step as bars, each labelled with its conversion from step one."""
    return {
        **_CHART_BASE,
        "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow"}},
        "grid": {"left": 8, "right": 16, "top": 24, "bottom": 8, "containLabel": True},
        "xAxis": {
            "type": "category",
            "data": [r["name"] for r in rows],
            "axisTick": {"show": False},
        },
        "yAxis": {"type": "value", "minInterval": 1, "name": t("journey.funnel.customers")},
        "series": [
            {
                "type": "bar",
                "name": t("journey.funnel.customers"),
                "barMaxWidth": 56,
                "label": {"show": True, "position": "top"},
                "itemStyle": {"color": "#2563eb", "borderRadius": [4, 4, 0, 0]},
                "data": [r["customers"] for r in rows],
            }
        ],
    }
