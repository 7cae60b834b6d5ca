"""Paths: where customers go after a touchpoint (or come from before it), and Sankey data.

Each customer's events are placed on touchpoints (events on none are left out), optionally with
repeated visits to the same touchpoint in a row collapsed into one, and ordered by time (then
sequence number, so equal times order the same way on every engine). For every visit to the
chosen touchpoint the next (or previous) ``depth`` touchpoints form its path; "(end)" marks a
path that stops earlier (no later visit in the period), "(start)" one that starts later.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from cxm.analytics import Engine, events_table
from cxm.journeys.map import JourneyMap
from cxm.journeys.placement import (
    in_period,
    memoized,
    require_touchpoint,
    touchpoint_column,
    touchpoint_predicate,
)
from cxm.journeys.queries import PathQuery

END = "(end)"  # no later visit in the period (direction "out")
START = "(start)"  # no earlier visit in the period (direction "in")


@memoized
def paths_expr(journey: JourneyMap, query: PathQuery) -> ir.Table:
    """Every distinct path from (or to) the touchpoint with its count of visits and customers."""
    anchor = require_touchpoint(journey, query.touchpoint, field="touchpoint")
    ev = in_period(events_table(), query.start, query.end)
    # Only customers who visited the touchpoint: sorting their events, not everyone's.
    visitors = ev.filter(touchpoint_predicate(ev, anchor)).select(v=ev.customer_id).distinct()
    ev = ev.filter(ev.customer_id.isin(visitors.v))
    e = ev.select(c=ev.customer_id, t=ev.t, seq=ev.seq, tp=touchpoint_column(ev, journey))
    e = e.filter(e.tp.notnull())
    order = ibis.window(group_by=e.c, order_by=[e.t, e.seq])
    if query.collapse_repeats:
        # The window in a column first: a window inside a filter does not compile for Spark.
        e = e.mutate(before=e.tp.lag().over(order))
        e = e.filter(e.before.isnull() | (e.tp != e.before)).drop("before")
        order = ibis.window(group_by=e.c, order_by=[e.t, e.seq])
    step = (lambda col, i: col.lead(i)) if query.direction == "out" else (lambda col, i: col.lag(i))
    hops = {f"n{i}": step(e.tp, i).over(order) for i in range(1, query.depth + 1)}
    e = e.mutate(**hops)
    e = e.filter(e.tp == anchor.id)
    keys = [f"n{i}" for i in range(1, query.depth + 1)]
    return e.group_by(keys).aggregate(visits=e.count(), customers=e.c.nunique())


def run_paths(engine: Engine, journey: JourneyMap, query: PathQuery) -> pd.DataFrame:
    """The top paths: path (list of touchpoint ids, the anchor first for ``out``, last for
    ``in``), visits, customers and share of the anchor's visits."""
    grouped = _grouped(engine, journey, query)
    total = int(grouped["visits"].sum()) if len(grouped) else 0
    rows: list[dict[str, Any]] = []
    for record in grouped.to_dict("records"):
        hops = _hops(record, query)
        out = query.direction == "out"
        path = [query.touchpoint, *hops] if out else [*hops[::-1], query.touchpoint]
        rows.append(
            {
                "path": path,
                "visits": int(record["visits"]),
                "customers": int(record["customers"]),
                "share": record["visits"] / total if total else 0.0,
            }
        )
    rows.sort(key=lambda r: (-r["visits"], r["path"]))
    return pd.DataFrame(rows[: query.top], columns=["path", "visits", "customers", "share"])


def run_sankey(engine: Engine, journey: JourneyMap, query: PathQuery) -> dict[str, Any]:
    """Nodes and links for a Sankey diagram of the same paths (all of them, not only the top).

    Nodes are (position, touchpoint) pairs named like ``"2:calls"``; links carry visit counts.
    """
    grouped = _grouped(engine, journey, query)
    links: Counter[tuple[str, str]] = Counter()
    for record in grouped.to_dict("records"):
        chain = [query.touchpoint, *_hops(record, query)]
        for i in range(len(chain) - 1):
            links[(f"{i}:{chain[i]}", f"{i + 1}:{chain[i + 1]}")] += int(record["visits"])
    if query.direction == "in":  # flows point forward in time
        links = Counter({_reverse(src, dst, query.depth): n for (src, dst), n in links.items()})
    names = sorted({n for pair in links for n in pair}, key=lambda n: (int(n.split(":")[0]), n))
    return {
        "nodes": [{"name": n, "touchpoint": n.split(":", 1)[1]} for n in names],
        "links": [
            {"source": s, "target": t, "value": v}
            for (s, t), v in sorted(links.items(), key=lambda i: (-i[1], i[0]))
        ],
    }


def _reverse(src: str, dst: str, depth: int) -> tuple[str, str]:
    (i, a), (j, b) = src.split(":", 1), dst.split(":", 1)
    return f"{depth - int(j)}:{b}", f"{depth - int(i)}:{a}"


def _grouped(engine: Engine, journey: JourneyMap, query: PathQuery) -> pd.DataFrame:
    return engine.execute(paths_expr(journey, query))


def _hops(record: dict[str, Any], query: PathQuery) -> list[str]:
    hops: list[str] = []
    for i in range(1, query.depth + 1):
        value = record[f"n{i}"]
        if value is None or (isinstance(value, float) and pd.isna(value)):
            hops.append(END if query.direction == "out" else START)
            break
        hops.append(str(value))
    return hops
