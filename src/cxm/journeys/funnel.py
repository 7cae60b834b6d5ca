"""Funnels: how many customers went through ordered steps within a conversion window.

The query needs no self-joins: one pass of window aggregates over each customer's step events
in time order for up to three steps, one more for every two further steps. For every event of
step ``m`` (the middle step) two window aggregates give:

* the *latest possible start*: the latest step-1 event of a chain 1..m ending at this event
  (a running MAX over strictly earlier rows, nested once per step before m), and
* the *earliest possible end* of a chain m..j for every later step j (a running MIN over strictly
  later rows, nested once per step after m).

For a chain through a given step-m event, choosing the latest start and the earliest end is
optimal, so ``end - start`` over all step-m events is each customer's quickest chain, and the
customer reached step j when that is within the window. "Strictly" means strictly later in
time: RANGE frames on the integer microsecond column ``t``, which also makes ties between
events at the same instant impossible to order differently on different engines.
"""

from __future__ import annotations

from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from cxm.analytics import Engine, events_table, traits_table
from cxm.journeys.map import JourneyMap, TouchpointMatch
from cxm.journeys.placement import (
    DAY_US,
    in_period,
    memoized,
    optional_float,
    pattern_predicate,
    require_touchpoint,
)
from cxm.journeys.queries import EventPattern, FunnelQuery, Step

NO_VALUE = "(none)"


def step_matches(journey: JourneyMap, steps: list[Step]) -> list[tuple[str, TouchpointMatch]]:
    """Each step's label and pattern (a touchpoint's, or the inline one)."""
    out = []
    for i, step in enumerate(steps):
        if isinstance(step, str):
            tp = require_touchpoint(journey, step, field=f"steps[{i}]")
            out.append((tp.id, tp.match))
        else:
            out.append((step.label(), _inline(step)))
    return out


def _inline(step: EventPattern) -> TouchpointMatch:
    def many(v: Any) -> tuple[str, ...] | None:
        return None if v is None else ((v,) if isinstance(v, str) else tuple(v))

    return TouchpointMatch(
        types=many(step.type), events=many(step.event), channels=many(step.channel)
    )


