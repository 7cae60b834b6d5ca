"""Stage progression: how customers move through the journey's stages.

Each customer's events on the map, in time order, give their stage at every moment; a *visit*
to a stage runs from the first event in it until the first event in another stage. Per stage:
customers and visits, time in stage (completed visits), customers there now, *stalled*
customers (there now, for longer than ``stall_days`` before the end of the period or the last
event in the lake), and *regressions* (moves to a stage earlier in the journey order).
"""

from __future__ import annotations

from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from cxm.analytics import Engine, events_table
from cxm.journeys.map import JourneyMap
from cxm.journeys.placement import (
    DAY_US,
    in_period,
    memoized,
    micros,
    optional_float,
    stage_rank_of,
    touchpoint_column,
)
from cxm.journeys.queries import ProgressionQuery


@memoized
def visits_expr(journey: JourneyMap, query: ProgressionQuery) -> ir.Table:
    """One row per stage visit: customer, rank, entered (µs), left (µs or NULL), came_from."""
    ev = in_period(events_table(), query.start, query.end)
    e = ev.select(c=ev.customer_id, t=ev.t, seq=ev.seq, tp=touchpoint_column(ev, journey))
    e = e.filter(e.tp.notnull())
    e = e.mutate(rank=stage_rank_of(e.tp, journey))
    order = ibis.window(group_by=e.c, order_by=[e.t, e.seq])
    e = e.mutate(came_from=e["rank"].lag().over(order))
    v = e.filter(e.came_from.isnull() | (e.came_from != e["rank"]))
    order = ibis.window(group_by=v.c, order_by=[v.t, v.seq])
    return v.select(v.c, v["rank"], v.came_from, entered=v.t, left=v.t.lead().over(order))


def stage_expr(visits: ir.Table, *, as_of: int, stall_us: int) -> ir.Table:
    days = (visits.left - visits.entered).cast("float64") / DAY_US
    current = visits.left.isnull()
    stalled = current & ((as_of - visits.entered) > stall_us)
    back_in = visits.came_from.notnull() & (visits.came_from > visits["rank"])
    return visits.group_by(visits["rank"]).aggregate(
        customers=visits.c.nunique(),
        visits=visits.count(),
        mean_days=days.mean(),
        median_days=days.median(),
        current=current.cast("int64").sum(),
        stalled=stalled.cast("int64").sum(),
        regressions_in=back_in.cast("int64").sum(),
    )


def transitions_expr(visits: ir.Table) -> ir.Table:
    moves = visits.filter(visits.came_from.notnull())
    return moves.group_by([moves.came_from, moves["rank"]]).aggregate(
        moves=moves.count(), customers=moves.c.nunique()
    )


def _as_of(engine: Engine, query: ProgressionQuery) -> int:
    if query.end is not None:
        return micros(query.end)
    ev = in_period(events_table(), query.start, None)
    latest = engine.execute(ev.aggregate(latest=ev.t.max()))["latest"].iloc[0]
    return 0 if pd.isna(latest) else int(latest)


def run_progression(engine: Engine, journey: JourneyMap, query: ProgressionQuery) -> pd.DataFrame:
    """One row per stage in journey order (zeros for stages nobody reached)."""
    visits = visits_expr(journey, query)
    as_of = _as_of(engine, query)
    stats = engine.execute(stage_expr(visits, as_of=as_of, stall_us=int(query.stall_days * DAY_US)))
    by_rank = {int(r["rank"]): r for r in stats.to_dict("records")}
    moves = run_transitions(engine, journey, query)
    back = moves[moves["regression"].astype(bool)].groupby("from_stage")["moves"].sum().to_dict()
    rows = []
    for stage in journey.stages:
        r: dict[str, Any] = by_rank.get(stage.rank, {})
        rows.append(
            {
                "stage": stage.id,
                "name": stage.name,
                "rank": stage.rank,
                "customers": int(r.get("customers") or 0),
                "visits": int(r.get("visits") or 0),
                "mean_days_in_stage": optional_float(r.get("mean_days")),
                "median_days_in_stage": optional_float(r.get("median_days")),
                "current": int(r.get("current") or 0),
                "stalled": int(r.get("stalled") or 0),
                "regressions_in": int(r.get("regressions_in") or 0),
                "regressions_out": int(back.get(stage.id, 0)),
            }
        )
    return pd.DataFrame(rows, columns=PROGRESSION_COLUMNS)


PROGRESSION_COLUMNS = [
    "stage", "name", "rank", "customers", "visits", "mean_days_in_stage",
    "median_days_in_stage", "current", "stalled", "regressions_in", "regressions_out",
]  # fmt: skip


def run_transitions(engine: Engine, journey: JourneyMap, query: ProgressionQuery) -> pd.DataFrame:
    """Moves between stages: from_stage, to_stage, moves, customers, regression."""
    ids = {stage.rank: stage.id for stage in journey.stages}
    raw = engine.execute(transitions_expr(visits_expr(journey, query)))
    rows: list[dict[str, Any]] = [
        {
            "from_stage": ids[int(r["came_from"])],
            "to_stage": ids[int(r["rank"])],
            "moves": int(r["moves"]),
            "customers": int(r["customers"]),
            "regression": int(r["rank"]) < int(r["came_from"]),
        }
        for r in raw.to_dict("records")
    ]
    rows.sort(key=lambda r: (-r["moves"], r["from_stage"], r["to_stage"]))
    return pd.DataFrame(
        rows, columns=["from_stage", "to_stage", "moves", "customers", "regression"]
    )