@memoized
def funnel_expr(journey: JourneyMap, query: FunnelQuery) -> ir.Table:
    """One row per breakdown value: reached_j and span_j (µs) sums and stats per step."""
    steps = step_matches(journey, query.steps)
    k = len(steps)
    m = (k + 1) // 2  # the middle step (1-based)
    window = int(query.window_days * DAY_US)
    ev = in_period(events_table(), query.start, query.end)
    flags = {f"i{j}": pattern_predicate(ev, match) for j, (_, match) in enumerate(steps, 1)}
    any_step = flags["i1"]
    for j in range(2, k + 1):
        any_step = any_step | flags[f"i{j}"]
    carried: dict[str, ir.Value] = {"ch": ev.channel} if query.breakdown == "channel" else {}
    e = ev.filter(any_step).select(c=ev.customer_id, t=ev.t, **carried, **flags)

    whole = ibis.window(group_by=e.c)
    # b{j}: on step-j events, the latest start of a chain 1..j ending there (b1 = own time).
    # n{a}_{j}: on step-a events, the earliest end of a chain a..j starting there (n{j}_{j} = t).
    cols: dict[str, ir.Value] = {"b1": ibis.ifelse(e.i1, e.t, None)}
    cols.update({f"n{j}_{j}": ibis.ifelse(e[f"i{j}"], e.t, None) for j in range(m + 1, k + 1)})
    if query.breakdown == "channel":  # costs a pass of its own; only when asked for
        cols["first1"] = ibis.ifelse(e.i1, e.t, None).min().over(whole)
    e = e.mutate(**cols)
    depth = max(m - 1, k - m)
    for p in range(1, depth + 1):
        earlier = ibis.window(group_by=e.c, order_by=e.t, range=(None, -1))
        later = ibis.window(group_by=e.c, order_by=e.t, range=(1, None))
        new: dict[str, ir.Value] = {}
        j = p + 1
        if j <= m:
            prev = e[f"b{j - 1}"]
            new[f"b{j}"] = ibis.ifelse(e[f"i{j}"], prev.max().over(earlier), None)
        for end in range(m + 1, k + 1):
            a = end - p  # chain a..end, built from chain (a+1)..end
            if a >= m:
                nxt = ibis.ifelse(e[f"i{a + 1}"], e[f"n{a + 1}_{end}"], None)
                new[f"n{a}_{end}"] = ibis.ifelse(e[f"i{a}"], nxt.min().over(later), None)
        e = e.mutate(**new)

    per_customer: dict[str, ir.Value] = {}
    for j in range(1, k + 1):
        # up to the middle step: from the chain's start to this event; beyond it: through it
        span = e.t - e[f"b{j}"] if j <= m else e[f"n{m}_{j}"] - e[f"b{m}"]
        ok = span.notnull() & (span <= window)
        per_customer[f"r{j}"] = ok.cast("int8").max()
        per_customer[f"s{j}"] = ibis.ifelse(ok, span, None).min()
    if query.breakdown == "channel":
        per_customer["entry"] = ibis.ifelse(e.i1 & (e.t == e.first1), e.ch, None).min()
    customers = e.group_by(e.c).aggregate(**per_customer).filter(lambda x: x.r1 == 1)

    if query.breakdown is None:
        customers = customers.mutate(breakdown=ibis.literal("all"))
    elif query.breakdown == "channel":
        customers = customers.mutate(breakdown=customers.entry.fill_null(NO_VALUE))
    else:
        key = query.breakdown.removeprefix("trait:")
        traits = traits_table()
        traits = traits.filter(traits.key == key).select(tc=traits.customer_id, tv=traits.value)
        customers = customers.left_join(traits, customers.c == traits.tc)
        customers = customers.mutate(breakdown=customers.tv.fill_null(NO_VALUE))

    stats: dict[str, ir.Value] = {}
    for j in range(1, k + 1):
        stats[f"customers_{j}"] = customers[f"r{j}"].cast("int64").sum()
        if j > 1:
            # Nulls (not reached) are ignored; ``where=`` does not compile for Spark's median.
            seconds = ibis.ifelse(customers[f"r{j}"] == 1, customers[f"s{j}"], None) / 1e6
            stats[f"mean_s_{j}"] = seconds.mean()
            stats[f"median_s_{j}"] = seconds.median()
    return customers.group_by("breakdown").aggregate(**stats)


def run_funnel(engine: Engine, journey: JourneyMap, query: FunnelQuery) -> pd.DataFrame:
    """One row per (breakdown, step): customers, conversion, drop-off, time to convert.

    >>> run_funnel(engine, journey, FunnelQuery(steps=["offer-pages", "order"], window_days=7))
    """
    steps = step_matches(journey, query.steps)
    wide = engine.execute(funnel_expr(journey, query))
    records = wide.sort_values("breakdown").to_dict("records")
    if not records and query.breakdown is None:  # nobody started: every step at zero
        records = [{"breakdown": "all", **{f"customers_{j}": 0 for j in range(1, len(steps) + 1)}}]
    rows = []
    for record in records:
        first = int(record["customers_1"] or 0)
        previous = first
        for j, (label, _) in enumerate(steps, 1):
            reached = int(record[f"customers_{j}"] or 0)
            rows.append(
                {
                    "breakdown": record["breakdown"],
                    "step": j,
                    "label": label,
                    "customers": reached,
                    "conversion": reached / first if first else None,
                    "step_conversion": reached / previous if previous else None,
                    "drop_off": previous - reached,
                    "mean_seconds_to_convert": optional_float(record.get(f"mean_s_{j}")),
                    "median_seconds_to_convert": optional_float(record.get(f"median_s_{j}")),
                }
            )
            previous = reached
    columns = [
        "breakdown", "step", "label", "customers", "conversion", "step_conversion", "drop_off",
        "mean_seconds_to_convert", "median_seconds_to_convert",
    ]  # fmt: skip
    frame = pd.DataFrame(rows, columns=columns)
    if query.breakdown is None:
        frame = frame.drop(columns=["breakdown"])
    return frame
